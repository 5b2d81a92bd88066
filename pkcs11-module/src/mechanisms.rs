//! The signature mechanisms (PKCS#11 v2.40 current mechanisms §2.1 RSA, §2.3 ECDSA):
//! which key each needs, the hash it applies, and EMSA-PSS (RFC 8017 §9.1.1) with
//! MGF1 (RFC 8017 §B.2.1), built here and signed by the card as a raw RSA block.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::HashAlg;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Every mechanism the module may advertise, in the order C_GetMechanismList lists them.
pub const ALL: [CK_MECHANISM_TYPE; 10] = [
    CKM_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_ECDSA,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
];

/// What a mechanism asks of the key and the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mech {
    /// RSA (true) or ECDSA (false).
    pub rsa: bool,
    /// The hash the module applies to the data (the `CKM_SHAx_*` mechanisms).
    pub hash: Option<HashAlg>,
    /// RSA-PSS: needs [`mohur_apdu::SmartCard::supports_raw_rsa`].
    pub pss: bool,
}

/// The description of `m`, `None` for mechanisms the module does not sign with.
pub fn describe(m: CK_MECHANISM_TYPE) -> Option<Mech> {
    let (rsa, hash, pss) = match m {
        CKM_RSA_PKCS => (true, None, false),
        CKM_SHA256_RSA_PKCS => (true, Some(HashAlg::Sha256), false),
        CKM_SHA384_RSA_PKCS => (true, Some(HashAlg::Sha384), false),
        CKM_SHA512_RSA_PKCS => (true, Some(HashAlg::Sha512), false),
        CKM_RSA_PKCS_PSS => (true, None, true),
        CKM_SHA256_RSA_PKCS_PSS => (true, Some(HashAlg::Sha256), true),
        CKM_ECDSA => (false, None, false),
        CKM_ECDSA_SHA256 => (false, Some(HashAlg::Sha256), false),
        CKM_ECDSA_SHA384 => (false, Some(HashAlg::Sha384), false),
        CKM_ECDSA_SHA512 => (false, Some(HashAlg::Sha512), false),
        _ => return None,
    };
    Some(Mech { rsa, hash, pss })
}

/// The mechanisms for a key: RSA or EC; PSS only when the card signs raw RSA blocks.
pub fn for_key(rsa: bool, raw_rsa: bool) -> impl Iterator<Item = CK_MECHANISM_TYPE> {
    ALL.into_iter().filter(move |m| describe(*m).is_some_and(|d| d.rsa == rsa && (!d.pss || raw_rsa)))
}

/// An incremental hash for C_SignUpdate (PKCS#11 v2.40 §5.11).
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-384.
    Sha384(Sha384),
    /// SHA-512.
    Sha512(Sha512),
}

impl Hasher {
    /// A fresh hash of `alg` (SHA-256, -384 or -512).
    pub fn new(alg: HashAlg) -> Result<Hasher> {
        Ok(match alg {
            HashAlg::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(Sha512::new()),
            _ => return Err(Ck(CKR_MECHANISM_INVALID)),
        })
    }
    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }
    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The hash of `data` with `alg`.
pub fn digest(alg: HashAlg, data: &[u8]) -> Result<Vec<u8>> {
    let mut h = Hasher::new(alg)?;
    h.update(data);
    Ok(h.finish())
}

/// `CKM_SHAx` of a `CK_RSA_PKCS_PSS_PARAMS.hashAlg`.
pub fn hash_of_mechanism(m: CK_MECHANISM_TYPE) -> Option<HashAlg> {
    match m {
        CKM_SHA256 => Some(HashAlg::Sha256),
        CKM_SHA384 => Some(HashAlg::Sha384),
        CKM_SHA512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// `CKG_MGF1_SHAx` of a `CK_RSA_PKCS_PSS_PARAMS.mgf`.
pub fn hash_of_mgf(m: CK_RSA_PKCS_MGF_TYPE) -> Option<HashAlg> {
    match m {
        CKG_MGF1_SHA256 => Some(HashAlg::Sha256),
        CKG_MGF1_SHA384 => Some(HashAlg::Sha384),
        CKG_MGF1_SHA512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// Validated `CK_RSA_PKCS_PSS_PARAMS` (PKCS#11 v2.40 current mechanisms §2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pss {
    /// Hash of the message (`hashAlg`).
    pub hash: HashAlg,
    /// Hash of MGF1 (`mgf`).
    pub mgf: HashAlg,
    /// Salt length in bytes (`sLen`).
    pub salt_len: usize,
}

impl Pss {
    /// Checks the parameters against the mechanism and the modulus (RFC 8017
    /// §9.1.1 step 3: `emLen ≥ hLen + sLen + 2`).
    pub fn new(params: &CK_RSA_PKCS_PSS_PARAMS, mech: &Mech, mod_bits: usize) -> Result<Pss> {
        let bad = Ck(CKR_MECHANISM_PARAM_INVALID);
        let hash = hash_of_mechanism(params.hashAlg).ok_or(bad)?;
        let mgf = hash_of_mgf(params.mgf).ok_or(bad)?;
        if mech.hash.is_some_and(|h| h != hash) {
            return Err(bad);
        }
        let salt_len = params.sLen as usize;
        if em_len(mod_bits) < hash.output_len() + salt_len + 2 {
            return Err(bad);
        }
        Ok(Pss { hash, mgf, salt_len })
    }
}

fn em_len(mod_bits: usize) -> usize {
    mod_bits.saturating_sub(1).div_ceil(8)
}

/// MGF1 (RFC 8017 §B.2.1): `len` bytes from `seed`.
fn mgf1(alg: HashAlg, seed: &[u8], len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut h = Hasher::new(alg)?;
        h.update(seed);
        h.update(&counter.to_be_bytes());
        out.extend(h.finish());
        counter += 1;
    }
    out.truncate(len);
    Ok(out)
}

/// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of the message hash `m_hash` with `salt`, for a
/// modulus of `mod_bits`: the block of the modulus length (a leading zero byte when
/// `emLen` is one shorter) that the card raises to the private exponent.
pub fn pss_encode(p: &Pss, m_hash: &[u8], salt: &[u8], mod_bits: usize) -> Result<Vec<u8>> {
    let h_len = p.hash.output_len();
    if m_hash.len() != h_len {
        return Err(Ck(CKR_DATA_LEN_RANGE));
    }
    let em_bits = mod_bits - 1;
    let em_len = em_len(mod_bits);
    if salt.len() != p.salt_len || em_len < h_len + salt.len() + 2 {
        return Err(Ck(CKR_MECHANISM_PARAM_INVALID));
    }
    // M' = 8 zero bytes ‖ mHash ‖ salt; H = Hash(M') (steps 5–6).
    let mut h = Hasher::new(p.hash)?;
    h.update(&[0u8; 8]);
    h.update(m_hash);
    h.update(salt);
    let h = h.finish();
    // DB = PS ‖ 01 ‖ salt, masked with MGF(H) (steps 7–10).
    let db_len = em_len - h_len - 1;
    let mut db = vec![0u8; db_len - salt.len() - 1];
    db.push(0x01);
    db.extend_from_slice(salt);
    for (d, m) in db.iter_mut().zip(mgf1(p.mgf, &h, db_len)?) {
        *d ^= m;
    }
    // Clear the leftmost 8·emLen − emBits bits (step 11); EM = maskedDB ‖ H ‖ BC.
    db[0] &= 0xFF >> (8 * em_len - em_bits);
    let k = mod_bits.div_ceil(8);
    let mut em = vec![0u8; k - em_len];
    em.extend(db);
    em.extend(h);
    em.push(0xBC);
    Ok(em)
}

/// `n` random bytes from the operating system (the PSS salt).
pub fn random(n: usize) -> Result<Vec<u8>> {
    let mut salt = vec![0u8; n];
    getrandom::fill(&mut salt).map_err(|_| Ck(CKR_FUNCTION_FAILED))?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pss_block_has_the_rfc_8017_shape() {
        let p = Pss { hash: HashAlg::Sha256, mgf: HashAlg::Sha256, salt_len: 32 };
        let em = pss_encode(&p, &[7; 32], &[9; 32], 2048).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(em[255], 0xBC);
        assert_eq!(em[0] & 0x80, 0, "emBits = 2047");
        // Unmask DB and find PS ‖ 01 ‖ salt.
        let (masked, rest) = em.split_at(256 - 33);
        let mut db: Vec<u8> =
            masked.iter().zip(mgf1(HashAlg::Sha256, &rest[..32], masked.len()).unwrap()).map(|(a, b)| a ^ b).collect();
        db[0] &= 0x7F;
        assert!(db[..db.len() - 33].iter().all(|b| *b == 0));
        assert_eq!(db[db.len() - 33], 1);
        assert_eq!(&db[db.len() - 32..], &[9; 32]);
        // A 2049-bit modulus: emLen 256 in a 257-byte block.
        assert_eq!(pss_encode(&p, &[7; 32], &[9; 32], 2049).unwrap()[0], 0);
        assert!(pss_encode(&p, &[7; 31], &[9; 32], 2048).is_err());
    }

    fn hex(s: &str) -> Vec<u8> {
        if s == "-" {
            return Vec::new();
        }
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Known answers from OpenSSL (tests/vectors/make-emsa-pss.sh): its RSASSA-PSS
    /// signatures opened with the public key give EM; the same hash and salt encode to
    /// the same EM here, byte for byte.
    #[test]
    fn pss_encoding_matches_openssls() {
        let vectors = include_str!("../tests/vectors/emsa-pss.txt");
        let alg = |name: &str| match name {
            "SHA-256" => HashAlg::Sha256,
            "SHA-384" => HashAlg::Sha384,
            "SHA-512" => HashAlg::Sha512,
            other => panic!("unknown hash {other}"),
        };
        let mut seen = 0;
        for line in vectors.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [bits, hash, mgf, salt_len, m_hash, salt, em] = f[..] else { panic!("bad line {line}") };
            let p = Pss { hash: alg(hash), mgf: alg(mgf), salt_len: salt_len.parse().unwrap() };
            let got = pss_encode(&p, &hex(m_hash), &hex(salt), bits.parse().unwrap()).unwrap();
            assert_eq!(got, hex(em), "{bits}-bit {hash} salt {salt_len}");
            seen += 1;
        }
        assert_eq!(seen, 6);
    }

    #[test]
    fn mechanisms_per_key() {
        let rsa: Vec<_> = for_key(true, false).collect();
        assert!(rsa.contains(&CKM_SHA512_RSA_PKCS) && !rsa.contains(&CKM_RSA_PKCS_PSS));
        assert_eq!(for_key(true, true).count(), 6);
        assert_eq!(for_key(false, true).count(), 4);
    }
}
