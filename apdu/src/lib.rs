//! ISO 7816-4 smart-card plumbing for mohur.
//!
//! - [`apdu`]: command and response APDUs (ISO 7816-4 §5.1), short and extended.
//! - [`tlv`]: BER-TLV data objects (ISO 7816-4 §5.2, ISO 8825-1).
//! - [`sw`]: status words and their mapping to [`Error`].
//! - [`transport`]: the [`Transport`] trait and the [`Channel`] that hides `61xx`,
//!   `6Cxx` and command chaining from card drivers.
//! - [`pcsc_transport`] and [`events`]: PC/SC readers through the `pcsc` crate.
//! - [`piv`] (NIST SP 800-73-4) and [`azedit`] (AzeDIT / EstEID 3.5): card drivers,
//!   chosen by [`card::open`] from the ATR and the applications the card answers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apdu;
pub mod atr;
pub mod azedit;
pub mod card;
pub mod cert_cache;
pub mod error;
pub mod events;
pub mod known_cards;
pub mod pcsc_transport;
pub mod pin;
pub mod piv;
pub mod signature;
pub mod sw;
pub mod tlv;
pub mod transport;
pub mod x509;

pub use apdu::{Command, Response};
pub use card::{open, CardProfile, HolderInfo, KeyInfo, KeyPurpose, PinKind, PinState, PinStatus, SmartCard};
pub use error::{Error, Result};
pub use pin::Pin;
pub use signature::{HashAlg, KeyAlgorithm, SignInput};
pub use sw::StatusWord;
pub use transport::{Channel, RawChannel, Transport};
