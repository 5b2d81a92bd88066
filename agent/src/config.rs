//! The agent's configuration: a TOML file plus command-line flags.
//!
//! The file is `--config FILE`, else `$MOHUR_CONFIG`, else
//! `$XDG_CONFIG_HOME/mohur/agent.toml` (`~/.config/mohur/agent.toml`); a missing
//! default file means the defaults. Unknown keys are an error, so a typo never
//! silently weakens a security setting.

use crate::{Error, Result};
use mohur_platform::dirs::{user_dir, Kind};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The documented default port (`agent/PROTOCOL.md`).
pub const DEFAULT_PORT: u16 = 29170;

/// Everything the agent can be told.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// TCP port on loopback.
    pub port: u16,
    /// Dev mode: also accept `http://localhost[:port]` and `http://127.0.0.1[:port]`
    /// origins (never in production: any local web server could call the agent).
    pub dev: bool,
    /// Origins allowed without asking (`https://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Ask the citizen about origins that are neither allowed nor denied; when false
    /// they get `ORIGIN_NOT_ALLOWED` at once.
    pub ask_unknown_origins: bool,
    /// Largest WebSocket message accepted from an allowed site (a site the citizen has
    /// not allowed may send 4 KiB).
    pub max_message_bytes: usize,
    /// Bytes of requests in flight across all connections (received, parsed or waiting
    /// for the citizen), counted twice over for the copies a request makes
    /// ([`crate::server::budget`]): a request that does not fit gets `BUSY` without
    /// being buffered. At least twice `max_message_bytes`.
    pub max_in_flight_bytes: usize,
    /// Open WebSocket connections in all.
    pub max_connections: usize,
    /// Open WebSocket connections of one site (registrable domain) the citizen has not
    /// allowed; allowed sites are bounded by `max_connections` only.
    pub max_connections_per_site: usize,
    /// Seconds a dialog waits for the citizen before `TIMEOUT`.
    pub prompt_timeout_seconds: u64,
    /// Vendor PKCS#11 modules to load (USB tokens).
    pub pkcs11_modules: Vec<PathBuf>,
    /// Also load the well-known vendor modules that are installed.
    pub probe_well_known_modules: bool,
    /// Use only these PC/SC readers (exact names); empty = all.
    pub readers: Vec<String>,
    /// Watch PC/SC readers at all (off for a PKCS#11-only or simulated setup).
    pub pcsc: bool,
    /// Where remembered origins live (default `$XDG_DATA_HOME/mohur`, `%LOCALAPPDATA%\\mohur`).
    pub data_dir: Option<PathBuf>,
    /// Where the PIN failure counters live (default `$XDG_STATE_HOME/mohur`, `%LOCALAPPDATA%\\mohur`).
    pub state_dir: Option<PathBuf>,
    /// `tracing` filter, e.g. `info` or `mohur_agent=debug`.
    pub log_level: String,
    /// A PEM file of intermediate CA certificates (the PCA and ICA): the ones a signer
    /// certificate chains through are embedded in every CMS signature, so that a
    /// verifier needs only the root.
    pub intermediates: Option<PathBuf>,
    /// Language of every message: `az`, `hy` or `en` (default: from the locale).
    pub language: Option<String>,
    /// RFC 3161 time-stamping authorities (`http://` or `https://`), tried in order, for
    /// signatures at level B-T ([`crate::documents::timestamp`]). None by default: mohur
    /// ships no TSA it has not verified; with one configured, documents are signed at
    /// B-T unless `--level B` is asked for.
    pub tsa_urls: Vec<String>,
    /// Seconds one time-stamping authority may take to answer (and one OCSP responder or
    /// CRL distribution point).
    pub tsa_timeout_seconds: u64,
    /// Where revocation data may be fetched from: `"ocsp"` (the certificate's responder,
    /// asked about that one certificate) and `"crl"` (its CA's whole list); with both, the
    /// responder is asked first (its answer is the fresher) and the list is the fallback.
    /// Used for B-LT signatures and by `mohur verify --online`; empty: never fetched
    /// (B-LT cannot be made). Default: both.
    pub revocation_sources: Vec<String>,
    /// Whether `mohur verify` and the tray's "Check a signature…" fetch revocation data
    /// without being asked (`--online`). Off by default: the file itself is sent nowhere,
    /// but an OCSP request tells the CA which certificate is being checked.
    pub verify_online: bool,
    /// Serve `wss://` on the same port too, when `mohur-install install --loopback-tls`
    /// has set up the loopback CA ([`crate::server::tls`]).
    pub loopback_tls: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            port: DEFAULT_PORT,
            dev: false,
            allowed_origins: Vec::new(),
            ask_unknown_origins: true,
            max_message_bytes: 10 * 1024 * 1024,
            max_in_flight_bytes: 48 * 1024 * 1024,
            max_connections: 256,
            max_connections_per_site: 16,
            prompt_timeout_seconds: 120,
            pkcs11_modules: Vec::new(),
            probe_well_known_modules: true,
            readers: Vec::new(),
            pcsc: true,
            data_dir: None,
            state_dir: None,
            log_level: "info".to_owned(),
            intermediates: None,
            language: None,
            loopback_tls: true,
            tsa_urls: Vec::new(),
            tsa_timeout_seconds: 15,
            revocation_sources: vec!["ocsp".to_owned(), "crl".to_owned()],
            verify_online: false,
        }
    }
}

impl Config {
    /// Parses a TOML document.
    pub fn parse(text: &str) -> Result<Config> {
        let c: Config = toml::from_str(text).map_err(|e| Error::BadRequest(format!("configuration: {e}")))?;
        c.check()?;
        Ok(c)
    }

    /// The limits must make sense together: one request of the largest size must fit in
    /// the budget, and a site must be able to connect at all.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::BadRequest(format!("configuration: {what}")));
        if self.max_message_bytes < 4096 {
            return bad("max_message_bytes must be at least 4096");
        }
        if self.max_in_flight_bytes / crate::server::budget::BYTES_PER_FRAME_BYTE < self.max_message_bytes {
            return bad("max_in_flight_bytes must be at least twice max_message_bytes");
        }
        if self.max_connections == 0 || self.max_connections_per_site == 0 {
            return bad("max_connections and max_connections_per_site must be at least 1");
        }
        if let Some(other) = self.revocation_sources.iter().find(|s| !matches!(s.as_str(), "ocsp" | "crl")) {
            return bad(&format!("revocation_sources: {other:?} is neither \"ocsp\" nor \"crl\""));
        }
        if let Some(url) = self.tsa_urls.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return bad(&format!("tsa_urls: {url:?} is not an http:// or https:// URL"));
        }
        Ok(())
    }

    /// Loads `explicit`, or the default file if there is one, or the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match std::env::var_os("MOHUR_CONFIG").filter(|v| !v.is_empty()) {
                Some(p) => (PathBuf::from(p), true),
                None => match user_dir(Kind::Config) {
                    Some(dir) => (dir.join("agent.toml"), false),
                    None => return Ok(Config::default()),
                },
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text)
                .map_err(|e| Error::BadRequest(format!("{}: {}", path.display(), e.to_string().trim()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(Config::default()),
            Err(e) => Err(Error::Internal(format!("{}: {e}", path.display()))),
        }
    }

    /// The configured time-stamping authorities, if any.
    pub fn tsa(&self) -> Option<crate::documents::timestamp::Tsa> {
        (!self.tsa_urls.is_empty()).then(|| crate::documents::timestamp::Tsa {
            urls: self.tsa_urls.clone(),
            timeout: std::time::Duration::from_secs(self.tsa_timeout_seconds.max(1)),
        })
    }

    /// How revocation data are fetched: the allowed `revocation_sources`, each answer
    /// within `tsa_timeout_seconds`.
    pub fn fetching(&self) -> crate::documents::ltv::Fetching {
        crate::documents::ltv::Fetching {
            ocsp: self.revocation_sources.iter().any(|s| s == "ocsp"),
            crl: self.revocation_sources.iter().any(|s| s == "crl"),
            timeout: std::time::Duration::from_secs(self.tsa_timeout_seconds.max(1)),
        }
    }

    /// The PKCS#11 modules to load: the configured ones, then the well-known vendor
    /// modules that are installed. OpenSC's module is probed only when the agent does
    /// not drive PC/SC cards itself: it would show the same cards a second time and
    /// talk to them behind our drivers' backs.
    pub fn pkcs11_module_paths(&self) -> Vec<PathBuf> {
        let mut paths = self.pkcs11_modules.clone();
        if self.probe_well_known_modules {
            for p in crate::tokens::pkcs11::present_modules() {
                let shadows_our_cards = self.pcsc && p.to_string_lossy().contains("opensc");
                if !shadows_our_cards && !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        paths
    }

    /// Where remembered origins live.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| mohur_platform::dirs::user_data_dir(&home()))
    }

    /// Where `mohur-install install --loopback-tls` put the loopback CA's certificate.
    pub fn loopback_ca_file(&self) -> PathBuf {
        mohur_platform::loopback::cert_path(&home())
    }

    /// Where the PIN failure counters live.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| user_dir(Kind::State).unwrap_or_else(|| home().join(".local/state/mohur")))
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.port, DEFAULT_PORT);
        let c = Config::parse("port = 4000\nallowed_origins = [\"https://e-gov.az\"]\ndev = true\n").unwrap();
        assert_eq!(c.port, 4000);
        assert!(c.dev);
        assert_eq!(c.allowed_origins, ["https://e-gov.az"]);
    }

    #[test]
    fn typos_and_bad_types_are_errors() {
        assert!(Config::parse("alowed_origins = []").is_err());
        assert!(Config::parse("port = \"x\"").is_err());
        assert!(Config::parse("port = 70000").is_err());
    }

    #[test]
    fn revocation_sources_are_ocsp_and_crl_and_nothing_else() {
        let d = Config::default().fetching();
        assert!(d.ocsp && d.crl && !Config::default().verify_online);
        let c = Config::parse("revocation_sources = [\"crl\"]\ntsa_timeout_seconds = 4\nverify_online = true").unwrap();
        let f = c.fetching();
        assert_eq!((f.ocsp, f.crl, f.timeout.as_secs(), c.verify_online), (false, true, 4, true));
        let none = Config::parse("revocation_sources = []").unwrap().fetching();
        assert!(!none.ocsp && !none.crl);
        let e = Config::parse("revocation_sources = [\"ocsp\", \"ldap\"]").unwrap_err().to_string();
        assert!(e.contains("\"ldap\" is neither"), "{e}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        assert!(Config::load(Some(Path::new("/nonexistent/mohur.toml"))).is_err());
    }
}
