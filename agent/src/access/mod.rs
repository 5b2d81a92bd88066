//! Who may use the agent: the `Host` and `Origin` checks before a WebSocket exists,
//! the origins the citizen allowed (`origins.json`), and sites (registrable domains)
//! with how often each may ask for consent.

pub mod origins;
pub mod site;
