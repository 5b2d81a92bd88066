//! `Pkcs11Token` and mohur's PIN counter against SoftHSM2, the stand-in for a vendor USB
//! token that never locks its PIN.
//!
//! One SoftHSM token directory per test process (SoftHSM reads `SOFTHSM2_CONF` once, at
//! `C_Initialize`); one token (by label) and one counter directory per test. The SIGKILL
//! and race tests re-run this test binary as child processes (`MOHUR_P11_CHILD`).

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use mohur_agent::tokens::pkcs11::{discover, Pkcs11Module, Pkcs11Token};
use mohur_agent::tokens::retry_counter::{LoginOutcome, RetryCounter, Secret};
use mohur_agent::tokens::{Token, TokenKind};
use mohur_agent::Error;
use mohur_apdu::{HashAlg, KeyAlgorithm, KeyPurpose, Pin, PinKind, PinState};
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SO_PIN: &str = "12345678";
const PIN: &str = "123456";
const WRONG: &str = "000000";
const CHILD: &str = "MOHUR_P11_CHILD";

struct TestEnv {
    base: PathBuf,
    pki: PathBuf,
}

/// The per-process SoftHSM configuration and test PKI. Children inherit the parent's.
fn env() -> &'static TestEnv {
    static ENV: OnceLock<TestEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        if let Ok(base) = std::env::var("MOHUR_P11_BASE") {
            let base = PathBuf::from(base);
            return TestEnv { pki: base.join("pki"), base };
        }
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pkcs11-token");
        remove_stale_runs(&root);
        let base = root.join(std::process::id().to_string());
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("tokens")).unwrap();
        let conf = base.join("softhsm2.conf");
        let text = format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            base.display()
        );
        fs::write(&conf, text).unwrap();
        // Set before any test loads SoftHSM: every test calls env() first, and this
        // initializer runs once while the others wait on the OnceLock.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        std::env::set_var("MOHUR_P11_BASE", &base);
        mohur_certs::generate(&base.join("pki")).unwrap();
        let env = TestEnv { pki: base.join("pki"), base };
        // SoftHSM only sees the tokens that exist when it is initialized, so every test's
        // token is made here, before any test loads the module.
        // Serially: softhsm2-util fails ("Could not get info about the token") while
        // another process is writing a token in the same directory.
        for (label, holder, sign_only) in TOKENS {
            make_token(&env, label, holder, *sign_only);
        }
        env
    })
}

/// Every test's token: label, test-PKI holder, only the signing pair.
const TOKENS: &[(&str, &str, bool)] = &[
    ("info", "piv", false),
    ("single", "azedit", true),
    ("sign-piv", "piv", false),
    ("sign-azedit", "azedit", false),
    ("wrong", "piv", false),
    ("reset", "piv", false),
    ("restart", "piv", false),
    ("sigkill", "piv", false),
    ("race", "piv", false),
    ("unblock", "piv", false),
    ("so-block", "piv", false),
    ("change", "piv", false),
    ("shared", "piv", false),
];

/// Removes the directories of earlier runs whose process is gone.
fn remove_stale_runs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_ok() && !Path::new("/proc").join(&name).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// A fresh SoftHSM token `label` holding `holder`'s keys and certificates: auth under
/// CKA_ID 01, signing under 02 (or only the signing pair with `sign_only`).
fn make_token(env: &TestEnv, label: &str, holder: &str, sign_only: bool) {
    let keys = if sign_only { common::softhsm::Keys::SignOnly } else { common::softhsm::Keys::Both };
    common::softhsm::make_token(&env.base, label, &env.pki.join(holder), keys);
}

fn counter(test: &str) -> RetryCounter {
    RetryCounter::open(env().base.join("counters").join(test)).unwrap()
}

fn token(label: &str, counter: &RetryCounter) -> Pkcs11Token {
    Pkcs11Module::open(MODULE).unwrap().token_with_label(label, counter).unwrap()
}

fn pin(s: &str) -> Pin {
    Pin::from_str_slice(s)
}

fn sha256(data: &[u8]) -> Vec<u8> {
    openssl::sha::sha256(data).to_vec()
}

/// Signs SHA-256("mohur") with `purpose` and `p`.
fn sign_with(t: &mut Pkcs11Token, p: &str) -> mohur_agent::Result<Vec<u8>> {
    t.sign(KeyPurpose::Signing, HashAlg::Sha256, &sha256(b"mohur"), &pin(p))
}

/// Logs in to token `label` with `p` through cryptoki directly, bypassing mohur: tells
/// whether SoftHSM itself still accepts the PIN.
fn softhsm_accepts(label: &str, p: &str) -> bool {
    let ctx = Pkcs11::new(MODULE).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim() == label)
        .expect("token present");
    let session = ctx.open_ro_session(slot).unwrap();
    let ok = session.login(UserType::User, Some(&AuthPin::from(p))).is_ok();
    if ok {
        session.logout().unwrap();
    }
    ok
}

fn verify(cert_der: &[u8], msg: &[u8], digest: MessageDigest, sig: &[u8]) -> bool {
    let key = X509::from_der(cert_der).unwrap().public_key().unwrap();
    if let Ok(ec) = key.ec_key() {
        let (r, s) = sig.split_at(sig.len() / 2);
        let sig =
            EcdsaSig::from_private_components(BigNum::from_slice(r).unwrap(), BigNum::from_slice(s).unwrap()).unwrap();
        let hash = openssl::hash::hash(digest, msg).unwrap();
        return sig.verify(&hash, &ec).unwrap();
    }
    let mut v = Verifier::new(digest, &key).unwrap();
    v.verify_oneshot(sig, msg).unwrap()
}

#[test]
fn info_lists_keys_certificates_and_holder() {
    env();
    let c = counter("info");
    let found = discover(&[PathBuf::from(MODULE)], &c);
    let mut t = found.into_iter().find(|t| t.label() == "info").expect("discover finds the token");
    let info = t.info().unwrap();
    assert_eq!(info.kind, TokenKind::Pkcs11 { module: MODULE.into() });
    assert_eq!(info.serial.len(), 16, "SoftHSM serials are 16 hex digits: {:?}", info.serial);
    assert_eq!(info.serial, t.serial());
    assert_eq!(info.holder, "MAMMADOV ELVIN");
    let keys: Vec<_> = info.keys.iter().map(|k| (k.purpose, k.algorithm, k.pin)).collect();
    assert_eq!(
        keys,
        [
            (KeyPurpose::Authentication, KeyAlgorithm::Rsa { bits: 2048 }, PinKind::Auth),
            (KeyPurpose::Signing, KeyAlgorithm::EcP256, PinKind::Auth)
        ]
    );
    let pins: Vec<_> = info.pins.iter().map(|p| (p.kind, p.state, p.tries_left, p.max_tries)).collect();
    assert_eq!(
        pins,
        [(PinKind::Auth, PinState::Ready, Some(10), Some(10)), (PinKind::Puk, PinState::Ready, Some(10), Some(10))]
    );
    let pki = &env().pki;
    assert_eq!(t.certificate(KeyPurpose::Authentication).unwrap(), fs::read(pki.join("piv/auth.der")).unwrap());
    assert_eq!(t.certificate(KeyPurpose::Signing).unwrap(), fs::read(pki.join("piv/sign.der")).unwrap());
    let rules = t.pin_rules(PinKind::Auth);
    assert_eq!((rules.min, rules.max), (4, 255), "SoftHSM's ulMinPinLen/ulMaxPinLen");
}

#[test]
fn a_single_certificate_serves_both_purposes() {
    env();
    let c = counter("single");
    let mut t = token("single", &c);
    let sign = fs::read(env().pki.join("azedit/sign.der")).unwrap();
    assert_eq!(t.certificate(KeyPurpose::Signing).unwrap(), sign);
    assert_eq!(t.certificate(KeyPurpose::Authentication).unwrap(), sign);
    assert_eq!(t.info().unwrap().keys.len(), 2);
}

#[test]
fn signs_rsa_p256_and_p384_verified_by_openssl() {
    env();
    let c = counter("sign");
    let msg = b"document to sign";

    let mut piv = token("sign-piv", &c);
    let rsa = piv.sign(KeyPurpose::Authentication, HashAlg::Sha256, &sha256(msg), &pin(PIN)).unwrap();
    assert_eq!(rsa.len(), 256);
    let cert = piv.certificate(KeyPurpose::Authentication).unwrap();
    assert!(verify(&cert, msg, MessageDigest::sha256(), &rsa), "RSA PKCS#1 v1.5 over DigestInfo");
    assert!(!verify(&cert, b"another document", MessageDigest::sha256(), &rsa));

    let p256 = piv.sign(KeyPurpose::Signing, HashAlg::Sha256, &sha256(msg), &pin(PIN)).unwrap();
    assert_eq!(p256.len(), 64, "raw r ‖ s");
    let cert = piv.certificate(KeyPurpose::Signing).unwrap();
    assert!(verify(&cert, msg, MessageDigest::sha256(), &p256));

    let mut azedit = token("sign-azedit", &c);
    let digest = openssl::sha::sha384(msg);
    let p384 = azedit.sign(KeyPurpose::Signing, HashAlg::Sha384, &digest, &pin(PIN)).unwrap();
    assert_eq!(p384.len(), 96);
    let cert = azedit.certificate(KeyPurpose::Signing).unwrap();
    assert!(verify(&cert, msg, MessageDigest::sha384(), &p384));
    assert_eq!(azedit.logins_sent(), 1);

    // A digest of the wrong length never reaches the token.
    let e = azedit.sign(KeyPurpose::Signing, HashAlg::Sha384, &sha256(msg), &pin(PIN)).unwrap_err();
    assert!(matches!(e, Error::BadRequest(_)), "{e:?}");
    assert_eq!(azedit.logins_sent(), 1);
}

#[test]
fn ten_wrong_pins_block_without_reaching_the_token() {
    env();
    let c = counter("wrong");
    let mut t = token("wrong", &c);
    // A PIN that breaks the token's length rules costs nothing.
    assert!(matches!(sign_with(&mut t, "12"), Err(Error::PinFormat(_))));
    assert_eq!(t.logins_sent(), 0);
    for left in (1..=9u8).rev() {
        let e = sign_with(&mut t, WRONG).unwrap_err();
        assert!(matches!(e, Error::PinIncorrect { tries_left: Some(l) } if l == left), "{e:?}");
        assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(left));
    }
    assert!(matches!(sign_with(&mut t, WRONG), Err(Error::PinBlocked)), "the 10th wrong PIN blocks");
    assert_eq!(t.logins_sent(), 10);
    // Now even the right PIN is refused, and never sent.
    assert!(matches!(sign_with(&mut t, PIN), Err(Error::PinBlocked)));
    assert!(matches!(sign_with(&mut t, WRONG), Err(Error::PinBlocked)));
    assert_eq!(t.logins_sent(), 10, "a blocked PIN must not reach C_Login");
    let st = t.pin_status(PinKind::Auth).unwrap();
    assert_eq!((st.state, st.tries_left), (PinState::Blocked, Some(0)));
    // SoftHSM itself never locked: the block is mohur's.
    assert!(softhsm_accepts("wrong", PIN));
    assert!(matches!(sign_with(&mut t, PIN), Err(Error::PinBlocked)));
}

#[test]
fn a_right_pin_before_the_limit_resets_the_count() {
    env();
    let c = counter("reset");
    let mut t = token("reset", &c);
    for _ in 0..3 {
        sign_with(&mut t, WRONG).unwrap_err();
    }
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(7));
    sign_with(&mut t, PIN).unwrap();
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(10));
    let e = sign_with(&mut t, WRONG).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(9) }), "{e:?}");
}

#[test]
fn the_count_survives_a_restart() {
    env();
    {
        let c = counter("restart");
        let mut t = token("restart", &c);
        for _ in 0..4 {
            sign_with(&mut t, WRONG).unwrap_err();
        }
    }
    let c = counter("restart");
    let mut t = token("restart", &c);
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(6));
    let e = sign_with(&mut t, WRONG).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(5) }), "{e:?}");
    let json = fs::read_to_string(c.dir().join("pin-counters.json")).unwrap();
    assert!(json.contains(t.counter_key()) && json.contains("\"user_pin\": 5"), "{json}");
}

fn child(test: &str, mode: &str, label: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("MOHUR_P11_LABEL", label)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

#[test]
fn sigkill_while_the_pin_is_out_keeps_the_try_spent() {
    env();
    if std::env::var(CHILD).as_deref() == Ok("hold") {
        // Child: charge a try and "send" the PIN to a token that takes forever (a pinpad,
        // a hung USB device) until the parent kills us.
        let c = counter("sigkill");
        let t = token(&std::env::var("MOHUR_P11_LABEL").unwrap(), &c);
        let _ = c.attempt(t.counter_key(), Secret::UserPin, || -> Result<(), LoginOutcome> {
            println!("PIN-SENT");
            std::thread::sleep(Duration::from_secs(120));
            unreachable!("the parent kills this process");
        });
        return;
    }
    let c = counter("sigkill");
    let mut t = token("sigkill", &c);
    sign_with(&mut t, WRONG).unwrap_err();
    let mut kid = child("sigkill_while_the_pin_is_out_keeps_the_try_spent", "hold", "sigkill").spawn().unwrap();
    let mut lines = BufReader::new(kid.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("PIN-SENT")), "child never sent");
    // While the child holds the lock, nobody else can read or spend the count.
    let reader = {
        let c = c.clone();
        let key = t.counter_key().to_owned();
        std::thread::spawn(move || c.failures(&key, Secret::UserPin).unwrap())
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!reader.is_finished(), "the counter must stay locked while a PIN is out");
    kid.kill().unwrap(); // SIGKILL
    kid.wait().unwrap();
    assert_eq!(reader.join().unwrap(), 2, "the killed attempt stays counted");
    let e = sign_with(&mut t, WRONG).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(7) }), "{e:?}");
}

#[test]
fn two_processes_racing_send_exactly_ten_pins() {
    env();
    let test = "two_processes_racing_send_exactly_ten_pins";
    if std::env::var(CHILD).as_deref() == Ok("race") {
        let c = counter("race");
        let mut t = token(&std::env::var("MOHUR_P11_LABEL").unwrap(), &c);
        let go = env().base.join("race-go");
        while !go.exists() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut report = String::new();
        for _ in 0..10 {
            match sign_with(&mut t, WRONG) {
                Err(Error::PinIncorrect { tries_left: Some(n) }) => report.push_str(&format!(" {n}")),
                Err(Error::PinBlocked) => report.push_str(" B"),
                other => panic!("unexpected {other:?}"),
            }
        }
        println!("RACE logins={} results={report}", t.logins_sent());
        return;
    }
    let kids: Vec<_> = (0..2).map(|_| child(test, "race", "race").spawn().unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    fs::write(env().base.join("race-go"), b"").unwrap();
    let (mut logins, mut incorrect, mut blocked) = (0, Vec::new(), 0);
    for kid in kids {
        let out = kid.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text.lines().find_map(|l| l.split_once("RACE ")).unwrap_or_else(|| panic!("no report: {text}")).1;
        let mut parts = line.split_whitespace();
        logins += parts.next().unwrap().trim_start_matches("logins=").parse::<u32>().unwrap();
        for r in parts.skip(1) {
            match r {
                "B" => blocked += 1,
                n => incorrect.push(n.parse::<u8>().unwrap()),
            }
        }
    }
    incorrect.sort_unstable();
    assert_eq!(logins, 10, "exactly ten PINs reach C_Login between the two processes");
    assert_eq!(incorrect, (1..=9).collect::<Vec<u8>>(), "each count is handed out once");
    assert_eq!(blocked, 11);
    let c = counter("race");
    let mut t = token("race", &c);
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().state, PinState::Blocked);
    assert!(softhsm_accepts("race", PIN));
}

#[test]
fn so_pin_unblocks_and_counts_separately() {
    env();
    let c = counter("unblock");
    let mut t = token("unblock", &c);
    for _ in 0..10 {
        sign_with(&mut t, WRONG).unwrap_err();
    }
    assert!(matches!(sign_with(&mut t, PIN), Err(Error::PinBlocked)));
    // A wrong SO PIN spends an SO try, not a user try.
    let e = t.unblock_pin(PinKind::Auth, &pin("87654321"), &pin("654321")).unwrap_err();
    assert!(matches!(e, Error::PukIncorrect { tries_left: Some(9) }), "{e:?}");
    assert_eq!(t.pin_status(PinKind::Puk).unwrap().tries_left, Some(9));
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().state, PinState::Blocked);

    t.unblock_pin(PinKind::Auth, &pin(SO_PIN), &pin("654321")).unwrap();
    let st = t.pin_status(PinKind::Auth).unwrap();
    assert_eq!((st.state, st.tries_left), (PinState::Ready, Some(10)));
    assert_eq!(t.pin_status(PinKind::Puk).unwrap().tries_left, Some(10), "a right SO PIN clears its count");
    let sig = sign_with(&mut t, "654321").unwrap();
    assert!(verify(&t.certificate(KeyPurpose::Signing).unwrap(), b"mohur", MessageDigest::sha256(), &sig));
    let e = sign_with(&mut t, PIN).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(9) }), "the old PIN is gone: {e:?}");
}

#[test]
fn ten_wrong_so_pins_block_the_so_pin_only() {
    env();
    let c = counter("so-block");
    let mut t = token("so-block", &c);
    for left in (1..=9u8).rev() {
        let e = t.unblock_pin(PinKind::Auth, &pin("87654321"), &pin("654321")).unwrap_err();
        assert!(matches!(e, Error::PukIncorrect { tries_left: Some(l) } if l == left), "{e:?}");
    }
    let e = t.unblock_pin(PinKind::Auth, &pin("87654321"), &pin("654321")).unwrap_err();
    assert!(matches!(e, Error::PukBlocked), "{e:?}");
    let e = t.unblock_pin(PinKind::Auth, &pin(SO_PIN), &pin("654321")).unwrap_err();
    assert!(matches!(e, Error::PukBlocked), "{e:?}");
    assert_eq!(t.logins_sent(), 10);
    assert_eq!(t.pin_status(PinKind::Puk).unwrap().state, PinState::Blocked);
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(10));
    sign_with(&mut t, PIN).unwrap();
}

#[test]
fn change_pin_goes_through_the_counter() {
    env();
    let c = counter("change");
    let mut t = token("change", &c);
    let e = t.change_pin(PinKind::Auth, &pin(WRONG), &pin("24680")).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(9) }), "{e:?}");
    t.change_pin(PinKind::Auth, &pin(PIN), &pin("24680")).unwrap();
    assert_eq!(t.pin_status(PinKind::Auth).unwrap().tries_left, Some(10));
    sign_with(&mut t, "24680").unwrap();
    assert!(softhsm_accepts("change", "24680"));
    assert!(!softhsm_accepts("change", PIN));
}

#[test]
fn the_counter_follows_the_token_not_the_instance() {
    env();
    let c = counter("shared");
    let mut a = token("shared", &c);
    let mut b = token("shared", &RetryCounter::open(c.dir()).unwrap());
    assert_eq!(a.counter_key(), b.counter_key());
    sign_with(&mut a, WRONG).unwrap_err();
    let e = sign_with(&mut b, WRONG).unwrap_err();
    assert!(matches!(e, Error::PinIncorrect { tries_left: Some(8) }), "{e:?}");
    assert_eq!(a.pin_status(PinKind::Auth).unwrap().tries_left, Some(8));
}
