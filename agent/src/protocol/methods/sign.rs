//! `sign`: a raw hash from the page, signed only by a key for signatures alone
//! ([`crate::signing::key_policy`]).

use super::super::params::{
    b64_param, clean_name, hash_name, hash_param, hex, required, signature_algorithm, slot_for_certificate, str_param,
};
use crate::agent::Agent;
use crate::dialogs::texts;
use crate::pin_policy::{self, Ctx};
use crate::signing::key_policy;
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

pub(crate) fn sign_hash(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
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
    let sig = pin_policy::sign_with_pin(ctx, &slot, purpose, &occasion, &[(alg, hash)])?
        .pop()
        .ok_or_else(|| Error::Internal("no signature".into()))?;
    Ok(json!({"signature": B64.encode(sig), "signatureAlgorithm": signature_algorithm(key_alg, alg)}))
}
