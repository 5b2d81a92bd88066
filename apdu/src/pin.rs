//! PINs and PUKs: held in zeroizing memory, never printed.

use crate::error::{Error, Result};
use zeroize::Zeroizing;

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
