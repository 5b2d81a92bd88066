//! Checking signatures as a relying party does, with RustCrypto (the same code on Linux
//! and Windows, and in builds without OpenSSL): a certificate's path to a trusted root
//! (RFC 5280 §6.1), Web eID authentication tokens (Web eID specification § "Authentication
//! token validation") and CAdES-BES signatures (RFC 5652 §5.6, ETSI EN 319 122-1 §5.2.2.3
//! signing-certificate-v2).
//!
//! `mohur verify` and the demo portal's relying party use it. The tests check the same
//! signatures with OpenSSL as well, as an independent verifier.

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::{rfc4519, rfc5280, rfc5911, rfc5912};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use mohur_platform::chain::{verify_digest, verify_issued_by, HashAlg as Hash, Scheme};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::signing::cms::{
    SigningCertificateV2, ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2,
    ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_MESSAGE_DIGEST, ID_SIGNING_TIME,
};
use crate::signing::rejection::{Rejection, Why};
use crate::signing::webeid::{validate_nonce, validate_origin, AuthToken, FORMAT, FORMAT_1_1};
use crate::{Error, Result};

/// The longest path from an end entity to a root that is followed.
const MAX_PATH: usize = 8;

/// A refusal of kind `why` ([`Rejection`]): every check here says why this way.
fn rejected(why: Why, detail: impl Into<String>) -> Error {
    Error::Rejected(Rejection::new(why, detail))
}

/// A refusal about one certificate (expired, not yet valid): its holder is told.
fn rejected_about(why: Why, cert: &Certificate, detail: impl Into<String>) -> Error {
    Error::Rejected(Rejection::new(why, detail).about(holder(&cert.tbs_certificate.subject)))
}

/// `e` with `prefix` before its detail, and of kind `why` where one is given (the kind
/// found inside is kept otherwise).
fn reworded(e: Error, prefix: &str, why: Option<Why>) -> Error {
    match e {
        Error::Rejected(r) => Error::Rejected(Rejection {
            why: why.unwrap_or(r.why),
            who: r.who,
            detail: format!("{prefix}{}", r.detail),
        }),
        other => other,
    }
}

/// A certificate's holder as a person reads it: the common name, else the whole name.
pub fn holder(name: &Name) -> String {
    name_attribute(name, rfc4519::COMMON_NAME).unwrap_or_else(|| name_text(name))
}

/// The CAs a relying party trusts: self-signed roots (the trust anchors) and the
/// intermediate CAs below them, which are only used to build a path to a root.
#[derive(Debug, Clone)]
pub struct TrustStore {
    roots: Vec<Certificate>,
    intermediates: Vec<Certificate>,
}

impl TrustStore {
    /// Every certificate of the store (anchors and intermediates), DER.
    pub fn certificates(&self) -> Vec<Vec<u8>> {
        self.roots.iter().chain(&self.intermediates).filter_map(|c| c.to_der().ok()).collect()
    }

    /// Loads the trust anchor (`root-ca.pem`) and the intermediate CAs (`chain.pem`).
    pub fn from_pem_files(root: &std::path::Path, chain: &std::path::Path) -> Result<TrustStore> {
        TrustStore::from_pem(&std::fs::read(root)?, &std::fs::read(chain)?)
    }

    /// The root in `root` (PEM, one self-signed certificate) and the intermediates in
    /// `chain` (PEM, any number). An intermediate is no trust anchor on its own: every
    /// path must end at the root (RFC 5280 §6.1).
    pub fn from_pem(root: &[u8], chain: &[u8]) -> Result<TrustStore> {
        let roots = pem_certificates(root)
            .map_err(|e| rejected(Why::BadTrustStore, format!("trust anchor is not PEM: {e}")))?;
        let [root] = <[Certificate; 1]>::try_from(roots).map_err(|v| {
            rejected(Why::BadTrustStore, format!("the trust anchor file holds {} certificates, not one", v.len()))
        })?;
        if !is_self_signed(&root) {
            return Err(rejected(Why::BadTrustStore, "trust anchor is not a self-signed certificate"));
        }
        let intermediates =
            pem_certificates(chain).map_err(|e| rejected(Why::BadTrustStore, format!("chain is not PEM: {e}")))?;
        Ok(TrustStore { roots: vec![root], intermediates })
    }

    /// The certificates of a CA bundle (PEM): the self-signed ones are the roots, the
    /// others intermediates. At least one root is needed.
    pub fn from_bundle(certificates: Vec<Certificate>) -> Result<TrustStore> {
        let (roots, intermediates): (Vec<_>, Vec<_>) = certificates.into_iter().partition(is_self_signed);
        if roots.is_empty() {
            return Err(rejected(Why::BadTrustStore, "the CA bundle has no self-signed root"));
        }
        Ok(TrustStore { roots, intermediates })
    }

    /// Checks `cert`'s path to a root at `now` (RFC 5280 §6.1): each certificate in its
    /// validity period and signed by the next; each issuer a CA (basicConstraints cA, a
    /// keyUsage with keyCertSign where present) within its pathLenConstraint; no
    /// critical extension this check does not process. `untrusted` (e.g. the
    /// certificates of a CMS message) may supply intermediates. Returns the path, `cert`
    /// first and the root last.
    pub fn verify_path(
        &self,
        cert: &Certificate,
        untrusted: &[Certificate],
        now: SystemTime,
    ) -> Result<Vec<Certificate>> {
        let mut path = vec![cert.clone()];
        loop {
            let current = path.last().expect("the path starts with the certificate");
            check_validity(current, now)?;
            check_critical_extensions(current)?;
            if self.roots.iter().any(|r| r == current) {
                return Ok(path);
            }
            if path.len() > MAX_PATH {
                return Err(rejected(
                    Why::UntrustedIssuer,
                    "certificate does not chain to a trusted CA: the path is too long",
                ));
            }
            let issuer_name = &current.tbs_certificate.issuer;
            let candidates = self.roots.iter().chain(&self.intermediates).chain(untrusted);
            let issuer = candidates
                .filter(|c| &c.tbs_certificate.subject == issuer_name && !path.contains(c))
                .find(|c| signed_by(current, c))
                .ok_or_else(|| {
                    rejected(
                        Why::UntrustedIssuer,
                        format!(
                            "certificate does not chain to a trusted CA: no trusted issuer {} signed {}",
                            name_text(issuer_name),
                            name_text(&current.tbs_certificate.subject)
                        ),
                    )
                })?;
            // The CAs already on the path below this issuer (RFC 5280 §6.1.4 (l)-(m)).
            let below = path.len() - 1;
            check_ca(issuer, below)?;
            path.push(issuer.clone());
        }
    }
}

/// The certificates of a PEM text.
pub fn pem_certificates(pem: &[u8]) -> std::result::Result<Vec<Certificate>, der::Error> {
    Certificate::load_pem_chain(pem)
}

fn is_self_signed(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject == cert.tbs_certificate.issuer && signed_by(cert, cert)
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    match (cert.to_der(), issuer.to_der()) {
        (Ok(c), Ok(i)) => verify_issued_by(&c, &i).is_ok(),
        _ => false,
    }
}

/// `C=AZ, CN=…` for messages.
pub fn name_text(name: &Name) -> String {
    name.to_string()
}

/// The first value of `oid` in a name, as text.
pub fn name_attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|a| a.oid == oid).and_then(|a| {
        der::asn1::Utf8StringRef::try_from(&a.value)
            .map(|s| s.as_str().to_owned())
            .or_else(|_| der::asn1::PrintableStringRef::try_from(&a.value).map(|s| s.as_str().to_owned()))
            .ok()
    })
}

fn extension<'a, T: Decode<'a>>(cert: &'a Certificate, oid: ObjectIdentifier) -> Result<Option<T>> {
    let Some(ext) = cert.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == oid) else {
        return Ok(None);
    };
    T::from_der(ext.extn_value.as_bytes())
        .map(Some)
        .map_err(|e| rejected(Why::Unreadable, format!("certificate extension {oid} does not parse: {e}")))
}

/// RFC 5280 §4.1.2.5.
fn check_validity(cert: &Certificate, now: SystemTime) -> Result<()> {
    let v = &cert.tbs_certificate.validity;
    let subject = name_text(&cert.tbs_certificate.subject);
    if now < v.not_before.to_system_time() {
        return Err(rejected_about(
            Why::NotYetValid,
            cert,
            format!("certificate {subject} is not valid yet (notBefore {})", v.not_before),
        ));
    }
    if now > v.not_after.to_system_time() {
        return Err(rejected_about(
            Why::Expired,
            cert,
            format!("certificate {subject} has expired (notAfter {})", v.not_after),
        ));
    }
    Ok(())
}

/// RFC 5280 §6.1.3 (f)/§4.2: a critical extension the checker does not know fails the
/// path. Known here: basic constraints, key usage, extended key usage, certificate
/// policies (any policy is accepted), subject alternative name.
fn check_critical_extensions(cert: &Certificate) -> Result<()> {
    const PROCESSED: [ObjectIdentifier; 5] = [
        rfc5280::ID_CE_BASIC_CONSTRAINTS,
        rfc5280::ID_CE_KEY_USAGE,
        rfc5280::ID_CE_EXT_KEY_USAGE,
        rfc5280::ID_CE_CERTIFICATE_POLICIES,
        rfc5280::ID_CE_SUBJECT_ALT_NAME,
    ];
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.critical && !PROCESSED.contains(&ext.extn_id) {
            return Err(rejected(
                Why::Unsupported,
                format!(
                    "certificate {} has a critical extension {} that is not checked",
                    name_text(&cert.tbs_certificate.subject),
                    ext.extn_id
                ),
            ));
        }
    }
    Ok(())
}

/// An issuer must be a CA (RFC 5280 §4.2.1.9), allowed to sign certificates (§4.2.1.3),
/// with `below` CAs under it within its pathLenConstraint.
fn check_ca(issuer: &Certificate, below: usize) -> Result<()> {
    let subject = name_text(&issuer.tbs_certificate.subject);
    let bc: Option<BasicConstraints> = extension(issuer, rfc5280::ID_CE_BASIC_CONSTRAINTS)?;
    let Some(bc) = bc.filter(|bc| bc.ca) else {
        return Err(rejected(Why::UntrustedIssuer, format!("issuer {subject} is not a CA")));
    };
    // `below` counts the end entity too, which does not count against the constraint.
    if let Some(max) = bc.path_len_constraint {
        if below.saturating_sub(1) > usize::from(max) {
            return Err(rejected(
                Why::UntrustedIssuer,
                format!("issuer {subject} may have {max} CAs below it, the path has more"),
            ));
        }
    }
    let ku: Option<KeyUsage> = extension(issuer, rfc5280::ID_CE_KEY_USAGE)?;
    if ku.is_some_and(|ku| !ku.0.contains(KeyUsages::KeyCertSign)) {
        return Err(rejected(
            Why::UntrustedIssuer,
            format!("issuer {subject} may not sign certificates (no keyCertSign)"),
        ));
    }
    Ok(())
}

/// What a Web eID `algorithm` name means (RFC 7518 §3.1).
fn token_alg(name: &str) -> Result<(Scheme, Hash, usize)> {
    Ok(match name {
        "ES256" => (Scheme::Ecdsa, Hash::Sha256, 32),
        "ES384" => (Scheme::Ecdsa, Hash::Sha384, 48),
        "RS256" => (Scheme::RsaPkcs1, Hash::Sha256, 0),
        "RS384" => (Scheme::RsaPkcs1, Hash::Sha384, 0),
        "RS512" => (Scheme::RsaPkcs1, Hash::Sha512, 0),
        "PS256" => (Scheme::RsaPss, Hash::Sha256, 0),
        other => return Err(rejected(Why::Unsupported, format!("unsupported token algorithm {other:?}"))),
    })
}

/// The curve of an EC key (`None` for other keys).
fn ec_curve(cert: &Certificate) -> Option<ObjectIdentifier> {
    let alg = &cert.tbs_certificate.subject_public_key_info.algorithm;
    (alg.oid == rfc5912::ID_EC_PUBLIC_KEY).then(|| alg.parameters.as_ref()?.decode_as().ok()).flatten()
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

/// The `web-eid:1.1` part of a token: the signing certificate and its algorithms.
fn check_signing_certificate(token: &AuthToken, auth_der: &[u8]) -> Result<()> {
    let sign = token
        .unverified_signing_certificate
        .as_deref()
        .ok_or_else(|| rejected(Why::Unreadable, "web-eid:1.1 token without unverifiedSigningCertificate"))?;
    let sign = STANDARD
        .decode(sign)
        .map_err(|e| rejected(Why::Unreadable, format!("signing certificate is not base64: {e}")))?;
    if !crate::signing::webeid::signing_certificate_fits(auth_der, &sign, SystemTime::now()) {
        return Err(rejected(
            Why::WrongCertificate,
            "the signing certificate is not the same holder's, from the same issuer, valid, for non-repudiation",
        ));
    }
    let algorithms = token.supported_signature_algorithms.as_ref().and_then(|a| a.as_array()).filter(|a| !a.is_empty());
    let known = |a: &serde_json::Value| {
        ["ECC", "RSA"].contains(&a["cryptoAlgorithm"].as_str().unwrap_or(""))
            && ["SHA-224", "SHA-256", "SHA-384", "SHA-512"].contains(&a["hashFunction"].as_str().unwrap_or(""))
            && ["NONE", "PKCS1.5", "PSS"].contains(&a["paddingScheme"].as_str().unwrap_or(""))
    };
    match algorithms {
        Some(all) if all.iter().all(known) => Ok(()),
        _ => Err(rejected(Why::Unsupported, "web-eid:1.1 token without supported signature algorithms it may have")),
    }
}

/// Validates a Web eID authentication token (spec § "Authentication token validation"):
///
/// 1. `format` is `web-eid:1.0`, or `web-eid:1.1` with a signing certificate that has the
///    same subject and issuer key, is valid now and has nonRepudiation, and its
///    algorithms (as web-eid-authtoken-validation's `AuthTokenVersion11Validator`);
///    `expected_origin` and `nonce` are well-formed;
/// 2. the certificate is DER, valid now, chains to a trusted root and has the
///    digitalSignature key usage (RFC 5280 §4.2.1.3), i.e. is an authentication
///    certificate;
/// 3. `algorithm` matches the certificate's key;
/// 4. `signature` verifies over `hash(expected_origin) ‖ hash(nonce)`.
///
/// `nonce` must be one the relying party issued and just took from its store. Every
/// failure is a `BAD_REQUEST` with its own message.
pub fn verify_auth_token(
    token: &AuthToken,
    expected_origin: &str,
    nonce: &str,
    trust: &TrustStore,
) -> Result<VerifiedLogin> {
    if token.format != FORMAT && token.format != FORMAT_1_1 {
        return Err(rejected(Why::Unsupported, format!("unsupported token format {:?}", token.format)));
    }
    let origin = validate_origin(expected_origin)?;
    validate_nonce(nonce)?;

    let der = STANDARD
        .decode(&token.unverified_certificate)
        .map_err(|e| rejected(Why::Unreadable, format!("certificate is not base64: {e}")))?;
    let cert = Certificate::from_der(&der)
        .map_err(|e| rejected(Why::Unreadable, format!("certificate is not DER X.509: {e}")))?;
    trust.verify_path(&cert, &[], SystemTime::now())?;
    let ku: Option<KeyUsage> = extension(&cert, rfc5280::ID_CE_KEY_USAGE)?;
    if !ku.is_some_and(|ku| ku.0.contains(KeyUsages::DigitalSignature)) {
        return Err(rejected(
            Why::NotForSigning,
            "certificate is not an authentication certificate (no digitalSignature key usage)",
        ));
    }

    let (scheme, hash, field_len) = token_alg(&token.algorithm)?;
    let curve = ec_curve(&cert);
    let key_name = match curve {
        Some(rfc5912::SECP_256_R_1) => "P-256".to_owned(),
        Some(rfc5912::SECP_384_R_1) => "P-384".to_owned(),
        Some(other) => format!("EC {other}"),
        None => "RSA".to_owned(),
    };
    let mismatch = || {
        rejected(
            Why::WrongCertificate,
            format!("token algorithm {} does not match the certificate's {key_name} key", token.algorithm),
        )
    };
    let sig = STANDARD
        .decode(&token.signature)
        .map_err(|e| rejected(Why::Unreadable, format!("token signature is not base64: {e}")))?;
    let sig = if scheme == Scheme::Ecdsa {
        let want = if field_len == 32 { rfc5912::SECP_256_R_1 } else { rfc5912::SECP_384_R_1 };
        if curve != Some(want) {
            return Err(mismatch());
        }
        if sig.len() != 2 * field_len {
            return Err(rejected(
                Why::Unreadable,
                format!("token signature is {} bytes, {} needs r ‖ s of {}", sig.len(), token.algorithm, 2 * field_len),
            ));
        }
        // RFC 7518 §3.4: raw r ‖ s; the verifier takes an ECDSA-Sig-Value (RFC 3279 §2.2.3).
        mohur_apdu::signature::ecdsa_raw_to_der(&sig)
            .map_err(|e| rejected(Why::Unreadable, format!("token signature: {e}")))?
    } else {
        if curve.is_some() {
            return Err(mismatch());
        }
        sig
    };

    let signed_value = [hash.digest(origin.as_bytes()), hash.digest(nonce.as_bytes())].concat();
    let spki = &cert.tbs_certificate.subject_public_key_info;
    // A malformed signature is a failed verification, not an internal error.
    verify_digest(spki, scheme, hash, &hash.digest(&signed_value), &sig)
        .map_err(|_| rejected(Why::Altered, "token signature does not verify for this origin and nonce"))?;
    if token.format == FORMAT_1_1 {
        check_signing_certificate(token, &der)?;
    }

    let subject = &cert.tbs_certificate.subject;
    Ok(VerifiedLogin {
        subject_cn: name_attribute(subject, rfc4519::COMMON_NAME)
            .ok_or_else(|| rejected(Why::Unreadable, "certificate subject has no common name"))?,
        given_name: name_attribute(subject, rfc4519::GIVEN_NAME),
        surname: name_attribute(subject, rfc4519::SURNAME),
        country: name_attribute(subject, rfc4519::COUNTRY_NAME),
        personal_code: name_attribute(subject, rfc4519::SERIAL_NUMBER),
        certificate_der: der,
    })
}

/// A verified CAdES signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Common name of the signer's certificate.
    pub signer_cn: String,
    /// The signer's certificate, DER.
    pub signer_certificate: Vec<u8>,
    /// The signed signing-time attribute (RFC 5652 §11.3): the time the signer's
    /// computer claimed.
    pub signing_time: SystemTime,
    /// SHA-256 of the signed content.
    pub content_sha256: Vec<u8>,
    /// The signature time-stamp, if it has one (level B-T).
    pub timestamp: Option<VerifiedTimestamp>,
}

/// A verified RFC 3161 signature time-stamp (ETSI EN 319 122-1 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// TSTInfo's genTime: when the TSA saw the signature.
    pub time: SystemTime,
    /// Common name of the TSA's certificate.
    pub tsa_cn: String,
}

/// What a verified signature says, whatever carries it (a `.p7s`, a PDF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDetails {
    /// Common name of the signer's certificate.
    pub signer_cn: String,
    /// The signer's certificate, DER.
    pub signer_certificate: Vec<u8>,
    /// The signing-time attribute, where there is one (PAdES has none: its time is `/M`).
    pub signing_time: Option<SystemTime>,
    /// The signature time-stamp, if any.
    pub timestamp: Option<VerifiedTimestamp>,
}

/// What a certificate that signs must be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    /// Documents: [`check_signer_usage`].
    Document,
    /// Time-stamps: the critical extended key usage id-kp-timeStamping (RFC 3161 §2.3).
    TimeStamping,
}

fn digest_alg(oid: ObjectIdentifier) -> Result<Hash> {
    match oid {
        rfc5912::ID_SHA_256 => Ok(Hash::Sha256),
        rfc5912::ID_SHA_384 => Ok(Hash::Sha384),
        rfc5912::ID_SHA_512 => Ok(Hash::Sha512),
        other => Err(rejected(Why::Unsupported, format!("unsupported digest algorithm {other}"))),
    }
}

/// The scheme and hash of a SignerInfo's `signatureAlgorithm` (RFC 5652 §5.3): RSA
/// PKCS#1 v1.5 as `rsaEncryption` (the digest algorithm's hash, RFC 3370 §3.2) or
/// `shaNNNWithRSAEncryption` (RFC 4055 §5), and `ecdsa-with-SHANNN` (RFC 5758 §3.2).
fn signature_alg(si: &SignerInfo, digest: Hash) -> Result<(Scheme, Hash)> {
    let with = |scheme, hash: Hash| {
        if hash == digest {
            Ok((scheme, hash))
        } else {
            Err(rejected(Why::Unsupported, "the signature algorithm's hash differs from the digest algorithm"))
        }
    };
    match si.signature_algorithm.oid {
        rfc5912::RSA_ENCRYPTION => Ok((Scheme::RsaPkcs1, digest)),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => with(Scheme::RsaPkcs1, Hash::Sha256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => with(Scheme::RsaPkcs1, Hash::Sha384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => with(Scheme::RsaPkcs1, Hash::Sha512),
        rfc5912::ECDSA_WITH_SHA_256 => with(Scheme::Ecdsa, Hash::Sha256),
        rfc5912::ECDSA_WITH_SHA_384 => with(Scheme::Ecdsa, Hash::Sha384),
        rfc5912::ECDSA_WITH_SHA_512 => with(Scheme::Ecdsa, Hash::Sha512),
        other => Err(rejected(Why::Unsupported, format!("unsupported signature algorithm {other}"))),
    }
}

/// The certificate a SignerInfo names (RFC 5652 §5.3 `sid`).
fn signer_certificate<'a>(sd: &'a SignedData, si: &SignerInfo) -> Result<&'a Certificate> {
    let mut certs = sd.certificates.iter().flat_map(|s| s.0.iter()).filter_map(|c| match c {
        CertificateChoices::Certificate(c) => Some(c),
        _ => None,
    });
    let found = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs
            .find(|c| c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.find(|c| {
            extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(c, rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
                .ok()
                .flatten()
                .is_some_and(|s| s.0 == ski.0)
        }),
    };
    found.ok_or_else(|| rejected(Why::WrongCertificate, "signer certificate is not in the CMS message"))
}

/// A signer's certificate must allow signing documents: a keyUsage, where present, with
/// digitalSignature or nonRepudiation, and an extKeyUsage, where present, with
/// emailProtection or anyExtendedKeyUsage (OpenSSL's S/MIME signing purpose).
fn check_signer_usage(cert: &Certificate) -> Result<()> {
    let ku: Option<KeyUsage> = extension(cert, rfc5280::ID_CE_KEY_USAGE)?;
    if ku.is_some_and(|ku| !ku.0.contains(KeyUsages::DigitalSignature) && !ku.0.contains(KeyUsages::NonRepudiation)) {
        return Err(rejected(
            Why::NotForSigning,
            "signer certificate may not sign (neither digitalSignature nor nonRepudiation)",
        ));
    }
    let eku: Option<ExtendedKeyUsage> = extension(cert, rfc5280::ID_CE_EXT_KEY_USAGE)?;
    if eku.is_some_and(|eku| {
        !eku.0.contains(&rfc5280::ID_KP_EMAIL_PROTECTION) && !eku.0.contains(&rfc5280::ANY_EXTENDED_KEY_USAGE)
    }) {
        return Err(rejected(Why::NotForSigning, "signer certificate's extended key usage does not allow signatures"));
    }
    Ok(())
}

/// Verifies a CAdES-BES or CAdES-T signature (RFC 5652 §5.6) over a content, embedded
/// or `detached_content`, as [`verify_signature`] does; it must carry a signing-time.
pub fn verify_cms(cms_der: &[u8], detached_content: Option<&[u8]>, trust: &TrustStore) -> Result<VerifiedSignature> {
    let parse = |e: der::Error| rejected(Why::Unreadable, format!("not a DER CMS message: {e}"));
    let (_, sd) = signed_data(cms_der)?;
    let embedded = match &sd.encap_content_info.econtent {
        Some(any) => Some(any.decode_as::<OctetString>().map_err(parse)?.into_bytes()),
        None => None,
    };
    let content = match (embedded, detached_content) {
        (Some(_), Some(_)) => {
            return Err(rejected(Why::Unreadable, "the CMS message embeds its content and a detached one was given"))
        }
        (Some(c), None) => c,
        (None, Some(d)) => d.to_vec(),
        (None, None) => return Err(rejected(Why::NoContent, "a detached signature needs its content")),
    };
    let v = verify_signed_data(&sd, &[&content], trust, Usage::Document, SystemTime::now())?;
    Ok(VerifiedSignature {
        signer_cn: v.signer_cn,
        signer_certificate: v.signer_certificate,
        signing_time: v.signing_time.ok_or_else(|| rejected(Why::Unreadable, "no signing-time attribute"))?,
        content_sha256: Hash::Sha256.digest(&content),
        timestamp: v.timestamp,
    })
}

/// Verifies a detached CAdES signature over `parts` of a file, in order (a PDF's
/// `/ByteRange`, ETSI EN 319 142-1 §5.1), hashed as one stream: see [`verify_signed_data`].
pub fn verify_signature(cms_der: &[u8], parts: &[&[u8]], trust: &TrustStore) -> Result<VerifiedDetails> {
    let (_, sd) = signed_data(cms_der)?;
    if sd.encap_content_info.econtent.is_some() {
        return Err(rejected(Why::Unsupported, "the signature embeds a content of its own; it must be detached"));
    }
    verify_signed_data(&sd, parts, trust, Usage::Document, SystemTime::now())
}

fn signed_data(cms_der: &[u8]) -> Result<(ContentInfo, SignedData)> {
    let parse = |e: der::Error| rejected(Why::Unreadable, format!("not a DER CMS message: {e}"));
    // OCSP responses in `crls` (B-LT) are read by the revocation check, not by `cms`.
    let cms_der = super::validation_data::decodable(cms_der);
    let ci = ContentInfo::from_der(&cms_der).map_err(parse)?;
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(rejected(Why::Unreadable, format!("CMS content type {} is not signed data", ci.content_type)));
    }
    let sd: SignedData = ci.content.decode_as().map_err(parse)?;
    Ok((ci, sd))
}

/// The digest of `parts` as one stream.
fn digest_parts(hash: Hash, parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    }
    match hash {
        Hash::Sha256 => run::<sha2::Sha256>(parts),
        Hash::Sha384 => run::<sha2::Sha384>(parts),
        Hash::Sha512 => run::<sha2::Sha512>(parts),
        // A hash added to the installer's list later: one copy, hashed at once.
        other => other.digest(&parts.concat()),
    }
}

/// Verifies every signer of `sd` (RFC 5652 §5.6) over the content `parts`:
///
/// * the message-digest attribute against the content and the content-type attribute
///   against the content's type;
/// * the signature over the DER of the signed attributes;
/// * a signature time-stamp, where there is one: its imprint is the digest of this
///   signature value, the TSA's signature and certificate (timeStamping) check out,
///   and its genTime is then the time at which the signer's certificate must be valid
///   (that is what B-T is for: the signature stays provable after the certificate
///   expires); without one, the time is `now`;
/// * the signer's certificate: its path to a trusted root (with the message's
///   certificates as intermediates) and its key usage;
///
/// and, for the first signer, the ESS signing-certificate attribute (v2, RFC 5035 §3,
/// ETSI EN 319 122-1 §5.2.2.3; or v1, RFC 2634 §5.4) naming the signer's certificate,
/// and the signing-time attribute (RFC 5652 §11.3) if present.
fn verify_signed_data(
    sd: &SignedData,
    parts: &[&[u8]],
    trust: &TrustStore,
    usage: Usage,
    now: SystemTime,
) -> Result<VerifiedDetails> {
    let parse = |e: der::Error| rejected(Why::Unreadable, format!("not a DER CMS message: {e}"));
    let untrusted: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    if sd.signer_infos.0.is_empty() {
        return Err(rejected(Why::Unreadable, "CMS message has no signer"));
    }
    let mut first_timestamp = None;
    for (i, si) in sd.signer_infos.0.iter().enumerate() {
        let digest = digest_alg(si.digest_alg.oid)?;
        let (scheme, hash) = signature_alg(si, digest)?;
        let attrs =
            si.signed_attrs.as_ref().ok_or_else(|| rejected(Why::Unreadable, "CMS signer has no signed attributes"))?;
        let attr = |oid| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
        let message_digest = attr(ID_MESSAGE_DIGEST)
            .ok_or_else(|| rejected(Why::Unreadable, "no message-digest attribute"))?
            .decode_as::<OctetString>()
            .map_err(parse)?;
        if message_digest.as_bytes() != digest_parts(digest, parts) {
            return Err(rejected(Why::Altered, "CMS signature does not verify: the content's digest differs"));
        }
        let content_type = attr(ID_CONTENT_TYPE)
            .ok_or_else(|| rejected(Why::Unreadable, "no content-type attribute"))?
            .decode_as::<ObjectIdentifier>()
            .map_err(parse)?;
        if content_type != sd.encap_content_info.econtent_type {
            return Err(rejected(Why::Altered, "the content-type attribute differs from the content's type"));
        }
        let cert = signer_certificate(sd, si)?;
        // RFC 5652 §5.4: the signature is over the DER of the attributes as a SET OF.
        let signed = attrs.to_der().map_err(parse)?;
        verify_digest(
            &cert.tbs_certificate.subject_public_key_info,
            scheme,
            hash,
            &hash.digest(&signed),
            si.signature.as_bytes(),
        )
        .map_err(|e| rejected(Why::Altered, format!("CMS signature does not verify: {e}")))?;
        let tokens: Vec<_> = si
            .unsigned_attrs
            .iter()
            .flat_map(|a| a.iter())
            .filter(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
            .flat_map(|a| a.values.iter())
            .collect();
        let timestamp = match (usage, tokens.as_slice()) {
            (Usage::Document, [token]) => {
                match verify_timestamp(&token.to_der().map_err(parse)?, si.signature.as_bytes(), trust, now) {
                    Ok(t) => Some(t),
                    // A signer from a CA nobody here trusts is that first, whatever its
                    // time-stamp (which, from the same stranger, fails too) says.
                    Err(e) => match trust.verify_path(cert, &untrusted, now) {
                        Err(Error::Rejected(r)) if r.why == Why::UntrustedIssuer => return Err(Error::Rejected(r)),
                        _ => return Err(e),
                    },
                }
            }
            (Usage::Document, []) | (Usage::TimeStamping, _) => None,
            (Usage::Document, _) => return Err(rejected(Why::BadTimestamp, "more than one signature time-stamp")),
        };
        let at = timestamp.as_ref().map_or(now, |t| t.time);
        trust.verify_path(cert, &untrusted, at)?;
        match usage {
            Usage::Document => check_signer_usage(cert)?,
            Usage::TimeStamping => check_tsa_usage(cert)?,
        }
        if i == 0 {
            first_timestamp = timestamp;
        }
    }

    let si = &sd.signer_infos.0.as_slice()[0];
    let signer = signer_certificate(sd, si)?;
    let signer_der = signer.to_der().map_err(parse)?;
    let attrs =
        si.signed_attrs.as_ref().ok_or_else(|| rejected(Why::Unreadable, "CMS signer has no signed attributes"))?;
    check_ess_signing_certificate(attrs, &signer_der)?;
    let attr = |oid| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
    let signing_time = match attr(ID_SIGNING_TIME) {
        Some(t) => Some(x509_cert::time::Time::from_der(&t.to_der().map_err(parse)?).map_err(parse)?.to_system_time()),
        None => None,
    };
    let signer_cn = name_attribute(&signer.tbs_certificate.subject, rfc4519::COMMON_NAME)
        .ok_or_else(|| rejected(Why::Unreadable, "signer certificate has no common name"))?;
    Ok(VerifiedDetails { signer_cn, signer_certificate: signer_der, signing_time, timestamp: first_timestamp })
}

/// The ESS signing-certificate binding of the signer's certificate: v2 (RFC 5035 §3; its
/// hash SHA-256 unless it names another) or v1 (RFC 2634 §5.4, SHA-1).
fn check_ess_signing_certificate(attrs: &cms::signed_data::SignedAttributes, signer_der: &[u8]) -> Result<()> {
    let parse = |e: der::Error| rejected(Why::Unreadable, format!("not a DER CMS message: {e}"));
    let attr = |oid| attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.get(0));
    if let Some(v2) = attr(ID_AA_SIGNING_CERTIFICATE_V2) {
        let scv2 = v2.decode_as::<SigningCertificateV2>().map_err(parse)?;
        let first = scv2
            .certs
            .first()
            .ok_or_else(|| rejected(Why::Unreadable, "signing-certificate-v2 lists no certificate"))?;
        let hash = match &first.hash_algorithm {
            None => Hash::Sha256,
            Some(a) => digest_alg(a.oid)?,
        };
        if first.cert_hash.as_bytes() != hash.digest(signer_der) {
            return Err(rejected(
                Why::WrongCertificate,
                "signing-certificate-v2 does not match the signer's certificate",
            ));
        }
        return Ok(());
    }
    if let Some(v1) = attr(ID_AA_SIGNING_CERTIFICATE) {
        // SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, ... };
        // ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), ... }.
        let certs = v1.decode_as::<der::asn1::SequenceOf<der::Any, 8>>();
        let first_hash = certs
            .ok()
            .and_then(|s| s.get(0).cloned())
            .and_then(|seq| seq.decode_as::<der::asn1::SequenceOf<der::Any, 8>>().ok())
            .and_then(|ids| ids.get(0).cloned())
            .and_then(|id| id.decode_as::<der::asn1::SequenceOf<der::Any, 4>>().ok())
            .and_then(|fields| fields.get(0).and_then(|h| h.decode_as::<OctetString>().ok()))
            .ok_or_else(|| rejected(Why::Unreadable, "signing-certificate (v1) cannot be read"))?;
        if first_hash.as_bytes() != <sha1::Sha1 as sha2::Digest>::digest(signer_der).as_slice() {
            return Err(rejected(Why::WrongCertificate, "signing-certificate does not match the signer's certificate"));
        }
        return Ok(());
    }
    Err(rejected(Why::Unsupported, "not CAdES: no signing-certificate-v2 attribute"))
}

/// Verifies a signature time-stamp token (RFC 3161 §2.4.2) over `signature_value`: a
/// SignedData of TSTInfo whose message imprint is the digest of the signature value,
/// signed by a TSA whose certificate is for time-stamping and chains to a trusted root
/// at the token's genTime. Returns genTime.
pub fn verify_timestamp(
    token_der: &[u8],
    signature_value: &[u8],
    trust: &TrustStore,
    now: SystemTime,
) -> Result<VerifiedTimestamp> {
    verify_token(token_der, &[signature_value], trust, now).map_err(|e| match e {
        Error::Rejected(r) if r.detail.contains("imprint differs") => {
            rejected(Why::BadTimestamp, "the time-stamp is for another signature (its imprint differs)")
        }
        // Whatever is wrong inside it, it is the time-stamp that does not hold.
        e => reworded(e, "", Some(Why::BadTimestamp)),
    })
}

/// Verifies a document time-stamp (ETSI EN 319 142-1 §5.4.3, `/SubFilter
/// /ETSI.RFC3161`): an RFC 3161 token over the `parts` of the file its `/ByteRange`
/// names, as [`verify_timestamp`] checks one over a signature value.
pub fn verify_document_timestamp(token_der: &[u8], parts: &[&[u8]], trust: &TrustStore) -> Result<VerifiedTimestamp> {
    verify_token(token_der, parts, trust, SystemTime::now())
}

/// A token whose message imprint is the digest of `parts`, hashed as one stream.
fn verify_token(token_der: &[u8], parts: &[&[u8]], trust: &TrustStore, now: SystemTime) -> Result<VerifiedTimestamp> {
    let bad = |what: &'static str| {
        move |e: der::Error| rejected(Why::BadTimestamp, format!("the time-stamp token: {what}: {e}"))
    };
    let (_, sd) = signed_data(token_der).map_err(|e| reworded(e, "the time-stamp token: ", Some(Why::BadTimestamp)))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(rejected(Why::BadTimestamp, "the time-stamp token does not carry TSTInfo"));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| rejected(Why::BadTimestamp, "the time-stamp token is empty"))?;
    let tst_der = econtent.decode_as::<OctetString>().map_err(bad("TSTInfo"))?.into_bytes();
    let info = x509_tsp::TstInfo::from_der(&tst_der).map_err(bad("TSTInfo"))?;
    let hash = digest_alg(info.message_imprint.hash_algorithm.oid)?;
    if info.message_imprint.hashed_message.as_bytes() != digest_parts(hash, parts) {
        return Err(rejected(Why::Altered, "the time-stamp is for other data (its imprint differs)"));
    }
    let time = info.gen_time.to_system_time();
    if time > now + std::time::Duration::from_secs(300) {
        return Err(rejected(Why::BadTimestamp, "the time-stamp is in the future"));
    }
    let v = verify_signed_data(&sd, &[&tst_der], trust, Usage::TimeStamping, time)
        .map_err(|e| reworded(e, "the time-stamp token does not verify: ", None))?;
    Ok(VerifiedTimestamp { time, tsa_cn: v.signer_cn })
}

/// A TSA's certificate (RFC 3161 §2.3): the extended key usage id-kp-timeStamping, critical.
fn check_tsa_usage(cert: &Certificate) -> Result<()> {
    let critical = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .any(|e| e.extn_id == rfc5280::ID_CE_EXT_KEY_USAGE && e.critical);
    let eku: Option<ExtendedKeyUsage> = extension(cert, rfc5280::ID_CE_EXT_KEY_USAGE)?;
    if !critical || !eku.is_some_and(|eku| eku.0.contains(&rfc5280::ID_KP_TIME_STAMPING)) {
        return Err(rejected(
            Why::NotForSigning,
            "the TSA's certificate is not for time-stamping (critical extended key usage timeStamping)",
        ));
    }
    Ok(())
}
