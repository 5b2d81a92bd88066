//! Protocol v1 (`agent/PROTOCOL.md`): parsing requests, running methods, shaping
//! results and errors as JSON.

use crate::agent::Agent;
use crate::manager::TokenSlot;
use crate::ops::{self, Ctx};
use crate::origins::Decision;
use crate::tokens::TokenInfo;
use crate::{cms, key_policy, texts, webeid, Cancel, Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_apdu::{HashAlg, KeyAlgorithm, KeyPurpose, PinKind, PinState};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

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
                "get-certificate" => get_certificate(agent, p),
                "authenticate" => authenticate(agent, &ctx, &conn.origin, p),
                "sign" => sign_hash(agent, &ctx, &conn.origin, p),
                "sign-document" => sign_document(agent, &ctx, &conn.origin, p),
                "change-pin" | "unblock-pin" => manage_pin(agent, &ctx, &conn.origin, method, p),
                _ => Err(Error::UnknownMethod(method.to_owned())),
            }
        }
        other => Err(Error::UnknownMethod(other.chars().take(64).collect())),
    }
}

/// Allowed, or asks the citizen (once per run for a "no"), or `ORIGIN_NOT_ALLOWED`.
fn require_access(agent: &Agent, ctx: &Ctx, origin: &str) -> Result<()> {
    match agent.origins.decision(origin) {
        Decision::Allowed => Ok(()),
        Decision::Denied => Err(Error::OriginNotAllowed),
        Decision::Unknown if !agent.config.ask_unknown_origins => Err(Error::OriginNotAllowed),
        Decision::Unknown => {
            // One consent dialog per site at a time, and not too often: subdomains of one
            // registrable domain count together (crate::site).
            let ticket = agent.consent.begin(origin)?;
            let yes = ops::ask_origin_consent(ctx, origin)?;
            ticket.answered(yes);
            agent.origins.record(origin, yes)?;
            tracing::info!(%origin, allowed = yes, "origin consent");
            if yes {
                Ok(())
            } else {
                Err(Error::OriginNotAllowed)
            }
        }
    }
}

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

fn str_param<'a>(p: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::BadRequest(format!("`{name}` must be a string"))),
    }
}

fn required<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    str_param(p, name)?.ok_or_else(|| Error::BadRequest(format!("`{name}` is missing")))
}

fn b64_param(p: &Map<String, Value>, name: &str) -> Result<Vec<u8>> {
    B64.decode(required(p, name)?).map_err(|_| Error::BadRequest(format!("`{name}` is not base64")))
}

fn purpose_param(p: &Map<String, Value>, default: KeyPurpose) -> Result<KeyPurpose> {
    match str_param(p, "purpose")? {
        None => Ok(default),
        Some("auth") => Ok(KeyPurpose::Authentication),
        Some("sign") => Ok(KeyPurpose::Signing),
        Some(other) => {
            Err(Error::BadRequest(format!("unknown purpose {:?}", other.chars().take(16).collect::<String>())))
        }
    }
}

/// `SHA-256` etc. (the Web eID names).
pub fn hash_param(name: &str) -> Result<HashAlg> {
    match name {
        "SHA-256" => Ok(HashAlg::Sha256),
        "SHA-384" => Ok(HashAlg::Sha384),
        "SHA-512" => Ok(HashAlg::Sha512),
        "SHA-224" => Ok(HashAlg::Sha224),
        _ => Err(Error::BadRequest("`hashFunction` must be SHA-224, SHA-256, SHA-384 or SHA-512".into())),
    }
}

/// The Web eID name of a hash.
pub fn hash_name(alg: HashAlg) -> &'static str {
    match alg {
        HashAlg::Sha1 => "SHA-1",
        HashAlg::Sha224 => "SHA-224",
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        _ => "SHA-512",
    }
}

fn blocking_find(agent: &Agent, p: &Map<String, Value>, purpose: KeyPurpose) -> Result<std::sync::Arc<TokenSlot>> {
    agent.manager.find(str_param(p, "tokenId")?, Some(purpose))
}

fn get_certificate(agent: &Agent, p: &Map<String, Value>) -> Result<Value> {
    let purpose = purpose_param(p, KeyPurpose::Authentication)?;
    if p.get("purpose").is_none() {
        return Err(Error::BadRequest("`purpose` is missing (auth or sign)".into()));
    }
    let slot = blocking_find(agent, p, purpose)?;
    let cert = slot.with(|t| t.certificate(purpose))?;
    let alg = slot.with(|t| t.key_algorithm(purpose))?;
    Ok(json!({"tokenId": slot.id, "certificate": B64.encode(&cert), "algorithm": webeid::algorithm_for(alg).0}))
}

fn authenticate(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
    let nonce = required(p, "challengeNonce")?;
    webeid::validate_nonce(nonce)?;
    let slot = blocking_find(agent, p, KeyPurpose::Authentication)?;
    let cert = slot.with(|t| t.certificate(KeyPurpose::Authentication))?;
    let key_alg = slot.with(|t| t.key_algorithm(KeyPurpose::Authentication))?;
    let (_, hash) = webeid::algorithm_for(key_alg);
    let digest = webeid::digest_to_sign(origin, nonce, hash)?;
    let sig = ops::sign_with_pin(ctx, &slot, KeyPurpose::Authentication, &texts::login(origin), &[(hash, digest)])?
        .pop()
        .ok_or_else(|| Error::Internal("no signature".into()))?;
    let app = format!("https://mohur.example/releases/{}", env!("CARGO_PKG_VERSION"));
    serde_json::to_value(webeid::build_token(&cert, key_alg, &sig, &app)).map_err(|e| Error::Internal(e.to_string()))
}

/// Finds the token and key whose certificate is `cert`.
fn slot_for_certificate(agent: &Agent, cert: &[u8]) -> Result<(std::sync::Arc<TokenSlot>, KeyPurpose)> {
    for slot in agent.manager.list() {
        for purpose in [KeyPurpose::Signing, KeyPurpose::Authentication] {
            if slot.has(purpose) && slot.with(|t| t.certificate(purpose)).is_ok_and(|c| c == cert) {
                return Ok((slot, purpose));
            }
        }
    }
    Err(Error::NoToken)
}

fn signature_algorithm(key: KeyAlgorithm, hash: HashAlg) -> Value {
    json!({
        "cryptoAlgorithm": if key.is_ec() { "ECC" } else { "RSA" },
        "hashFunction": hash_name(hash),
        "paddingScheme": if key.is_ec() { "NONE" } else { "PKCS1.5" },
    })
}

fn sign_hash(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
    let hash = b64_param(p, "hash")?;
    let alg = hash_param(required(p, "hashFunction")?)?;
    if hash.len() != alg.output_len() {
        return Err(Error::BadRequest("`hash` length does not match `hashFunction`".into()));
    }
    let cert = b64_param(p, "certificate")?;
    let name = str_param(p, "name")?.map(clean_name);
    let (slot, purpose) = slot_for_certificate(agent, &cert)?;
    // Before any dialog: a hash from the page is never shown to the authentication key.
    key_policy::check_page_hash(&slot, purpose, &cert)?;
    let key_alg = slot.with(|t| t.key_algorithm(purpose))?;
    let occasion = texts::sign_hash(origin, name.as_deref(), hash_name(alg), &hex(&hash));
    let sig = ops::sign_with_pin(ctx, &slot, purpose, &occasion, &[(alg, hash)])?
        .pop()
        .ok_or_else(|| Error::Internal("no signature".into()))?;
    Ok(json!({"signature": B64.encode(sig), "signatureAlgorithm": signature_algorithm(key_alg, alg)}))
}

/// A document to sign: its name, and its content or digest.
struct Doc {
    name: String,
    data: Option<Vec<u8>>,
    digest: Option<(HashAlg, Vec<u8>)>,
}

fn parse_doc(p: &Map<String, Value>) -> Result<Doc> {
    let name = clean_name(required(p, "name")?);
    if p.contains_key("document") {
        return Ok(Doc { name, data: Some(b64_param(p, "document")?), digest: None });
    }
    if p.contains_key("digest") {
        let alg = hash_param(required(p, "hashFunction")?)?;
        let digest = b64_param(p, "digest")?;
        if digest.len() != alg.output_len() {
            return Err(Error::BadRequest("`digest` length does not match `hashFunction`".into()));
        }
        return Ok(Doc { name, data: None, digest: Some((alg, digest)) });
    }
    Err(Error::BadRequest("a document needs `document` or `digest`".into()))
}

/// A name shown in a dialog: no control characters (a page must not be able to forge
/// extra lines in the agent's dialog), at most 200 characters.
fn clean_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        texts::unnamed()
    } else {
        cleaned
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign_document(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
    match str_param(p, "format")? {
        None | Some("cms") => {}
        Some(_) => return Err(Error::BadRequest("`format` must be \"cms\"".into())),
    }
    let detached = match p.get("detached") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::BadRequest("`detached` must be a boolean".into())),
    };
    let docs: Vec<Doc> = match p.get("documents") {
        Some(Value::Array(items)) => {
            if items.is_empty() || items.len() > MAX_DOCUMENTS {
                return Err(Error::BadRequest(format!("`documents` must have 1 to {MAX_DOCUMENTS} entries")));
            }
            items
                .iter()
                .map(|d| match d {
                    Value::Object(o) => parse_doc(o),
                    _ => Err(Error::BadRequest("each document is an object".into())),
                })
                .collect::<Result<_>>()?
        }
        Some(_) => return Err(Error::BadRequest("`documents` must be an array".into())),
        None => vec![parse_doc(p)?],
    };
    let purpose = purpose_param(p, KeyPurpose::Signing)?;
    key_policy::check_document_key(purpose)?;
    let slot = blocking_find(agent, p, purpose)?;
    let cert = slot.with(|t| t.certificate(purpose))?;
    let chain = agent.chain_for(&cert);
    let listing: Vec<texts::Listed> = docs
        .iter()
        .map(|d| match (&d.data, &d.digest) {
            (Some(data), _) => texts::Listed {
                name: d.name.clone(),
                hash_name: "SHA-256",
                hash_hex: hex(&<sha2::Sha256 as sha2::Digest>::digest(data)),
                from_site: false,
            },
            (_, digest) => {
                let (alg, digest) = digest.as_ref().map(|(a, d)| (*a, d.as_slice())).unwrap_or((HashAlg::Sha256, &[]));
                texts::Listed {
                    name: d.name.clone(),
                    hash_name: hash_name(alg),
                    hash_hex: hex(digest),
                    from_site: true,
                }
            }
        })
        .collect();
    let occasion = texts::sign_documents(origin, &listing);
    let now = SystemTime::now();
    let signatures = ops::with_pin(ctx, &slot, purpose, &occasion, |sign| {
        let mut out = Vec::with_capacity(docs.len());
        for d in &docs {
            let content = match (&d.data, &d.digest) {
                (Some(data), _) => cms::Content::Data(data),
                (None, Some((alg, digest))) => cms::Content::Digest { alg: *alg, digest },
                _ => return Err(Error::Internal("document without content".into())),
            };
            let req = cms::SignRequest {
                certificate: &cert,
                chain: &chain,
                content,
                detached: detached || d.data.is_none(),
                signing_time: now,
            };
            let der = cms::sign_cades(&req, sign)?;
            out.push(json!({"name": d.name, "cms": B64.encode(der)}));
        }
        Ok(out)
    })?;
    Ok(json!({"signatures": signatures}))
}

fn manage_pin(agent: &Agent, ctx: &Ctx, origin: &str, method: &str, p: &Map<String, Value>) -> Result<Value> {
    let kind = match required(p, "pin")? {
        "auth" => PinKind::Auth,
        "sign" => PinKind::Signing,
        _ => return Err(Error::BadRequest("`pin` must be auth or sign".into())),
    };
    let purpose = if kind == PinKind::Signing { KeyPurpose::Signing } else { KeyPurpose::Authentication };
    let slot = blocking_find(agent, p, purpose)?;
    let kind = slot.with(|t| Ok(t.pin_for(purpose)))?;
    let context = texts::pin_management(origin);
    if method == "change-pin" {
        ops::change_pin(ctx, &slot, kind, &context)?;
    } else {
        ops::unblock_pin(ctx, &slot, kind, &context)?;
    }
    Ok(json!({"done": true}))
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
        assert_eq!(clean_name("a\nSHA-256 00\r\tb"), "aSHA-256 00b");
        assert_eq!(clean_name("\n"), "(unnamed)");
    }
}
