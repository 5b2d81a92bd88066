//! What the citizen reads in the agent's dialogs. One place, so that translations
//! (Azerbaijani, Armenian) replace these functions' bodies and nothing else.

use crate::tokens::PinRules;
use mohur_apdu::PinKind;

/// Dialog title.
pub fn title() -> String {
    "mohur".to_owned()
}

fn secret_name(kind: PinKind) -> &'static str {
    match kind {
        PinKind::Signing => "signing PIN (PIN2)",
        PinKind::Puk => "PUK",
        _ => "PIN",
    }
}

/// The label of the entry field.
pub fn secret_prompt(kind: PinKind) -> String {
    match kind {
        PinKind::Puk => "PUK:".to_owned(),
        _ => "PIN:".to_owned(),
    }
}

/// The PIN dialog: what is asked for, by whom, and the tries left (with a warning
/// before the last one).
pub fn secret_description(context: &str, holder: &str, kind: PinKind, tries_left: Option<u8>) -> String {
    let mut text = format!("{context}\n\nEnter the {} of the card of {holder}.", secret_name(kind));
    match tries_left {
        Some(1) => text.push_str(
            "\n1 try left.\nWARNING: this is the last try. A wrong entry blocks it; then only the PUK can unblock it.",
        ),
        Some(n) => text.push_str(&format!("\n{n} tries left.")),
        None => {}
    }
    text
}

/// Title of the "blocked" message.
pub fn blocked_title() -> String {
    "mohur: blocked".to_owned()
}

/// Why a blocked secret is not asked for, and what to do.
pub fn blocked(holder: &str, kind: PinKind) -> String {
    if kind == PinKind::Puk {
        format!(
            "The PUK of the card of {holder} is blocked. The card cannot be unblocked any more: \
             contact the issuer of your card for a new one."
        )
    } else {
        format!(
            "The {} of the card of {holder} is blocked after too many wrong entries. \
             Unblock it with the PUK from your PIN envelope: choose \"Unblock PIN with PUK\" in the mohur menu, \
             or run `mohur pin unblock`.",
            secret_name(kind)
        )
    }
}

/// Title of the "not activated" message.
pub fn not_activated_title() -> String {
    "mohur: card not activated".to_owned()
}

/// A card whose PIN was never set.
pub fn not_activated(holder: &str) -> String {
    format!(
        "The card of {holder} is not activated yet. Activate it with the PUK from the sealed PIN envelope: \
         choose \"Activate card\" in the mohur menu, or run `mohur pin activate`."
    )
}

/// Asking for a new PIN.
pub fn new_secret(holder: &str, kind: PinKind, rules: PinRules) -> String {
    format!("Choose a new {} for the card of {holder} ({}–{} digits).", secret_name(kind), rules.min, rules.max)
}

/// Asking for the new PIN again.
pub fn repeat_secret(kind: PinKind) -> String {
    format!("Enter the new {} again.", secret_name(kind))
}

/// The two new PINs differ.
pub fn mismatch() -> String {
    "The two entries differ.".to_owned()
}

/// A PIN of the wrong length.
pub fn wrong_length(rules: PinRules) -> String {
    format!("The PIN must have {} to {} digits.", rules.min, rules.max)
}

/// A PIN with other characters than digits.
pub fn digits_only() -> String {
    "The PIN may contain digits only.".to_owned()
}

/// May this site use the card?
pub fn origin_consent(origin: &str) -> String {
    format!(
        "The web site {origin} wants to use your ID card or token through mohur \
         (to read your certificate, log you in and ask for signatures, each confirmed here with your PIN).\n\n\
         Allow {origin}?"
    )
}

/// "Allow" button.
pub fn allow() -> String {
    "Allow".to_owned()
}

/// "Deny" button.
pub fn deny() -> String {
    "Deny".to_owned()
}

/// The login dialog's context.
pub fn login(origin: &str) -> String {
    format!("Log in to {origin} with your ID card.")
}

/// The signing dialog's context: the origin and each document with its SHA-256.
pub fn sign_documents(origin: &str, documents: &[(String, String)]) -> String {
    let mut text = if documents.len() == 1 {
        format!("{origin} asks you to sign this document:")
    } else {
        format!("{origin} asks you to sign these {} documents:", documents.len())
    };
    for (name, sha256) in documents {
        text.push_str(&format!("\n  {name}\n    SHA-256 {sha256}"));
    }
    text
}

/// The context of a raw hash signature (`sign`).
pub fn sign_hash(origin: &str, name: &str, hash_name: &str, hash_hex: &str) -> String {
    format!("{origin} asks you to sign:\n  {name}\n    {hash_name} {hash_hex}")
}

/// Context for PIN changes and unblocking started from a page.
pub fn pin_management(origin: &str) -> String {
    format!("{origin} asks you to manage your card's PIN.")
}
