//! The running agent: its configuration, tokens, allowed origins and dialogs, shared
//! by every connection.

use crate::config::Config;
use crate::manager::TokenManager;
use crate::ops::PromptGate;
use crate::origins::Origins;
use crate::prompt::Prompter;
use crate::{Error, Result};
use openssl::x509::X509;
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
    /// Intermediate CA certificates (DER) to embed in signatures.
    pub intermediates: Vec<Vec<u8>>,
}

impl Agent {
    /// An agent with `config`, an empty token set and `prompter`. Nothing is watched
    /// yet: see [`TokenManager::watch_pcsc`].
    pub fn new(config: Config, prompter: Box<dyn Prompter>) -> Result<Arc<Agent>> {
        let origins = Origins::load(config.data_dir(), &config.allowed_origins)?;
        let intermediates = match &config.intermediates {
            Some(path) => load_pem_certificates(path)?,
            None => Vec::new(),
        };
        Ok(Arc::new(Agent {
            config,
            manager: TokenManager::new(),
            origins,
            prompter,
            gate: PromptGate::default(),
            intermediates,
        }))
    }

    /// The intermediates `cert` chains through, issuer first (RFC 5280 §6.1: matched by
    /// issuer name and checked by signature), up to the root, which is left out.
    pub fn chain_for(&self, cert: &[u8]) -> Vec<Vec<u8>> {
        let pool: Vec<(X509, &Vec<u8>)> =
            self.intermediates.iter().filter_map(|d| X509::from_der(d).ok().map(|x| (x, d))).collect();
        let mut out = Vec::new();
        let Ok(mut current) = X509::from_der(cert) else { return out };
        while out.len() < 8 {
            let issuer = pool.iter().find(|(x, _)| {
                current.issuer_name().try_cmp(x.subject_name()).is_ok_and(|o| o.is_eq())
                    && x.public_key().and_then(|k| current.verify(&k)).unwrap_or(false)
            });
            match issuer {
                Some((x, der)) if x.subject_name().try_cmp(x.issuer_name()).is_ok_and(|o| o.is_ne()) => {
                    out.push((*der).clone());
                    current = x.clone();
                }
                _ => break,
            }
        }
        out
    }
}

fn load_pem_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let pem = std::fs::read(path).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    let certs = X509::stack_from_pem(&pem).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    certs.iter().map(|c| c.to_der().map_err(|e| Error::Internal(e.to_string()))).collect()
}
