//! mohur's PKCS#11 v2.40 / v3.0 module: the cards mohur's drivers open (PIV, AzeDIT),
//! one slot per PC/SC reader, one token per card.
//!
//! - [`ffi`]: the `extern "C"` entry points and `CK_FUNCTION_LIST`; the only module
//!   with unsafe code (raw pointers from the caller).
//! - [`module`]: slots, tokens, sessions, login and signing, in safe Rust.
//! - [`mechanisms`]: the signature mechanisms, their hashes and EMSA-PSS.
//! - [`pinentry`]: the protected authentication path (PIN asked in mohur's dialog).
//! - [`slot_events`]: C_WaitForSlotEvent through PC/SC.
//! - [`objects`]: the certificate, public-key and private-key objects of a key.
//! - [`config`]: the configuration file read at C_Initialize (reader allow-list,
//!   protected authentication path, logging).
//! - [`backend`]: where cards come from ([`backend::Backend`]), PC/SC by default.
//! - [`error`]: [`Ck`], a `CK_RV` as a Rust error.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod config;
pub mod error;
#[allow(unsafe_code)]
pub mod ffi;
pub mod mechanisms;
pub mod module;
pub mod objects;
pub mod pinentry;
pub mod slot_events;

pub use error::Ck;
