//! mohur's signing agent: a WebSocket signer on loopback for portals (protocol v1,
//! `agent/PROTOCOL.md`), the tokens it signs with (cards through mohur's own drivers,
//! USB tokens through vendor PKCS#11 modules), its PIN policy, CAdES signing, and the
//! demo portal.
#![forbid(unsafe_code)]

pub mod agent;
pub mod cancel;
pub mod cli;
pub mod cms;
pub mod config;
pub mod doctor;
pub mod error;
pub mod i18n;
pub mod key_policy;
pub mod manager;
pub mod ops;
pub mod origins;
pub mod peer;
#[cfg(feature = "demo")]
pub mod portal;
pub mod prompt;
pub mod protocol;
#[cfg(feature = "demo")]
pub mod relying_party;
pub mod retry_counter;
pub mod server;
pub mod session;
pub mod site;
pub mod texts;
pub mod tls;
pub mod tokens;
pub mod tray;
pub mod webeid;

pub use cancel::Cancel;
pub use error::{Error, Result};
/// The OS keyring (kept in the installer crate: `mohur-install` stores the loopback CA's
/// key there, the agent reads it).
pub use mohur_installer::secrets;
