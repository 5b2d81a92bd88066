//! The running agent: its configuration, tokens, allowed origins and dialogs, shared
//! by every connection.

use crate::access::origins::Origins;
use crate::config::Config;
use crate::dialogs::Prompter;
use crate::pin_policy::PromptGate;
use crate::tokens::manager::TokenManager;
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
    /// The CA certificates the agent knows: the configured intermediates and the bundle
    /// mohur installs (where B-LT finds the issuers up to the root).
    pub fn known_cas(&self) -> Vec<Vec<u8>> {
        let mut cas = self.intermediates.clone();
        cas.extend(installed_ca_dir().and_then(|d| load_ca_bundle(&d).ok()).unwrap_or_default());
        cas
    }

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
                && mohur_platform::chain::verify_issued_by(current_der, der).is_ok()
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
/// Where the CA certificates mohur ships are installed: `<exe>/../share/mohur/ca`
/// (a relocated install), else `/usr/share/mohur/ca` (the .deb); `<exe dir>\ca` on
/// Windows (the .msi). The same places `mohur-install` looks.
pub fn installed_ca_dir() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let candidates: Vec<PathBuf> = if cfg!(windows) {
        exe_dir.map(|d| d.join("ca")).into_iter().collect()
    } else {
        let mut v: Vec<PathBuf> = exe_dir.map(|d| d.join("../share/mohur/ca")).into_iter().collect();
        v.push(PathBuf::from("/usr/share/mohur/ca"));
        v
    };
    candidates.into_iter().find(|p| p.is_dir())
}

/// Every certificate (DER) of a CA bundle: a PEM file (several certificates), or a
/// directory of `*.pem`, `*.crt`, `*.cer` (PEM or DER) and `*.der` files; why not.
pub fn load_ca_bundle(path: &std::path::Path) -> std::result::Result<Vec<Vec<u8>>, String> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| e.to_string())?.flatten() {
            let p = entry.path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            if ["pem", "crt", "cer", "der"].contains(&ext.as_str()) {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut certs = Vec::new();
    for f in files {
        let data = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        if data.windows(11).any(|w| w == b"-----BEGIN ") {
            let chain = Certificate::load_pem_chain(&data).map_err(|e| format!("{}: {e}", f.display()))?;
            for c in chain {
                certs.push(c.to_der().map_err(|e| e.to_string())?);
            }
        } else {
            Certificate::from_der(&data).map_err(|e| format!("{}: {e}", f.display()))?;
            certs.push(data);
        }
    }
    if certs.is_empty() {
        return Err("no certificate".into());
    }
    Ok(certs)
}

fn load_pem_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let bad = |e: &dyn std::fmt::Display| Error::Internal(format!("{}: {e}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(&e))?;
    let certs = Certificate::load_pem_chain(&pem).map_err(|e| bad(&e))?;
    certs.iter().map(|c| c.to_der().map_err(|e| bad(&e))).collect()
}
