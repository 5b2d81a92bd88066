//! Why a signature is not valid, as a person is told it.
//!
//! A check that refuses a signature, a certificate, a time-stamp or a token says why
//! twice: a [`Why`], which mohur's reports (`mohur verify`, the tray's "Check a
//! signature…") tell in the citizen's language, and a detail: technical, in English, for
//! `--json`, the protocol's error message and support.

use std::fmt;

/// What kind of reason a signature was refused for. Each has a message in every
/// language (`verify-why-*` in `cli.ftl`) and a stable code for `--json` ([`Why::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Why {
    /// Not a signature mohur can read: not DER, base64 or PEM, or without a part it must
    /// have (a signed attribute, a signer, a certificate's name).
    Unreadable,
    /// Of a kind, or made with an algorithm, that this version of mohur does not check.
    Unsupported,
    /// A detached signature given without the file it signs.
    NoContent,
    /// The signed data differ from what was signed, or the signature value does not
    /// verify with the certificate's key.
    Altered,
    /// The signer's certificate does not lead to a CA the citizen trusts (RFC 5280 §6.1).
    UntrustedIssuer,
    /// A certificate of the path had expired at the time that counts (the time-stamp's,
    /// or now).
    Expired,
    /// A certificate of the path was not valid yet at the time that counts.
    NotYetValid,
    /// A certificate of the path was revoked (OCSP or CRL).
    Revoked,
    /// The certificate's key usage does not allow this kind of signature.
    NotForSigning,
    /// The signature names (signing-certificate attributes, ETSI EN 319 122-1 §5.2.2) or
    /// claims another certificate than the one that made it.
    WrongCertificate,
    /// The time-stamp is over other data, in the future, or does not verify.
    BadTimestamp,
    /// The trusted CAs given (a bundle, a root) cannot be used.
    BadTrustStore,
    /// A file of a container that no signature covers.
    Unsigned,
    /// A file a container's signature names that the container does not hold.
    MissingFile,
}

impl Why {
    /// The stable code (`--json`'s `"why"`).
    pub fn code(self) -> &'static str {
        match self {
            Why::Unreadable => "unreadable",
            Why::Unsupported => "unsupported",
            Why::NoContent => "no-content",
            Why::Altered => "altered",
            Why::UntrustedIssuer => "untrusted-issuer",
            Why::Expired => "expired",
            Why::NotYetValid => "not-yet-valid",
            Why::Revoked => "revoked",
            Why::NotForSigning => "not-for-signing",
            Why::WrongCertificate => "wrong-certificate",
            Why::BadTimestamp => "bad-timestamp",
            Why::BadTrustStore => "bad-trust-store",
            Why::Unsigned => "unsigned",
            Why::MissingFile => "missing-file",
        }
    }

    /// Every kind, for the test that each is told in every language.
    #[cfg(test)]
    pub(crate) const ALL: [Why; 14] = [
        Why::Unreadable,
        Why::Unsupported,
        Why::NoContent,
        Why::Altered,
        Why::UntrustedIssuer,
        Why::Expired,
        Why::NotYetValid,
        Why::Revoked,
        Why::NotForSigning,
        Why::WrongCertificate,
        Why::BadTimestamp,
        Why::BadTrustStore,
        Why::Unsigned,
        Why::MissingFile,
    ];
}

/// A refusal: what kind, whose certificate when it is about one, and the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The kind of reason.
    pub why: Why,
    /// The certificate's holder (its common name, else its whole name) for the kinds
    /// about one certificate of the path (expired, not yet valid, revoked).
    pub who: Option<String>,
    /// The technical detail, in English.
    pub detail: String,
}

impl Rejection {
    /// A refusal of kind `why` with `detail`.
    pub fn new(why: Why, detail: impl Into<String>) -> Rejection {
        Rejection { why, who: None, detail: detail.into() }
    }

    /// The same, about the certificate of `who`.
    pub fn about(mut self, who: impl Into<String>) -> Rejection {
        self.who = Some(who.into());
        self
    }

    /// The reason in the citizen's language (mohur's current one).
    pub fn told(&self) -> String {
        let who = self.who.as_deref().unwrap_or("?");
        match self.why {
            Why::Unreadable => crate::tr!("verify-why-unreadable"),
            Why::Unsupported => crate::tr!("verify-why-unsupported"),
            Why::NoContent => crate::tr!("verify-why-no-content"),
            Why::Altered => crate::tr!("verify-why-altered"),
            Why::UntrustedIssuer => crate::tr!("verify-why-untrusted-issuer"),
            Why::Expired => crate::tr!("verify-why-expired", who = who),
            Why::NotYetValid => crate::tr!("verify-why-not-yet-valid", who = who),
            Why::Revoked => crate::tr!("verify-why-revoked", who = who),
            Why::NotForSigning => crate::tr!("verify-why-not-for-signing"),
            Why::WrongCertificate => crate::tr!("verify-why-wrong-certificate"),
            Why::BadTimestamp => crate::tr!("verify-why-bad-timestamp"),
            Why::BadTrustStore => crate::tr!("verify-why-bad-trust-store"),
            Why::Unsigned => crate::tr!("verify-why-unsigned"),
            Why::MissingFile => crate::tr!("verify-why-missing-file"),
        }
    }
}

/// What a check's error says: its [`Rejection`], or, for an error that is no refusal
/// (an internal one), an unreadable signature with the error as detail.
impl From<crate::Error> for Rejection {
    fn from(e: crate::Error) -> Rejection {
        match e {
            crate::Error::Rejected(r) => r,
            other => Rejection::new(Why::Unreadable, other.to_string()),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{message_in, Lang};

    #[test]
    fn every_kind_is_told_in_every_language_and_not_in_english_outside_english() {
        for why in Why::ALL {
            let id = format!("verify-why-{}", why.code());
            let mut args = fluent_bundle::FluentArgs::new();
            args.set("who", "ƏLİYEVA LEYLA");
            let english = message_in(Lang::En, &id, Some(&args));
            for lang in [Lang::Az, Lang::Hy] {
                let text = message_in(lang, &id, Some(&args));
                assert_ne!(text, english, "{id} in {}", lang.code());
                assert!(!text.contains(&id), "{id} in {}: {text}", lang.code());
            }
            if matches!(why, Why::Expired | Why::NotYetValid | Why::Revoked) {
                assert!(english.contains("ƏLİYEVA LEYLA"), "{english}");
            }
        }
    }
}
