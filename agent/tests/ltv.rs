//! Gathering B-LT's validation data (`mohur_agent::documents::ltv::gather`) from CAs
//! that misbehave: a CRL from a CA of the same name but another key (a forged CA), and
//! a distribution point that is down. Nothing is embedded that its issuer did not sign.

mod common;

use mohur_agent::documents::ltv::{gather, Fetching, LtvError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A PKI whose certificates name CRLs at a server that serves the CRLs of `crl_pki`'s
/// CAs (another PKI's, with the same names, when forging), while `up`.
fn pki_with_crls_from(
    dir: &Path,
    crl_pki: Arc<std::sync::OnceLock<PathBuf>>,
    up: Arc<AtomicBool>,
) -> (mohur_certs::TestPki, mohur_tests::http::HttpServer) {
    let server = mohur_tests::http::HttpServer::start(move |req| {
        if !up.load(Ordering::SeqCst) {
            return None;
        }
        let stem = req.path.strip_prefix("/crl/")?.strip_suffix(".crl")?;
        let crl = mohur_certs::revocation_list(crl_pki.get()?, stem, &[]).ok()?;
        Some(("application/pkix-crl".to_owned(), crl))
    });
    let opts = mohur_certs::Options { crl_base: Some(format!("{}/crl", server.url)), ..Default::default() };
    (mohur_certs::generate_with(&dir.join("pki"), &opts).unwrap(), server)
}

/// OCSP and CRLs allowed, `secs` for each answer.
fn within(secs: u64) -> Fetching {
    Fetching { timeout: Duration::from_secs(secs), ..Fetching::default() }
}

fn chain(pki: &mohur_certs::TestPki) -> Vec<Vec<u8>> {
    ["azedit/sign.der", "ica.der", "pca.der", "root-ca.der"]
        .iter()
        .map(|f| std::fs::read(pki.dir.join(f)).unwrap())
        .collect()
}

#[test]
fn a_crl_signed_by_a_forged_ca_of_the_same_name_is_not_embedded() {
    let dir = common::temp_dir("ltv-forged-crl");
    let source = Arc::new(std::sync::OnceLock::new());
    let up = Arc::new(AtomicBool::new(true));
    let (pki, _server) = pki_with_crls_from(&dir, source.clone(), up.clone());

    // The real CAs' CRLs: every certificate covered.
    source.set(pki.dir.clone()).unwrap();
    let data = gather(&chain(&pki), &within(10)).unwrap();
    assert_eq!(data.crls.len(), 3, "a CRL of the ICA, the PCA and the root");

    // The same server now serving a forged CA's CRLs (same names, other keys).
    let forged = mohur_certs::generate(&dir.join("forged")).unwrap();
    let dir2 = common::temp_dir("ltv-forged-crl-2");
    let source2 = Arc::new(std::sync::OnceLock::new());
    let (pki2, _server2) = pki_with_crls_from(&dir2, source2.clone(), up.clone());
    source2.set(forged.dir.clone()).unwrap();
    match gather(&chain(&pki2), &within(10)) {
        Err(LtvError::Unavailable { why, .. }) => assert!(why.contains("signature does not verify"), "{why}"),
        other => panic!("a forged CRL was accepted: {other:?}"),
    }

    // The distribution point down: no validation data, named as such.
    up.store(false, Ordering::SeqCst);
    assert!(matches!(gather(&chain(&pki), &within(5)), Err(LtvError::Unavailable { .. })));

    // The configuration's revocation_sources: OCSP only, and these certificates name no
    // responder: their CRLs are not fetched, and B-LT is refused saying so. Neither
    // source: refused before anything is asked.
    up.store(true, Ordering::SeqCst);
    let ocsp_only = Fetching { crl: false, ..within(5) };
    assert!(matches!(gather(&chain(&pki), &ocsp_only), Err(LtvError::NoRevocationSource(_))));
    let neither = Fetching { ocsp: false, crl: false, ..within(5) };
    assert!(matches!(gather(&chain(&pki), &neither), Err(LtvError::FetchingOff)));
    assert_eq!(gather(&chain(&pki), &Fetching { ocsp: false, ..within(5) }).unwrap().crls.len(), 3);
}
