//! "Start at login": on Linux the agent's XDG autostart entry,
//! `~/.config/autostart/mohur.desktop` (XDG Autostart spec), the same file `mohur-install`
//! writes for a user ([`Autostart`]); on Windows the `Run` key's `mohur` value, which
//! starts `mohurw.exe agent` ([`RunKey`]). [`StartAtLogin`] is either.
//!
//! The text is written here rather than taken from the `mohur-installer` crate: its
//! `desktop_entry` is private, and depending on the installer would build its RSA and
//! EC crates into the agent for one string. Keep the two in step
//! (installer/src/plan.rs, `desktop_entry`). One difference on purpose: the installer
//! also enables a systemd user unit and so marks the entry `X-systemd-skip`; the tray
//! writes that mark only when that unit is enabled, otherwise a systemd-based desktop
//! would skip the entry and start nothing.
//!
//! Turning it off removes the user's entry and the user unit's enablement; an entry of
//! the administrator's (`/etc/xdg/autostart`) is hidden with a user entry that says
//! `Hidden=true`, as the spec provides.

use std::io;
use std::path::{Path, PathBuf};

/// The way this system starts the agent at login.
#[derive(Debug, Clone)]
pub enum StartAtLogin {
    /// Linux: XDG autostart entries.
    Xdg(Autostart),
    /// Windows: the `Run` key.
    RunKey(RunKey),
}

impl StartAtLogin {
    /// The current user's; `None` without a home directory (Linux) or on other systems.
    pub fn for_user() -> Option<StartAtLogin> {
        if cfg!(windows) {
            let program = std::env::current_exe().ok()?.with_file_name("mohurw.exe");
            return Some(StartAtLogin::RunKey(RunKey { program }));
        }
        Autostart::for_user().map(StartAtLogin::Xdg)
    }

    /// Whether the agent starts at login.
    pub fn enabled(&self) -> bool {
        match self {
            StartAtLogin::Xdg(a) => a.enabled(),
            StartAtLogin::RunKey(r) => r.enabled(),
        }
    }

    /// Turns it on or off.
    pub fn set(&self, on: bool) -> io::Result<()> {
        match self {
            StartAtLogin::Xdg(a) => a.set(on),
            StartAtLogin::RunKey(r) => r.set(on),
        }
    }
}

/// The `mohur` value of `Software\Microsoft\Windows\CurrentVersion\Run`: the user's
/// (HKCU), which the tray turns on and off, or the machine's (HKLM), which the MSI
/// writes for every user and only an administrator removes.
#[derive(Debug, Clone)]
pub struct RunKey {
    /// `mohurw.exe`, started as `mohurw.exe agent`.
    pub program: PathBuf,
}

/// The key of the `mohur` value, under `HKCU` (the tray's) or `HKLM` (the MSI's).
#[cfg_attr(not(windows), allow(dead_code))]
const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";

impl RunKey {
    /// The value that starts this agent (`"C:\…\mohurw.exe" agent`), as mohur-install writes it.
    #[cfg_attr(not(windows), allow(dead_code))]
    fn value(&self) -> String {
        format!("\"{}\" agent", self.program.display())
    }

    #[cfg(windows)]
    fn is_set(&self, machine: bool) -> bool {
        mohur_platform::registry::reg_get(machine, RUN_KEY, "mohur").ok().flatten().as_deref() == Some(&self.value())
    }

    #[cfg(not(windows))]
    fn is_set(&self, _machine: bool) -> bool {
        false
    }

    fn enabled(&self) -> bool {
        [false, true].into_iter().any(|machine| self.is_set(machine))
    }

    #[cfg(windows)]
    fn set(&self, on: bool) -> io::Result<()> {
        use mohur_platform::registry::{reg_delete, reg_set};
        let done = if on {
            reg_set(false, RUN_KEY, "mohur", &self.value())
        } else if self.is_set(false) {
            // Only our own value: another program's `mohur` value is not ours to remove.
            reg_delete(false, RUN_KEY, "mohur")
        } else {
            Ok(())
        };
        done.map_err(io::Error::other)?;
        if !on && self.is_set(true) {
            // The MSI's entry starts the agent for every user: Windows' own switch for
            // it is in Task Manager's Startup tab.
            return Err(io::Error::other(crate::tr!("tray-autostart-machine")));
        }
        Ok(())
    }

    #[cfg(not(windows))]
    fn set(&self, _on: bool) -> io::Result<()> {
        Err(io::Error::other("the Run key exists only on Windows"))
    }
}

/// Where the entries are.
#[derive(Debug, Clone)]
pub struct Autostart {
    /// `~/.config/autostart/mohur.desktop`.
    pub user_entry: PathBuf,
    /// `/etc/xdg/autostart/mohur.desktop`.
    pub system_entry: PathBuf,
    /// `~/.config/systemd/user/default.target.wants/mohur.service`.
    pub user_unit_link: PathBuf,
    /// The agent binary.
    pub agent: PathBuf,
}

impl Autostart {
    /// The current user's, on Linux; `None` elsewhere (Windows starts the agent from
    /// the Run key the installer writes) or without a home directory.
    pub fn for_user() -> Option<Autostart> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let config = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(p) if p.is_absolute() => p,
            _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".config"),
        };
        Some(Autostart::under(&config, Path::new("/etc/xdg"), std::env::current_exe().ok()?))
    }

    /// The entries under `config` (the user's configuration directory) and `xdg` (the
    /// system's, `/etc/xdg`).
    pub fn under(config: &Path, xdg: &Path, agent: PathBuf) -> Autostart {
        Autostart {
            user_entry: config.join("autostart/mohur.desktop"),
            system_entry: xdg.join("autostart/mohur.desktop"),
            user_unit_link: config.join("systemd/user/default.target.wants/mohur.service"),
            agent,
        }
    }

    /// Whether the agent starts at login.
    pub fn enabled(&self) -> bool {
        if self.user_unit_link.exists() {
            return true;
        }
        match std::fs::read_to_string(&self.user_entry) {
            Ok(text) => !text.lines().any(|l| l.trim() == "Hidden=true"),
            Err(_) => self.system_entry.exists(),
        }
    }

    /// Turns it on or off.
    pub fn set(&self, on: bool) -> io::Result<()> {
        if on {
            let skip = if self.user_unit_link.exists() { "X-systemd-skip=true\n" } else { "" };
            let text = format!(
                "[Desktop Entry]\nType=Application\nName=mohur agent\n\
                 Comment=Signs for e-government portals with your ID card\n\
                 Exec=\"{}\" agent\nTerminal=false\nNoDisplay=true\n{skip}",
                self.agent.display()
            );
            write(&self.user_entry, &text)
        } else {
            match std::fs::remove_file(&self.user_unit_link) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            if self.system_entry.exists() {
                write(&self.user_entry, "[Desktop Entry]\nType=Application\nName=mohur agent\nHidden=true\n")
            } else {
                match std::fs::remove_file(&self.user_entry) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mohur-autostart-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn on_and_off_for_the_user() {
        let d = temp("user");
        let a = Autostart::under(&d.join("config"), &d.join("etc/xdg"), "/usr/bin/mohur".into());
        assert!(!a.enabled());
        a.set(true).unwrap();
        assert!(a.enabled());
        let text = std::fs::read_to_string(&a.user_entry).unwrap();
        assert!(text.contains("Exec=\"/usr/bin/mohur\" agent\n"), "{text}");
        assert!(!text.contains("X-systemd-skip"), "nothing else starts the agent: {text}");
        a.set(false).unwrap();
        assert!(!a.enabled());
        assert!(!a.user_entry.exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_administrators_entry_is_hidden_not_deleted() {
        let d = temp("system");
        let a = Autostart::under(&d.join("config"), &d.join("etc/xdg"), "/usr/bin/mohur".into());
        write(&a.system_entry, "[Desktop Entry]\nExec=mohur agent\n").unwrap();
        assert!(a.enabled());
        a.set(false).unwrap();
        assert!(!a.enabled());
        assert!(a.system_entry.exists());
        a.set(true).unwrap();
        assert!(a.enabled());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_installers_user_unit_counts_and_is_turned_off() {
        let d = temp("unit");
        let a = Autostart::under(&d.join("config"), &d.join("etc/xdg"), "/usr/bin/mohur".into());
        write(&a.user_unit_link, "").unwrap();
        assert!(a.enabled());
        a.set(true).unwrap();
        assert!(std::fs::read_to_string(&a.user_entry).unwrap().contains("X-systemd-skip=true"));
        a.set(false).unwrap();
        assert!(!a.enabled());
        assert!(!a.user_unit_link.exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
