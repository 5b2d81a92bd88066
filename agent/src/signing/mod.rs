//! What the agent signs and how: CAdES signatures (`cms`) and the validation data they
//! carry at B-LT (`validation_data`), Web eID authentication tokens (`webeid`), which key
//! may sign what a page sends (`key_policy`), and how a relying party checks what was
//! signed (`verify`) and, when it does not hold, why (`rejection`).

pub mod cms;
pub mod key_policy;
pub mod rejection;
pub mod validation_data;
pub mod verify;
pub mod webeid;
