//! Secrets mohur keeps between runs live in the OS keyring, never in a file of ours.
//!
//! - **Linux**: the kernel keyring, the user's persistent keyring (`keyring`'s
//!   `linux-native` store: no daemon, no D-Bus), which every process of the user sees
//!   but which forgets everything at reboot or after a few idle days
//!   (`/proc/sys/kernel/keys/persistent_keyring_expiry`); and, where the desktop runs
//!   one, the Secret Service (GNOME Keyring, KWallet, KeePassXC: freedesktop.org Secret
//!   Service API 0.2), which keeps secrets across reboots, encrypted with the login
//!   password. Secrets are written to both; read from the kernel keyring first (no
//!   D-Bus round trip, and it works for processes outside the desktop session), else
//!   from the Secret Service, and then cached in the kernel keyring again.
//! - **Windows**: the Credential Manager (DPAPI, per user).
//!
//! Two secrets today: the HMAC key that protects the agent's `origins.json` from
//! silent edits by other programs of the same user, and the private key of the
//! loopback CA ([`crate::loopback`]) that `mohur-install install --loopback-tls` makes.
//! Losing one is safe: the remembered sites stop verifying and the citizen is asked
//! again; the agent serves `ws://` only until the loopback CA is made again.

use zeroize::Zeroizing;

/// Why a secret could not be read or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OS keyring: {0}")]
pub struct KeyringError(pub String);

/// A place for named secrets.
pub trait SecretStore: Send + Sync {
    /// The secret `name`; `Ok(None)` when there is none yet.
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyringError>;
    /// Stores `secret` as `name`, replacing any older one.
    fn set(&self, name: &str, secret: &[u8]) -> Result<(), KeyringError>;
    /// Forgets `name` (no error when it is not there).
    fn delete(&self, name: &str) -> Result<(), KeyringError>;
}

/// The keyring service of mohur's entries: `mohur`, or `$MOHUR_KEYRING_SERVICE`.
pub fn mohur_service() -> String {
    std::env::var("MOHUR_KEYRING_SERVICE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "mohur".to_owned())
}

/// The OS keyring, with entries `name` under service `service` (`mohur` for the
/// agent; the tests use their own service so that they never touch the citizen's).
pub struct OsKeyring {
    service: String,
    /// Linux: whether a Secret Service answered, asked on first use.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    secret_service_reachable: std::sync::OnceLock<bool>,
}

impl OsKeyring {
    /// mohur's entries: service `mohur`, or `$MOHUR_KEYRING_SERVICE` when set (tests
    /// that run the real binaries use their own, never the citizen's entries).
    pub fn mohur() -> OsKeyring {
        OsKeyring::with_service(&mohur_service())
    }

    /// Entries under another service name.
    pub fn with_service(service: &str) -> OsKeyring {
        OsKeyring { service: service.to_owned(), secret_service_reachable: std::sync::OnceLock::new() }
    }

    /// The kernel keyring alone, never the Secret Service: what a process outside the
    /// desktop session sees, and what a reboot takes away (tests).
    pub fn kernel_only(service: &str) -> OsKeyring {
        OsKeyring { service: service.to_owned(), secret_service_reachable: std::sync::OnceLock::from(false) }
    }

    /// Where [`set`](SecretStore::set) puts secrets, for messages.
    pub fn describe(&self) -> &'static str {
        if cfg!(windows) {
            "the Windows Credential Manager"
        } else if self.survives_reboot() {
            "the Secret Service and the kernel keyring (kept across restarts)"
        } else {
            "the kernel keyring (until the computer restarts: no Secret Service to keep it)"
        }
    }
}

impl OsKeyring {
    /// The keyring entry of `name`. On Linux it is looked up in, and stored to, the
    /// user's persistent keyring itself rather than the session keyring `keyring`
    /// starts from: a process outside a login session (the agent started by systemd,
    /// a CI job, a test) gets an anonymous session keyring of its own, so a key made
    /// there would be invisible to the next process (`mohur origins` after the agent).
    /// The persistent keyring is the user's, shared by all their processes, and is
    /// where `keyring` links every key anyway. Kernels without persistent keyrings
    /// fall back to `keyring`'s session lookup.
    #[cfg(target_os = "linux")]
    fn entry(&self, name: &str) -> Result<keyring::Entry, KeyringError> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        match KeyRing::get_persistent(KeyRingIdentifier::Process) {
            Ok(persistent) => {
                Ok(keyring::Entry::new_with_credential(Box::new(keyring::keyutils::KeyutilsCredential {
                    session: persistent,
                    persistent: Some(persistent),
                    description: format!("keyring-rs:{name}@{}", self.service),
                })))
            }
            Err(_) => keyring::Entry::new(&self.service, name).map_err(|e| KeyringError(e.to_string())),
        }
    }

    #[cfg(windows)]
    fn entry(&self, name: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(&self.service, name).map_err(|e| KeyringError(e.to_string()))
    }
}

impl OsKeyring {
    /// The Secret Service entry of `name`, when this session has a bus and a Secret
    /// Service answers on it (asked once per [`OsKeyring`]).
    #[cfg(target_os = "linux")]
    fn secret_service(&self, name: &str) -> Option<keyring::Entry> {
        let reachable = *self.secret_service_reachable.get_or_init(|| {
            // Without a session bus address libdbus would try to autolaunch one.
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
                && matches!(
                    self.secret_service_entry("mohur-probe").map(|e| e.get_secret()),
                    Some(Ok(_) | Err(keyring::Error::NoEntry))
                )
        });
        if reachable {
            self.secret_service_entry(name)
        } else {
            None
        }
    }

    #[cfg(target_os = "linux")]
    fn secret_service_entry(&self, name: &str) -> Option<keyring::Entry> {
        let credential = keyring::secret_service::SsCredential::new_with_target(None, &self.service, name).ok()?;
        Some(keyring::Entry::new_with_credential(Box::new(credential)))
    }

    /// Whether what is stored now survives a reboot: always on Windows; on Linux
    /// only where a Secret Service keeps it (the kernel keyring forgets at reboot).
    pub fn survives_reboot(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.secret_service("mohur-probe").is_some();
        #[cfg(not(target_os = "linux"))]
        return cfg!(windows);
    }
}

#[cfg(any(target_os = "linux", windows))]
fn keyring_error(e: keyring::Error) -> KeyringError {
    KeyringError(e.to_string())
}

#[cfg(target_os = "linux")]
impl SecretStore for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyringError> {
        let kernel = self.entry(name)?;
        let kernel_error = match kernel.get_secret() {
            Ok(s) => return Ok(Some(Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => None,
            Err(e) => Some(keyring_error(e)),
        };
        if let Some(ss) = self.secret_service(name) {
            match ss.get_secret() {
                Ok(s) => {
                    let s = Zeroizing::new(s);
                    // Cached for the next process; the Secret Service still has it if not.
                    let _ = kernel.set_secret(&s);
                    return Ok(Some(s));
                }
                Err(keyring::Error::NoEntry) => {}
                Err(e) => return Err(keyring_error(e)),
            }
        }
        kernel_error.map_or(Ok(None), Err)
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), KeyringError> {
        if let Some(ss) = self.secret_service(name) {
            ss.set_secret(secret).map_err(keyring_error)?;
        }
        self.entry(name)?.set_secret(secret).map_err(keyring_error)
    }

    fn delete(&self, name: &str) -> Result<(), KeyringError> {
        let gone = |r: Result<(), keyring::Error>| match r {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        };
        if let Some(ss) = self.secret_service(name) {
            gone(ss.delete_credential())?;
        }
        gone(self.entry(name)?.delete_credential())
    }
}

#[cfg(windows)]
impl SecretStore for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyringError> {
        match self.entry(name)?.get_secret() {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), KeyringError> {
        self.entry(name)?.set_secret(secret).map_err(keyring_error)
    }

    fn delete(&self, name: &str) -> Result<(), KeyringError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// No keyring backend is built for this OS: every call says so, and the callers fall
/// back to keeping nothing.
#[cfg(not(any(target_os = "linux", windows)))]
impl SecretStore for OsKeyring {
    fn get(&self, _: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyringError> {
        Err(KeyringError("no keyring on this OS".into()))
    }

    fn set(&self, _: &str, _: &[u8]) -> Result<(), KeyringError> {
        Err(KeyringError("no keyring on this OS".into()))
    }

    fn delete(&self, _: &str) -> Result<(), KeyringError> {
        Err(KeyringError("no keyring on this OS".into()))
    }
}

/// The 32-byte key `name`, made from the OS's random numbers and stored on first use.
/// Read back after storing, so that two processes creating it at once end up using
/// the same (the last one written).
pub fn key_or_create(store: &dyn SecretStore, name: &str) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
    if let Some(k) = store.get(name)?.filter(|k| k.len() == 32) {
        return Ok(k);
    }
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut key)
        .map_err(|e| KeyringError(format!("no random numbers: {e}")))?;
    store.set(name, &key)?;
    store.get(name)?.filter(|k| k.len() == 32).ok_or_else(|| KeyringError("the key did not stay in the keyring".into()))
}

/// An in-memory store (tests), or one that is always unavailable (`Memory::broken`),
/// standing in for a machine without a keyring.
#[doc(hidden)]
pub mod testing {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Secrets in a map.
    #[derive(Default)]
    pub struct Memory {
        secrets: Mutex<BTreeMap<String, Vec<u8>>>,
        broken: bool,
    }

    impl Memory {
        /// A store whose every call fails, like a session without a keyring.
        pub fn broken() -> Memory {
            Memory { broken: true, ..Memory::default() }
        }

        fn check(&self) -> Result<(), KeyringError> {
            if self.broken {
                Err(KeyringError("no keyring (test)".into()))
            } else {
                Ok(())
            }
        }
    }

    impl SecretStore for Memory {
        fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeyringError> {
            self.check()?;
            Ok(self.secrets.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned().map(Zeroizing::new))
        }

        fn set(&self, name: &str, secret: &[u8]) -> Result<(), KeyringError> {
            self.check()?;
            self.secrets.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), secret.to_vec());
            Ok(())
        }

        fn delete(&self, name: &str) -> Result<(), KeyringError> {
            self.check()?;
            self.secrets.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_kept() {
        let store = testing::Memory::default();
        let a = key_or_create(&store, "k").unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(*a, vec![0u8; 32]);
        assert_eq!(key_or_create(&store, "k").unwrap(), a);
        assert!(key_or_create(&testing::Memory::broken(), "k").is_err());
    }

    /// The real kernel keyring (this needs a session keyring: `keyctl session - cargo
    /// test`, or a login session's). The service name is the test's own, and the
    /// entry is deleted at the end.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_keyring_keeps_a_secret() {
        let store = OsKeyring::with_service(&format!("mohur-test-{}", std::process::id()));
        let name = "round-trip";
        let _ = store.delete(name);
        assert_eq!(store.get(name).unwrap(), None);
        let key = key_or_create(&store, name)
            .unwrap_or_else(|e| panic!("{e}: run the tests inside `keyctl session - <command>`"));
        assert_eq!(
            OsKeyring::with_service(&format!("mohur-test-{}", std::process::id())).get(name).unwrap(),
            Some(key)
        );
        store.delete(name).unwrap();
        assert_eq!(store.get(name).unwrap(), None);
    }
}
