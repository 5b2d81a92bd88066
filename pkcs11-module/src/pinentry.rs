//! The protected authentication path (PKCS#11 v2.40 §5.6, C_Login with a null
//! `pPin`): mohur asks for the PIN in its own dialog, a pinentry program spoken to in
//! Assuan over its stdin and stdout.
//!
//! Opt-in: `protected_authentication_path = true` in the configuration, or
//! `MOHUR_PKCS11_PROTECTED_AUTH=1`. The program is `$MOHUR_PINENTRY`
//! (default `pinentry` from `PATH`). The PIN is kept in zeroizing memory and never
//! logged; a wrong PIN is never asked for again by the module.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::{Pin, PinKind, PinState, PinStatus};
use mohur_pinentry::{Dialog, Error, Pinentry};

/// True when the protected authentication path is enabled: by the configuration
/// (`protected_authentication_path`, [`crate::config`]) or by
/// `MOHUR_PKCS11_PROTECTED_AUTH=1`.
pub fn enabled() -> bool {
    crate::config::current().protected_auth_path
        || std::env::var("MOHUR_PKCS11_PROTECTED_AUTH").is_ok_and(|v| v.trim() == "1")
}

/// The pinentry program: `$MOHUR_PINENTRY`, else `pinentry`.
fn program() -> String {
    std::env::var("MOHUR_PINENTRY").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "pinentry".to_owned())
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

/// Runs the pinentry program ([`mohur_pinentry`]) and reads one PIN through `GETPIN`.
/// No timeout: the application called C_Login and waits for the holder.
pub fn get_pin(desc: &str) -> Result<Pin> {
    let dialog = Dialog {
        title: "mohur".to_owned(),
        description: desc.to_owned(),
        prompt: Some("PIN:".to_owned()),
        ..Dialog::default()
    };
    match Pinentry::new(program()).get_pin(&dialog) {
        Ok(mut pin) => Ok(Pin::new(std::mem::take(&mut *pin))),
        Err(Error::Cancelled) => Err(Ck(CKR_FUNCTION_CANCELED)),
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
