//! `mohur-install install --from-card` with an empty bundle, a simulated AzeDIT card
//! behind the tests' pcscd, and its CAs served on loopback at the caIssuers URLs its
//! certificates name: exactly that card's ICA, PCA and root go in, with the narrow trust;
//! an "ICA" that did not sign the card's certificate, or a URL nobody answers, changes
//! nothing.
#![cfg(target_os = "linux")]
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use mohur_card_sim::{provision, Profile, ProvisionOptions};
use mohur_tests::PluggedCard;

mod common;
use common::*;

/// Files served over plain HTTP on 127.0.0.1, each request recorded.
struct Served {
    port: u16,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start() -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, a) = (files.clone(), asked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                a.lock().unwrap().push(path.clone());
                let mut out = stream;
                let body = f.lock().unwrap().get(&path).cloned();
                let _ = match body {
                    Some(b) => out
                        .write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes())
                        .and_then(|()| out.write_all(&b)),
                    None => out.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                };
            }
        });
        Served { port, files, asked }
    }

    fn serve(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }
}

struct Setup {
    dir: PathBuf,
    pki: mohur_certs::TestPki,
    empty: PathBuf,
    home: PathBuf,
    nssdb: PathBuf,
}

impl Setup {
    fn new(name: &str, base: &str) -> Setup {
        let dir = scratch(name);
        let opts = mohur_certs::Options { ca_issuers_base: Some(base.to_owned()), ..Default::default() };
        let pki = mohur_certs::generate_with(&dir.join("pki"), &opts).unwrap();
        let empty = dir.join("empty-bundle");
        fs::create_dir_all(&empty).unwrap();
        fs::write(empty.join("manifest.toml"), "format = 1\n").unwrap();
        let home = dir.join("home");
        let nssdb = dir.join("nssdb");
        fs::create_dir_all(&home).unwrap();
        new_nssdb(&nssdb);
        Setup { dir, pki, empty, home, nssdb }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--ca-bundle")
            .arg(&self.empty)
            .arg("--nssdb")
            .arg(&self.nssdb)
            .arg("--module")
            .arg(module())
            .arg("--no-autostart")
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME")
            .output()
            .unwrap()
    }

    fn card(&self) -> PluggedCard {
        let state = provision(&self.pki.dir.join("azedit"), &ProvisionOptions::new(Profile::Azedit)).unwrap();
        PluggedCard::new(state)
    }
}

fn der(pem: &Path) -> Vec<u8> {
    openssl::x509::X509::from_pem(&fs::read(pem).unwrap()).unwrap().to_der().unwrap()
}

#[test]
fn the_cards_own_chain_is_learned_checked_and_installed_with_narrow_trust() {
    let served = Served::start();
    let s = Setup::new("from-card", &format!("http://127.0.0.1:{}/pki", served.port));
    for (path, pem) in [
        ("/pki/ica.der", &s.pki.ica_cert_pem),
        ("/pki/pca.der", &s.pki.pca_cert_pem),
        ("/pki/root-ca.der", &s.pki.root_cert_pem),
    ] {
        served.serve(path, der(pem));
    }
    let card = s.card();
    let reader = card.reader.name.clone();
    // A dry run shows what would be trusted and changes nothing.
    let nss_before = certutil_list(&s.nssdb);
    let o = s.run(&["install", "--from-card", "--reader", &reader, "--dry-run", "--json"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(out.lines().find(|l| l.starts_with("{\"learned\"")).unwrap()).unwrap();
    let learned = json["learned"].as_array().unwrap();
    assert_eq!(learned.len(), 3, "{json}");
    for f in [&s.pki.root_cert_pem, &s.pki.pca_cert_pem, &s.pki.ica_cert_pem] {
        assert!(learned.iter().any(|c| c["sha256"] == fingerprint(f)), "{} not learned: {json}", f.display());
    }
    assert_eq!(certutil_list(&s.nssdb), nss_before);
    assert_eq!(*served.asked.lock().unwrap(), ["/pki/ica.der", "/pki/pca.der", "/pki/root-ca.der"]);

    // Installed once confirmed (here: the fingerprints the citizen saw).
    let mut args = vec!["install", "--from-card", "--reader", &reader];
    let fps: Vec<String> = learned.iter().map(|c| c["sha256"].as_str().unwrap().to_owned()).collect();
    for fp in &fps {
        args.extend(["--expect-sha256", fp]);
    }
    let o = s.run(&args);
    assert!(o.status.success(), "{}", text(&o));
    let list = certutil_list(&s.nssdb);
    let line = |nick: &str| {
        list.lines().find(|l| l.starts_with(nick)).unwrap_or_else(|| panic!("{nick}:\n{list}")).trim_end().to_owned()
    };
    assert!(line("mohur Test Root CA (mohur, from your card)").ends_with("T,C,"), "{list}");
    assert!(line("mohur Test Policy CA (mohur, from your card)").ends_with(",,"), "{list}");
    assert!(line("mohur Test E-Government CA (mohur, from your card)").ends_with(",,"), "{list}");
    assert_eq!(list.matches("(mohur").count(), 3, "{list}");
    // The card's certificate now chains for client authentication in NSS.
    let db = format!("sql:{}", s.nssdb.display());
    let auth = s.pki.dir.join("azedit/auth.pem");
    let o = tool("certutil", &["-A", "-d", &db, "-n", "card", "-t", ",,", "-a", "-i", auth.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let v = text(&tool("certutil", &["-V", "-d", &db, "-n", "card", "-u", "C"]));
    assert!(v.contains("certificate is valid"), "{v}");
    // verify knows them as learned; uninstall takes them away.
    let o = s.run(&["verify"]);
    assert!(text(&o).contains("(mohur, from your card)") && !text(&o).contains('✗'), "{}", text(&o));
    let o = s.run(&["uninstall"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!certutil_list(&s.nssdb).contains("from your card"));
    // A changed chain is not installed on an old confirmation.
    served.serve("/pki/root-ca.der", der(&s.pki.ica_cert_pem));
    let o = s.run(&args);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!certutil_list(&s.nssdb).contains("(mohur"));
    drop(card);
}

#[test]
fn a_forged_ica_or_an_unreachable_url_changes_nothing() {
    let served = Served::start();
    let s = Setup::new("from-card-forged", &format!("http://127.0.0.1:{}/pki", served.port));
    // An "ICA" with the real one's name but another key: it did not sign the card's certificate.
    let other = mohur_certs::generate(&s.dir.join("other-pki")).unwrap();
    served.serve("/pki/ica.der", der(&other.ica_cert_pem));
    served.serve("/pki/pca.der", der(&other.pca_cert_pem));
    served.serve("/pki/root-ca.der", der(&other.root_cert_pem));
    let card = s.card();
    let reader = card.reader.name.clone();
    let nss_before = certutil_list(&s.nssdb);
    let o = s.run(&["install", "--from-card", "--reader", &reader, "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("did not sign") && text(&o).contains("refused"), "{}", text(&o));
    assert_eq!(certutil_list(&s.nssdb), nss_before);
    assert!(!s.home.join(".local/share/mohur/install-manifest.json").exists());
    // Nobody answers at the URL.
    let dead = Setup::new("from-card-dead", "http://127.0.0.1:9/pki");
    drop(card);
    let card = dead.card();
    let o = dead.run(&["install", "--from-card", "--reader", &card.reader.name, "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot connect"), "{}", text(&o));
    assert_eq!(certutil_list(&dead.nssdb), certutil_list(&s.nssdb));
    // A certificate file (a USB token's, exported) is learned the same way, offline too:
    // with no URL that answers, nothing happens.
    let o = dead.run(&["install", "--from-cert", dead.pki.dir.join("piv/sign.pem").to_str().unwrap(), "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}
