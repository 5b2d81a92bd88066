//! An in-memory [`Prompter`] for unit tests of the code that asks (the PIN policy,
//! the operations): answers from a queue, and a record of every dialog shown.
//!
//! Library only: [`super::from_environment`] never returns it, so the agent binary
//! has no scripted answers; tests of the running agent script a real pinentry
//! through `MOHUR_PINENTRY` (`tests/fixtures/scripted-pinentry`).

use super::{ConfirmDialog, Prompter, SecretDialog};
use crate::{Cancel, Error, Result};
use mohur_apdu::Pin;
use std::collections::VecDeque;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// One scripted answer.
pub enum Answer {
    /// [`Prompter::secret`] returns this secret.
    Secret(Zeroizing<Vec<u8>>),
    /// [`Prompter::confirm`] returns this.
    Confirm(bool),
    /// [`Prompter::message`] returns `Ok`.
    Acknowledge,
    /// Any dialog returns `UserCancelled`, as if the citizen closed it.
    Cancel,
}

impl Answer {
    /// A secret answer.
    pub fn secret(s: &str) -> Answer {
        Answer::Secret(Zeroizing::new(s.as_bytes().to_vec()))
    }
}

/// A dialog that was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A secret was asked for.
    Secret(SecretDialog),
    /// A yes/no question.
    Confirm(ConfirmDialog),
    /// A message.
    Message {
        /// Its title.
        title: String,
        /// Its text.
        description: String,
    },
}

/// Answers dialogs from a queue. A dialog with the queue empty is
/// `NoPrompter`; an answer of the wrong kind is `Internal` (a broken test script).
#[derive(Default)]
pub struct QueuePrompter {
    answers: Mutex<VecDeque<Answer>>,
    shown: Mutex<Vec<Shown>>,
}

impl QueuePrompter {
    /// Answers `answers`, in order.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> QueuePrompter {
        QueuePrompter { answers: Mutex::new(answers.into_iter().collect()), shown: Mutex::default() }
    }

    /// Adds an answer at the end of the queue.
    pub fn push(&self, answer: Answer) {
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).push_back(answer);
    }

    /// The dialogs shown so far, oldest first.
    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Answers left unused.
    pub fn remaining(&self) -> usize {
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn next(&self, shown: Shown, cancel: &Cancel) -> Result<Answer> {
        cancel.check()?;
        self.shown.lock().unwrap_or_else(|e| e.into_inner()).push(shown);
        let answer = self.answers.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match answer {
            None => Err(Error::NoPrompter("QueuePrompter: no answer left".into())),
            Some(Answer::Cancel) => Err(Error::UserCancelled),
            Some(a) => Ok(a),
        }
    }
}

fn mismatch(asked: &str) -> Error {
    Error::Internal(format!("QueuePrompter: the next answer is not for a {asked} dialog"))
}

impl Prompter for QueuePrompter {
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin> {
        match self.next(Shown::Secret(dialog.clone()), cancel)? {
            Answer::Secret(mut s) => Ok(Pin::new(std::mem::take(&mut *s))),
            _ => Err(mismatch("secret")),
        }
    }

    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool> {
        match self.next(Shown::Confirm(dialog.clone()), cancel)? {
            Answer::Confirm(yes) => Ok(yes),
            _ => Err(mismatch("confirm")),
        }
    }

    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()> {
        let shown = Shown::Message { title: title.to_owned(), description: description.to_owned() };
        match self.next(shown, cancel)? {
            Answer::Acknowledge => Ok(()),
            _ => Err(mismatch("message")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_order_and_records_the_dialogs() {
        let p = QueuePrompter::new([Answer::secret("1234"), Answer::Confirm(false), Answer::Cancel]);
        let c = Cancel::new();
        let d =
            SecretDialog { title: "t".into(), description: "d".into(), prompt: "PIN:".into(), error: None, ok: None };
        assert_eq!(p.secret(&d, &c).unwrap().as_bytes(), b"1234");
        let q = ConfirmDialog { title: "t".into(), description: "d".into(), ok: "Yes".into(), cancel: "No".into() };
        assert!(!p.confirm(&q, &c).unwrap());
        assert!(matches!(p.message("m", "d", &c), Err(Error::UserCancelled)));
        assert!(matches!(p.message("m", "d", &c), Err(Error::NoPrompter(_))));
        assert_eq!(p.shown().len(), 4);
        assert_eq!(p.shown()[0], Shown::Secret(d));
    }

    #[test]
    fn a_wrong_kind_of_answer_or_a_cancelled_request_fails() {
        let p = QueuePrompter::new([Answer::Acknowledge, Answer::secret("1")]);
        let c = Cancel::new();
        let q = ConfirmDialog { title: "t".into(), description: "d".into(), ok: "Yes".into(), cancel: "No".into() };
        assert!(matches!(p.confirm(&q, &c), Err(Error::Internal(_))));
        c.cancel();
        assert!(matches!(p.confirm(&q, &c), Err(Error::UserCancelled)));
        assert_eq!(p.remaining(), 1, "a cancelled request consumes nothing");
    }
}
