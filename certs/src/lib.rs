//! Test PKI for mohur: a three-level CA hierarchy shaped like the Azerbaijani
//! national one (Root CA → Policy CA → E-Government CA) plus end-entity
//! authentication and signing certificates for a few fictitious card holders.
//!
//! Everything here is for tests only; keys are written unencrypted.
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509Name, X509NameBuilder, X509Ref, X509};
use serde::{Deserialize, Serialize};

/// Errors from generating or loading the test PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// An OpenSSL operation failed.
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// `holder.json` could not be (de)serialised.
    #[error("holder.json: {0}")]
    Json(#[from] serde_json::Error),
    /// Loaded material is inconsistent (e.g. a key does not match its certificate).
    #[error("invalid holder material in {path}: {reason}")]
    Invalid {
        /// Holder directory.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Key algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    /// RSA, 2048-bit modulus, e = 65537.
    Rsa2048,
    /// ECDSA on NIST P-256 (prime256v1).
    P256,
    /// ECDSA on NIST P-384 (secp384r1).
    P384,
}

impl KeyAlg {
    fn generate(self) -> Result<PKey<Private>, Error> {
        let ec = |nid| -> Result<PKey<Private>, Error> {
            let group = EcGroup::from_curve_name(nid)?;
            Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
        };
        match self {
            KeyAlg::Rsa2048 => Ok(PKey::from_rsa(Rsa::generate(2048)?)?),
            KeyAlg::P256 => ec(Nid::X9_62_PRIME256V1),
            KeyAlg::P384 => ec(Nid::SECP384R1),
        }
    }
}

/// Description of one fictitious card holder.
#[derive(Debug, Clone)]
pub struct HolderSpec {
    /// Sub-directory name inside the PKI directory.
    pub dir_name: &'static str,
    /// ISO 3166 country code: `"AZ"` or `"AM"`.
    pub country: &'static str,
    /// Given name, uppercase Latin.
    pub given_name: String,
    /// Surname, uppercase Latin.
    pub surname: String,
    /// Azerbaijani FIN (7 alphanumerics) or Armenian social card number (10 digits).
    pub personal_code: String,
    /// ID document number (`AA1234567` / `AM0123456`).
    pub document_number: String,
    /// Key algorithm of the authentication key.
    pub auth_alg: KeyAlg,
    /// Key algorithm of the signing key.
    pub sign_alg: KeyAlg,
}

/// Holder identity as stored in `holder.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderInfo {
    /// Country code (`C`).
    pub country: String,
    /// Given name (`GN`).
    pub given_name: String,
    /// Surname (`SN`).
    pub surname: String,
    /// Common name (`CN`), `"SURNAME GIVENNAME"`.
    pub common_name: String,
    /// Personal code (`serialNumber` attribute).
    pub personal_code: String,
    /// ID document number (not in the certificates).
    pub document_number: String,
}

/// Paths of a generated test PKI.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// Output directory.
    pub dir: PathBuf,
    /// Trust anchor, PEM (`root-ca.pem`).
    pub root_cert_pem: PathBuf,
    /// Policy CA certificate, PEM (`pca.pem`).
    pub pca_cert_pem: PathBuf,
    /// E-Government CA certificate, PEM (`ica.pem`).
    pub ica_cert_pem: PathBuf,
    /// Untrusted intermediates, ICA then PCA (`chain.pem`).
    pub chain_pem: PathBuf,
    /// Root, PCA and ICA (`bundle.pem`).
    pub bundle_pem: PathBuf,
    /// The CA bundle for `mohur-install --ca-bundle`: `ca/` with root, PCA and ICA and a
    /// `manifest.toml` pinning them (country `test`).
    pub ca_bundle: PathBuf,
    /// One directory per holder, in [`default_holders`] order.
    pub holder_dirs: Vec<PathBuf>,
    /// Every file written, in write order.
    pub files: Vec<PathBuf>,
}

/// Key and certificate material of one holder, as loaded by [`load_holder`].
#[derive(Debug, Clone)]
pub struct HolderMaterial {
    /// Identity from `holder.json`.
    pub holder: HolderInfo,
    /// PKCS#8 PEM authentication private key.
    pub auth_key_pem: Vec<u8>,
    /// DER authentication certificate.
    pub auth_cert_der: Vec<u8>,
    /// PKCS#8 PEM signing private key.
    pub sign_key_pem: Vec<u8>,
    /// DER signing certificate.
    pub sign_cert_der: Vec<u8>,
}

/// Test certificate policy OID 1.3.6.1.4.1.99999.1.1 (private enterprise arc).
pub const TEST_POLICY_OID: &str = "1.3.6.1.4.1.99999.1.1";
/// DER of `certificatePolicies ::= SEQUENCE { PolicyInformation { TEST_POLICY_OID } }`.
const TEST_POLICY_DER: &[u8] =
    &[0x30, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01, 0x01];
const ORG: &str = "mohur test PKI (not for production)";

/// The fixed holders written by [`generate`] (`piv`, `azedit`, `am`).
pub fn default_holders() -> Vec<HolderSpec> {
    let h = |dir_name, country, gn: &str, sn: &str, code: &str, doc: &str, auth_alg, sign_alg| HolderSpec {
        dir_name,
        country,
        given_name: gn.into(),
        surname: sn.into(),
        personal_code: code.into(),
        document_number: doc.into(),
        auth_alg,
        sign_alg,
    };
    use KeyAlg::*;
    vec![
        h("piv", "AZ", "ELVIN", "MAMMADOV", "5ZJ8K2M", "AA1234567", Rsa2048, P256),
        h("azedit", "AZ", "LEYLA", "ALIYEVA", "7PQ3R9T", "AA7654321", P384, P384),
        h("am", "AM", "ARMEN", "HAKOBYAN", "2904851234", "AM0123456", P384, P384),
    ]
}

impl HolderSpec {
    /// Identity record for `holder.json`.
    pub fn info(&self) -> HolderInfo {
        HolderInfo {
            country: self.country.into(),
            given_name: self.given_name.clone(),
            surname: self.surname.clone(),
            common_name: format!("{} {}", self.surname, self.given_name).to_uppercase(),
            personal_code: self.personal_code.clone(),
            document_number: self.document_number.clone(),
        }
    }
}

/// Signature digest per RFC 5758 §3.2: SHA-384 for P-384 issuers, SHA-256 otherwise.
fn digest_for(key: &PKeyRef<Private>) -> MessageDigest {
    if key.id() == Id::EC && key.bits() > 256 {
        MessageDigest::sha384()
    } else {
        MessageDigest::sha256()
    }
}

fn name(entries: &[(Nid, &str)]) -> Result<X509Name, Error> {
    let mut b = X509NameBuilder::new()?;
    for (nid, v) in entries {
        b.append_entry_by_nid(*nid, v)?;
    }
    Ok(b.build())
}

/// What kind of certificate [`issue`] builds.
enum Profile {
    /// CA certificate with an optional pathLenConstraint (RFC 5280 §4.2.1.9).
    Ca(Option<u32>),
    /// End-entity authentication certificate.
    Auth,
    /// End-entity non-repudiation (qualified signature) certificate.
    Sign,
}

/// Issues one certificate. `issuer` is `None` for a self-signed root.
fn issue(
    subject: &X509Name,
    key: &PKeyRef<Private>,
    issuer: Option<(&X509Ref, &PKeyRef<Private>)>,
    profile: Profile,
    ca_issuers: Option<&str>,
) -> Result<X509, Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let days = if matches!(profile, Profile::Ca(_)) { 3652 } else { 1826 };
    // RFC 5280 §4.1.2.2: positive, at most 20 octets; 127 bits with MSB set => 16 octets.
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::ONE, false)?;

    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(Asn1Integer::from_bn(&serial)?.as_ref())?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer.map_or(subject, |(c, _)| c.subject_name()))?;
    b.set_pubkey(key)?;
    b.set_not_before(Asn1Time::from_unix(now - 86_400)?.as_ref())?;
    b.set_not_after(Asn1Time::from_unix(now - 86_400 + days * 86_400)?.as_ref())?;

    // RFC 5280 §4.2.1.2 / §4.2.1.1: key identifiers.
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    if let Some((ca, _)) = issuer {
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(ca), None))?;
        b.append_extension(aki)?;
    }
    // RFC 5280 §4.2.1.9 basicConstraints, §4.2.1.3 keyUsage, §4.2.1.12 extKeyUsage.
    match profile {
        Profile::Ca(pathlen) => {
            let mut bc = BasicConstraints::new();
            bc.critical().ca();
            if let Some(n) = pathlen {
                bc.pathlen(n);
            }
            b.append_extension(bc.build()?)?;
            b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        }
        Profile::Auth | Profile::Sign => {
            b.append_extension(BasicConstraints::new().build()?)?;
            let mut ku = KeyUsage::new();
            ku.critical();
            if matches!(profile, Profile::Auth) {
                ku.digital_signature();
                if key.id() == Id::EC {
                    ku.key_agreement();
                }
                let eku = ExtendedKeyUsage::new().client_auth().email_protection().build()?;
                b.append_extension(eku)?;
            } else {
                ku.non_repudiation();
            }
            b.append_extension(ku.build()?)?;
            // RFC 5280 §4.2.1.4 certificatePolicies (non-critical, test OID only).
            let oid = Asn1Object::from_str("2.5.29.32")?;
            let der = Asn1OctetString::new_from_bytes(TEST_POLICY_DER)?;
            b.append_extension(X509Extension::new_from_der(&oid, false, &der)?)?;
        }
    }
    // RFC 5280 §4.2.2.1 authorityInfoAccess, caIssuers: where the issuer's certificate
    // can be fetched (the installer's `--from-card` follows it).
    if let Some(url) = ca_issuers {
        let oid = Asn1Object::from_str("1.3.6.1.5.5.7.1.1")?;
        let der = Asn1OctetString::new_from_bytes(&aia_ca_issuers_der(url))?;
        b.append_extension(X509Extension::new_from_der(&oid, false, &der)?)?;
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, digest_for(signer))?;
    Ok(b.build())
}

/// A DER length (X.690 §8.1.3).
fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7F => vec![n as u8],
        0x80..=0xFF => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(value.len()));
    out.extend_from_slice(value);
    out
}

/// `AuthorityInfoAccessSyntax` with one `AccessDescription`: id-ad-caIssuers
/// (1.3.6.1.5.5.7.48.2) at the `uniformResourceIdentifier` `url` (RFC 5280 §4.2.2.1).
fn aia_ca_issuers_der(url: &str) -> Vec<u8> {
    const ID_AD_CA_ISSUERS: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let access = [ID_AD_CA_ISSUERS, &der_tlv(0x86, url.as_bytes())].concat();
    der_tlv(0x30, &der_tlv(0x30, &access))
}

/// What [`generate_with`] adds to the certificates.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A base URL (`http://127.0.0.1:PORT/pki`): every certificate but the root then
    /// names its issuer's DER certificate there in authorityInfoAccess caIssuers
    /// (`root-ca.der`, `pca.der`, `ica.der`), as national CAs publish theirs.
    pub ca_issuers_base: Option<String>,
}

/// Small file writer that records what it wrote.
struct Out {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Out {
    fn write(&mut self, rel: &str, data: &[u8]) -> Result<PathBuf, Error> {
        self.write_mode(rel, data, false)
    }

    /// Writes `rel`; a `secret` file is readable by its owner only (0600, created so:
    /// there is no moment at which another user could open it).
    fn write_mode(&mut self, rel: &str, data: &[u8], secret: bool) -> Result<PathBuf, Error> {
        use std::io::Write;
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|source| Error::Io { path: parent.into(), source })?;
        }
        let io = |source| Error::Io { path: path.clone(), source };
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            opts.mode(0o600);
            // An older file keeps its mode on open: set it before writing.
            if path.exists() {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
        let _ = secret;
        opts.open(&path).and_then(|mut f| f.write_all(data)).map_err(io)?;
        self.files.push(path.clone());
        Ok(path)
    }

    /// Writes `<stem>.pem`, `<stem>.der` and `<stem>.key.pem` (PKCS#8, owner-only);
    /// returns the PEM path.
    fn write_pair(&mut self, stem: &str, cert: &X509, key: &PKey<Private>) -> Result<PathBuf, Error> {
        let pem = self.write(&format!("{stem}.pem"), &cert.to_pem()?)?;
        self.write(&format!("{stem}.der"), &cert.to_der()?)?;
        self.write_mode(&format!("{stem}.key.pem"), &key.private_key_to_pem_pkcs8()?, true)?;
        Ok(pem)
    }
}

/// Writes a complete test PKI into `dir` (created if missing).
///
/// Existing files are overwritten. Keys and serial numbers are fresh on every
/// call; holder identities come from [`default_holders`]. Private keys are readable by
/// their owner only.
pub fn generate(dir: &Path) -> Result<TestPki, Error> {
    generate_with(dir, &Options::default())
}

/// [`generate`] with [`Options`].
pub fn generate_with(dir: &Path, opts: &Options) -> Result<TestPki, Error> {
    let mut out = Out { dir: dir.to_path_buf(), files: Vec::new() };
    fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.into(), source })?;
    let at = |file: &str| opts.ca_issuers_base.as_ref().map(|b| format!("{}/{file}", b.trim_end_matches('/')));

    let ca_name = |cn| name(&[(Nid::COUNTRYNAME, "AZ"), (Nid::ORGANIZATIONNAME, ORG), (Nid::COMMONNAME, cn)]);
    let root_key = PKey::from_rsa(Rsa::generate(3072)?)?;
    let root = issue(&ca_name("mohur Test Root CA")?, &root_key, None, Profile::Ca(None), None)?;
    let pca_key = KeyAlg::P384.generate()?;
    let pca_name = ca_name("mohur Test Policy CA")?;
    let pca = issue(&pca_name, &pca_key, Some((&root, &root_key)), Profile::Ca(Some(1)), at("root-ca.der").as_deref())?;
    let ica_key = KeyAlg::P384.generate()?;
    let ica_name = ca_name("mohur Test E-Government CA")?;
    let ica = issue(&ica_name, &ica_key, Some((&pca, &pca_key)), Profile::Ca(Some(0)), at("pca.der").as_deref())?;

    let root_cert_pem = out.write_pair("root-ca", &root, &root_key)?;
    let pca_cert_pem = out.write_pair("pca", &pca, &pca_key)?;
    let ica_cert_pem = out.write_pair("ica", &ica, &ica_key)?;
    let chain_pem = out.write("chain.pem", &[ica.to_pem()?, pca.to_pem()?].concat())?;
    let bundle_pem = out.write("bundle.pem", &[root.to_pem()?, pca.to_pem()?, ica.to_pem()?].concat())?;
    // The CA bundle as mohur-install takes it (installer/ca/README.md): the certificates
    // and a manifest pinning each by SHA-256. Tests pass it explicitly (`--ca-bundle`);
    // it never goes into a package.
    let mut manifest = String::from(
        "# The mohur test PKI's CA bundle, written by mohur-test-pki: for tests only, never in a package.\nformat = 1\n",
    );
    for (file, cert, role) in
        [("root-ca.pem", &root, "root"), ("pca.pem", &pca, "policy"), ("ica.pem", &ica, "issuing")]
    {
        out.write(&format!("ca/{file}"), &cert.to_pem()?)?;
        let fp = cert.digest(MessageDigest::sha256())?.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
        let cn =
            cert.subject_name().entries_by_nid(Nid::COMMONNAME).next().map(|e| e.data().to_string()).transpose()?;
        manifest.push_str(&format!(
            "\n[[ca]]\nfile = \"{file}\"\ncountry = \"test\"\nrole = \"{role}\"\nsubject = \"CN={}\"\nsha256 = \"{fp}\"\npublished = \"made by mohur-test-pki for tests\"\n",
            cn.unwrap_or_default()
        ));
    }
    let ca_bundle =
        out.write("ca/manifest.toml", manifest.as_bytes())?.parent().map(Path::to_path_buf).unwrap_or_default();

    let mut holder_dirs = Vec::new();
    for spec in default_holders() {
        let info = spec.info();
        let subject = name(&[
            (Nid::COUNTRYNAME, &info.country),
            (Nid::SURNAME, &info.surname),
            (Nid::GIVENNAME, &info.given_name),
            (Nid::SERIALNUMBER, &info.personal_code),
            (Nid::COMMONNAME, &info.common_name),
        ])?;
        let d = spec.dir_name;
        for (stem, alg, profile) in [("auth", spec.auth_alg, Profile::Auth), ("sign", spec.sign_alg, Profile::Sign)] {
            let key = alg.generate()?;
            let cert = issue(&subject, &key, Some((&ica, &ica_key)), profile, at("ica.der").as_deref())?;
            out.write_pair(&format!("{d}/{stem}"), &cert, &key)?;
        }
        out.write(&format!("{d}/holder.json"), serde_json::to_string_pretty(&info)?.as_bytes())?;
        holder_dirs.push(dir.join(d));
    }

    Ok(TestPki {
        dir: dir.to_path_buf(),
        root_cert_pem,
        pca_cert_pem,
        ica_cert_pem,
        chain_pem,
        bundle_pem,
        ca_bundle,
        holder_dirs,
        files: out.files,
    })
}

/// Loads the holder material of one card directory written by [`generate`].
///
/// Checks that each private key matches the public key of its certificate.
pub fn load_holder(dir: &Path) -> Result<HolderMaterial, Error> {
    let read = |rel: &str| {
        let path = dir.join(rel);
        fs::read(&path).map_err(|source| Error::Io { path, source })
    };
    let m = HolderMaterial {
        holder: serde_json::from_slice(&read("holder.json")?)?,
        auth_key_pem: read("auth.key.pem")?,
        auth_cert_der: read("auth.der")?,
        sign_key_pem: read("sign.key.pem")?,
        sign_cert_der: read("sign.der")?,
    };
    for (key, cert) in [(&m.auth_key_pem, &m.auth_cert_der), (&m.sign_key_pem, &m.sign_cert_der)] {
        let key = PKey::private_key_from_pem(key)?;
        if !X509::from_der(cert)?.public_key()?.public_eq(&key) {
            return Err(Error::Invalid { path: dir.into(), reason: "private key does not match certificate" });
        }
    }
    Ok(m)
}
