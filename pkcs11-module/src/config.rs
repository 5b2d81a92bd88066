//! The module's configuration, read at C_Initialize: a small `key = value` file.
//!
//! It comes from `$MOHUR_PKCS11_CONF` when that is set (a missing file then means
//! the defaults), else from the first file that exists of
//! `$XDG_CONFIG_HOME/mohur/pkcs11.conf` (or `~/.config/mohur/pkcs11.conf`) and
//! `/etc/mohur/pkcs11.conf`.
//!
//! ```text
//! # comment
//! readers = Yubico, mohur vpcd 35963    # not a comment: part of the value
//! protected_authentication_path = false
//! log_level = warn
//! ```
//!
//! - `readers`: comma-separated substrings; only readers whose name contains one of
//!   them become slots. Absent or empty: every reader.
//! - `protected_authentication_path`: `true` or `false` (also `yes`/`no`, `1`/`0`).
//! - `prompt_timeout_seconds`: a PIN dialog nobody answers is closed after this many
//!   seconds and the call returns CKR_FUNCTION_CANCELED (default 120).
//! - `log_level`: `error`, `warn`, `info` or `debug`: log the module's events to
//!   stderr. `$MOHUR_PKCS11_LOG` (a `tracing` filter such as `debug` or
//!   `mohur_pkcs11=debug`) overrides it. Nothing is logged when neither is set; PINs
//!   are never logged.
//!
//! Lines starting with `#` or `;` are comments. A line that is not `key = value`, an
//! unknown key or a bad value is ignored with a warning; the module never fails to
//! initialise because of its configuration.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tracing::Level;

/// Environment variable naming the configuration file.
pub const CONF_ENV: &str = "MOHUR_PKCS11_CONF";
/// Environment variable with a `tracing` filter for the module's log on stderr.
pub const LOG_ENV: &str = "MOHUR_PKCS11_LOG";

/// The module's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Reader allow-list: substrings of reader names. Empty: every reader.
    pub readers: Vec<String>,
    /// `protected_authentication_path`: PINs are entered outside the application.
    pub protected_auth_path: bool,
    /// `prompt_timeout_seconds`: how long a PIN dialog waits for the holder.
    pub prompt_timeout: Option<std::time::Duration>,
    /// `log_level`, if set.
    pub log_level: Option<Level>,
    /// The file the settings came from, if any.
    pub source: Option<PathBuf>,
}

impl Config {
    /// Parses a configuration; returns it with a warning for every ignored line.
    pub fn parse(text: &str) -> (Config, Vec<String>) {
        let mut config = Config::default();
        let mut warnings = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                warnings.push(format!("line {}: not `key = value`; ignored", n + 1));
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "readers" => {
                    config.readers =
                        value.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
                }
                "protected_authentication_path" => match parse_bool(value) {
                    Some(b) => config.protected_auth_path = b,
                    None => warnings.push(format!("line {}: {key} must be true or false; ignored", n + 1)),
                },
                "prompt_timeout_seconds" => match value.parse::<u64>() {
                    Ok(n) if n > 0 => config.prompt_timeout = Some(std::time::Duration::from_secs(n)),
                    _ => warnings.push(format!("line {}: {key} must be a number of seconds; ignored", n + 1)),
                },
                "log_level" => match parse_level(value) {
                    Some(l) => config.log_level = Some(l),
                    None => {
                        warnings.push(format!("line {}: log_level must be error, warn, info or debug; ignored", n + 1))
                    }
                },
                _ => warnings.push(format!("line {}: unknown key {key:?}; ignored", n + 1)),
            }
        }
        (config, warnings)
    }

    /// True if a reader of this name may become a slot.
    pub fn allows_reader(&self, reader: &str) -> bool {
        self.readers.is_empty() || self.readers.iter().any(|r| reader.contains(r.as_str()))
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_level(v: &str) -> Option<Level> {
    match v.to_ascii_lowercase().as_str() {
        "error" => Some(Level::ERROR),
        "warn" | "warning" => Some(Level::WARN),
        "info" => Some(Level::INFO),
        "debug" => Some(Level::DEBUG),
        _ => None,
    }
}

/// The configuration file to read, if any (see the module documentation).
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONF_ENV) {
        return Some(PathBuf::from(p));
    }
    let user = mohur_platform::dirs::user_dir(mohur_platform::dirs::Kind::Config).map(|d| d.join("pkcs11.conf"));
    user.into_iter().chain([PathBuf::from("/etc/mohur/pkcs11.conf")]).find(|p| p.is_file())
}

/// Reads the configuration file (defaults when there is none or it cannot be read).
pub fn read() -> (Config, Vec<String>) {
    let Some(path) = path() else {
        return (Config::default(), Vec::new());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (mut config, warnings) = Config::parse(&text);
            config.source = Some(path.clone());
            let warnings = warnings.into_iter().map(|w| format!("{}: {w}", path.display())).collect();
            (config, warnings)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
        Err(e) => (Config::default(), vec![format!("{}: cannot read: {e}; using the defaults", path.display())]),
    }
}

static CURRENT: Mutex<Option<Arc<Config>>> = Mutex::new(None);

/// The configuration read by the last C_Initialize (the defaults before that).
pub fn current() -> Arc<Config> {
    CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
}

/// True if the current configuration lets `reader` become a slot.
pub fn reader_allowed(reader: &str) -> bool {
    current().allows_reader(reader)
}

/// Called by C_Initialize: reads the configuration, sets up logging if asked, and
/// makes it [`current`].
pub fn load() {
    let (config, warnings) = read();
    init_logging(config.log_level);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    tracing::debug!(source = ?config.source, readers = ?config.readers, protected_auth_path = config.protected_auth_path, "configuration");
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(config));
}

/// A stderr subscriber for `$MOHUR_PKCS11_LOG` or `log_level`, once per process;
/// nothing when neither is set or the application already has a subscriber.
fn init_logging(level: Option<Level>) {
    use tracing_subscriber::EnvFilter;
    let filter = match (std::env::var(LOG_ENV).ok().filter(|v| !v.trim().is_empty()), level) {
        (Some(directives), _) => EnvFilter::try_new(directives).ok(),
        (None, Some(l)) => {
            let l = l.as_str().to_ascii_lowercase();
            EnvFilter::try_new(format!("mohur_pkcs11={l},mohur_apdu={l}")).ok()
        }
        (None, None) => None,
    };
    if let Some(filter) = filter {
        // Fails when a global subscriber exists (ours from an earlier C_Initialize,
        // or the application's): keep that one.
        let _ =
            tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_skips_comments() {
        let (c, w) = Config::parse(
            "# comment\n; also\n\nreaders = Yubico , mohur vpcd 35963 00 00,\n\
             protected_authentication_path = TRUE\nlog_level = debug\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.readers, ["Yubico", "mohur vpcd 35963 00 00"]);
        assert!(c.protected_auth_path);
        assert_eq!(c.log_level, Some(Level::DEBUG));
        assert!(c.allows_reader("Yubico YubiKey OTP+FIDO+CCID 00 00"));
        assert!(!c.allows_reader("mohur vpcd 35963 00 01"));
    }

    #[test]
    fn malformed_lines_are_ignored_with_warnings() {
        let (c, w) = Config::parse(
            "garbage\nprotected_authentication_path = maybe\nlog_level = loud\ncolour = blue\n=\n\u{0}\u{ffff}\n",
        );
        assert_eq!(w.len(), 6, "{w:?}");
        assert_eq!(c, Config::default());
        assert!(c.allows_reader("anything"));
    }

    #[test]
    fn empty_reader_list_allows_every_reader() {
        let (c, w) = Config::parse("readers = , ,\n");
        assert!(w.is_empty());
        assert!(c.allows_reader("mohur vpcd 35963 00 00"));
    }
}
