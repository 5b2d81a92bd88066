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
            .arg(&self.pki.dir)
            .arg("--nssdb")
            .arg(&self.nssdb)
            .arg("--firefox-profiles")
            .arg(&self.profiles)
            .arg("--module")
            .arg(module())
            .arg("--agent")
            .arg("/usr/bin/mohur")
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME");
        cmd.output().unwrap()
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

    // Install: prints each CA's subject and SHA-256 fingerprint.
    let o = s.run(&["install", "--system"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let ica = X509::from_pem(&fs::read(&s.pki.ica_cert_pem).unwrap()).unwrap();
    let fp: Vec<String> = ica.digest(MessageDigest::sha256()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
    assert!(out.contains(&fp.join(":")), "{out}");
    assert!(out.contains("CN=mohur Test E-Government CA"), "{out}");

    // openssl builds holder → ICA → PCA → root from the system bundle alone.
    let holder = s.pki.holder_dirs[0].join("auth.pem");
    let o = tool("openssl", &["verify", "-CAfile", s.bundle().to_str().unwrap(), holder.to_str().unwrap()]);
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
        .contains("Exec=\"/usr/bin/mohur\" agent"));
    assert_eq!(
        fs::read_link(s.root.join("etc/systemd/user/default.target.wants/mohur.service")).unwrap(),
        Path::new("../mohur.service")
    );

    let o = s.run(&["verify", "--system"]);
    assert!(o.status.success() && !text(&o).contains('✗') && text(&o).contains("all ✓"), "{}", text(&o));

    // Twice: nothing changes.
    let before = snapshot(&[&s.root, &s.nssdb, &s.profile]);
    let o = s.run(&["install", "--system"]);
    assert!(o.status.success() && text(&o).contains("\n0 change(s)"), "{}", text(&o));
    assert_eq!(before, snapshot(&[&s.root, &s.nssdb, &s.profile]), "second install changed files");

    // Uninstall: ours gone, theirs untouched.
    let o = s.run(&["uninstall", "--system"]);
    assert!(o.status.success(), "{}", text(&o));
    let bundle = fs::read_to_string(s.bundle()).unwrap();
    assert!(bundle.contains(other_pem.lines().nth(1).unwrap()), "unrelated CA left the bundle");
    let root_pem = fs::read_to_string(&s.pki.root_cert_pem).unwrap();
    assert!(!bundle.contains(root_pem.lines().nth(1).unwrap()), "mohur root still in the bundle");
    let o = tool("openssl", &["verify", "-CAfile", s.bundle().to_str().unwrap(), holder.to_str().unwrap()]);
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

    let o = s.run(&["verify", "--system"]);
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
    let ee = s.dir.join("ee");
    fs::create_dir_all(&ee).unwrap();
    fs::copy(&s.pki.bundle_pem, ee.join("bundle.pem")).unwrap();
    fs::copy(s.pki.holder_dirs[0].join("auth.pem"), ee.join("auth.pem")).unwrap();
    let o = Command::new(BIN).args(["verify", "--ca-bundle"]).arg(&ee).output().unwrap();
    assert!(
        !o.status.success() && text(&o).contains("not a CA certificate: basicConstraints cA is false"),
        "{}",
        text(&o)
    );

    let o = Command::new(BIN).args(["verify", "--ca-bundle"]).arg(&s.pki.chain_pem).output().unwrap();
    assert!(
        !o.status.success()
            && text(&o).contains("its issuer CN=mohur Test Root CA")
            && text(&o).contains("is not in the bundle"),
        "{}",
        text(&o)
    );
}

#[test]
fn dry_run_prints_actions_and_changes_nothing() {
    let s = Setup::new("dry");
    let before = snapshot(&[&s.nssdb, &s.profile, &s.home]);
    let o = s.run(&["install", "--system", "--dry-run"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("would add p11-kit module") && out.contains("would add NSS sql:"), "{out}");
    assert_eq!(out.matches("would add").count(), 3 + 1 + 1 + 2 * 4 + 1 + 3, "{out}");
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
            .arg(&s.pki.dir)
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
