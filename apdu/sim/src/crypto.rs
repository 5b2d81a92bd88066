//! The card's private-key operations, with RustCrypto (so that the simulator also runs
//! inside `mohur.exe demo` on Windows): the keys are the test PKI's
//! ([`mohur_certs::PrivateKey`]).

use crate::state::{from_hex, KeySlot};
use crate::{Error, Result};
use mohur_certs::PrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign};

/// Parses a PKCS#8 PEM key, each text once per process: RustCrypto checks an RSA key
/// as it parses it (tens of milliseconds unoptimised), and tests make thousands of
/// cards from a few keys. At most 64 keys are kept.
fn parse_once(pem: &str) -> Result<PrivateKey> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PARSED: OnceLock<Mutex<HashMap<String, PrivateKey>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(Default::default);
    if let Some(key) = parsed.lock().unwrap_or_else(|p| p.into_inner()).get(pem) {
        return Ok(key.clone());
    }
    let key = PrivateKey::from_pkcs8_pem(pem)?;
    let mut parsed = parsed.lock().unwrap_or_else(|p| p.into_inner());
    if parsed.len() >= 64 {
        parsed.clear();
    }
    parsed.insert(pem.to_owned(), key.clone());
    Ok(key)
}

/// A key slot with its key parsed.
pub struct LoadedKey {
    /// The card's key reference.
    pub id: u8,
    /// The private key.
    pub key: PrivateKey,
    /// DER certificate.
    pub cert: Vec<u8>,
}

impl LoadedKey {
    /// Parses a stored slot.
    pub fn load(slot: &KeySlot) -> Result<LoadedKey> {
        let key = parse_once(&slot.key_pem)?;
        let cert =
            from_hex(&slot.cert_hex).ok_or_else(|| Error::BadState(format!("certificate of key {:02X}", slot.id)))?;
        Ok(LoadedKey { id: slot.id, key, cert })
    }

    /// True for RSA keys.
    pub fn is_rsa(&self) -> bool {
        matches!(self.key, PrivateKey::Rsa(_))
    }

    /// Modulus (RSA) or coordinate (EC) length in bytes.
    pub fn field_len(&self) -> usize {
        match &self.key {
            PrivateKey::Rsa(k) => k.size(),
            PrivateKey::P256(_) => 32,
            PrivateKey::P384(_) => 48,
            _ => 0,
        }
    }

    /// Bits of the key (2048, 256, 384).
    pub fn bits(&self) -> u32 {
        (self.field_len() * 8) as u32
    }

    /// RSA private operation on a block of exactly the modulus size (no padding), as
    /// a PIV card does it: the host pads.
    pub fn rsa_raw(&self, block: &[u8]) -> Option<Vec<u8>> {
        let PrivateKey::Rsa(k) = &self.key else { return None };
        if block.len() != k.size() {
            return None;
        }
        let m = BigUint::from_bytes_be(block);
        if &m >= k.n() {
            return None;
        }
        let c = rsa::hazmat::rsa_decrypt_and_check(&**k, Some(&mut rand_core::OsRng), &m).ok()?;
        let out = c.to_bytes_be();
        // Left-padded to the modulus size, as the card answers.
        Some([vec![0; k.size() - out.len()], out].concat())
    }

    /// RSA PKCS#1 v1.5 signature over a DigestInfo the card pads itself.
    pub fn rsa_pkcs1(&self, digest_info: &[u8]) -> Option<Vec<u8>> {
        let PrivateKey::Rsa(k) = &self.key else { return None };
        k.sign(Pkcs1v15Sign::new_unprefixed(), digest_info).ok()
    }

    /// ECDSA over a hash (as X9.62 takes it: an integer from its leftmost bits);
    /// `(DER, r ‖ s)`.
    pub fn ecdsa(&self, hash: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        // RustCrypto wants at least half a field of hash; a shorter one stands for the
        // same integer with zeros in front.
        let n = self.field_len();
        let prehash =
            if hash.len() < n / 2 { [vec![0; n - hash.len()], hash.to_vec()].concat() } else { hash.to_vec() };
        match &self.key {
            PrivateKey::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k).sign_prehash(&prehash).ok()?;
                Some((sig.to_der().as_bytes().to_vec(), sig.to_bytes().to_vec()))
            }
            PrivateKey::P384(k) => {
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k).sign_prehash(&prehash).ok()?;
                Some((sig.to_der().as_bytes().to_vec(), sig.to_bytes().to_vec()))
            }
            _ => None,
        }
    }
}
