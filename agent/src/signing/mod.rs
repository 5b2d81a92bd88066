//! What the agent signs and how: CAdES signatures (`cms`), Web eID authentication
//! tokens (`webeid`), and which key may sign what a page sends (`key_policy`).

pub mod cms;
pub mod key_policy;
pub mod webeid;
