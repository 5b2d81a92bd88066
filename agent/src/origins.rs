//! Which web origins may use the agent: from the configuration, or allowed by the
//! citizen on first use (remembered in `origins.json`, revocable), or refused for the
//! rest of this run.
//!
//! Also the checks made on the HTTP upgrade request, before a WebSocket exists
//! (`agent/PROTOCOL.md` § Who may connect): `Host` against DNS rebinding, `Origin`
//! against cross-site WebSocket hijacking.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct Remembered {
    allowed: BTreeSet<String>,
}

/// The allow list.
pub struct Origins {
    configured: BTreeSet<String>,
    file: PathBuf,
    /// Origins the citizen refused during this run.
    denied: Mutex<BTreeSet<String>>,
}

impl Origins {
    /// Loads the remembered origins from `data_dir/origins.json`; `configured` are
    /// allowed without asking. A corrupt file is reported and treated as empty.
    pub fn load(data_dir: PathBuf, configured: &[String]) -> Result<Origins> {
        let mut conf = BTreeSet::new();
        for o in configured {
            conf.insert(normalize_origin(o).map_err(|e| Error::BadRequest(format!("allowed_origins: {e}")))?);
        }
        Ok(Origins { configured: conf, file: data_dir.join("origins.json"), denied: Mutex::new(BTreeSet::new()) })
    }

    /// The remembered origins, read afresh: `mohur origins revoke` in another process
    /// takes effect at once.
    fn read(&self) -> Remembered {
        match std::fs::read(&self.file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(file = %self.file.display(), error = %e, "ignoring a corrupt origins file");
                Remembered::default()
            }),
            Err(_) => Remembered::default(),
        }
    }

    /// The decision for `origin`.
    pub fn decision(&self, origin: &str) -> Decision {
        if self.configured.contains(origin) {
            return Decision::Allowed;
        }
        if self.read().allowed.contains(origin) {
            Decision::Allowed
        } else if self.denied.lock().unwrap_or_else(|e| e.into_inner()).contains(origin) {
            Decision::Denied
        } else {
            Decision::Unknown
        }
    }

    /// Records the citizen's answer; a "yes" is saved to disk.
    pub fn record(&self, origin: &str, allowed: bool) -> Result<()> {
        let mut denied = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        if allowed {
            denied.remove(origin);
            let mut r = self.read();
            r.allowed.insert(origin.to_owned());
            save(&self.file, &r)
        } else {
            denied.insert(origin.to_owned());
            Ok(())
        }
    }

    /// Forgets a remembered origin; true if it was there.
    pub fn revoke(&self, origin: &str) -> Result<bool> {
        let _guard = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = self.read();
        let had = r.allowed.remove(origin);
        if had {
            save(&self.file, &r)?;
        }
        Ok(had)
    }

    /// Remembered origins (not the configured ones).
    pub fn remembered(&self) -> Vec<String> {
        self.read().allowed.into_iter().collect()
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

    #[test]
    fn consent_is_remembered_and_revocable() {
        let dir = std::env::temp_dir().join(format!("mohur-origins-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let o = Origins::load(dir.clone(), &["https://e-gov.az".into()]).unwrap();
        assert_eq!(o.decision("https://e-gov.az"), Decision::Allowed);
        assert_eq!(o.decision("https://bank.example"), Decision::Unknown);
        o.record("https://evil.example", false).unwrap();
        assert_eq!(o.decision("https://evil.example"), Decision::Denied);
        o.record("https://bank.example", true).unwrap();
        let again = Origins::load(dir.clone(), &[]).unwrap();
        assert_eq!(again.decision("https://bank.example"), Decision::Allowed);
        assert_eq!(again.decision("https://evil.example"), Decision::Unknown);
        assert!(again.revoke("https://bank.example").unwrap());
        assert_eq!(Origins::load(dir.clone(), &[]).unwrap().decision("https://bank.example"), Decision::Unknown);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
