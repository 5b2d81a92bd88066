//! What the demo portal, a relying party, checks: Web eID authentication tokens (Web eID
//! specification § "Authentication token validation") and CAdES-BES signatures (RFC 5652
//! §5.6, ETSI EN 319 122-1 §5.2.2.3 signing-certificate-v2), with OpenSSL as the verifier.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode, Encode};
use mohur_apdu::HashAlg;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509KeyUsage, X509NameRef, X509Ref, X509StoreContext, X509VerifyResult, X509};

use crate::signing::cms::{hash, SigningCertificateV2, ID_AA_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME};
use crate::signing::webeid::{validate_nonce, validate_origin, AuthToken, FORMAT};
use crate::{Error, Result};

/// `id-sha256` (RFC 5754 §2.2).
const ID_SHA256: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

fn ossl(what: &'static str) -> impl Fn(openssl::error::ErrorStack) -> Error {
    move |e| Error::Internal(format!("{what}: {e}"))
}

fn rejected(msg: impl Into<String>) -> Error {
    Error::BadRequest(msg.into())
}

/// The CAs a relying party trusts: one root and the intermediates below it.
pub struct TrustStore {
    store: X509Store,
}

impl TrustStore {
    /// Loads the trust anchor (`root-ca.pem`) and the intermediate CAs (`chain.pem`).
    pub fn from_pem_files(root: &Path, chain: &Path) -> Result<TrustStore> {
        TrustStore::from_pem(&std::fs::read(root)?, &std::fs::read(chain)?)
    }

    /// Builds the store from PEM text. The intermediates go into the store next to the root:
    /// OpenSSL's `CMS_verify` builds the path only from the store and the certificates inside
    /// the message. Without `X509_V_FLAG_PARTIAL_CHAIN` every path must still end at the
    /// self-signed root (RFC 5280 §6.1), so an intermediate is no trust anchor on its own.
    pub fn from_pem(root: &[u8], chain: &[u8]) -> Result<TrustStore> {
        let root = X509::from_pem(root).map_err(|e| Error::BadRequest(format!("trust anchor is not PEM: {e}")))?;
        if root.issued(&root) != X509VerifyResult::OK {
            return Err(Error::BadRequest("trust anchor is not a self-signed certificate".into()));
        }
        let mut b = X509StoreBuilder::new().map_err(ossl("X509 store"))?;
        b.add_cert(root).map_err(ossl("X509 store"))?;
        for c in X509::stack_from_pem(chain).map_err(|e| Error::BadRequest(format!("chain is not PEM: {e}")))? {
            b.add_cert(c).map_err(ossl("X509 store"))?;
        }
        Ok(TrustStore { store: b.build() })
    }

    /// Verifies `cert`'s path to the root at the current time (RFC 5280 §6.1).
    fn verify_path(&self, cert: &X509Ref) -> Result<()> {
        let mut ctx = X509StoreContext::new().map_err(ossl("X509 store context"))?;
        let untrusted = Stack::new().map_err(ossl("X509 stack"))?;
        let (ok, err) = ctx
            .init(&self.store, cert, &untrusted, |c| Ok((c.verify_cert()?, c.error())))
            .map_err(ossl("X509 verify"))?;
        if ok {
            Ok(())
        } else {
            Err(rejected(format!("certificate does not chain to a trusted CA: {}", err.error_string())))
        }
    }
}

struct NonceEntry {
    expires: Instant,
    used: bool,
}

/// Challenge nonces (Web eID spec § "Authentication token validation": the nonce is generated
/// by the relying party, single-use and short-lived). Thread-safe.
pub struct NonceStore {
    ttl: Duration,
    nonces: Mutex<HashMap<String, NonceEntry>>,
}

impl NonceStore {
    /// A store whose nonces expire `ttl` after issue.
    pub fn new(ttl: Duration) -> NonceStore {
        NonceStore { ttl, nonces: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, NonceEntry>> {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Entries are kept one more `ttl` after expiry, so a late or replayed nonce gets a
    /// precise error; after that it is forgotten ("unknown").
    fn purge(map: &mut HashMap<String, NonceEntry>, now: Instant, ttl: Duration) {
        map.retain(|_, e| e.expires + ttl > now);
    }

    /// A fresh nonce: 32 random bytes from OpenSSL's CSPRNG, standard base64 (44 characters).
    pub fn issue(&self) -> Result<String> {
        let mut bytes = [0u8; 32];
        openssl::rand::rand_bytes(&mut bytes).map_err(ossl("random nonce"))?;
        let nonce = STANDARD.encode(bytes);
        let now = Instant::now();
        let mut map = self.lock();
        Self::purge(&mut map, now, self.ttl);
        map.insert(nonce.clone(), NonceEntry { expires: now + self.ttl, used: false });
        Ok(nonce)
    }

    /// Consumes `nonce`: fails if it was never issued (or long forgotten), already used, or
    /// expired. A nonce can be taken once, whatever the outcome of the login.
    pub fn take(&self, nonce: &str) -> Result<()> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(nonce).ok_or_else(|| rejected("unknown challenge nonce"))?;
        if entry.used {
            return Err(rejected("challenge nonce already used"));
        }
        entry.used = true;
        if now >= entry.expires {
            return Err(rejected("challenge nonce expired"));
        }
        Ok(())
    }
}

/// A verified Web eID login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLogin {
    /// Subject common name (`CN`).
    pub subject_cn: String,
    /// Subject given name (`GN`), if present.
    pub given_name: Option<String>,
    /// Subject surname (`SN`), if present.
    pub surname: Option<String>,
    /// Subject country (`C`), if present.
    pub country: Option<String>,
    /// Subject `serialNumber` attribute (the personal code), if present.
    pub personal_code: Option<String>,
    /// The authentication certificate, DER.
    pub certificate_der: Vec<u8>,
}

/// A verified CAdES signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Common name of the signer's certificate.
    pub signer_cn: String,
    /// The signed signing-time attribute (RFC 5652 §11.3).
    pub signing_time: SystemTime,
    /// SHA-256 of the signed content.
    pub content_sha256: Vec<u8>,
}

fn name_entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    name.entries_by_nid(nid).next().and_then(|e| e.data().to_string().ok())
}

/// Checks the certificate's validity period against the current time (RFC 5280 §4.1.2.5).
fn check_validity(cert: &X509Ref) -> Result<()> {
    let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(ossl("time"))?;
    if cert.not_before() > now {
        return Err(rejected(format!("certificate is not valid yet (notBefore {})", cert.not_before())));
    }
    if cert.not_after() < now {
        return Err(rejected(format!("certificate has expired (notAfter {})", cert.not_after())));
    }
    Ok(())
}

/// What a Web eID `algorithm` name means (RFC 7518 §3.1).
enum TokenAlg {
    Ecdsa { hash: HashAlg, curve: Nid, field_len: usize },
    RsaPkcs1(HashAlg),
    RsaPss(HashAlg),
}

fn token_alg(name: &str) -> Result<TokenAlg> {
    Ok(match name {
        "ES256" => TokenAlg::Ecdsa { hash: HashAlg::Sha256, curve: Nid::X9_62_PRIME256V1, field_len: 32 },
        "ES384" => TokenAlg::Ecdsa { hash: HashAlg::Sha384, curve: Nid::SECP384R1, field_len: 48 },
        "ES512" => TokenAlg::Ecdsa { hash: HashAlg::Sha512, curve: Nid::SECP521R1, field_len: 66 },
        "RS256" => TokenAlg::RsaPkcs1(HashAlg::Sha256),
        "RS384" => TokenAlg::RsaPkcs1(HashAlg::Sha384),
        "RS512" => TokenAlg::RsaPkcs1(HashAlg::Sha512),
        "PS256" => TokenAlg::RsaPss(HashAlg::Sha256),
        other => return Err(rejected(format!("unsupported token algorithm {other:?}"))),
    })
}

fn md(alg: HashAlg) -> MessageDigest {
    match alg {
        HashAlg::Sha384 => MessageDigest::sha384(),
        HashAlg::Sha512 => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    }
}

/// Checks that `alg` fits the key, and turns the token's signature into what OpenSSL verifies
/// (ES*: raw `r ‖ s` → DER ECDSA-Sig-Value, RFC 7518 §3.4 / RFC 3279 §2.2.3).
fn prepare_signature(alg: &TokenAlg, name: &str, key: &PKey<Public>, sig: Vec<u8>) -> Result<Vec<u8>> {
    let mismatch =
        |what: String| rejected(format!("token algorithm {name} does not match the certificate's {what} key"));
    match alg {
        TokenAlg::Ecdsa { curve, field_len, .. } => {
            if key.id() != Id::EC {
                return Err(mismatch(format!("{:?}", key.id())));
            }
            let ec = key.ec_key().map_err(ossl("EC key"))?;
            let key_curve = ec.group().curve_name();
            if key_curve != Some(*curve) {
                let n = key_curve.and_then(|n| n.short_name().ok()).unwrap_or("unnamed curve");
                return Err(mismatch(n.to_owned()));
            }
            if sig.len() != 2 * field_len {
                return Err(rejected(format!(
                    "token signature is {} bytes, {name} needs r ‖ s of {}",
                    sig.len(),
                    2 * field_len
                )));
            }
            mohur_apdu::signature::ecdsa_raw_to_der(&sig).map_err(|e| rejected(format!("token signature: {e}")))
        }
        TokenAlg::RsaPkcs1(_) | TokenAlg::RsaPss(_) => {
            if key.id() != Id::RSA {
                return Err(mismatch(format!("{:?}", key.id())));
            }
            Ok(sig)
        }
    }
}

/// Validates a Web eID authentication token (spec § "Authentication token validation"):
///
/// 1. `format` is `web-eid:1.0`; `expected_origin` and `nonce` are well-formed;
/// 2. the certificate is DER, valid now, chains to the trusted root (RFC 5280 §6.1) and has
///    the digitalSignature key usage (RFC 5280 §4.2.1.3), i.e. is an authentication
///    certificate;
/// 3. `algorithm` matches the certificate's key;
/// 4. `signature` verifies over `hash(expected_origin) ‖ hash(nonce)`.
///
/// `nonce` must be one this relying party issued and just took from its [`NonceStore`]
/// (see [`verify_login`]). Every failure is a `BAD_REQUEST` with its own message.
pub fn verify_auth_token(
    token: &AuthToken,
    expected_origin: &str,
    nonce: &str,
    trust: &TrustStore,
) -> Result<VerifiedLogin> {
    if token.format != FORMAT {
        return Err(rejected(format!("unsupported token format {:?}", token.format)));
    }
    let origin = validate_origin(expected_origin)?;
    validate_nonce(nonce)?;

    let der = STANDARD
        .decode(&token.unverified_certificate)
        .map_err(|e| rejected(format!("certificate is not base64: {e}")))?;
    let cert = X509::from_der(&der).map_err(|e| rejected(format!("certificate is not DER X.509: {e}")))?;
    check_validity(&cert)?;
    trust.verify_path(&cert)?;
    match cert.key_usage() {
        Some(ku) if ku.contains(X509KeyUsage::DIGITAL_SIGNATURE) => {}
        _ => return Err(rejected("certificate is not an authentication certificate (no digitalSignature key usage)")),
    }

    let alg = token_alg(&token.algorithm)?;
    let key = cert.public_key().map_err(|e| rejected(format!("certificate public key: {e}")))?;
    let sig = STANDARD.decode(&token.signature).map_err(|e| rejected(format!("token signature is not base64: {e}")))?;
    let sig = prepare_signature(&alg, &token.algorithm, &key, sig)?;

    let h = match alg {
        TokenAlg::Ecdsa { hash, .. } | TokenAlg::RsaPkcs1(hash) | TokenAlg::RsaPss(hash) => hash,
    };
    let signed_value = [hash(h, origin.as_bytes())?, hash(h, nonce.as_bytes())?].concat();
    let mut v = Verifier::new(md(h), &key).map_err(ossl("verifier"))?;
    if let TokenAlg::RsaPss(_) = alg {
        // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash.
        v.set_rsa_padding(Padding::PKCS1_PSS).map_err(ossl("verifier"))?;
        v.set_rsa_mgf1_md(md(h)).map_err(ossl("verifier"))?;
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).map_err(ossl("verifier"))?;
    }
    v.update(&signed_value).map_err(ossl("verifier"))?;
    // A malformed signature is a failed verification, not an internal error.
    if !v.verify(&sig).unwrap_or(false) {
        return Err(rejected("token signature does not verify for this origin and nonce"));
    }

    let subject = cert.subject_name();
    Ok(VerifiedLogin {
        subject_cn: name_entry(subject, Nid::COMMONNAME)
            .ok_or_else(|| rejected("certificate subject has no common name"))?,
        given_name: name_entry(subject, Nid::GIVENNAME),
        surname: name_entry(subject, Nid::SURNAME),
        country: name_entry(subject, Nid::COUNTRYNAME),
        personal_code: name_entry(subject, Nid::SERIALNUMBER),
        certificate_der: der,
    })
}

/// The relying party's login step: takes `nonce` from `nonces` (single use, unexpired), then
/// [`verify_auth_token`].
pub fn verify_login(
    token: &AuthToken,
    expected_origin: &str,
    nonce: &str,
    nonces: &NonceStore,
    trust: &TrustStore,
) -> Result<VerifiedLogin> {
    nonces.take(nonce)?;
    verify_auth_token(token, expected_origin, nonce, trust)
}

/// Verifies a CAdES-BES signature:
///
/// * OpenSSL's `CMS_verify` (RFC 5652 §5.6): every signer's signature over the signed
///   attributes, the message-digest against the content (embedded, or `detached_content`),
///   and the signer's certificate path to the trusted root, with the S/MIME signing purpose;
/// * here, for the first signer, the ESS signing-certificate-v2 attribute (RFC 5035 §3, ETSI
///   EN 319 122-1 §5.2.2.3): it must name the signer's certificate by SHA-256 hash;
/// * the signing-time attribute (RFC 5652 §11.3) must be present.
pub fn verify_cms(cms_der: &[u8], detached_content: Option<&[u8]>, trust: &TrustStore) -> Result<VerifiedSignature> {
    let mut ci = CmsContentInfo::from_der(cms_der).map_err(|e| rejected(format!("not a DER CMS message: {e}")))?;
    let mut content = Vec::new();
    ci.verify(None, Some(&trust.store), detached_content, Some(&mut content), CMSOptions::BINARY)
        .map_err(|e| rejected(format!("CMS signature does not verify: {e}")))?;
    if let Some(d) = detached_content {
        content = d.to_vec();
    }

    let parse = |e: der::Error| rejected(format!("CMS structure: {e}"));
    let sd: SignedData = ContentInfo::from_der(cms_der).map_err(parse)?.content.decode_as().map_err(parse)?;
    let si = sd.signer_infos.0.get(0).ok_or_else(|| rejected("CMS message has no signer"))?;
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err(rejected("CMS signer is identified by key identifier, not issuer and serial"));
    };
    let signer = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .find_map(|c| match c {
            CertificateChoices::Certificate(c)
                if c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number =>
            {
                Some(c)
            }
            _ => None,
        })
        .ok_or_else(|| rejected("signer certificate is not in the CMS message"))?;
    let signer_der = signer.to_der().map_err(parse)?;

    let attrs = si.signed_attrs.as_ref().ok_or_else(|| rejected("CMS signer has no signed attributes"))?;
    let attr = |oid| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
    let scv2 = attr(ID_AA_SIGNING_CERTIFICATE_V2)
        .ok_or_else(|| rejected("not CAdES: no signing-certificate-v2 attribute"))?
        .decode_as::<SigningCertificateV2>()
        .map_err(parse)?;
    let first = scv2.certs.first().ok_or_else(|| rejected("signing-certificate-v2 lists no certificate"))?;
    if first.hash_algorithm.as_ref().is_some_and(|a| a.oid != ID_SHA256) {
        return Err(rejected("signing-certificate-v2 uses a hash other than SHA-256"));
    }
    if first.cert_hash.as_bytes() != hash(HashAlg::Sha256, &signer_der)? {
        return Err(rejected("signing-certificate-v2 does not match the signer's certificate"));
    }
    let time = attr(ID_SIGNING_TIME).ok_or_else(|| rejected("no signing-time attribute"))?;
    let time = x509_cert::time::Time::from_der(&time.to_der().map_err(parse)?).map_err(parse)?;

    let signer_cn = X509::from_der(&signer_der)
        .ok()
        .and_then(|c| name_entry(c.subject_name(), Nid::COMMONNAME))
        .ok_or_else(|| rejected("signer certificate has no common name"))?;
    Ok(VerifiedSignature {
        signer_cn,
        signing_time: time.to_system_time(),
        content_sha256: hash(HashAlg::Sha256, &content)?,
    })
}
