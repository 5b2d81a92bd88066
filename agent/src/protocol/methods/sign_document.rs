//! `sign-document`: CAdES signatures of documents (or of their digests), all confirmed
//! in one dialog.

use super::super::params::{
    b64_param, blocking_find, clean_name, hash_name, hash_param, hex, purpose_param, required, str_param,
};
use super::super::MAX_DOCUMENTS;
use crate::agent::Agent;
use crate::dialogs::texts;
use crate::pin_policy::{self, Ctx};
use crate::signing::{cms, key_policy};
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_apdu::{HashAlg, KeyPurpose};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

/// A document to sign: its name, and its content or digest.
pub(crate) struct Doc {
    name: String,
    data: Option<Vec<u8>>,
    digest: Option<(HashAlg, Vec<u8>)>,
}

pub(crate) fn parse_doc(p: &Map<String, Value>) -> Result<Doc> {
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

pub(crate) fn sign_document(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
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
    let signatures = pin_policy::with_pin(ctx, &slot, purpose, &occasion, |sign| {
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
                signing_time: Some(now),
            };
            let der = cms::sign_cades(&req, sign)?;
            out.push(json!({"name": d.name, "cms": B64.encode(der)}));
        }
        Ok(out)
    })?;
    Ok(json!({"signatures": signatures}))
}
