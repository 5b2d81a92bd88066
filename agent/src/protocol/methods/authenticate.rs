//! `authenticate`: a Web eID token signed by the authentication key over a value mohur
//! builds and binds to the connection's origin.

use super::super::params::{blocking_find, required};
use crate::agent::Agent;
use crate::dialogs::texts;
use crate::pin_policy::{self, Ctx};
use crate::signing::webeid;
use crate::{Error, Result};
use mohur_apdu::KeyPurpose;
use serde_json::{Map, Value};

pub(crate) fn authenticate(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
    let nonce = required(p, "challengeNonce")?;
    webeid::validate_nonce(nonce)?;
    let slot = blocking_find(agent, p, KeyPurpose::Authentication)?;
    let cert = slot.with(|t| t.certificate(KeyPurpose::Authentication))?;
    let key_alg = slot.with(|t| t.key_algorithm(KeyPurpose::Authentication))?;
    let (_, hash) = webeid::algorithm_for(key_alg);
    let digest = webeid::digest_to_sign(origin, nonce, hash)?;
    let sig =
        pin_policy::sign_with_pin(ctx, &slot, KeyPurpose::Authentication, &texts::login(origin), &[(hash, digest)])?
            .pop()
            .ok_or_else(|| Error::Internal("no signature".into()))?;
    let app = format!("https://mohur.example/releases/{}", env!("CARGO_PKG_VERSION"));
    serde_json::to_value(webeid::build_token(&cert, key_alg, &sig, &app)).map_err(|e| Error::Internal(e.to_string()))
}
