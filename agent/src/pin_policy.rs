//! What the agent does for a request, with its PIN policy: read the counter first
//! (no try spent), never ask for a blocked PIN but explain it, show the tries left
//! and warn at the last one, check the PIN's format before it reaches the card, send
//! it once, never retry. The same operations serve the WebSocket, the CLI and the tray.

use crate::dialogs::texts;
use crate::dialogs::texts::Occasion;
use crate::dialogs::{ConfirmDialog, Prompter, SecretDialog};
use crate::tokens::manager::TokenSlot;
use crate::tokens::PinRules;
use crate::{Cancel, Error, Result};
use mohur_apdu::{HashAlg, KeyPurpose, Pin, PinKind, PinState};
use std::sync::{Mutex, MutexGuard};

/// One dialog at a time for the whole agent: a second request that needs the
/// citizen while a dialog is open gets `BUSY` instead of a pile of windows.
#[derive(Default)]
pub struct PromptGate(Mutex<()>);

impl PromptGate {
    /// Enters, or `Err(Busy)` if a dialog is open.
    pub fn enter(&self) -> Result<MutexGuard<'_, ()>> {
        match self.0.try_lock() {
            Ok(g) => Ok(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(Error::Busy),
        }
    }
}

/// What an operation needs to talk to the citizen.
pub struct Ctx<'a> {
    /// The dialogs.
    pub prompter: &'a dyn Prompter,
    /// Fires when the request is cancelled or its socket closes.
    pub cancel: &'a Cancel,
    /// One dialog at a time.
    pub gate: &'a PromptGate,
}

/// How many times a PIN of the wrong length or with letters is asked again; such
/// a PIN never reaches the card, so it costs no try.
const FORMAT_RETRIES: usize = 3;

/// Asks for secret `kind` of `slot` in a dialog for `occasion` (who asks, for what, and
/// the title and button that say whether it is a login or a signature). Reads the
/// counter first; a blocked or never-activated PIN is explained in a message and not
/// asked for.
pub fn ask_secret(ctx: &Ctx, slot: &TokenSlot, kind: PinKind, occasion: &Occasion) -> Result<Pin> {
    ctx.cancel.check()?;
    let status = slot.with(|t| t.pin_status(kind))?;
    let holder = slot.info().holder;
    let blocked = status.state == PinState::Blocked || status.tries_left == Some(0);
    if blocked || status.state == PinState::NotActivated {
        let (title, text, err) = if blocked {
            let err = if kind == PinKind::Puk { Error::PukBlocked } else { Error::PinBlocked };
            (texts::blocked_title(), texts::blocked(&holder, kind), err)
        } else {
            (texts::not_activated_title(), texts::not_activated(&holder), Error::PinNotActivated)
        };
        // Best effort: the page gets its error code even if the message cannot show.
        if let Err(e) = ctx.prompter.message(&title, &text, ctx.cancel) {
            tracing::debug!(error = %e, "could not show the blocked-PIN message");
        }
        return Err(err);
    }
    let rules = slot.with(|t| Ok(t.pin_rules(kind)))?;
    let mut dialog = SecretDialog {
        title: occasion.title.clone(),
        description: texts::secret_description(&occasion.context, &holder, kind, status.tries_left),
        prompt: texts::secret_prompt(kind),
        error: None,
        ok: occasion.ok.clone(),
    };
    for _ in 0..FORMAT_RETRIES {
        let pin = ctx.prompter.secret(&dialog, ctx.cancel)?;
        ctx.cancel.check()?;
        match check_rules(&pin, rules) {
            Ok(()) => return Ok(pin),
            Err(why) => dialog.error = Some(why),
        }
    }
    Err(Error::PinFormat(dialog.error.unwrap_or_default()))
}

/// Asks for a new PIN twice; both must match and fit the rules.
fn ask_new_secret(ctx: &Ctx, slot: &TokenSlot, kind: PinKind) -> Result<Pin> {
    let rules = slot.with(|t| Ok(t.pin_rules(kind)))?;
    let holder = slot.info().holder;
    let mut error = None;
    for _ in 0..FORMAT_RETRIES {
        let dialog = SecretDialog {
            title: texts::title(),
            description: texts::new_secret(&holder, kind, rules),
            prompt: texts::secret_prompt(kind),
            error: error.take(),
            ok: None,
        };
        let first = ctx.prompter.secret(&dialog, ctx.cancel)?;
        if let Err(why) = check_rules(&first, rules) {
            error = Some(why);
            continue;
        }
        let again = SecretDialog { description: texts::repeat_secret(kind), ..dialog };
        let second = ctx.prompter.secret(&again, ctx.cancel)?;
        if first.as_bytes() == second.as_bytes() {
            return Ok(first);
        }
        error = Some(texts::mismatch());
    }
    Err(Error::PinFormat(error.unwrap_or_default()))
}

fn check_rules(pin: &Pin, rules: PinRules) -> core::result::Result<(), String> {
    if pin.len() < rules.min || pin.len() > rules.max {
        return Err(texts::wrong_length(rules));
    }
    if rules.digits_only && !pin.as_bytes().iter().all(u8::is_ascii_digit) {
        return Err(texts::digits_only());
    }
    Ok(())
}

/// Asks the citizen whether `origin` may use the agent at all.
pub fn ask_origin_consent(ctx: &Ctx, origin: &str) -> Result<bool> {
    let _gate = ctx.gate.enter()?;
    let dialog = ConfirmDialog {
        title: texts::title(),
        description: texts::origin_consent(origin),
        ok: texts::allow(),
        cancel: texts::deny(),
    };
    match ctx.prompter.confirm(&dialog, ctx.cancel) {
        Ok(yes) => Ok(yes),
        Err(Error::UserCancelled) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Signs `digest` with the key for `purpose` after the citizen typed the PIN in a
/// dialog for `occasion` (the origin and what is signed). Refreshes the token's
/// counters afterwards, whatever happened.
pub fn sign_with_pin(
    ctx: &Ctx,
    slot: &TokenSlot,
    purpose: KeyPurpose,
    occasion: &Occasion,
    digests: &[(HashAlg, Vec<u8>)],
) -> Result<Vec<Vec<u8>>> {
    with_pin(ctx, slot, purpose, occasion, |sign| digests.iter().map(|(alg, digest)| sign(*alg, digest)).collect())
}

/// Signs with a signer callback that may call the token several times (CMS), after one
/// PIN entry: `f` gets a closure that signs a digest with that PIN.
pub fn with_pin<T>(
    ctx: &Ctx,
    slot: &TokenSlot,
    purpose: KeyPurpose,
    occasion: &Occasion,
    f: impl FnOnce(&mut dyn FnMut(HashAlg, &[u8]) -> Result<Vec<u8>>) -> Result<T>,
) -> Result<T> {
    let gate = ctx.gate.enter()?;
    let kind = slot.with(|t| Ok(t.pin_for(purpose)))?;
    let pin = ask_secret(ctx, slot, kind, occasion)?;
    drop(gate);
    ctx.cancel.check()?;
    let result = slot.with(|t| {
        let mut sign = |alg: HashAlg, digest: &[u8]| t.sign(purpose, alg, digest, &pin);
        f(&mut sign)
    });
    let _ = slot.refresh();
    result
}

/// Changes PIN `kind`: old PIN, new PIN twice, all in the agent's dialogs.
pub fn change_pin(ctx: &Ctx, slot: &TokenSlot, kind: PinKind, context: &str) -> Result<()> {
    let _gate = ctx.gate.enter()?;
    let old = ask_secret(ctx, slot, kind, &Occasion::plain(context))?;
    let new = ask_new_secret(ctx, slot, kind)?;
    ctx.cancel.check()?;
    let result = slot.with(|t| t.change_pin(kind, &old, &new));
    let _ = slot.refresh();
    result
}

/// Unblocks (or activates) PIN `kind` with the PUK: PUK, new PIN twice.
pub fn unblock_pin(ctx: &Ctx, slot: &TokenSlot, kind: PinKind, context: &str) -> Result<()> {
    let _gate = ctx.gate.enter()?;
    let puk = ask_secret(ctx, slot, PinKind::Puk, &Occasion::plain(context))?;
    let new = ask_new_secret(ctx, slot, kind)?;
    ctx.cancel.check()?;
    let result = slot.with(|t| t.unblock_pin(kind, &puk, &new));
    let _ = slot.refresh();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_before_the_card() {
        let r = PinRules { min: 4, max: 12, digits_only: true };
        assert!(check_rules(&Pin::from_str_slice("1234"), r).is_ok());
        assert!(check_rules(&Pin::from_str_slice("123"), r).is_err());
        assert!(check_rules(&Pin::from_str_slice("12a4"), r).is_err());
        assert!(check_rules(&Pin::from_str_slice("1234567890123"), r).is_err());
    }

    #[test]
    fn one_dialog_at_a_time() {
        let gate = PromptGate::default();
        let g = gate.enter().unwrap();
        assert!(matches!(gate.enter(), Err(Error::Busy)));
        drop(g);
        assert!(gate.enter().is_ok());
    }
}
