//! End-to-end: `mohur-install` against a throwaway root and throwaway NSS databases,
//! checked with the real tools (openssl, certutil, modutil, p11-kit, update-ca-certificates).
#![cfg(unix)]
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Builder, X509};

mod common;
use common::*;

struct Setup {
    dir: PathBuf,
    pki: mohur_certs::TestPki,
    root: PathBuf,
    home: PathBuf,
    nssdb: PathBuf,
    profiles: PathBuf,
    profile: PathBuf,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let dir = scratch(name);
        let pki = mohur_certs::generate(&dir.join("pki")).unwrap();
        let (root, home) = (dir.join("root"), dir.join("home"));
        let (nssdb, profiles) = (dir.join("nssdb"), dir.join("firefox"));
        let profile = profiles.join("abcd1234.default-esr");
        fs::create_dir_all(&home).unwrap();
        // The agent binary mohur-install registers (autostart, the Web eID host): a
        // stand-in file, so that the host is registered (a package without the agent
        // registers none).
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("bin/mohur"), "").unwrap();
        new_nssdb(&nssdb);
        new_nssdb(&profile);
        Setup { dir, pki, root, home, nssdb, profiles, profile }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .arg("--root")
            .arg(&self.root)
            .arg("--ca-bundle")
            .arg(&self.pki.ca_bundle)
            .arg("--nssdb")
            .arg(&self.nssdb)
            .arg("--firefox-profiles")
            .arg(&self.profiles)
            .arg("--module")
            .arg(module())
            .arg("--agent")
            .arg(self.agent())
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME");
        cmd.output().unwrap()
    }

    fn agent(&self) -> PathBuf {
        self.dir.join("bin/mohur")
    }

    fn bundle(&self) -> PathBuf {
        self.root.join("etc/ssl/certs/ca-certificates.crt")
    }
}

/// `p11-kit list-modules` only reads the real /etc and /usr/share (and ignores
/// ~/.config/pkcs11 as root), so the root's module directory is bind-mounted over
/// p11-kit's packaged-module directory in a private mount namespace (`unshare -m`).
fn p11kit_list_modules(modules_dir: &Path) -> String {
    let script = format!("mount --bind '{}' /usr/share/p11-kit/modules && p11-kit list-modules", modules_dir.display());
    let o = tool("unshare", &["-m", "sh", "-c", &script]);
    assert!(o.status.success(), "unshare/p11-kit: {}", text(&o));
    text(&o)
}

#[test]
fn system_install_verify_reinstall_uninstall() {
    let s = Setup::new("system");
    // Things the machine had before, which must survive the uninstall untouched.
    let other_pem = unrelated_ca("Unrelated Root");
    let local = s.root.join("usr/local/share/ca-certificates");
    fs::create_dir_all(&local).unwrap();
    fs::write(local.join("unrelated.crt"), &other_pem).unwrap();
    let p11 = s.root.join("etc/pkcs11/modules");
    fs::create_dir_all(&p11).unwrap();
    fs::write(p11.join("other.module"), "module: /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so\n").unwrap();
    let policies = s.root.join("etc/firefox/policies/policies.json");
    fs::create_dir_all(policies.parent().unwrap()).unwrap();
    fs::write(&policies, "{\"policies\": {\"DisableTelemetry\": true}}\n").unwrap();
    let db = format!("sql:{}", s.nssdb.display());
    let other_file = s.dir.join("unrelated.pem");
    fs::write(&other_file, &other_pem).unwrap();
    let o = tool(
        "certutil",
        &["-A", "-d", &db, "-n", "Unrelated Root", "-t", "C,,", "-a", "-i", other_file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tool(
        "modutil",
        &[
            "-dbdir",
            &db,
            "-add",
            "p11-kit-trust",
            "-libfile",
            "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so",
            "-force",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let nss_before = (certutil_list(&s.nssdb), modutil_list(&s.nssdb));

    // Install, with the roots trusted for web sites too (the system bundle can express
    // nothing narrower): prints each CA's subject and SHA-256 fingerprint.
    let o = s.run(&["install", "--system", "--trust-tls-server"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let ica = X509::from_pem(&fs::read(&s.pki.ica_cert_pem).unwrap()).unwrap();
    let fp: Vec<String> = ica.digest(MessageDigest::sha256()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    assert!(out.contains(&fp.join(":")), "{out}");
    assert!(out.contains("CN=mohur Test E-Government CA"), "{out}");

    // openssl builds holder → ICA → PCA → root with the root from the system bundle (the
    // intermediates are not anchors: they come with the certificate, as in TLS).
    let holder = s.pki.holder_dirs[0].join("auth.pem");
    let chain = s.pki.chain_pem.to_str().unwrap();
    let o = tool(
        "openssl",
        &["verify", "-CAfile", s.bundle().to_str().unwrap(), "-untrusted", chain, holder.to_str().unwrap()],
    );
    assert!(o.status.success() && text(&o).contains(": OK"), "{}", text(&o));
    assert!(fs::read_to_string(s.bundle()).unwrap().contains(other_pem.lines().nth(1).unwrap()));

    for db in [&s.nssdb, &s.profile] {
        let list = certutil_list(db);
        for cn in ["mohur Test Root CA", "mohur Test Policy CA", "mohur Test E-Government CA"] {
            assert!(list.contains(&format!("{cn} (mohur)")), "{cn} missing in {}:\n{list}", db.display());
        }
        assert!(modutil_list(db).contains(&format!("library name: {}", module().display())), "{}", modutil_list(db));
    }
    // NSS itself builds and trusts the chain.
    let o = tool("certutil", &["-V", "-d", &db, "-n", "mohur Test E-Government CA (mohur)", "-u", "L"]);
    assert!(text(&o).contains("certificate is valid"), "{}", text(&o));

    let listed = p11kit_list_modules(&p11);
    assert!(listed.contains("mohur: ") && listed.contains("library-manufacturer: mohur"), "{listed}");

    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&policies).unwrap()).unwrap();
    assert_eq!(json["policies"]["SecurityDevices"]["mohur"], module().to_str().unwrap());
    assert_eq!(json["policies"]["DisableTelemetry"], true);
    assert!(fs::read_to_string(s.root.join("etc/xdg/autostart/mohur.desktop"))
        .unwrap()
        .contains(&format!("Exec=\"{}\" agent", s.agent().display())));
    assert_eq!(
        fs::read_link(s.root.join("etc/systemd/user/default.target.wants/mohur.service")).unwrap(),
        Path::new("../mohur.service")
    );

    let o = s.run(&["verify", "--system", "--trust-tls-server"]);
    assert!(o.status.success() && !text(&o).contains('✗') && text(&o).contains("all ✓"), "{}", text(&o));
    // The test PKI's certificates are flagged for what they are.
    assert!(text(&o).contains("⚠") && text(&o).contains("its subject says test"), "{}", text(&o));

    // Twice: nothing changes.
    let before = snapshot(&[&s.root, &s.nssdb, &s.profile]);
    let o = s.run(&["install", "--system", "--trust-tls-server"]);
    assert!(o.status.success() && text(&o).contains("\n0 change(s)"), "{}", text(&o));
    assert_eq!(before, snapshot(&[&s.root, &s.nssdb, &s.profile]), "second install changed files");

    // Uninstall: ours gone, theirs untouched.
    let o = s.run(&["uninstall", "--system"]);
    assert!(o.status.success(), "{}", text(&o));
    let bundle = fs::read_to_string(s.bundle()).unwrap();
    assert!(bundle.contains(other_pem.lines().nth(1).unwrap()), "unrelated CA left the bundle");
    let root_pem = fs::read_to_string(&s.pki.root_cert_pem).unwrap();
    assert!(!bundle.contains(root_pem.lines().nth(1).unwrap()), "mohur root still in the bundle");
    let o = tool(
        "openssl",
        &["verify", "-CAfile", s.bundle().to_str().unwrap(), "-untrusted", chain, holder.to_str().unwrap()],
    );
    assert!(!o.status.success(), "chain still verifies after uninstall");
    assert!(!s.root.join("usr/local/share/ca-certificates/mohur").exists());
    for link in fs::read_dir(s.root.join("etc/ssl/certs")).unwrap() {
        let link = link.unwrap().path();
        assert!(link.exists(), "dangling {} after uninstall", link.display());
        assert!(!link.to_string_lossy().contains("mohur"), "{} left after uninstall", link.display());
    }
    assert!(local.join("unrelated.crt").is_file() && p11.join("other.module").is_file());
    assert!(!p11.join("mohur.module").exists());
    assert_eq!((certutil_list(&s.nssdb), modutil_list(&s.nssdb)), nss_before);
    assert!(!certutil_list(&s.profile).contains("(mohur)") && !modutil_list(&s.profile).contains("mohur"));
    assert_eq!(
        fs::read_to_string(&policies).unwrap(),
        "{\n  \"policies\": {\n    \"DisableTelemetry\": true\n  }\n}\n"
    );
    assert!(!s.root.join("etc/xdg/autostart/mohur.desktop").exists());
    assert!(!s.root.join("etc/systemd/user/mohur.service").exists());
    assert!(!s.root.join("var/lib/mohur").exists(), "manifest left behind");

    let o = s.run(&["verify", "--system", "--trust-tls-server"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn forged_ica_is_refused_and_nothing_installed() {
    let s = Setup::new("forged");
    // Same names as the real ICA, but signed by a key that is not the PCA's.
    let real = X509::from_pem(&fs::read(&s.pki.ica_cert_pem).unwrap()).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap()).unwrap();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(real.serial_number()).unwrap();
    b.set_subject_name(real.subject_name()).unwrap();
    b.set_issuer_name(real.issuer_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(real.not_before()).unwrap();
    b.set_not_after(real.not_after()).unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build().unwrap()).unwrap();
    b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha384()).unwrap();
    let forged = s.dir.join("forged");
    fs::create_dir_all(&forged).unwrap();
    fs::copy(&s.pki.root_cert_pem, forged.join("root-ca.pem")).unwrap();
    fs::copy(&s.pki.pca_cert_pem, forged.join("pca.pem")).unwrap();
    fs::write(forged.join("ica.pem"), b.build().to_pem().unwrap()).unwrap();
    // Even pinned in a manifest of its own, a forged ICA does not chain.
    pin(&forged, &["root-ca.pem", "pca.pem", "ica.pem"]);

    let nss_before = certutil_list(&s.nssdb);
    let o = Command::new(BIN)
        .args(["install", "--system", "--root"])
        .arg(&s.root)
        .arg("--ca-bundle")
        .arg(&forged)
        .arg("--nssdb")
        .arg(&s.nssdb)
        .arg("--module")
        .arg(module())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err.contains("CN=mohur Test E-Government CA")
            && err.contains("does not chain")
            && err.contains("signature does not verify with the key of CN=mohur Test Policy CA"),
        "{err}"
    );
    assert!(!s.root.exists(), "something was installed under the root");
    assert_eq!(certutil_list(&s.nssdb), nss_before);
}

#[test]
fn end_entity_and_incomplete_bundles_are_refused() {
    let s = Setup::new("refuse");
    let ee = copy_bundle(&s.pki, &s.dir.join("ee"));
    fs::copy(s.pki.holder_dirs[0].join("auth.pem"), ee.join("auth.pem")).unwrap();
    pin(&ee, &["root-ca.pem", "pca.pem", "ica.pem", "auth.pem"]);
    let o = Command::new(BIN).args(["verify", "--ca-bundle"]).arg(&ee).output().unwrap();
    assert!(
        !o.status.success() && text(&o).contains("not a CA certificate: basicConstraints cA is false"),
        "{}",
        text(&o)
    );

    let no_root = s.dir.join("no-root");
    fs::create_dir_all(&no_root).unwrap();
    fs::copy(&s.pki.pca_cert_pem, no_root.join("pca.pem")).unwrap();
    fs::copy(&s.pki.ica_cert_pem, no_root.join("ica.pem")).unwrap();
    pin(&no_root, &["pca.pem", "ica.pem"]);
    let o = Command::new(BIN).args(["verify", "--ca-bundle"]).arg(&no_root).output().unwrap();
    assert!(
        !o.status.success()
            && text(&o).contains("its issuer CN=mohur Test Root CA")
            && text(&o).contains("is not in the bundle"),
        "{}",
        text(&o)
    );
}

/// The package build and the installer take CAs from a bundle only as its manifest
/// pins them: an extra certificate, an altered one, a key, or no manifest at all is
/// refused as a whole, before anything changes.
#[test]
fn a_bundle_that_does_not_match_its_manifest_is_refused() {
    let s = Setup::new("unpinned");
    type Spoil = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Spoil, &str)> = vec![
        (
            "unlisted",
            Box::new(|d: &Path| fs::write(d.join("extra.pem"), unrelated_ca("Sneaky Root")).unwrap()),
            "extra.pem is not in manifest.toml",
        ),
        (
            "altered",
            Box::new(|d: &Path| fs::write(d.join("ica.pem"), unrelated_ca("mohur Test E-Government CA")).unwrap()),
            "differs from the pinned",
        ),
        (
            "key",
            Box::new(|d: &Path| {
                let key = fs::read(d.parent().unwrap().parent().unwrap().join("pki/root-ca.key.pem")).unwrap();
                fs::write(d.join("root-ca.key"), key).unwrap()
            }),
            "is a private key",
        ),
        ("no-manifest", Box::new(|d: &Path| fs::remove_file(d.join("manifest.toml")).unwrap()), "no manifest.toml"),
    ];
    for (name, spoil, expected) in cases {
        let bundle = copy_bundle(&s.pki, &s.dir.join("bundles").join(name));
        spoil(&bundle);
        for cmd in ["check-bundle", "install"] {
            let o = Command::new(BIN)
                .args([cmd, "--system", "--root"])
                .arg(&s.root)
                .arg("--ca-bundle")
                .arg(&bundle)
                .arg("--nssdb")
                .arg(&s.nssdb)
                .arg("--module")
                .arg(module())
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "{name} {cmd}: {}", text(&o));
            assert!(text(&o).contains(expected), "{name} {cmd}: {}", text(&o));
        }
        assert!(!s.root.exists(), "{name}: something was installed");
    }
}

/// An empty manifest: the build carries no national CAs, says so, and adds none.
#[test]
fn an_empty_manifest_installs_no_ca_and_says_why() {
    let s = Setup::new("empty");
    let empty = s.dir.join("empty");
    fs::create_dir_all(&empty).unwrap();
    fs::write(empty.join("manifest.toml"), "format = 1\n").unwrap();
    let nss_before = certutil_list(&s.nssdb);
    let o = Command::new(BIN)
        .args(["install", "--system", "--no-autostart", "--root"])
        .arg(&s.root)
        .arg("--ca-bundle")
        .arg(&empty)
        .arg("--nssdb")
        .arg(&s.nssdb)
        .arg("--module")
        .arg(module())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("this build carries no national CA certificates"), "{}", text(&o));
    assert_eq!(certutil_list(&s.nssdb), nss_before);
    assert!(!s.root.join("usr/local/share/ca-certificates").exists());
    // The repository's own bundle is such a manifest today, and it checks.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("ca");
    let o = Command::new(BIN).args(["check-bundle", "--ca-bundle"]).arg(&repo).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// A certificate for www.example.com issued under a root installed with the default
/// trust is refused by OpenSSL and NSS, while the card's client certificate chains for
/// client authentication and S/MIME-style signatures; with `--trust-tls-server` the same
/// server certificate is accepted, so the refusal is the trust's doing.
#[test]
fn default_trust_is_client_authentication_and_signatures_not_web_sites() {
    let s = Setup::new("narrow");
    let www = s.dir.join("www");
    issue_server_cert(&s.pki, &www, "www.example.com");
    let system_before = snapshot_if_exists(&s.bundle());
    let o = s.run(&["install", "--system", "--no-autostart"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("will be trusted:") && out.contains("not web sites"), "{out}");
    assert!(out.contains("not added to the system bundle"), "{out}");
    // The system bundle is not touched; NSS has the root as T,C, and intermediates as ,,.
    assert_eq!(snapshot_if_exists(&s.bundle()), system_before);
    let list = certutil_list(&s.nssdb);
    assert!(line_of(&list, "mohur Test Root CA (mohur)").ends_with("T,C,"), "{list}");
    assert!(line_of(&list, "mohur Test Policy CA (mohur)").ends_with(",,"), "{list}");
    let db = format!("sql:{}", s.nssdb.display());
    let add = |nick: &str, file: &Path| {
        let o = tool("certutil", &["-A", "-d", &db, "-n", nick, "-t", ",,", "-a", "-i", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    };
    add("card auth", &s.pki.holder_dirs[0].join("auth.pem"));
    add("card sign", &s.pki.holder_dirs[0].join("sign.pem"));
    add("www", &www.join("cert.pem"));
    let verify = |nick: &str, usage: &str| text(&tool("certutil", &["-V", "-d", &db, "-n", nick, "-u", usage]));
    assert!(verify("card auth", "C").contains("certificate is valid"), "{}", verify("card auth", "C"));
    assert!(verify("card sign", "S").contains("certificate is valid"), "{}", verify("card sign", "S"));
    assert!(!verify("www", "V").contains("certificate is valid"), "{}", verify("www", "V"));
    // OpenSSL, as every program that uses the system bundle: refused.
    assert!(!s_client_accepts(&www, &s.bundle()));
    // The same with --trust-tls-server: accepted by both.
    let o = s.run(&["install", "--system", "--no-autostart", "--trust-tls-server"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(line_of(&certutil_list(&s.nssdb), "mohur Test Root CA (mohur)").ends_with("CT,C,"));
    assert!(verify("www", "V").contains("certificate is valid"), "{}", verify("www", "V"));
    assert!(s_client_accepts(&www, &s.bundle()));
    let o = s.run(&["uninstall", "--system"]);
    assert!(o.status.success(), "{}", text(&o));
}

fn line_of<'a>(list: &'a str, nick: &str) -> &'a str {
    list.lines().find(|l| l.starts_with(nick)).unwrap_or_else(|| panic!("{nick} not in\n{list}")).trim_end()
}

fn snapshot_if_exists(p: &Path) -> Option<Vec<u8>> {
    fs::read(p).ok()
}

/// A TLS server certificate for `name` issued by the test PKI's ICA, into `dir`
/// (`cert.pem`, `key.pem`, `chain.pem`).
fn issue_server_cert(pki: &mohur_certs::TestPki, dir: &Path, name: &str) {
    use openssl::x509::extension::{ExtendedKeyUsage, SubjectAlternativeName};
    fs::create_dir_all(dir).unwrap();
    let ica = X509::from_pem(&fs::read(&pki.ica_cert_pem).unwrap()).unwrap();
    let ica_key = PKey::private_key_from_pem(&fs::read(pki.dir.join("ica.key.pem")).unwrap()).unwrap();
    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut subject = openssl::x509::X509NameBuilder::new().unwrap();
    subject.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
    let subject = subject.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&openssl::bn::BigNum::from_u32(99).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(ica.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap()).unwrap();
    b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap()).unwrap();
    let san = SubjectAlternativeName::new().dns(name).build(&b.x509v3_context(Some(&ica), None)).unwrap();
    b.append_extension(san).unwrap();
    b.sign(&ica_key, MessageDigest::sha384()).unwrap();
    fs::write(dir.join("cert.pem"), b.build().to_pem().unwrap()).unwrap();
    fs::write(dir.join("key.pem"), key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    fs::write(dir.join("chain.pem"), fs::read(&pki.chain_pem).unwrap()).unwrap();
}

/// `openssl s_client -verify_return_error` against an `openssl s_server` presenting
/// `dir`'s www certificate (with the chain), trusting only `ca_file`.
fn s_client_accepts(dir: &Path, ca_file: &Path) -> bool {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .arg("-cert_chain")
        .arg(dir.join("chain.pem"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let o = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "www.example.com"])
        .args(["-verify_hostname", "www.example.com", "-verify_return_error", "-CAfile"])
        .arg(ca_file)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verify return code: 0 (ok)") {
        ok = true;
    }
    let _ = server.kill();
    let _ = server.wait();
    ok
}

#[test]
fn dry_run_prints_actions_and_changes_nothing() {
    let s = Setup::new("dry");
    let before = snapshot(&[&s.nssdb, &s.profile, &s.home]);
    let o = s.run(&["install", "--system", "--dry-run"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("would add p11-kit module") && out.contains("would add NSS sql:"), "{out}");
    // p11-kit module, 2 databases x (3 CAs + module), Firefox policy, 3 autostart pieces,
    // the Web eID host for Chromium, Chrome, Edge and Firefox: no system bundle with the
    // default trust.
    assert_eq!(out.matches("would add").count(), 1 + 2 * 4 + 1 + 3 + 4, "{out}");
    assert!(
        out.contains("would add Web eID host for Firefox: ")
            && out.contains("/usr/lib/mozilla/native-messaging-hosts/eu.webeid.json"),
        "{out}"
    );
    assert!(!s.root.exists());
    assert_eq!(before, snapshot(&[&s.nssdb, &s.profile, &s.home]));
}

#[test]
fn per_user_install_uses_home_and_creates_chromium_db() {
    let s = Setup::new("user");
    let firefox = s.home.join(".mozilla/firefox/x.default");
    new_nssdb(&firefox);
    let run = |cmd: &str| {
        Command::new(BIN)
            .args([cmd, "--ca-bundle"])
            .arg(&s.pki.ca_bundle)
            .arg("--module")
            .arg(module())
            .arg("--agent")
            .arg("/opt/mohur/mohur")
            .env("HOME", &s.home)
            .env_remove("XDG_DATA_HOME")
            .output()
            .unwrap()
    };
    let o = run("install");
    assert!(o.status.success(), "{}", text(&o));
    let chromium = s.home.join(".pki/nssdb");
    for db in [&chromium, &firefox] {
        assert!(certutil_list(db).contains("mohur Test Root CA (mohur)"), "{}", db.display());
        assert!(modutil_list(db).contains("mohur"));
    }
    let module_file = s.home.join(".config/pkcs11/modules/mohur.module");
    assert!(fs::read_to_string(&module_file).unwrap().contains(&format!("module: {}", module().display())));
    assert!(s.home.join(".config/autostart/mohur.desktop").is_file());
    assert!(s.home.join(".local/share/mohur/install-manifest.json").is_file());

    let o = run("uninstall");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("left in place"), "{}", text(&o));
    for db in [&chromium, &firefox] {
        assert!(!certutil_list(db).contains("(mohur)") && !modutil_list(db).contains("mohur"));
    }
    assert!(!module_file.exists() && !s.home.join(".config/autostart/mohur.desktop").exists());
    assert!(!s.home.join(".local/share/mohur").exists());
}

#[test]
fn the_web_eid_host_is_registered_where_free_and_another_programs_only_when_asked() {
    let s = Setup::new("webeid");
    let chromium = s.home.join(".config/chromium/NativeMessagingHosts/eu.webeid.json");
    let firefox = s.home.join(".mozilla/native-messaging-hosts/eu.webeid.json");
    fs::create_dir_all(chromium.parent().unwrap()).unwrap();
    fs::create_dir_all(s.home.join(".mozilla")).unwrap();
    let theirs = "{\"name\":\"eu.webeid\",\"path\":\"/usr/bin/web-eid\",\"type\":\"stdio\",\
                  \"allowed_origins\":[\"chrome-extension://ncibgoaomkmdpilpocfeponihegamlic/\"]}\n";
    fs::write(&chromium, theirs).unwrap();

    // Default: Firefox (free) gets mohur, Chromium keeps web-eid-app, and install says so.
    let o = s.run(&["install", "--no-autostart"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert_eq!(fs::read_to_string(&chromium).unwrap(), theirs);
    let ours: serde_json::Value = serde_json::from_str(&fs::read_to_string(&firefox).unwrap()).unwrap();
    assert_eq!(ours["path"], s.agent().to_str().unwrap());
    assert_eq!(ours["allowed_extensions"][0], "{e68418bc-f2b0-4459-a9ea-3e72b6751b07}");
    assert!(out.contains("note: /usr/bin/web-eid answers Web eID (Chromium"), "{out}");
    let v = text(&s.run(&["verify", "--no-autostart"]));
    assert!(v.contains("another program: /usr/bin/web-eid") && v.contains("Firefox") && v.contains("mohur ("), "{v}");

    // --web-eid: mohur everywhere; uninstall puts web-eid-app back and takes mohur's away.
    let o = s.run(&["install", "--no-autostart", "--web-eid"]);
    assert!(o.status.success(), "{}", text(&o));
    let replaced: serde_json::Value = serde_json::from_str(&fs::read_to_string(&chromium).unwrap()).unwrap();
    assert_eq!(replaced["path"], s.agent().to_str().unwrap());
    let o = s.run(&["uninstall"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("the program it names answers eu.webeid again"), "{}", text(&o));
    assert_eq!(fs::read_to_string(&chromium).unwrap(), theirs);
    assert!(!firefox.exists());
}
