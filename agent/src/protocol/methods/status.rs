//! `status`: the tokens, their keys and PIN counters (read without spending a try).

use crate::agent::Agent;
use crate::tokens::TokenInfo;
use mohur_apdu::{KeyAlgorithm, KeyPurpose, PinKind, PinState};
use serde_json::{json, Value};

/// The `status` result.
pub fn status(agent: &Agent) -> Value {
    let tokens: Vec<Value> = agent.manager.list().iter().map(|s| token_json(&s.id, &s.info())).collect();
    json!({"tokens": tokens})
}

fn purpose_name(p: KeyPurpose) -> &'static str {
    match p {
        KeyPurpose::Signing => "sign",
        _ => "auth",
    }
}

fn pin_name(k: PinKind) -> &'static str {
    match k {
        PinKind::Signing => "sign",
        PinKind::Puk => "puk",
        _ => "auth",
    }
}

/// `RSA-2048`, `P-256`, `P-384`.
pub fn algorithm_name(a: KeyAlgorithm) -> String {
    match a {
        KeyAlgorithm::Rsa { bits } => format!("RSA-{bits}"),
        KeyAlgorithm::EcP256 => "P-256".into(),
        KeyAlgorithm::EcP384 => "P-384".into(),
        _ => "unknown".into(),
    }
}

/// A token as `status` and `token-inserted` show it.
pub fn token_json(id: &str, info: &TokenInfo) -> Value {
    let mut t = json!({
        "id": id,
        "serial": info.serial,
        "holder": info.holder,
        "keys": info.keys.iter().map(|k| json!({
            "purpose": purpose_name(k.purpose),
            "algorithm": algorithm_name(k.algorithm),
            "pin": pin_name(k.pin),
        })).collect::<Vec<_>>(),
        "pins": info.pins.iter().map(|s| json!({
            "kind": pin_name(s.kind),
            "state": match s.state {
                PinState::Verified => "verified",
                PinState::Blocked => "blocked",
                PinState::NotActivated => "not-activated",
                _ => "ready",
            },
            "triesLeft": s.tries_left,
            "maxTries": s.max_tries,
        })).collect::<Vec<_>>(),
    });
    let kind = serde_json::to_value(&info.kind).unwrap_or(Value::Null);
    if let (Value::Object(t), Value::Object(k)) = (&mut t, kind) {
        t.extend(k);
    }
    t
}
