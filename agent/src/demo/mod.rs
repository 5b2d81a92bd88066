//! `mohur demo` (feature `demo`, never in a package): the demo portal and its relying
//! party, which check what the agent produces as a portal's server would. The command
//! itself (`command.rs`) is part of the `mohur` binary.

pub mod portal;
pub mod relying_party;
