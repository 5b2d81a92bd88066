//! [`WindowPrompter`]: the agent's dialogs in a window of mohur's own on Windows
//! ([`mohur_platform::dialogs::Window`], user32), where no pinentry program is installed.
//!
//! Same texts as every other prompter (they are composed by the PIN policy from the
//! one catalogue); the request's [`Cancel`] closes the window, and so does the timeout.

use super::pinentry::{map_err, to_dialog};
use super::{ConfirmDialog, Prompter, SecretDialog};
use crate::{Cancel, Result};
use mohur_apdu::Pin;
use mohur_platform::dialogs::{Canceller, Dialog, Window};
use std::time::Duration;

/// Dialogs in mohur's own window.
#[derive(Debug, Clone, Default)]
pub struct WindowPrompter {
    timeout: Option<Duration>,
}

impl WindowPrompter {
    /// No timeout.
    pub fn new() -> WindowPrompter {
        WindowPrompter::default()
    }

    /// A dialog left unanswered for `timeout` is closed: [`crate::Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> WindowPrompter {
        self.timeout = Some(timeout);
        self
    }

    fn window(&self, cancel: &Cancel) -> Result<Window> {
        cancel.check()?;
        let canceller = Canceller::new();
        let c = canceller.clone();
        cancel.on_cancel(move || c.cancel());
        let mut w = Window::new().canceller(canceller);
        if let Some(t) = self.timeout {
            w = w.timeout(t);
        }
        Ok(w)
    }
}

impl Prompter for WindowPrompter {
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin> {
        let mut secret = self.window(cancel)?.get_pin(&to_dialog::secret(dialog)).map_err(map_err)?;
        let pin = Pin::new(std::mem::take(&mut *secret));
        cancel.check()?;
        Ok(pin)
    }

    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool> {
        let yes = self.window(cancel)?.confirm(&to_dialog::confirm(dialog)).map_err(map_err)?;
        cancel.check()?;
        Ok(yes)
    }

    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()> {
        let d = Dialog {
            title: title.to_owned(),
            description: description.to_owned(),
            ok: Some(super::texts::ok()),
            ..Dialog::default()
        };
        self.window(cancel)?.message(&d).map_err(map_err)
    }
}
