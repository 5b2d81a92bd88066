//! `request-access`, and the consent every other method needs first.

use crate::access::origins::Decision;
use crate::agent::Agent;
use crate::pin_policy::{self, Ctx};
use crate::{Error, Result};

/// Allowed, or asks the citizen (once per run for a "no"), or `ORIGIN_NOT_ALLOWED`.
pub(crate) fn require_access(agent: &Agent, ctx: &Ctx, origin: &str) -> Result<()> {
    match agent.origins.decision(origin) {
        Decision::Allowed => Ok(()),
        Decision::Denied => Err(Error::OriginNotAllowed),
        Decision::Unknown if !agent.config.ask_unknown_origins => Err(Error::OriginNotAllowed),
        Decision::Unknown => {
            // One consent dialog per site at a time, and not too often: subdomains of one
            // registrable domain count together (crate::access::site).
            let ticket = agent.consent.begin(origin)?;
            let yes = pin_policy::ask_origin_consent(ctx, origin)?;
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
