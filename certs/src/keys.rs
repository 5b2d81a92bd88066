//! The test PKI's private keys (RSA, ECDSA P-256 and P-384, RustCrypto), in the
//! PKCS#8 PEM files the peers read, and their signatures as a certificate issuer.

use crate::{Error, KeyAlg};
use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::BitString;
use der::{Any, Decode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding, PrivateKeyInfo};
use rand_core::OsRng;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

/// A private key of the test PKI.
#[derive(Clone)]
#[non_exhaustive]
pub enum PrivateKey {
    /// RSA (2048 bits for the root and the PIV holder), e = 65537.
    Rsa(Box<RsaPrivateKey>),
    /// ECDSA on NIST P-256.
    P256(p256::SecretKey),
    /// ECDSA on NIST P-384.
    P384(p384::SecretKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey::Rsa(..)",
            PrivateKey::P256(_) => "PrivateKey::P256(..)",
            PrivateKey::P384(_) => "PrivateKey::P384(..)",
        })
    }
}

impl PrivateKey {
    /// A fresh key of `alg`.
    pub fn generate(alg: KeyAlg) -> Result<PrivateKey, Error> {
        Ok(match alg {
            KeyAlg::Rsa2048 => PrivateKey::rsa(2048)?,
            KeyAlg::P256 => PrivateKey::P256(p256::SecretKey::random(&mut OsRng)),
            KeyAlg::P384 => PrivateKey::P384(p384::SecretKey::random(&mut OsRng)),
        })
    }

    /// A fresh RSA key of `bits`.
    pub fn rsa(bits: usize) -> Result<PrivateKey, Error> {
        Ok(PrivateKey::Rsa(Box::new(RsaPrivateKey::new(&mut OsRng, bits)?)))
    }

    /// A key from a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, RFC 5958), RSA or
    /// EC on P-256 or P-384 by its algorithm identifier.
    pub fn from_pkcs8_pem(pem: &str) -> Result<PrivateKey, Error> {
        let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).map_err(der::Error::from)?;
        let der = Zeroizing::new(der);
        if label != "PRIVATE KEY" {
            return Err(Error::Key(format!("a PKCS#8 key is a PRIVATE KEY, not a {label}")));
        }
        let info = PrivateKeyInfo::from_der(&der)?;
        let alg = info.algorithm;
        if alg.oid == rfc5912::RSA_ENCRYPTION {
            return Ok(PrivateKey::Rsa(Box::new(RsaPrivateKey::from_pkcs8_der(&der)?)));
        }
        if alg.oid == rfc5912::ID_EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = alg.parameters_oid().map_err(pkcs8::Error::from)?;
            if curve == rfc5912::SECP_256_R_1 {
                return Ok(PrivateKey::P256(p256::SecretKey::from_pkcs8_der(&der)?));
            }
            if curve == rfc5912::SECP_384_R_1 {
                return Ok(PrivateKey::P384(p384::SecretKey::from_pkcs8_der(&der)?));
            }
            return Err(Error::Key(format!("EC curve {curve} is not P-256 or P-384")));
        }
        Err(Error::Key(format!("key algorithm {} is not RSA or EC", alg.oid)))
    }

    /// The key as PKCS#8 PEM (LF line ends), as OpenSSL writes it.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, Error> {
        Ok(match self {
            PrivateKey::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF)?,
            PrivateKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF)?,
            PrivateKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF)?,
        })
    }

    /// The public key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    pub fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_public_key().to_public_key_der()?,
            PrivateKey::P256(k) => k.public_key().to_public_key_der()?,
            PrivateKey::P384(k) => k.public_key().to_public_key_der()?,
        };
        Ok(doc.as_bytes().to_vec())
    }

    pub(crate) fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, Error> {
        Ok(SubjectPublicKeyInfoOwned::from_der(&self.public_key_der()?)?)
    }

    /// True for EC keys (their authentication certificates also allow key agreement).
    pub fn is_ec(&self) -> bool {
        !matches!(self, PrivateKey::Rsa(_))
    }

    /// The signature algorithm this key signs certificates with: SHA-256 with RSA
    /// (RFC 4055 §5), ECDSA with SHA-256 on P-256 and SHA-384 on P-384 (RFC 5758 §3.2).
    pub(crate) fn signature_algorithm(&self) -> Result<AlgorithmIdentifierOwned, Error> {
        Ok(match self {
            PrivateKey::Rsa(_) => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                // RFC 4055 §5: the parameters are NULL.
                parameters: Some(Any::from(der::asn1::Null)),
            },
            PrivateKey::P256(_) => AlgorithmIdentifierOwned { oid: rfc5912::ECDSA_WITH_SHA_256, parameters: None },
            PrivateKey::P384(_) => AlgorithmIdentifierOwned { oid: rfc5912::ECDSA_WITH_SHA_384, parameters: None },
        })
    }

    /// Signs `tbs` (a DER TBSCertificate) with [`PrivateKey::signature_algorithm`]:
    /// PKCS#1 v1.5 for RSA, DER `ECDSA-Sig-Value` for EC.
    pub(crate) fn sign(&self, tbs: &[u8]) -> Result<BitString, Error> {
        let signature = match self {
            PrivateKey::Rsa(k) => k.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(tbs))?,
            PrivateKey::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k).try_sign(tbs)?;
                sig.to_der().as_bytes().to_vec()
            }
            PrivateKey::P384(k) => {
                use p384::ecdsa::signature::Signer;
                // SigningKey<NistP384> hashes with SHA-384, its curve's digest.
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k).try_sign(tbs)?;
                sig.to_der().as_bytes().to_vec()
            }
        };
        Ok(BitString::from_bytes(&signature)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_to_pem_and_back() {
        for alg in [KeyAlg::P256, KeyAlg::P384, KeyAlg::Rsa2048] {
            let key = PrivateKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem().unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg:?}");
            let again = PrivateKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(again.public_key_der().unwrap(), key.public_key_der().unwrap(), "{alg:?}");
        }
    }

    #[test]
    fn other_pem_is_refused() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(PrivateKey::from_pkcs8_pem(pem), Err(Error::Key(_))));
        assert!(PrivateKey::from_pkcs8_pem("garbage").is_err());
    }
}
