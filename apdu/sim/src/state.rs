//! The card's persistent state and its crash-safe store.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which card the simulator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// NIST SP 800-73-4 PIV.
    Piv,
    /// Azerbaijani ID card (EstEID 3.5 layout).
    Azedit,
}

/// A PIN or PUK with its retry counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// The value (ASCII).
    pub value: String,
    /// Tries allowed.
    pub max: u8,
    /// Tries left; 0 = blocked.
    pub left: u8,
    /// False until the holder sets the PIN with the PUK (a fresh Armenian card).
    #[serde(default = "yes")]
    pub activated: bool,
}

fn yes() -> bool {
    true
}

impl Secret {
    /// A fresh secret with all tries left.
    pub fn new(value: &str, max: u8) -> Self {
        Secret { value: value.to_owned(), max, left: max, activated: true }
    }
}

/// A key pair and its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlot {
    /// The card's key reference (PIV 9A/9C, AzeDIT 1/2).
    pub id: u8,
    /// PKCS#8 PEM private key.
    pub key_pem: String,
    /// DER certificate, hex.
    pub cert_hex: String,
}

/// Everything the card remembers across power cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    /// The card profile.
    pub profile: Profile,
    /// Card serial (PIV CHUID GUID source; AzeDIT document number).
    pub serial: String,
    /// User PIN (PIV PIN, AzeDIT PIN1).
    pub pin: Secret,
    /// AzeDIT PIN2 (signing); absent on PIV.
    pub pin2: Option<Secret>,
    /// PIN Unblocking Key.
    pub puk: Secret,
    /// Keys with certificates.
    pub keys: Vec<KeySlot>,
    /// AzeDIT EF 5044 records (1-based in the card; index 0 here is record 1).
    #[serde(default)]
    pub personal_data: Vec<String>,
}

/// Where the state lives.
pub enum StateStore {
    /// Only in memory (unit tests, the demo).
    Memory,
    /// A JSON file, replaced atomically on every change.
    File(PathBuf),
}

impl StateStore {
    /// Persists `state`. For files: write a temporary file, fsync it, rename it over
    /// the old one and fsync the directory, so a crash leaves the old or the new
    /// state, never a torn one, and a decremented counter is on disk before the
    /// card answers.
    pub fn save(&self, state: &CardState) -> Result<()> {
        let StateStore::File(path) = self else { return Ok(()) };
        let io = |what: &str| {
            let what = format!("{what} {}", path.display());
            move |source| Error::Io { what, source }
        };
        let json = serde_json::to_vec_pretty(state).map_err(|e| Error::BadState(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp).map_err(io("create"))?;
        f.write_all(&json).map_err(io("write"))?;
        f.sync_all().map_err(io("fsync"))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io("rename"))?;
        // The rename is durable once the directory entry is: fsync the directory (POSIX;
        // Windows opens no directory as a file, and its rename is journaled).
        #[cfg(unix)]
        {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            File::open(dir).and_then(|d| d.sync_all()).map_err(io("fsync dir of"))?;
        }
        Ok(())
    }

    /// Loads the state from a file store.
    pub fn load(path: &Path) -> Result<CardState> {
        let bytes = fs::read(path).map_err(|source| Error::Io { what: format!("read {}", path.display()), source })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadState(format!("{}: {e}", path.display())))
    }
}

/// Hex helpers for the state file.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex; `None` if malformed.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
