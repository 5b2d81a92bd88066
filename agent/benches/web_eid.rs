//! The Web eID host (`mohur chrome-extension://ID/`, as the browser starts it), timed from
//! the spawn: to its version message (the extension gives a host 5 s; aim < 50 ms), to the
//! answer of the status probe `quit`, and to an `authenticate` answer with a simulated
//! AzeDIT card behind pcscd, from which the card's own time (opening it through pcscd and
//! signing, with mohur's token code in this process) and the dialog's (a /bin/sh
//! pinentry, through mohur's prompter) are taken away, round by round.
//!
//! Needs our pcscd (scripts/pcscd.sh start). Prints numbers; never fails on speed.

// The agent tests' fixtures: temporary directories, the /bin/sh pinentry.
#[path = "../tests/common/mod.rs"]
mod common;

use mohur_agent::dialogs::{PinentryPrompter, Prompter, SecretDialog};
use mohur_agent::tokens::manager::TokenManager;
use mohur_agent::Cancel;
use mohur_apdu::{HashAlg, KeyPurpose, Pin};
use mohur_card_sim::Profile;
use mohur_tests::{card_state, PluggedCard};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const START_RUNS: usize = 30;
const AUTH_RUNS: usize = 10;
const AIM_VERSION_MS: f64 = 50.0;
const ORIGIN: &str = "https://portal.test";
const NONCE: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn frame(v: &serde_json::Value) -> Vec<u8> {
    let body = v.to_string().into_bytes();
    let mut out = (body.len() as u32).to_ne_bytes().to_vec();
    out.extend(body);
    out
}

fn read_frame(r: &mut dyn Read) -> serde_json::Value {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).expect("a message from the host");
    let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
    r.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// One host run: (spawn → version, spawn → answer).
fn host(home: &Path, pinentry: &Path, command: &serde_json::Value) -> (Duration, Duration, serde_json::Value) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mohur"))
        .arg("chrome-extension://gbnmjkkoeofjpfnifigkdbpmcelelcbb/")
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("MOHUR_CONFIG")
        .env_remove("MOHUR_LOG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("MOHUR_PINENTRY", pinentry)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mohur");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    read_frame(&mut stdout);
    let version = started.elapsed();
    stdin.write_all(&frame(command)).unwrap();
    let answer = read_frame(&mut stdout);
    let answered = started.elapsed();
    drop(stdin);
    child.wait().unwrap();
    (version, answered, answer)
}

fn main() {
    println!("== mohur Web eID host benchmark (dev build; medians) ==");
    let dir = common::temp_dir("bench-webeid");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(
        dir.join(".config/mohur/agent.toml"),
        format!(
            "readers = [{:?}]\nprobe_well_known_modules = false\nallowed_origins = [{ORIGIN:?}]\n",
            card.reader.name
        ),
    )
    .unwrap();
    let pinentry = common::quick_pinentry(&dir);
    let quit = serde_json::json!({"command": "quit", "arguments": {}});
    // One start to warm the page cache.
    host(&dir, &pinentry, &quit);

    let (mut to_version, mut to_quit) = (Vec::new(), Vec::new());
    for _ in 0..START_RUNS {
        let (v, a, answer) = host(&dir, &pinentry, &quit);
        assert_eq!(answer, serde_json::json!({}));
        to_version.push(ms(v));
        to_quit.push(ms(a));
    }
    let version = median(&mut to_version);
    println!("\n-- 1. start-up ({START_RUNS} runs) --");
    println!(
        "spawn → version message: {version:.1} ms (aim < {AIM_VERSION_MS} ms: {}); → quit answered: {:.1} ms",
        if version < AIM_VERSION_MS { "met" } else { "MISSED" },
        median(&mut to_quit)
    );

    println!("\n-- 2. authenticate, AzeDIT card behind pcscd, a /bin/sh pinentry ({AUTH_RUNS} runs) --");
    let auth = serde_json::json!({"command": "authenticate",
        "arguments": {"challengeNonce": NONCE, "origin": ORIGIN, "lang": "en"}});
    let (mut e2e, mut card_ms, mut dialog_ms, mut overhead) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let prompter = PinentryPrompter::new(&pinentry).timeout(Duration::from_secs(10));
    let dialog = SecretDialog {
        title: "mohur: log in".into(),
        description: "Log in".into(),
        prompt: "PIN:".into(),
        error: None,
        ok: None,
    };
    for _ in 0..AUTH_RUNS {
        let (_, answered, answer) = host(&dir, &pinentry, &auth);
        assert!(answer.get("unverifiedCertificate").is_some(), "{answer}");
        // The card alone: what the host does with it (open through pcscd, PIN status,
        // sign the 48-byte value), with mohur's token code in this process.
        let t = Instant::now();
        let tokens = TokenManager::new();
        tokens.scan_pcsc(std::slice::from_ref(&card.reader.name)).unwrap();
        let slot = tokens.find(None, Some(KeyPurpose::Authentication)).unwrap();
        slot.with(|t| t.pin_status(mohur_apdu::PinKind::Auth)).unwrap();
        slot.with(|t| t.sign(KeyPurpose::Authentication, HashAlg::Sha384, &[7u8; 48], &Pin::from_str_slice("1234")))
            .unwrap();
        let card_time = t.elapsed();
        // The dialog alone.
        let t = Instant::now();
        prompter.secret(&dialog, &Cancel::new()).unwrap();
        let dialog_time = t.elapsed();
        e2e.push(ms(answered));
        card_ms.push(ms(card_time));
        dialog_ms.push(ms(dialog_time));
        overhead.push(ms(answered) - ms(card_time) - ms(dialog_time));
    }
    println!(
        "spawn → authenticate answered: {:.1} ms = card {:.1} ms + dialog {:.1} ms + host {:.1} ms (start-up, \
         configuration, consent check, the token built)",
        median(&mut e2e),
        median(&mut card_ms),
        median(&mut dialog_ms),
        median(&mut overhead)
    );
    println!("(web-eid-app, the reference host, is not packaged for Debian: no peer to time beside it here)");
}
