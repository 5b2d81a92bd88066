//! The tokens the agent signs with: cards through mohur's own drivers
//! ([`card::CardToken`]) and USB tokens through their vendors' PKCS#11 modules
//! ([`pkcs11::Pkcs11Token`]), behind one [`Token`] trait.

pub mod card;
pub mod manager;
pub mod pkcs11;
pub mod retry_counter;

use crate::Result;
use mohur_apdu::{HashAlg, KeyAlgorithm, KeyPurpose, Pin, PinKind, PinStatus};
use serde::Serialize;

/// What kind of token, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum TokenKind {
    /// A smart card driven by mohur (`profile`: `PIV`, `AzeDIT`).
    Card {
        /// The card profile.
        profile: String,
        /// The PC/SC reader, or `simulated`.
        reader: String,
    },
    /// A token behind a vendor PKCS#11 module.
    Pkcs11 {
        /// The module's path.
        module: String,
    },
}

/// A key on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenKey {
    /// Authentication or signing.
    pub purpose: KeyPurpose,
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
    /// The PIN that unlocks it.
    pub pin: PinKind,
}

/// What a token is, read without spending a PIN try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Card or PKCS#11 token.
    pub kind: TokenKind,
    /// A stable serial (card serial / PKCS#11 token serial).
    pub serial: String,
    /// The holder's name (certificate CN), for dialogs.
    pub holder: String,
    /// Keys with certificates.
    pub keys: Vec<TokenKey>,
    /// PIN and PUK counters.
    pub pins: Vec<PinStatus>,
}

/// Length and character rules of a PIN, checked before anything reaches the token:
/// for cards the one table of `mohur_apdu::pin::rules`; PKCS#11 tokens report theirs.
pub use mohur_apdu::pin::PinRules;

/// A card or token the agent can sign with.
///
/// A PIN passed in is sent once: a wrong PIN is reported, never retried. Every
/// method is a short blocking operation; the token manager serialises them per token.
pub trait Token: Send {
    /// What the token is.
    fn info(&mut self) -> Result<TokenInfo>;
    /// The DER certificate of the key for `purpose`.
    fn certificate(&mut self, purpose: KeyPurpose) -> Result<Vec<u8>>;
    /// The PIN that unlocks the key for `purpose`.
    fn pin_for(&self, purpose: KeyPurpose) -> PinKind;
    /// The rules for PIN `kind`.
    fn pin_rules(&self, kind: PinKind) -> PinRules;
    /// The counter of PIN `kind`, read without spending a try.
    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus>;
    /// Signs `digest` (made with `alg`) with the key for `purpose`, verifying `pin`
    /// first. RSA: PKCS#1 v1.5 over the DigestInfo; EC: raw `r ‖ s`.
    fn sign(&mut self, purpose: KeyPurpose, alg: HashAlg, digest: &[u8], pin: &Pin) -> Result<Vec<u8>>;
    /// Changes PIN `kind`.
    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()>;
    /// Unblocks (or activates) PIN `kind` with the PUK (PKCS#11: the SO PIN).
    fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()>;
    /// The key algorithm for `purpose`, from its certificate.
    fn key_algorithm(&mut self, purpose: KeyPurpose) -> Result<KeyAlgorithm> {
        let cert = self.certificate(purpose)?;
        mohur_apdu::x509::key_algorithm(&cert).map_err(crate::Error::from)
    }
}
