//! The one error type of the `mohur-apdu` crate.

use crate::sw::StatusWord;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong between mohur and a card.
///
/// Card answers (status words, ISO 7816-4 §5.6) come first, then transport
/// failures, then malformed data and driver-level refusals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `63 Cx`: the PIN was wrong; `tries_left` more wrong entries are allowed.
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin {
        /// Tries left before the PIN blocks.
        tries_left: u8,
    },
    /// `63 Cx` answered to a PUK: the PUK was wrong.
    #[error("wrong PUK, {tries_left} tries left")]
    WrongPuk {
        /// Tries left before the PUK blocks for good.
        tries_left: u8,
    },
    /// `69 83`: the PIN is blocked; only the PUK can unblock it.
    #[error("PIN blocked")]
    PinBlocked,
    /// `69 83` answered to a PUK: the PUK is blocked, which is final.
    #[error("PUK blocked")]
    PukBlocked,
    /// `69 82`: the operation needs a PIN that has not been verified.
    #[error("security status not satisfied (PIN not verified)")]
    SecurityStatusNotSatisfied,
    /// `69 84`: reference data not usable — the PIN was never activated.
    #[error("PIN not activated: set it with the PUK first")]
    NotActivated,
    /// `69 85`: conditions of use not satisfied.
    #[error("conditions of use not satisfied")]
    ConditionsNotSatisfied,
    /// `6A 82`: file or data object not found.
    #[error("file or object not found")]
    FileNotFound,
    /// `6A 80`: incorrect data field.
    #[error("card rejected the data field")]
    WrongData,
    /// `6A 86` / `6B 00`: incorrect P1-P2.
    #[error("card rejected P1-P2")]
    IncorrectP1P2,
    /// `6D 00`: instruction not supported.
    #[error("instruction not supported by the card")]
    InsNotSupported,
    /// `6E 00`: class not supported.
    #[error("class not supported by the card")]
    ClaNotSupported,
    /// `67 00`: wrong length.
    #[error("card rejected the length")]
    WrongLength,
    /// Any other status word.
    #[error("card answered {0}")]
    Status(StatusWord),

    /// The card was removed (or pulled mid-operation).
    #[error("card removed")]
    CardRemoved,
    /// The card gave no answer at all (no status word): pulled mid-command, or mute.
    #[error("card did not answer (pulled or mute)")]
    CardMute,
    /// Another application reset the card; volatile state (PIN, selection) is gone.
    #[error("card was reset by another application")]
    CardReset,
    /// No card in the reader.
    #[error("no card in reader")]
    NoCard,
    /// The reader does not exist (any more).
    #[error("reader not found: {0}")]
    ReaderNotFound(String),
    /// The PC/SC service is not running or stopped.
    #[error("PC/SC service unavailable: {0}")]
    NoService(String),
    /// Any other PC/SC failure.
    #[error("PC/SC error: {0}")]
    Pcsc(String),
    /// An I/O failure below the transport (simulator sockets, files).
    #[error("I/O error: {0}")]
    Io(String),

    /// An APDU or response that does not follow ISO 7816-4.
    #[error("malformed APDU: {0}")]
    MalformedApdu(&'static str),
    /// A BER-TLV structure that does not parse.
    #[error("malformed TLV: {0}")]
    MalformedTlv(&'static str),
    /// A card answer that parses but is not what the profile specifies.
    #[error("unexpected card answer: {0}")]
    UnexpectedResponse(&'static str),
    /// A certificate that cannot be parsed.
    #[error("bad certificate: {0}")]
    BadCertificate(String),

    /// Neither the ATR nor any known application identifies the card.
    #[error("unsupported card (ATR {atr})")]
    UnsupportedCard {
        /// The ATR, hex.
        atr: String,
    },
    /// A PIN or PUK outside the lengths or alphabet the card accepts.
    #[error("invalid PIN format: {0}")]
    InvalidPinFormat(&'static str),
    /// The card has no such key or the key cannot do that.
    #[error("key not available: {0}")]
    KeyNotAvailable(&'static str),
    /// An algorithm or input the card or driver cannot use.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// True when the card or reader is gone and the handle must be reopened.
    pub fn is_card_gone(&self) -> bool {
        matches!(self, Error::CardRemoved | Error::CardMute | Error::NoCard | Error::ReaderNotFound(_))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
