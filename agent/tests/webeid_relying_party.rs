//! The relying party's token checks (`mohur_agent::demo::relying_party`) against tokens made by the
//! agent's `webeid::authenticate` with software keys (the test PKI's card keys, plus a few
//! certificates issued here with the openssl crate for the failure cases).

mod cms_support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cms_support::*;
use mohur_agent::demo::relying_party::{verify_auth_token, verify_login, NonceStore, TrustStore, VerifiedLogin};
use mohur_agent::signing::rejection::Why;
use mohur_agent::signing::webeid::{authenticate, AuthToken};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};

const ORIGIN: &str = "https://portal.example";

fn login(cert: &[u8], key_pem: &[u8], origin: &str, nonces: &NonceStore) -> (AuthToken, String) {
    let nonce = nonces.issue().unwrap();
    let t = authenticate(cert, origin, &nonce, "0.1.0", &mut token(key_pem)).unwrap();
    (t, nonce)
}

fn assert_rejected(r: mohur_agent::Result<VerifiedLogin>, why: &str) {
    let err = r.expect_err(why);
    assert_eq!(err.code(), "BAD_REQUEST", "{err}");
    assert!(err.to_string().contains(why), "expected {why:?}, got: {err}");
}

fn pem(key: &PKey<Private>) -> Vec<u8> {
    key.private_key_to_pem_pkcs8().unwrap()
}

#[test]
fn good_tokens_verify_and_name_the_holder() {
    let nonces = NonceStore::new(Duration::from_secs(300));
    let trust = trust();
    for name in ["piv", "azedit", "am"] {
        let h = holder(name);
        let (t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
        let v = verify_login(&t, ORIGIN, &nonce, &nonces, &trust).unwrap();
        assert_eq!(v.subject_cn, h.holder.common_name);
        assert_eq!(v.given_name.as_deref(), Some(&*h.holder.given_name));
        assert_eq!(v.surname.as_deref(), Some(&*h.holder.surname));
        assert_eq!(v.country.as_deref(), Some(&*h.holder.country));
        assert_eq!(v.personal_code.as_deref(), Some(&*h.holder.personal_code));
        assert_eq!(v.certificate_der, h.auth_cert_der);
    }
    // The relying party's configured origin is normalised too.
    let h = holder("piv");
    let (t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    verify_auth_token(&t, "HTTPS://portal.example:443", &nonce, &trust).unwrap();
}

#[test]
fn es256_and_ps256_verify() {
    let trust = trust();
    let nonces = NonceStore::new(Duration::from_secs(300));
    let (ica, ica_key) = ica();
    // P-256 authentication certificate (the test PKI's P-256 key is a signing key).
    let key = ec_key(Nid::X9_62_PRIME256V1);
    let cert = issue_cert("P256 AUTH", &key, Some((&ica, &ica_key)), -1, 30, true).to_der().unwrap();
    let (t, nonce) = login(&cert, &pem(&key), ORIGIN, &nonces);
    assert_eq!(t.algorithm, "ES256");
    assert_eq!(verify_login(&t, ORIGIN, &nonce, &nonces, &trust).unwrap().subject_cn, "P256 AUTH");

    // PS256 (RFC 7518 §3.5), which mohur does not produce but portals may receive.
    let h = holder("piv");
    let nonce = nonces.issue().unwrap();
    let md = openssl::hash::MessageDigest::sha256();
    let signed = [
        openssl::hash::hash(md, ORIGIN.as_bytes()).unwrap().to_vec(),
        openssl::hash::hash(md, nonce.as_bytes()).unwrap().to_vec(),
    ]
    .concat();
    let key = PKey::private_key_from_pem(&h.auth_key_pem).unwrap();
    let mut s = openssl::sign::Signer::new(md, &key).unwrap();
    s.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS).unwrap();
    s.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH).unwrap();
    s.set_rsa_mgf1_md(md).unwrap();
    s.update(&signed).unwrap();
    let t = AuthToken {
        unverified_certificate: STANDARD.encode(&h.auth_cert_der),
        algorithm: "PS256".into(),
        signature: STANDARD.encode(s.sign_to_vec().unwrap()),
        format: "web-eid:1.0".into(),
        app_version: "https://other.example/1".into(),
        unverified_signing_certificate: None,
        supported_signature_algorithms: None,
    };
    verify_login(&t, ORIGIN, &nonce, &nonces, &trust).unwrap();
}

#[test]
fn wrong_origin_fails() {
    let nonces = NonceStore::new(Duration::from_secs(300));
    let h = holder("azedit");
    let (t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, "https://evil.example", &nonces);
    assert_rejected(
        verify_login(&t, ORIGIN, &nonce, &nonces, &trust()),
        "token signature does not verify for this origin and nonce",
    );
}

#[test]
fn nonces_are_single_use_and_expire() {
    let trust = trust();
    let nonces = NonceStore::new(Duration::from_secs(300));
    let h = holder("piv");
    let (t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    assert_eq!(nonce.len(), 44);
    verify_login(&t, ORIGIN, &nonce, &nonces, &trust).unwrap();
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust), "challenge nonce already used");

    // A nonce the relying party never issued.
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b).unwrap();
    let forged = STANDARD.encode(b);
    let t2 = authenticate(&h.auth_cert_der, ORIGIN, &forged, "0", &mut token(&h.auth_key_pem)).unwrap();
    assert_rejected(verify_login(&t2, ORIGIN, &forged, &nonces, &trust), "unknown challenge nonce");

    let short = NonceStore::new(Duration::from_millis(200));
    let (t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &short);
    std::thread::sleep(Duration::from_millis(300));
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &short, &trust), "challenge nonce expired");
    // Taking an expired nonce still uses it up.
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &short, &trust), "already used");

    // Many threads, one nonce: exactly one wins.
    let nonces = std::sync::Arc::new(NonceStore::new(Duration::from_secs(300)));
    let n = nonces.issue().unwrap();
    let wins: usize = (0..8)
        .map(|_| {
            let (nonces, n) = (nonces.clone(), n.clone());
            std::thread::spawn(move || nonces.take(&n).is_ok() as usize)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|j| j.join().unwrap())
        .sum();
    assert_eq!(wins, 1);
    // Issued nonces are distinct.
    let set: std::collections::HashSet<_> = (0..100).map(|_| nonces.issue().unwrap()).collect();
    assert_eq!(set.len(), 100);
}

#[test]
fn tampered_signature_fails() {
    let trust = trust();
    for name in ["piv", "am"] {
        let nonces = NonceStore::new(Duration::from_secs(300));
        let h = holder(name);
        let (mut t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
        let mut sig = STANDARD.decode(&t.signature).unwrap();
        sig[10] ^= 0x01;
        t.signature = STANDARD.encode(sig);
        assert_rejected(
            verify_login(&t, ORIGIN, &nonce, &nonces, &trust),
            "token signature does not verify for this origin and nonce",
        );
    }
    // A signature over another nonce.
    let nonces = NonceStore::new(Duration::from_secs(300));
    let h = holder("piv");
    let (t, _) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    let other = nonces.issue().unwrap();
    assert_rejected(verify_login(&t, ORIGIN, &other, &nonces, &trust), "does not verify");
}

#[test]
fn certificate_from_another_ca_fails() {
    let nonces = NonceStore::new(Duration::from_secs(300));
    let ca_key = ec_key(Nid::SECP384R1);
    let ca = issue_cert("Rogue Root CA", &ca_key, None, -1, 30, false);
    let key = ec_key(Nid::SECP384R1);
    // Same subject as a real holder, so only the issuer differs.
    let cert = issue_cert("ALIYEVA LEYLA", &key, Some((&ca, &ca_key)), -1, 30, true).to_der().unwrap();
    let (t, nonce) = login(&cert, &pem(&key), ORIGIN, &nonces);
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust()), "certificate does not chain to a trusted CA");

    // The rogue root itself, self-signed.
    let (t, nonce) = login(&ca.to_der().unwrap(), &pem(&ca_key), ORIGIN, &nonces);
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust()), "certificate does not chain to a trusted CA");
}

#[test]
fn certificate_without_digital_signature_fails() {
    let nonces = NonceStore::new(Duration::from_secs(300));
    // The card's signing certificate (nonRepudiation only) is not an authentication certificate.
    let h = holder("piv");
    let (t, nonce) = login(&h.sign_cert_der, &h.sign_key_pem, ORIGIN, &nonces);
    assert_rejected(
        verify_login(&t, ORIGIN, &nonce, &nonces, &trust()),
        "certificate is not an authentication certificate (no digitalSignature key usage)",
    );
}

#[test]
fn expired_and_future_certificates_fail() {
    let nonces = NonceStore::new(Duration::from_secs(300));
    let (ica, ica_key) = ica();
    let key = ec_key(Nid::SECP384R1);
    let expired = issue_cert("EXPIRED", &key, Some((&ica, &ica_key)), -30, -1, true).to_der().unwrap();
    let (t, nonce) = login(&expired, &pem(&key), ORIGIN, &nonces);
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust()), "has expired (notAfter");
    // Its kind and whose certificate, for the reports that tell it in the citizen's words.
    let (t, nonce) = login(&expired, &pem(&key), ORIGIN, &nonces);
    let kind = |r: mohur_agent::Result<VerifiedLogin>| match r {
        Err(mohur_agent::Error::Rejected(r)) => (r.why, r.who),
        other => panic!("not a rejection: {other:?}"),
    };
    assert_eq!(kind(verify_login(&t, ORIGIN, &nonce, &nonces, &trust())), (Why::Expired, Some("EXPIRED".into())));
    let future = issue_cert("FUTURE", &key, Some((&ica, &ica_key)), 1, 30, true).to_der().unwrap();
    let (t, nonce) = login(&future, &pem(&key), ORIGIN, &nonces);
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust()), "is not valid yet (notBefore");
    let (t, nonce) = login(&future, &pem(&key), ORIGIN, &nonces);
    assert_eq!(kind(verify_login(&t, ORIGIN, &nonce, &nonces, &trust())), (Why::NotYetValid, Some("FUTURE".into())));
}

#[test]
fn algorithm_must_match_the_key_and_format_must_be_known() {
    let trust = trust();
    let nonces = NonceStore::new(Duration::from_secs(300));
    let h = holder("azedit");
    for (alg, why) in [
        ("ES256", "token algorithm ES256 does not match the certificate's P-384 key"),
        ("RS256", "token algorithm RS256 does not match"),
        ("HS256", "unsupported token algorithm"),
    ] {
        let (mut t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
        t.algorithm = alg.into();
        assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust), why);
    }
    let (mut t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    t.format = "web-eid:2".into();
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust), "unsupported token format");
    let (mut t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    t.unverified_certificate = "not base64!".into();
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust), "certificate is not base64");
    let (mut t, nonce) = login(&h.auth_cert_der, &h.auth_key_pem, ORIGIN, &nonces);
    let sig = STANDARD.decode(&t.signature).unwrap();
    t.signature = STANDARD.encode(&sig[..95]);
    assert_rejected(verify_login(&t, ORIGIN, &nonce, &nonces, &trust), "token signature is 95 bytes");
}

#[test]
fn trust_store_needs_a_self_signed_root() {
    let p = pki();
    let chain = std::fs::read(&p.chain_pem).unwrap();
    assert!(TrustStore::from_pem(&chain, &chain).is_err());
    assert!(TrustStore::from_pem(b"junk", &chain).is_err());
    assert!(TrustStore::from_pem_files(&p.root_cert_pem, &p.dir.join("missing.pem")).is_err());
}
