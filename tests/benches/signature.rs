//! APDUs and milliseconds per signature: mohur's driver against OpenSC 0.23
//! (`pkcs11-tool` + `opensc-pkcs11.so`) on the same simulated card behind the same
//! pcscd, in one run. Prints a table; never fails on speed.
//!
//! Cases: a fresh process making one signature (what a citizen's program pays),
//! alternating the two contenders back to back so both meet the card in the same
//! power state; and, for mohur, further signatures on an open handle.

use mohur_apdu::{Pin, PinKind};
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 15;

struct Case {
    name: &'static str,
    profile: Profile,
    /// Our key reference, OpenSC's object id, mechanism, PIN.
    key: u8,
    opensc_id: &'static str,
    mechanism: &'static str,
    pin: &'static str,
}

fn run(card: &PluggedCard, mut cmd: Command) -> (f64, u64) {
    card.reset_apdu_count();
    let t = Instant::now();
    let out = cmd.env("OPENSC_CONF", card.reader.opensc_conf()).output().expect("run");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
    (ms, card.apdu_count())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    require_pcscd();
    let data = temp_dir("bench").join("data");
    std::fs::write(&data, b"benchmark document").unwrap();
    let hash = data.with_extension("sha256");
    std::fs::write(&hash, openssl::sha::sha256(b"benchmark document")).unwrap();
    let sig = data.with_extension("sig");
    let ours_bin = env!("CARGO_BIN_EXE_mohur-tests-sign-once");

    let cases = [
        Case {
            name: "PIV 9A RSA-2048",
            profile: Profile::Piv,
            key: 0x9A,
            opensc_id: "01",
            mechanism: "SHA256-RSA-PKCS",
            pin: "123456",
        },
        Case {
            name: "PIV 9C P-256 (PIN always)",
            profile: Profile::Piv,
            key: 0x9C,
            opensc_id: "02",
            mechanism: "ECDSA",
            pin: "123456",
        },
        Case {
            name: "AzeDIT auth P-384",
            profile: Profile::Azedit,
            key: 0x01,
            opensc_id: "01",
            mechanism: "ECDSA",
            pin: "1234",
        },
    ];
    println!("mohur signature benchmark: simulated cards behind pcscd + vpcd, {RUNS} runs each, medians");
    println!("fresh process, one signature (PIN verify + sign), contenders alternating back to back:");
    println!(
        "{:<28} {:>12} {:>10} {:>12} {:>10} {:>9} {:>9}",
        "case", "mohur ms", "APDUs", "OpenSC ms", "APDUs", "ms ratio", "APDU ratio"
    );
    for case in &cases {
        let card = PluggedCard::profile(case.profile);
        let (mut ours_ms, mut ours_apdus, mut sc_ms, mut sc_apdus) = (vec![], vec![], vec![], vec![]);
        for _ in 0..RUNS {
            let mut ours = Command::new(ours_bin);
            ours.args([&card.reader.name, &format!("{:02x}", case.key), case.pin, &data.display().to_string()]);
            let (ms, n) = run(&card, ours);
            ours_ms.push(ms);
            ours_apdus.push(n as f64);

            let mut sc = Command::new("pkcs11-tool");
            let input = if case.mechanism == "ECDSA" { &hash } else { &data };
            sc.args(["--module", OPENSC_PKCS11, "--slot-description", &card.reader.name, "--login", "--pin", case.pin]);
            sc.args(["--sign", "--id", case.opensc_id, "-m", case.mechanism, "-i"]);
            sc.args([input.display().to_string(), "-o".into(), sig.display().to_string()]);
            let (ms, n) = run(&card, sc);
            sc_ms.push(ms);
            sc_apdus.push(n as f64);
        }
        let (om, oa, sm, sa) = (median(ours_ms), median(ours_apdus), median(sc_ms), median(sc_apdus));
        println!(
            "{:<28} {:>12.1} {:>10} {:>12.1} {:>10} {:>8.2}x {:>8.2}x",
            case.name,
            om,
            oa,
            sm,
            sa,
            sm / om,
            sa / oa
        );
    }

    println!("\nmohur, open handle, further signatures (no OpenSC equivalent through pkcs11-tool):");
    println!("{:<28} {:>14} {:>16}", "case", "ms/signature", "APDUs/signature");
    for case in &cases {
        let card = PluggedCard::profile(case.profile);
        let mut c = card.open();
        let pin = Pin::from_str_slice(case.pin);
        let key = *c.keys().iter().find(|k| k.id == case.key).unwrap();
        let input = sha256_input(b"benchmark document");
        if !key.always_authenticate {
            c.verify_pin(PinKind::Auth, &pin).unwrap();
        }
        let with_pin = key.always_authenticate.then_some(&pin);
        c.sign(case.key, &input, with_pin).unwrap();
        card.reset_apdu_count();
        let n = 50;
        let t = Instant::now();
        for _ in 0..n {
            c.sign(case.key, &input, with_pin).unwrap();
        }
        let per = t.elapsed() / n;
        println!(
            "{:<28} {:>14.2} {:>16.1}",
            case.name,
            per.as_secs_f64() * 1000.0,
            card.apdu_count() as f64 / n as f64
        );
    }
    std::thread::sleep(Duration::from_millis(10));
}
