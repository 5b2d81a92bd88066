//! `mohur status`: every card and token — reader, ATR, profile, holder, serial,
//! certificates (subject, issuer, validity and days left, key algorithm, purpose) and
//! PIN/PUK tries left — read without spending a PIN try (the counters are read with
//! the card's own "how many tries left" commands, never with a PIN).
//!
//! `--json`: `{"tokens": [token]}`, a token as in the protocol's `status`
//! (`id`, `type`, `profile`, `reader` | `module`, `serial`, `holder`, `keys`, `pins`:
//! `[{"kind": "auth"|"sign"|"puk", "state": "ready"|"verified"|"blocked"|"not-activated",
//! "triesLeft", "maxTries"}]`) plus `atr` (cards) and `certificates`:
//! `[{"purpose", "subject", "issuer", "serialNumber", "notBefore", "notAfter",
//! "daysLeft", "validNow", "keyAlgorithm", "sha256"}]`.
//! No token: exit [`exit::NO_TOKEN`]; pcscd not running and no other token:
//! [`exit::NO_SERVICE`].

use super::token_pin_label;
use super::{
    cert_facts, cert_json, cert_text, certificates, exit, finish, hex_upper, pin_state_text, scan, Failure, Outcome,
    TokenOpts,
};
use crate::tokens::TokenKind;
use crate::{tr, Error};
use mohur_apdu::PinState;
use serde_json::{json, Value};
use std::process::ExitCode;

/// Arguments of `mohur status`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Readers and configuration.
    #[command(flatten)]
    pub tokens: TokenOpts,
}

/// Runs `mohur status`.
pub fn run(args: Args) -> ExitCode {
    finish(args.json, status(&args))
}

fn status(args: &Args) -> Result<Outcome, Failure> {
    let scan = scan(&args.tokens)?;
    let tokens = scan.manager.list();
    // Cards no driver of ours opens: named from the table of known cards, with the
    // module that drives them.
    let mut unknown = Vec::new();
    let mut unknown_text = String::new();
    for r in scan.readers.iter().filter(|r| r.token.is_none()) {
        let Some(atr) = &r.atr else { continue };
        let (text, mut json) = super::card_verdict(atr);
        json["reader"] = json!(r.name);
        json["atr"] = json!(hex_upper(atr));
        unknown.push(json);
        unknown_text.push_str(&format!(
            "{}: {}\n  ATR: {}\n  {text}\n\n",
            tr!("cli-label-reader"),
            r.name,
            hex_upper(atr)
        ));
    }
    if tokens.is_empty() {
        if !unknown.is_empty() {
            return Ok(Outcome {
                json: json!({ "tokens": [], "otherCards": unknown }),
                text: unknown_text,
                exit: exit::NO_TOKEN,
            });
        }
        return Err(scan.pcsc_error.unwrap_or_else(|| Failure::from(Error::NoToken)));
    }
    let atr_of = |reader: &str| scan.readers.iter().find(|r| r.name == reader).and_then(|r| r.atr.clone());
    let mut list = Vec::new();
    let mut text = String::new();
    for slot in &tokens {
        let info = slot.info();
        let mut t = crate::protocol::token_json(&slot.id, &info);
        let atr = slot.reader.as_deref().and_then(atr_of);
        t["atr"] = json!(atr.as_deref().map(hex_upper));
        // A counter at zero is a blocked PIN, whatever the state byte says.
        if let Some(pins) = t["pins"].as_array_mut() {
            for p in pins.iter_mut() {
                if p["triesLeft"] == json!(0) {
                    p["state"] = json!("blocked");
                }
            }
        }
        let mut certs: Vec<Value> = Vec::new();
        let mut cert_lines = String::new();
        for (purpose, der) in certificates(slot) {
            let facts = cert_facts(&der)?;
            certs.push(cert_json(purpose, &facts));
            cert_lines.push_str(&cert_text(purpose, &facts, "  "));
        }
        t["certificates"] = Value::Array(certs);
        list.push(t);

        match &info.kind {
            TokenKind::Card { profile, reader } => {
                text.push_str(&format!("{}: {reader}\n", tr!("cli-label-reader")));
                text.push_str(&format!("  {}: {profile}\n", tr!("cli-label-profile")));
                if let Some(atr) = &atr {
                    text.push_str(&format!("  ATR: {}\n", hex_upper(atr)));
                }
            }
            TokenKind::Pkcs11 { module } => {
                text.push_str(&format!("{}: {module}\n", tr!("cli-label-module")));
            }
        }
        text.push_str(&format!("  {}: {}\n", tr!("cli-label-holder"), info.holder));
        text.push_str(&format!("  {}: {}\n", tr!("cli-label-serial"), info.serial));
        text.push_str(&cert_lines);
        for p in &info.pins {
            let state = if p.tries_left == Some(0) { PinState::Blocked } else { p.state };
            text.push_str(&format!("  {}: {}\n", token_pin_label(&info, p.kind), pin_state_text(state, p.tries_left)));
        }
        text.push('\n');
    }
    text.push_str(&unknown_text);
    if let Some(f) = &scan.pcsc_error {
        text.push_str(&format!("{}\n", f.message));
    }
    Ok(Outcome { json: json!({ "tokens": list, "otherCards": unknown }), text, exit: exit::OK })
}
