//! `mohur-card-sim`: a PIV and AzeDIT smart card in software.
//!
//! The card plugs into a real pcscd through vsmartcard's vpcd driver ([`vpcd`]), so
//! everything above it — our drivers, OpenSC, yubico-piv-tool, browsers — talks to
//! it as to a card in a reader. [`SimTransport`] reaches the same card in-process.
//!
//! Its secrets and retry counters live in a [`state::CardState`] that is written
//! atomically and fsynced before a wrong PIN is answered: killing the simulator
//! never gives a try back.
#![forbid(unsafe_code)]

pub mod azedit;
pub mod card;
pub mod cli;
pub mod crypto;
pub mod piv;
pub mod provision;
pub mod state;
pub mod transport;
pub mod vpcd;

pub use card::SimCard;
pub use provision::{provision, ProvisionOptions};
pub use state::{CardState, Profile, StateStore};
pub use transport::SimTransport;
pub use vpcd::{SimHandle, VpcdConnection};

/// Errors of the simulator itself (card errors are status words).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the state file, or the vpcd socket.
    #[error("I/O error on {what}: {source}")]
    Io {
        /// What was being accessed.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state file does not parse.
    #[error("bad card state: {0}")]
    BadState(String),
    /// The test PKI could not be loaded.
    #[error("test PKI: {0}")]
    Pki(#[from] mohur_certs::Error),
}

/// Result alias of the simulator.
pub type Result<T, E = Error> = core::result::Result<T, E>;
