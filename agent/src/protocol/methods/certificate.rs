//! `get-certificate`.

use super::super::params::{blocking_find, purpose_param};
use crate::agent::Agent;
use crate::signing::webeid;
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_apdu::KeyPurpose;
use serde_json::{json, Map, Value};

pub(crate) fn get_certificate(agent: &Agent, p: &Map<String, Value>) -> Result<Value> {
    let purpose = purpose_param(p, KeyPurpose::Authentication)?;
    if p.get("purpose").is_none() {
        return Err(Error::BadRequest("`purpose` is missing (auth or sign)".into()));
    }
    let slot = blocking_find(agent, p, purpose)?;
    let cert = slot.with(|t| t.certificate(purpose))?;
    let alg = slot.with(|t| t.key_algorithm(purpose))?;
    Ok(json!({"tokenId": slot.id, "certificate": B64.encode(&cert), "algorithm": webeid::algorithm_for(alg).0}))
}
