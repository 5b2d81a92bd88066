//! The card's private-key operations, with OpenSSL.

use crate::state::{from_hex, KeySlot};
use crate::{Error, Result};
use openssl::bn::BigNumContext;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Padding;

/// A key slot with its key parsed.
pub struct LoadedKey {
    /// The card's key reference.
    pub id: u8,
    /// The private key.
    pub pkey: PKey<Private>,
    /// DER certificate.
    pub cert: Vec<u8>,
}

impl LoadedKey {
    /// Parses a stored slot.
    pub fn load(slot: &KeySlot) -> Result<LoadedKey> {
        let pkey = PKey::private_key_from_pem(slot.key_pem.as_bytes())?;
        let cert =
            from_hex(&slot.cert_hex).ok_or_else(|| Error::BadState(format!("certificate of key {:02X}", slot.id)))?;
        Ok(LoadedKey { id: slot.id, pkey, cert })
    }

    /// True for RSA keys.
    pub fn is_rsa(&self) -> bool {
        self.pkey.id() == Id::RSA
    }

    /// Modulus (RSA) or coordinate (EC) length in bytes.
    pub fn field_len(&self) -> usize {
        if self.is_rsa() {
            self.pkey.size()
        } else {
            (self.pkey.bits() as usize).div_ceil(8)
        }
    }

    /// Bits of the key (2048, 256, 384).
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// RSA private operation on a block of exactly the modulus size (no padding).
    pub fn rsa_raw(&self, block: &[u8]) -> Option<Vec<u8>> {
        let rsa = self.pkey.rsa().ok()?;
        if block.len() != rsa.size() as usize {
            return None;
        }
        let mut out = vec![0; rsa.size() as usize];
        let n = rsa.private_encrypt(block, &mut out, Padding::NONE).ok()?;
        out.truncate(n);
        Some(out)
    }

    /// RSA PKCS#1 v1.5 signature over a DigestInfo the card pads itself.
    pub fn rsa_pkcs1(&self, digest_info: &[u8]) -> Option<Vec<u8>> {
        let rsa = self.pkey.rsa().ok()?;
        let mut out = vec![0; rsa.size() as usize];
        let n = rsa.private_encrypt(digest_info, &mut out, Padding::PKCS1).ok()?;
        out.truncate(n);
        Some(out)
    }

    /// ECDSA over a hash; `(DER, r ‖ s)`.
    pub fn ecdsa(&self, hash: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let ec = self.pkey.ec_key().ok()?;
        let sig = EcdsaSig::sign(hash, &ec).ok()?;
        let len = self.field_len() as i32;
        let raw = [sig.r().to_vec_padded(len).ok()?, sig.s().to_vec_padded(len).ok()?].concat();
        Some((sig.to_der().ok()?, raw))
    }

    /// The uncompressed public point (EC) for diagnostics.
    pub fn ec_point(&self) -> Option<Vec<u8>> {
        let ec = self.pkey.ec_key().ok()?;
        let mut ctx = BigNumContext::new().ok()?;
        ec.public_key().to_bytes(ec.group(), openssl::ec::PointConversionForm::UNCOMPRESSED, &mut ctx).ok()
    }
}
