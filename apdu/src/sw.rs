//! Status words, ISO 7816-4 §5.6.

use crate::error::Error;
use core::fmt;

/// The two trailing bytes of every response APDU.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `90 00`, normal processing.
    pub const OK: StatusWord = StatusWord(0x9000);
    /// `69 82`, security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `69 83`, authentication method blocked.
    pub const AUTH_METHOD_BLOCKED: StatusWord = StatusWord(0x6983);
    /// `69 84`, reference data not usable.
    pub const REFERENCE_DATA_NOT_USABLE: StatusWord = StatusWord(0x6984);
    /// `69 85`, conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `6A 80`, incorrect parameters in the data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A 82`, file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A 86`, incorrect P1-P2.
    pub const INCORRECT_P1P2: StatusWord = StatusWord(0x6A86);
    /// `6A 88`, referenced data not found.
    pub const REFERENCED_DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B 00`, wrong parameters P1-P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6B00);
    /// `6D 00`, instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E 00`, class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// `67 00`, wrong length.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `62 82`, end of file reached before Le bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// `68 84`, command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: StatusWord = StatusWord(0x6884);
    /// `6F 00`, no precise diagnosis.
    pub const UNKNOWN: StatusWord = StatusWord(0x6F00);

    /// Builds a status word from SW1 and SW2.
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        StatusWord(((sw1 as u16) << 8) | sw2 as u16)
    }
    /// SW1.
    pub const fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0 as u8
    }
    /// `90 00`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0x9000
    }
    /// `61 xx`: `xx` more bytes wait for GET RESPONSE (ISO 7816-4 §5.3.4).
    pub const fn bytes_available(self) -> Option<u8> {
        if self.sw1() == 0x61 {
            Some(self.sw2())
        } else {
            None
        }
    }
    /// `6C xx`: wrong Le, the card wants exactly `xx` (ISO 7816-4 §5.6.1).
    pub const fn exact_length(self) -> Option<u8> {
        if self.sw1() == 0x6C {
            Some(self.sw2())
        } else {
            None
        }
    }
    /// `63 Cx`: a counter with `x` tries left (ISO 7816-4 §5.6.1, table 6).
    pub const fn counter(self) -> Option<u8> {
        if self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0 {
            Some(self.sw2() & 0x0F)
        } else {
            None
        }
    }

    /// `Ok` for `90 00`, otherwise the typed error for this status word.
    ///
    /// `63 Cx` and `69 83` are reported as PIN errors; drivers turn them into
    /// PUK errors when the reference they used was the PUK.
    pub fn check(self) -> Result<(), Error> {
        if self.is_ok() {
            return Ok(());
        }
        if let Some(tries_left) = self.counter() {
            return Err(Error::WrongPin { tries_left });
        }
        Err(match self.0 {
            0x6983 => Error::PinBlocked,
            0x6982 => Error::SecurityStatusNotSatisfied,
            0x6984 => Error::NotActivated,
            0x6985 => Error::ConditionsNotSatisfied,
            0x6A82 => Error::FileNotFound,
            0x6A80 => Error::WrongData,
            0x6A86 | 0x6B00 => Error::IncorrectP1P2,
            0x6D00 => Error::InsNotSupported,
            0x6E00 => Error::ClaNotSupported,
            0x6700 => Error::WrongLength,
            _ => Error::Status(self),
        })
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X}", self.sw1(), self.sw2())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pin_counters_and_blocks() {
        assert_eq!(StatusWord(0x63C9).check(), Err(Error::WrongPin { tries_left: 9 }));
        assert_eq!(StatusWord(0x63C0).check(), Err(Error::WrongPin { tries_left: 0 }));
        assert_eq!(StatusWord(0x6983).check(), Err(Error::PinBlocked));
        assert_eq!(StatusWord(0x6984).check(), Err(Error::NotActivated));
        assert_eq!(StatusWord(0x6A82).check(), Err(Error::FileNotFound));
        assert_eq!(StatusWord(0x9000).check(), Ok(()));
        assert_eq!(StatusWord(0x6310).check(), Err(Error::Status(StatusWord(0x6310))));
        assert_eq!(StatusWord(0x61FF).bytes_available(), Some(0xFF));
        assert_eq!(StatusWord(0x6C20).exact_length(), Some(0x20));
        assert_eq!(StatusWord::new(0x6A, 0x82).to_string(), "6A 82");
    }
}
