//! mohur's own PIN failure counter for PKCS#11 tokens that never lock.
//!
//! PKCS#11 v2.40 leaves PIN retry limits to the token: `C_Login` may answer
//! `CKR_PIN_INCORRECT` forever (§5.6, `C_Login`; §3.2 `CKF_USER_PIN_COUNT_LOW` /
//! `CKF_USER_PIN_LOCKED` are optional flags). SoftHSM and several software or cheap
//! vendor tokens never lock, so a page (or malware driving the agent) could try PINs
//! without end. The agent therefore keeps its own count of consecutive failures per
//! token and per secret, and refuses to send a PIN once [`LIMIT`] failures are recorded.
//!
//! Guarantees:
//! - **Charged before sent.** An attempt is written to disk as a failure *before* the
//!   PIN reaches the token and cleared only after the token accepted it, so killing
//!   the agent during `C_Login` does not give a try back.
//! - **One writer at a time.** Every check-and-update runs under an exclusive lock on
//!   `pin-counters.lock`, held across "check → charge → `C_Login` → record", so two
//!   agents (or two threads) racing cannot send more than [`LIMIT`] PINs between them.
//!   The lock file is never replaced (the data file is, by rename), so the lock always
//!   guards the same inode.
//! - **Atomic.** The counters live in one JSON file, `pin-counters.json`, replaced by
//!   write-to-temp + fsync + rename + fsync of the directory: a crash leaves the old or
//!   the new file, never a torn one.
//! - **Fails closed.** A counter file that cannot be read or parsed stops PIN entry
//!   (error naming the file) instead of silently starting again at zero.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Consecutive failures after which mohur stops sending a secret to the token.
pub const LIMIT: u8 = 10;

const DATA_FILE: &str = "pin-counters.json";
const LOCK_FILE: &str = "pin-counters.lock";
const TEMP_FILE: &str = "pin-counters.json.tmp";

/// Which secret of a token an attempt spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Secret {
    /// The normal user's PIN (`CKU_USER`).
    UserPin,
    /// The Security Officer PIN (`CKU_SO`), the PKCS#11 counterpart of a PUK.
    SoPin,
}

impl Secret {
    fn wrong(self, tries_left: u8) -> Error {
        match self {
            Secret::UserPin => Error::PinIncorrect { tries_left: Some(tries_left) },
            Secret::SoPin => Error::PukIncorrect { tries_left: Some(tries_left) },
        }
    }

    fn blocked(self) -> Error {
        match self {
            Secret::UserPin => Error::PinBlocked,
            Secret::SoPin => Error::PukBlocked,
        }
    }
}

/// What happened when the closure given to [`RetryCounter::attempt`] sent the secret.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The token rejected the secret (`CKR_PIN_INCORRECT`): the charged try stays spent.
    WrongSecret,
    /// The token itself says the secret is locked (`CKR_PIN_LOCKED`): the try stays
    /// spent and the caller gets the "blocked" error.
    Locked,
    /// The token refused before checking the secret (e.g. `CKR_PIN_LEN_RANGE`,
    /// `CKR_SESSION_HANDLE_INVALID`, `CKR_USER_ALREADY_LOGGED_IN`): the try is given back.
    NotChecked(Error),
    /// Something failed and nobody knows whether the secret was checked (e.g.
    /// `CKR_DEVICE_REMOVED` during `C_Login`): the try stays spent.
    Unknown(Error),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Counts {
    #[serde(default)]
    user_pin: u8,
    #[serde(default)]
    so_pin: u8,
}

impl Counts {
    fn get(&self, secret: Secret) -> u8 {
        match secret {
            Secret::UserPin => self.user_pin,
            Secret::SoPin => self.so_pin,
        }
    }

    fn slot(&mut self, secret: Secret) -> &mut u8 {
        match secret {
            Secret::UserPin => &mut self.user_pin,
            Secret::SoPin => &mut self.so_pin,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// Token key → consecutive failures. Tokens with no failures are removed.
    tokens: BTreeMap<String, Counts>,
}

/// The persistent failure counters in one directory. Cheap to clone; every call
/// re-reads the file under the lock, so instances in other processes stay coherent.
#[derive(Debug, Clone)]
pub struct RetryCounter {
    dir: PathBuf,
}

/// Held while a check-and-update runs; dropping it (or the process dying) unlocks.
struct Locked<'a> {
    counter: &'a RetryCounter,
    _file: File,
}

impl RetryCounter {
    /// Opens (creating if needed, mode 0700 on Unix) the counter directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<RetryCounter> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(RetryCounter { dir })
    }

    /// The default directory: `$XDG_STATE_HOME/mohur`, else `~/.local/state/mohur`
    /// (XDG Base Directory spec: state that should persist across restarts), on
    /// Windows `%LOCALAPPDATA%\mohur`.
    pub fn default_dir() -> Result<PathBuf> {
        mohur_platform::dirs::user_dir(mohur_platform::dirs::Kind::State).ok_or_else(|| {
            Error::Internal(if cfg!(windows) { "LOCALAPPDATA is not set" } else { "HOME is not set" }.into())
        })
    }

    /// Opens the counters in [`RetryCounter::default_dir`].
    pub fn open_default() -> Result<RetryCounter> {
        RetryCounter::open(RetryCounter::default_dir()?)
    }

    /// The directory holding the counter file.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Consecutive failures recorded for `secret` of token `key`.
    pub fn failures(&self, key: &str, secret: Secret) -> Result<u8> {
        let lock = self.lock()?;
        Ok(lock.read()?.tokens.get(key).map_or(0, |c| c.get(secret)))
    }

    /// Tries mohur still allows for `secret` of token `key` (`LIMIT − failures`).
    pub fn tries_left(&self, key: &str, secret: Secret) -> Result<u8> {
        Ok(LIMIT.saturating_sub(self.failures(key, secret)?))
    }

    /// Forgets the failures of `secret` of token `key` (after an unblock with the SO PIN).
    pub fn reset(&self, key: &str, secret: Secret) -> Result<()> {
        let lock = self.lock()?;
        let mut state = lock.read()?;
        if set(&mut state, key, secret, 0) {
            lock.write(&state)?;
        }
        Ok(())
    }

    /// Sends `secret` of token `key` through `send` (which calls `C_Login` or the like)
    /// under mohur's limit.
    ///
    /// With [`LIMIT`] failures recorded, refuses without calling `send` (PIN: `PinBlocked`,
    /// SO PIN: `PukBlocked`). Otherwise charges one failure on disk, calls `send` once, and
    /// then: on success clears the count; on [`LoginOutcome::WrongSecret`] keeps it and
    /// returns `PinIncorrect { tries_left }` (or the blocked error when that was the last
    /// try); on [`LoginOutcome::NotChecked`] gives the try back. The lock is held
    /// throughout, so `send` must be short and must not call back into this counter.
    pub fn attempt<T>(&self, key: &str, secret: Secret, send: impl FnOnce() -> Result<T, LoginOutcome>) -> Result<T> {
        let lock = self.lock()?;
        let mut state = lock.read()?;
        let before = state.tokens.get(key).map_or(0, |c| c.get(secret));
        if before >= LIMIT {
            return Err(secret.blocked());
        }
        set(&mut state, key, secret, before + 1);
        lock.write(&state)?;
        // From here on the try is spent on disk, whatever happens to this process.
        let outcome = send();
        match outcome {
            Ok(value) => {
                if set(&mut state, key, secret, 0) {
                    lock.write(&state)?;
                }
                Ok(value)
            }
            Err(LoginOutcome::WrongSecret) => match LIMIT - (before + 1) {
                0 => Err(secret.blocked()),
                left => Err(secret.wrong(left)),
            },
            Err(LoginOutcome::Locked) => Err(secret.blocked()),
            Err(LoginOutcome::NotChecked(e)) => {
                set(&mut state, key, secret, before);
                lock.write(&state)?;
                Err(e)
            }
            Err(LoginOutcome::Unknown(e)) => Err(e),
        }
    }

    fn lock(&self) -> Result<Locked<'_>> {
        let path = self.dir.join(LOCK_FILE);
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| io_error(&path, e))?;
        // flock(2) on Unix, LockFileEx on Windows: exclusive, released by the kernel when
        // the process dies, so a SIGKILLed agent never leaves the counter locked.
        file.lock().map_err(|e| io_error(&path, e))?;
        Ok(Locked { counter: self, _file: file })
    }
}

/// Sets a count; returns whether anything changed. Zero counts are dropped from the file.
fn set(state: &mut State, key: &str, secret: Secret, value: u8) -> bool {
    let current = state.tokens.get(key).copied().unwrap_or_default();
    if current.get(secret) == value {
        return false;
    }
    let mut next = current;
    *next.slot(secret) = value;
    if next == Counts::default() {
        state.tokens.remove(key);
    } else {
        state.tokens.insert(key.to_owned(), next);
    }
    true
}

impl Locked<'_> {
    fn read(&self) -> Result<State> {
        let path = self.counter.dir.join(DATA_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Internal(format!("PIN counter file {} is unreadable ({e}); refusing PIN entry", path.display()))
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(State { version: 1, tokens: BTreeMap::new() }),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn write(&self, state: &State) -> Result<()> {
        let dir = &self.counter.dir;
        let tmp = dir.join(TEMP_FILE);
        let data = dir.join(DATA_FILE);
        let mut json = serde_json::to_vec_pretty(&State { version: 1, tokens: state.tokens.clone() })
            .map_err(|e| Error::Internal(e.to_string()))?;
        json.push(b'\n');
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
        file.write_all(&json).map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, &data).map_err(|e| io_error(&data, e))?;
        // The rename is durable only once the directory entry is: fsync the directory
        // (POSIX; Windows has no directory handles to sync and MoveFileEx is journaled).
        #[cfg(unix)]
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))?;
        Ok(())
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mohur-retry-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn counts_down_blocks_and_refuses_without_sending() {
        let dir = temp_dir("block");
        let c = RetryCounter::open(&dir).unwrap();
        let sent = Cell::new(0);
        let wrong = || {
            sent.set(sent.get() + 1);
            Err::<(), _>(LoginOutcome::WrongSecret)
        };
        for left in (1..LIMIT).rev() {
            assert_eq!(c.attempt("t:1", Secret::UserPin, wrong).unwrap_err().tries_left(), Some(left));
        }
        assert!(matches!(c.attempt("t:1", Secret::UserPin, wrong), Err(Error::PinBlocked)));
        assert_eq!(sent.get(), 10);
        assert!(matches!(c.attempt("t:1", Secret::UserPin, || Ok(())), Err(Error::PinBlocked)));
        assert!(matches!(c.attempt("t:1", Secret::UserPin, wrong), Err(Error::PinBlocked)));
        assert_eq!(sent.get(), 10, "a blocked counter must not call the closure");
        assert_eq!(c.tries_left("t:1", Secret::UserPin).unwrap(), 0);
        // Other secret and other token are untouched.
        assert_eq!(c.tries_left("t:1", Secret::SoPin).unwrap(), 10);
        assert_eq!(c.tries_left("t:2", Secret::UserPin).unwrap(), 10);
        c.reset("t:1", Secret::UserPin).unwrap();
        assert_eq!(c.tries_left("t:1", Secret::UserPin).unwrap(), 10);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn charged_on_disk_before_sending_and_cleared_on_success() {
        let dir = temp_dir("charge");
        let c = RetryCounter::open(&dir).unwrap();
        let other = RetryCounter::open(&dir).unwrap();
        let seen = c
            .attempt("t", Secret::SoPin, || {
                // Read the file directly: the lock is ours, so do not go through `other`.
                let json: State = serde_json::from_slice(&fs::read(dir.join(DATA_FILE)).unwrap()).unwrap();
                Ok(json.tokens["t"].so_pin)
            })
            .unwrap();
        assert_eq!(seen, 1, "the try must be on disk while the secret is out");
        assert_eq!(other.failures("t", Secret::SoPin).unwrap(), 0);
        let err = c.attempt("t", Secret::SoPin, || Err::<(), _>(LoginOutcome::WrongSecret)).unwrap_err();
        assert!(matches!(err, Error::PukIncorrect { tries_left: Some(9) }));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn not_checked_gives_the_try_back_unknown_does_not() {
        let dir = temp_dir("outcomes");
        let c = RetryCounter::open(&dir).unwrap();
        let e = c.attempt("t", Secret::UserPin, || Err::<(), _>(LoginOutcome::NotChecked(Error::TokenRemoved)));
        assert!(matches!(e, Err(Error::TokenRemoved)));
        assert_eq!(c.failures("t", Secret::UserPin).unwrap(), 0);
        let e = c.attempt("t", Secret::UserPin, || Err::<(), _>(LoginOutcome::Unknown(Error::TokenRemoved)));
        assert!(matches!(e, Err(Error::TokenRemoved)));
        assert_eq!(c.failures("t", Secret::UserPin).unwrap(), 1);
        let e = c.attempt("t", Secret::UserPin, || Err::<(), _>(LoginOutcome::Locked));
        assert!(matches!(e, Err(Error::PinBlocked)));
        assert_eq!(c.failures("t", Secret::UserPin).unwrap(), 2);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_file_fails_closed() {
        let dir = temp_dir("corrupt");
        let c = RetryCounter::open(&dir).unwrap();
        fs::write(dir.join(DATA_FILE), b"{ not json").unwrap();
        let called = Cell::new(false);
        let e = c.attempt("t", Secret::UserPin, || {
            called.set(true);
            Ok(())
        });
        assert!(matches!(e, Err(Error::Internal(_))));
        assert!(!called.get());
        fs::remove_dir_all(dir).unwrap();
    }
}
