//! The `mohur-card-sim` command line.

use crate::provision::{provision, ProvisionOptions};
use crate::state::{Profile, StateStore};
use crate::{SimCard, SimHandle};
use clap::{Parser, ValueEnum};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, ValueEnum)]
enum ProfileArg {
    Piv,
    Azedit,
}

/// A simulated PIV or AzeDIT card in a vpcd reader of pcscd.
///
/// Commands on standard input, one per line: `pull`, `insert`, `pull-on-ins HH`
/// (pull when a command with INS HH arrives, before answering it), `stats`,
/// `reset-stats`, `quit`.
#[derive(Parser)]
#[command(name = "mohur-card-sim", version)]
struct Args {
    /// State file: keys, certificates, PINs and retry counters. Created from
    /// --holder when missing; rewritten atomically on every counter change.
    #[arg(long)]
    state: PathBuf,
    /// Holder directory written by `mohur-test-pki` (to personalise a new card).
    #[arg(long)]
    holder: Option<PathBuf>,
    /// Card profile of a new card.
    #[arg(long, value_enum, default_value = "piv")]
    profile: ProfileArg,
    /// vpcd port (reader "<name> 00 00" of a vpcd entry listens on its CHANNELID).
    #[arg(long, default_value_t = 35963)]
    port: u16,
    /// Wrong PIN entries before a new card's PIN blocks.
    #[arg(long, default_value_t = 10)]
    pin_tries: u8,
    /// Wrong PUK entries before a new card's PUK blocks for good.
    #[arg(long, default_value_t = 10)]
    puk_tries: u8,
    /// A new card arrives not activated: its PIN must be set with the PUK first.
    #[arg(long)]
    not_activated: bool,
    /// PIN (PIN1) of a new card.
    #[arg(long)]
    pin: Option<String>,
    /// PIN2 of a new AzeDIT card.
    #[arg(long)]
    pin2: Option<String>,
    /// PUK of a new card.
    #[arg(long)]
    puk: Option<String>,
}

/// Runs the simulator; returns the process exit code.
pub fn main() -> i32 {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOHUR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mohur-card-sim: {e}");
            1
        }
    }
}

fn run(args: Args) -> crate::Result<()> {
    let state = if args.state.exists() {
        StateStore::load(&args.state)?
    } else {
        let holder = args.holder.as_ref().ok_or_else(|| {
            crate::Error::BadState(format!("{} does not exist; pass --holder DIR to create it", args.state.display()))
        })?;
        let profile = match args.profile {
            ProfileArg::Piv => Profile::Piv,
            ProfileArg::Azedit => Profile::Azedit,
        };
        let opts = ProvisionOptions {
            pin: args.pin.clone(),
            pin2: args.pin2.clone(),
            puk: args.puk.clone(),
            pin_tries: args.pin_tries,
            puk_tries: args.puk_tries,
            not_activated: args.not_activated,
            ..ProvisionOptions::new(profile)
        };
        let state = provision(holder, &opts)?;
        StateStore::File(args.state.clone()).save(&state)?;
        state
    };
    let card = SimCard::new(state, StateStore::File(args.state.clone()))?;
    let handle = SimHandle::spawn(card, args.port);
    if handle.wait_connected(Duration::from_secs(10)) {
        println!("connected port={}", args.port);
    } else {
        println!("waiting for vpcd on 127.0.0.1:{}", args.port);
    }
    let mut quit = false;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["pull"] => {
                handle.pull();
                "ok".to_owned()
            }
            ["insert"] => {
                handle.insert();
                if handle.wait_connected(Duration::from_secs(5)) { "ok" } else { "error: vpcd not reachable" }
                    .to_owned()
            }
            ["pull-on-ins", hex] => match u8::from_str_radix(hex, 16) {
                Ok(ins) => {
                    handle.pull_on_ins(ins);
                    "ok".to_owned()
                }
                Err(_) => "error: INS must be hex".to_owned(),
            },
            ["stats"] => stats_json(&handle),
            ["reset-stats"] => {
                if let Ok(mut c) = handle.card().lock() {
                    c.reset_stats();
                }
                "ok".to_owned()
            }
            ["quit"] => {
                quit = true;
                break;
            }
            [] => continue,
            _ => format!("error: unknown command {line:?}"),
        };
        println!("{answer}");
    }
    if !quit {
        // Standard input closed (run as a service with </dev/null): serve until killed.
        loop {
            std::thread::park();
        }
    }
    handle.stop();
    Ok(())
}

fn stats_json(handle: &SimHandle) -> String {
    let Ok(card) = handle.card().lock().map(|c| c.stats().clone()) else { return "error: lock".into() };
    let by_ins: serde_json::Map<String, serde_json::Value> =
        card.by_ins.iter().map(|(ins, n)| (format!("{ins:02X}"), (*n).into())).collect();
    serde_json::json!({ "total": card.total, "by_ins": by_ins }).to_string()
}
