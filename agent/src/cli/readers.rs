//! `mohur readers`: the PC/SC readers and what is in each, read without a PIN.
//!
//! `--json`: `{"readers": [{"name", "card": bool, "atr": "3B…" | null,
//! "profile": "AzeDIT" | "PIV" | null, "supported": bool, "error": "…" | null}]}`.
//! pcscd not running: exit [`exit::NO_SERVICE`] with a message, at once.

use super::{exit, finish, hex_upper, scan, Failure, Outcome, TokenOpts};
use crate::tokens::TokenKind;
use crate::tr;
use serde_json::{json, Value};
use std::process::ExitCode;

/// Arguments of `mohur readers`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Readers and configuration.
    #[command(flatten)]
    pub tokens: TokenOpts,
}

/// Runs `mohur readers`.
pub fn run(args: Args) -> ExitCode {
    finish(args.json, readers(&args))
}

fn readers(args: &Args) -> Result<Outcome, Failure> {
    let scan = scan(&args.tokens)?;
    if let Some(f) = scan.pcsc_error {
        return Err(f);
    }
    let mut list: Vec<Value> = Vec::new();
    let mut text = String::new();
    for r in &scan.readers {
        let profile = r.token.as_ref().and_then(|t| match t.info().kind {
            TokenKind::Card { profile, .. } => Some(profile),
            TokenKind::Pkcs11 { .. } => None,
        });
        list.push(json!({
            "name": r.name,
            "card": r.atr.is_some(),
            "atr": r.atr.as_deref().map(hex_upper),
            "profile": profile,
            "supported": r.token.is_some(),
            "error": r.error,
        }));
        text.push_str(&r.name);
        text.push('\n');
        match (&r.atr, &profile) {
            (None, _) if r.error.is_none() => text.push_str(&format!("  {}\n", tr!("cli-reader-empty"))),
            (None, _) => {}
            (Some(atr), Some(p)) => {
                text.push_str(&format!("  {}\n", tr!("cli-reader-card", what = p.as_str())));
                text.push_str(&format!("  ATR {}\n", hex_upper(atr)));
            }
            (Some(atr), None) => {
                text.push_str(&format!("  {}\n", tr!("cli-reader-unsupported")));
                text.push_str(&format!("  ATR {}\n", hex_upper(atr)));
                text.push_str(&format!("  {}\n", super::card_verdict(atr).0));
            }
        }
        if let Some(e) = &r.error {
            text.push_str(&format!("  {}\n", tr!("cli-error-other", what = e.as_str())));
        }
    }
    if scan.readers.is_empty() {
        if !args.tokens.readers.is_empty() {
            return Err(Failure::new(
                exit::NO_TOKEN,
                "NO_TOKEN",
                tr!("cli-error-no-reader", name = args.tokens.readers.join(", ")),
            ));
        }
        text = tr!("cli-readers-none");
    }
    Ok(Outcome { json: json!({ "readers": list }), text, exit: exit::OK })
}
