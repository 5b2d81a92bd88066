//! [`PinentryPrompter`]: the agent's dialogs in a pinentry program (the desktop's
//! own PIN dialog), through [`mohur_platform::dialogs`].
//!
//! Each dialog is one pinentry child. The request's [`Cancel`] kills it (the page
//! went away, or sent `cancel`), and a dialog nobody answers within the timeout is
//! killed too, so an abandoned request never leaves a window asking for a PIN.

use super::{ConfirmDialog, Prompter, SecretDialog};
use crate::{Cancel, Error, Result};
use mohur_apdu::Pin;
use mohur_platform::dialogs::{Canceller, Dialog, Pinentry};
use std::ffi::OsString;
use std::time::Duration;

/// Dialogs through a pinentry program.
#[derive(Debug, Clone)]
pub struct PinentryPrompter {
    program: OsString,
    timeout: Option<Duration>,
    env: Vec<(OsString, OsString)>,
}

impl PinentryPrompter {
    /// `program`: a path, or a name looked up in `PATH`. No timeout.
    pub fn new(program: impl Into<OsString>) -> PinentryPrompter {
        PinentryPrompter { program: program.into(), timeout: None, env: Vec::new() }
    }

    /// A dialog left unanswered for `timeout` is closed: [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> PinentryPrompter {
        self.timeout = Some(timeout);
        self
    }

    /// Sets an environment variable of the pinentry child only (e.g. the `DISPLAY`
    /// of the citizen's session when the agent runs outside it).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> PinentryPrompter {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The program this prompter runs.
    pub fn program(&self) -> &std::ffi::OsStr {
        &self.program
    }

    /// A [`Pinentry`] whose dialogs `cancel` ends.
    fn pinentry(&self, cancel: &Cancel) -> Result<Pinentry> {
        cancel.check()?;
        let canceller = Canceller::new();
        let c = canceller.clone();
        cancel.on_cancel(move || c.cancel());
        let mut p = Pinentry::new(&self.program).canceller(canceller);
        if let Some(t) = self.timeout {
            p = p.timeout(t);
        }
        for (k, v) in &self.env {
            p = p.env(k, v);
        }
        Ok(p)
    }
}

/// Maps the dialog's errors to the protocol's: a program that cannot be started
/// means the agent has no way to ask.
pub(super) fn map_err(e: mohur_platform::dialogs::Error) -> Error {
    use mohur_platform::dialogs::Error as E;
    match e {
        E::Cancelled => Error::UserCancelled,
        E::Timeout => Error::Timeout,
        e @ E::Spawn { .. } => Error::NoPrompter(e.to_string()),
        e => {
            tracing::warn!(error = %e, "pinentry");
            Error::Internal(e.to_string())
        }
    }
}

/// The agent's dialogs as [`mohur_platform::dialogs`] shows them (a pinentry program or, on
/// Windows, mohur's own window).
pub(super) mod to_dialog {
    use super::super::{ConfirmDialog, SecretDialog};
    use mohur_platform::dialogs::Dialog;

    pub fn secret(dialog: &SecretDialog) -> Dialog {
        Dialog {
            title: dialog.title.clone(),
            description: dialog.description.clone(),
            prompt: Some(dialog.prompt.clone()).filter(|p| !p.is_empty()),
            error: dialog.error.clone(),
            ok: dialog.ok.clone().filter(|s| !s.is_empty()),
            cancel: Some(crate::dialogs::texts::cancel()),
        }
    }

    pub fn confirm(dialog: &ConfirmDialog) -> Dialog {
        Dialog {
            title: dialog.title.clone(),
            description: dialog.description.clone(),
            ok: Some(dialog.ok.clone()).filter(|s| !s.is_empty()),
            cancel: Some(dialog.cancel.clone()).filter(|s| !s.is_empty()),
            ..Dialog::default()
        }
    }
}

impl Prompter for PinentryPrompter {
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin> {
        let mut secret = self.pinentry(cancel)?.get_pin(&to_dialog::secret(dialog)).map_err(map_err)?;
        let pin = Pin::new(std::mem::take(&mut *secret));
        // Typed just as the request went away: not used.
        cancel.check()?;
        Ok(pin)
    }

    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool> {
        let yes = self.pinentry(cancel)?.confirm(&to_dialog::confirm(dialog)).map_err(map_err)?;
        cancel.check()?;
        Ok(yes)
    }

    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()> {
        let d = Dialog { title: title.to_owned(), description: description.to_owned(), ..Dialog::default() };
        self.pinentry(cancel)?.message(&d).map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Instant;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/scripted-pinentry");

    /// A queue file and a log for the scripted pinentry, in a fresh directory.
    struct Script {
        dir: PathBuf,
    }

    impl Script {
        fn new(name: &str, queue: &[&str]) -> Script {
            let dir = std::env::temp_dir().join(format!("mohur-agent-prompt-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("queue"), queue.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
            Script { dir }
        }

        fn prompter(&self) -> PinentryPrompter {
            PinentryPrompter::new(FIXTURE)
                .env("SCRIPTED_PINENTRY_QUEUE", self.dir.join("queue"))
                .env("SCRIPTED_PINENTRY_LOG", self.dir.join("log"))
                .env("SCRIPTED_PINENTRY_ANSWER", "")
        }

        fn log(&self) -> Vec<String> {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            log.lines().filter(|l| !l.starts_with("OPTION ")).map(str::to_owned).collect()
        }
    }

    impl Drop for Script {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn pin_dialog() -> SecretDialog {
        SecretDialog {
            title: "mohur".into(),
            description: "https://e-gov.az asks for the PIN of the card of X.\n3 tries left.".into(),
            prompt: "PIN:".into(),
            error: None,
            ok: None,
        }
    }

    fn consent() -> ConfirmDialog {
        ConfirmDialog {
            title: "Sign?".into(),
            description: "https://e-gov.az wants to sign a document.".into(),
            ok: "Sign".into(),
            cancel: "Refuse".into(),
        }
    }

    #[test]
    fn secret_returns_the_typed_pin() {
        let s = Script::new("secret", &["pin 123456"]);
        let pin = s.prompter().secret(&pin_dialog(), &Cancel::new()).unwrap();
        assert_eq!(pin.as_bytes(), b"123456");
        assert_eq!(
            s.log(),
            [
                "SETTITLE mohur",
                "SETDESC https://e-gov.az asks for the PIN of the card of X.|3 tries left.",
                // The Cancel button in the citizen's language (here the tests' English).
                "SETCANCEL Cancel",
                "SETPROMPT PIN:",
                "GETPIN"
            ]
        );
    }

    #[test]
    fn a_closed_pin_dialog_is_user_cancelled() {
        let s = Script::new("secret-cancel", &["cancel"]);
        assert!(matches!(s.prompter().secret(&pin_dialog(), &Cancel::new()), Err(Error::UserCancelled)));
    }

    #[test]
    fn confirm_ok_and_no() {
        let s = Script::new("confirm", &["ok", "no"]);
        assert!(s.prompter().confirm(&consent(), &Cancel::new()).unwrap());
        assert!(!s.prompter().confirm(&consent(), &Cancel::new()).unwrap());
        let log = s.log();
        assert!(log.contains(&"SETOK Sign".to_owned()) && log.contains(&"SETCANCEL Refuse".to_owned()), "{log:?}");
        assert_eq!(log.iter().filter(|l| *l == "CONFIRM").count(), 2, "{log:?}");
    }

    #[test]
    fn message_is_one_button() {
        let s = Script::new("message", &["ok"]);
        s.prompter().message("mohur", "The PIN is blocked.", &Cancel::new()).unwrap();
        assert!(s.log().contains(&"CONFIRM --one-button".to_owned()), "{:?}", s.log());
    }

    #[test]
    fn cancel_from_another_thread_ends_a_hanging_dialog_within_a_second() {
        let s = Script::new("hang-cancel", &["hang"]);
        let cancel = Cancel::new();
        let c = cancel.clone();
        let log = s.dir.join("log");
        let t = std::thread::spawn(move || {
            // Cancel once the dialog is up (python may take a while to start).
            let up = Instant::now() + Duration::from_secs(20);
            while !std::fs::read_to_string(&log).unwrap_or_default().contains("GETPIN") && Instant::now() < up {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
            c.cancel();
            Instant::now()
        });
        let r = s.prompter().secret(&pin_dialog(), &cancel);
        let returned = Instant::now();
        let cancelled_at = t.join().unwrap();
        assert!(matches!(r, Err(Error::UserCancelled)), "{:?}", r.err());
        assert!(returned.duration_since(cancelled_at) < Duration::from_secs(1));
        assert!(s.log().contains(&"GETPIN".to_owned()), "the dialog was up: {:?}", s.log());
    }

    #[test]
    fn an_already_cancelled_request_shows_nothing() {
        let s = Script::new("pre-cancelled", &["pin 123456"]);
        let cancel = Cancel::new();
        cancel.cancel();
        assert!(matches!(s.prompter().secret(&pin_dialog(), &cancel), Err(Error::UserCancelled)));
        assert!(s.log().is_empty(), "{:?}", s.log());
    }

    #[test]
    fn an_unanswered_dialog_times_out() {
        let s = Script::new("hang-timeout", &["hang"]);
        let start = Instant::now();
        let r = s.prompter().timeout(Duration::from_millis(500)).confirm(&consent(), &Cancel::new());
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    }

    #[test]
    fn a_missing_program_means_no_prompter() {
        let r = PinentryPrompter::new("/nonexistent/pinentry").secret(&pin_dialog(), &Cancel::new());
        assert!(matches!(r, Err(Error::NoPrompter(_))), "{:?}", r.err());
    }

    #[test]
    fn concurrent_dialogs_each_pop_their_own_answer() {
        const N: usize = 6;
        let answers: Vec<String> = (0..N).map(|i| format!("pin {i}{i}{i}{i}")).collect();
        let s = Script::new("concurrent", &answers.iter().map(String::as_str).collect::<Vec<_>>());
        let prompter = s.prompter();
        let mut got: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..N)
                .map(|_| scope.spawn(|| prompter.secret(&pin_dialog(), &Cancel::new()).expect("a PIN")))
                .collect();
            handles.into_iter().map(|h| String::from_utf8(h.join().unwrap().as_bytes().to_vec()).unwrap()).collect()
        });
        got.sort();
        let want: Vec<String> = (0..N).map(|i| format!("{i}{i}{i}{i}")).collect();
        assert_eq!(got, want, "every answer popped exactly once");
        assert_eq!(std::fs::read_to_string(s.dir.join("queue")).unwrap(), "");
    }
}
