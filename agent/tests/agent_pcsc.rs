//! The agent and cards behind the real pcscd: token events as a card comes and goes,
//! and `get-certificate` + `sign` (a raw hash, Web eID style) checked by OpenSSL.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use mohur_card_sim::Profile;
use mohur_tests::{card_state, pki, verify_chain, PluggedCard};
use serde_json::json;
use std::time::Duration;

const ORIGIN: &str = "https://e-gov.az";

/// Waits for the next event named `name`, skipping others.
async fn next_event(ws: &mut Ws, name: &str) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let m = next_json(ws).await;
            if m["event"] == name {
                return m;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event"))
}

#[tokio::test]
async fn token_events_follow_the_card_and_sign_verifies_with_openssl() {
    let dir = temp_dir("agent-pcsc");
    // Claim a reader and start the agent on it before the card goes in.
    let card_state = card_state(Profile::Piv, |_| {});
    let card = PluggedCard::new(card_state.clone());
    let reader = card.reader.name.clone();
    card.sim.pull();
    assert!(card.reader.wait_card(false, Duration::from_secs(20)));
    let agent = AgentProc::spawn(
        &dir,
        &["agent", "--port", "0", "--reader", &reader, "--no-well-known-modules", "--allow-origin", ORIGIN],
        &[],
    );
    let mut ws = agent.connect(ORIGIN).await;
    assert_eq!(next_json(&mut ws).await["event"], "hello");
    let s = call(&mut ws, 1, "status", json!({})).await;
    assert_eq!(s["result"]["tokens"], json!([]), "{s}");
    assert_eq!(code(&call(&mut ws, 2, "get-certificate", json!({"purpose": "auth"})).await), "NO_TOKEN");

    card.sim.insert();
    let ev = next_event(&mut ws, "token-inserted").await;
    assert_eq!(ev["token"]["profile"], "PIV", "{ev}");
    assert_eq!(ev["token"]["reader"], reader.as_str());
    assert_eq!(ev["token"]["holder"], "MAMMADOV ELVIN");

    // get-certificate, then `sign` a SHA-256 hash with the signing key (P-256).
    let c = call(&mut ws, 3, "get-certificate", json!({"purpose": "sign"})).await;
    let cert = B64.decode(c["result"]["certificate"].as_str().unwrap()).unwrap();
    verify_chain(&cert).expect("the card's certificate chains to the test root");
    assert_eq!(c["result"]["algorithm"], "ES256");
    let data = b"contract for the sign method";
    let hash = openssl::sha::sha256(data);
    agent.queue(&["pin 123456"]);
    let r = call(
        &mut ws,
        4,
        "sign",
        json!({"hash": B64.encode(hash), "hashFunction": "SHA-256", "certificate": B64.encode(&cert), "name": "contract.pdf"}),
    )
    .await;
    assert_eq!(r["result"]["signatureAlgorithm"]["cryptoAlgorithm"], "ECC", "{r}");
    let sig = B64.decode(r["result"]["signature"].as_str().unwrap()).unwrap();
    assert_eq!(sig.len(), 64, "raw r||s");
    mohur_tests::verify_signature(&cert, data, &sig).expect("OpenSSL verifies the signature");
    let log = agent.pinentry_log();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert!(log.contains("contract.pdf") && log.contains(&hex) && log.contains(ORIGIN), "{log}");
    // A certificate that is on no token: NO_TOKEN, no dialog.
    let other = std::fs::read(pki().dir.join("azedit/auth.der")).unwrap();
    let r = call(
        &mut ws,
        5,
        "sign",
        json!({"hash": B64.encode(hash), "hashFunction": "SHA-256", "certificate": B64.encode(other)}),
    )
    .await;
    assert_eq!(code(&r), "NO_TOKEN", "{r}");
    assert_eq!(agent.pinentry_log().matches("GETPIN").count(), 1);

    card.sim.pull();
    let ev = next_event(&mut ws, "token-removed").await;
    assert!(ev["tokenId"].as_str().unwrap().starts_with("card:PIV:"), "{ev}");
    let s = call(&mut ws, 6, "status", json!({})).await;
    assert_eq!(s["result"]["tokens"], json!([]), "{s}");
}
