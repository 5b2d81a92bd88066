//! A USB token behind a vendor PKCS#11 module (SoftHSM2 standing in) through the
//! running agent: mohur's own 10-try rule for tokens that never lock, across SIGKILL,
//! restarts and two agents racing; unblocking with the SO PIN through the agent.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::softhsm::{self, MODULE, SO_PIN};
use common::*;
use serde_json::json;
use std::path::Path;

const ORIGIN: &str = "https://e-gov.az";
const LABEL: &str = "etoken";

/// An agent serving only the SoftHSM token, with its PIN counters in `state`.
fn agent(dir: &Path, conf: &Path, state: &Path) -> AgentProc {
    let config = dir.join("agent.toml");
    std::fs::write(&config, format!("state_dir = {:?}\n", state.to_str().unwrap())).unwrap();
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
        ORIGIN,
    ];
    AgentProc::spawn(dir, &args, &[("SOFTHSM2_CONF", conf.to_str().unwrap())])
}

fn setup(name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = temp_dir(name);
    let pki = dir.join("pki");
    mohur_certs::generate(&pki).unwrap();
    let conf = softhsm::make_token(&dir.join("softhsm"), LABEL, &pki.join("piv"), softhsm::Keys::Both);
    let state = dir.join("state");
    (dir, conf, state)
}

fn nonce() -> String {
    B64.encode([9u8; 32])
}

#[tokio::test]
async fn ten_wrong_pins_block_the_token_in_mohur_even_after_sigkill_and_restart() {
    let (dir, conf, state) = setup("p11-block");
    let a = agent(&dir, &conf, &state);
    let mut ws = a.connect(ORIGIN).await;
    let s = call(&mut ws, 1, "status", json!({})).await;
    let t = &s["result"]["tokens"][0];
    assert_eq!(t["type"], "pkcs11", "{s}");
    assert_eq!(t["module"], MODULE);
    assert_eq!(t["holder"], "MAMMADOV ELVIN");
    assert_eq!(t["pins"][0]["triesLeft"], 10, "{s}");
    for expected in (0..10u8).rev() {
        a.queue(&["pin 000000"]);
        let r = call(&mut ws, 10 + u64::from(expected), "authenticate", json!({"challengeNonce": nonce()})).await;
        if expected == 0 {
            assert!(matches!(code(&r), "PIN_INCORRECT" | "PIN_BLOCKED"), "{r}");
        } else {
            assert_eq!(code(&r), "PIN_INCORRECT", "{r}");
            assert_eq!(r["error"]["triesLeft"], expected, "{r}");
        }
    }
    let getpins = a.pinentry_log().matches("GETPIN").count();
    assert_eq!(getpins, 10);
    let r = call(&mut ws, 30, "authenticate", json!({"challengeNonce": nonce()})).await;
    assert_eq!(code(&r), "PIN_BLOCKED", "{r}");
    assert_eq!(a.pinentry_log().matches("GETPIN").count(), getpins, "asked for a blocked PIN");
    // It is mohur's count: SoftHSM itself still takes the right PIN.
    assert!(softhsm::softhsm_accepts(&conf, LABEL, softhsm::PIN));
    // SIGKILL and a new agent: still blocked.
    drop(ws);
    drop(a); // kills with SIGKILL
    let a = agent(&dir, &conf, &state);
    let mut ws = a.connect(ORIGIN).await;
    let s = call(&mut ws, 1, "status", json!({})).await;
    assert_eq!(s["result"]["tokens"][0]["pins"][0]["state"], "blocked", "{s}");
    a.queue(&["pin 123456"]);
    let r = call(&mut ws, 2, "authenticate", json!({"challengeNonce": nonce()})).await;
    assert_eq!(code(&r), "PIN_BLOCKED", "{r}");
    assert_eq!(a.pinentry_log().matches("GETPIN").count(), getpins, "asked for a blocked PIN after restart");
    // Unblock with the SO PIN through mohur, new PIN twice; then it signs again.
    std::fs::write(dir.join("queue"), "").unwrap();
    a.queue(&[&format!("pin {SO_PIN}"), "pin 24681357", "pin 24681357"]);
    let r = call(&mut ws, 3, "unblock-pin", json!({"pin": "auth"})).await;
    assert_eq!(r["result"]["done"], true, "{r}");
    a.queue(&["pin 24681357"]);
    let r = call(&mut ws, 4, "authenticate", json!({"challengeNonce": nonce()})).await;
    assert_eq!(r["result"]["algorithm"], "RS256", "{r}");
}

#[tokio::test]
async fn two_agents_racing_send_at_most_ten_wrong_pins_between_them() {
    let (dir, conf, state) = setup("p11-race");
    let (d1, d2) = (dir.join("a1"), dir.join("a2"));
    std::fs::create_dir_all(&d1).unwrap();
    std::fs::create_dir_all(&d2).unwrap();
    let a1 = agent(&d1, &conf, &state);
    let a2 = agent(&d2, &conf, &state);
    a1.queue(&["pin 000000"; 10]);
    a2.queue(&["pin 000000"; 10]);
    let run = |a: &AgentProc| {
        let port = a.port;
        async move {
            let mut ws = connect_with(port, &format!("127.0.0.1:{port}"), Some(ORIGIN)).await.unwrap();
            let mut codes = Vec::new();
            for i in 0..10 {
                let r = call(&mut ws, i, "authenticate", json!({"challengeNonce": nonce()})).await;
                codes.push(code(&r).to_owned());
            }
            codes
        }
    };
    let (c1, c2) = tokio::join!(run(&a1), run(&a2));
    let all: Vec<String> = c1.into_iter().chain(c2).collect();
    // PIN_INCORRECT only comes back from a C_Login that reached the token.
    let incorrect = all.iter().filter(|c| *c == "PIN_INCORRECT").count();
    assert!(incorrect <= 10, "{incorrect} wrong PINs reached the token: {all:?}");
    assert!(all.iter().all(|c| c == "PIN_INCORRECT" || c == "PIN_BLOCKED" || c == "BUSY"), "{all:?}");
    assert!(all.iter().filter(|c| *c == "PIN_BLOCKED").count() >= 10, "{all:?}");
}
