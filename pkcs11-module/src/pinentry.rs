//! The protected authentication path (PKCS#11 v2.40 §5.6, C_Login with a null
//! `pPin`): mohur asks for the PIN in its own dialog, a pinentry program spoken to in
//! Assuan over its stdin and stdout.
//!
//! Opt-in: `protected_authentication_path = true` in the configuration, or
//! `MOHUR_PKCS11_PROTECTED_AUTH=1`. The program is `$MOHUR_PINENTRY`
//! (default `pinentry` from `PATH`; on Windows mohur's own dialog window). The PIN is kept in zeroizing memory and never
//! logged; a wrong PIN is never asked for again by the module.
//!
//! A dialog always ends: after `prompt_timeout_seconds` (default [`DEFAULT_TIMEOUT`])
//! it is closed and the call returns CKR_FUNCTION_CANCELED, and C_Finalize closes every
//! open one ([`cancel_all`]). No lock of the module is held while it is open.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::{Pin, PinKind, PinState, PinStatus};
use mohur_platform::dialogs::{Canceller, Dialog, Error, Pinentry};
use std::sync::Mutex;
use std::time::Duration;

/// How long a PIN dialog waits for the holder unless the configuration says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The open dialogs, for C_Finalize to close.
static OPEN: Mutex<Vec<(u64, Canceller)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Closes every open dialog (C_Finalize): their calls return CKR_FUNCTION_CANCELED.
pub fn cancel_all() {
    for (_, c) in OPEN.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        c.cancel();
    }
}

/// True when the protected authentication path is enabled: by the configuration
/// (`protected_authentication_path`, [`crate::config`]) or by
/// `MOHUR_PKCS11_PROTECTED_AUTH=1`.
pub fn enabled() -> bool {
    crate::config::current().protected_auth_path
        || std::env::var("MOHUR_PKCS11_PROTECTED_AUTH").is_ok_and(|v| v.trim() == "1")
}

/// The pinentry program set in `$MOHUR_PINENTRY`, if any; without one the dialog is
/// `pinentry` from `PATH`, on Windows mohur's own window ([`mohur_platform::dialogs::Window`]).
fn program() -> Option<String> {
    std::env::var("MOHUR_PINENTRY").ok().filter(|p| !p.is_empty())
}

/// The dialog's description: whose card, which PIN, tries left (with a warning on
/// the last one).
pub fn description(holder: &str, kind: PinKind, status: &PinStatus) -> String {
    let which = match kind {
        PinKind::Signing => "signing PIN",
        PinKind::Puk => "PUK",
        _ => "PIN",
    };
    let mut desc = format!("Enter the {which} of the card of {holder}.");
    match status.tries_left {
        Some(1) => desc.push_str("\n1 try left.\nWarning: this is the last try. A wrong entry blocks the card's PIN."),
        Some(n) => desc.push_str(&format!("\n{n} tries left.")),
        None => {}
    }
    desc
}

/// Asks for the secret `kind` of the card of `holder` whose counter is `status`:
/// a blocked secret is not asked for (CKR_PIN_LOCKED); a dismissed dialog gives
/// CKR_FUNCTION_CANCELED.
pub fn ask(holder: &str, kind: PinKind, status: &PinStatus) -> Result<Pin> {
    if status.state == PinState::Blocked || status.tries_left == Some(0) {
        return Err(Ck(CKR_PIN_LOCKED));
    }
    get_pin(&description(holder, kind, status))
}

/// Runs the pinentry program ([`mohur_platform::dialogs`]) and reads one PIN through `GETPIN`,
/// closing the dialog at the configured timeout or at C_Finalize.
pub fn get_pin(desc: &str) -> Result<Pin> {
    let dialog = Dialog {
        title: "mohur".to_owned(),
        description: desc.to_owned(),
        prompt: Some("PIN:".to_owned()),
        ..Dialog::default()
    };
    let timeout = crate::config::current().prompt_timeout.unwrap_or(DEFAULT_TIMEOUT);
    let canceller = Canceller::new();
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    OPEN.lock().unwrap_or_else(|p| p.into_inner()).push((id, canceller.clone()));
    let answer = match program() {
        Some(program) => Pinentry::new(program).timeout(timeout).canceller(canceller).get_pin(&dialog),
        #[cfg(windows)]
        None => mohur_platform::dialogs::Window::new().timeout(timeout).canceller(canceller).get_pin(&dialog),
        #[cfg(not(windows))]
        None => Pinentry::new("pinentry").timeout(timeout).canceller(canceller).get_pin(&dialog),
    };
    OPEN.lock().unwrap_or_else(|p| p.into_inner()).retain(|(i, _)| *i != id);
    match answer {
        Ok(mut pin) => Ok(Pin::new(std::mem::take(&mut *pin))),
        Err(Error::Cancelled) => Err(Ck(CKR_FUNCTION_CANCELED)),
        Err(Error::Timeout) => {
            tracing::info!(seconds = timeout.as_secs(), "PIN dialog closed: nobody answered");
            Err(Ck(CKR_FUNCTION_CANCELED))
        }
        Err(e) => {
            tracing::warn!(error = %e, "pinentry");
            Err(Ck(CKR_FUNCTION_FAILED))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_try_warns() {
        let status =
            |n| PinStatus { kind: PinKind::Auth, state: PinState::Ready, tries_left: Some(n), max_tries: None };
        assert!(description("X", PinKind::Auth, &status(9)).contains("9 tries left"));
        assert!(description("X", PinKind::Auth, &status(1)).contains("last try"));
        assert_eq!(ask("X", PinKind::Auth, &status(0)).err(), Some(Ck(CKR_PIN_LOCKED)));
    }
}
