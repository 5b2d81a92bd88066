//! The running agent: its configuration, tokens, allowed origins and dialogs, shared
//! by every connection.

use crate::config::Config;
use crate::manager::TokenManager;
use crate::ops::PromptGate;
use crate::origins::Origins;
use crate::prompt::Prompter;
use crate::Result;
use std::sync::Arc;

/// Everything the connections share.
pub struct Agent {
    /// The configuration in force.
    pub config: Config,
    /// The tokens.
    pub manager: Arc<TokenManager>,
    /// Allowed origins.
    pub origins: Origins,
    /// How the citizen is asked.
    pub prompter: Box<dyn Prompter>,
    /// One dialog at a time.
    pub gate: PromptGate,
}

impl Agent {
    /// An agent with `config`, an empty token set and `prompter`. Nothing is watched
    /// yet: see [`TokenManager::watch_pcsc`].
    pub fn new(config: Config, prompter: Box<dyn Prompter>) -> Result<Arc<Agent>> {
        let origins = Origins::load(config.data_dir(), &config.allowed_origins)?;
        Ok(Arc::new(Agent { config, manager: TokenManager::new(), origins, prompter, gate: PromptGate::default() }))
    }
}
