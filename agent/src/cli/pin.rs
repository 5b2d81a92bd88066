//! `mohur pin change | unblock | activate`: the card's PINs, asked for in the agent's
//! own dialog ([`crate::dialogs::from_environment`]: `$MOHUR_PINENTRY`, pinentry on a
//! desktop, else the terminal without echo) and run through [`crate::pin_policy`], so the
//! PIN policy is the agent's: the counter is read first and shown, a blocked or
//! never-activated PIN is explained instead of asked for, a PIN is sent once.
//!
//! * `change`: old PIN, new PIN twice (`--pin auth|sign`, default `auth`);
//! * `unblock`: PUK, new PIN twice;
//! * `activate`: a card whose PINs were never set (sealed PIN envelope): PUK and the
//!   new PIN, for each PIN not activated yet (or only `--pin`). A PIN the card reports
//!   active is left alone and nothing is asked (AzeDIT cards cannot report it: there
//!   every PIN asked for is set).
//!
//! `--json`: `{"action": "change"|"unblock"|"activate", "token", "reader", "done":
//! ["auth"|"sign", …], "pins": [as in status]}`.

use super::{exit, finish, scan, token_pin_label, Failure, Outcome, TokenOpts};
use crate::pin_policy::{self, Ctx, PromptGate};
use crate::tokens::TokenKind;
use crate::{tr, Cancel};
use mohur_apdu::{KeyPurpose, PinKind, PinState};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `mohur pin`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Which PIN: `auth` (PIN1, the PIV PIN) or `sign` (PIN2).
    #[arg(long, value_enum, global = true)]
    pub pin: Option<Which>,
    /// Readers and configuration.
    #[command(flatten)]
    pub tokens: TokenOpts,
}

/// `mohur pin` actions.
#[derive(clap::Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change a PIN: the old one, then the new one twice.
    Change,
    /// Unblock a PIN with the PUK, choosing a new PIN.
    Unblock,
    /// Activate a new card: set its PINs with the PUK from the PIN envelope.
    Activate,
}

/// A PIN, by what it unlocks.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The authentication PIN (AzeDIT PIN1, PIV PIN).
    Auth,
    /// The signing PIN (AzeDIT PIN2; the PIV PIN on PIV cards).
    Sign,
}

/// Runs `mohur pin`.
pub fn run(args: Args) -> ExitCode {
    finish(args.json, pin(&args))
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Change => "change",
        Action::Unblock => "unblock",
        Action::Activate => "activate",
    }
}

fn pin(args: &Args) -> Result<Outcome, Failure> {
    let scan = scan(&args.tokens)?;
    let purpose = match args.pin {
        Some(Which::Sign) => KeyPurpose::Signing,
        _ => KeyPurpose::Authentication,
    };
    let slot = scan.one(purpose)?;
    let info = slot.info();
    // The PINs to act on: the one asked for; for `activate`, the PINs of the card's
    // keys that were never set. AzeDIT cards (as EstEID 3.5) keep no "activated" flag in
    // their retry-counter records: their state shows only when a PIN is used (`69 84`),
    // so for them `activate` sets the PINs asked for without knowing.
    let unknowable = matches!(&info.kind, TokenKind::Card { profile, .. } if profile == "AzeDIT");
    let needs_activation =
        |kind: PinKind| unknowable || info.pins.iter().any(|p| p.kind == kind && p.state == PinState::NotActivated);
    let kinds: Vec<PinKind> = match (args.action, args.pin) {
        (Action::Activate, None) => {
            let mut kinds = Vec::new();
            for k in &info.keys {
                if needs_activation(k.pin) && !kinds.contains(&k.pin) {
                    kinds.push(k.pin);
                }
            }
            kinds
        }
        (Action::Activate, Some(_)) => {
            let kind = slot.with(|t| Ok(t.pin_for(purpose)))?;
            if needs_activation(kind) {
                vec![kind]
            } else {
                Vec::new()
            }
        }
        _ => vec![slot.with(|t| Ok(t.pin_for(purpose)))?],
    };
    let pins_json = |slot: &crate::tokens::manager::TokenSlot| {
        let info = slot.refresh().unwrap_or_else(|_| slot.info());
        crate::protocol::token_json(&slot.id, &info)["pins"].clone()
    };
    if kinds.is_empty() {
        return Ok(Outcome {
            json: json!({
                "action": action_name(args.action), "token": slot.id, "reader": slot.reader,
                "done": [], "pins": pins_json(&slot),
            }),
            text: tr!("cli-pin-already-active"),
            exit: exit::OK,
        });
    }
    let prompter = crate::dialogs::from_environment(Duration::from_secs(scan.config.prompt_timeout_seconds));
    let cancel = Cancel::new();
    let gate = PromptGate::default();
    let ctx = Ctx { prompter: prompter.as_ref(), cancel: &cancel, gate: &gate };
    let place = super::token_place(&slot);
    let mut done = Vec::new();
    let mut text = String::new();
    for kind in kinds {
        // A PIV card has one PIN for both keys: once set for one, the other is done.
        if args.action == Action::Activate && !done.is_empty() && !unknowable {
            let status = slot.with(|t| t.pin_status(kind))?;
            if status.state != PinState::NotActivated {
                continue;
            }
        }
        let secret = token_pin_label(&info, kind);
        match args.action {
            Action::Change => {
                let context = tr!("cli-pin-change-context", secret = secret.as_str(), name = place.as_str());
                pin_policy::change_pin(&ctx, &slot, kind, &context)?;
                text.push_str(&tr!("cli-pin-changed", secret = secret.as_str()));
            }
            Action::Unblock => {
                let context = tr!("cli-pin-unblock-context", secret = secret.as_str(), name = place.as_str());
                pin_policy::unblock_pin(&ctx, &slot, kind, &context)?;
                text.push_str(&tr!("cli-pin-unblocked", secret = secret.as_str()));
            }
            Action::Activate => {
                let context = tr!("cli-pin-activate-context", secret = secret.as_str(), name = place.as_str());
                pin_policy::unblock_pin(&ctx, &slot, kind, &context)?;
                text.push_str(&tr!("cli-pin-activated", secret = secret.as_str()));
            }
        }
        text.push('\n');
        done.push(match kind {
            PinKind::Signing => "sign",
            _ => "auth",
        });
    }
    Ok(Outcome {
        json: json!({
            "action": action_name(args.action), "token": slot.id, "reader": slot.reader,
            "done": done, "pins": pins_json(&slot),
        }),
        text,
        exit: exit::OK,
    })
}
