//! The portal side, for real: headless Chromium (Debian's, driven by Playwright
//! through `tests/browser/*.mjs`) opens the demo portal, logs in and signs a
//! document and a PDF; the agent reaches a simulated card behind real pcscd + vpcd; the
//! scripted pinentry answers the agent's dialogs; the demo relying party,
//! `openssl cms -verify -cades` and pyHanko check the results. Also: a second origin that is not
//! allowed, a public https page with and without Local Network Access, and `wss://`
//! with the loopback CA from a page whose Content-Security-Policy allows nothing else.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use mohur_card_sim::Profile;
use mohur_tests::browser::{driver, driver_as};
use mohur_tests::{card_state, pki, PluggedCard};
use std::path::Path;
use std::process::Command;

/// The demo (agent + relying party) using the test PKI of `mohur-tests` and only
/// `reader`, so that cards other tests plug in elsewhere stay theirs.
fn demo_on(dir: &Path, reader: &str, extra: &[&str]) -> AgentProc {
    std::os::unix::fs::symlink(&pki().dir, dir.join("pki")).unwrap();
    let mut args = vec!["--pcsc", "--reader", reader];
    args.extend_from_slice(extra);
    AgentProc::demo(dir, &args)
}

fn wait_for_token(agent: &AgentProc) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !agent.log().contains("token available") {
        assert!(std::time::Instant::now() < deadline, "the agent never saw the card:\n{}", agent.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn chromium_logs_in_and_signs_on_the_demo_portal_with_a_card_behind_pcscd() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = temp_dir("browser-portal");
    let agent = demo_on(&dir, &card.reader.name, &[]);
    wait_for_token(&agent);
    let url = format!("http://localhost:{}/", agent.portal_port.unwrap());
    agent.queue(&["pin 1234", "pin 12345"]);
    let shot = dir.join("portal.png");
    let r = driver(
        "portal.mjs",
        &[
            "--url",
            &url,
            "--steps",
            "login,sign",
            "--document-name",
            "agreement.txt",
            "--document-text",
            "I agree.",
            "--screenshot",
            shot.to_str().unwrap(),
        ],
    );
    assert_eq!(r["steps"]["login"], "ok", "{r}\nagent log:\n{}", agent.log());
    assert!(
        r["login"].as_str().unwrap().contains("ALIYEVA LEYLA") || r["login"].as_str().unwrap().contains("LEYLA"),
        "{r}"
    );
    assert_eq!(r["steps"]["sign"], "ok", "{r}\nagent log:\n{}", agent.log());
    // The relying party verified the token (chain to the test root, its own origin and
    // a nonce it issued): the agent log and the page agree.
    assert!(agent.log().contains("demo portal: login verified"), "{}", agent.log());
    // The CMS the page got verifies with OpenSSL against the test root alone.
    let p7s = dir.join("agreement.txt.p7s");
    std::fs::write(&p7s, B64.decode(r["cms"].as_str().unwrap()).unwrap()).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-cades", "-binary", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(&p7s)
        .arg("-CAfile")
        .arg(&pki().root_cert_pem)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "I agree.");
    // Each dialog showed the portal's origin; the PIN never went through the page.
    let log = agent.pinentry_log();
    let origin = format!("http://localhost:{}", agent.portal_port.unwrap());
    assert_eq!(log.matches("GETPIN").count(), 2, "{log}");
    assert!(log.contains(&format!("Log in to {origin}")) && log.contains("agreement.txt"), "{log}");
    assert!(!r.to_string().contains("12345\""), "a PIN reached the page");
    // A login nonce is single-use: the relying party refuses a replay (checked in
    // relying_party tests); here the page can log in again with a fresh one.
    agent.queue(&["pin 1234"]);
    let again = driver("portal.mjs", &["--url", &url, "--steps", "login"]);
    assert_eq!(again["steps"]["login"], "ok", "{again}");
}

#[test]
fn chromium_signs_a_pdf_on_the_demo_portal_at_b_t_and_pyhanko_validates_it() {
    use mohur_tests::tsa::{Behaviour, LocalTsa};
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let dir = temp_dir("browser-pdf");
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(dir.join(".config/mohur/agent.toml"), format!("tsa_urls = [\"{}\"]\n", tsa.url)).unwrap();
    let agent = demo_on(&dir, &card.reader.name, &[]);
    wait_for_token(&agent);
    let url = format!("http://localhost:{}/", agent.portal_port.unwrap());
    let original = mohur_tests::pdf::document(2, "Ərizə", false);
    let input = dir.join("erize.pdf");
    std::fs::write(&input, &original).unwrap();
    let saved = dir.join("saved.pdf");
    agent.queue(&["pin 12345"]);
    let r = driver(
        "portal.mjs",
        &["--url", &url, "--steps", "pdf", "--pdf", input.to_str().unwrap(), "--save-pdf", saved.to_str().unwrap()],
    );
    assert_eq!(r["steps"]["pdf"], "ok", "{r}\nagent log:\n{}", agent.log());
    // The portal's server checked it: one signature, valid, B-T.
    let said = r["pdf"].as_str().unwrap();
    assert!(said.contains("ALIYEVA LEYLA") && said.contains("(B-T)") && said.contains("1 of 1"), "{r}");
    assert_eq!(r["pdfDownload"]["suggested"], "erize.signed.pdf", "{r}");
    // The dialog named the file with its pages; pyHanko agrees with the portal.
    let log = agent.pinentry_log();
    assert!(log.contains("erize.pdf") && log.contains("pages: 2"), "{log}");
    let signed = std::fs::read(&saved).unwrap();
    assert!(signed.starts_with(&original));
    let report = Command::new(mohur_tests::pyhanko())
        .args(["sign", "validate", "--no-revocation-check", "--trust-replace", "--trust"])
        .arg(&pki().root_cert_pem)
        .arg(&saved)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    // pyHanko's summary line: the signature and its time-stamp token intact and trusted.
    assert!(report.status.success() && text.contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"), "{text}");
    assert_eq!(tsa.requests(), 1);
}

#[test]
fn a_second_origin_gets_origin_not_allowed_and_a_public_page_needs_local_network_access() {
    let dir = temp_dir("browser-origins");
    // No card needed: these are about who may talk to the agent at all.
    let lna_port = mohur_tests::free_local_port();
    let public = format!("https://portal.example.test:{lna_port}");
    let agent = AgentProc::demo(&dir, &["--allow-origin", &public, "--no-pcsc"]);
    let ws = format!("ws://127.0.0.1:{}/v1", agent.port);
    // Another localhost page: the agent knows it not and is told not to ask.
    std::fs::write(dir.join("queue"), "no\n").unwrap();
    let other = driver("origin.mjs", &["--serve", "0", "--agent", &ws, "--method", "status"]);
    assert_eq!(other["ok"], false, "{other}");
    assert_eq!(other["code"], "ORIGIN_NOT_ALLOWED", "{other}");
    assert_eq!(other["hello"]["originAllowed"], false, "{other}");
    // A public https portal: blocked by Chromium until the citizen grants Local
    // Network Access, then it works.
    let denied = driver("lna.mjs", &["--agent", &ws, "--port", &lna_port.to_string(), "--method", "version"]);
    assert_eq!(denied["ok"], false, "{denied}");
    assert_eq!(denied["code"], "AGENT_UNREACHABLE", "{denied}");
    let granted =
        driver("lna.mjs", &["--agent", &ws, "--port", &lna_port.to_string(), "--method", "status", "--grant"]);
    assert_eq!(granted["ok"], true, "{granted}\n{}", agent.log());
    assert_eq!(granted["origin"], public.as_str());
}

#[test]
fn wss_with_the_loopback_ca_from_a_page_that_allows_only_wss() {
    let dir = temp_dir("browser-wss");
    let service = format!("mohur-test-wss-{}", std::process::id());
    let _key = install_loopback_tls(&dir, &service, &[dir.join(".pki/nssdb")]);
    let page_port = mohur_tests::free_local_port().to_string();
    let page_origin = format!("http://localhost:{page_port}");
    let agent = AgentProc::spawn(
        &dir,
        &[
            "agent",
            "--port",
            "0",
            "--no-pcsc",
            "--no-well-known-modules",
            "--no-tray",
            "--dev",
            "--allow-origin",
            &page_origin,
        ],
        &[("MOHUR_KEYRING_SERVICE", &service)],
    );
    assert!(agent.wss, "the agent serves no wss://:\n{}", agent.log());
    let (ws, wss) = (format!("ws://127.0.0.1:{}/v1", agent.port), format!("wss://127.0.0.1:{}/v1", agent.port));
    // The portal's policy: its page may open wss://127.0.0.1 and nothing else.
    let csp = format!("connect-src wss://127.0.0.1:{}", agent.port);
    let page = |home: &Path, agent_url: &str| {
        driver_as(
            Some(home),
            "origin.mjs",
            &["--serve", &page_port, "--csp", &csp, "--agent", agent_url, "--method", "status"],
        )
    };
    let blocked = page(&dir, &ws);
    assert_eq!(blocked["ok"], false, "{blocked}");
    assert_eq!(blocked["code"], "AGENT_UNREACHABLE", "{blocked}");
    // wss:// works: Chromium trusts the loopback CA from ~/.pki/nssdb, and the agent
    // sees the page's origin through TLS as through ws://.
    let secure = page(&dir, &wss);
    assert_eq!(secure["ok"], true, "{secure}\nagent log:\n{}", agent.log());
    assert_eq!(secure["pageOrigin"], page_origin.as_str());
    assert_eq!(secure["hello"]["originAllowed"], true, "{secure}");
    // A browser that does not trust the CA gets nowhere: the agent's certificate is
    // the loopback CA's, not one every browser would take.
    let stranger = dir.join("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    let refused = page(&stranger, &wss);
    assert_eq!(refused["code"], "AGENT_UNREACHABLE", "{refused}");
    assert!(agent.log().contains("TLS handshake failed"), "{}", agent.log());
}
