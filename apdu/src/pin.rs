//! PINs and PUKs: held in zeroizing memory, never printed; and **the one table of PIN
//! rules** ([`rules`]) that the drivers, the agent, its command line and tray, and the
//! PKCS#11 module all check a PIN against before it reaches a card.

use crate::card::{CardProfile, PinKind};
use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// What a PIN of one kind on one kind of card may look like: checked before the card
/// sees it, so that a PIN that cannot be right costs no try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinRules {
    /// Shortest.
    pub min: usize,
    /// Longest.
    pub max: usize,
    /// Digits only (else printable ASCII).
    pub digits_only: bool,
}

impl PinRules {
    /// Checks `pin` against these rules.
    pub fn check(&self, pin: &Pin) -> Result<()> {
        pin.check(self.min, self.max, self.digits_only)
    }
}

/// The rules for PIN `kind` on a card of `profile`:
///
/// | card | PIN | PUK |
/// | --- | --- | --- |
/// | PIV | 6–8 printable (SP 800-73-4 part 2 §2.4.3: 6–8 bytes; YubiKeys and other PIV tokens allow letters) | 6–8 printable (SP 800-73-4: 8 bytes; YubiKeys allow 6) |
/// | AzeDIT (EstEID 3.5) | PIN1 4–12 digits, PIN2 5–12 digits | 8–12 digits |
///
/// PIV has one PIN for both keys: [`PinKind::Signing`] follows [`PinKind::Auth`].
pub fn rules(profile: CardProfile, kind: PinKind) -> PinRules {
    match (profile, kind) {
        (CardProfile::Piv, _) => PinRules { min: 6, max: 8, digits_only: false },
        (CardProfile::AzeDit, PinKind::Signing) => PinRules { min: 5, max: 12, digits_only: true },
        (CardProfile::AzeDit, PinKind::Puk) => PinRules { min: 8, max: 12, digits_only: true },
        (CardProfile::AzeDit, _) => PinRules { min: 4, max: 12, digits_only: true },
    }
}

/// A PIN or PUK as the holder typed it.
///
/// The bytes are wiped when dropped; `Debug` prints only the length class.
#[derive(Clone)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    /// Wraps the bytes of a PIN.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Pin(Zeroizing::new(bytes.into()))
    }
    /// Copies a PIN from a string slice (the caller still owns and must wipe its copy).
    pub fn from_str_slice(s: &str) -> Self {
        Pin::new(s.as_bytes().to_vec())
    }
    /// The PIN bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Number of characters.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True for an empty PIN.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks that the PIN is `min..=max` characters long and all digits when `digits_only`.
    pub fn check(&self, min: usize, max: usize, digits_only: bool) -> Result<()> {
        if self.len() < min {
            return Err(Error::InvalidPinFormat("too short"));
        }
        if self.len() > max {
            return Err(Error::InvalidPinFormat("too long"));
        }
        if digits_only && !self.0.iter().all(u8::is_ascii_digit) {
            return Err(Error::InvalidPinFormat("only digits are allowed"));
        }
        if !digits_only && !self.0.iter().all(|b| (0x20..0x7F).contains(b)) {
            return Err(Error::InvalidPinFormat("only printable ASCII is allowed"));
        }
        Ok(())
    }

    /// The PIN right-padded with `FF` to `width` bytes (SP 800-73-4 part 2 §2.4.3).
    pub fn padded(&self, width: usize) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(width));
        out.extend_from_slice(&self.0);
        out.resize(width.max(self.len()), 0xFF);
        out
    }
}

impl core::fmt::Debug for Pin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pin(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_pin_rules() {
        let p = |s: &str| Pin::from_str_slice(s);
        let piv = rules(CardProfile::Piv, PinKind::Auth);
        assert_eq!(piv, rules(CardProfile::Piv, PinKind::Signing));
        assert!(piv.check(&p("123456")).is_ok() && piv.check(&p("abc123")).is_ok());
        assert!(piv.check(&p("12345")).is_err() && piv.check(&p("123456789")).is_err());
        let pin1 = rules(CardProfile::AzeDit, PinKind::Auth);
        assert!(pin1.check(&p("1234")).is_ok() && pin1.check(&p("123")).is_err());
        assert!(pin1.check(&p("12a4")).is_err());
        assert!(rules(CardProfile::AzeDit, PinKind::Signing).check(&p("1234")).is_err());
        assert!(rules(CardProfile::AzeDit, PinKind::Puk).check(&p("12345678")).is_ok());
        assert!(rules(CardProfile::AzeDit, PinKind::Puk).check(&p("1234567")).is_err());
    }

    #[test]
    fn checks_and_pads_without_leaking() {
        let pin = Pin::from_str_slice("123456");
        assert!(pin.check(6, 8, true).is_ok());
        assert_eq!(pin.check(7, 8, true), Err(Error::InvalidPinFormat("too short")));
        assert_eq!(pin.check(4, 5, true), Err(Error::InvalidPinFormat("too long")));
        assert!(Pin::from_str_slice("12a456").check(4, 8, true).is_err());
        assert_eq!(&pin.padded(8)[..], b"123456\xFF\xFF");
        assert_eq!(format!("{pin:?}"), "Pin(***)");
    }
}
