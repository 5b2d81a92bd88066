//! What the citizen reads in the agent's dialogs, composed from the translated
//! messages in `locales/<lang>/agent.ftl` ([`crate::i18n`]).

use crate::tokens::PinRules;
use crate::tr;
use mohur_apdu::PinKind;

/// Dialog title.
pub fn title() -> String {
    tr!("dialog-title")
}

fn secret_name(kind: PinKind) -> String {
    match kind {
        PinKind::Signing => tr!("secret-sign"),
        PinKind::Puk => tr!("secret-puk"),
        _ => tr!("secret-pin"),
    }
}

/// The label of the entry field.
pub fn secret_prompt(kind: PinKind) -> String {
    match kind {
        PinKind::Puk => tr!("prompt-puk"),
        _ => tr!("prompt-pin"),
    }
}

/// "N tries left".
pub fn tries_left(n: u8) -> String {
    tr!("tries-left", n = n)
}

/// The PIN dialog: what is asked for, by whom, and the tries left (with a warning
/// before the last one).
pub fn secret_description(context: &str, holder: &str, kind: PinKind, tries_left: Option<u8>) -> String {
    let mut text = format!("{context}\n\n{}", tr!("secret-enter", secret = secret_name(kind), holder = holder));
    if let Some(n) = tries_left {
        text.push('\n');
        text.push_str(&self::tries_left(n));
        if n == 1 {
            text.push('\n');
            text.push_str(&tr!("last-try-warning"));
        }
    }
    text
}

/// Title of the "blocked" message.
pub fn blocked_title() -> String {
    tr!("blocked-title")
}

/// Why a blocked secret is not asked for, and what to do.
pub fn blocked(holder: &str, kind: PinKind) -> String {
    if kind == PinKind::Puk {
        tr!("blocked-puk", holder = holder)
    } else {
        tr!("blocked-pin", secret = secret_name(kind), holder = holder)
    }
}

/// Title of the "not activated" message.
pub fn not_activated_title() -> String {
    tr!("not-activated-title")
}

/// A card whose PIN was never set.
pub fn not_activated(holder: &str) -> String {
    tr!("not-activated", holder = holder)
}

/// Asking for a new PIN.
pub fn new_secret(holder: &str, kind: PinKind, rules: PinRules) -> String {
    tr!("new-secret", secret = secret_name(kind), holder = holder, min = rules.min, max = rules.max)
}

/// Asking for the new PIN again.
pub fn repeat_secret(kind: PinKind) -> String {
    tr!("repeat-secret", secret = secret_name(kind))
}

/// The two new PINs differ.
pub fn mismatch() -> String {
    tr!("secrets-differ")
}

/// A PIN of the wrong length.
pub fn wrong_length(rules: PinRules) -> String {
    tr!("wrong-length", min = rules.min, max = rules.max)
}

/// A PIN with other characters than digits.
pub fn digits_only() -> String {
    tr!("digits-only")
}

/// May this site use the card?
pub fn origin_consent(origin: &str) -> String {
    tr!("origin-consent", origin = origin)
}

/// "Allow" button.
pub fn allow() -> String {
    tr!("button-allow")
}

/// "Deny" button.
pub fn deny() -> String {
    tr!("button-deny")
}

/// The login dialog's context.
pub fn login(origin: &str) -> String {
    tr!("login-context", origin = origin)
}

/// The signing dialog's context: the origin and each document with its SHA-256.
pub fn sign_documents(origin: &str, documents: &[(String, String)]) -> String {
    let mut text = if documents.len() == 1 {
        tr!("sign-one", origin = origin)
    } else {
        tr!("sign-many", origin = origin, n = documents.len())
    };
    for (name, sha256) in documents {
        text.push_str(&format!("\n  {name}\n    SHA-256 {sha256}"));
    }
    text
}

/// The context of a raw hash signature (`sign`).
pub fn sign_hash(origin: &str, name: &str, hash_name: &str, hash_hex: &str) -> String {
    format!("{}\n  {name}\n    {hash_name} {hash_hex}", tr!("sign-hash", origin = origin))
}

/// Context for PIN changes and unblocking started from a page.
pub fn pin_management(origin: &str) -> String {
    tr!("pin-management", origin = origin)
}

/// A document without a usable name.
pub fn unnamed() -> String {
    tr!("unnamed-document")
}
