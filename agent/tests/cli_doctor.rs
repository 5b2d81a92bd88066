//! `mohur doctor --json` against simulated cards behind the real pcscd, with the CA
//! certificates and the PKCS#11 module put into throwaway system and NSS stores by
//! mohur-installer's own code (the same steps as `mohur-install install`).
#![cfg(unix)]

mod common;

use mohur_apdu::{Error as CardError, Pin, PinKind};
use mohur_card_sim::Profile;
use mohur_tests::{card_state, pki, PluggedCard, Reader};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509};
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Every check, in the order doctor runs them.
const IDS: [&str; 15] = [
    "pcscd",
    "readers",
    "token",
    "driver",
    "ca-bundle",
    "ca-system",
    "ca-nss",
    "ca-audit",
    "card-certs",
    "pkcs11-registered",
    "agent",
    "autostart",
    "pin",
    "loopback-tls",
    "web-eid",
];

/// What of mohur is installed on the throwaway machine.
#[derive(Clone, Copy, PartialEq)]
enum Installed {
    /// Root, PCA and ICA in the system bundle and the NSS databases, module registered.
    Everything,
    /// The same without the E-Government CA (the ICA).
    WithoutIca,
    /// Nothing at all (no NSS database either).
    Nothing,
}

/// A throwaway machine: HOME, a `--root` prefix with a system CA bundle, Chromium's
/// NSS database and a Firefox profile.
struct Machine {
    dir: PathBuf,
    home: PathBuf,
    root: PathBuf,
    nssdb: PathBuf,
    profiles: PathBuf,
}

fn tool(program: &str, args: &[&str]) {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/deps.sh)"));
    assert!(o.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

impl Machine {
    fn new(installed: Installed) -> Machine {
        let dir = common::temp_dir("doctor");
        let (home, root) = (dir.join("home"), dir.join("root"));
        let (nssdb, profiles) = (dir.join("nssdb"), dir.join("firefox"));
        // No vendor module that happens to be installed here may change the outcome.
        fs::create_dir_all(home.join(".config/mohur")).unwrap();
        // Chromium has run: mohur-install registers the Web eID host for it.
        fs::create_dir_all(home.join(".config/chromium")).unwrap();
        fs::write(home.join(".config/mohur/agent.toml"), "probe_well_known_modules = false\n").unwrap();
        let m = Machine { dir, home, root, nssdb, profiles };
        if installed == Installed::Nothing {
            return m;
        }
        let profile = m.profiles.join("abcd1234.default-esr");
        for db in [&m.nssdb, &profile] {
            fs::create_dir_all(db).unwrap();
            tool("certutil", &["-N", "-d", &format!("sql:{}", db.display()), "--empty-password"]);
        }
        let pki = pki();
        let mut pems = vec![&pki.root_cert_pem, &pki.pca_cert_pem];
        if installed == Installed::Everything {
            pems.push(&pki.ica_cert_pem);
        }
        let bundle: String = pems.iter().map(|p| fs::read_to_string(p).unwrap()).collect();
        let system = m.root.join("etc/ssl/certs/ca-certificates.crt");
        fs::create_dir_all(system.parent().unwrap()).unwrap();
        fs::write(&system, &bundle).unwrap();
        // The installed CAs as a bundle of their own, each pinned in its manifest.
        let installed_bundle = m.dir.join("installed-bundle");
        fs::create_dir_all(&installed_bundle).unwrap();
        let mut manifest = String::from("format = 1\n");
        for (i, p) in pems.iter().enumerate() {
            let name = p.file_name().unwrap().to_str().unwrap();
            fs::copy(p, installed_bundle.join(name)).unwrap();
            let cert = openssl::x509::X509::from_pem(&fs::read(p).unwrap()).unwrap();
            let fp: Vec<String> = cert
                .digest(openssl::hash::MessageDigest::sha256())
                .unwrap()
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect();
            let role = ["root", "policy", "issuing"][i];
            manifest.push_str(&format!(
                "[[ca]]\nfile = \"{name}\"\ncountry = \"test\"\nrole = \"{role}\"\nsubject = \"-\"\nsha256 = \"{}\"\npublished = \"-\"\n",
                fp.join(":")
            ));
        }
        fs::write(installed_bundle.join("manifest.toml"), manifest).unwrap();
        // The agent starts at login (the user's XDG entry; the installer's own is left
        // out here, with its systemd user unit).
        let autostart = m.home.join(".config/autostart/mohur.desktop");
        fs::create_dir_all(autostart.parent().unwrap()).unwrap();
        fs::write(&autostart, "[Desktop Entry]\nType=Application\nName=mohur agent\nExec=\"/usr/bin/mohur\" agent\n")
            .unwrap();
        // Installed as a citizen installs, by the real mohur-install.
        let (module, agent) = (mohur_tests::mohur_pkcs11_path(), PathBuf::from(env!("CARGO_BIN_EXE_mohur")));
        let manifest = m.dir.join("manifest.json");
        let args: Vec<&OsStr> = vec![
            "install".as_ref(),
            "--no-autostart".as_ref(),
            "--ca-bundle".as_ref(),
            installed_bundle.as_os_str(),
            "--root".as_ref(),
            m.root.as_os_str(),
            "--nssdb".as_ref(),
            m.nssdb.as_os_str(),
            "--firefox-profiles".as_ref(),
            m.profiles.as_os_str(),
            "--module".as_ref(),
            module.as_os_str(),
            "--agent".as_ref(),
            agent.as_os_str(),
            "--manifest".as_ref(),
            manifest.as_os_str(),
        ];
        common::mohur_install(&m.home, &args, "mohur-test-unused");
        m
    }

    /// `mohur doctor ARGS` on this machine, looking only at `reader` and checking the
    /// agent on `port`: (exit code, stdout, how long it took).
    fn doctor(&self, reader: &str, port: u16, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mohur"));
        cmd.arg("doctor")
            .args(args)
            .args(["--reader", reader, "--port", &port.to_string()])
            .arg("--ca-bundle")
            .arg(&pki().ca_bundle)
            .arg("--root")
            .arg(&self.root)
            .arg("--nssdb")
            .arg(&self.nssdb)
            .arg("--firefox-profiles")
            .arg(&self.profiles)
            .env("HOME", &self.home)
            .env("MOHUR_LANG", "en")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("MOHUR_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().expect("run mohur doctor");
        let took = started.elapsed();
        assert!(out.stderr.is_empty() || out.status.code().is_some(), "{}", String::from_utf8_lossy(&out.stderr));
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), took)
    }

    /// `mohur doctor --json`: (exit code, checks by id).
    fn doctor_json(&self, reader: &str, port: u16, env: &[(&str, &str)]) -> (Option<i32>, Vec<Value>, Duration) {
        let (code, out, took) = self.doctor(reader, port, &["--json"], env);
        let checks: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
        let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, IDS, "every check once, in order");
        for c in &checks {
            let status = c["status"].as_str().unwrap();
            assert!(["pass", "fail", "warn", "skip"].contains(&status), "{c}");
            assert!(!c["message"].as_str().unwrap().is_empty(), "{c}");
            if status == "fail" {
                assert!(c["fix"].as_str().is_some_and(|f| !f.is_empty()), "a ✗ without a fix: {c}");
            }
        }
        (code, checks, took)
    }
}

fn check<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}"))
}

fn status(checks: &[Value], id: &str) -> String {
    check(checks, id)["status"].as_str().unwrap().to_owned()
}

fn message(checks: &[Value], id: &str) -> String {
    check(checks, id)["message"].as_str().unwrap().to_owned()
}

fn fix(checks: &[Value], id: &str) -> String {
    check(checks, id)["fix"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn everything_in_place_passes_every_check() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let machine = Machine::new(Installed::Everything);
    let agent_dir = machine.dir.join("agent");
    fs::create_dir_all(&agent_dir).unwrap();
    let agent = common::AgentProc::spawn(&agent_dir, &["agent", "--no-pcsc", "--port", "0"], &[]);

    let (code, checks, _) = machine.doctor_json(&card.reader.name, agent.port, &[]);
    // Everything but the optional TLS on loopback, which is not set up here (its own
    // test sets it up), and the audit, which flags the test PKI's CAs for what they are.
    let failing: Vec<&Value> =
        checks.iter().filter(|c| c["status"] != "pass" && c["id"] != "loopback-tls" && c["id"] != "ca-audit").collect();
    assert!(failing.is_empty(), "not every check passes: {failing:#?}");
    assert_eq!(status(&checks, "loopback-tls"), "skip");
    assert!(message(&checks, "web-eid").contains("through mohur in: Chromium"), "{}", message(&checks, "web-eid"));
    assert_eq!(status(&checks, "ca-audit"), "warn");
    assert!(
        message(&checks, "ca-audit").contains("mohur Test Root CA")
            && message(&checks, "ca-audit").contains("says test")
    );
    // The system bundle holds the roots here, as after --trust-tls-server.
    assert!(message(&checks, "ca-system").contains("web sites too"), "{}", message(&checks, "ca-system"));
    assert_eq!(code, Some(0));
    assert!(message(&checks, "readers").contains(&card.reader.name));
    assert!(message(&checks, "token").contains("AzeDIT"), "{}", message(&checks, "token"));
    assert!(message(&checks, "card-certs").contains("mohur Test E-Government CA"));
    assert!(message(&checks, "agent").contains("mohur "), "{}", message(&checks, "agent"));
    let pins = &check(&checks, "pin")["details"]["pins"];
    assert_eq!(pins.as_array().unwrap().len(), 3, "PIN1, PIN2 and PUK: {pins}");
    assert!(pins.as_array().unwrap().iter().all(|p| p["tries_left"] == 10), "{pins}");
    let certs = check(&checks, "card-certs")["details"]["certificates"].as_array().unwrap().clone();
    assert_eq!(certs.len(), 2);
    assert!(certs.iter().all(|c| c["days_left"].as_i64().unwrap() > 30 && c["expired"] == false), "{certs:?}");

    // The text form: one ✓ line per check and the all-good summary.
    let (code, text, _) = machine.doctor(&card.reader.name, agent.port, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("✓ ")).count(), IDS.len() - 2, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("– ")).count(), 1, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("! ")).count(), 1, "{text}");
    assert!(text.contains("Everything mohur needs is in place."), "{text}");
}

#[test]
fn a_missing_ica_is_a_failure_with_the_installer_as_fix() {
    let reader = Reader::claim();
    let machine = Machine::new(Installed::WithoutIca);
    let port = mohur_tests::free_local_port();
    let (code, checks, _) = machine.doctor_json(&reader.name, port, &[]);
    assert_eq!(code, Some(8), "PROBLEMS_FOUND");
    let id = "ca-nss";
    assert_eq!(status(&checks, id), "fail", "{:#}", check(&checks, id));
    assert!(message(&checks, id).contains("mohur Test E-Government CA"), "{}", message(&checks, id));
    assert!(!message(&checks, id).contains("Policy CA"), "only the ICA is missing: {}", message(&checks, id));
    assert!(fix(&checks, id).contains("mohur-install install"), "{}", fix(&checks, id));
    // The system bundle is no place for an intermediate (it makes every entry an anchor).
    assert_eq!(status(&checks, "ca-system"), "pass", "{:#}", check(&checks, "ca-system"));
    // Both databases (Chromium's and the Firefox profile) lack it.
    let dbs = check(&checks, "ca-nss")["details"]["databases"].as_array().unwrap().clone();
    assert_eq!(dbs.len(), 2, "{dbs:?}");
    assert!(dbs.iter().all(|d| d["missing"].as_array().unwrap().len() == 1), "{dbs:?}");
    // What is there is still recognised.
    assert_eq!(status(&checks, "ca-bundle"), "pass");
    assert_eq!(status(&checks, "pkcs11-registered"), "pass", "{:#}", check(&checks, "pkcs11-registered"));
    // An empty reader: no token, and nothing to check on it.
    assert_eq!(status(&checks, "token"), "fail");
    assert_eq!(status(&checks, "pin"), "skip");
    assert_eq!(status(&checks, "card-certs"), "skip");

    // Text: the ✗ line and its fix under it.
    let (code, text, _) = machine.doctor(&reader.name, port, &[], &[]);
    assert_eq!(code, Some(8));
    let lines: Vec<&str> = text.lines().collect();
    let i = lines.iter().position(|l| l.starts_with("✗ Missing from the browser database")).expect(&text);
    assert!(lines[i + 1].trim_start().starts_with("→ ") && lines[i + 1].contains("mohur-install"), "{text}");
}

#[test]
fn a_blocked_pin_is_a_failure_with_the_unblock_hint() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.pin_tries = 3));
    let mut c = card.open();
    let wrong = Pin::from_str_slice("9999");
    let mut blocked = false;
    for _ in 0..3 {
        match c.verify_pin(PinKind::Auth, &wrong) {
            Err(CardError::WrongPin { tries_left: 0 }) | Err(CardError::PinBlocked) => blocked = true,
            Err(CardError::WrongPin { .. }) => {}
            other => panic!("wrong PIN accepted or refused otherwise: {other:?}"),
        }
    }
    assert!(blocked, "3 wrong PINs did not block PIN1");
    drop(c);

    let machine = Machine::new(Installed::Nothing);
    let (code, checks, _) = machine.doctor_json(&card.reader.name, mohur_tests::free_local_port(), &[]);
    assert_eq!(code, Some(8));
    assert_eq!(status(&checks, "token"), "pass", "{:#}", check(&checks, "token"));
    assert_eq!(status(&checks, "pin"), "fail", "{:#}", check(&checks, "pin"));
    assert!(message(&checks, "pin").contains("PIN is blocked"), "{}", message(&checks, "pin"));
    assert!(fix(&checks, "pin").contains("PUK") && fix(&checks, "pin").contains("mohur pin unblock"));
    // Nothing installed: the agent does not start at login either, and doctor says how.
    assert_eq!(status(&checks, "autostart"), "warn", "{:#}", check(&checks, "autostart"));
    assert!(fix(&checks, "autostart").contains("Start at login"), "{}", fix(&checks, "autostart"));
    let pins = check(&checks, "pin")["details"]["pins"].as_array().unwrap().clone();
    let auth = pins.iter().find(|p| p["kind"] == "auth").unwrap();
    assert_eq!((auth["state"].as_str(), auth["tries_left"].as_u64()), (Some("blocked"), Some(0)));
    // PIN2 and the PUK are untouched: doctor read the counters without spending a try.
    for (kind, tries) in [("signing", 3), ("puk", 10)] {
        let p = pins.iter().find(|p| p["kind"] == kind).unwrap();
        assert_eq!(p["tries_left"], tries, "{p}");
    }
    let mut c = card.open();
    assert_eq!(c.pin_status(PinKind::Signing).unwrap().tries_left, Some(3));
}

/// A certificate of the card's holder, issued by the test PKI's E-Government CA, that
/// ended `days` days (and an hour) ago.
fn expired_certificate(original_der: &[u8], days: u32) -> Vec<u8> {
    let pki = pki();
    let ica = X509::from_pem(&fs::read(&pki.ica_cert_pem).unwrap()).unwrap();
    let ica_key = mohur_tests::private_key(&pki.dir.join("ica.key.pem"));
    let original = X509::from_der(original_der).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(original.serial_number()).unwrap();
    b.set_subject_name(original.subject_name()).unwrap();
    b.set_issuer_name(ica.subject_name()).unwrap();
    b.set_pubkey(&original.public_key().unwrap()).unwrap();
    b.set_not_before(&Asn1Time::from_unix(now - 400 * 86_400).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(now - i64::from(days) * 86_400 - 3600).unwrap()).unwrap();
    b.sign(&ica_key, MessageDigest::sha384()).unwrap();
    b.build().to_der().unwrap()
}

#[test]
fn an_expired_certificate_is_a_failure_with_the_days() {
    let mut state = card_state(Profile::Azedit, |_| {});
    let original = mohur_card_sim::state::from_hex(&state.keys[0].cert_hex).unwrap();
    state.keys[0].cert_hex = mohur_card_sim::state::to_hex(&expired_certificate(&original, 10));
    let card = PluggedCard::new(state);
    let machine = Machine::new(Installed::Nothing);
    let (code, checks, _) = machine.doctor_json(&card.reader.name, mohur_tests::free_local_port(), &[]);
    assert_eq!(code, Some(8));
    let c = check(&checks, "card-certs");
    assert_eq!(c["status"], "fail", "{c:#}");
    let text = message(&checks, "card-certs");
    assert!(text.contains("authentication certificate") && text.contains("expired 10 days ago"), "{text}");
    // The signing certificate is still fine, and both still chain to the root.
    assert!(text.contains("signing certificate") && text.contains("more days"), "{text}");
    assert!(fix(&checks, "card-certs").contains("new certificates"), "{}", fix(&checks, "card-certs"));
    let certs = c["details"]["certificates"].as_array().unwrap();
    let auth = certs.iter().find(|c| c["purpose"] == "authentication").unwrap();
    assert_eq!((auth["expired"].as_bool(), auth["days_left"].as_i64()), (Some(true), Some(-10)), "{auth}");
    assert!(auth["chain"].as_array().is_some_and(|c| c.len() == 3), "{auth}");
    // The PIN check is unaffected.
    assert_eq!(status(&checks, "pin"), "pass");
}

#[test]
fn an_unreachable_pcscd_is_reported_without_hanging() {
    let machine = Machine::new(Installed::Nothing);
    let (code, checks, took) = machine.doctor_json(
        "any reader",
        mohur_tests::free_local_port(),
        &[("PCSCLITE_CSOCK_NAME", "/nonexistent/sock")],
    );
    assert_eq!(code, Some(8));
    assert!(took < Duration::from_secs(8), "doctor took {took:?}");
    assert_eq!(status(&checks, "pcscd"), "fail");
    assert!(message(&checks, "pcscd").contains("pcscd not reachable"), "{}", message(&checks, "pcscd"));
    assert!(fix(&checks, "pcscd").contains("systemctl start pcscd"), "{}", fix(&checks, "pcscd"));
    assert_eq!(status(&checks, "readers"), "skip");
}

#[test]
fn the_agent_check_follows_the_agent() {
    let machine = Machine::new(Installed::Nothing);
    let dir = machine.dir.join("agent");
    fs::create_dir_all(&dir).unwrap();
    let agent = common::AgentProc::spawn(&dir, &["agent", "--no-pcsc", "--port", "0"], &[]);
    let port = agent.port;
    let (_, checks, _) = machine.doctor_json("no such reader", port, &[]);
    assert_eq!(status(&checks, "agent"), "pass", "{:#}", check(&checks, "agent"));
    assert_eq!(check(&checks, "agent")["details"]["port"], port);

    drop(agent);
    wait_port_free(port);
    let (_, checks, _) = machine.doctor_json("no such reader", port, &[]);
    assert_eq!(status(&checks, "agent"), "fail");
    assert!(message(&checks, "agent").contains("not running"), "{}", message(&checks, "agent"));
    assert!(fix(&checks, "agent").starts_with("start it"), "{}", fix(&checks, "agent"));
    // The configured reader is missing, and said so.
    assert_eq!(status(&checks, "readers"), "fail");
    assert!(message(&checks, "readers").contains("no such reader"));
}

fn wait_port_free(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "the agent still listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_loopback_tls_check_follows_the_ca_its_key_its_trust_and_the_agent() {
    use mohur_platform::secrets::{OsKeyring, SecretStore};
    let machine = Machine::new(Installed::Nothing);
    let service = format!("mohur-test-doctor-tls-{}", std::process::id());
    let env = [("MOHUR_KEYRING_SERVICE", service.as_str())];
    let reader = "no such reader";
    // Not set up: optional, so skipped, and said how.
    let (_, checks, _) = machine.doctor_json(reader, 1, &env);
    assert_eq!(status(&checks, "loopback-tls"), "skip", "{:#}", check(&checks, "loopback-tls"));
    assert!(message(&checks, "loopback-tls").contains("--loopback-tls"));

    // An agent that started before the CA was made serves ws:// only: restart it.
    let agent = common::AgentProc::spawn(&machine.home, &["agent", "--no-pcsc", "--port", "0"], &env);
    assert!(!agent.wss);
    let _key = common::install_loopback_tls(&machine.home, &service, std::slice::from_ref(&machine.nssdb));
    let (_, checks, _) = machine.doctor_json(reader, agent.port, &env);
    assert_eq!(status(&checks, "loopback-tls"), "warn", "{:#}", check(&checks, "loopback-tls"));
    assert!(fix(&checks, "loopback-tls").contains("restart"), "{}", fix(&checks, "loopback-tls"));
    drop(agent);

    // Restarted: it answers wss:// with the CA's certificate (doctor's own TLS client
    // trusts that CA only, and checks the certificate is for 127.0.0.1).
    let agent = common::AgentProc::spawn(&machine.home, &["agent", "--no-pcsc", "--port", "0"], &env);
    assert!(agent.wss, "{}", agent.log());
    let (_, checks, _) = machine.doctor_json(reader, agent.port, &env);
    let tls = check(&checks, "loopback-tls").clone();
    assert_eq!(tls["status"], "pass", "{tls:#}");
    assert!(tls["message"].as_str().unwrap().contains(&format!("wss://127.0.0.1:{}/v1", agent.port)), "{tls:#}");
    assert!(tls["details"]["wss"].as_str().unwrap().starts_with("mohur "), "{tls:#}");
    let tag = tls["details"]["ca"].as_str().unwrap().to_owned();
    drop(agent);

    // The browsers no longer trust it: said where.
    let db = format!("sql:{}", machine.nssdb.display());
    tool("certutil", &["-D", "-d", &db, "-n", &format!("mohur loopback CA {tag}")]);
    let (_, checks, _) = machine.doctor_json(reader, 1, &env);
    assert_eq!(status(&checks, "loopback-tls"), "fail");
    assert!(message(&checks, "loopback-tls").contains(&machine.nssdb.display().to_string()));

    // Its key is gone (a reboot with a kernel keyring): fail, and how to mend it.
    OsKeyring::with_service(&service).delete(mohur_platform::loopback::KEY_NAME).unwrap();
    let (code, checks, _) = machine.doctor_json(reader, 1, &env);
    assert_ne!(code, Some(0));
    assert_eq!(status(&checks, "loopback-tls"), "fail");
    assert!(message(&checks, "loopback-tls").contains("no longer in the OS keyring"));
    assert!(fix(&checks, "loopback-tls").contains("mohur-install install --loopback-tls"));
}
