//! The card tools of the `mohur` binary (`mohur readers`, `status`, `certs`, `pin`,
//! `sign`, `verify`, `doctor`), in the library so that the tray's menu runs the same
//! code paths. Every command has `--json`, prints citizen-facing text through
//! [`crate::i18n`], and exits with one of the [`exit`] codes.

pub mod certs;
pub mod doctor;
pub mod pin;
pub mod readers;
pub mod sign;
pub mod status;
pub mod verify;

/// Exit codes shared by every command.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Failed for another reason (I/O, a bug).
    pub const FAILURE: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// No reader, card or token (or not the one asked for).
    pub const NO_TOKEN: u8 = 3;
    /// Wrong PIN or PUK.
    pub const WRONG_PIN: u8 = 4;
    /// PIN or PUK blocked.
    pub const BLOCKED: u8 = 5;
    /// The user cancelled.
    pub const CANCELLED: u8 = 6;
    /// A signature or certificate did not verify.
    pub const INVALID: u8 = 7;
    /// `mohur doctor` found a problem.
    pub const PROBLEMS_FOUND: u8 = 8;
    /// The PC/SC service is not running.
    pub const NO_SERVICE: u8 = 9;
}
