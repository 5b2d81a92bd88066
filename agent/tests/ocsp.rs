//! mohur's OCSP client (`mohur_agent::documents::ocsp`, RFC 6960) against `openssl ocsp` as
//! the test PKI's E-Government CA responder (`mohur_tests::ocsp`), and the answers an
//! attacker could hand it: another CA's, another certificate's, another request's, junk.

mod common;

use mohur_agent::documents::ocsp::{check, fetch, Status};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use x509_cert::der::Decode;
use x509_cert::Certificate;

struct Responder {
    pki: mohur_certs::TestPki,
    revoked: Arc<Mutex<Vec<Vec<u8>>>>,
    url: String,
    _server: mohur_tests::http::HttpServer,
}

/// A fresh PKI whose certificates name a responder that `openssl ocsp` answers for.
fn responder(name: &str) -> Responder {
    let dir = common::temp_dir(name);
    let revoked: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (pki_dir, list, scratch) = (dir.join("pki"), revoked.clone(), dir.join("ocsp"));
    let server = mohur_tests::http::HttpServer::start(move |req| {
        let answer = mohur_tests::ocsp::answer(&pki_dir, &scratch, &req.body, &list.lock().unwrap())?;
        Some(("application/ocsp-response".to_owned(), answer))
    });
    let url = format!("{}/ocsp", server.url);
    let opts = mohur_certs::Options { ocsp_url: Some(url.clone()), ..Default::default() };
    let pki = mohur_certs::generate_with(&dir.join("pki"), &opts).unwrap();
    Responder { pki, revoked, url, _server: server }
}

fn cert(path: &std::path::Path) -> Certificate {
    Certificate::from_der(&std::fs::read(path).unwrap()).unwrap()
}

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn the_responders_word_is_taken_only_when_it_is_about_this_certificate_and_signed_for_its_issuer() {
    let r = responder("ocsp-client");
    let ica = cert(&r.pki.dir.join("ica.der"));
    let sign_der = std::fs::read(r.pki.dir.join("azedit/sign.der")).unwrap();
    let sign = Certificate::from_der(&sign_der).unwrap();
    let auth = cert(&r.pki.dir.join("azedit/auth.der"));
    assert_eq!(mohur_agent::documents::ocsp::urls(&sign), vec![r.url.clone()]);

    let (good, status) = fetch(&r.url, &sign, &ica, TIMEOUT).unwrap();
    assert_eq!(status, Status::Good);
    // The responder's certificate came with the answer, and needs no check of its own.
    let responders = mohur_agent::documents::ocsp::certificates(&good);
    assert_eq!(responders.len(), 1);
    assert!(mohur_agent::documents::ocsp::no_check(&Certificate::from_der(&responders[0]).unwrap()));

    r.revoked.lock().unwrap().push(sign_der);
    let (_, status) = fetch(&r.url, &sign, &ica, TIMEOUT).unwrap();
    assert!(matches!(status, Status::Revoked(t) if t <= SystemTime::now()), "{status:?}");
    // The other key of the card is not revoked.
    assert_eq!(fetch(&r.url, &auth, &ica, TIMEOUT).unwrap().1, Status::Good);

    // The good answer about the signing certificate, handed over for the authentication
    // certificate: refused.
    let err = check(&good, &auth, &ica, SystemTime::now(), None, false).unwrap_err();
    assert!(err.contains("another certificate"), "{err}");
    // An answer to another request (its nonce is not ours).
    let err = check(&good, &sign, &ica, SystemTime::now(), Some(&[0u8; 16]), false).unwrap_err();
    assert!(err.contains("nonce"), "{err}");
    // Another CA of the same name (a forged E-Government CA) and its responder: the
    // responder's certificate names our issuer but our issuer did not sign it.
    let other = responder("ocsp-client-other");
    let other_ica = cert(&other.pki.dir.join("ica.der"));
    let other_sign = cert(&other.pki.dir.join("azedit/sign.der"));
    let (theirs, _) = fetch(&other.url, &other_sign, &other_ica, TIMEOUT).unwrap();
    let err = check(&theirs, &other_sign, &ica, SystemTime::now(), None, false).unwrap_err();
    assert!(err.contains("the OCSP responder's certificate is not the issuer's"), "{err}");
    // Judged a week later as a fresh answer: past its nextUpdate (openssl ocsp -ndays 1),
    // a replayed answer; embedded in a document, still evidence of its day.
    let later = SystemTime::now() + Duration::from_secs(7 * 86_400);
    assert!(check(&good, &sign, &ica, later, None, true).unwrap_err().contains("expired"));
    assert_eq!(check(&good, &sign, &ica, later, None, false).unwrap(), Status::Good);
    // One byte of the signed response data changed: the signature no longer verifies.
    let mut forged = good.clone();
    let at = forged.len() / 2;
    forged[at] ^= 0x01;
    assert!(check(&forged, &sign, &ica, SystemTime::now(), None, false).is_err());
    // Junk, and a responder that is not there.
    assert!(check(b"not DER", &sign, &ica, SystemTime::now(), None, false)
        .unwrap_err()
        .contains("not an OCSP response"));
    assert!(fetch("http://127.0.0.1:9/ocsp", &sign, &ica, Duration::from_secs(2)).is_err());
}
