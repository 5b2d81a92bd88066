//! Asking the citizen: PINs, PUKs, consent and confirmations, always in the agent's
//! own dialog, never through the page.
//!
//! A [`Prompter`] only knows how to show a dialog (pinentry over Assuan, or the
//! terminal); what the dialogs say, and when not to ask at all (a blocked PIN), is
//! decided by the PIN policy in [`crate::pin_policy`].

use crate::{Cancel, Result};
use mohur_apdu::Pin;

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
