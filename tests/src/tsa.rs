//! A local RFC 3161 time-stamping authority on 127.0.0.1: [`crate::http::HttpServer`]
//! (RFC 3161 §3.4, "Time-Stamp Protocol via HTTP") whose answers `openssl ts -reply` makes with the
//! test PKI's TSA certificate, so that the tokens mohur embeds come from an independent
//! implementation, as from a national TSA.
//!
//! Besides a proper TSA it can misbehave as a broken or hostile one would: refuse the
//! request, answer garbage, or replay the first token it issued (an old token for
//! another signature, which a client must not accept).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How the TSA answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Grants every request: a token over the request's imprint and nonce.
    Grant,
    /// Answers `rejection` (PKIStatus 2) with `badAlg`, as a TSA that will not serve.
    Reject,
    /// Answers 200 with bytes that are not a TimeStampResp.
    Garbage,
    /// Grants the first request, then answers every later one with that first response.
    Replay,
}

/// A running local TSA; stops accepting when dropped.
pub struct LocalTsa {
    /// `http://127.0.0.1:PORT/tsa`.
    pub url: String,
    server: crate::http::HttpServer,
}

impl LocalTsa {
    /// Starts a TSA of the shared test PKI's `tsa.pem` under `dir` (its config, serial
    /// and scratch files go there).
    pub fn start(dir: &Path, behaviour: Behaviour) -> LocalTsa {
        LocalTsa::start_for(crate::pki(), dir, behaviour)
    }

    /// Starts a TSA of `pki`'s `tsa.pem`.
    pub fn start_for(pki: &mohur_certs::TestPki, dir: &Path, behaviour: Behaviour) -> LocalTsa {
        std::fs::create_dir_all(dir).expect("TSA dir");
        let conf = dir.join("tsa.cnf");
        std::fs::write(&conf, config(dir, &pki.tsa_cert_pem, &pki.dir.join("tsa.key.pem"), &pki.chain_pem))
            .expect("TSA config");
        let first: Mutex<Option<Vec<u8>>> = Mutex::default();
        let n = AtomicUsize::new(0);
        let dir = dir.to_path_buf();
        let server = crate::http::HttpServer::start(move |req| {
            if req.method != "POST" {
                return None;
            }
            let k = n.fetch_add(1, Ordering::SeqCst);
            Some(("application/timestamp-reply".to_owned(), answer(&dir, &conf, k, behaviour, &first, &req.body)))
        });
        LocalTsa { url: format!("{}/tsa", server.url), server }
    }

    /// How many connections it accepted so far.
    pub fn requests(&self) -> usize {
        self.server.requests()
    }
}

/// `openssl ts` configuration (see openssl-ts(1), "CONFIGURATION FILE OPTIONS"): SHA-256
/// everywhere, the ESS signing-certificate-v2 with SHA-256, the TSA's name in the token.
fn config(dir: &Path, cert: &Path, key: &Path, chain: &Path) -> String {
    format!(
        "[ tsa ]\ndefault_tsa = tsa_config\n\n[ tsa_config ]\nserial = {serial}\ncrypto_device = builtin\n\
         signer_cert = {cert}\ncerts = {chain}\nsigner_key = {key}\nsigner_digest = sha256\n\
         default_policy = 1.3.6.1.4.1.99999.3161.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
         clock_precision_digits = 0\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\n\
         ess_cert_id_alg = sha256\n",
        serial = dir.join("serial").display(),
        cert = cert.display(),
        chain = chain.display(),
        key = key.display(),
    )
}

/// The answer to one time-stamp query, as `behaviour` has it.
fn answer(
    dir: &Path,
    conf: &Path,
    k: usize,
    behaviour: Behaviour,
    first: &Mutex<Option<Vec<u8>>>,
    query: &[u8],
) -> Vec<u8> {
    match behaviour {
        Behaviour::Garbage => b"<html>not a time-stamp</html>".to_vec(),
        Behaviour::Reject => rejection(),
        Behaviour::Grant => reply(dir, conf, k, query),
        Behaviour::Replay => {
            let mut f = first.lock().unwrap_or_else(|e| e.into_inner());
            match &*f {
                Some(old) => old.clone(),
                None => {
                    let r = reply(dir, conf, k, query);
                    *f = Some(r.clone());
                    r
                }
            }
        }
    }
}

/// `openssl ts -reply` for `query`.
fn reply(dir: &Path, conf: &Path, k: usize, query: &[u8]) -> Vec<u8> {
    let (q, r): (PathBuf, PathBuf) = (dir.join(format!("q{k}.tsq")), dir.join(format!("r{k}.tsr")));
    std::fs::write(&q, query).expect("write the query");
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(conf)
        .arg("-queryfile")
        .arg(&q)
        .arg("-out")
        .arg(&r)
        .output()
        .expect("run openssl ts -reply");
    // A query openssl cannot read gets openssl's own rejection, as a real TSA's.
    assert!(out.status.success(), "openssl ts -reply: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&r).expect("read the reply")
}

/// A TimeStampResp with PKIStatus rejection (2) and PKIFailureInfo badAlg (RFC 3161 §2.4.2).
fn rejection() -> Vec<u8> {
    // SEQUENCE { SEQUENCE { INTEGER 2, BIT STRING badAlg (bit 0) } }
    vec![0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, 0x07, 0x80]
}
