//! The demo portal's relying party: it issues single-use challenge nonces and checks
//! what the portal receives, Web eID authentication tokens (Web eID specification §
//! "Authentication token validation") and CAdES-BES signatures, with the agent's own
//! RustCrypto verifier ([`crate::signing::verify`]), so that the demo also runs on
//! Windows. The tests check the same signatures with OpenSSL as well.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub use crate::signing::verify::{verify_auth_token, verify_cms, TrustStore, VerifiedLogin, VerifiedSignature};
use crate::signing::webeid::AuthToken;
use crate::{Error, Result};

fn rejected(msg: impl Into<String>) -> Error {
    Error::BadRequest(msg.into())
}

struct NonceEntry {
    expires: Instant,
    used: bool,
}

/// Challenge nonces (Web eID spec § "Authentication token validation": the nonce is generated
/// by the relying party, single-use and short-lived). Thread-safe.
pub struct NonceStore {
    ttl: Duration,
    nonces: Mutex<HashMap<String, NonceEntry>>,
}

impl NonceStore {
    /// A store whose nonces expire `ttl` after issue.
    pub fn new(ttl: Duration) -> NonceStore {
        NonceStore { ttl, nonces: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, NonceEntry>> {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Entries are kept one more `ttl` after expiry, so a late or replayed nonce gets a
    /// precise error; after that it is forgotten ("unknown").
    fn purge(map: &mut HashMap<String, NonceEntry>, now: Instant, ttl: Duration) {
        map.retain(|_, e| e.expires + ttl > now);
    }

    /// A fresh nonce: 32 random bytes from the OS, standard base64 (44 characters).
    pub fn issue(&self) -> Result<String> {
        use rand_core::RngCore;
        let mut bytes = [0u8; 32];
        rand_core::OsRng.try_fill_bytes(&mut bytes).map_err(|e| Error::Internal(format!("random nonce: {e}")))?;
        let nonce = STANDARD.encode(bytes);
        let now = Instant::now();
        let mut map = self.lock();
        Self::purge(&mut map, now, self.ttl);
        map.insert(nonce.clone(), NonceEntry { expires: now + self.ttl, used: false });
        Ok(nonce)
    }

    /// Consumes `nonce`: fails if it was never issued (or long forgotten), already used, or
    /// expired. A nonce can be taken once, whatever the outcome of the login.
    pub fn take(&self, nonce: &str) -> Result<()> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(nonce).ok_or_else(|| rejected("unknown challenge nonce"))?;
        if entry.used {
            return Err(rejected("challenge nonce already used"));
        }
        entry.used = true;
        if now >= entry.expires {
            return Err(rejected("challenge nonce expired"));
        }
        Ok(())
    }
}

/// The relying party's login step: takes `nonce` from `nonces` (single use, unexpired), then
/// [`verify_auth_token`].
pub fn verify_login(
    token: &AuthToken,
    expected_origin: &str,
    nonce: &str,
    nonces: &NonceStore,
    trust: &TrustStore,
) -> Result<VerifiedLogin> {
    nonces.take(nonce)?;
    verify_auth_token(token, expected_origin, nonce, trust)
}
