//! mohur's per-user directories, one resolver for every crate (the agent's state and
//! remembered sites, the installer's manifest, the certificate cache, the demo):
//!
//! | kind | Linux (XDG Base Directory Specification 0.8) | Windows |
//! |---|---|---|
//! | [`Kind::Data`] | `$XDG_DATA_HOME/mohur`, else `~/.local/share/mohur` | `%LOCALAPPDATA%\mohur` |
//! | [`Kind::State`] | `$XDG_STATE_HOME/mohur`, else `~/.local/state/mohur` | `%LOCALAPPDATA%\mohur` |
//! | [`Kind::Cache`] | `$XDG_CACHE_HOME/mohur`, else `~/.cache/mohur` | `%LOCALAPPDATA%\mohur\cache` |
//! | [`Kind::Config`] | `$XDG_CONFIG_HOME/mohur`, else `~/.config/mohur` | `%APPDATA%\mohur` |
//!
//! An `$XDG_*_HOME` that is empty or relative is ignored, as the specification says.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Which directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What the user would back up: remembered sites, the installer's manifest.
    Data,
    /// What should survive a restart but is not worth a backup: PIN counters.
    State,
    /// What can be thrown away: cached card certificates, the demo's PKI and card.
    Cache,
    /// What the user or an administrator writes: `agent.toml`, `pkcs11.toml`.
    Config,
}

/// mohur's directory of `kind` for the user running this process; `None` without
/// `$HOME` (`%LOCALAPPDATA%` on Windows).
pub fn user_dir(kind: Kind) -> Option<PathBuf> {
    user_dir_with(kind, cfg!(windows), &|key| std::env::var_os(key))
}

/// [`user_dir`] on an environment given as a lookup (tests, or a home of the caller's).
pub fn user_dir_with(kind: Kind, windows: bool, env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if windows {
        if kind == Kind::Config {
            return Some(var("APPDATA")?.join("mohur"));
        }
        let base = var("LOCALAPPDATA")?.join("mohur");
        return Some(if kind == Kind::Cache { base.join("cache") } else { base });
    }
    let (xdg, default) = match kind {
        Kind::Data => ("XDG_DATA_HOME", ".local/share"),
        Kind::State => ("XDG_STATE_HOME", ".local/state"),
        Kind::Cache => ("XDG_CACHE_HOME", ".cache"),
        Kind::Config => ("XDG_CONFIG_HOME", ".config"),
    };
    let base = var(xdg).filter(|p| p.is_absolute()).or_else(|| var("HOME").map(|h| h.join(default)))?;
    Some(base.join("mohur"))
}

/// mohur's per-user data directory ([`Kind::Data`]) under `home` rather than this
/// process's `$HOME` (the installer acting for a home of its own, tests): the installer's
/// manifest, the agent's remembered sites and the loopback CA's certificate live there.
/// `$XDG_DATA_HOME` still counts; on Windows `%LOCALAPPDATA%`, else `home\AppData\Local`.
pub fn user_data_dir(home: &Path) -> PathBuf {
    let env = |key: &str| match key {
        "HOME" => Some(home.as_os_str().to_owned()),
        "LOCALAPPDATA" => std::env::var_os(key).or_else(|| Some(home.join(r"AppData\Local").into_os_string())),
        _ => std::env::var_os(key),
    };
    user_dir_with(Kind::Data, cfg!(windows), &env).unwrap_or_else(|| home.join(".local/share/mohur"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    // XDG paths are Unix paths: on Windows (the tests run under wine too) "/d" is not
    // absolute, and the XDG variables are never read there.
    #[cfg(unix)]
    #[test]
    fn xdg_when_absolute_else_under_home() {
        let e = env(&[("HOME", "/home/a"), ("XDG_DATA_HOME", "/d"), ("XDG_STATE_HOME", "rel"), ("XDG_CACHE_HOME", "")]);
        assert_eq!(user_dir_with(Kind::Data, false, &e), Some(PathBuf::from("/d/mohur")));
        assert_eq!(user_dir_with(Kind::State, false, &e), Some(PathBuf::from("/home/a/.local/state/mohur")));
        assert_eq!(user_dir_with(Kind::Cache, false, &e), Some(PathBuf::from("/home/a/.cache/mohur")));
        assert_eq!(user_dir_with(Kind::Data, false, &env(&[])), None);
    }

    #[test]
    fn windows_is_local_app_data() {
        let e = env(&[("LOCALAPPDATA", r"C:\Users\a\AppData\Local"), ("HOME", "/ignored")]);
        let base = PathBuf::from(r"C:\Users\a\AppData\Local").join("mohur");
        assert_eq!(user_dir_with(Kind::Data, true, &e), Some(base.clone()));
        assert_eq!(user_dir_with(Kind::State, true, &e), Some(base.clone()));
        assert_eq!(user_dir_with(Kind::Cache, true, &e), Some(base.join("cache")));
        assert_eq!(user_dir_with(Kind::Cache, true, &env(&[("HOME", "/h")])), None);
        let e = env(&[("APPDATA", r"C:\Users\a\AppData\Roaming")]);
        assert_eq!(
            user_dir_with(Kind::Config, true, &e),
            Some(PathBuf::from(r"C:\Users\a\AppData\Roaming").join("mohur"))
        );
    }
}
