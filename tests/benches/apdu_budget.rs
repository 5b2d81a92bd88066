//! The APDU budget (issue 17, `performance-targets.md`): APDUs a fresh
//! `pkcs11-tool --sign` process sends, counted by the simulated card itself, for
//! mohur's module and OpenSC 0.23's side by side on the same card behind the same
//! pcscd, against the targets. Real readers cost 5–30 ms per APDU: this is what a
//! citizen waits for. Prints a table; never fails on the counts.
//!
//! Each process is run `RUNS` times with the same pause before it (pcscd powers an idle
//! card down after ~0.5 s; the pause is longer, so every run starts from a cold card,
//! the case a citizen meets), and the median is shown. The first run of mohur's module
//! also fills its certificate cache; the median is of the runs after it.

use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::process::Command;
use std::time::Duration;

const RUNS: usize = 5;
const PAUSE: Duration = Duration::from_millis(900);

struct Case {
    name: &'static str,
    profile: Profile,
    id: &'static str,
    pin: &'static str,
    /// RSA: SHA256-RSA-PKCS over the data; EC: ECDSA over a hash of it.
    rsa: bool,
    hash_len: usize,
    target: u64,
    /// What OpenSC 0.23 sent when the targets were set.
    opensc_then: u64,
}

/// The APDUs of one `pkcs11-tool --sign` process on `card` through `module`.
fn one_run(card: &PluggedCard, module: &std::path::Path, conf_env: (&str, &std::path::Path), case: &Case) -> u64 {
    let dir = temp_dir("apdu-budget");
    let input = dir.join("input");
    if case.rsa {
        fs::write(&input, b"benchmark document").unwrap();
    } else {
        fs::write(&input, vec![0x5a; case.hash_len]).unwrap();
    }
    let mech = if case.rsa { "SHA256-RSA-PKCS" } else { "ECDSA" };
    std::thread::sleep(PAUSE);
    card.reset_apdu_count();
    let out = Command::new("pkcs11-tool")
        .env(conf_env.0, conf_env.1)
        .arg("--module")
        .arg(module)
        .args(["--login", "--pin", case.pin, "--sign", "--id", case.id, "-m", mech, "-i"])
        .arg(&input)
        .arg("-o")
        .arg(dir.join("sig"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkcs11-tool --sign with {}: {}",
        module.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // pcscd may still be talking to the card for a moment after the process ends.
    std::thread::sleep(Duration::from_millis(100));
    card.apdu_count()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    require_pcscd();
    let cases = [
        Case {
            name: "PIV 9A (RSA-2048)",
            profile: Profile::Piv,
            id: "01",
            pin: "123456",
            rsa: true,
            hash_len: 0,
            target: 8,
            opensc_then: 38,
        },
        Case {
            name: "PIV 9C (P-256, PIN always)",
            profile: Profile::Piv,
            id: "02",
            pin: "123456",
            rsa: false,
            hash_len: 32,
            target: 9,
            opensc_then: 40,
        },
        Case {
            name: "AzeDIT PIN1 key (P-384)",
            profile: Profile::Azedit,
            id: "01",
            pin: "1234",
            rsa: false,
            hash_len: 48,
            target: 12,
            opensc_then: 39,
        },
    ];
    println!("== APDUs of a fresh `pkcs11-tool --sign` process (the simulated card's own count) ==");
    println!("median of {RUNS} runs, {} ms between processes (cold card each time)", PAUSE.as_millis());
    println!("{:<28} {:>7} {:>7} {:>8}", "case", "mohur", "target", "OpenSC");
    let cache_home = temp_dir("apdu-budget-home");
    for case in &cases {
        let card = PluggedCard::profile(case.profile);
        // mohur: only this card's reader; its certificate cache in a home of its own.
        let conf = temp_dir("apdu-budget-conf").join("pkcs11.conf");
        fs::write(&conf, format!("readers = {}\n", card.reader.name)).unwrap();
        std::env::set_var("XDG_CACHE_HOME", cache_home.join(case.name.split(' ').next().unwrap()));
        let first = one_run(&card, &mohur_pkcs11_path(), ("MOHUR_PKCS11_CONF", &conf), case);
        let mohur: Vec<u64> =
            (0..RUNS).map(|_| one_run(&card, &mohur_pkcs11_path(), ("MOHUR_PKCS11_CONF", &conf), case)).collect();
        let opensc_conf = card.reader.opensc_conf();
        let opensc: Vec<u64> = (0..RUNS)
            .map(|_| one_run(&card, std::path::Path::new(OPENSC), ("OPENSC_CONF", &opensc_conf), case))
            .collect();
        let m = median(mohur);
        println!(
            "{:<28} {:>7} {:>7} {:>8}  {} (first run, certificates not cached yet: {first}; OpenSC when the targets were set: {})",
            case.name,
            m,
            format!("≤ {}", case.target),
            median(opensc),
            if m <= case.target { "met" } else { "MISSED" },
            case.opensc_then
        );
    }
}

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
