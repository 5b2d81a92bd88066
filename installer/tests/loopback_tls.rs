//! End-to-end: `mohur-install install --loopback-tls` in a throwaway home, checked with
//! OpenSSL and NSS: the CA is trusted for TLS servers in every NSS database, its key is
//! in the OS keyring and in no file, certificates it signs for 127.0.0.1 verify while
//! one it signs for any other name is refused (name constraints), a lost key leads to a
//! new CA that replaces the old one, and uninstall takes all of it away.
#![cfg(target_os = "linux")]
#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use mohur_platform::loopback::{self, LoopbackCa};
use mohur_platform::secrets::{OsKeyring, SecretStore};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509};
use x509_cert::der::Decode as _;

mod common;
use common::*;

/// A home with a Firefox profile, mohur's CA bundle, and a keyring service of its own.
struct Home {
    dir: PathBuf,
    home: PathBuf,
    pki: mohur_certs::TestPki,
    firefox: PathBuf,
    service: String,
}

impl Home {
    fn new(name: &str) -> Home {
        let dir = scratch(name);
        let pki = mohur_certs::generate(&dir.join("pki")).unwrap();
        let home = dir.join("home");
        let firefox = home.join(".mozilla/firefox/k3y.default-release");
        new_nssdb(&firefox);
        let service = format!("mohur-test-{name}-{}", std::process::id());
        Home { dir, home, pki, firefox, service }
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(BIN)
            .args(args)
            // The developer's own desktop keyring stays out of it; a test that wants a
            // Secret Service brings its own.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .envs(env.iter().copied())
            .arg("--ca-bundle")
            .arg(&self.pki.ca_bundle)
            .arg("--module")
            .arg(module())
            .arg("--no-autostart")
            .env("HOME", &self.home)
            .env("MOHUR_KEYRING_SERVICE", &self.service)
            .env_remove("XDG_DATA_HOME")
            .output()
            .unwrap()
    }

    fn keyring(&self) -> OsKeyring {
        OsKeyring::kernel_only(&self.service)
    }

    fn chromium(&self) -> PathBuf {
        self.home.join(".pki/nssdb")
    }

    fn cert_file(&self) -> PathBuf {
        self.home.join(".local/share/mohur/loopback-ca.pem")
    }

    fn ca(&self) -> LoopbackCa {
        LoopbackCa::load(&self.keyring(), &self.cert_file()).unwrap()
    }

    /// The NSS nickname and trust of the loopback CA in `db`, if there is one.
    fn nss_loopback(db: &Path) -> Vec<String> {
        certutil_list(db).lines().filter(|l| l.starts_with("mohur loopback CA")).map(str::to_owned).collect()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.keyring().delete(loopback::KEY_NAME);
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A server certificate for `dns` and 127.0.0.1, signed with the loopback CA's key:
/// what an attacker holding that key could make.
fn signed_by_loopback_key(ca_pem: &[u8], ca_key_pkcs8: &[u8], dns: &str) -> X509 {
    let ca = X509::from_pem(ca_pem).unwrap();
    let ca_key = PKey::private_key_from_pkcs8(ca_key_pkcs8).unwrap();
    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, dns).unwrap();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(99).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name.build()).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(5).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().critical().build().unwrap()).unwrap();
    b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap()).unwrap();
    let san = SubjectAlternativeName::new().dns(dns).ip("127.0.0.1").build(&b.x509v3_context(Some(&ca), None)).unwrap();
    b.append_extension(san).unwrap();
    b.sign(&ca_key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// `certutil -V -u V` (SSL server) of `cert` in a copy of `db`, where it is imported.
fn nss_verdict(db: &Path, cert: &X509, scratch_dir: &Path) -> String {
    let copy = scratch_dir.join("nss-copy");
    let _ = fs::remove_dir_all(&copy);
    fs::create_dir_all(&copy).unwrap();
    for f in ["cert9.db", "key4.db", "pkcs11.txt"] {
        fs::copy(db.join(f), copy.join(f)).unwrap();
    }
    let file = scratch_dir.join("server.pem");
    fs::write(&file, cert.to_pem().unwrap()).unwrap();
    let sql = format!("sql:{}", copy.display());
    let o = tool("certutil", &["-A", "-d", &sql, "-n", "server", "-t", ",,", "-a", "-i", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    text(&tool("certutil", &["-V", "-d", &sql, "-n", "server", "-u", "V"]))
}

fn openssl_verify(ca_file: &Path, cert: &[u8], ip: &str, dir: &Path) -> String {
    let file = dir.join("leaf.pem");
    fs::write(&file, cert).unwrap();
    let o = tool(
        "openssl",
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-verify_ip",
            ip,
            "-CAfile",
            ca_file.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    text(&o)
}

#[test]
fn loopback_ca_trusted_constrained_replaced_and_removed() {
    let h = Home::new("loopback");
    // Something the user trusted before, which nothing here may touch.
    new_nssdb(&h.chromium());
    let other = h.dir.join("other.pem");
    fs::write(&other, unrelated_ca("Their Own Root")).unwrap();
    let chromium_sql = format!("sql:{}", h.chromium().display());
    let o = tool(
        "certutil",
        &["-A", "-d", &chromium_sql, "-n", "Their Own Root", "-t", "C,,", "-a", "-i"]
            .into_iter()
            .chain([other.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = h.run(&["install", "--loopback-tls"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("valid for 127.0.0.1, ::1 and localhost only"), "{out}");
    let ca = h.ca();
    let tag = loopback::tag_of(ca.cert_der());
    for db in [&h.chromium(), &h.firefox] {
        assert_eq!(Home::nss_loopback(db).len(), 1, "{}", certutil_list(db));
        let line = &Home::nss_loopback(db)[0];
        assert!(line.contains(&tag) && line.trim_end().ends_with("C,,"), "trusted for TLS servers only: {line}");
    }
    // The certificate file is public; the key is in the keyring and in no file.
    let pem = fs::read_to_string(h.cert_file()).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----") && !pem.contains("PRIVATE"), "{pem}");
    let key = h.keyring().get(loopback::KEY_NAME).unwrap().expect("the key is in the keyring");
    let scalar = PKey::private_key_from_pkcs8(&key).unwrap().ec_key().unwrap().private_key().to_vec();
    for f in files(&h.home) {
        let bytes = fs::read(&f).unwrap();
        assert!(
            !bytes.windows(scalar.len()).any(|w| w == scalar.as_slice())
                && !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "the loopback CA's key is in {}",
            f.display()
        );
    }

    // The agent's certificate verifies for 127.0.0.1 (OpenSSL and NSS)...
    let server = ca.issue_server_cert(SystemTime::now(), loopback::SERVER_CERT_LIFETIME).unwrap();
    let server_pem = mohur_platform::pem::pem_of(&server.cert_der);
    let v = openssl_verify(&h.cert_file(), server_pem.as_bytes(), "127.0.0.1", &h.dir);
    assert!(v.contains(": OK"), "{v}");
    let v = openssl_verify(&h.cert_file(), server_pem.as_bytes(), "10.0.0.1", &h.dir);
    assert!(v.contains("IP address mismatch"), "{v}");
    let v = nss_verdict(&h.chromium(), &X509::from_pem(server_pem.as_bytes()).unwrap(), &h.dir);
    assert!(v.contains("certificate is valid"), "{v}");
    // ...and one the same key signs for another site is refused by both.
    let rogue = signed_by_loopback_key(pem.as_bytes(), &key, "e-gov.az");
    let v = openssl_verify(&h.cert_file(), &rogue.to_pem().unwrap(), "127.0.0.1", &h.dir);
    assert!(v.contains("permitted subtree violation"), "{v}");
    let v = nss_verdict(&h.chromium(), &rogue, &h.dir);
    assert!(v.contains("not permitted to issue a certificate with this name"), "{v}");

    let o = h.run(&["verify", "--loopback-tls"]);
    assert!(o.status.success() && text(&o).contains("all ✓"), "{}", text(&o));
    let before = snapshot(&[&h.home]);
    let o = h.run(&["install", "--loopback-tls"]);
    assert!(o.status.success() && text(&o).contains("\n0 change(s)"), "{}", text(&o));
    assert_eq!(before, snapshot(&[&h.home]), "a second install changed files");

    // The key is lost (a Linux kernel keyring at reboot): verify says so, and install
    // makes a new CA and takes the old one out of the browsers.
    h.keyring().delete(loopback::KEY_NAME).unwrap();
    let o = h.run(&["verify", "--loopback-tls"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&format!("✗ loopback CA {tag}")), "{}", text(&o));
    let o = h.run(&["install", "--loopback-tls"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("not in the OS keyring") && out.contains("making a new one"), "{out}");
    assert!(
        out.contains(&format!("- NSS sql:{}: certificate \"mohur loopback CA {tag}\"", h.chromium().display())),
        "{out}"
    );
    let new_tag = loopback::tag_of(h.ca().cert_der());
    assert_ne!(new_tag, tag);
    for db in [&h.chromium(), &h.firefox] {
        let lines = Home::nss_loopback(db);
        assert!(lines.len() == 1 && lines[0].contains(&new_tag), "{lines:?}");
    }
    let manifest = fs::read_to_string(h.home.join(".local/share/mohur/install-manifest.json")).unwrap();
    assert_eq!(manifest.matches("\"loopback_ca\"").count(), 1, "{manifest}");

    // Uninstall of the loopback TLS alone: the national CAs stay.
    let o = h.run(&["uninstall", "--loopback-tls"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(h.keyring().get(loopback::KEY_NAME).unwrap().is_none(), "the key is still in the keyring");
    assert!(!h.cert_file().exists());
    for db in [&h.chromium(), &h.firefox] {
        assert!(Home::nss_loopback(db).is_empty() && certutil_list(db).contains("mohur Test Root CA (mohur)"));
    }
    let o = h.run(&["verify"]);
    assert!(o.status.success(), "{}", text(&o));

    let o = h.run(&["uninstall"]);
    assert!(o.status.success(), "{}", text(&o));
    let list = certutil_list(&h.chromium());
    assert!(!list.contains("mohur") && list.contains("Their Own Root"), "{list}");
}

#[test]
fn loopback_tls_is_per_user_only() {
    let h = Home::new("loopback-system");
    let o = h.run(&["install", "--system", "--dry-run", "--loopback-tls"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--loopback-tls is per user"), "{}", text(&o));
}

#[test]
fn dry_run_makes_no_key() {
    let h = Home::new("loopback-dry");
    let o = h.run(&["install", "--loopback-tls", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("would make a new one") && text(&o).contains("would add loopback CA"), "{}", text(&o));
    assert!(h.keyring().get(loopback::KEY_NAME).unwrap().is_none());
    assert!(!h.cert_file().exists() && !h.chromium().exists());
}

/// A session bus of its own with GNOME Keyring's Secret Service on it, unlocked, its
/// keyrings under `dir`: a desktop's keyring, as far as mohur can tell.
struct SecretService {
    address: String,
    bus_pid: u32,
    daemon: std::process::Child,
}

impl SecretService {
    fn start(dir: &Path) -> SecretService {
        let (home, run) = (dir.join("ss-home"), dir.join("ss-run"));
        for d in [&home, &run] {
            fs::create_dir_all(d).unwrap();
        }
        fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let o = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .unwrap_or_else(|e| panic!("dbus-daemon: {e} (scripts/deps.sh installs dbus-daemon)"));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let mut lines = out.lines();
        let address = lines.next().expect("bus address").to_owned();
        let bus_pid = lines.next().and_then(|p| p.trim().parse().ok()).expect("bus pid");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("XDG_DATA_HOME")
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("gnome-keyring-daemon: {e} (scripts/deps.sh installs gnome-keyring)"));
        // The login keyring's password, then end of input: it unlocks (creates) it.
        std::io::Write::write_all(&mut daemon.stdin.take().unwrap(), b"login password").unwrap();
        let ss = SecretService { address, bus_pid, daemon };
        // Wait until ours owns the name. Not by calling the service: that would make the
        // bus start another, locked, gnome-keyring (D-Bus activation).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !ss.name_has_owner() {
            assert!(std::time::Instant::now() < deadline, "the Secret Service did not come up");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ss
    }

    fn name_has_owner(&self) -> bool {
        let o = Command::new("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(["org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        text(&o).contains("boolean true")
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("DBUS_SESSION_BUS_ADDRESS", self.address.as_str())]
    }

    /// `SearchItems` by the `service` attribute (what keyring's entries carry).
    fn search(&self, service: &str) -> Output {
        Command::new("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.secrets", "/org/freedesktop/secrets"])
            .arg("org.freedesktop.Secret.Service.SearchItems")
            .arg(format!("dict:string:string:service,{service}"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap()
    }

    /// How many items the Secret Service holds for `service`.
    fn items(&self, service: &str) -> usize {
        let o = self.search(service);
        assert!(o.status.success(), "{}", text(&o));
        text(&o).matches("object path \"/org/freedesktop/secrets/collection/").count()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = Command::new("kill").arg(self.bus_pid.to_string()).status();
    }
}

#[test]
fn the_key_outlives_the_kernel_keyring_in_the_secret_service() {
    let h = Home::new("loopback-ss");
    let ss = SecretService::start(&h.dir);
    let o = h.run_with(&["install", "--loopback-tls"], &ss.env());
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("kept in the Secret Service and the kernel keyring (kept across restarts)"), "{out}");
    assert_eq!(ss.items(&h.service), 1, "the key is not in the Secret Service");

    // A reboot: the kernel keyring is empty, the Secret Service still has the key.
    let kernel = OsKeyring::kernel_only(&h.service);
    kernel.delete(loopback::KEY_NAME).unwrap();
    assert!(matches!(LoopbackCa::load(&kernel, &h.cert_file()), Err(loopback::LoopbackError::KeyMissing)));
    let o = h.run_with(&["verify", "--loopback-tls"], &ss.env());
    assert!(o.status.success() && text(&o).contains("all ✓"), "{}", text(&o));
    // ...and the kernel keyring has it again, for processes outside the session.
    let ca = LoopbackCa::load(&kernel, &h.cert_file()).expect("cached in the kernel keyring again");
    assert!(loopback::is_loopback_ca(&x509_cert::Certificate::from_der(ca.cert_der()).unwrap()));

    // Without the Secret Service (no session bus) only the kernel keyring is used, and
    // said so.
    let o = h.run_with(&["install", "--loopback-tls", "--dry-run"], &[]);
    assert!(text(&o).contains("until the computer restarts"), "{}", text(&o));

    let o = h.run_with(&["uninstall", "--loopback-tls"], &ss.env());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(ss.items(&h.service), 0, "the key is still in the Secret Service");
    assert!(kernel.get(loopback::KEY_NAME).unwrap().is_none());
}
