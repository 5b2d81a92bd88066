//! `mohur` as the Web eID native application, run exactly as a browser runs it
//! (`mohur chrome-extension://ID/`, length-prefixed JSON on stdin/stdout), with a
//! simulated card behind real pcscd + vpcd or a SoftHSM token, the scripted pinentry
//! answering its dialogs, and an independent relying party (`tests/python/webeid_check.py`,
//! pyca/cryptography) plus the demo relying party checking what it returns.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::webeid::{check_signature, check_token, demo_rp_accepts, nonce, openssl_verifies};
use common::*;
use mohur_card_sim::Profile;
use mohur_tests::{card_state, pki, PluggedCard};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ORIGIN: &str = "https://portal.test";

/// A private HOME whose `~/.config/mohur/agent.toml` is `config` (the browser starts the
/// host without arguments of ours, so it reads the default configuration).
fn home(name: &str, config: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(dir.join(".config/mohur/agent.toml"), config).unwrap();
    dir
}

/// The configuration for a card in `reader` only, `ORIGIN` allowed.
fn card_config(reader: &str) -> String {
    format!(
        "readers = [{reader:?}]\nprobe_well_known_modules = false\nallowed_origins = [{ORIGIN:?}]\nprompt_timeout_seconds = 20\n"
    )
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_ne_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn frames(mut bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize;
        out.push(serde_json::from_slice(&bytes[4..4 + len]).expect("the host writes JSON"));
        bytes = &bytes[4 + len..];
    }
    out
}

/// Starts the host as Chromium does.
fn spawn(dir: &Path, env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = mohur_command(dir);
    cmd.arg("chrome-extension://gbnmjkkoeofjpfnifigkdbpmcelelcbb/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("host.log")).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start mohur")
}

/// Sends one command and returns the version message and the answer; the pipe stays
/// open until the answer came (closing it would cancel the dialogs), as the extension does.
fn ask(dir: &Path, command: &Value, env: &[(&str, &str)]) -> (Value, Value) {
    let mut child = spawn(dir, env);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&frame(command.to_string().as_bytes())).unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut read_one = || {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).unwrap_or_else(|e| panic!("no answer ({e}); host log:\n{}", log(dir)));
        let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
        stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice::<Value>(&body).unwrap()
    };
    let version = read_one();
    let answer = read_one();
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "the host exits 0 after answering: {status:?}\n{}", log(dir));
    (version, answer)
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("host.log")).unwrap_or_default()
}

fn queue(dir: &Path, lines: &[&str]) {
    std::fs::write(dir.join("queue"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn pinentry_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pinentry.log")).unwrap_or_default()
}

fn authenticate(origin: &str, nonce: &str) -> Value {
    json!({"command": "authenticate", "arguments": {"challengeNonce": nonce, "origin": origin, "lang": "en"}})
}

#[test]
fn an_azedit_card_logs_in_and_both_relying_parties_accept_the_token_for_its_origin_only() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    // No origin allowed yet: the same consent as the agent's comes first.
    let config = card_config(&card.reader.name).replace(&format!("allowed_origins = [{ORIGIN:?}]\n"), "");
    let dir = home("webeid-auth", &config);
    queue(&dir, &["ok", "pin 1234"]);
    let n = nonce();
    let (version, token) = ask(&dir, &authenticate(ORIGIN, &n), &[]);
    assert!(version["version"].as_str().unwrap().starts_with("2."), "{version}");
    assert!(token.get("error").is_none(), "{token}\n{}", log(&dir));
    // The test PKI's AzeDIT signing certificate is the same holder's from the same CA:
    // a web-eid:1.1 token.
    assert_eq!(token["format"], "web-eid:1.1", "{token}");
    assert!(token["unverifiedSigningCertificate"].is_string(), "{token}");
    let shown = pinentry_log(&dir);
    assert!(shown.contains(ORIGIN), "the consent and PIN dialogs name the origin:\n{shown}");

    let verdict = check_token(&dir, &token, ORIGIN, &n);
    assert_eq!(verdict["valid"], true, "{verdict}");
    demo_rp_accepts(&token, ORIGIN, &n).unwrap();
    // The attack a token is made against: used at another site, or with another nonce.
    for (origin, nonce) in [("https://evil.test", n.as_str()), (ORIGIN, nonce().as_str())] {
        assert_eq!(check_token(&dir, &token, origin, nonce)["valid"], false, "{origin}");
        assert!(demo_rp_accepts(&token, origin, nonce).is_err(), "{origin}");
    }
    // The consent was remembered: the next login asks for the PIN only.
    queue(&dir, &["pin 1234"]);
    let (_, again) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    assert!(again.get("error").is_none(), "{again}");
}

#[test]
fn a_signature_over_the_pages_hash_with_the_signing_key_and_never_the_authentication_key() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = home("webeid-sign", &card_config(&card.reader.name));
    let (_, got) = ask(&dir, &json!({"command": "get-signing-certificate", "arguments": {"origin": ORIGIN}}), &[]);
    let cert = got["certificate"].as_str().unwrap_or_else(|| panic!("{got}\n{}", log(&dir))).to_owned();
    assert!(got["supportedSignatureAlgorithms"].as_array().is_some_and(|a| !a.is_empty()), "{got}");

    let hash = B64.encode(openssl::sha::sha384(b"the contract"));
    queue(&dir, &["pin 12345"]);
    let sign = json!({"command": "sign", "arguments": {
        "certificate": cert, "hash": hash, "hashFunction": "SHA-384", "origin": ORIGIN, "lang": "en"}});
    let (_, signed) = ask(&dir, &sign, &[]);
    assert!(signed.get("error").is_none(), "{signed}\n{}", log(&dir));
    let verdict = check_signature(&cert, &hash, "SHA-384", &signed);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert!(openssl_verifies(&cert, &hash, signed["signature"].as_str().unwrap()), "OpenSSL: {signed}");
    // The signing dialog showed the origin and the hash (hex) the card signs.
    let shown = pinentry_log(&dir);
    let hex: String = B64.decode(&hash).unwrap().iter().map(|b| format!("{b:02x}")).collect();
    assert!(shown.contains(ORIGIN) && shown.contains(&hex), "{shown}");
    // A different hash does not verify with that signature.
    let other = B64.encode(openssl::sha::sha384(b"another contract"));
    assert_eq!(check_signature(&cert, &other, "SHA-384", &signed)["valid"], false);
    assert!(!openssl_verifies(&cert, &other, signed["signature"].as_str().unwrap()));

    // The authentication certificate: refused before any dialog.
    queue(&dir, &["pin 1234"]);
    let before = pinentry_log(&dir);
    let (_, login) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    let auth_cert = login["unverifiedCertificate"].as_str().unwrap().to_owned();
    let after_login = pinentry_log(&dir);
    assert_ne!(before, after_login);
    let attack = json!({"command": "sign", "arguments": {
        "certificate": auth_cert, "hash": B64.encode(openssl::sha::sha256(b"x")), "hashFunction": "SHA-256", "origin": ORIGIN}});
    let (_, refused) = ask(&dir, &attack, &[]);
    assert_eq!(refused["error"]["code"], "ERR_WEBEID_NATIVE_INVALID_ARGUMENT", "{refused}");
    assert_eq!(pinentry_log(&dir), after_login, "no dialog for the authentication key");
}

#[test]
fn a_wrong_pin_asks_again_and_a_blocked_pin_ends_as_cancelled() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.pin_tries = 3));
    let dir = home("webeid-pin", &card_config(&card.reader.name));
    // Wrong, then right: one answer, the token.
    queue(&dir, &["pin 9999", "pin 1234"]);
    let n = nonce();
    let (_, token) = ask(&dir, &authenticate(ORIGIN, &n), &[]);
    assert_eq!(check_token(&dir, &token, ORIGIN, &n)["valid"], true, "{token}");
    let shown = pinentry_log(&dir);
    assert!(shown.contains("SETERROR Wrong PIN. Try again."), "{shown}");
    assert_eq!(shown.matches("GETPIN").count(), 2, "{shown}");

    // Three wrong PINs block it: the card's counter says so, the message explains it, and
    // the page gets USER_CANCELLED.
    queue(&dir, &["pin 9999", "pin 9998", "pin 9997", "ok"]);
    let (_, blocked) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    assert_eq!(blocked["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{blocked}");
    assert!(pinentry_log(&dir).contains("is blocked"), "{}", pinentry_log(&dir));
    // A blocked PIN is never asked for again.
    let before = pinentry_log(&dir).matches("GETPIN").count();
    queue(&dir, &["ok"]);
    let (_, again) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    assert_eq!(again["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{again}");
    assert_eq!(pinentry_log(&dir).matches("GETPIN").count(), before);
}

#[test]
fn a_closed_dialog_and_a_refused_site_are_user_cancelled() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = home("webeid-cancel", &card_config(&card.reader.name));
    queue(&dir, &["cancel"]);
    let (_, r) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    assert_eq!(r["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{r}");
    // Another site, refused in the consent dialog: nothing reaches the card.
    queue(&dir, &["no"]);
    let (_, r) = ask(&dir, &authenticate("https://other.test", &nonce()), &[]);
    assert_eq!(r["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{r}");
    let shown = pinentry_log(&dir);
    assert!(shown.contains("https://other.test"), "{shown}");
    assert_eq!(shown.matches("GETPIN").count(), 1, "no PIN dialog for the refused site: {shown}");
}

#[test]
fn with_no_card_a_message_waits_and_closes_itself_when_the_card_comes() {
    let mut card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = home("webeid-nocard", &card_config(&card.reader.name));
    // Take the card out.
    card.sim.stop();
    assert!(card.reader.wait_card(false, Duration::from_secs(20)));

    // The citizen closes the message: cancelled.
    queue(&dir, &["cancel"]);
    let (_, r) = ask(&dir, &authenticate(ORIGIN, &nonce()), &[]);
    assert_eq!(r["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{r}");
    assert!(pinentry_log(&dir).contains("Insert it now"), "{}", pinentry_log(&dir));

    // The message stays until the card is inserted, then the PIN dialog follows.
    queue(&dir, &["hang", "pin 1234"]);
    let state_path = card.state_path.clone();
    let port = card.reader.port;
    let inserter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let state_now = mohur_card_sim::StateStore::load(&state_path).unwrap();
        let store = mohur_card_sim::StateStore::File(state_path);
        mohur_card_sim::SimHandle::spawn(mohur_card_sim::SimCard::new(state_now, store).unwrap(), port)
    });
    let started = Instant::now();
    let n = nonce();
    let (_, token) = ask(&dir, &authenticate(ORIGIN, &n), &[]);
    card.sim = inserter.join().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(check_token(&dir, &token, ORIGIN, &n)["valid"], true, "{token}\n{}", log(&dir));
}

#[test]
fn a_softhsm_token_logs_in_and_signs_through_its_pkcs11_module() {
    let dir = temp_dir("webeid-softhsm");
    let conf = common::softhsm::make_token(&dir, "webeid", &pki().dir.join("azedit"), common::softhsm::Keys::Both);
    let config = format!(
        "pcsc = false\nprobe_well_known_modules = false\npkcs11_modules = [{:?}]\nallowed_origins = [{ORIGIN:?}]\n",
        common::softhsm::MODULE
    );
    let dir = home("webeid-softhsm-home", &config);
    let env = [("SOFTHSM2_CONF", conf.to_str().unwrap())];
    queue(&dir, &[&format!("pin {}", common::softhsm::PIN)]);
    let n = nonce();
    let (_, token) = ask(&dir, &authenticate(ORIGIN, &n), &env);
    assert_eq!(check_token(&dir, &token, ORIGIN, &n)["valid"], true, "{token}\n{}", log(&dir));
    demo_rp_accepts(&token, ORIGIN, &n).unwrap();

    let (_, got) = ask(&dir, &json!({"command": "get-signing-certificate", "arguments": {"origin": ORIGIN}}), &env);
    let cert = got["certificate"].as_str().unwrap().to_owned();
    let hash = B64.encode(openssl::sha::sha256(b"a token-signed document"));
    queue(&dir, &[&format!("pin {}", common::softhsm::PIN)]);
    let sign = json!({"command": "sign", "arguments": {"certificate": cert, "hash": hash, "hashFunction": "SHA-256", "origin": ORIGIN}});
    let (_, signed) = ask(&dir, &sign, &env);
    assert_eq!(check_signature(&cert, &hash, "SHA-256", &signed)["valid"], true, "{signed}");
    assert!(openssl_verifies(&cert, &hash, signed["signature"].as_str().unwrap()), "OpenSSL: {signed}");
}

/// Writes `bytes` as the browser's side and returns every message the host wrote and its exit.
fn raw(dir: &Path, bytes: &[u8]) -> (Vec<Value>, std::process::ExitStatus) {
    let mut child = spawn(dir, &[]);
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(bytes);
    drop(stdin);
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    (frames(&out), child.wait().unwrap())
}

#[test]
fn malformed_messages_get_the_protocols_error_and_the_host_exits() {
    let dir = home("webeid-bad", "pcsc = false\nprobe_well_known_modules = false\n");
    let invalid = "ERR_WEBEID_NATIVE_INVALID_ARGUMENT";
    let n = nonce();
    for (what, bytes, exit_ok) in [
        ("a length over 8 KiB", 8193u32.to_ne_bytes().to_vec(), false),
        ("a 4 GiB length", u32::MAX.to_ne_bytes().to_vec(), false),
        ("a cut-off prefix", vec![7, 0], false),
        ("a cut-off body", frame(br#"{"command":"quit","arguments":{}}"#)[..12].to_vec(), false),
        ("invalid JSON", frame(b"{\"command\": quit}"), false),
        ("an unknown command", frame(br#"{"command":"export-key","arguments":{}}"#), true),
        ("a short nonce", frame(authenticate(ORIGIN, "c2hvcnQ=").to_string().as_bytes()), true),
        ("an http origin", frame(authenticate("http://portal.test", &n).to_string().as_bytes()), true),
        ("a path in the origin", frame(authenticate("https://portal.test/x", &n).to_string().as_bytes()), true),
    ] {
        let started = Instant::now();
        let (msgs, status) = raw(&dir, &bytes);
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: the host must end at once");
        assert_eq!(msgs.len(), 2, "{what}: the version, then one answer: {msgs:?}");
        assert_eq!(msgs[1]["error"]["code"], invalid, "{what}: {msgs:?}");
        assert_eq!(status.success(), exit_ok, "{what}: {status:?}");
    }
    // The status probe.
    let (msgs, status) = raw(&dir, &frame(br#"{"command":"quit","arguments":{}}"#));
    assert_eq!(msgs[1], json!({}));
    assert!(status.success());
    // Nothing written: only the version, then a quiet exit.
    let (msgs, _) = raw(&dir, &[]);
    assert_eq!(msgs.len(), 1);
    // No dialog was ever shown for any of it.
    assert_eq!(pinentry_log(&dir), "");
}

#[test]
fn the_host_and_a_running_agent_share_the_card() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = home("webeid-with-agent", &card_config(&card.reader.name));
    // The agent watches the same reader and has the card open.
    let agent_dir = dir.join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let agent = AgentProc::spawn(
        &agent_dir,
        &["agent", "--no-tray", "--port", "0", "--reader", &card.reader.name, "--allow-origin", ORIGIN],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !agent.log().contains("token available") {
        assert!(Instant::now() < deadline, "the agent never saw the card:\n{}", agent.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // The host logs in through its own PC/SC connection meanwhile.
    queue(&dir, &["pin 1234"]);
    let n = nonce();
    let (_, token) = ask(&dir, &authenticate(ORIGIN, &n), &[]);
    assert_eq!(check_token(&dir, &token, ORIGIN, &n)["valid"], true, "{token}\n{}", log(&dir));
    // And the agent still signs with the card afterwards (its own PIN, its own dialog).
    agent.queue(&["pin 1234"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let n2 = nonce();
    let login = rt.block_on(async {
        let mut ws = agent.connect(ORIGIN).await;
        call(&mut ws, 1, "authenticate", json!({"challengeNonce": n2})).await
    });
    assert!(login.get("result").is_some(), "{login}\n{}", agent.log());
    assert_eq!(check_token(&dir, &login["result"], ORIGIN, &n2)["valid"], true, "{login}");
}
