//! Helpers shared by the installer's end-to-end tests.
#![allow(dead_code)] // each test file uses its own subset

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::X509Builder;

pub const BIN: &str = env!("CARGO_BIN_EXE_mohur-install");

/// A fresh directory under the target dir, removed first if a failed run left it.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("installer-{name}"));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// mohur's module, built by cargo as a dev-dependency next to this test (`deps/`).
pub fn module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    [deps.join("libmohur_pkcs11.so"), deps.parent().unwrap().join("libmohur_pkcs11.so")]
        .into_iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("libmohur_pkcs11.so next to the test binary")
}

pub fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e} (scripts/deps.sh)"))
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn new_nssdb(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let o = tool("certutil", &["-N", "-d", &format!("sql:{}", dir.display()), "--empty-password"]);
    assert!(o.status.success(), "{}", text(&o));
}

pub fn certutil_list(db: &Path) -> String {
    text(&tool("certutil", &["-L", "-d", &format!("sql:{}", db.display())]))
}

pub fn modutil_list(db: &Path) -> String {
    text(&tool("modutil", &["-dbdir", &format!("sql:{}", db.display()), "-list"]))
}

/// A self-signed CA that has nothing to do with mohur, as PEM.
pub fn unrelated_ca(cn: &str) -> String {
    let key =
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    b.append_extension(KeyUsage::new().critical().key_cert_sign().build().unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    String::from_utf8(b.build().to_pem().unwrap()).unwrap()
}

/// Path → contents of every file and link under `dirs` (links as "-> target").
pub fn snapshot(dirs: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let meta = fs::symlink_metadata(p).unwrap();
        if meta.file_type().is_symlink() {
            out.insert(p.into(), format!("-> {}", fs::read_link(p).unwrap().display()).into_bytes());
        } else if meta.is_dir() {
            out.insert(p.into(), b"dir".to_vec());
            for e in fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), out);
            }
        } else {
            out.insert(p.into(), fs::read(p).unwrap());
        }
    }
    let mut out = BTreeMap::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

/// SHA-256 of a PEM or DER certificate file, `AB:CD:…`.
pub fn fingerprint(file: &Path) -> String {
    let bytes = fs::read(file).unwrap();
    let cert = openssl::x509::X509::from_pem(&bytes).or_else(|_| openssl::x509::X509::from_der(&bytes)).unwrap();
    cert.digest(MessageDigest::sha256()).unwrap().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Writes `dir/manifest.toml` pinning `files` of `dir` (roles in order root, policy,
/// issuing, then issuing) — a bundle as a test or an attacker would make it.
pub fn pin(dir: &Path, files: &[&str]) {
    let mut m = String::from("format = 1\n");
    for (i, f) in files.iter().enumerate() {
        let role = ["root", "policy", "issuing"].get(i).copied().unwrap_or("issuing");
        m.push_str(&format!(
            "\n[[ca]]\nfile = \"{f}\"\ncountry = \"test\"\nrole = \"{role}\"\nsubject = \"-\"\nsha256 = \"{}\"\npublished = \"a test\"\n",
            fingerprint(&dir.join(f))
        ));
    }
    fs::write(dir.join("manifest.toml"), m).unwrap();
}

/// A copy of the test PKI's bundle in `dir` (certificates and manifest).
pub fn copy_bundle(pki: &mohur_certs::TestPki, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for e in fs::read_dir(&pki.ca_bundle).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir.to_path_buf()
}
