//! Real peers load mohur's PKCS#11 module (`libmohur_pkcs11.so`) against simulated
//! cards behind pcscd: GnuTLS `p11tool`, NSS `certutil`/`modutil`, OpenSSL's `s_client`
//! through the PKCS#11 engine (TLS client-certificate login), and OpenSC's
//! `pkcs11-tool --test`, `--change-pin`, `--unlock-pin`.
//!
//! The module sees all 12 readers and other tests plug cards with the same holders
//! into the others in parallel. So every card here gets a serial of its own, and the
//! peers are pointed at our token by label *and* serial (PKCS#11 URIs), or at our
//! reader by its slot description. Nothing logs in to a token that is not ours.

use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PIN: &str = "123456";
const PUK: &str = "12345678";
const HOLDER_CN: &str = "MAMMADOV ELVIN";

fn module() -> String {
    mohur_pkcs11_path().display().to_string()
}

/// A PIV card with a serial no other card in the test run has.
fn piv_card(opts: impl FnOnce(&mut mohur_card_sim::ProvisionOptions)) -> PluggedCard {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut state = card_state(Profile::Piv, opts);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    state.serial = format!("PEERS{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    PluggedCard::new(state)
}

/// The token's label and serial as our module reports them (C_GetTokenInfo: the
/// holder's CN, the last 16 characters of the card serial).
fn token_of(card: &PluggedCard) -> (String, String) {
    let mut c = card.open();
    let cn = c.holder().expect("holder").common_name.expect("common name");
    let serial = c.serial().expect("serial");
    assert_eq!(cn, HOLDER_CN);
    (cn, serial[serial.len().saturating_sub(16)..].to_string())
}

/// `pkcs11:token=…;serial=…` for our card's token.
fn token_uri(card: &PluggedCard) -> String {
    let (label, serial) = token_of(card);
    format!("pkcs11:token={};serial={}", pkcs11_uri_encode(&label), pkcs11_uri_encode(&serial))
}

/// Runs `program` under `timeout` (no peer may hang a test), stdin empty, with extra
/// environment; returns (success, stdout + stderr).
fn run(program: &str, args: &[&str], env: &[(&str, &str)], secs: u32) -> (bool, String) {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", &secs.to_string(), program]).args(args).stdin(Stdio::null());
    cmd.env("OPENSC_CONF", opensc_conf());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(124) || out.status.code() == Some(137) {
        return (false, format!("{program} timed out after {secs} s\n{text}"));
    }
    (out.status.success(), text)
}

fn require_tool(program: &str, package: &str) {
    let found =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file())).unwrap_or(false);
    assert!(found, "{program} is not installed: scripts/deps.sh installs it (Debian package {package})");
}

// ---------------------------------------------------------------- GnuTLS p11tool

#[test]
fn p11tool_lists_the_piv_certificates_and_private_keys() {
    require_tool("p11tool", "gnutls-bin");
    let card = piv_card(|_| {});
    let uri = token_uri(&card);
    let (ok, out) = run(
        "p11tool",
        &["--provider", &module(), "--batch", "--login", "--list-all", &uri],
        &[("GNUTLS_PIN", PIN)],
        120,
    );
    assert!(ok, "p11tool --list-all --login failed:\n{out}");
    let urls: Vec<&str> = out.lines().filter_map(|l| l.trim().strip_prefix("URL: ")).collect();
    let (label, serial) = token_of(&card);
    let ours: Vec<&&str> = urls
        .iter()
        .filter(|u| {
            u.contains(&format!("token={}", pkcs11_uri_encode(&label))) && u.contains(&format!("serial={serial}"))
        })
        .collect();
    let count = |t: &str| ours.iter().filter(|u| u.contains(&format!("type={t}"))).count();
    assert_eq!(count("cert"), 2, "two certificates on our token:\n{out}");
    assert_eq!(count("private"), 2, "two private keys on our token after login:\n{out}");
    assert!(ours.iter().any(|u| u.contains("id=%01") && u.contains("type=private")), "{out}");
    assert!(ours.iter().any(|u| u.contains("id=%02") && u.contains("type=private")), "{out}");
    assert!(out.contains("PIV Authentication") && out.contains("Digital Signature"), "labels:\n{out}");
}

// ---------------------------------------------------------------- NSS

#[test]
fn nss_certutil_lists_the_piv_certificates() {
    require_tool("certutil", "libnss3-tools");
    require_tool("modutil", "libnss3-tools");
    let card = piv_card(|_| {});
    let (label, serial) = token_of(&card);
    let dir = temp_dir("nss");
    let db = format!("sql:{}", dir.display());
    let (ok, out) = run("certutil", &["-N", "-d", &db, "--empty-password"], &[], 60);
    assert!(ok, "certutil -N:\n{out}");
    let (ok, out) = run("modutil", &["-dbdir", &db, "-add", "mohur", "-libfile", &module(), "-force"], &[], 120);
    assert!(ok && out.contains("Module \"mohur\" added"), "modutil -add:\n{out}");

    // NSS sees every reader: attribute the slot of our reader to our token.
    // modutil exits non-zero because the empty slots have no token ("Unable to get
    // information about token"): only our slot matters here.
    let (_, out) = run("modutil", &["-dbdir", &db, "-list", "mohur", "-force"], &[], 120);
    let slot = out
        .split("Slot: ")
        .find(|s| s.lines().next().map(str::trim) == Some(card.reader.name.as_str()))
        .unwrap_or_else(|| panic!("no slot for {} in modutil -list:\n{out}", card.reader.name));
    assert!(slot.contains(&format!("Token Name: {label}")), "{slot}");
    assert!(slot.contains(&serial), "token serial {serial}:\n{slot}");

    // Public certificates, no login. Other PIV cards in parallel carry the same token
    // label, so count at least our two.
    let (ok, out) = run("certutil", &["-d", &db, "-L", "-h", "all"], &[], 120);
    assert!(ok, "certutil -L -h all:\n{out}");
    let ours = |cert: &str| out.lines().filter(|l| l.starts_with(&format!("{label}:{cert}"))).count();
    assert!(ours("PIV Authentication") >= 1, "no {label}:PIV Authentication:\n{out}");
    assert!(ours("Digital Signature") >= 1, "no {label}:Digital Signature:\n{out}");
    assert!(out.lines().filter(|l| l.starts_with(&format!("{label}:"))).count() >= 2, "{out}");
}

// ---------------------------------------------------------------- OpenSSL TLS with the PKCS#11 engine

const ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";

/// A throwaway self-signed server certificate and key (PEM files).
fn server_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let (ok, out) = run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            &key.display().to_string(),
            "-out",
            &cert.display().to_string(),
        ],
        &[],
        60,
    );
    assert!(ok, "openssl req:\n{out}");
    (cert, key)
}

/// An OpenSSL config loading libp11's engine with our module only.
fn engine_conf(dir: &Path) -> PathBuf {
    assert!(
        Path::new(ENGINE).is_file(),
        "OpenSSL's PKCS#11 engine {ENGINE} is missing: scripts/deps.sh installs it (libengine-pkcs11-openssl)"
    );
    let conf = dir.join("openssl-pkcs11.cnf");
    let text = format!(
        "openssl_conf = openssl_init\n\n[openssl_init]\nengines = engine_section\n\n\
         [engine_section]\npkcs11 = pkcs11_section\n\n[pkcs11_section]\nengine_id = pkcs11\n\
         dynamic_path = {ENGINE}\nMODULE_PATH = {}\ninit = 0\n",
        module()
    );
    fs::write(&conf, text).expect("write openssl config");
    conf
}

/// `openssl s_server -www` requiring a client certificate from the test PKI; killed on drop.
struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let (cert, key) = server_cert(dir);
        let root = pki().root_cert_pem.display().to_string();
        let port = free_local_port();
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "4"])
            .args(["-cert", &cert.display().to_string(), "-key", &key.display().to_string()])
            .args(["-Verify", "4", "-verify_return_error", "-CAfile", &root, "-www"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start openssl s_server");
        let (tx, lines) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let server = Server { child, port, lines };
        let start = server.wait_for("ACCEPT", Duration::from_secs(20));
        assert!(start.is_ok(), "s_server did not start: {start:?}");
        server
    }

    /// Waits for a line containing `needle`; returns the lines seen so far.
    fn wait_for(&self, needle: &str, timeout: Duration) -> Result<Vec<String>, Vec<String>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    seen.push(line);
                    if hit {
                        return Ok(seen);
                    }
                }
                Err(_) => break,
            }
        }
        Err(seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl s_client` with the card's 9A key through the engine; sends `GET /` and
/// returns (exit success, output).
fn s_client(card: &PluggedCard, server: &Server, dir: &Path, tls: &[&str], pin: &str) -> (bool, String) {
    let conf = engine_conf(dir);
    let key = format!("{};id=%01;type=private;pin-value={pin}", token_uri(card));
    let cert = holder_dir("piv").join("auth.pem").display().to_string();
    let chain = pki().chain_pem.display().to_string();
    let server_ca = dir.join("server.pem").display().to_string();
    let mut child = Command::new("timeout")
        .args(["-k", "5", "90", "openssl", "s_client", "-connect", &format!("127.0.0.1:{}", server.port)])
        .args(["-engine", "pkcs11", "-keyform", "engine", "-key", &key, "-cert", &cert, "-cert_chain", &chain])
        .args(["-CAfile", &server_ca, "-verify_return_error", "-ign_eof"])
        .args(tls)
        .env("OPENSSL_CONF", &conf)
        .env("OPENSC_CONF", opensc_conf())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    // s_client reads stdin only once connected; -ign_eof keeps it until the server closes.
    let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
    drop(stdin);
    let out = child.wait_with_output().expect("s_client output");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn tls_client_certificate_login(tls: &[&str]) {
    let card = piv_card(|_| {});
    let dir = temp_dir("tls");
    let server = Server::start(&dir);
    let (ok, out) = s_client(&card, &server, &dir, tls, PIN);
    let server_log = server.wait_for("ACCEPT", Duration::from_millis(500)).unwrap_or_else(|seen| seen).join("\n");
    assert!(ok, "s_client {tls:?} failed:\n{out}\n--- server:\n{server_log}");
    assert!(out.contains("Verify return code: 0 (ok)"), "client did not verify the server:\n{out}");
    let protocol = if tls[0] == "-tls1_3" { "TLSv1.3" } else { "TLSv1.2" };
    assert!(out.contains(protocol), "not {protocol}:\n{out}");
    // s_server -www answers GET / with a page describing the session, the client's
    // certificate included.
    assert!(out.contains("HTTP/1.0 200 ok"), "no answer to GET /:\n{out}");
    assert!(out.contains("Client certificate"), "server saw no client certificate:\n{out}");
    assert!(out.contains(HOLDER_CN), "server page does not name the holder:\n{out}\n--- server:\n{server_log}");
}

/// TLS 1.2 with an RSA PKCS#1 v1.5 CertificateVerify (libp11: CKM_RSA_PKCS over the
/// DigestInfo), as servers that do not offer RSA-PSS get.
#[test]
fn openssl_tls12_pkcs1_client_certificate_login_with_the_piv_card() {
    tls_client_certificate_login(&["-tls1_2", "-client_sigalgs", "RSA+SHA256"]);
}

/// TLS 1.2 as OpenSSL 3 negotiates it by default: RSA-PSS preferred (CKM_RSA_PKCS_PSS).
#[test]
fn openssl_tls12_client_certificate_login_with_the_piv_card() {
    tls_client_certificate_login(&["-tls1_2"]);
}

/// TLS 1.3 allows only RSA-PSS for an RSA client key (CKM_RSA_PKCS_PSS).
#[test]
fn openssl_tls13_client_certificate_login_with_the_piv_card() {
    tls_client_certificate_login(&["-tls1_3"]);
}

#[test]
fn openssl_engine_with_a_wrong_pin_fails_cleanly() {
    let card = piv_card(|_| {});
    let dir = temp_dir("tls-wrong-pin");
    let server = Server::start(&dir);
    let t = Instant::now();
    let (ok, out) = s_client(&card, &server, &dir, &["-tls1_2"], "000000");
    assert!(!ok, "a wrong PIN logged in:\n{out}");
    assert!(!out.contains("timed out") && t.elapsed() < Duration::from_secs(60), "hung:\n{out}");
    assert!(!out.contains("HTTP/1.0 200 ok"), "{out}");
    // The card spent one try: 9 left (our driver's reading of the card).
    let tries = card.open().pin_status(mohur_apdu::PinKind::Auth).expect("PIN status").tries_left;
    assert_eq!(tries, Some(9), "tries left after one wrong PIN:\n{out}");
}

// ---------------------------------------------------------------- OpenSC pkcs11-tool

/// pkcs11-tool with our module on the slot of the card's reader.
fn pkcs11_tool(card: &PluggedCard, args: &[&str]) -> (bool, String) {
    let module = module();
    let mut all = vec!["--module", module.as_str(), "--slot-description", &card.reader.name];
    all.extend_from_slice(args);
    run("pkcs11-tool", &all, &[], 180)
}

#[test]
fn pkcs11_tool_self_test_passes() {
    let card = piv_card(|_| {});
    let (ok, out) = pkcs11_tool(&card, &["--test", "--login", "--pin", PIN]);
    assert!(ok, "pkcs11-tool --test with mohur's module failed:\n{out}");
    assert!(out.contains("No errors"), "{out}");
}

#[test]
fn pkcs11_tool_changes_the_pin() {
    let card = piv_card(|_| {});
    let (ok, out) = pkcs11_tool(&card, &["--change-pin", "--pin", PIN, "--new-pin", "654321"]);
    assert!(ok, "pkcs11-tool --change-pin failed:\n{out}");
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "654321", "-O"]);
    assert!(ok, "the new PIN does not log in:\n{out}");
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", PIN, "-O"]);
    assert!(!ok && out.contains("CKR_PIN_INCORRECT"), "the old PIN still logs in:\n{out}");
}

#[test]
fn pkcs11_tool_unlocks_a_blocked_pin_with_the_puk() {
    let card = piv_card(|o| o.pin_tries = 3);
    for _ in 0..3 {
        let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "000000", "-O"]);
        assert!(!ok && (out.contains("CKR_PIN_INCORRECT") || out.contains("CKR_PIN_LOCKED")), "{out}");
    }
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", PIN, "-O"]);
    assert!(!ok && out.contains("CKR_PIN_LOCKED"), "the PIN should be blocked after 3 wrong tries:\n{out}");
    // pkcs11-tool 0.23 refuses `--unlock-pin --login-type so` by itself ("Invalid login
    // type for 'Unlock User PIN' operation"); the PKCS#11 way to unblock with the PUK is
    // C_Login(CKU_SO, PUK) + C_InitPIN(new PIN).
    let args = ["--login", "--login-type", "so", "--so-pin", PUK, "--init-pin", "--new-pin", "111111"];
    let (ok, out) = pkcs11_tool(&card, &args);
    assert!(ok, "pkcs11-tool --login-type so --init-pin (unblock with the PUK) failed:\n{out}");
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "111111", "-O"]);
    assert!(ok, "the new PIN does not log in after unblocking:\n{out}");
    assert_eq!(out.matches("Private Key Object").count(), 2, "{out}");

    // Block it again and unblock the way OpenSC users do: `--unlock-pin --puk`.
    for _ in 0..3 {
        pkcs11_tool(&card, &["--login", "--pin", "000000", "-O"]);
    }
    let (ok, out) = pkcs11_tool(&card, &["--unlock-pin", "--puk", "87654321", "--new-pin", "222222"]);
    assert!(!ok && out.contains("CKR_PIN_INCORRECT"), "a wrong PUK must fail:\n{out}");
    let (ok, out) = pkcs11_tool(&card, &["--unlock-pin", "--puk", PUK, "--new-pin", "222222"]);
    assert!(ok, "pkcs11-tool --unlock-pin --puk failed:\n{out}");
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "222222", "-O"]);
    assert!(ok && out.matches("Private Key Object").count() == 2, "{out}");
}

// ---------------------------------------------------------------- every mechanism, judged by openssl

/// The public key of the test PKI's certificate `file` of the PIV holder, as PEM in `dir`.
fn public_key_pem(dir: &Path, file: &str) -> String {
    let pubkey = dir.join(format!("{file}.pub.pem")).display().to_string();
    let cert = holder_dir("piv").join(file).display().to_string();
    let (ok, out) = run("openssl", &["x509", "-in", &cert, "-pubkey", "-noout", "-out", &pubkey], &[], 60);
    assert!(ok, "openssl x509 -pubkey:\n{out}");
    pubkey
}

/// `pkcs11-tool --sign` of `input` with key `id` and `mech` (extra `args`); returns
/// the signature file.
fn tool_sign(card: &PluggedCard, dir: &Path, id: &str, mech: &str, input: &Path, args: &[&str]) -> String {
    let sig = dir.join(format!("{mech}.sig")).display().to_string();
    let input = input.display().to_string();
    let mut all = vec!["--login", "--pin", PIN, "--sign", "--id", id, "-m", mech, "-i", &input, "-o", &sig];
    all.extend_from_slice(args);
    let (ok, out) = pkcs11_tool(card, &all);
    assert!(ok, "pkcs11-tool --sign -m {mech} with mohur's module failed:\n{out}");
    sig
}

fn openssl_verifies(args: &[&str], what: &str) {
    let (ok, out) = run("openssl", args, &[], 60);
    assert!(ok && out.contains("Verified"), "openssl rejects the {what} signature of mohur's module:\n{out}");
}

/// The mechanisms `pkcs11-tool -M` lists for our token.
fn listed_mechanisms(card: &PluggedCard) -> String {
    let (ok, out) = pkcs11_tool(card, &["-M"]);
    assert!(ok, "pkcs11-tool -M failed:\n{out}");
    out
}

#[test]
fn pkcs11_tool_signs_with_every_rsa_mechanism_of_the_piv_card() {
    let card = piv_card(|_| {});
    let listed = listed_mechanisms(&card);
    // Every mechanism the module offers for PIV is signed with below (the two tests).
    let all = [
        "RSA-PKCS,",
        "SHA256-RSA-PKCS,",
        "SHA384-RSA-PKCS,",
        "SHA512-RSA-PKCS,",
        "RSA-PKCS-PSS,",
        "SHA256-RSA-PKCS-PSS,",
        "ECDSA,",
        "ECDSA-SHA256,",
        "ECDSA-SHA384,",
        "ECDSA-SHA512,",
    ];
    let offered = listed.lines().filter(|l| l.starts_with("  ")).count();
    assert_eq!(offered, all.len(), "mechanisms offered:\n{listed}");
    for m in all {
        assert!(listed.lines().any(|l| l.trim_start().starts_with(m)), "{m} not in pkcs11-tool -M:\n{listed}");
    }
    let dir = temp_dir("pkcs11-rsa-mechanisms");
    let pubkey = public_key_pem(&dir, "auth.pem");
    let data = dir.join("data");
    fs::write(&data, b"e-gov.az login: mohur test").unwrap();
    let data_s = data.display().to_string();

    // CKM_RSA_PKCS over a DigestInfo we build (SHA-256, RFC 8017 §9.2 note 1).
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    digest_info.extend_from_slice(&openssl::sha::sha256(b"e-gov.az login: mohur test"));
    let di = dir.join("digest-info");
    fs::write(&di, &digest_info).unwrap();
    let sig = tool_sign(&card, &dir, "01", "RSA-PKCS", &di, &[]);
    let recovered = dir.join("recovered");
    let (ok, out) = run(
        "openssl",
        &[
            "pkeyutl",
            "-verifyrecover",
            "-pubin",
            "-inkey",
            &pubkey,
            "-in",
            &sig,
            "-out",
            &recovered.display().to_string(),
        ],
        &[],
        60,
    );
    assert!(ok, "openssl pkeyutl -verifyrecover:\n{out}");
    assert_eq!(fs::read(&recovered).unwrap(), digest_info, "RSA-PKCS signature does not recover the DigestInfo");

    for (mech, md) in [("SHA256-RSA-PKCS", "-sha256"), ("SHA384-RSA-PKCS", "-sha384"), ("SHA512-RSA-PKCS", "-sha512")] {
        let sig = tool_sign(&card, &dir, "01", mech, &data, &[]);
        openssl_verifies(&["dgst", md, "-verify", &pubkey, "-signature", &sig, &data_s], mech);
    }

    // RSA-PSS, salt = hash length, MGF1-SHA256.
    let pss = ["--salt-len", "-1", "--mgf", "MGF1-SHA256", "--hash-algorithm", "SHA256"];
    let hash = dir.join("hash");
    fs::write(&hash, openssl::sha::sha256(b"e-gov.az login: mohur test")).unwrap();
    let sig = tool_sign(&card, &dir, "01", "RSA-PKCS-PSS", &hash, &pss);
    let hash_s = hash.display().to_string();
    openssl_verifies(
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &pubkey,
            "-in",
            &hash_s,
            "-sigfile",
            &sig,
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "digest:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
            "-pkeyopt",
            "rsa_pss_saltlen:digest",
        ],
        "RSA-PKCS-PSS",
    );
    // pkcs11-tool takes --hash-algorithm only with RSA-PKCS-PSS (the mechanism names it).
    let sig = tool_sign(&card, &dir, "01", "SHA256-RSA-PKCS-PSS", &data, &pss[..4]);
    openssl_verifies(
        &[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
            "-sigopt",
            "rsa_mgf1_md:sha256",
            "-verify",
            &pubkey,
            "-signature",
            &sig,
            &data_s,
        ],
        "SHA256-RSA-PKCS-PSS",
    );
}

#[test]
fn pkcs11_tool_signs_with_every_ecdsa_mechanism_of_the_piv_card() {
    let card = piv_card(|_| {});
    let dir = temp_dir("pkcs11-ec-mechanisms");
    let pubkey = public_key_pem(&dir, "sign.pem");
    let data = dir.join("data");
    fs::write(&data, b"e-gov.az signature: mohur test").unwrap();
    let data_s = data.display().to_string();
    let der = ["--signature-format", "openssl"];

    // CKM_ECDSA over a SHA-256 hash; 9C is always-authenticate (pkcs11-tool logs in
    // again with CKU_CONTEXT_SPECIFIC).
    let hash = dir.join("hash");
    fs::write(&hash, openssl::sha::sha256(b"e-gov.az signature: mohur test")).unwrap();
    let hash_s = hash.display().to_string();
    let sig = tool_sign(&card, &dir, "02", "ECDSA", &hash, &der);
    openssl_verifies(&["pkeyutl", "-verify", "-pubin", "-inkey", &pubkey, "-in", &hash_s, "-sigfile", &sig], "ECDSA");

    for (mech, md) in [("ECDSA-SHA256", "-sha256"), ("ECDSA-SHA384", "-sha384"), ("ECDSA-SHA512", "-sha512")] {
        let sig = tool_sign(&card, &dir, "02", mech, &data, &der);
        openssl_verifies(&["dgst", md, "-verify", &pubkey, "-signature", &sig, &data_s], mech);
    }
}
