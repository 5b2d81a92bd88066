//! What `mohur-install verify --json` reports about a machine, for `mohur doctor`.
//!
//! The installer is the one authority on where mohur's pieces belong (its plan) and on
//! how to tell that one is in place; doctor asks it through this report rather than
//! linking the installer and planning again. Both sides use these types, so the two
//! programs of one build cannot disagree about the format; [`FORMAT`] tells a doctor
//! that meets a `mohur-install` of another build.
//!
//! The report holds findings, not verdicts: which CA is missing from which database,
//! what a tool said. Doctor turns them into its translated checks.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version of this format; changed whenever a field changes meaning.
pub const FORMAT: u32 = 1;

/// Everything doctor asks the installer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallReport {
    /// [`FORMAT`] of the program that wrote it.
    pub format: u32,
    /// The CA bundle mohur ships.
    pub bundle: Bundle,
    /// The operating system's store; `None` when the bundle holds no CA to look for.
    pub system_store: Option<SystemStore>,
    /// The browsers' NSS databases that exist (Linux), and which bundle CAs each lacks;
    /// `None` when the bundle holds no CA to look for.
    pub nss_cas: Option<Vec<NssDatabase>>,
    /// Test certificates in the trust stores, CAs the bundle's manifest no longer pins.
    pub audit: Audit,
    /// The PKCS#11 modules each NSS database loads (`modutil -list`).
    pub nss_modules: Vec<NssModules>,
    /// The name mohur's module is registered under (p11-kit's file, NSS, Firefox's policy).
    pub module_name: String,
    /// Windows: the hives (`HKLM`, `HKCU`) whose Firefox policy loads mohur's module.
    pub firefox_policy: Vec<String>,
    /// The module that policy must name (next to the installer on Windows).
    pub module: PathBuf,
    /// Who answers Web eID (`eu.webeid`) in each browser's place, the user's and the
    /// machine's.
    pub web_eid: Vec<WebEidPlace>,
    /// The loopback CA, when its certificate is in the user's data directory.
    pub loopback: Option<Loopback>,
}

/// The CA bundle: where it was looked for, and what it holds once checked against its
/// pinned manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The bundle used; `None` when none of [`tried`](Self::tried) exists.
    pub path: Option<PathBuf>,
    /// Where it was looked for.
    pub tried: Vec<PathBuf>,
    /// Why it cannot be used (unpinned file, broken chain…).
    pub error: Option<String>,
    /// Its certificates, root first.
    pub certificates: Vec<CaCertificate>,
}

/// One CA certificate of the bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaCertificate {
    /// The subject, RFC 4514.
    pub subject: String,
    /// Its common name, for people.
    pub common_name: String,
    /// SHA-256 fingerprint, `AB:CD:…`.
    pub sha256: String,
    /// Self-signed.
    pub root: bool,
    /// Where its pin comes from, for people.
    pub pinned: String,
    /// The certificate, DER (doctor checks a card's chain against it).
    pub der: Vec<u8>,
}

/// The operating system's trust store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum SystemStore {
    /// Windows' ROOT and CA stores: the subjects of the bundle's CAs that are not there
    /// (with either trust mohur-install gives them).
    Windows {
        /// Subjects.
        missing: Vec<String>,
    },
    /// The distribution's bundle file (Linux).
    Bundle {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        error: Option<String>,
        /// Whether every root of the bundle is in it (`--trust-tls-server`; without it
        /// roots stay out, which is in order too).
        roots_present: bool,
    },
}

/// One NSS database and the bundle CAs it lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NssDatabase {
    /// The database directory.
    pub db: PathBuf,
    /// Subjects of the CAs not in it.
    pub missing: Vec<String>,
    /// What `certutil` said when it could not be asked.
    pub error: Option<String>,
}

/// The trust stores' audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// One line per finding.
    pub flags: Vec<String>,
    /// Why the stores could not be read.
    pub error: Option<String>,
}

/// What one NSS database loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NssModules {
    /// The database directory.
    pub db: PathBuf,
    /// `(name, library)` of each module.
    pub modules: Vec<(String, PathBuf)>,
    /// What `modutil` said when it could not be asked.
    pub error: Option<String>,
}

/// One place a browser looks for the `eu.webeid` native host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebEidPlace {
    /// `Chromium`, `Chrome`, `Edge`, `Firefox`.
    pub browser: String,
    /// The manifest file or registry key, for people.
    pub place: String,
    /// The program registered there: `None` when nobody is, `Some("")` for an
    /// unreadable manifest.
    pub program: Option<String>,
}

/// The loopback CA's trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loopback {
    /// Its certificate file.
    pub certificate: PathBuf,
    /// Where mohur-install puts it and it is not (NSS databases, stores), for people.
    pub untrusted: Vec<String>,
}
