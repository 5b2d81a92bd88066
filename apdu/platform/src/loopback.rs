//! The optional TLS on loopback: a certificate authority of one user of one computer
//! that can vouch for nothing but `127.0.0.1`, `::1` and `localhost`, so that a portal
//! whose page must use `wss://` (a Content-Security-Policy `connect-src` without
//! `ws:`, a browser that counts `ws://127.0.0.1` from an https page as mixed content)
//! can reach the agent.
//!
//! - **The CA** (made by `mohur-install install --loopback-tls`): ECDSA P-256,
//!   self-signed, basicConstraints cA with pathLenConstraint 0 (RFC 5280 §4.2.1.9),
//!   keyUsage keyCertSign + cRLSign (§4.2.1.3), extendedKeyUsage serverAuth (§4.2.1.12;
//!   NSS and Windows carry a CA's EKU down the chain, so it is trusted for TLS servers
//!   only), and critical name constraints (§4.2.1.10) permitting only the IP addresses
//!   127.0.0.1/32 and ::1/128 and the DNS name `localhost`. Even if its key leaked, it
//!   could not impersonate any web site: OpenSSL, NSS (Firefox) and Chromium refuse a
//!   certificate it signs for any other name (tested).
//! - **Its private key** (PKCS#8) lives in the OS keyring ([`crate::secrets`], entry
//!   [`KEY_NAME`]) and nowhere else. Its certificate is public: it goes into the user's
//!   trust stores and into [`cert_path`], where the agent finds it.
//! - **The agent's server certificate** is issued by the agent at start
//!   ([`LoopbackCa::issue_server_cert`]) for 127.0.0.1, ::1 and localhost, with a key
//!   made for it that exists only in the agent's memory.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::{OsRng, RngCore};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{Ia5String, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, NameConstraints, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::secrets::{KeyringError, SecretStore};

/// The keyring entry of the CA's private key (service `mohur`).
pub const KEY_NAME: &str = "loopback-ca-key";

/// `id-kp-serverAuth` (RFC 5280 §4.2.1.12).
use x509_cert::der::oid::db::rfc5280::ID_KP_SERVER_AUTH as SERVER_AUTH;

/// How long a loopback CA is valid. Long, because replacing it means touching every
/// trust store again; it can vouch for loopback addresses only.
pub const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How long the agent's server certificate is valid: it is made again at every start
/// (and before it runs out, [`SERVER_CERT_RENEW_BEFORE`]).
pub const SERVER_CERT_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The agent makes a new server certificate when the one it has runs out within this.
pub const SERVER_CERT_RENEW_BEFORE: Duration = Duration::from_secs(24 * 3600);

/// Certificates start this long before they are made, for clocks a little behind.
const BACKDATE: Duration = Duration::from_secs(3600);

/// The only names a loopback CA can vouch for, and the names of the agent's certificate.
const LOOPBACK_V4: [u8; 4] = [127, 0, 0, 1];
const LOOPBACK_V6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const LOCALHOST: &str = "localhost";

/// Why the loopback CA cannot be made or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopbackError {
    /// `mohur-install install --loopback-tls` was never run (no certificate file).
    #[error("no loopback CA: {0} does not exist (mohur-install install --loopback-tls makes it)")]
    NotInstalled(PathBuf),
    /// The certificate is there but its key is not in the keyring (a Linux kernel
    /// keyring forgets it at reboot).
    #[error("the loopback CA's key is not in the OS keyring (run mohur-install install --loopback-tls again)")]
    KeyMissing,
    /// The keyring could not be asked.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The certificate file, or the key in the keyring, is not what mohur made.
    #[error("loopback CA: {0}")]
    Invalid(String),
}

fn invalid(e: impl std::fmt::Display) -> LoopbackError {
    LoopbackError::Invalid(e.to_string())
}

/// Where the loopback CA's certificate is kept for the agent: the user's data
/// directory (`$XDG_DATA_HOME/mohur`, `~/.local/share/mohur`; `%LOCALAPPDATA%\mohur` on
/// Windows), next to the agent's other state.
pub fn cert_path(home: &Path) -> PathBuf {
    crate::dirs::user_data_dir(home).join("loopback-ca.pem")
}

/// A loopback CA: its certificate and its private key.
pub struct LoopbackCa {
    cert_der: Vec<u8>,
    key: SigningKey,
}

impl std::fmt::Debug for LoopbackCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("LoopbackCa").field("subject", &self.subject()).finish_non_exhaustive()
    }
}

/// A server certificate for the agent and its key (PKCS#8, only ever in memory).
pub struct ServerIdentity {
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// Its private key, PKCS#8 DER.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// When it runs out.
    pub not_after: SystemTime,
}

fn random_serial() -> Result<SerialNumber, LoopbackError> {
    // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random ones, high bit clear.
    let mut bytes = [0u8; 16];
    OsRng.try_fill_bytes(&mut bytes).map_err(invalid)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // no leading zero octet to strip
    SerialNumber::new(&bytes).map_err(invalid)
}

fn validity(now: SystemTime, lifetime: Duration) -> Result<Validity, LoopbackError> {
    Ok(Validity {
        not_before: Time::try_from(now.checked_sub(BACKDATE).unwrap_or(now)).map_err(invalid)?,
        not_after: Time::try_from(now + lifetime).map_err(invalid)?,
    })
}

fn spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, LoopbackError> {
    let der = key.verifying_key().to_public_key_der().map_err(invalid)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(invalid)
}

fn loopback_names() -> Result<Vec<GeneralName>, LoopbackError> {
    Ok(vec![
        GeneralName::IpAddress(OctetString::new(LOOPBACK_V4.to_vec()).map_err(invalid)?),
        GeneralName::IpAddress(OctetString::new(LOOPBACK_V6.to_vec()).map_err(invalid)?),
        GeneralName::DnsName(Ia5String::new(LOCALHOST).map_err(invalid)?),
    ])
}

/// Name constraints of a loopback CA (RFC 5280 §4.2.1.10): an iPAddress constraint is
/// the address followed by its mask.
fn loopback_constraints() -> Result<NameConstraints, LoopbackError> {
    let subtree = |base| GeneralSubtree { base, minimum: 0, maximum: None };
    let v4 = [LOOPBACK_V4, [255; 4]].concat();
    let v6 = [LOOPBACK_V6, [255; 16]].concat();
    Ok(NameConstraints {
        permitted_subtrees: Some(vec![
            subtree(GeneralName::IpAddress(OctetString::new(v4).map_err(invalid)?)),
            subtree(GeneralName::IpAddress(OctetString::new(v6).map_err(invalid)?)),
            subtree(GeneralName::DnsName(Ia5String::new(LOCALHOST).map_err(invalid)?)),
        ]),
        excluded_subtrees: None,
    })
}

impl LoopbackCa {
    /// A new CA, valid from `now` for [`CA_LIFETIME`], with a fresh key. Its subject
    /// names the user and the day, and carries a random tag, so that a CA made again
    /// (after a lost key) is never confused with the one before.
    pub fn create(now: SystemTime, user: &str) -> Result<LoopbackCa, LoopbackError> {
        let key = SigningKey::random(&mut OsRng);
        let mut tag = [0u8; 4];
        OsRng.try_fill_bytes(&mut tag).map_err(invalid)?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let user: String =
            user.chars().filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@')).take(64).collect();
        let holder = if user.is_empty() { "this computer".to_owned() } else { user };
        let subject = Name::from_str(&format!(
            "CN=mohur loopback CA {tag},OU=127.0.0.1 only,O=mohur ({holder} {})",
            iso_date(now)
        ))
        .map_err(invalid)?;
        let profile = Profile::SubCA { issuer: subject.clone(), path_len_constraint: Some(0) };
        let mut builder =
            CertificateBuilder::new(profile, random_serial()?, validity(now, CA_LIFETIME)?, subject, spki(&key)?, &key)
                .map_err(invalid)?;
        builder.add_extension(&loopback_constraints()?).map_err(invalid)?;
        builder.add_extension(&ExtendedKeyUsage(vec![SERVER_AUTH])).map_err(invalid)?;
        let cert = builder.build::<DerSignature>().map_err(invalid)?;
        Ok(LoopbackCa { cert_der: cert.to_der().map_err(invalid)?, key })
    }

    /// The CA from its certificate and its PKCS#8 key, checked to belong together and
    /// to be a loopback CA.
    pub fn from_parts(cert_der: &[u8], key_pkcs8: &[u8]) -> Result<LoopbackCa, LoopbackError> {
        let key = SigningKey::from_pkcs8_der(key_pkcs8).map_err(|_| invalid("the key is not a P-256 PKCS#8 key"))?;
        let cert = Certificate::from_der(cert_der).map_err(invalid)?;
        let cert_key =
            VerifyingKey::from_sec1_bytes(cert.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes())
                .map_err(|_| invalid("the certificate has no P-256 key"))?;
        if cert_key != *key.verifying_key() {
            return Err(invalid("the key in the keyring does not belong to the certificate"));
        }
        if !is_loopback_ca(&cert) {
            return Err(invalid("the certificate is not a loopback CA (no loopback-only name constraints)"));
        }
        Ok(LoopbackCa { cert_der: cert_der.to_vec(), key })
    }

    /// The CA of this user: its certificate from `cert_file`, its key from `store`.
    pub fn load(store: &dyn SecretStore, cert_file: &Path) -> Result<LoopbackCa, LoopbackError> {
        let pem = match std::fs::read_to_string(cert_file) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LoopbackError::NotInstalled(cert_file.to_path_buf()))
            }
            Err(e) => return Err(invalid(format!("{}: {e}", cert_file.display()))),
        };
        let der = crate::pem::pem_blocks(&pem)
            .into_iter()
            .next()
            .ok_or_else(|| invalid(format!("{}: no certificate in it", cert_file.display())))?;
        let key = store.get(KEY_NAME)?.ok_or(LoopbackError::KeyMissing)?;
        LoopbackCa::from_parts(&der, &key)
    }

    /// Keeps the private key in `store` (the OS keyring), replacing an older one.
    pub fn store_key(&self, store: &dyn SecretStore) -> Result<(), LoopbackError> {
        store.set(KEY_NAME, &self.key_pkcs8()?)?;
        Ok(())
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> String {
        crate::pem::pem_of(&self.cert_der)
    }

    /// The subject, for messages.
    pub fn subject(&self) -> String {
        Certificate::from_der(&self.cert_der).map(|c| c.tbs_certificate.subject.to_string()).unwrap_or_default()
    }

    /// The private key, PKCS#8 DER.
    fn key_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, LoopbackError> {
        Ok(Zeroizing::new(self.key.to_pkcs8_der().map_err(invalid)?.as_bytes().to_vec()))
    }

    /// A server certificate for 127.0.0.1, ::1 and localhost, valid from `now` for
    /// `lifetime`, with a new P-256 key (returned, never stored).
    pub fn issue_server_cert(&self, now: SystemTime, lifetime: Duration) -> Result<ServerIdentity, LoopbackError> {
        let ca = Certificate::from_der(&self.cert_der).map_err(invalid)?;
        let key = SigningKey::random(&mut OsRng);
        let profile = Profile::Leaf {
            issuer: ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        // The CA cannot outlive itself in its certificates (RFC 5280 §6.1.3 (a)(2)).
        let ca_end: SystemTime = ca.tbs_certificate.validity.not_after.to_system_time();
        let lifetime = lifetime.min(ca_end.duration_since(now).unwrap_or_default());
        let subject = Name::from_str(&format!("CN={LOCALHOST}")).map_err(invalid)?;
        let mut builder = CertificateBuilder::new(
            profile,
            random_serial()?,
            validity(now, lifetime)?,
            subject,
            spki(&key)?,
            &self.key,
        )
        .map_err(invalid)?;
        builder.add_extension(&SubjectAltName(loopback_names()?)).map_err(invalid)?;
        builder.add_extension(&ExtendedKeyUsage(vec![SERVER_AUTH])).map_err(invalid)?;
        let cert = builder.build::<DerSignature>().map_err(invalid)?;
        Ok(ServerIdentity {
            cert_der: cert.to_der().map_err(invalid)?,
            key_pkcs8: Zeroizing::new(key.to_pkcs8_der().map_err(invalid)?.as_bytes().to_vec()),
            not_after: cert.tbs_certificate.validity.not_after.to_system_time(),
        })
    }
}

/// A loopback CA carried by an installer action while `install` runs, so that the
/// action can put its key into the keyring; never serialised into the manifest, shown
/// in no debug output, and ignored when actions are compared.
#[derive(Clone, Default)]
pub struct KeyInTransit(pub Option<std::sync::Arc<LoopbackCa>>);

impl std::fmt::Debug for KeyInTransit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "KeyInTransit(..)" } else { "KeyInTransit(None)" })
    }
}

impl PartialEq for KeyInTransit {
    fn eq(&self, _: &KeyInTransit) -> bool {
        true
    }
}

impl Eq for KeyInTransit {}

/// Whether `cert` is a loopback CA as [`LoopbackCa::create`] makes them: critical name
/// constraints that permit loopback names only (at least one).
pub fn is_loopback_ca(cert: &Certificate) -> bool {
    let Some(exts) = &cert.tbs_certificate.extensions else { return false };
    let Some(ext) = exts.iter().find(|e| e.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_NAME_CONSTRAINTS) else {
        return false;
    };
    let (Ok(nc), Ok(allowed)) = (NameConstraints::from_der(ext.extn_value.as_bytes()), loopback_constraints()) else {
        return false;
    };
    let (Some(mine), Some(allowed)) = (nc.permitted_subtrees, allowed.permitted_subtrees) else { return false };
    ext.critical && !mine.is_empty() && mine.iter().all(|s| allowed.contains(s))
}

/// The random tag in a loopback CA's name (`mohur loopback CA 1a2b3c4d` → `1a2b3c4d`),
/// or its subject when it has none, for messages.
pub fn tag_of(cert_der: &[u8]) -> String {
    let Ok(cert) = Certificate::from_der(cert_der) else { return "(unreadable)".into() };
    let subject = cert.tbs_certificate.subject.to_string();
    subject.split(',').find_map(|rdn| rdn.strip_prefix("CN=mohur loopback CA ")).map_or(subject.clone(), str::to_owned)
}

/// `YYYY-MM-DD` (UTC) of `t`, from der's calendar (RFC 5280 times are its job).
fn iso_date(t: SystemTime) -> String {
    x509_cert::der::DateTime::from_system_time(t)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::testing::Memory;

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn dates() {
        let day = |n: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(n * 86_400 + 3_600);
        assert_eq!(iso_date(day(0)), "1970-01-01");
        assert_eq!(iso_date(day(20_793)), "2026-12-06");
        assert_eq!(iso_date(day(11_016)), "2000-02-29");
    }

    #[test]
    fn a_new_ca_is_a_name_constrained_ca_that_signs_its_server_certificate() {
        let ca = LoopbackCa::create(now(), "ayla").unwrap();
        let cert = Certificate::from_der(ca.cert_der()).unwrap();
        assert!(is_loopback_ca(&cert));
        assert!(ca.subject().contains("mohur loopback CA"), "{}", ca.subject());
        assert!(ca.subject().contains("ayla"), "{}", ca.subject());
        // Self-signed, and the server certificate chains to it (RustCrypto's check,
        // the one the installer uses for the national CAs).
        crate::chain::verify_issued_by(ca.cert_der(), ca.cert_der()).unwrap();
        let server = ca.issue_server_cert(now(), SERVER_CERT_LIFETIME).unwrap();
        crate::chain::verify_issued_by(&server.cert_der, ca.cert_der()).unwrap();
        let leaf = Certificate::from_der(&server.cert_der).unwrap();
        assert_eq!(leaf.tbs_certificate.issuer, cert.tbs_certificate.subject);
        assert!(!is_loopback_ca(&leaf));
        let left = server.not_after.duration_since(now()).unwrap();
        assert!(left > SERVER_CERT_LIFETIME - Duration::from_secs(60) && left <= SERVER_CERT_LIFETIME);
        // Its key is a PKCS#8 P-256 key that belongs to it.
        let key = SigningKey::from_pkcs8_der(&server.key_pkcs8).unwrap();
        let spki_bytes = leaf.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes();
        assert_eq!(VerifyingKey::from_sec1_bytes(spki_bytes).unwrap(), *key.verifying_key());
    }

    #[test]
    fn two_cas_differ_in_key_and_subject() {
        let a = LoopbackCa::create(now(), "u").unwrap();
        let b = LoopbackCa::create(now(), "u").unwrap();
        assert_ne!(a.subject(), b.subject());
        assert_ne!(a.key.verifying_key(), b.key.verifying_key());
    }

    #[test]
    fn the_key_goes_to_the_store_and_back() {
        let dir = std::env::temp_dir().join(format!("mohur-loopback-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("loopback-ca.pem");
        let store = Memory::default();
        let _ = std::fs::remove_file(&file);
        assert!(matches!(LoopbackCa::load(&store, &file), Err(LoopbackError::NotInstalled(_))));
        let ca = LoopbackCa::create(now(), "u").unwrap();
        std::fs::write(&file, ca.cert_pem()).unwrap();
        assert!(matches!(LoopbackCa::load(&store, &file), Err(LoopbackError::KeyMissing)));
        ca.store_key(&store).unwrap();
        let loaded = LoopbackCa::load(&store, &file).unwrap();
        assert_eq!(loaded.cert_der(), ca.cert_der());
        // Another CA's key next to this certificate is refused.
        LoopbackCa::create(now(), "u").unwrap().store_key(&store).unwrap();
        let e = LoopbackCa::load(&store, &file).unwrap_err();
        assert!(e.to_string().contains("does not belong"), "{e}");
        // So is garbage.
        store.set(KEY_NAME, b"not a key").unwrap();
        assert!(matches!(LoopbackCa::load(&store, &file), Err(LoopbackError::Invalid(_))));
        assert!(matches!(LoopbackCa::load(&Memory::broken(), &file), Err(LoopbackError::Keyring(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_without_loopback_constraints_is_not_taken() {
        // The national root is a CA, but not a loopback one: its key must never be
        // accepted as a loopback CA (it would make the agent sign with it).
        let ca = LoopbackCa::create(now(), "u").unwrap();
        let mut cert = Certificate::from_der(ca.cert_der()).unwrap();
        cert.tbs_certificate
            .extensions
            .as_mut()
            .unwrap()
            .retain(|e| e.extn_id != x509_cert::der::oid::db::rfc5280::ID_CE_NAME_CONSTRAINTS);
        assert!(!is_loopback_ca(&cert));
        let e = LoopbackCa::from_parts(&cert.to_der().unwrap(), &ca.key_pkcs8().unwrap()).unwrap_err();
        assert!(e.to_string().contains("not a loopback CA"), "{e}");
    }

    #[test]
    fn the_debug_form_has_no_key() {
        let ca = LoopbackCa::create(now(), "u").unwrap();
        let key_hex: String = ca.key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let shown = format!("{ca:?}");
        assert!(!shown.contains(&key_hex) && shown.contains("loopback"), "{shown}");
    }
}
