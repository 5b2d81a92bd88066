//! `change-pin` and `unblock-pin`: the PINs are typed in the agent's dialogs.

use super::super::params::{blocking_find, required};
use crate::agent::Agent;
use crate::dialogs::texts;
use crate::pin_policy::{self, Ctx};
use crate::{Error, Result};
use mohur_apdu::{KeyPurpose, PinKind};
use serde_json::{json, Map, Value};

pub(crate) fn manage_pin(
    agent: &Agent,
    ctx: &Ctx,
    origin: &str,
    method: &str,
    p: &Map<String, Value>,
) -> Result<Value> {
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
        pin_policy::change_pin(ctx, &slot, kind, &context)?;
    } else {
        pin_policy::unblock_pin(ctx, &slot, kind, &context)?;
    }
    Ok(json!({"done": true}))
}
