//! The little a card driver needs from a certificate (RFC 5280 §4.1): the key
//! algorithm of the SubjectPublicKeyInfo and the holder's name fields.

use crate::card::HolderInfo;
use crate::error::{Error, Result};
use crate::signature::KeyAlgorithm;
use crate::tlv;
use x509_cert::der::oid::db::rfc4519::{CN, COUNTRY_NAME as COUNTRY, GIVEN_NAME, SERIAL_NUMBER, SN as SURNAME};
use x509_cert::der::oid::db::rfc5912::{
    ID_EC_PUBLIC_KEY as EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1 as SECP256R1, SECP_384_R_1 as SECP384R1,
};
use x509_cert::der::{oid::ObjectIdentifier, Decode};
use x509_cert::Certificate;

fn parse(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::BadCertificate(e.to_string()))
}

/// The key algorithm of the certificate's subject public key (RFC 5280 §4.1.2.7).
pub fn key_algorithm(der: &[u8]) -> Result<KeyAlgorithm> {
    let cert = parse(der)?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid == RSA_ENCRYPTION {
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1)
        let raw = spki.subject_public_key.raw_bytes();
        let (seq, _) = tlv::parse_one(raw)?;
        let modulus = seq.children()?.into_iter().next().ok_or(Error::BadCertificate("empty RSA key".into()))?;
        let n = modulus.value.iter().skip_while(|b| **b == 0).count();
        return Ok(KeyAlgorithm::Rsa { bits: (n * 8) as u32 });
    }
    if spki.algorithm.oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or(Error::BadCertificate("EC key without a named curve".into()))?;
        return match curve {
            c if c == SECP256R1 => Ok(KeyAlgorithm::EcP256),
            c if c == SECP384R1 => Ok(KeyAlgorithm::EcP384),
            _ => Err(Error::Unsupported("EC curve other than P-256 and P-384")),
        };
    }
    Err(Error::Unsupported("key algorithm other than RSA and EC"))
}

/// The holder's name fields from the subject (RFC 5280 §4.1.2.6, X.520 attributes).
pub fn holder(der: &[u8]) -> Result<HolderInfo> {
    let cert = parse(der)?;
    let mut h = HolderInfo::default();
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            let text = String::from_utf8_lossy(atv.value.value()).into_owned();
            let slot = match atv.oid {
                o if o == CN => &mut h.common_name,
                o if o == SURNAME => &mut h.surname,
                o if o == GIVEN_NAME => &mut h.given_name,
                o if o == SERIAL_NUMBER => &mut h.personal_code,
                o if o == COUNTRY => &mut h.country,
                _ => continue,
            };
            *slot = Some(text);
        }
    }
    Ok(h)
}

/// What a certificate's key may be used for, as mohur tells an authentication key from
/// a signing key (RFC 5280 §4.2.1.3 keyUsage, §4.2.1.12 extKeyUsage).
///
/// A key is an **authentication key** if its certificate names TLS client
/// authentication (`id-kp-clientAuth`), or has `digitalSignature` without
/// `nonRepudiation` (`contentCommitment`): such a key logs its holder in, and a
/// signature over a value a web page computed could be a login to another site. A
/// certificate without keyUsage allows every use, so its key is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUses {
    /// The key logs the holder in (clientAuth, or digitalSignature alone).
    pub authentication: bool,
    /// The key makes non-repudiation (qualified, document) signatures.
    pub non_repudiation: bool,
}

/// The [`KeyUses`] of the certificate `der`.
pub fn key_uses(der: &[u8]) -> Result<KeyUses> {
    use x509_cert::der::oid::db::rfc5280::ID_KP_CLIENT_AUTH;
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};
    let cert = parse(der)?;
    let tbs = &cert.tbs_certificate;
    let bad = |e: x509_cert::der::Error| Error::BadCertificate(e.to_string());
    let client_auth =
        tbs.get::<ExtendedKeyUsage>().map_err(bad)?.is_some_and(|(_, eku)| eku.0.contains(&ID_KP_CLIENT_AUTH));
    Ok(match tbs.get::<KeyUsage>().map_err(bad)? {
        None => KeyUses { authentication: true, non_repudiation: true },
        Some((_, ku)) => KeyUses {
            authentication: client_auth || (ku.digital_signature() && !ku.non_repudiation()),
            non_repudiation: ku.non_repudiation(),
        },
    })
}

/// The DER of the certificate's SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): two
/// certificates with the same one certify the same key.
pub fn public_key_info(der: &[u8]) -> Result<Vec<u8>> {
    use x509_cert::der::Encode;
    parse(der)?.tbs_certificate.subject_public_key_info.to_der().map_err(|e| Error::BadCertificate(e.to_string()))
}
