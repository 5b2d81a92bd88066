//! The protected authentication path of mohur's PKCS#11 module through the `cryptoki`
//! crate: C_Login with a null PIN asks in mohur's own dialog, here the scripted
//! pinentry of `tests/fixtures/scripted-pinentry` (Assuan over stdin/stdout), which
//! answers `$SCRIPTED_PINENTRY_ANSWER` and logs each SETDESC to
//! `$SCRIPTED_PINENTRY_LOG`.
//!
//! The module and the environment it reads are global to the process: the tests
//! take [`MODULE_USERS`] and set the environment under it.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

const DATA: &[u8] = b"e-gov.az login: mohur test";
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/scripted-pinentry");

static MODULE_USERS: Mutex<()> = Mutex::new(());

fn module_guard() -> MutexGuard<'static, ()> {
    MODULE_USERS.lock().unwrap_or_else(|p| p.into_inner())
}

fn init() -> Pkcs11 {
    let p11 = Pkcs11::new(mohur_pkcs11_path()).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    p11
}

fn slot_of(p11: &Pkcs11, reader: &str) -> Slot {
    p11.get_all_slots()
        .expect("slots")
        .into_iter()
        .find(|s| p11.get_slot_info(*s).map(|i| i.slot_description().trim_end() == reader).unwrap_or(false))
        .unwrap_or_else(|| panic!("no slot for {reader}"))
}

fn rv(e: CkError) -> RvError {
    match e {
        CkError::Pkcs11(rv, _) => rv,
        other => panic!("not a PKCS#11 error: {other}"),
    }
}

/// The scripted dialog: turns the protected authentication path on and makes the
/// pinentry answer `answer`; [`Dialog::descs`] reads what it showed.
struct Dialog {
    log: PathBuf,
}

impl Dialog {
    fn new(answer: &str) -> Dialog {
        let dir = temp_dir("pinentry");
        let log = dir.join("dialog.log");
        // An empty configuration: no user or system pkcs11.conf interferes.
        let conf = dir.join("pkcs11.conf");
        fs::write(&conf, "").expect("write pkcs11.conf");
        std::env::set_var("MOHUR_PKCS11_CONF", &conf);
        std::env::set_var("MOHUR_PKCS11_PROTECTED_AUTH", "1");
        std::env::set_var("MOHUR_PINENTRY", FIXTURE);
        std::env::set_var("SCRIPTED_PINENTRY_LOG", &log);
        Dialog::answer(answer);
        Dialog { log }
    }

    fn answer(answer: &str) {
        std::env::set_var("SCRIPTED_PINENTRY_ANSWER", answer);
    }

    /// The SETDESC texts shown so far (newlines as `|`).
    fn descs(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("SETDESC ").map(str::to_owned))
            .collect()
    }
}

impl Drop for Dialog {
    fn drop(&mut self) {
        std::env::remove_var("MOHUR_PKCS11_CONF");
        std::env::remove_var("MOHUR_PKCS11_PROTECTED_AUTH");
        std::env::remove_var("MOHUR_PINENTRY");
        std::env::remove_var("SCRIPTED_PINENTRY_ANSWER");
        std::env::remove_var("SCRIPTED_PINENTRY_LOG");
    }
}

fn holder_cn(card: &PluggedCard) -> String {
    card.open().holder().expect("holder").common_name.expect("common name")
}

fn private_key(session: &Session, id: u8) -> ObjectHandle {
    session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![id])]).expect("find")[0]
}

fn cert_der(file: &str) -> Vec<u8> {
    let pem = fs::read(holder_dir("piv").join(file)).unwrap();
    openssl::x509::X509::from_pem(&pem).unwrap().to_der().unwrap()
}

#[test]
fn protected_login_with_the_right_pin_signs() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let dialog = Dialog::new("123456");
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    assert!(p11.get_token_info(slot).expect("C_GetTokenInfo").protected_authentication_path());

    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    session.login(UserType::User, None).expect("C_Login(CKU_USER, NULL)");
    let descs = dialog.descs();
    assert_eq!(descs.len(), 1, "{descs:?}");
    assert!(descs[0].contains(&holder_cn(&card)) && descs[0].contains("10 tries left"), "{descs:?}");
    assert!(!descs[0].contains("last try"), "{descs:?}");

    let sig = session.sign(&Mechanism::Sha256RsaPkcs, private_key(&session, 1), DATA).expect("C_Sign 9A");
    verify_signature(&cert_der("auth.pem"), DATA, &sig).expect("9A signature");

    // 9C is always-authenticate: its context-specific PIN comes from the dialog too.
    session.sign_init(&Mechanism::EcdsaSha256, private_key(&session, 2)).expect("C_SignInit 9C");
    session.login(UserType::ContextSpecific, None).expect("C_Login(CKU_CONTEXT_SPECIFIC, NULL)");
    session.sign_update(DATA).expect("C_SignUpdate");
    let sig = session.sign_final().expect("C_SignFinal 9C");
    verify_signature(&cert_der("sign.pem"), DATA, &sig).expect("9C signature");
    assert_eq!(dialog.descs().len(), 2, "{:?}", dialog.descs());

    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn protected_login_with_a_wrong_pin_is_not_retried() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let dialog = Dialog::new("000000");
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_ro_session(slot).expect("C_OpenSession");

    assert_eq!(session.login(UserType::User, None).map_err(rv), Err(RvError::PinIncorrect));
    assert_eq!(dialog.descs().len(), 1, "asked once, never retried: {:?}", dialog.descs());

    Dialog::answer("123456");
    session.login(UserType::User, None).expect("C_Login with the right PIN");
    let descs = dialog.descs();
    assert_eq!(descs.len(), 2, "{descs:?}");
    assert!(descs[1].contains("9 tries left"), "the dialog shows the spent try: {descs:?}");

    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn protected_login_warns_on_the_last_try_and_never_asks_for_a_blocked_pin() {
    let _guard = module_guard();
    let card = PluggedCard::new(card_state(Profile::Piv, |o| o.pin_tries = 2));
    let dialog = Dialog::new("000000");
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_ro_session(slot).expect("C_OpenSession");

    assert_eq!(session.login(UserType::User, None).map_err(rv), Err(RvError::PinIncorrect));
    let r = session.login(UserType::User, None).map_err(rv);
    assert!(matches!(r, Err(RvError::PinIncorrect | RvError::PinLocked)), "{r:?}");
    let descs = dialog.descs();
    assert_eq!(descs.len(), 2, "{descs:?}");
    assert!(!descs[0].contains("last try") && descs[1].contains("last try"), "{descs:?}");

    Dialog::answer("123456");
    assert_eq!(session.login(UserType::User, None).map_err(rv), Err(RvError::PinLocked));
    assert_eq!(dialog.descs().len(), 2, "a blocked PIN is not asked for: {:?}", dialog.descs());

    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn protected_login_cancelled_in_the_dialog() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let dialog = Dialog::new("cancel");
    // Enabled by the configuration file this time.
    std::env::remove_var("MOHUR_PKCS11_PROTECTED_AUTH");
    let conf = dialog.log.with_file_name("pkcs11.conf");
    fs::write(&conf, "protected_authentication_path = true\n").expect("write pkcs11.conf");
    let p11 = init();
    assert!(p11
        .get_token_info(slot_of(&p11, &card.reader.name))
        .expect("C_GetTokenInfo")
        .protected_authentication_path());
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_ro_session(slot).expect("C_OpenSession");

    assert_eq!(session.login(UserType::User, None).map_err(rv), Err(RvError::FunctionCanceled));
    assert_eq!(dialog.descs().len(), 1);
    // Nothing was sent to the card.
    let tries = card.open().pin_status(mohur_apdu::PinKind::Auth).expect("PIN status").tries_left;
    assert_eq!(tries, Some(10));

    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn without_the_option_a_null_pin_is_refused() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let dialog = Dialog::new("123456");
    std::env::remove_var("MOHUR_PKCS11_PROTECTED_AUTH");
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    assert!(!p11.get_token_info(slot).expect("C_GetTokenInfo").protected_authentication_path());

    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    assert_eq!(session.login(UserType::User, None).map_err(rv), Err(RvError::ArgumentsBad));
    assert!(dialog.descs().is_empty(), "{:?}", dialog.descs());

    drop(session);
    p11.finalize().expect("C_Finalize");
}
