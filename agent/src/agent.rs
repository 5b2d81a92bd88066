//! The running agent: its configuration, tokens, allowed origins and dialogs, shared
//! by every connection.

use crate::access::origins::Origins;
use crate::config::Config;
use crate::dialogs::Prompter;
use crate::pin_policy::PromptGate;
use crate::tokens::manager::TokenManager;
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

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
    /// How often each site may ask for consent.
    pub consent: crate::access::site::ConsentLimiter,
    /// Intermediate CA certificates (DER) to embed in signatures.
    pub intermediates: Vec<Vec<u8>>,
    /// [`Agent::chain_for`]'s answers, by signer certificate.
    chains: Mutex<HashMap<Vec<u8>, Vec<Vec<u8>>>>,
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
            consent: Default::default(),
            intermediates,
            chains: Mutex::default(),
        }))
    }

    /// The intermediates `cert` chains through, issuer first, up to the root, which is
    /// left out: see [`chain_for`].
    pub fn chain_for(&self, cert: &[u8]) -> Vec<Vec<u8>> {
        // Checking the chain's signatures costs milliseconds: once per certificate.
        let mut cache = self.chains.lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(cert.to_vec()).or_insert_with(|| chain_for(&self.intermediates, cert)).clone()
    }
}

/// The certificates of `pool` (DER) that `cert` chains through, issuer first, up to the
/// root, which is left out (a verifier must have it already). RFC 5280 §6.1: an issuer is
/// matched by name and checked by signature, so that of two CAs with the same name (a
/// key rollover) the one whose key signed is taken. Names are compared as encoded, which
/// is how CAs write them (RFC 5280 §4.1.2.4). Pure Rust (x509-cert, and mohur-installer's
/// RustCrypto verifier) so that the agent builds for Windows without OpenSSL.
pub fn chain_for(pool: &[Vec<u8>], cert: &[u8]) -> Vec<Vec<u8>> {
    let pool: Vec<(Certificate, &Vec<u8>)> =
        pool.iter().filter_map(|d| Certificate::from_der(d).ok().map(|c| (c, d))).collect();
    let mut out = Vec::new();
    let Ok(mut current) = Certificate::from_der(cert) else { return out };
    let mut current_der = cert;
    while out.len() < 8 {
        let issuer = pool.iter().find(|(c, der)| {
            current.tbs_certificate.issuer == c.tbs_certificate.subject
                && mohur_installer::ca::verify_issued_by(current_der, der).is_ok()
        });
        match issuer {
            Some((c, der)) if c.tbs_certificate.subject != c.tbs_certificate.issuer => {
                out.push((*der).clone());
                current = c.clone();
                current_der = der;
            }
            _ => break,
        }
    }
    out
}

/// Every certificate of the PEM file `path`, as DER.
fn load_pem_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let bad = |e: &dyn std::fmt::Display| Error::Internal(format!("{}: {e}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(&e))?;
    let certs = Certificate::load_pem_chain(&pem).map_err(|e| bad(&e))?;
    certs.iter().map(|c| c.to_der().map_err(|e| bad(&e))).collect()
}
