//! Our drivers against simulated PIV and AzeDIT cards behind the real pcscd,
//! with OpenSSL judging certificates and signatures.

use mohur_apdu::events::{ReaderEvent, ReaderMonitor};
use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::{Error, KeyPurpose, Pin, PinKind, PinState};
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::time::{Duration, Instant};

const DATA: &[u8] = b"Portala imza ile giris: mohur test document";

/// The PINs of a default simulated card, per key purpose.
fn pin_for(profile: Profile, kind: PinKind) -> Pin {
    Pin::from_str_slice(match (profile, kind) {
        (Profile::Piv, PinKind::Puk) | (Profile::Azedit, PinKind::Puk) => "12345678",
        (Profile::Piv, _) => "123456",
        (Profile::Azedit, PinKind::Auth) => "1234",
        (Profile::Azedit, _) => "12345",
    })
}

fn wrong_pin(profile: Profile) -> Pin {
    Pin::from_str_slice(if profile == Profile::Piv { "654321" } else { "9999" })
}

fn new_pin(profile: Profile) -> Pin {
    Pin::from_str_slice(if profile == Profile::Piv { "24681357" } else { "8642" })
}

fn reads_certificates_that_chain_to_the_test_root(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    assert_eq!(c.profile().to_string(), if profile == Profile::Piv { "PIV" } else { "AzeDIT" });
    let keys = c.keys().to_vec();
    assert_eq!(keys.len(), 2);
    for key in &keys {
        let cert = c.certificate(key.id).unwrap();
        verify_chain(&cert).unwrap_or_else(|e| panic!("key {:02X}: {e}", key.id));
    }
    let holder = c.holder().unwrap();
    let expected =
        mohur_certs::load_holder(&holder_dir(if profile == Profile::Piv { "piv" } else { "azedit" })).unwrap();
    assert_eq!(holder.personal_code.as_deref(), Some(expected.holder.personal_code.as_str()));
    assert_eq!(holder.surname.as_deref(), Some(expected.holder.surname.as_str()));
    if profile == Profile::Azedit {
        assert_eq!(c.serial().unwrap(), expected.holder.document_number);
        assert_eq!(holder.country.as_deref(), Some("AZE"));
    } else {
        assert_eq!(c.serial().unwrap().len(), 32, "PIV serial is the CHUID GUID");
    }
    // Certificates are read once per handle.
    let before = card.sim.card().lock().unwrap().stats().total;
    for key in &keys {
        c.certificate(key.id).unwrap();
    }
    assert_eq!(card.sim.card().lock().unwrap().stats().total, before, "certificates re-read");
}

fn signs_with_each_key_and_openssl_verifies(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    for key in c.keys().to_vec() {
        let cert = c.certificate(key.id).unwrap();
        let pin = pin_for(profile, key.pin);
        let sig = if key.always_authenticate {
            // Without a PIN entry right before, an always-authenticate key refuses.
            assert_eq!(c.sign(key.id, &sha256_input(DATA), None), Err(Error::SecurityStatusNotSatisfied));
            c.sign(key.id, &sha256_input(DATA), Some(&pin)).unwrap()
        } else {
            c.verify_pin(key.pin, &pin).unwrap();
            c.sign(key.id, &sha256_input(DATA), None).unwrap()
        };
        verify_signature(&cert, DATA, &sig).unwrap_or_else(|e| panic!("key {:02X}: {e}", key.id));
        // A signature over other data must not verify: the check can fail.
        assert!(verify_signature(&cert, b"other data", &sig).is_err());
    }
}

fn wrong_pins_count_down_block_and_the_puk_unblocks(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    let status = c.pin_status(PinKind::Auth).unwrap();
    assert_eq!(status.tries_left, Some(10));
    for expected in [9, 8, 7] {
        assert_eq!(c.verify_pin(PinKind::Auth, &wrong_pin(profile)), Err(Error::WrongPin { tries_left: expected }));
    }
    // Reading the counter does not spend a try.
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left, Some(7));
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left, Some(7));
    for expected in (0..7).rev() {
        assert_eq!(c.verify_pin(PinKind::Auth, &wrong_pin(profile)), Err(Error::WrongPin { tries_left: expected }));
    }
    assert_eq!(c.verify_pin(PinKind::Auth, &pin_for(profile, PinKind::Auth)), Err(Error::PinBlocked));
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().state, PinState::Blocked);
    // A wrong PUK costs a PUK try and unblocks nothing.
    let bad_puk = Pin::from_str_slice("87654321");
    assert_eq!(c.unblock_pin(PinKind::Auth, &bad_puk, &new_pin(profile)), Err(Error::WrongPuk { tries_left: 9 }));
    c.unblock_pin(PinKind::Auth, &pin_for(profile, PinKind::Puk), &new_pin(profile)).unwrap();
    assert_eq!(c.verify_pin(PinKind::Auth, &pin_for(profile, PinKind::Auth)), Err(Error::WrongPin { tries_left: 9 }));
    c.verify_pin(PinKind::Auth, &new_pin(profile)).unwrap();
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left.unwrap_or(10), 10);
}

fn changes_the_pin(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    c.change_pin(PinKind::Auth, &pin_for(profile, PinKind::Auth), &new_pin(profile)).unwrap();
    assert_eq!(c.verify_pin(PinKind::Auth, &pin_for(profile, PinKind::Auth)), Err(Error::WrongPin { tries_left: 9 }));
    c.verify_pin(PinKind::Auth, &new_pin(profile)).unwrap();
    // A PIN of the wrong length is refused before it reaches the card.
    let before = card.sim.card().lock().unwrap().stats().total;
    assert!(matches!(c.verify_pin(PinKind::Auth, &Pin::from_str_slice("1")), Err(Error::InvalidPinFormat(_))));
    assert!(matches!(
        c.verify_pin(PinKind::Auth, &Pin::from_str_slice("1234567890123")),
        Err(Error::InvalidPinFormat(_))
    ));
    assert_eq!(card.sim.card().lock().unwrap().stats().total, before);
}

fn a_card_pulled_during_a_signature_fails_cleanly_and_comes_back(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    let key = *c.keys().iter().find(|k| k.purpose == KeyPurpose::Signing).unwrap();
    let pin = pin_for(profile, key.pin);
    c.certificate(key.id).unwrap();
    // Pulled when the signing command reaches the card, before it answers.
    card.sim.pull_on_ins(if profile == Profile::Piv { 0x87 } else { 0x2A });
    let started = Instant::now();
    let err = c.sign(key.id, &sha256_input(DATA), Some(&pin)).unwrap_err();
    let took = started.elapsed();
    assert!(err.is_card_gone() || matches!(err, Error::Pcsc(_)), "unexpected error {err:?}");
    assert!(took < Duration::from_secs(1), "pulled card took {took:?} to report");
    // The handle stays an error, not a hang or a panic.
    assert!(c.sign(key.id, &sha256_input(DATA), Some(&pin)).is_err());
    assert!(card.reader.wait_card(false, Duration::from_secs(5)), "pcscd did not see the card leave");
    card.sim.insert();
    assert!(card.reader.wait_card(true, Duration::from_secs(10)));
    let mut c = card.open();
    let sig = c.sign(key.id, &sha256_input(DATA), Some(&pin)).unwrap();
    verify_signature(&c.certificate(key.id).unwrap(), DATA, &sig).unwrap();
}

fn one_verify_and_one_sign_apdu_per_signature(profile: Profile) {
    let card = PluggedCard::profile(profile);
    let mut c = card.open();
    let key = *c.keys().iter().find(|k| k.always_authenticate).unwrap();
    let pin = pin_for(profile, key.pin);
    c.sign(key.id, &sha256_input(DATA), Some(&pin)).unwrap();
    card.sim.card().lock().unwrap().reset_stats();
    c.sign(key.id, &sha256_input(DATA), Some(&pin)).unwrap();
    let stats = card.sim.card().lock().unwrap().stats().clone();
    assert_eq!(stats.total, 2, "a further signature should be VERIFY + sign, got {stats:?}");
    assert_eq!(stats.by_ins.get(&0x20), Some(&1));
}

macro_rules! for_both_profiles {
    ($($name:ident),* $(,)?) => {
        mod piv {
            use super::*;
            $(#[test] fn $name() { super::$name(Profile::Piv) })*
        }
        mod azedit {
            use super::*;
            $(#[test] fn $name() { super::$name(Profile::Azedit) })*
        }
    };
}

for_both_profiles!(
    reads_certificates_that_chain_to_the_test_root,
    signs_with_each_key_and_openssl_verifies,
    wrong_pins_count_down_block_and_the_puk_unblocks,
    changes_the_pin,
    a_card_pulled_during_a_signature_fails_cleanly_and_comes_back,
    one_verify_and_one_sign_apdu_per_signature,
);

#[test]
fn a_not_activated_card_needs_its_pin_set_with_the_puk() {
    let card = PluggedCard::new(card_state(Profile::Piv, |o| o.not_activated = true));
    let mut c = card.open();
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().state, PinState::NotActivated);
    assert_eq!(c.verify_pin(PinKind::Auth, &pin_for(Profile::Piv, PinKind::Auth)), Err(Error::NotActivated));
    c.unblock_pin(PinKind::Auth, &pin_for(Profile::Piv, PinKind::Puk), &new_pin(Profile::Piv)).unwrap();
    c.verify_pin(PinKind::Auth, &new_pin(Profile::Piv)).unwrap();
}

#[test]
fn a_blocked_puk_is_final() {
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.puk_tries = 2));
    let mut c = card.open();
    let bad = Pin::from_str_slice("87654321");
    let new = new_pin(Profile::Azedit);
    assert_eq!(c.unblock_pin(PinKind::Auth, &bad, &new), Err(Error::WrongPuk { tries_left: 1 }));
    assert_eq!(c.unblock_pin(PinKind::Auth, &bad, &new), Err(Error::WrongPuk { tries_left: 0 }));
    assert_eq!(c.unblock_pin(PinKind::Auth, &pin_for(Profile::Azedit, PinKind::Puk), &new), Err(Error::PukBlocked));
    assert_eq!(c.pin_status(PinKind::Puk).unwrap().state, PinState::Blocked);
}

#[test]
fn a_reset_by_another_application_is_survived() {
    let card = PluggedCard::profile(Profile::Piv);
    let mut c = card.open();
    c.verify_pin(PinKind::Auth, &pin_for(Profile::Piv, PinKind::Auth)).unwrap();
    c.sign(0x9A, &sha256_input(DATA), None).unwrap();
    // Another application resets the card: the PIN state is gone.
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    let other = ctx
        .connect(
            &std::ffi::CString::new(card.reader.name.clone()).unwrap(),
            pcsc::ShareMode::Shared,
            pcsc::Protocols::ANY,
        )
        .unwrap();
    other.disconnect(pcsc::Disposition::ResetCard).map_err(|(_, e)| e).unwrap();
    // Our handle reconnects and re-selects by itself; the card wants the PIN again.
    assert_eq!(c.sign(0x9A, &sha256_input(DATA), None), Err(Error::SecurityStatusNotSatisfied));
    c.verify_pin(PinKind::Auth, &pin_for(Profile::Piv, PinKind::Auth)).unwrap();
    let sig = c.sign(0x9A, &sha256_input(DATA), None).unwrap();
    verify_signature(&c.certificate(0x9A).unwrap(), DATA, &sig).unwrap();
}

#[test]
fn reader_events_report_insertion_and_removal_without_polling() {
    let card = PluggedCard::profile(Profile::Piv);
    let (monitor, events) = ReaderMonitor::start().unwrap();
    let name = card.reader.name.clone();
    let wait_for = |want: &dyn Fn(&ReaderEvent) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(ev) = events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if want(&ev) {
                return true;
            }
        }
        false
    };
    assert!(wait_for(
        &|e| matches!(e, ReaderEvent::CardInserted { reader, atr } if *reader == name && !atr.is_empty())
    ));
    card.sim.pull();
    assert!(wait_for(&|e| matches!(e, ReaderEvent::CardRemoved { reader } if *reader == name)));
    card.sim.insert();
    assert!(wait_for(&|e| matches!(e, ReaderEvent::CardInserted { reader, .. } if *reader == name)));
    monitor.stop();
}

#[test]
fn an_empty_reader_and_an_unknown_reader_are_typed_errors() {
    let reader = Reader::claim();
    assert!(matches!(PcscTransport::connect(&reader.name), Err(Error::NoCard)));
    assert!(matches!(PcscTransport::connect("no such reader 99 99"), Err(Error::ReaderNotFound(_))));
}

/// AzeDIT has no command that ends a verified PIN: logging out warm-resets the card
/// through pcscd (SCardReconnect with SCARD_RESET_CARD), so no other program can sign
/// with the PIN the citizen typed for us.
#[test]
fn azedit_logout_resets_the_card_through_pcscd() {
    let card = PluggedCard::profile(Profile::Azedit);
    let mut c = card.open();
    let input = sha256_input(b"logout");
    c.verify_pin(PinKind::Auth, &Pin::from_str_slice("1234")).unwrap();
    c.sign(0x01, &input, None).expect("signs after VERIFY");
    c.logout().expect("reset");
    assert!(matches!(c.sign(0x01, &input, None), Err(Error::SecurityStatusNotSatisfied)));
    // A second connection (another program) cannot use it either.
    let mut other = card.open();
    assert!(matches!(other.sign(0x01, &input, None), Err(Error::SecurityStatusNotSatisfied)));
    c.sign(0x01, &input, Some(&Pin::from_str_slice("1234"))).expect("signs after a new VERIFY");
}
