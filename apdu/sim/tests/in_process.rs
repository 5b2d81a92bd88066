//! The drivers against the simulator in-process (no pcscd): the quick loop for
//! driver and simulator work. The same behaviour is tested through the real
//! pcscd in `tests/tests/cards.rs`.

use mohur_apdu::{Error, HashAlg, Pin, PinKind, SignInput, SmartCard};
use mohur_card_sim::{provision, Profile, ProvisionOptions, SimCard, SimTransport, StateStore};
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

fn pki_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mohur-sim-tests-{}", std::process::id()));
        mohur_certs::generate(&d).expect("test PKI");
        d
    })
    .clone()
}

/// A fresh card of `profile` (provisioned once per process: the property test makes
/// a thousand).
fn card(profile: Profile) -> SimCard {
    static STATES: OnceLock<Vec<(Profile, mohur_card_sim::CardState)>> = OnceLock::new();
    let states = STATES.get_or_init(|| {
        [(Profile::Piv, "piv"), (Profile::Azedit, "azedit")]
            .map(|(p, dir)| (p, provision(&pki_dir().join(dir), &ProvisionOptions::new(p)).unwrap()))
            .into()
    });
    let state = states.iter().find(|(p, _)| *p == profile).unwrap().1.clone();
    SimCard::new(state, StateStore::Memory).unwrap()
}

fn open(profile: Profile) -> Box<dyn SmartCard> {
    mohur_apdu::open(Box::new(SimTransport::new(card(profile)))).unwrap()
}

fn verify(cert: &[u8], data: &[u8], sig: &[u8]) -> bool {
    let key = X509::from_der(cert).unwrap().public_key().unwrap();
    let der;
    let sig = if key.id() == openssl::pkey::Id::EC {
        der = mohur_apdu::signature::ecdsa_raw_to_der(sig).unwrap();
        &der[..]
    } else {
        sig
    };
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.update(data).unwrap();
    v.verify(sig).unwrap_or(false)
}

#[test]
fn both_profiles_sign_with_both_keys() {
    for (profile, pins) in [(Profile::Piv, ["123456", "123456"]), (Profile::Azedit, ["1234", "12345"])] {
        let mut c = open(profile);
        let digest = openssl::sha::sha256(b"doc").to_vec();
        for (key, pin) in c.keys().to_vec().into_iter().zip(pins) {
            let sig = c
                .sign(
                    key.id,
                    &SignInput::Digest { alg: HashAlg::Sha256, digest: digest.clone() },
                    Some(&Pin::from_str_slice(pin)),
                )
                .unwrap();
            assert!(verify(&c.certificate(key.id).unwrap(), b"doc", &sig), "{profile:?} key {:02X}", key.id);
        }
    }
}

#[test]
fn the_qualified_signature_key_wants_pin2_every_time() {
    let mut c = open(Profile::Azedit);
    let input = SignInput::Digest { alg: HashAlg::Sha384, digest: vec![7; 48] };
    c.verify_pin(PinKind::Signing, &Pin::from_str_slice("12345")).unwrap();
    // The driver refuses to sign without a PIN for an always-authenticate key…
    assert_eq!(c.sign(2, &input, None), Err(Error::SecurityStatusNotSatisfied));
    // …and the card drops PIN2 after each signature.
    c.sign(2, &input, Some(&Pin::from_str_slice("12345"))).unwrap();
    c.verify_pin(PinKind::Auth, &Pin::from_str_slice("1234")).unwrap();
    c.sign(1, &input, None).unwrap();
    c.sign(1, &input, None).unwrap();
}

#[test]
fn logging_out_of_both_profiles_ends_the_pins_security_status() {
    for (profile, pin) in [(Profile::Piv, "123456"), (Profile::Azedit, "1234")] {
        let mut c = open(profile);
        let auth = c.keys()[0].id;
        let input = SignInput::Digest { alg: HashAlg::Sha256, digest: openssl::sha::sha256(b"x").to_vec() };
        c.verify_pin(PinKind::Auth, &Pin::from_str_slice(pin)).unwrap();
        c.sign(auth, &input, None).unwrap();
        // AzeDIT has no logout command: the driver warm-resets the card.
        c.logout().unwrap();
        assert!(matches!(c.sign(auth, &input, None), Err(Error::SecurityStatusNotSatisfied)), "{profile:?}");
        // And the card works on after the reset.
        c.sign(auth, &input, Some(&Pin::from_str_slice(pin))).unwrap();
    }
}

#[test]
fn pin2_and_puk_counters_are_separate() {
    let mut c = open(Profile::Azedit);
    assert_eq!(c.verify_pin(PinKind::Signing, &Pin::from_str_slice("99999")), Err(Error::WrongPin { tries_left: 9 }));
    assert_eq!(c.pin_status(PinKind::Signing).unwrap().tries_left, Some(9));
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left, Some(10));
    assert_eq!(c.pin_status(PinKind::Puk).unwrap().tries_left, Some(10));
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().max_tries, Some(10));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    /// Any byte string gets an answer of at least a status word, never a panic,
    /// and never a try spent unless it was a well-formed VERIFY.
    #[test]
    fn the_card_answers_anything(apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8)) {
        for profile in [Profile::Piv, Profile::Azedit] {
            let mut c = card(profile);
            c.process(&[0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00]);
            for apdu in &apdus {
                let r = c.process(apdu);
                prop_assert!(r.len() >= 2);
            }
            let ok = c.process(&[0x00, 0xA4, 0x00, 0x0C]);
            prop_assert!(ok.len() >= 2);
        }
    }
}
