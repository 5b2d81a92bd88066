//! `wss://` on the agent's port: the server half of the loopback TLS that
//! `mohur-install install --loopback-tls` sets up ([`mohur_platform::loopback`]).
//!
//! At start the agent reads the loopback CA (its certificate from the user's data
//! directory, its key from the OS keyring) and issues itself a server certificate for
//! 127.0.0.1, ::1 and localhost, with a key that exists only in the agent's memory; the
//! CA's key is dropped at once. A server certificate about to run out is replaced at the
//! next handshake, the CA's key read from the keyring again for that moment only.
//!
//! rustls with ring (no OpenSSL, so the Windows build has it too), its safe default
//! versions (TLS 1.3 and 1.2) and suites; ALPN `http/1.1` only, because a WebSocket
//! opens with an HTTP/1.1 upgrade (RFC 6455 §4.1).

use mohur_platform::loopback::{
    LoopbackCa, LoopbackError, ServerIdentity, SERVER_CERT_LIFETIME, SERVER_CERT_RENEW_BEFORE,
};
use mohur_platform::secrets::OsKeyring;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// How the agent gets at the loopback CA (the keyring and the certificate file; a
/// fixed CA in tests).
pub type CaSource = Box<dyn Fn() -> Result<LoopbackCa, LoopbackError> + Send + Sync>;

/// The `wss://` configuration when `mohur-install install --loopback-tls` has set up
/// the loopback CA and `config` wants it; `None` (the agent serves `ws://` only)
/// otherwise, with a warning when the CA is there but cannot be used.
pub fn from_config(config: &crate::config::Config) -> Option<Arc<rustls::ServerConfig>> {
    if !config.loopback_tls {
        return None;
    }
    let file = config.loopback_ca_file();
    let source: CaSource = Box::new(move || LoopbackCa::load(&OsKeyring::mohur(), &file));
    match server_config(source) {
        Ok(tls) => Some(tls),
        Err(LoopbackError::NotInstalled(file)) => {
            tracing::debug!(file = %file.display(), "no loopback CA: ws:// only");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "wss:// is off");
            None
        }
    }
}

/// The TLS configuration for `wss://`, with a server certificate issued now by the CA
/// from `source`. Fails when there is no usable loopback CA (the agent then serves
/// `ws://` only).
pub fn server_config(source: CaSource) -> Result<Arc<rustls::ServerConfig>, LoopbackError> {
    let resolver = ServerCert::new(source)?;
    // ring has no post-quantum key exchange (rustls deprecates its provider for that);
    // this traffic never leaves the machine, and aws-lc-rs would need cmake and a C
    // toolchain for the Windows cross-build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoopbackError::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks the agent on `port` for `/health` over TLS, trusting only the loopback CA
/// `ca_der` and checking that the certificate is for 127.0.0.1 (`mohur doctor`): the
/// body's `mohur VERSION` line, or why not.
pub fn probe(port: u16, ca_der: &[u8], timeout: std::time::Duration) -> Result<String, String> {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpStream};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec())).map_err(|e| e.to_string())?;
    #[allow(deprecated)] // as in server_config
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let tls = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), timeout)
        .map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut stream = rustls::StreamOwned::new(tls, tcp);
    write!(stream, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    // A close without close_notify after the answer is no failure of the agent's TLS.
    let read = stream.take(64 * 1024).read_to_end(&mut reply);
    super::health_answer(&reply).map_err(|status_line| match read {
        Err(e) if status_line.is_empty() => e.to_string(),
        _ if status_line.is_empty() => "no answer".to_owned(),
        _ => status_line,
    })
}

/// The agent's server certificate, replaced when it nears its end.
struct ServerCert {
    source: CaSource,
    current: RwLock<(Arc<CertifiedKey>, SystemTime)>,
    /// A failed renewal is logged once, not at every handshake.
    renewal_failed: AtomicBool,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

impl ServerCert {
    fn new(source: CaSource) -> Result<ServerCert, LoopbackError> {
        let current = issue(&source)?;
        Ok(ServerCert { source, current: RwLock::new(current), renewal_failed: AtomicBool::new(false) })
    }
}

/// A new server certificate from the CA, and when it ends. The CA (and its key) is
/// dropped on return.
fn issue(source: &CaSource) -> Result<(Arc<CertifiedKey>, SystemTime), LoopbackError> {
    let ca = source()?;
    let identity = ca.issue_server_cert(SystemTime::now(), SERVER_CERT_LIFETIME)?;
    Ok((certified(&identity)?, identity.not_after))
}

fn certified(identity: &ServerIdentity) -> Result<Arc<CertifiedKey>, LoopbackError> {
    // Borrowed: ring parses its own copy, and `identity` wipes ours on drop.
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(&identity.key_pkcs8[..]));
    let signer = rustls::crypto::ring::sign::any_ecdsa_type(&key).map_err(|e| LoopbackError::Invalid(e.to_string()))?;
    Ok(Arc::new(CertifiedKey::new(vec![CertificateDer::from(identity.cert_der.clone())], signer)))
}

impl ServerCert {
    /// The certificate to present at `now`: the current one, or a new one when it ends
    /// within [`SERVER_CERT_RENEW_BEFORE`] (the old one while no new one can be made).
    fn at(&self, now: SystemTime) -> Arc<CertifiedKey> {
        let (key, not_after) = self.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        if now + SERVER_CERT_RENEW_BEFORE < not_after {
            return key;
        }
        match issue(&self.source) {
            Ok(fresh) => {
                tracing::info!("loopback TLS: new server certificate");
                self.renewal_failed.store(false, Ordering::Relaxed);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
                fresh.0
            }
            Err(e) => {
                if !self.renewal_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "loopback TLS: cannot renew the server certificate; keeping the old one");
                }
                key
            }
        }
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.at(SystemTime::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mohur_platform::loopback::KEY_NAME;
    use mohur_platform::secrets::testing::Memory;
    use mohur_platform::secrets::SecretStore;
    use std::time::Duration;

    /// A CA whose key a test can take away, as a reboot takes it from a kernel keyring.
    fn ca_source() -> (Arc<LoopbackCa>, Arc<Memory>, CaSource) {
        let ca = Arc::new(LoopbackCa::create(SystemTime::now(), "t").unwrap());
        let store = Arc::new(Memory::default());
        ca.store_key(&*store).unwrap();
        let (der, keys) = (ca.cert_der().to_vec(), store.clone());
        let source: CaSource = Box::new(move || {
            let key = keys.get(KEY_NAME)?.ok_or(LoopbackError::KeyMissing)?;
            LoopbackCa::from_parts(&der, &key)
        });
        (ca, store, source)
    }

    #[test]
    fn no_ca_no_config() {
        let err = server_config(Box::new(|| Err(LoopbackError::KeyMissing))).unwrap_err();
        assert!(matches!(err, LoopbackError::KeyMissing));
        let (_, _, source) = ca_source();
        let config = server_config(source).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn the_certificate_is_the_cas_and_is_renewed_near_its_end() {
        let (ca, store, source) = ca_source();
        let cert = ServerCert::new(source).unwrap();
        let now = SystemTime::now();
        let first = cert.at(now);
        mohur_platform::chain::verify_issued_by(&first.cert[0], ca.cert_der()).unwrap();
        assert!(Arc::ptr_eq(&first, &cert.at(now + Duration::from_secs(3600))), "renewed too early");
        // A day before its end: a new one, from the same CA.
        let late = now + SERVER_CERT_LIFETIME - SERVER_CERT_RENEW_BEFORE;
        let second = cert.at(late);
        assert_ne!(first.cert[0], second.cert[0]);
        mohur_platform::chain::verify_issued_by(&second.cert[0], ca.cert_der()).unwrap();
        // The key gone from the keyring: the old certificate stays in use.
        store.delete(KEY_NAME).unwrap();
        let much_later = late + SERVER_CERT_LIFETIME;
        assert!(Arc::ptr_eq(&cert.at(much_later), &cert.at(much_later)));
        assert_eq!(cert.at(much_later).cert[0], second.cert[0]);
    }
}
