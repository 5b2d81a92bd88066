//! What the citizen reads in the agent's dialogs, composed from the translated
//! messages in `locales/<lang>/agent.ftl` ([`crate::i18n`]).

use crate::tokens::PinRules;
use crate::tr;
use mohur_apdu::PinKind;

/// Dialog title.
pub fn title() -> String {
    tr!("dialog-title")
}

/// The button that accepts a dialog.
pub fn ok() -> String {
    tr!("button-ok")
}

/// The button that closes a dialog without an answer.
pub fn cancel() -> String {
    tr!("button-cancel")
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

/// What a PIN dialog is for. A login and a signature look different — title, text and
/// button — so that a citizen can tell "log in to X" from "sign for X".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occasion {
    /// The window title.
    pub title: String,
    /// Who asks, and for what (the origin, what is signed).
    pub context: String,
    /// The OK button ("Log in", "Sign"); `None` for the dialog's own.
    pub ok: Option<String>,
}

impl Occasion {
    /// A PIN asked for another reason (PIN management): the plain title and button.
    pub fn plain(context: impl Into<String>) -> Occasion {
        Occasion { title: title(), context: context.into(), ok: None }
    }

    /// A signature: the signing title and a "Sign" button.
    pub fn signing(context: impl Into<String>) -> Occasion {
        Occasion { title: tr!("sign-title"), context: context.into(), ok: Some(tr!("button-sign")) }
    }
}

/// The login dialog: the origin the login is bound to, a "Log in" button.
pub fn login(origin: &str) -> Occasion {
    Occasion {
        title: tr!("login-title"),
        context: tr!("login-context", origin = origin),
        ok: Some(tr!("button-login")),
    }
}

/// A document to confirm: its name as the site gave it, and its hash, computed by mohur
/// from the document itself or given by the site (`sign-document` with `digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The site's name for it (control characters removed).
    pub name: String,
    /// The hash's name (`SHA-256`).
    pub hash_name: &'static str,
    /// The hash, hex.
    pub hash_hex: String,
    /// True if the site computed the hash: mohur never saw the document.
    pub from_site: bool,
    /// For a PDF signed in itself: its page count, as mohur read it.
    pub pdf_pages: Option<usize>,
}

/// The signing dialog: the origin and each document with its hash, the names marked as
/// the site's and a digest the site computed marked as such.
pub fn sign_documents(origin: &str, documents: &[Listed]) -> Occasion {
    let mut text = if documents.len() == 1 {
        tr!("sign-one", origin = origin)
    } else {
        tr!("sign-many", origin = origin, n = documents.len())
    };
    text.push('\n');
    text.push_str(&tr!("names-from-site"));
    for d in documents {
        text.push_str(&format!("\n  «{}»", d.name));
        if let Some(pages) = d.pdf_pages {
            text.push_str(&format!("\n    {}", tr!("pdf-pages", n = pages)));
        }
        text.push_str(&format!("\n    {} {}", d.hash_name, d.hash_hex));
        if d.from_site {
            text.push_str(&format!("\n    {}", tr!("digest-from-site")));
        }
    }
    Occasion::signing(text)
}

/// The dialog of a raw hash signature (`sign`): the site computed the value itself and
/// mohur cannot show what it stands for; the name is the site's claim.
pub fn sign_hash(origin: &str, name: Option<&str>, hash_name: &str, hash_hex: &str) -> Occasion {
    let mut text = tr!("sign-hash", origin = origin);
    if let Some(name) = name {
        text.push_str(&format!("\n  {}", tr!("name-from-site", name = name)));
    }
    text.push_str(&format!("\n    {hash_name} {hash_hex}"));
    Occasion::signing(text)
}

/// Context for PIN changes and unblocking started from a page.
pub fn pin_management(origin: &str) -> String {
    tr!("pin-management", origin = origin)
}

/// A document without a usable name.
pub fn unnamed() -> String {
    tr!("unnamed-document")
}
