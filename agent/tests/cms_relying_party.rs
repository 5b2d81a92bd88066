//! The relying party's CAdES check (`mohur_agent::signing::verify::verify_cms`, RustCrypto)
//! on signatures from `mohur_agent::signing::cms::sign_cades`, and on CMS made
//! independently by the openssl crate; OpenSSL's CMS_verify, an independent verifier,
//! must agree on every signature it accepts or refuses.

mod cms_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms_support::*;
use mohur_agent::signing::cms::{sign_cades, Content, SignRequest};
use mohur_agent::signing::rejection::Why;
use mohur_agent::signing::verify::verify_cms;
use mohur_apdu::HashAlg;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::PKey;

const DOC: &[u8] = b"%PDF-1.7 pretend document\n\x00\x01\x02";

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 5)
}

fn sha256(d: &[u8]) -> Vec<u8> {
    hash(MessageDigest::sha256(), d).unwrap().to_vec()
}

/// OpenSSL's CMS_verify (with the test PKI's root and CAs), the independent opinion.
fn openssl_accepts(der: &[u8], content: Option<&[u8]>) -> bool {
    use openssl::x509::{store::X509StoreBuilder, X509};
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(X509::from_pem(&std::fs::read(&pki().root_cert_pem).unwrap()).unwrap()).unwrap();
    for c in X509::stack_from_pem(&std::fs::read(&pki().chain_pem).unwrap()).unwrap() {
        store.add_cert(c).unwrap();
    }
    let store = store.build();
    CmsContentInfo::from_der(der)
        .and_then(|mut ci| ci.verify(None, Some(&store), content, None, CMSOptions::BINARY))
        .is_ok()
}

/// Refused as a signature of kind `why` (what mohur's reports tell), with `detail` in its
/// technical detail.
fn assert_rejected<T: std::fmt::Debug>(r: mohur_agent::Result<T>, why: Why, detail: &str) {
    let err = r.expect_err(detail);
    assert_eq!(err.code(), "BAD_REQUEST", "{err}");
    assert!(err.to_string().contains(detail), "expected {detail:?}, got: {err}");
    match err {
        mohur_agent::Error::Rejected(r) => assert_eq!(r.why, why, "{}", r.detail),
        other => panic!("not a rejection: {other:?}"),
    }
}

#[test]
fn cades_from_the_agent_verifies() {
    let trust = trust();
    for (name, key_of) in [("piv", 0), ("piv", 1), ("azedit", 1), ("am", 1)] {
        let h = holder(name);
        let (cert, key) =
            if key_of == 0 { (&h.auth_cert_der, &h.auth_key_pem) } else { (&h.sign_cert_der, &h.sign_key_pem) };
        let t = t0();
        let chain = chain_der();
        for (detached, chain) in [(false, &chain[..]), (true, &chain[..]), (false, &[][..]), (true, &[][..])] {
            let req =
                SignRequest { certificate: cert, chain, content: Content::Data(DOC), detached, signing_time: Some(t) };
            let der = sign_cades(&req, &mut token(key)).unwrap();
            let v = verify_cms(&der, detached.then_some(DOC), &trust).unwrap();
            assert!(openssl_accepts(&der, detached.then_some(DOC)), "OpenSSL refuses what mohur accepts");
            assert_eq!(v.signer_cn, h.holder.common_name);
            assert_eq!(v.signing_time, t);
            assert_eq!(v.content_sha256, sha256(DOC));

            if detached {
                let mut other = DOC.to_vec();
                other.push(b'!');
                assert_rejected(verify_cms(&der, Some(&other), &trust), Why::Altered, "CMS signature does not verify");
                assert!(!openssl_accepts(&der, Some(&other)));
            } else {
                let at = der.windows(DOC.len()).position(|w| w == DOC).unwrap();
                let mut bad = der.clone();
                bad[at] ^= 0x01;
                assert_rejected(verify_cms(&bad, None, &trust), Why::Altered, "CMS signature does not verify");
                assert!(!openssl_accepts(&bad, None));
            }
        }
        // Digest-only signing, verified against the document.
        let digest = sha256(DOC);
        let req = SignRequest {
            certificate: cert,
            chain: &[],
            content: Content::Digest { alg: HashAlg::Sha256, digest: &digest },
            detached: true,
            signing_time: Some(t),
        };
        let der = sign_cades(&req, &mut token(key)).unwrap();
        assert_eq!(verify_cms(&der, Some(DOC), &trust).unwrap().content_sha256, digest);
        assert_rejected(verify_cms(&der, Some(&DOC[1..]), &trust), Why::Altered, "CMS signature does not verify");
    }
}

#[test]
fn tampered_signature_value_fails() {
    let h = holder("azedit");
    let req = SignRequest {
        certificate: &h.sign_cert_der,
        chain: &[],
        content: Content::Data(DOC),
        detached: true,
        signing_time: Some(t0()),
    };
    let key = PKey::private_key_from_pem(&h.sign_key_pem).unwrap();
    // The card's signature with one bit flipped (r ‖ s stays well-formed).
    let der = sign_cades(&req, &mut |alg, d| {
        let mut s = card_sign(&key, alg, d);
        s[47] ^= 0x01;
        Ok(s)
    })
    .unwrap();
    assert_rejected(verify_cms(&der, Some(DOC), &trust()), Why::Altered, "CMS signature does not verify");
    assert!(!openssl_accepts(&der, Some(DOC)));
    assert_rejected(verify_cms(b"\x30\x03\x02\x01\x00", None, &trust()), Why::Unreadable, "not a DER CMS message");
}

#[test]
fn signer_from_another_ca_fails() {
    let ca_key = ec_key(Nid::SECP384R1);
    let ca = issue_cert("Rogue Root CA", &ca_key, None, -1, 30, false);
    let key = ec_key(Nid::SECP384R1);
    let cert = issue_cert("ALIYEVA LEYLA", &key, Some((&ca, &ca_key)), -1, 30, false).to_der().unwrap();
    let chain = vec![ca.to_der().unwrap()];
    let req = SignRequest {
        certificate: &cert,
        chain: &chain,
        content: Content::Data(DOC),
        detached: false,
        signing_time: Some(t0()),
    };
    let der = sign_cades(&req, &mut token(&key.private_key_to_pem_pkcs8().unwrap())).unwrap();
    assert_rejected(verify_cms(&der, None, &trust()), Why::UntrustedIssuer, "does not chain to a trusted CA");
    assert!(!openssl_accepts(&der, None));
}

#[test]
fn plain_cms_without_signing_certificate_v2_is_not_cades() {
    // Made by OpenSSL itself (CMS_sign): valid CMS, but without the ESS binding.
    let h = holder("piv");
    let cert = openssl::x509::X509::from_der(&h.sign_cert_der).unwrap();
    let key = PKey::private_key_from_pem(&h.sign_key_pem).unwrap();
    let ci = CmsContentInfo::sign(Some(&cert), Some(&key), None, Some(DOC), CMSOptions::BINARY).unwrap();
    let der = ci.to_der().unwrap();
    assert_rejected(
        verify_cms(&der, None, &trust()),
        Why::Unsupported,
        "not CAdES: no signing-certificate-v2 attribute",
    );
}
