//! Asking the citizen: PINs, PUKs, consent and confirmations, always in the agent's
//! own dialog, never through the page.
//!
//! A [`Prompter`] only knows how to show a dialog (pinentry over Assuan, or the
//! terminal); what the dialogs say, and when not to ask at all (a blocked PIN), is
//! decided by the PIN policy in [`crate::pin_policy`].

use crate::{Cancel, Error, Result};
use mohur_apdu::Pin;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod pinentry;
mod terminal;
#[doc(hidden)]
pub mod testing;
pub mod texts;
#[cfg(windows)]
mod window;

pub use pinentry::PinentryPrompter;
pub use terminal::TerminalPrompter;
#[cfg(windows)]
pub use window::WindowPrompter;

/// A dialog that asks for one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDialog {
    /// Window title.
    pub title: String,
    /// What is asked and why: whose card, which PIN, the origin, tries left.
    pub description: String,
    /// The label before the entry field ("PIN:").
    pub prompt: String,
    /// An error line shown above (e.g. after a format error), if any.
    pub error: Option<String>,
    /// The OK button, when it should say what it does ("Log in", "Sign").
    pub ok: Option<String>,
}

/// A yes/no dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDialog {
    /// Window title.
    pub title: String,
    /// What the citizen agrees to: the origin and what is signed.
    pub description: String,
    /// The "yes" button.
    pub ok: String,
    /// The "no" button.
    pub cancel: String,
}

/// Something that can put a dialog in front of the citizen.
///
/// Every method blocks until the citizen answers or `cancel` fires; a dismissed
/// dialog and a cancelled one are both `Err(Error::UserCancelled)`.
pub trait Prompter: Send + Sync {
    /// Asks for a secret.
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin>;
    /// Asks yes or no; `Ok(false)` is a "no".
    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool>;
    /// Shows a message with one button (e.g. why a PIN is not asked for).
    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()>;
}

/// The prompter for how the agent was started, every dialog closed after `timeout`:
///
/// 1. `$MOHUR_PINENTRY` set: that program, through [`PinentryPrompter`] (also how
///    tests of the running agent script their dialogs);
/// 2. on Windows: mohur's own dialog window ([`WindowPrompter`]), always there;
/// 3. a desktop session (`DISPLAY` or `WAYLAND_DISPLAY`) and a `pinentry` on
///    `PATH`: that pinentry;
/// 4. stdin is a terminal: the terminal ([`TerminalPrompter`]);
/// 5. otherwise a prompter that answers every call with [`Error::NoPrompter`], so a
///    request fails with `NO_PROMPTER` instead of hanging.
pub fn from_environment(timeout: Duration) -> Box<dyn Prompter> {
    match choose(&|key| std::env::var_os(key), std::io::stdin().is_terminal()) {
        Choice::Pinentry(program) => Box::new(PinentryPrompter::new(program).timeout(timeout)),
        #[cfg(windows)]
        Choice::Window => Box::new(WindowPrompter::new().timeout(timeout)),
        #[cfg(not(windows))]
        Choice::Window => Box::new(Unavailable("no dialog window on this OS")),
        #[cfg(unix)]
        Choice::Terminal => Box::new(TerminalPrompter::new().timeout(timeout)),
        #[cfg(not(unix))]
        Choice::Terminal => Box::new(Unavailable("no console dialog on this OS")),
        Choice::Nothing => Box::new(Unavailable("no pinentry program and no terminal")),
    }
}

/// [`from_environment`] for a process whose stdin is not the citizen's (the Web eID
/// host: stdin is the browser's pipe): never the terminal.
pub fn from_environment_without_terminal(timeout: Duration) -> Box<dyn Prompter> {
    match choose(&|key| std::env::var_os(key), false) {
        Choice::Pinentry(program) => Box::new(PinentryPrompter::new(program).timeout(timeout)),
        #[cfg(windows)]
        Choice::Window => Box::new(WindowPrompter::new().timeout(timeout)),
        _ => Box::new(Unavailable("no pinentry program")),
    }
}

/// What [`from_environment`] picked.
#[derive(Debug, PartialEq, Eq)]
enum Choice {
    Pinentry(OsString),
    /// mohur's own window (Windows).
    Window,
    Terminal,
    Nothing,
}

/// The decision of [`from_environment`], on an environment given as a lookup so that
/// it is tested without touching the process's.
fn choose(env: &dyn Fn(&str) -> Option<OsString>, stdin_is_tty: bool) -> Choice {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(program) = set("MOHUR_PINENTRY") {
        return Choice::Pinentry(program);
    }
    if cfg!(windows) {
        return Choice::Window;
    }
    if set("DISPLAY").or_else(|| set("WAYLAND_DISPLAY")).is_some() {
        if let Some(path) = set("PATH").and_then(|path| find_program(&path, "pinentry")) {
            return Choice::Pinentry(path.into_os_string());
        }
    }
    if stdin_is_tty {
        return Choice::Terminal;
    }
    Choice::Nothing
}

/// The first executable `name` in the directories of `path` (a `PATH` value).
fn find_program(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    #[cfg(unix)]
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    // No execute bit elsewhere: a file of that name is taken.
    #[cfg(not(unix))]
    let executable = |p: &Path| p.is_file();
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| executable(p))
}

/// The prompter of an agent that has no way to ask.
struct Unavailable(&'static str);

impl Prompter for Unavailable {
    fn secret(&self, _: &SecretDialog, _: &Cancel) -> Result<Pin> {
        Err(Error::NoPrompter(self.0.to_owned()))
    }

    fn confirm(&self, _: &ConfirmDialog, _: &Cancel) -> Result<bool> {
        Err(Error::NoPrompter(self.0.to_owned()))
    }

    fn message(&self, _: &str, _: &str, _: &Cancel) -> Result<()> {
        Err(Error::NoPrompter(self.0.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |key| vars.get(key).cloned()
    }

    /// A directory with an executable `pinentry` in it.
    #[cfg(unix)]
    fn bin_dir() -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mohur-prompt-choose-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("pinentry");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[test]
    fn mohur_pinentry_wins() {
        let e = env(&[("MOHUR_PINENTRY", "/opt/scripted"), ("DISPLAY", ":0")]);
        assert_eq!(choose(&e, true), Choice::Pinentry("/opt/scripted".into()));
    }

    #[test]
    #[cfg(unix)]
    fn a_desktop_with_pinentry_on_path_uses_it() {
        let dir = bin_dir();
        let path = format!("/nonexistent:{}", dir.display());
        let want = Choice::Pinentry(dir.join("pinentry").into_os_string());
        assert_eq!(choose(&env(&[("DISPLAY", ":0"), ("PATH", &path)]), false), want);
        assert_eq!(choose(&env(&[("WAYLAND_DISPLAY", "wayland-0"), ("PATH", &path)]), false), want);
        // No desktop: the terminal, even with a pinentry installed.
        assert_eq!(choose(&env(&[("PATH", &path)]), true), Choice::Terminal);
        // A desktop without pinentry: the terminal, else nothing.
        assert_eq!(choose(&env(&[("DISPLAY", ":0"), ("PATH", "/nonexistent")]), true), Choice::Terminal);
        assert_eq!(choose(&env(&[("DISPLAY", ":0"), ("PATH", "/nonexistent")]), false), Choice::Nothing);
        // An empty variable is no variable.
        assert_eq!(choose(&env(&[("MOHUR_PINENTRY", ""), ("DISPLAY", "")]), false), Choice::Nothing);
    }

    #[test]
    fn without_a_way_to_ask_every_call_is_no_prompter() {
        let p = Unavailable("no pinentry program and no terminal");
        let c = Cancel::new();
        let d =
            SecretDialog { title: "t".into(), description: "d".into(), prompt: "PIN:".into(), error: None, ok: None };
        assert!(matches!(p.secret(&d, &c), Err(Error::NoPrompter(m)) if m.contains("no terminal")));
        assert!(matches!(p.message("t", "d", &c), Err(Error::NoPrompter(_))));
    }
}
