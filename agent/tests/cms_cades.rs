//! CAdES-BES from `mohur_agent::signing::cms::sign_cades`, signed by software keys acting as the card and
//! checked by an independent peer: the OpenSSL CLI (`cms -verify -cades`, which also checks the
//! ESS signing-certificate-v2 binding) and the openssl crate's digests.

mod cms_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use cms_support::*;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use mohur_agent::signing::cms::{
    digest_alg_for, sign_cades, Content, SignRequest, SigningCertificateV2, ID_AA_SIGNING_CERTIFICATE_V2,
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use mohur_apdu::{HashAlg, KeyAlgorithm};
use openssl::hash::{hash, MessageDigest};
use x509_cert::time::Time;

const CONTENT: &[u8] = b"mohur CAdES test document\r\n\x00\xff binary bytes survive -binary\n";

/// The three key kinds the cards carry: (name, cert DER, key PEM, expected key algorithm).
fn signers() -> Vec<(&'static str, Vec<u8>, Vec<u8>, KeyAlgorithm)> {
    let piv = holder("piv");
    let azedit = holder("azedit");
    vec![
        ("rsa2048", piv.auth_cert_der, piv.auth_key_pem, KeyAlgorithm::Rsa { bits: 2048 }),
        ("p256", piv.sign_cert_der, piv.sign_key_pem, KeyAlgorithm::EcP256),
        ("p384", azedit.sign_cert_der, azedit.sign_key_pem, KeyAlgorithm::EcP384),
    ]
}

fn md(alg: HashAlg) -> MessageDigest {
    match alg {
        HashAlg::Sha256 => MessageDigest::sha256(),
        HashAlg::Sha384 => MessageDigest::sha384(),
        HashAlg::Sha512 => MessageDigest::sha512(),
        other => panic!("{other:?}"),
    }
}

fn signing_time() -> SystemTime {
    // Whole seconds: UTCTime has no fractions.
    UNIX_EPOCH + Duration::from_secs(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 60)
}

fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: openssl cms -verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Verification successful"), "{what}: {err}");
}

fn assert_fails(out: &std::process::Output, what: &str, why: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: tampered input verified:\n{err}");
    assert!(err.contains(why), "{what}: expected {why:?} in\n{err}");
}

/// Parses the output back with the `cms` crate and checks the structure and the four signed
/// attributes against values computed here with OpenSSL.
fn check_structure(der: &[u8], cert: &[u8], alg: HashAlg, content: &[u8], attached: bool, t: SystemTime) {
    let ci = ContentInfo::from_der(der).unwrap();
    assert_eq!(ci.content_type, ID_SIGNED_DATA);
    let sd: SignedData = ci.content.decode_as().unwrap();
    assert_eq!(sd.encap_content_info.econtent_type, ID_DATA);
    match (&sd.encap_content_info.econtent, attached) {
        (Some(e), true) => assert_eq!(e.decode_as::<OctetString>().unwrap().as_bytes(), content),
        (None, false) => {}
        (e, _) => panic!("eContent {e:?} but attached = {attached}"),
    }
    let certs = sd.certificates.as_ref().expect("certificates embedded");
    assert!(certs
        .0
        .iter()
        .any(|c| matches!(c, cms::cert::CertificateChoices::Certificate(x) if x.to_der().unwrap() == cert)));
    assert_eq!(sd.signer_infos.0.len(), 1);
    let si = sd.signer_infos.0.get(0).unwrap();
    let alg_oid = match alg {
        HashAlg::Sha256 => "2.16.840.1.101.3.4.2.1",
        HashAlg::Sha384 => "2.16.840.1.101.3.4.2.2",
        HashAlg::Sha512 => "2.16.840.1.101.3.4.2.3",
        other => panic!("{other:?}"),
    };
    assert_eq!(si.digest_alg.oid, ObjectIdentifier::new_unwrap(alg_oid));
    let attrs = si.signed_attrs.as_ref().expect("signed attributes");
    let find = |oid| {
        let a = attrs.iter().find(|a| a.oid == oid).unwrap_or_else(|| panic!("signed attribute {oid} missing"));
        assert_eq!(a.values.len(), 1);
        a.values.get(0).unwrap().clone()
    };
    assert_eq!(find(ID_CONTENT_TYPE).decode_as::<ObjectIdentifier>().unwrap(), ID_DATA);
    let digest = find(ID_MESSAGE_DIGEST).decode_as::<OctetString>().unwrap();
    assert_eq!(digest.as_bytes(), &hash(md(alg), content).unwrap()[..]);
    let time = Time::from_der(&find(ID_SIGNING_TIME).to_der().unwrap()).unwrap();
    assert!(matches!(time, Time::UtcTime(_)));
    assert_eq!(time.to_system_time(), t);
    let scv2 = find(ID_AA_SIGNING_CERTIFICATE_V2).decode_as::<SigningCertificateV2>().unwrap();
    assert_eq!(scv2.certs.len(), 1);
    assert!(scv2.certs[0].hash_algorithm.is_none(), "SHA-256 is the DEFAULT and must be omitted in DER");
    assert_eq!(scv2.certs[0].cert_hash.as_bytes(), &hash(MessageDigest::sha256(), cert).unwrap()[..]);
    let parsed = x509_cert::Certificate::from_der(cert).unwrap();
    let is = scv2.certs[0].issuer_serial.as_ref().expect("IssuerSerial");
    assert_eq!(is.serial_number, parsed.tbs_certificate.serial_number);
}

#[test]
fn digest_algorithm_follows_the_key() {
    assert_eq!(digest_alg_for(KeyAlgorithm::Rsa { bits: 2048 }), HashAlg::Sha256);
    assert_eq!(digest_alg_for(KeyAlgorithm::EcP256), HashAlg::Sha256);
    assert_eq!(digest_alg_for(KeyAlgorithm::EcP384), HashAlg::Sha384);
}

#[test]
fn attached_verifies_with_openssl_and_tampering_fails() {
    for (name, cert, key, kalg) in signers() {
        assert_eq!(mohur_apdu::x509::key_algorithm(&cert).unwrap(), kalg);
        let dir = scratch(&format!("attached-{name}"));
        let t = signing_time();
        let req = SignRequest {
            certificate: &cert,
            chain: &[],
            content: Content::Data(CONTENT),
            detached: false,
            signing_time: Some(t),
        };
        let der = sign_cades(&req, &mut token(&key)).unwrap();
        check_structure(&der, &cert, digest_alg_for(kalg), CONTENT, true, t);
        let p = dir.join("sig.p7s");
        std::fs::write(&p, &der).unwrap();
        assert_ok(&openssl_cms_verify(&p, None, true), name);
        assert_eq!(std::fs::read(p.with_extension("out")).unwrap(), CONTENT, "{name}: content out");

        // Flip one byte of the encapsulated content.
        let at = der.windows(CONTENT.len()).position(|w| w == CONTENT).unwrap();
        let mut bad = der.clone();
        bad[at + 3] ^= 0x01;
        let p = dir.join("tampered.p7s");
        std::fs::write(&p, &bad).unwrap();
        assert_fails(&openssl_cms_verify(&p, None, true), name, "content verify error");
    }
}

#[test]
fn detached_verifies_with_openssl_and_other_content_fails() {
    for (name, cert, key, kalg) in signers() {
        let dir = scratch(&format!("detached-{name}"));
        let t = signing_time();
        let chain = chain_der();
        // With the chain embedded, OpenSSL needs no -certfile.
        let req = SignRequest {
            certificate: &cert,
            chain: &chain,
            content: Content::Data(CONTENT),
            detached: true,
            signing_time: Some(t),
        };
        let der = sign_cades(&req, &mut token(&key)).unwrap();
        check_structure(&der, &cert, digest_alg_for(kalg), CONTENT, false, t);
        assert!(der.windows(CONTENT.len()).all(|w| w != CONTENT), "{name}: content must not be embedded");
        let (p, c) = (dir.join("sig.p7s"), dir.join("content.bin"));
        std::fs::write(&p, &der).unwrap();
        std::fs::write(&c, CONTENT).unwrap();
        assert_ok(&openssl_cms_verify(&p, Some(&c), false), name);

        let mut other = CONTENT.to_vec();
        other[0] ^= 0x20;
        std::fs::write(&c, &other).unwrap();
        assert_fails(&openssl_cms_verify(&p, Some(&c), false), name, "content verify error");
        // Without the embedded chain and without -certfile the path cannot be built.
        let req = SignRequest { chain: &[], ..req };
        std::fs::write(&p, sign_cades(&req, &mut token(&key)).unwrap()).unwrap();
        std::fs::write(&c, CONTENT).unwrap();
        assert_fails(&openssl_cms_verify(&p, Some(&c), false), name, "unable to get local issuer certificate");
        assert_ok(&openssl_cms_verify(&p, Some(&c), true), name);
    }
}

#[test]
fn digest_only_verifies_against_the_content() {
    for (name, cert, key, kalg) in signers() {
        for alg in [digest_alg_for(kalg), HashAlg::Sha512] {
            let dir = scratch(&format!("digest-{name}-{alg:?}"));
            let digest = hash(md(alg), CONTENT).unwrap();
            let t = signing_time();
            let req = SignRequest {
                certificate: &cert,
                chain: &[],
                content: Content::Digest { alg, digest: &digest },
                detached: true,
                signing_time: Some(t),
            };
            let der = sign_cades(&req, &mut token(&key)).unwrap();
            check_structure(&der, &cert, alg, CONTENT, false, t);
            let (p, c) = (dir.join("sig.p7s"), dir.join("content.bin"));
            std::fs::write(&p, &der).unwrap();
            std::fs::write(&c, CONTENT).unwrap();
            assert_ok(&openssl_cms_verify(&p, Some(&c), true), name);
            std::fs::write(&c, &CONTENT[1..]).unwrap();
            assert_fails(&openssl_cms_verify(&p, Some(&c), true), name, "content verify error");
        }
    }
}

#[test]
fn signature_algorithm_identifiers() {
    let expected = [
        ("rsa2048", "1.2.840.113549.1.1.11", true),
        ("p256", "1.2.840.10045.4.3.2", false),
        ("p384", "1.2.840.10045.4.3.3", false),
    ];
    for ((name, cert, key, _), (ename, oid, null)) in signers().into_iter().zip(expected) {
        assert_eq!(name, ename);
        let req = SignRequest {
            certificate: &cert,
            chain: &[],
            content: Content::Data(CONTENT),
            detached: true,
            signing_time: Some(signing_time()),
        };
        let der = sign_cades(&req, &mut token(&key)).unwrap();
        let sd: SignedData = ContentInfo::from_der(&der).unwrap().content.decode_as().unwrap();
        let si = sd.signer_infos.0.get(0).unwrap();
        assert_eq!(si.signature_algorithm.oid, ObjectIdentifier::new_unwrap(oid), "{name}");
        // RFC 4055 §5: NULL parameters for RSA; RFC 5758 §3.2: absent for ECDSA.
        assert_eq!(si.signature_algorithm.parameters.is_some(), null, "{name}");
        if !null {
            // The ECDSA value is a DER ECDSA-Sig-Value, not raw r ‖ s.
            assert_eq!(si.signature.as_bytes()[0], 0x30, "{name}");
            openssl::ecdsa::EcdsaSig::from_der(si.signature.as_bytes()).unwrap();
        } else {
            assert_eq!(si.signature.as_bytes().len(), 256);
        }
    }
}

#[test]
fn bad_requests_are_refused_before_the_token_is_asked() {
    let piv = holder("piv");
    let digest = [0u8; 32];
    let mut asked = false;
    let mut tok = |_: HashAlg, _: &[u8]| -> mohur_agent::Result<Vec<u8>> {
        asked = true;
        Ok(vec![])
    };
    let base = SignRequest {
        certificate: &piv.sign_cert_der,
        chain: &[],
        content: Content::Digest { alg: HashAlg::Sha256, digest: &digest },
        detached: false,
        signing_time: Some(signing_time()),
    };
    let cases: Vec<(SignRequest, &str)> = vec![
        (base.clone(), "detached"),
        (
            SignRequest {
                detached: true,
                content: Content::Digest { alg: HashAlg::Sha384, digest: &digest },
                ..base.clone()
            },
            "48 bytes",
        ),
        (
            SignRequest {
                detached: true,
                content: Content::Digest { alg: HashAlg::Sha1, digest: &digest[..20] },
                ..base.clone()
            },
            "Sha1",
        ),
        (SignRequest { certificate: b"not a certificate", detached: true, ..base.clone() }, "certificate"),
    ];
    for (req, msg) in cases {
        let err = sign_cades(&req, &mut tok).unwrap_err();
        assert_eq!(err.code(), "BAD_REQUEST", "{err}");
        assert!(err.to_string().contains(msg), "{err} should mention {msg}");
    }
    assert!(!asked, "the token must not be asked for a bad request");
}

#[test]
fn token_errors_come_back_unchanged() {
    let piv = holder("piv");
    let req = SignRequest {
        certificate: &piv.sign_cert_der,
        chain: &[],
        content: Content::Data(CONTENT),
        detached: false,
        signing_time: Some(signing_time()),
    };
    let err = sign_cades(&req, &mut |_, _| Err(mohur_agent::Error::PinIncorrect { tries_left: Some(2) })).unwrap_err();
    assert_eq!(err.code(), "PIN_INCORRECT");
    assert_eq!(err.tries_left(), Some(2));
    // A token that answers with the wrong shape (DER instead of r ‖ s) is a token error.
    let key = openssl::pkey::PKey::private_key_from_pem(&piv.sign_key_pem).unwrap();
    let err = sign_cades(&req, &mut |alg, d| {
        let raw = card_sign(&key, alg, d);
        Ok(mohur_apdu::signature::ecdsa_raw_to_der(&raw).unwrap())
    })
    .unwrap_err();
    assert_eq!(err.code(), "TOKEN_ERROR", "{err}");
}

#[test]
fn signing_time_after_2049_is_generalized_time() {
    // RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    let piv = holder("piv");
    let t = UNIX_EPOCH + Duration::from_secs(2_556_143_999 + 86_400 * 400); // early 2052
    let req = SignRequest {
        certificate: &piv.sign_cert_der,
        chain: &[],
        content: Content::Data(CONTENT),
        detached: false,
        signing_time: Some(t),
    };
    let der = sign_cades(&req, &mut token(&piv.sign_key_pem)).unwrap();
    let sd: SignedData = ContentInfo::from_der(&der).unwrap().content.decode_as().unwrap();
    let si = sd.signer_infos.0.get(0).unwrap();
    let a = si.signed_attrs.as_ref().unwrap().iter().find(|a| a.oid == ID_SIGNING_TIME).unwrap();
    let time = Time::from_der(&a.values.get(0).unwrap().to_der().unwrap()).unwrap();
    assert!(matches!(time, Time::GeneralTime(_)), "{time:?}");
    assert_eq!(time.to_system_time(), t);
}
