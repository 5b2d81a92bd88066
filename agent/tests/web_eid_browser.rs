//! The official Web eID extension (tests/peers/web-eid-webextension, loaded unpacked into
//! Debian's Chromium by `tests/browser/webeid.mjs`) on a local https page, with `mohur`
//! registered by mohur-install's own planner as its native application `eu.webeid`: the
//! page's `web-eid:*` messages reach a simulated AzeDIT card behind pcscd, or a SoftHSM
//! token, and what comes back is checked by an independent relying party
//! (`tests/python/webeid_check.py`) and the demo relying party.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::webeid::{check_signature, check_token, demo_rp_accepts, nonce};
use common::*;
use mohur_card_sim::Profile;
use mohur_tests::browser::{driver_with_env, repo};
use mohur_tests::{card_state, pki, PluggedCard};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn extension_dir() -> PathBuf {
    repo().join("tests/peers/web-eid-webextension/chrome")
}

/// A HOME whose Chromium profile (`~/.config/chromium`) has mohur registered as
/// `eu.webeid` for the unpacked extension, by the installer's planner, and whose
/// `~/.config/mohur/agent.toml` is `config`.
fn home(name: &str, config: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join(".config/chromium")).unwrap();
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(dir.join(".config/mohur/agent.toml"), config).unwrap();
    let id =
        mohur_tests::browser::driver("webeid.mjs", &["--print-id", "--extension", extension_dir().to_str().unwrap()]);
    let id = id["extensionId"].as_str().unwrap().to_owned();
    // As a citizen installs: the real mohur-install, which registers mohur for the
    // Chromium that has run here (and, as always, the module for its NSS database).
    let (module, agent, bundle) =
        (mohur_tests::mohur_pkcs11_path(), PathBuf::from(env!("CARGO_BIN_EXE_mohur")), common::shipped_ca_bundle());
    let extension = format!("chrome-extension://{id}/");
    let args: Vec<&OsStr> = vec![
        "install".as_ref(),
        "--no-autostart".as_ref(),
        "--module".as_ref(),
        module.as_os_str(),
        "--agent".as_ref(),
        agent.as_os_str(),
        "--ca-bundle".as_ref(),
        bundle.as_os_str(),
        "--web-eid-extension".as_ref(),
        extension.as_ref(),
    ];
    common::mohur_install(&dir, &args, "mohur-test-unused");
    assert!(dir.join(".config/chromium/NativeMessagingHosts/eu.webeid.json").is_file());
    dir
}

/// A self-signed certificate for `localhost` (the page's https server).
fn tls_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("tls.pem"), dir.join("tls.key"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

/// What the browser passes on to the host it starts: the scripted pinentry answering from
/// `dir/queue`, English dialogs, the kernel keyring (no desktop session bus).
fn host_env(dir: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("MOHUR_PINENTRY", scripted_pinentry().into_os_string()),
        ("SCRIPTED_PINENTRY_QUEUE", dir.join("queue").into_os_string()),
        ("SCRIPTED_PINENTRY_LOG", dir.join("pinentry.log").into_os_string()),
        ("MOHUR_LANG", "en".into()),
        ("MOHUR_LOG", "info".into()),
        ("XDG_CONFIG_HOME", "".into()),
        ("DBUS_SESSION_BUS_ADDRESS", "".into()),
    ]
}

/// Runs the page's `requests` through the extension; the host's dialogs answer `answers`.
fn run_page(dir: &Path, requests: &Value, answers: &[&str], env: &[(&str, &OsStr)]) -> Value {
    std::fs::write(dir.join("queue"), answers.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let file = dir.join("requests.json");
    std::fs::write(&file, requests.to_string()).unwrap();
    let (cert, key) = tls_pair(dir);
    let owned = host_env(dir);
    let mut all_env: Vec<(&str, &OsStr)> = owned.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    all_env.extend_from_slice(env);
    let profile = dir.join(".config/chromium");
    driver_with_env(
        dir,
        &all_env,
        "webeid.mjs",
        &[
            "--extension",
            extension_dir().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--requests",
            file.to_str().unwrap(),
        ],
    )
}

/// The last reply to request `i`.
fn reply(r: &Value, i: usize) -> &Value {
    let replies = r["results"][i]["replies"].as_array().unwrap_or_else(|| panic!("no replies to {i}: {r}"));
    replies.last().unwrap()
}

/// Both relying parties accept the token in `reply` for `origin` and `nonce`, and the
/// demo one refuses it for another origin.
fn assert_token(dir: &Path, reply: &Value, origin: &str, nonce: &str) {
    let verdict = check_token(dir, reply, origin, nonce);
    assert_eq!(verdict["valid"], true, "{verdict}\n{reply}");
    demo_rp_accepts(reply, origin, nonce).unwrap();
    assert!(demo_rp_accepts(reply, "https://elsewhere.test", nonce).is_err());
}

/// The independent checker accepts the signature in `reply`.
fn assert_signature(certificate: &str, hash: &str, hash_function: &str, reply: &Value) {
    let verdict = check_signature(certificate, hash, hash_function, reply);
    assert_eq!(verdict["valid"], true, "{verdict}\n{reply}");
}

#[test]
fn the_web_eid_extension_logs_in_and_signs_with_an_azedit_card_through_mohur() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let config = format!("readers = [{:?}]\nprobe_well_known_modules = false\n", card.reader.name);
    let dir = home("webeid-browser-card", &config);
    let (n1, n2) = (nonce(), nonce());
    let hash = B64.encode(openssl::sha::sha384(b"the portal's document"));
    let requests = json!([
        {"action": "web-eid:status"},
        {"action": "web-eid:authenticate", "challengeNonce": n1, "options": {"lang": "en"}},
        {"action": "web-eid:get-signing-certificate", "options": {"lang": "en"}},
        {"action": "web-eid:sign", "certificate": "$certificate", "hash": hash, "hashFunction": "SHA-384", "options": {"lang": "en"}},
        {"action": "web-eid:authenticate", "challengeNonce": n2, "options": {"lang": "en"}},
        {"action": "web-eid:authenticate", "challengeNonce": nonce(), "options": {"lang": "en"}},
    ]);
    // The site is new: the consent dialog first (then remembered), the PIN; the signing
    // PIN; a wrong PIN and the right one; a closed dialog.
    let answers = ["ok", "pin 1234", "pin 12345", "pin 9999", "pin 1234", "cancel"];
    let r = run_page(&dir, &requests, &answers, &[]);
    let origin = r["origin"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();

    let status = reply(&r, 0);
    assert_eq!(status["action"], "web-eid:status-success", "{r}");
    assert!(status["nativeApp"].as_str().unwrap().starts_with("2.5.0+mohur."), "{status}");

    let login = reply(&r, 1);
    assert_eq!(login["action"], "web-eid:authenticate-success", "{r}");
    assert_eq!(login["format"], "web-eid:1.1", "{login}");
    assert_token(&dir, login, &origin, &n1);

    let cert = reply(&r, 2);
    assert_eq!(cert["action"], "web-eid:get-signing-certificate-success", "{r}");
    let signed = reply(&r, 3);
    assert_eq!(signed["action"], "web-eid:sign-success", "{r}");
    assert_signature(cert["certificate"].as_str().unwrap(), &hash, "SHA-384", signed);

    // A wrong PIN is not an answer to the page: the dialog came back and the login went on.
    let retried = reply(&r, 4);
    assert_eq!(retried["action"], "web-eid:authenticate-success", "{r}");
    assert_token(&dir, retried, &origin, &n2);
    let shown = std::fs::read_to_string(dir.join("pinentry.log")).unwrap();
    assert!(shown.contains("SETERROR Wrong PIN. Try again."), "{shown}");
    // The dialogs named the page's origin, as the browser gave it to the extension.
    assert!(shown.contains(&origin), "{shown}");

    let cancelled = reply(&r, 5);
    assert_eq!(cancelled["action"], "web-eid:authenticate-failure", "{r}");
    assert_eq!(cancelled["error"]["code"], "ERR_WEBEID_USER_CANCELLED", "{r}");
}

#[test]
fn the_web_eid_extension_logs_in_and_signs_with_a_softhsm_token_through_mohur() {
    let scratch = temp_dir("webeid-browser-softhsm-token");
    let conf = common::softhsm::make_token(&scratch, "webeid", &pki().dir.join("piv"), common::softhsm::Keys::Both);
    let config =
        format!("pcsc = false\nprobe_well_known_modules = false\npkcs11_modules = [{:?}]\n", common::softhsm::MODULE);
    let dir = home("webeid-browser-softhsm", &config);
    let n = nonce();
    let hash = B64.encode(openssl::sha::sha256(b"signed with a USB token"));
    let requests = json!([
        {"action": "web-eid:authenticate", "challengeNonce": n},
        {"action": "web-eid:get-signing-certificate"},
        {"action": "web-eid:sign", "certificate": "$certificate", "hash": hash, "hashFunction": "SHA-256"},
    ]);
    let pin = format!("pin {}", common::softhsm::PIN);
    let r = run_page(&dir, &requests, &["ok", &pin, &pin], &[("SOFTHSM2_CONF", conf.as_os_str())]);
    let origin = r["origin"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    let login = reply(&r, 0);
    assert_eq!(login["action"], "web-eid:authenticate-success", "{r}");
    assert_token(&dir, login, &origin, &n);
    let cert = reply(&r, 1);
    let signed = reply(&r, 2);
    assert_eq!(signed["action"], "web-eid:sign-success", "{r}");
    assert_signature(cert["certificate"].as_str().unwrap(), &hash, "SHA-256", signed);
}

#[test]
fn the_demo_portal_logs_in_through_the_web_eid_extension_and_its_relying_party_accepts() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let config = format!("readers = [{:?}]\nprobe_well_known_modules = false\n", card.reader.name);
    let dir = home("webeid-browser-demo", &config);
    // The demo portal on http://localhost (its own agent sees only a reader of its own:
    // the Web eID host, started by the browser, is what reaches the card here).
    std::os::unix::fs::symlink(&pki().dir, dir.join("pki")).unwrap();
    let agent = AgentProc::demo(&dir, &["--pcsc", "--reader", "no such reader"]);
    let portal = format!("http://localhost:{}/", agent.portal_port.unwrap());
    std::fs::write(dir.join("queue"), "ok\npin 1234\n").unwrap();
    let log = dir.join("pinentry.log");
    let owned = host_env(&dir);
    let env: Vec<(&str, &OsStr)> = owned.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let profile = dir.join(".config/chromium");
    let args = |allow: bool| {
        let mut a = vec![
            "--extension".to_owned(),
            extension_dir().to_str().unwrap().to_owned(),
            "--profile".to_owned(),
            profile.to_str().unwrap().to_owned(),
            "--portal".to_owned(),
            portal.clone(),
        ];
        if allow {
            a.push("--allow-http-localhost".to_owned());
        }
        a
    };
    // Without the developer setting the extension sends http://localhost, which a Web eID
    // app refuses (a login bound to http proves nothing): no dialog, an error on the page.
    let a = args(false);
    let r = driver_with_env(&dir, &env, "webeid.mjs", &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r["portal"]["state"], "error", "{r}");
    assert_eq!(r["portal"]["code"], "ERR_WEBEID_NATIVE_INVALID_ARGUMENT", "{r}");
    assert!(!log.exists() || !std::fs::read_to_string(&log).unwrap().contains("GETPIN"));

    let a = args(true);
    let r = driver_with_env(&dir, &env, "webeid.mjs", &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r["setting"], "sent", "{r}");
    assert_eq!(r["portal"]["state"], "ok", "{r}\nagent log:\n{}", agent.log());
    assert!(r["portal"]["text"].as_str().unwrap().contains("ALIYEVA LEYLA"), "{r}");
    assert!(agent.log().contains("route=\"webeid-login\""), "{}", agent.log());
    let shown = std::fs::read_to_string(&log).unwrap();
    let https_origin = portal.trim_end_matches('/').replace("http://", "https://");
    assert!(shown.contains(&https_origin), "the dialogs name the origin the extension sent: {shown}");
}
