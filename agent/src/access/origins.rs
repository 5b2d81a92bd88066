//! Which web origins may use the agent: from the configuration, or allowed by the
//! citizen on first use (remembered in `origins.json`, revocable), or refused for the
//! rest of this run.
//!
//! `origins.json` carries an HMAC-SHA256 of its list under a key kept in the OS
//! keyring ([`mohur_platform::secrets`]), so that another program of the same user cannot add a
//! site silently: a file whose MAC does not verify is ignored with a warning, as if no
//! site were remembered, and the citizen is asked again. Without a keyring (no
//! session keyring, a CI box) nothing is remembered across runs: a "yes" holds for
//! the rest of this run only. Asking again is the safe way to fail.
//!
//! Also the checks made on the HTTP upgrade request, before a WebSocket exists
//! (`agent/PROTOCOL.md` § Who may connect): `Host` against DNS rebinding, `Origin`
//! against cross-site WebSocket hijacking.

use crate::{Error, Result};
use hmac::{Hmac, Mac};
use mohur_platform::secrets::{self, OsKeyring, SecretStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The keyring entry of the HMAC key.
const KEY_NAME: &str = "origins-hmac-key";

/// What the agent knows about an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed (config or remembered consent).
    Allowed,
    /// Refused by the citizen during this run.
    Denied,
    /// Never asked.
    Unknown,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Remembered {
    allowed: BTreeSet<String>,
    /// Hex HMAC-SHA256 of `allowed` ([`mac`]).
    #[serde(default)]
    mac: String,
}

/// The MAC of a list: over a label (so the key can serve nothing else by mistake) and
/// the list's JSON, which is canonical (a sorted set of strings).
fn mac(key: &[u8], allowed: &BTreeSet<String>) -> String {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"mohur origins.json v1\n");
    m.update(&serde_json::to_vec(allowed).unwrap_or_default());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The allow list.
pub struct Origins {
    configured: BTreeSet<String>,
    file: PathBuf,
    /// Origins the citizen refused during this run.
    denied: Mutex<BTreeSet<String>>,
    /// Origins allowed during this run that could not be remembered (no keyring).
    allowed_this_run: Mutex<BTreeSet<String>>,
    /// Where the HMAC key lives.
    keys: Arc<dyn SecretStore>,
    /// The last read: the file's bytes (`None`: no file) and what they were found to
    /// say. Every request asks for a decision; asking the keyring and checking the MAC
    /// again only when the bytes changed keeps that off the hot path (and a tamper
    /// warning is logged once, not per request). Comparing bytes, not timestamps: a
    /// file rewritten within one clock tick at the same length must not look unchanged.
    cache: Mutex<Option<(Option<Vec<u8>>, Remembered)>>,
}

impl Origins {
    /// Loads the remembered origins from `data_dir/origins.json`; `configured` are
    /// allowed without asking. A corrupt file is reported and treated as empty.
    pub fn load(data_dir: PathBuf, configured: &[String]) -> Result<Origins> {
        Origins::with_keys(data_dir, configured, Arc::new(OsKeyring::mohur()))
    }

    /// [`Origins::load`] with the HMAC key in `keys` instead of the OS keyring.
    pub fn with_keys(data_dir: PathBuf, configured: &[String], keys: Arc<dyn SecretStore>) -> Result<Origins> {
        let mut conf = BTreeSet::new();
        for o in configured {
            conf.insert(normalize_origin(o).map_err(|e| Error::BadRequest(format!("allowed_origins: {e}")))?);
        }
        Ok(Origins {
            configured: conf,
            file: data_dir.join("origins.json"),
            denied: Mutex::new(BTreeSet::new()),
            allowed_this_run: Mutex::new(BTreeSet::new()),
            keys,
            cache: Mutex::new(None),
        })
    }

    /// The remembered origins, read afresh whenever the file changed: `mohur origins
    /// revoke` in another process takes effect at once. A file that is corrupt, or whose MAC does not verify (or
    /// cannot be checked: no key), counts as empty.
    fn read(&self) -> Remembered {
        let bytes = std::fs::read(&self.file).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, r)) = cache.as_ref() {
            if *seen == bytes {
                return r.clone();
            }
        }
        let r = self.verify(bytes.as_deref());
        *cache = Some((bytes, r.clone()));
        r
    }

    /// What the file's `bytes` say, if their MAC verifies (see [`Origins::read`]).
    fn verify(&self, bytes: Option<&[u8]>) -> Remembered {
        let file = self.file.display();
        let r: Remembered = match bytes {
            Some(bytes) => match serde_json::from_slice(bytes) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(%file, error = %e, "ignoring a corrupt origins file");
                    return Remembered::default();
                }
            },
            None => return Remembered::default(),
        };
        let verified = match self.keys.get(KEY_NAME) {
            Ok(Some(key)) => {
                let expected = mac(&key, &r.allowed);
                // Constant time is not needed against a local file, but costs nothing.
                expected.len() == r.mac.len()
                    && expected.bytes().zip(r.mac.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
            Ok(None) => {
                tracing::warn!(%file, "ignoring the remembered sites: their key is not in the OS keyring any more");
                return Remembered::default();
            }
            Err(e) => {
                tracing::warn!(%file, error = %e, "ignoring the remembered sites: they cannot be checked");
                return Remembered::default();
            }
        };
        if !verified {
            tracing::warn!(%file, "ignoring the remembered sites: the file was changed outside mohur");
            return Remembered::default();
        }
        r
    }

    /// The decision for `origin`.
    pub fn decision(&self, origin: &str) -> Decision {
        if self.configured.contains(origin) {
            return Decision::Allowed;
        }
        if self.read().allowed.contains(origin) || self.this_run().contains(origin) {
            Decision::Allowed
        } else if self.denied.lock().unwrap_or_else(|e| e.into_inner()).contains(origin) {
            Decision::Denied
        } else {
            Decision::Unknown
        }
    }

    fn this_run(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.allowed_this_run.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the citizen's answer; a "yes" is saved to disk, signed with the key
    /// from the keyring (made on first use). Without a keyring it holds for this run.
    pub fn record(&self, origin: &str, allowed: bool) -> Result<()> {
        let mut denied = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        if allowed {
            denied.remove(origin);
            let key = match secrets::key_or_create(&*self.keys, KEY_NAME) {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(%origin, error = %e, "allowed for this run only: no keyring to protect the list");
                    self.this_run().insert(origin.to_owned());
                    return Ok(());
                }
            };
            let mut r = self.read();
            r.allowed.insert(origin.to_owned());
            r.mac = mac(&key, &r.allowed);
            save(&self.file, &r)
        } else {
            denied.insert(origin.to_owned());
            Ok(())
        }
    }

    /// Forgets a remembered origin; true if it was there.
    pub fn revoke(&self, origin: &str) -> Result<bool> {
        let _guard = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        let mut had = self.this_run().remove(origin);
        let mut r = self.read();
        if r.allowed.remove(origin) {
            had = true;
            // read() verified the file, so the key is there.
            let key = self.keys.get(KEY_NAME).ok().flatten().ok_or_else(|| Error::Internal("keyring".into()))?;
            r.mac = mac(&key, &r.allowed);
            save(&self.file, &r)?;
        }
        Ok(had)
    }

    /// Origins the citizen allowed (not the configured ones): remembered, or for this
    /// run only.
    pub fn remembered(&self) -> Vec<String> {
        let mut all = self.read().allowed;
        all.extend(self.this_run().iter().cloned());
        all.into_iter().collect()
    }

    /// Origins allowed by the configuration.
    pub fn configured(&self) -> Vec<String> {
        self.configured.iter().cloned().collect()
    }
}

/// Writes atomically: a crash leaves the old file or the new one, never half.
fn save(file: &std::path::Path, r: &Remembered) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("json.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec_pretty(r).map_err(|e| Error::Internal(e.to_string()))?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file)?;
    Ok(())
}

/// Parses and normalises an origin (RFC 6454 §6.1 serialisation): `scheme://host[:port]`
/// with scheme `https` or `http`, lower-case host, default ports dropped, no path,
/// query, fragment or user info.
pub fn normalize_origin(origin: &str) -> Result<String, String> {
    let (scheme, rest) = origin.split_once("://").ok_or("not an origin")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!("scheme {scheme:?} is not http(s)"));
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', '\\']) {
        return Err("an origin has only a host and a port".into());
    }
    let (host, port) = split_host_port(rest).ok_or("bad host or port")?;
    let host = host.to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Splits `host[:port]` / `[v6][:port]`; the host must be non-empty.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&s[..end + 2], port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => None,
    };
    Some((host, port))
}

/// True for the loopback host names a page on this machine uses for itself.
fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// The `Host` check (DNS rebinding): `127.0.0.1:PORT`, `localhost:PORT` or
/// `[::1]:PORT` with our own port, nothing else.
pub fn check_host(host: Option<&str>, port: u16) -> Result<(), &'static str> {
    let host = host.ok_or("no Host header")?;
    let (name, p) = split_host_port(host).ok_or("malformed Host header")?;
    if is_loopback_host(&name.to_ascii_lowercase()) && p == Some(port) {
        Ok(())
    } else {
        Err("host not allowed")
    }
}

/// The `Origin` check made before the upgrade: present, well-formed, https — or, in
/// dev mode, an http origin on this machine. Returns the normalised origin.
pub fn check_origin(origin: Option<&str>, dev: bool) -> Result<String, &'static str> {
    let raw = origin.ok_or("no Origin header")?;
    let origin = normalize_origin(raw).map_err(|_| "malformed Origin header")?;
    if origin.starts_with("https://") {
        return Ok(origin);
    }
    let host = origin.trim_start_matches("http://");
    let name = split_host_port(host).map(|(h, _)| h).unwrap_or("");
    if dev && is_loopback_host(name) {
        Ok(origin)
    } else {
        Err("origin not allowed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mohur_platform::secrets::testing::Memory;

    #[test]
    fn origins_normalise() {
        assert_eq!(normalize_origin("HTTPS://E-Gov.AZ:443").unwrap(), "https://e-gov.az");
        assert_eq!(normalize_origin("https://e-gov.az:8443").unwrap(), "https://e-gov.az:8443");
        assert_eq!(normalize_origin("http://[::1]:80").unwrap(), "http://[::1]");
        for bad in ["https://e-gov.az/", "https://a@b", "ftp://x", "https://", "https://x:0", "https://x:99999", "null"]
        {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_header_must_be_loopback_with_our_port() {
        assert!(check_host(Some("127.0.0.1:29170"), 29170).is_ok());
        assert!(check_host(Some("localhost:29170"), 29170).is_ok());
        assert!(check_host(Some("[::1]:29170"), 29170).is_ok());
        for bad in ["evil.example:29170", "127.0.0.1:80", "127.0.0.1", "localhost.evil.example:29170", "", "[::1]"] {
            assert!(check_host(Some(bad), 29170).is_err(), "{bad}");
        }
        assert!(check_host(None, 29170).is_err());
    }

    #[test]
    fn origin_header_rules() {
        assert_eq!(check_origin(Some("https://e-gov.az"), false).unwrap(), "https://e-gov.az");
        assert!(check_origin(Some("http://e-gov.az"), true).is_err());
        assert!(check_origin(Some("http://localhost:8080"), false).is_err());
        assert_eq!(check_origin(Some("http://localhost:8080"), true).unwrap(), "http://localhost:8080");
        assert!(check_origin(Some("null"), true).is_err());
        assert!(check_origin(None, true).is_err());
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mohur-origins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn consent_is_remembered_and_revocable() {
        let dir = temp("consent");
        let keys: Arc<dyn SecretStore> = Arc::new(Memory::default());
        let load = |conf: &[String]| Origins::with_keys(dir.clone(), conf, keys.clone()).unwrap();
        let o = load(&["https://e-gov.az".into()]);
        assert_eq!(o.decision("https://e-gov.az"), Decision::Allowed);
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown);
        o.record("https://evil.example", false).unwrap();
        assert_eq!(o.decision("https://evil.example"), Decision::Denied);
        o.record("https://bank.example", true).unwrap();
        let again = load(&[]);
        assert_eq!(again.decision("https://bank.example"), Decision::Allowed);
        assert_eq!(again.decision("https://evil.example"), Decision::Unknown);
        assert!(again.revoke("https://bank.example").unwrap());
        assert_eq!(load(&[]).decision("https://bank.example"), Decision::Unknown);
        assert!(!again.revoke("https://bank.example").unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Another program edits origins.json: adds a site, or swaps in a file signed
    /// with another key. Both are ignored, and the citizen is asked again.
    #[test]
    fn a_tampered_file_is_ignored() {
        let dir = temp("tamper");
        let keys: Arc<dyn SecretStore> = Arc::new(Memory::default());
        let o = Origins::with_keys(dir.clone(), &[], keys.clone()).unwrap();
        o.record("https://bank.example", true).unwrap();
        let file = dir.join("origins.json");
        let good = std::fs::read_to_string(&file).unwrap();
        assert!(good.contains("\"mac\""), "{good}");
        assert_eq!(o.remembered(), vec!["https://bank.example".to_owned()]);

        // A site added by hand, MAC unchanged.
        let added = good.replace("\"https://bank.example\"", "\"https://bank.example\", \"https://evil.example\"");
        std::fs::write(&file, &added).unwrap();
        assert_eq!(o.decision("https://evil.example"), Decision::Unknown);
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown, "the whole file is distrusted");
        assert!(o.remembered().is_empty());

        // The MAC removed, or flipped.
        let v: serde_json::Value = serde_json::from_str(&good).unwrap();
        std::fs::write(&file, serde_json::json!({"allowed": v["allowed"]}).to_string()).unwrap();
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown);
        let mac = v["mac"].as_str().unwrap();
        let flipped = format!("{}{}", if mac.starts_with('0') { "1" } else { "0" }, &mac[1..]);
        std::fs::write(&file, good.replace(mac, &flipped)).unwrap();
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown);

        // A file made under another key (another user's, or a key since lost).
        std::fs::write(&file, &good).unwrap();
        assert_eq!(o.decision("https://bank.example"), Decision::Allowed);
        let other = Origins::with_keys(dir.clone(), &[], Arc::new(Memory::default())).unwrap();
        assert_eq!(other.decision("https://bank.example"), Decision::Unknown);
        // Recording under the new key starts a fresh list: the old site is not carried over.
        other.record("https://shop.example", true).unwrap();
        assert_eq!(other.remembered(), vec!["https://shop.example".to_owned()]);
        assert_eq!(o.decision("https://shop.example"), Decision::Unknown);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// No keyring: a "yes" holds for this run only, nothing is written, and a file
    /// from before cannot be checked, so it is ignored.
    #[test]
    fn without_a_keyring_nothing_is_remembered() {
        let dir = temp("nokeyring");
        let keys: Arc<dyn SecretStore> = Arc::new(Memory::default());
        Origins::with_keys(dir.clone(), &[], keys).unwrap().record("https://old.example", true).unwrap();
        let o = Origins::with_keys(dir.clone(), &[], Arc::new(Memory::broken())).unwrap();
        assert_eq!(o.decision("https://old.example"), Decision::Unknown);
        let before = std::fs::read(dir.join("origins.json")).unwrap();
        o.record("https://bank.example", true).unwrap();
        assert_eq!(o.decision("https://bank.example"), Decision::Allowed);
        assert_eq!(o.remembered(), vec!["https://bank.example".to_owned()]);
        assert_eq!(std::fs::read(dir.join("origins.json")).unwrap(), before, "nothing written");
        let next_run = Origins::with_keys(dir.clone(), &[], Arc::new(Memory::broken())).unwrap();
        assert_eq!(next_run.decision("https://bank.example"), Decision::Unknown);
        assert!(o.revoke("https://bank.example").unwrap());
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
