//! Protocol v1 (`agent/PROTOCOL.md`): parsing requests, running methods, shaping
//! results and errors as JSON.

pub mod methods;
pub mod params;

use crate::agent::Agent;
use crate::pin_policy::Ctx;
use crate::{Cancel, Error, Result};
use methods::access::require_access;
use serde_json::{json, Map, Value};

pub use methods::status::{algorithm_name, status, token_json};
pub use params::{hash_name, hash_param};

/// Protocol version.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every method of protocol 1.
pub const METHODS: &[&str] = &[
    "version",
    "request-access",
    "status",
    "get-certificate",
    "authenticate",
    "sign",
    "sign-document",
    "change-pin",
    "unblock-pin",
    "cancel",
];

/// Most documents in one `sign-document`.
pub const MAX_DOCUMENTS: usize = 64;

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// The id as the page sent it.
    pub id: Value,
    /// The method name.
    pub method: String,
    /// Parameters (an object; `{}` if absent).
    pub params: Map<String, Value>,
}

/// Parses one text frame. On failure returns the id if one could be read, and the error.
pub fn parse(text: &str) -> core::result::Result<Request, (Value, Error)> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| (Value::Null, Error::BadRequest(format!("not JSON: {e}"))))?;
    let Value::Object(mut obj) = value else {
        return Err((Value::Null, Error::BadRequest("a request is a JSON object".into())));
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    let id_ok = match &id {
        Value::Number(_) => true,
        Value::String(s) => s.len() <= 64,
        _ => false,
    };
    if !id_ok {
        return Err((
            Value::Null,
            Error::BadRequest("`id` must be a number or a string of at most 64 characters".into()),
        ));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        _ => return Err((id, Error::BadRequest("`method` must be a string".into()))),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err((id, Error::BadRequest("`params` must be an object".into()))),
    };
    Ok(Request { id, method, params })
}

/// The JSON of a result.
pub fn result_message(id: &Value, result: Value) -> String {
    json!({"id": id, "result": result}).to_string()
}

/// The JSON of an error; never includes a secret (errors carry none).
pub fn error_message(id: &Value, e: &Error) -> String {
    let mut err = json!({"code": e.code(), "message": e.to_string()});
    if let Some(n) = e.tries_left() {
        err["triesLeft"] = json!(n);
    }
    json!({"id": id, "error": err}).to_string()
}

/// The connection a request came on.
pub struct Connection {
    /// The `Origin` the browser sent on the upgrade, normalised.
    pub origin: String,
}

/// Runs one request (blocking: dialogs and card I/O). `cancel` is handled by the
/// session itself.
pub fn handle(agent: &Agent, conn: &Connection, req: &Request, cancel: &Cancel) -> Result<Value> {
    let ctx = Ctx { prompter: agent.prompter.as_ref(), cancel, gate: &agent.gate };
    let p = &req.params;
    match req.method.as_str() {
        "version" => Ok(json!({
            "protocol": PROTOCOL_VERSION,
            "agent": env!("CARGO_PKG_VERSION"),
            "methods": METHODS,
        })),
        "request-access" => {
            require_access(agent, &ctx, &conn.origin)?;
            Ok(json!({"allowed": true}))
        }
        method if METHODS.contains(&method) => {
            require_access(agent, &ctx, &conn.origin)?;
            match method {
                "status" => Ok(status(agent)),
                "get-certificate" => methods::certificate::get_certificate(agent, p),
                "authenticate" => methods::authenticate::authenticate(agent, &ctx, &conn.origin, p),
                "sign" => methods::sign::sign_hash(agent, &ctx, &conn.origin, p),
                "sign-document" => methods::sign_document::sign_document(agent, &ctx, &conn.origin, p),
                "change-pin" | "unblock-pin" => methods::pin::manage_pin(agent, &ctx, &conn.origin, method, p),
                _ => Err(Error::UnknownMethod(method.to_owned())),
            }
        }
        other => Err(Error::UnknownMethod(other.chars().take(64).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_rejects_garbage() {
        let r = parse(r#"{"id": 3, "method": "status"}"#).unwrap();
        assert_eq!(r.id, json!(3));
        assert_eq!(r.method, "status");
        assert!(r.params.is_empty());
        for (bad, id) in [
            ("{", Value::Null),
            ("[]", Value::Null),
            (r#"{"id": {}, "method": "x"}"#, Value::Null),
            (r#"{"id": 1}"#, json!(1)),
            (r#"{"id": "a", "method": "status", "params": 5}"#, json!("a")),
        ] {
            let (got_id, e) = parse(bad).unwrap_err();
            assert_eq!(got_id, id, "{bad}");
            assert_eq!(e.code(), "BAD_REQUEST", "{bad}");
        }
        let long = format!(r#"{{"id": "{}", "method": "status"}}"#, "x".repeat(65));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn errors_carry_codes_and_tries() {
        let m: Value =
            serde_json::from_str(&error_message(&json!(1), &Error::PinIncorrect { tries_left: Some(2) })).unwrap();
        assert_eq!(m["error"]["code"], "PIN_INCORRECT");
        assert_eq!(m["error"]["triesLeft"], 2);
        assert_eq!(m["id"], 1);
    }

    #[test]
    fn names_cannot_forge_dialog_lines() {
        assert_eq!(params::clean_name("a\nSHA-256 00\r\tb"), "aSHA-256 00b");
        assert_eq!(params::clean_name("\n"), "(unnamed)");
    }
}
