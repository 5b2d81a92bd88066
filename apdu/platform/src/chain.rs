//! Signature checks of what an X.509 issuer signs: one link of a certificate chain
//! (RFC 5280 §6.1.3 (a)(1)), a CRL (§5.1.1.2), an OCSP response (RFC 6960 §4.2.1), and a
//! signature over a digest with a certificate's key.
//!
//! RustCrypto (RSA PKCS#1 v1.5 and PSS, ECDSA P-256/P-384), so that the same code runs on
//! Linux and Windows and in builds without OpenSSL: the installer checks its CA bundle
//! with it, the agent its TLS certificates, signed documents, CRLs and OCSP answers, and
//! `mohur doctor` a card's chain.

use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

// The OIDs by their RFC names (const-oid's database: RFC 5912 algorithms and curves).
use x509_cert::der::oid::db::rfc5912::{
    ECDSA_WITH_SHA_256 as ECDSA_SHA256, ECDSA_WITH_SHA_384 as ECDSA_SHA384, ECDSA_WITH_SHA_512 as ECDSA_SHA512,
    ID_EC_PUBLIC_KEY as EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1 as P256, SECP_384_R_1 as P384,
    SHA_256_WITH_RSA_ENCRYPTION as RSA_SHA256, SHA_384_WITH_RSA_ENCRYPTION as RSA_SHA384,
    SHA_512_WITH_RSA_ENCRYPTION as RSA_SHA512,
};

/// Whether the key of `issuer_der` verifies the signature of `cert_der` (both DER).
pub fn verify_issued_by(cert_der: &[u8], issuer_der: &[u8]) -> Result<(), String> {
    let cert = Certificate::from_der(cert_der).map_err(|e| format!("certificate: {e}"))?;
    let issuer = Certificate::from_der(issuer_der).map_err(|e| format!("issuer: {e}"))?;
    verify_signature(&cert, &issuer)
}

/// Verifies `cert`'s signature with `issuer`'s public key.
pub fn verify_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let sig = cert.signature.as_bytes().ok_or("signature BIT STRING has unused bits")?;
    verify_signed(&tbs, cert.signature_algorithm.oid, sig, issuer)
}

/// Verifies a signature `sig` by `issuer`'s key over the DER `tbs` of a certificate or a
/// CRL (RFC 5280 §4.1.1.2, §5.1.1.2), made with the signature algorithm `algorithm`.
pub fn verify_signed(tbs: &[u8], algorithm: ObjectIdentifier, sig: &[u8], issuer: &Certificate) -> Result<(), String> {
    let (scheme, hash) = match algorithm {
        RSA_SHA256 => (Scheme::RsaPkcs1, HashAlg::Sha256),
        RSA_SHA384 => (Scheme::RsaPkcs1, HashAlg::Sha384),
        RSA_SHA512 => (Scheme::RsaPkcs1, HashAlg::Sha512),
        ECDSA_SHA256 => (Scheme::Ecdsa, HashAlg::Sha256),
        ECDSA_SHA384 => (Scheme::Ecdsa, HashAlg::Sha384),
        ECDSA_SHA512 => (Scheme::Ecdsa, HashAlg::Sha512),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    verify_digest(&issuer.tbs_certificate.subject_public_key_info, scheme, hash, &hash.digest(tbs), sig)
}

/// The hash a signature was made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// How a signature is made over a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with the DigestInfo of the hash.
    RsaPkcs1,
    /// RSASSA-PSS (RFC 8017 §8.1), MGF1 with the same hash and a salt as long as it
    /// (RFC 7518 §3.5, RFC 4055 §3.1).
    RsaPss,
    /// ECDSA (FIPS 186-4), the signature a DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3).
    Ecdsa,
}

/// Verifies `sig` over `digest` (the `hash` of the signed data) with the public key in
/// `spki`: RSA, or ECDSA on P-256 or P-384. RustCrypto, so that the same check runs on
/// Windows and in builds without OpenSSL.
pub fn verify_digest(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    scheme: Scheme,
    hash: HashAlg,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let key = spki.subject_public_key.as_bytes().ok_or("public key BIT STRING has unused bits")?;
    if scheme != Scheme::Ecdsa {
        use rsa::pkcs1::DecodeRsaPublicKey;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err("RSA signature but the key is not RSA".into());
        }
        let pk = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|e| format!("RSA key: {e}"))?;
        let checked = match (scheme, hash) {
            (Scheme::RsaPkcs1, HashAlg::Sha256) => pk.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, sig),
            (Scheme::RsaPkcs1, HashAlg::Sha384) => pk.verify(rsa::Pkcs1v15Sign::new::<Sha384>(), digest, sig),
            (Scheme::RsaPkcs1, _) => pk.verify(rsa::Pkcs1v15Sign::new::<Sha512>(), digest, sig),
            (_, HashAlg::Sha256) => pk.verify(rsa::Pss::new::<Sha256>(), digest, sig),
            (_, HashAlg::Sha384) => pk.verify(rsa::Pss::new::<Sha384>(), digest, sig),
            (_, _) => pk.verify(rsa::Pss::new::<Sha512>(), digest, sig),
        };
        return checked.map_err(|_| "bad RSA signature".to_string());
    }
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return Err("ECDSA signature but the key is not EC".into());
    }
    let curve: ObjectIdentifier = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or("EC key without namedCurve")?
        .decode_as()
        .map_err(|e| format!("EC parameters: {e}"))?;
    let bad = |_| "bad ECDSA signature".to_string();
    match curve {
        P256 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| format!("P-256 key: {e}"))?;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| format!("ECDSA signature: {e}"))?;
            vk.verify_prehash(digest, &s).map_err(bad)
        }
        P384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| format!("P-384 key: {e}"))?;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|e| format!("ECDSA signature: {e}"))?;
            vk.verify_prehash(digest, &s).map_err(bad)
        }
        other => Err(format!("unsupported curve {other}")),
    }
}
