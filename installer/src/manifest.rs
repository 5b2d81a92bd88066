//! What `install` added, so that `uninstall` removes exactly that.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Action, Error};

/// Format version of the manifest file.
const VERSION: u32 = 1;

/// The record of applied actions, oldest first (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`VERSION`] of the writer.
    pub version: u32,
    /// Applied actions, in order.
    pub entries: Vec<Action>,
}

impl Default for Manifest {
    fn default() -> Manifest {
        Manifest { version: VERSION, entries: Vec::new() }
    }
}

impl Manifest {
    /// Reads it; a missing file is an empty manifest.
    pub fn load(path: &Path) -> Result<Manifest, Error> {
        match fs::read_to_string(path) {
            Ok(text) => {
                let m: Manifest = serde_json::from_str(&text)
                    .map_err(|e| Error::Manifest { path: path.into(), reason: e.to_string() })?;
                if m.version != VERSION {
                    return Err(Error::Manifest {
                        path: path.into(),
                        reason: format!("unknown version {}", m.version),
                    });
                }
                Ok(m)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Manifest { version: VERSION, entries: Vec::new() })
            }
            Err(e) => Err(Error::Io { path: path.into(), source: e }),
        }
    }

    /// Adds an entry unless an equal one is there.
    pub fn record(&mut self, a: Action) {
        if !self.entries.contains(&a) {
            self.entries.push(a);
        }
    }

    /// Writes it atomically (temporary file + rename), so a crash leaves the old or the new one.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("manifest serialises") + "\n";
        fs::write(&tmp, text).map_err(Error::io(&tmp))?;
        fs::rename(&tmp, path).map_err(Error::io(path))
    }

    /// Deletes the file, and its `mohur` directory when that is empty.
    pub fn remove(path: &Path) -> Result<(), Error> {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io { path: path.into(), source: e }),
        }
        if let Some(dir) = path.parent().filter(|d| d.file_name().is_some_and(|n| n == "mohur")) {
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }
}
