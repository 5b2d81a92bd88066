//! The Web eID token as the agent builds it (`mohur_agent::signing::webeid`), checked against values
//! computed independently with OpenSSL.

mod cms_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cms_support::*;
use mohur_agent::signing::webeid::{
    algorithm_for, app_version_url, authenticate, build_token, digest_to_sign, validate_nonce, validate_origin,
    AuthToken, FORMAT,
};
use mohur_apdu::{HashAlg, KeyAlgorithm};
use openssl::hash::{hash, MessageDigest};

fn nonce() -> String {
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b).unwrap();
    STANDARD.encode(b)
}

#[test]
fn algorithms_per_key() {
    assert_eq!(algorithm_for(KeyAlgorithm::Rsa { bits: 2048 }), ("RS256", HashAlg::Sha256));
    assert_eq!(algorithm_for(KeyAlgorithm::Rsa { bits: 3072 }), ("RS256", HashAlg::Sha256));
    assert_eq!(algorithm_for(KeyAlgorithm::EcP256), ("ES256", HashAlg::Sha256));
    assert_eq!(algorithm_for(KeyAlgorithm::EcP384), ("ES384", HashAlg::Sha384));
}

#[test]
fn nonces() {
    let n = nonce();
    assert_eq!(n.len(), 44);
    validate_nonce(&n).unwrap();
    validate_nonce(&STANDARD.encode([7u8; 96])).unwrap(); // 128 chars
    validate_nonce(&STANDARD.encode([7u8; 33])).unwrap(); // 44 chars, no padding
    for (bad, why) in [
        (String::new(), "44 to 128"),
        (n[..40].to_string(), "44 to 128"),
        (STANDARD.encode([7u8; 97]), "44 to 128"), // 132 chars
        (format!("{}!", &n[..43]), "not base64"),  // outside the alphabet
        (format!("-_{}", &n[2..]), "not base64"),  // URL-safe alphabet
        ("-".repeat(44), "not base64"),
        (STANDARD.encode([7u8; 31]) + "====", "not base64"),
    ] {
        let err = validate_nonce(&bad).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST");
        assert!(err.to_string().contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn origins() {
    for (given, normal) in [
        ("https://portal.example", "https://portal.example"),
        ("HTTPS://Portal.Example", "https://portal.example"),
        ("https://portal.example:443", "https://portal.example"),
        ("http://localhost:80", "http://localhost"),
        ("https://portal.example:8443", "https://portal.example:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://[0:0:0:0:0:0:0:1]", "https://[::1]"),
        ("https://xn--e1afmkfd.xn--p1ai", "https://xn--e1afmkfd.xn--p1ai"),
    ] {
        assert_eq!(validate_origin(given).unwrap(), normal, "{given}");
    }
    for (bad, why) in [
        ("portal.example", "scheme://host"),
        ("ftp://portal.example", "https or http"),
        ("file:///etc/passwd", "https or http"),
        ("https://portal.example/", "path"),
        ("https://portal.example/login", "path"),
        ("https://portal.example?x=1", "query"),
        ("https://portal.example#x", "fragment"),
        ("https://user@portal.example", "user info"),
        ("https://", "invalid host"),
        ("https://:443", "invalid host"),
        ("https://portal..example", "invalid host"),
        ("https://-portal.example", "invalid host"),
        ("https://portal_example.com", "invalid host"),
        ("https://portäl.example", "invalid host"),
        ("https://portal.example:", "invalid port"),
        ("https://portal.example:0", "out of range"),
        ("https://portal.example:65536", "out of range"),
        ("https://portal.example:+80", "invalid port"),
        ("https://portal.example:1:2", "invalid port"),
        ("https://[::1", "unterminated"),
        ("https://[zz::1]", "invalid IPv6"),
        ("https://[::1]x", "junk"),
        ("https://portal.example ", "invalid host"),
        ("https://portal.example:80 ", "invalid port"),
    ] {
        let err = validate_origin(bad).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST");
        assert!(err.to_string().contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn digest_is_hash_of_hashes() {
    let n = nonce();
    let origin = "https://portal.example";
    for (alg, md) in [(HashAlg::Sha256, MessageDigest::sha256()), (HashAlg::Sha384, MessageDigest::sha384())] {
        let inner = [hash(md, origin.as_bytes()).unwrap().to_vec(), hash(md, n.as_bytes()).unwrap().to_vec()].concat();
        let expected = hash(md, &inner).unwrap();
        assert_eq!(digest_to_sign(origin, &n, alg).unwrap(), &expected[..], "{alg:?}");
    }
    assert_ne!(
        digest_to_sign(origin, &n, HashAlg::Sha256).unwrap(),
        digest_to_sign("https://portal.example:8443", &n, HashAlg::Sha256).unwrap()
    );
}

#[test]
fn token_json_shape() {
    let piv = holder("piv");
    let t = build_token(&piv.auth_cert_der, KeyAlgorithm::Rsa { bits: 2048 }, &[1, 2, 3], &app_version_url("1.2.3"));
    let v = serde_json::to_value(&t).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["algorithm", "appVersion", "format", "signature", "unverifiedCertificate"]);
    assert_eq!(obj["format"], "web-eid:1.0");
    assert_eq!(obj["algorithm"], "RS256");
    assert_eq!(obj["signature"], "AQID");
    assert_eq!(obj["appVersion"], "https://mohur.example/releases/1.2.3");
    // The certificate is standard base64 of the DER, parseable by OpenSSL.
    let der = STANDARD.decode(obj["unverifiedCertificate"].as_str().unwrap()).unwrap();
    assert_eq!(openssl::x509::X509::from_der(&der).unwrap().to_der().unwrap(), piv.auth_cert_der);
    // And it reads back.
    let back: AuthToken = serde_json::from_value(v).unwrap();
    assert_eq!(back, t);
    assert_eq!(FORMAT, "web-eid:1.0");
}

#[test]
fn authenticate_signs_what_openssl_verifies() {
    let origin = "https://Portal.Example:443";
    for (holder_name, alg) in [("piv", "RS256"), ("azedit", "ES384"), ("am", "ES384")] {
        let h = holder(holder_name);
        let n = nonce();
        let t = authenticate(&h.auth_cert_der, origin, &n, "0.1.0", &mut token(&h.auth_key_pem)).unwrap();
        assert_eq!(t.algorithm, alg);
        assert_eq!(t.app_version, "https://mohur.example/releases/0.1.0");
        // Independent check: OpenSSL hashes hash(origin) ‖ hash(nonce) itself and verifies.
        let md = if alg == "ES384" { MessageDigest::sha384() } else { MessageDigest::sha256() };
        let signed =
            [hash(md, b"https://portal.example").unwrap().to_vec(), hash(md, n.as_bytes()).unwrap().to_vec()].concat();
        let cert = openssl::x509::X509::from_der(&h.auth_cert_der).unwrap();
        let key = cert.public_key().unwrap();
        let mut sig = STANDARD.decode(&t.signature).unwrap();
        if alg.starts_with("ES") {
            assert_eq!(sig.len(), 96, "raw r ‖ s");
            let (r, s) = sig.split_at(48);
            let es = openssl::ecdsa::EcdsaSig::from_private_components(
                openssl::bn::BigNum::from_slice(r).unwrap(),
                openssl::bn::BigNum::from_slice(s).unwrap(),
            )
            .unwrap();
            sig = es.to_der().unwrap();
        }
        let mut v = openssl::sign::Verifier::new(md, &key).unwrap();
        v.update(&signed).unwrap();
        assert!(v.verify(&sig).unwrap(), "{holder_name}");
    }
}

#[test]
fn authenticate_refuses_bad_input_before_the_card() {
    let h = holder("piv");
    let mut asked = false;
    let mut tok = |_: HashAlg, _: &[u8]| -> mohur_agent::Result<Vec<u8>> {
        asked = true;
        Ok(vec![0; 256])
    };
    assert!(authenticate(&h.auth_cert_der, "https://portal.example/", &nonce(), "0", &mut tok).is_err());
    assert!(authenticate(&h.auth_cert_der, "https://portal.example", "short", "0", &mut tok).is_err());
    assert!(!asked);
    // An EC card answering with DER instead of r ‖ s is a token error.
    let az = holder("azedit");
    let err = authenticate(&az.auth_cert_der, "https://portal.example", &nonce(), "0", &mut |_, _| Ok(vec![0x30; 70]))
        .unwrap_err();
    assert_eq!(err.code(), "TOKEN_ERROR");
}
