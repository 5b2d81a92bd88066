//! What every card driver offers, and [`open`], which picks the driver for a card.

use crate::azedit::AzeDit;
use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::piv::Piv;
use crate::signature::{KeyAlgorithm, SignInput};
use crate::transport::Transport;

/// The card profiles mohur drives itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CardProfile {
    /// NIST SP 800-73-4 PIV.
    Piv,
    /// The Azerbaijani ID card (AzeDIT), laid out like the Estonian EstEID 3.5.
    AzeDit,
}

impl core::fmt::Display for CardProfile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CardProfile::Piv => "PIV",
            CardProfile::AzeDit => "AzeDIT",
        })
    }
}

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// Logging in (TLS client authentication, Web eID authentication tokens).
    Authentication,
    /// Qualified / non-repudiation signatures on documents.
    Signing,
}

/// Which secret a card operation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinKind {
    /// The PIN that guards the authentication key (PIV PIN, AzeDIT PIN1).
    Auth,
    /// The PIN that guards the signing key (PIV PIN again, AzeDIT PIN2).
    Signing,
    /// The PIN Unblocking Key.
    Puk,
}

/// A key on the card and the rules for using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The card's key reference (PIV `9A`/`9C`; AzeDIT `01` auth, `02` signing).
    pub id: u8,
    /// What the key is for.
    pub purpose: KeyPurpose,
    /// Human label.
    pub label: &'static str,
    /// The PIN that unlocks it.
    pub pin: PinKind,
    /// True if the card demands a PIN entry right before every use of the key
    /// (PIV 9C "PIN Always", the AzeDIT qualified-signature key).
    pub always_authenticate: bool,
}

/// State of a PIN or PUK as the card reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinState {
    /// Usable; not verified in the current card session.
    Ready,
    /// Verified in the current card session.
    Verified,
    /// Blocked (PIN: unblock with the PUK; PUK: final).
    Blocked,
    /// Never activated: the holder must set it with the PUK first.
    NotActivated,
}

/// Retry counter of a PIN or PUK, read without spending a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinStatus {
    /// Which secret.
    pub kind: PinKind,
    /// Its state.
    pub state: PinState,
    /// Tries left, when the card tells.
    pub tries_left: Option<u8>,
    /// Tries allowed in all, when the card tells.
    pub max_tries: Option<u8>,
}

/// Who the card belongs to, from the card's data and its certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolderInfo {
    /// Country (ISO 3166 alpha-2).
    pub country: Option<String>,
    /// Given name(s).
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Common name as in the certificates.
    pub common_name: Option<String>,
    /// Personal code (AZ: FIN; AM: social card number).
    pub personal_code: Option<String>,
    /// Identity document number.
    pub document_number: Option<String>,
}

/// A card that mohur can read and sign with.
///
/// Every method runs inside one PC/SC transaction. PIN-bearing methods send the PIN
/// exactly once: a wrong PIN is reported, never retried.
pub trait SmartCard: Send {
    /// The card profile.
    fn profile(&self) -> CardProfile;
    /// The card's ATR.
    fn atr(&self) -> Vec<u8>;
    /// The keys the card has.
    fn keys(&self) -> &[KeyInfo];
    /// A stable serial number for the card (PIV: CHUID GUID; AzeDIT: document number).
    fn serial(&mut self) -> Result<String>;
    /// The holder's name and codes.
    fn holder(&mut self) -> Result<HolderInfo>;
    /// The DER certificate of key `id` (read once, then cached).
    fn certificate(&mut self, id: u8) -> Result<Vec<u8>>;
    /// The algorithm of key `id`, from its certificate.
    fn key_algorithm(&mut self, id: u8) -> Result<KeyAlgorithm> {
        let cert = self.certificate(id)?;
        crate::x509::key_algorithm(&cert)
    }
    /// Tries left for a PIN or PUK, read without spending one.
    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus>;
    /// [`SmartCard::pin_status`] of several secrets, in one transaction where the card
    /// allows (AzeDIT: one SELECT for all the counters).
    fn pin_statuses(&mut self, kinds: &[PinKind]) -> Result<Vec<PinStatus>> {
        kinds.iter().map(|k| self.pin_status(*k)).collect()
    }
    /// VERIFY: sends `pin` once.
    fn verify_pin(&mut self, kind: PinKind, pin: &Pin) -> Result<()>;
    /// Signs with key `id`. With `pin`, the PIN is verified right before the
    /// signature in the same transaction (required for always-authenticate keys).
    ///
    /// RSA returns the signature; ECDSA returns raw `r ‖ s`.
    fn sign(&mut self, id: u8, input: &SignInput, pin: Option<&Pin>) -> Result<Vec<u8>>;
    /// CHANGE REFERENCE DATA.
    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()>;
    /// RESET RETRY COUNTER with the PUK, setting `new_pin` (also activates a
    /// card whose PIN was never set).
    fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()>;
    /// Number of APDUs this driver has sent so far (for benchmarks).
    fn apdu_count(&self) -> u64;
    /// Ends the PIN's security status on the card, so a verified PIN no longer
    /// unlocks the keys (PIV: VERIFY with P1 = `FF`, SP 800-73-4 part 2 §3.2.1;
    /// AzeDIT / EstEID 3.5, which has no such command: a warm reset of the card).
    ///
    /// The default does nothing and returns `Ok`. Drivers must implement it.
    fn logout(&mut self) -> Result<()> {
        Ok(())
    }
    /// True if [`SmartCard::sign`] accepts [`SignInput::RsaRawBlock`] (a raw RSA
    /// private-key operation on a caller-padded block, needed for RSA-PSS).
    fn supports_raw_rsa(&self) -> bool {
        false
    }
    /// True if [`SmartCard::verify_pin`] can check the PUK by itself. PIV cards check
    /// the PUK only inside RESET RETRY COUNTER and CHANGE REFERENCE DATA.
    fn can_verify_puk(&self) -> bool {
        true
    }
}

/// Picks the driver for the card behind `transport`: AzeDIT by its ATR, then PIV and
/// EstEID 3.5 by their application identifiers.
pub fn open(mut transport: Box<dyn Transport>) -> Result<Box<dyn SmartCard>> {
    if crate::azedit::matches_atr(transport.atr()) {
        return Ok(Box::new(AzeDit::open(transport)));
    }
    if let Some(generation) = Piv::probe(transport.as_mut())? {
        return Ok(Box::new(Piv::open_selected(transport, generation)));
    }
    if AzeDit::probe(transport.as_mut())? {
        return Ok(Box::new(AzeDit::open(transport)));
    }
    Err(Error::UnsupportedCard { atr: hex(transport.atr()) })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
