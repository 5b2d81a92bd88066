//! What a card signs, and the encodings around it: PKCS#1 v1.5 DigestInfo
//! (RFC 8017 §9.2) and ECDSA signatures (raw `r ‖ s` vs. DER, RFC 3279 §2.2.3).

use crate::error::{Error, Result};
use crate::tlv;

/// Hash functions a caller may have used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-1 (legacy; only for reading old signatures).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha224 => 28,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
    /// The DER prefix of the DigestInfo for this hash (RFC 8017 §9.2, note 1).
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashAlg::Sha1 => {
                &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]
            }
            HashAlg::Sha224 => &[
                0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00,
                0x04, 0x1c,
            ],
            HashAlg::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
                0x04, 0x20,
            ],
            HashAlg::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
                0x04, 0x30,
            ],
            HashAlg::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
                0x04, 0x40,
            ],
        }
    }
    /// The DigestInfo for `digest`.
    pub fn digest_info(self, digest: &[u8]) -> Result<Vec<u8>> {
        if digest.len() != self.output_len() {
            return Err(Error::Unsupported("digest length does not match the hash"));
        }
        Ok([self.digest_info_prefix(), digest].concat())
    }
}

/// The algorithm of a key on a card, from its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA with the modulus length in bits.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// ECDSA on NIST P-256 (secp256r1).
    EcP256,
    /// ECDSA on NIST P-384 (secp384r1).
    EcP384,
}

impl KeyAlgorithm {
    /// Size of one ECDSA coordinate / of the RSA modulus, in bytes.
    pub fn field_len(self) -> usize {
        match self {
            KeyAlgorithm::Rsa { bits } => (bits as usize).div_ceil(8),
            KeyAlgorithm::EcP256 => 32,
            KeyAlgorithm::EcP384 => 48,
        }
    }
    /// True for ECDSA keys.
    pub fn is_ec(self) -> bool {
        !matches!(self, KeyAlgorithm::Rsa { .. })
    }
}

/// What to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInput {
    /// A digest made with `alg`: RSA keys sign its PKCS#1 v1.5 DigestInfo, EC keys
    /// sign the digest itself (ECDSA).
    Digest {
        /// The hash function used.
        alg: HashAlg,
        /// The digest.
        digest: Vec<u8>,
    },
    /// RSA: a DigestInfo (or any data up to k−11 bytes) to PKCS#1 v1.5 pad and sign
    /// (the input of PKCS#11 `CKM_RSA_PKCS`). EC: a raw hash (`CKM_ECDSA`).
    Raw(Vec<u8>),
    /// RSA only: an already padded block of exactly the modulus length (`CKM_RSA_X_509`,
    /// used to build PSS signatures).
    RsaRawBlock(Vec<u8>),
}

/// PKCS#1 v1.5 signature padding, EMSA-PKCS1-v1_5 type 01 (RFC 8017 §9.2 step 5).
pub fn pkcs1_v15_pad(t: &[u8], k: usize) -> Result<Vec<u8>> {
    if t.len() + 11 > k {
        return Err(Error::Unsupported("data too long for the RSA modulus"));
    }
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(k - t.len() - 1, 0xFF);
    em.push(0x00);
    em.extend_from_slice(t);
    Ok(em)
}

/// Prepares the bytes an ECDSA card signs: the hash, cut to the field size
/// (FIPS 186-5 §6.4.1 uses the leftmost bits of the hash).
pub fn ecdsa_input(hash: &[u8], field_len: usize) -> Vec<u8> {
    hash[..hash.len().min(field_len)].to_vec()
}

/// Converts a DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3) to `r ‖ s` of `field_len` each.
pub fn ecdsa_der_to_raw(der: &[u8], field_len: usize) -> Result<Vec<u8>> {
    let (seq, _) = tlv::parse_one(der)?;
    if seq.tag != 0x30 {
        return Err(Error::UnexpectedResponse("ECDSA signature is not a SEQUENCE"));
    }
    let parts = seq.children()?;
    if parts.len() != 2 || parts.iter().any(|p| p.tag != 0x02) {
        return Err(Error::UnexpectedResponse("ECDSA signature is not two INTEGERs"));
    }
    let mut out = Vec::with_capacity(2 * field_len);
    for p in parts {
        let v = strip_leading_zeros(p.value);
        if v.len() > field_len {
            return Err(Error::UnexpectedResponse("ECDSA integer longer than the field"));
        }
        out.resize(out.len() + field_len - v.len(), 0);
        out.extend_from_slice(v);
    }
    Ok(out)
}

/// Converts `r ‖ s` to a DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3).
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::UnexpectedResponse("raw ECDSA signature of odd length"));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::with_capacity(raw.len() + 8);
    for half in [r, s] {
        let v = strip_leading_zeros(half);
        let mut int = Vec::with_capacity(v.len() + 1);
        if v.is_empty() || v[0] & 0x80 != 0 {
            int.push(0);
        }
        int.extend_from_slice(v);
        tlv::encode_into(0x02, &int, &mut body);
    }
    Ok(tlv::encode(0x30, &body))
}

fn strip_leading_zeros(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|b| **b == 0).count();
    &v[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_pkcs1() {
        let t = HashAlg::Sha256.digest_info(&[7; 32]).unwrap();
        let em = pkcs1_v15_pad(&t, 256).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(&em[..3], &[0, 1, 0xFF]);
        assert_eq!(em[256 - t.len() - 1], 0);
        assert!(pkcs1_v15_pad(&[0; 250], 256).is_err());
    }

    #[test]
    fn ecdsa_round_trip() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[1] = 1;
        raw[33] = 5;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(ecdsa_der_to_raw(&der, 32).unwrap(), raw);
        assert!(ecdsa_der_to_raw(&der, 16).is_err());
        assert!(ecdsa_der_to_raw(&[0x30, 0], 32).is_err());
    }
}
