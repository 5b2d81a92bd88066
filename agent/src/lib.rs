//! mohur's signing agent: a WebSocket signer on loopback for portals (protocol v1,
//! `agent/PROTOCOL.md`), the tokens it signs with (cards through mohur's own drivers,
//! USB tokens through vendor PKCS#11 modules), its PIN policy, CAdES signing, and the
//! demo portal.
// Unsafe code only in `windows` (the Windows API calls), nowhere else.
#![deny(unsafe_code)]

pub mod access;
pub mod agent;
pub mod cancel;
pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod dialogs;
pub mod doctor;
pub mod documents;
pub mod error;
pub mod i18n;
pub mod pin_policy;
pub mod protocol;
pub mod server;
pub mod signing;
pub mod tokens;
pub mod tray;
pub mod web_eid;
#[cfg(windows)]
#[allow(unsafe_code)]
pub mod windows;

pub use cancel::Cancel;
pub use error::{Error, Result};
/// The OS keyring (kept in the installer crate: `mohur-install` stores the loopback CA's
/// key there, the agent reads it).
pub use mohur_platform::secrets;
