//! The attack of issue 14, as a page on an allowed origin would make it: it reads the
//! authentication certificate, computes the Web eID login value of *another* site
//! (`H(H("https://bank.example") ‖ H(nonce))` with that site's nonce) and asks `sign`
//! to sign it with the authentication certificate, under a harmless name. With a
//! simulated AzeDIT card (PIN1 key), a PIV card (9A) and a SoftHSM token whose
//! certificate has clientAuth, the agent must refuse before any dialog; the same hash
//! with the signing certificate still signs after the confirmation, OpenSSL verifies
//! it, and it is no login (a relying party refuses it). Every method is tried with
//! the authentication key.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::softhsm::{self, Keys, MODULE};
use common::*;
use mohur_agent::demo::relying_party::{verify_auth_token, TrustStore};
use mohur_agent::signing::webeid::{self, AuthToken};
use mohur_apdu::HashAlg;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::x509::X509;
use serde_json::{json, Value};
use std::path::Path;

const BANK: &str = "https://bank.example";

fn bank_nonce() -> String {
    B64.encode([0x5au8; 32])
}

/// The login value the bank's relying party would accept, for the key's algorithm.
fn login_value_for_bank(cert_alg: &str) -> (Vec<u8>, &'static str) {
    let (alg, name) = match cert_alg {
        "ES384" => (HashAlg::Sha384, "SHA-384"),
        "ES256" | "RS256" | "PS256" => (HashAlg::Sha256, "SHA-256"),
        other => panic!("unexpected algorithm {other}"),
    };
    (webeid::digest_to_sign(BANK, &bank_nonce(), alg).unwrap(), name)
}

/// OpenSSL's verdict on a raw ECDSA `r ‖ s` over `hash` by the key of `cert_der`.
fn openssl_verifies(cert_der: &[u8], hash: &[u8], raw: &[u8]) -> bool {
    let key = X509::from_der(cert_der).unwrap().public_key().unwrap().ec_key().unwrap();
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig =
        EcdsaSig::from_private_components(BigNum::from_slice(r).unwrap(), BigNum::from_slice(s).unwrap()).unwrap();
    sig.verify(hash, &key).unwrap()
}

/// The attack against `ws` (an allowed origin): refused with `KEY_NOT_ALLOWED`, no
/// PIN asked; then the same hash with the signing certificate signs and verifies, and
/// packed as a login it is refused by a relying party. The caller queues the signing PIN.
async fn attack(ws: &mut Ws, agent: &AgentProc, trust: Option<&TrustStore>) {
    let auth = call(ws, 1, "get-certificate", json!({"purpose": "auth"})).await;
    let auth_cert = auth["result"]["certificate"].as_str().unwrap_or_else(|| panic!("{auth}")).to_owned();
    let (hash, hash_name) = login_value_for_bank(auth["result"]["algorithm"].as_str().unwrap());
    let before = agent.pinentry_log();
    let r = call(
        ws,
        2,
        "sign",
        json!({"hash": B64.encode(&hash), "hashFunction": hash_name, "certificate": auth_cert, "name": "harmless.txt"}),
    )
    .await;
    assert_eq!(code(&r), "KEY_NOT_ALLOWED", "{r}");
    assert!(r.get("result").is_none(), "{r}");
    assert_eq!(agent.pinentry_log(), before, "a dialog was shown for the refused request");

    // The signing certificate signs the same bytes after the citizen confirms with the
    // PIN in a dialog that says what it is: a value the site computed.
    let sign = call(ws, 3, "get-certificate", json!({"purpose": "sign"})).await;
    let sign_cert = sign["result"]["certificate"].as_str().unwrap_or_else(|| panic!("{sign}")).to_owned();
    let sign_alg = sign["result"]["algorithm"].as_str().unwrap();
    let (hash, hash_name) = login_value_for_bank(sign_alg);
    let r = call(
        ws,
        4,
        "sign",
        json!({"hash": B64.encode(&hash), "hashFunction": hash_name, "certificate": sign_cert, "name": "harmless.txt"}),
    )
    .await;
    let sig = B64.decode(r["result"]["signature"].as_str().unwrap_or_else(|| panic!("{r}"))).unwrap();
    let sign_der = B64.decode(&sign_cert).unwrap();
    assert!(openssl_verifies(&sign_der, &hash, &sig), "OpenSSL does not verify the signature");
    let log = agent.pinentry_log();
    assert!(log.contains("SETTITLE mohur: sign") && log.contains("SETOK Sign"), "{log}");
    assert!(log.contains("computed itself") && log.contains("The site calls it: «harmless.txt»"), "{log}");
    // A signing-key signature is no login: a relying party of the bank refuses it.
    if let Some(trust) = trust {
        let token: AuthToken = serde_json::from_value(json!({
            "unverifiedCertificate": sign_cert, "algorithm": sign_alg, "signature": B64.encode(&sig),
            "format": "web-eid:1.0", "appVersion": "https://mohur.example/releases/0.1.0",
        }))
        .unwrap();
        assert!(verify_auth_token(&token, BANK, &bank_nonce(), trust).is_err());
    }
}

/// Every other method with the authentication key: `get-certificate` and
/// `authenticate` work (the login is bound to this connection's origin), a document
/// signature with it is refused before any dialog.
async fn every_method_with_the_auth_key(ws: &mut Ws, agent: &AgentProc, origin: &str, pin: &str, trust: &TrustStore) {
    let before = agent.pinentry_log();
    for (i, params) in [
        json!({"purpose": "auth", "name": "a.txt", "document": B64.encode(b"text")}),
        json!({"purpose": "auth", "name": "a.txt", "digest": B64.encode([1u8; 32]), "hashFunction": "SHA-256"}),
        json!({"purpose": "auth", "documents": [{"name": "a.txt", "document": B64.encode(b"text")}]}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = call(ws, 20 + i as u64, "sign-document", params).await;
        assert_eq!(code(&r), "KEY_NOT_ALLOWED", "{r}");
    }
    assert_eq!(agent.pinentry_log(), before, "a dialog was shown for a refused request");
    // authenticate: a login dialog (not a signing one) and a token for this origin only.
    agent.queue(&[&format!("pin {pin}")]);
    let nonce = B64.encode([3u8; 32]);
    let r = call(ws, 30, "authenticate", json!({"challengeNonce": nonce})).await;
    let token: AuthToken = serde_json::from_value(r["result"].clone()).unwrap_or_else(|e| panic!("{e}: {r}"));
    verify_auth_token(&token, origin, &nonce, trust).unwrap();
    assert!(verify_auth_token(&token, BANK, &nonce, trust).is_err());
    let log = agent.pinentry_log();
    let login = &log[before.len()..];
    assert!(login.contains("SETTITLE mohur: log in") && login.contains("SETOK Log in"), "{login}");
    assert!(!login.contains("SETOK Sign"), "{login}");
}

fn trust_in(pki: &Path) -> TrustStore {
    TrustStore::from_pem_files(&pki.join("root-ca.pem"), &pki.join("chain.pem")).unwrap()
}

async fn card_attack(card: &str, sign_pin: &str, auth_pin: &str) {
    let dir = temp_dir(&format!("attack-{card}"));
    let agent = AgentProc::demo(&dir, &["--card", card]);
    let origin = format!("http://localhost:{}", agent.portal_port.unwrap());
    let trust = trust_in(&pki(&dir));
    let mut ws = agent.connect(&origin).await;
    agent.queue(&[&format!("pin {sign_pin}")]);
    attack(&mut ws, &agent, Some(&trust)).await;
    every_method_with_the_auth_key(&mut ws, &agent, &origin, auth_pin, &trust).await;
}

#[tokio::test]
async fn azedit_pin1_key_never_signs_a_hash_from_a_page() {
    card_attack("azedit", "12345", "1234").await;
}

#[tokio::test]
async fn piv_9a_key_never_signs_a_hash_from_a_page() {
    card_attack("piv", "123456", "123456").await;
}

fn softhsm_agent(dir: &Path, keys: Keys, holder: &str) -> (AgentProc, TrustStore) {
    let pki = dir.join("pki");
    mohur_certs::generate(&pki).unwrap();
    let conf = softhsm::make_token(&dir.join("softhsm"), "etoken", &pki.join(holder), keys);
    let config = dir.join("agent.toml");
    std::fs::write(&config, format!("state_dir = {:?}\n", dir.join("state").to_str().unwrap())).unwrap();
    let args = [
        "agent",
        "--config",
        config.to_str().unwrap(),
        "--port",
        "0",
        "--no-pcsc",
        "--no-well-known-modules",
        "--pkcs11-module",
        MODULE,
        "--allow-origin",
        "https://e-gov.az",
    ];
    (AgentProc::spawn(dir, &args, &[("SOFTHSM2_CONF", conf.to_str().unwrap())]), trust_in(&pki))
}

#[tokio::test]
async fn softhsm_client_auth_key_never_signs_a_hash_from_a_page() {
    let dir = temp_dir("attack-softhsm");
    let (agent, trust) = softhsm_agent(&dir, Keys::Both, "azedit");
    let mut ws = agent.connect("https://e-gov.az").await;
    agent.queue(&[&format!("pin {}", softhsm::PIN)]);
    attack(&mut ws, &agent, Some(&trust)).await;
    every_method_with_the_auth_key(&mut ws, &agent, "https://e-gov.az", softhsm::PIN, &trust).await;
}

/// A token whose only certificate has clientAuth: that key logs in, so a page gets no
/// raw `sign` from it at all, under either purpose.
#[tokio::test]
async fn a_token_with_only_a_login_key_gives_pages_no_raw_signatures() {
    let dir = temp_dir("attack-softhsm-single");
    let (agent, _trust) = softhsm_agent(&dir, Keys::AuthOnly, "azedit");
    let mut ws = agent.connect("https://e-gov.az").await;
    let c = call(&mut ws, 1, "get-certificate", json!({"purpose": "auth"})).await;
    let cert = c["result"]["certificate"].as_str().unwrap_or_else(|| panic!("{c}")).to_owned();
    let (hash, hash_name) = login_value_for_bank(c["result"]["algorithm"].as_str().unwrap());
    let r: Value = call(
        &mut ws,
        2,
        "sign",
        json!({"hash": B64.encode(&hash), "hashFunction": hash_name, "certificate": cert, "name": "x"}),
    )
    .await;
    assert_eq!(code(&r), "KEY_NOT_ALLOWED", "{r}");
    assert_eq!(agent.pinentry_log(), "", "a dialog was shown");
}
