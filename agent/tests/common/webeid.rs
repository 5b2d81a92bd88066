//! What the Web eID tests (`web_eid_host.rs`, `web_eid_browser.rs`) check answers with:
//! the independent relying party `tests/python/webeid_check.py`, the demo relying party,
//! and OpenSSL.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_tests::{pki, webeid_check};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;

/// A fresh challenge nonce (32 random bytes, base64).
pub fn nonce() -> String {
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b).unwrap();
    B64.encode(b)
}

/// The independent checker's verdict on `token` (an `action` key, as the extension adds
/// it, is left out) for `origin` and `nonce`; its file goes into `dir`.
pub fn check_token(dir: &Path, token: &Value, origin: &str, nonce: &str) -> Value {
    let mut token = token.clone();
    if let Some(obj) = token.as_object_mut() {
        obj.remove("action");
    }
    let file = dir.join("token.json");
    std::fs::write(&file, token.to_string()).unwrap();
    let p = pki();
    webeid_check(&[
        OsStr::new("token"),
        file.as_os_str(),
        OsStr::new("--origin"),
        OsStr::new(origin),
        OsStr::new("--nonce"),
        OsStr::new(nonce),
        OsStr::new("--trust"),
        p.root_cert_pem.as_os_str(),
        OsStr::new("--ca"),
        p.chain_pem.as_os_str(),
    ])
}

/// The independent checker's verdict on a `sign` answer over `hash` with `cert`.
pub fn check_signature(cert: &str, hash: &str, hash_function: &str, answer: &Value) -> Value {
    let algorithm = answer["signatureAlgorithm"].to_string();
    webeid_check(&[
        OsStr::new("signature"),
        OsStr::new("--cert"),
        OsStr::new(cert),
        OsStr::new("--hash"),
        OsStr::new(hash),
        OsStr::new("--hash-function"),
        OsStr::new(hash_function),
        OsStr::new("--signature"),
        OsStr::new(answer["signature"].as_str().unwrap_or("")),
        OsStr::new("--algorithm"),
        OsStr::new(&algorithm),
    ])
}

/// The demo relying party's verdict (mohur's own validator, as a portal would run it);
/// an `action` key is left out.
pub fn demo_rp_accepts(token: &Value, origin: &str, nonce: &str) -> Result<(), String> {
    let mut token = token.clone();
    if let Some(obj) = token.as_object_mut() {
        obj.remove("action");
    }
    let token: mohur_agent::signing::webeid::AuthToken = serde_json::from_value(token).unwrap();
    let trust =
        mohur_agent::demo::relying_party::TrustStore::from_pem_files(&pki().root_cert_pem, &pki().chain_pem).unwrap();
    mohur_agent::demo::relying_party::verify_auth_token(&token, origin, nonce, &trust)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// OpenSSL's own verdict on a signature over `hash` (a raw `r ‖ s` for EC keys, PKCS#1
/// v1.5 for RSA), with the public key of `cert`.
pub fn openssl_verifies(cert: &str, hash: &str, signature: &str) -> bool {
    let cert = openssl::x509::X509::from_der(&B64.decode(cert).unwrap()).unwrap();
    let key = cert.public_key().unwrap();
    let (hash, sig) = (B64.decode(hash).unwrap(), B64.decode(signature).unwrap());
    if let Ok(ec) = key.ec_key() {
        let n = sig.len() / 2;
        let (r, s) =
            (openssl::bn::BigNum::from_slice(&sig[..n]).unwrap(), openssl::bn::BigNum::from_slice(&sig[n..]).unwrap());
        openssl::ecdsa::EcdsaSig::from_private_components(r, s).unwrap().verify(&hash, &ec).unwrap_or(false)
    } else {
        let md = match hash.len() {
            28 => openssl::md::Md::sha224(),
            32 => openssl::md::Md::sha256(),
            48 => openssl::md::Md::sha384(),
            _ => openssl::md::Md::sha512(),
        };
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&key).unwrap();
        ctx.verify_init().unwrap();
        ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1).unwrap();
        ctx.set_signature_md(md).unwrap();
        ctx.verify(&hash, &sig).unwrap_or(false)
    }
}
