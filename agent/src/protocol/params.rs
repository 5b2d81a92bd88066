//! The parameters of requests: reading them from the JSON, the names of hashes and
//! purposes, and what the methods share (finding the token of a certificate).

use crate::agent::Agent;
use crate::dialogs::texts;
use crate::tokens::manager::TokenSlot;
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_apdu::{HashAlg, KeyAlgorithm, KeyPurpose};
use serde_json::{json, Map, Value};

pub(crate) fn str_param<'a>(p: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::BadRequest(format!("`{name}` must be a string"))),
    }
}

pub(crate) fn required<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    str_param(p, name)?.ok_or_else(|| Error::BadRequest(format!("`{name}` is missing")))
}

pub(crate) fn b64_param(p: &Map<String, Value>, name: &str) -> Result<Vec<u8>> {
    B64.decode(required(p, name)?).map_err(|_| Error::BadRequest(format!("`{name}` is not base64")))
}

pub(crate) fn purpose_param(p: &Map<String, Value>, default: KeyPurpose) -> Result<KeyPurpose> {
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

pub(crate) fn blocking_find(
    agent: &Agent,
    p: &Map<String, Value>,
    purpose: KeyPurpose,
) -> Result<std::sync::Arc<TokenSlot>> {
    agent.manager.find(str_param(p, "tokenId")?, Some(purpose))
}

/// Finds the token and key whose certificate is `cert`.
pub(crate) fn slot_for_certificate(agent: &Agent, cert: &[u8]) -> Result<(std::sync::Arc<TokenSlot>, KeyPurpose)> {
    for slot in agent.manager.list() {
        for purpose in [KeyPurpose::Signing, KeyPurpose::Authentication] {
            if slot.has(purpose) && slot.with(|t| t.certificate(purpose)).is_ok_and(|c| c == cert) {
                return Ok((slot, purpose));
            }
        }
    }
    Err(Error::NoToken)
}

pub(crate) fn signature_algorithm(key: KeyAlgorithm, hash: HashAlg) -> Value {
    json!({
        "cryptoAlgorithm": if key.is_ec() { "ECC" } else { "RSA" },
        "hashFunction": hash_name(hash),
        "paddingScheme": if key.is_ec() { "NONE" } else { "PKCS1.5" },
    })
}

/// A name shown in a dialog: no control characters (a page must not be able to forge
/// extra lines in the agent's dialog), at most 200 characters.
pub(crate) fn clean_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        texts::unnamed()
    } else {
        cleaned
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
