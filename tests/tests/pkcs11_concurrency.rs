//! mohur's PKCS#11 module never stalls its host (issue 17): while one thread waits in
//! a PIN dialog that nobody answers (the scripted pinentry told to hang), the calls a
//! browser makes from other threads — C_GetSlotList, C_GetTokenInfo, C_OpenSession,
//! C_FindObjects, a signature on another session and on another slot — come back at
//! once; the dialog ends at its timeout with CKR_FUNCTION_CANCELED; and eight threads
//! of mixed calls, with a card pulled and put back in the middle, finish (no deadlock).
//!
//! One test per process: the module and its environment are global.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/scripted-pinentry");
/// The dialog's timeout in this test (pkcs11.conf `prompt_timeout_seconds`).
const TIMEOUT: Duration = Duration::from_secs(4);

fn slot_of(p11: &Pkcs11, reader: &str) -> Slot {
    p11.get_all_slots()
        .expect("slots")
        .into_iter()
        .find(|s| p11.get_slot_info(*s).map(|i| i.slot_description().trim_end() == reader).unwrap_or(false))
        .unwrap_or_else(|| panic!("no slot for {reader}"))
}

fn rv(e: CkError) -> Option<RvError> {
    rv_of(&e)
}

fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// How long `f` took; fails the test beyond `limit`.
fn quick<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    assert!(took < limit, "{what} took {took:?} while a PIN dialog was open");
    r
}

#[test]
fn a_dialog_nobody_answers_stalls_nothing_and_ends_at_its_timeout() {
    let azedit = PluggedCard::profile(Profile::Azedit);
    let piv = PluggedCard::profile(Profile::Piv);
    let dir = temp_dir("p11-concurrency");
    let conf = dir.join("pkcs11.conf");
    fs::write(&conf, format!("prompt_timeout_seconds = {}\n", TIMEOUT.as_secs())).unwrap();
    std::env::set_var("MOHUR_PKCS11_CONF", &conf);
    std::env::set_var("MOHUR_PKCS11_PROTECTED_AUTH", "1");
    std::env::set_var("MOHUR_PINENTRY", FIXTURE);
    std::env::set_var("SCRIPTED_PINENTRY_QUEUE", dir.join("queue"));
    std::env::set_var("SCRIPTED_PINENTRY_LOG", dir.join("log"));
    fs::write(dir.join("queue"), "hang\n").unwrap();

    let p11 = Pkcs11::new(mohur_pkcs11_path()).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    let (az_slot, piv_slot) = (slot_of(&p11, &azedit.reader.name), slot_of(&p11, &piv.reader.name));

    // A signature on the PIV card is ready to go (logged in before the dialog opens).
    let piv_session = p11.open_ro_session(piv_slot).unwrap();
    piv_session.login(UserType::User, Some(&AuthPin::new("123456".into()))).unwrap();
    let key =
        piv_session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![1])]).unwrap()[0];
    let other_az = p11.open_ro_session(az_slot).unwrap();

    // Thread A: C_Login with a null PIN on the AzeDIT card: the dialog hangs.
    let dialog_session = p11.open_ro_session(az_slot).unwrap();
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        let r = dialog_session.login(UserType::User, None);
        (r.map_err(rv), started.elapsed())
    });
    let log = dir.join("log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&log).unwrap_or_default().contains("GETPIN") {
        assert!(Instant::now() < deadline, "the dialog never opened");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Meanwhile, everything else answers at once.
    let limit = Duration::from_millis(100);
    let slots = quick("C_GetSlotList", limit, || p11.get_slots_with_token().unwrap());
    assert!(slots.contains(&az_slot) && slots.contains(&piv_slot));
    let info = quick("C_GetTokenInfo (the dialog's slot)", limit, || p11.get_token_info(az_slot).unwrap());
    assert_eq!(info.label().trim_end(), "ALIYEVA LEYLA");
    let fresh = quick("C_OpenSession (the dialog's slot)", limit, || p11.open_ro_session(az_slot).unwrap());
    let certs = quick("C_FindObjects (another session, the dialog's slot)", limit, || {
        other_az.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)]).unwrap()
    });
    assert_eq!(certs.len(), 2);
    let sig = quick("a signature (another slot)", Duration::from_millis(500), || {
        piv_session.sign(&Mechanism::Sha256RsaPkcs, key, b"meanwhile").unwrap()
    });
    assert_eq!(sig.len(), 256);
    drop(fresh);

    // The dialog ends at its timeout: cancelled, not logged in, nothing sent to the card.
    let (r, took) = waiter.join().unwrap();
    assert_eq!(r, Err(Some(RvError::FunctionCanceled)));
    assert!(took >= TIMEOUT - Duration::from_millis(200) && took < TIMEOUT + Duration::from_secs(5), "{took:?}");
    assert_eq!(p11.get_token_info(az_slot).unwrap().label().trim_end(), "ALIYEVA LEYLA");

    // C_Finalize closes a dialog that is open.
    fs::write(dir.join("queue"), "hang\n").unwrap();
    let s = p11.open_ro_session(az_slot).unwrap();
    let t = Instant::now();
    let waiter = std::thread::spawn(move || s.login(UserType::User, None).map_err(rv));
    while fs::read_to_string(&log).unwrap_or_default().matches("GETPIN").count() < 2 {
        assert!(t.elapsed() < Duration::from_secs(10), "the second dialog never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(piv_session);
    drop(other_az);
    p11.finalize().expect("C_Finalize");
    let r = waiter.join().unwrap();
    assert!(matches!(r, Err(Some(RvError::FunctionCanceled | RvError::CryptokiNotInitialized))), "{r:?}");
    assert!(t.elapsed() < TIMEOUT, "C_Finalize did not close the dialog");

    stress(azedit, piv);
}

/// Eight threads, a thousand mixed calls each, on both cards; the AzeDIT card is
/// pulled and put back in the middle. Every call returns (a deadlock would hang the
/// test), with a result or an error a host must expect from a pulled card.
fn stress(azedit: PluggedCard, piv: PluggedCard) {
    std::env::remove_var("MOHUR_PKCS11_PROTECTED_AUTH");
    let p11 = Arc::new(Pkcs11::new(mohur_pkcs11_path()).expect("load module"));
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    let slots = [slot_of(&p11, &azedit.reader.name), slot_of(&p11, &piv.reader.name)];
    let calls = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let (p11, calls) = (p11.clone(), calls.clone());
            std::thread::spawn(move || {
                for i in 0..1000u32 {
                    let slot = slots[(t + i as usize) % 2];
                    let r: Result<(), CkError> = match i % 6 {
                        0 => p11.get_slots_with_token().map(drop),
                        1 => p11.get_token_info(slot).map(drop),
                        2 => p11.get_slot_info(slot).map(drop),
                        3 => p11.open_ro_session(slot).and_then(|s| s.get_session_info().map(drop)),
                        4 => p11
                            .open_ro_session(slot)
                            .and_then(|s| s.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)]).map(drop)),
                        _ => p11.get_mechanism_list(slot).map(drop),
                    };
                    if let Err(e) = &r {
                        let ok = matches!(
                            rv_of(e),
                            Some(
                                RvError::TokenNotPresent
                                    | RvError::DeviceRemoved
                                    | RvError::SessionHandleInvalid
                                    | RvError::SessionClosed
                                    | RvError::DeviceError
                                    | RvError::TokenNotRecognized
                            )
                        );
                        assert!(ok, "thread {t} call {i}: {r:?}");
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Pull the AzeDIT card once a third of the calls are done, and put it back.
    while calls.load(Ordering::Relaxed) < 8 * 1000 / 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    azedit.sim.pull();
    assert!(azedit.reader.wait_card(false, Duration::from_secs(20)), "pcscd did not see the card leave");
    std::thread::sleep(Duration::from_millis(200));
    azedit.sim.insert();
    assert!(azedit.reader.wait_card(true, Duration::from_secs(20)), "pcscd did not see the card come back");
    let t = Instant::now();
    for w in workers {
        w.join().expect("a worker failed");
    }
    stop.store(true, Ordering::Relaxed);
    assert_eq!(calls.load(Ordering::Relaxed), 8000);
    println!("8 x 1000 mixed calls finished {:?} after the card came back", t.elapsed());
    // The card is a token again.
    assert_eq!(p11.get_token_info(slots[0]).unwrap().label().trim_end(), "ALIYEVA LEYLA");
    drop(piv);
}
