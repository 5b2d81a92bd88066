//! mohur's PKCS#11 module (`pkcs11-module/`) against independent callers: OpenSC's
//! `pkcs11-tool` (with OpenSSL judging the signatures) and the `cryptoki` crate.
//!
//! The module sees all 12 readers, and other tests plug cards into the others in
//! parallel: slots are always chosen by reader name, never by index.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use cryptoki_sys::*;
use mohur_apdu::{PinKind, PinState};
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

const DATA: &[u8] = b"e-gov.az login: mohur test";

/// Tests that load the module through `cryptoki` share its one global state.
static MODULE_USERS: Mutex<()> = Mutex::new(());

/// Our module (see [`mohur_tests::mohur_pkcs11_path`]).
fn module_path() -> PathBuf {
    mohur_pkcs11_path()
}

fn module() -> String {
    module_path().display().to_string()
}

/// pkcs11-tool with our module on the slot of the card's reader.
fn pkcs11_tool(card: &PluggedCard, args: &[&str]) -> (bool, String) {
    let module = module();
    let mut all = vec!["--module", &module, "--slot-description", &card.reader.name];
    all.extend_from_slice(args);
    run_tool_with(&opensc_conf(), "pkcs11-tool", &all)
}

/// The holder's common name as a token label: at most 32 bytes.
fn label_of(card: &PluggedCard) -> String {
    let cn = card.open().holder().expect("holder").common_name.expect("common name");
    let mut end = cn.len().min(32);
    while !cn.is_char_boundary(end) {
        end -= 1;
    }
    cn[..end].trim_end().to_string()
}

/// Signs `DATA` with pkcs11-tool and our module; `openssl dgst` verifies it with
/// the public key of the certificate the test PKI issued.
fn sign_and_verify(card: &PluggedCard, id: &str, pin: &str, cert_pem: &std::path::Path, rsa: bool) {
    let module = module();
    let tool = ["--module", module.as_str(), "--slot-description", card.reader.name.as_str()];
    pkcs11_tool_signs_and_openssl_verifies(&opensc_conf(), &tool, DATA, (id, pin), cert_pem, rsa);
}

#[test]
fn pkcs11_tool_lists_reads_and_signs_with_the_piv_card() {
    let card = PluggedCard::profile(Profile::Piv);
    let label = label_of(&card);

    let (ok, out) = run_tool_with(&opensc_conf(), "pkcs11-tool", &["--module", &module(), "-L"]);
    assert!(ok, "{out}");
    let mut lines = out.lines().skip_while(|l| !(l.starts_with("Slot ") && l.ends_with(&card.reader.name)));
    assert!(lines.next().is_some(), "no slot for {}:\n{out}", card.reader.name);
    let token_label = lines.next().and_then(|l| l.split_once(": ")).map(|(k, v)| (k.trim(), v.trim()));
    assert_eq!(token_label, Some(("token label", label.as_str())), "{out}");

    let (ok, out) = pkcs11_tool(&card, &["-O"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("Certificate Object").count(), 2, "{out}");

    let holder = holder_dir("piv");
    sign_and_verify(&card, "01", "123456", &holder.join("auth.pem"), true);
    // 9C is "PIN Always": pkcs11-tool sees CKA_ALWAYS_AUTHENTICATE and logs in again
    // with CKU_CONTEXT_SPECIFIC after C_SignInit.
    sign_and_verify(&card, "02", "123456", &holder.join("sign.pem"), false);

    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "000000", "-O"]);
    assert!(!ok && out.contains("CKR_PIN_INCORRECT"), "{out}");
}

#[test]
fn pkcs11_tool_signs_with_the_azedit_auth_key() {
    let card = PluggedCard::profile(Profile::Azedit);
    let (ok, out) = pkcs11_tool(&card, &["-O"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("Certificate Object").count(), 2, "{out}");
    let holder = holder_dir("azedit");
    // Key 02 (qualified signature) needs PIN2 as its context-specific PIN, but
    // pkcs11-tool sends its one --pin for both logins: tested through cryptoki instead.
    sign_and_verify(&card, "01", "1234", &holder.join("auth.pem"), false);
}

fn slot_of(p11: &Pkcs11, reader: &str) -> Slot {
    p11.get_all_slots()
        .expect("slots")
        .into_iter()
        .find(|s| p11.get_slot_info(*s).map(|i| i.slot_description().trim_end() == reader).unwrap_or(false))
        .unwrap_or_else(|| panic!("no slot for {reader}"))
}

fn pin(s: &str) -> AuthPin {
    AuthPin::from(s)
}

fn rv(e: CkError) -> RvError {
    match e {
        CkError::Pkcs11(rv, _) => rv,
        other => panic!("not a PKCS#11 error: {other}"),
    }
}

#[test]
fn cryptoki_sees_pin_counters_buffers_and_bad_handles() {
    let _guard = MODULE_USERS.lock().unwrap_or_else(|p| p.into_inner());
    let card = PluggedCard::profile(Profile::Piv);
    let label = label_of(&card);
    let path = module_path();
    let args = || CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK);

    let p11 = Pkcs11::new(&path).expect("load module");
    p11.initialize(args()).expect("C_Initialize");
    assert!(matches!(p11.initialize(args()).map_err(rv), Err(RvError::CryptokiAlreadyInitialized)));
    let info = p11.get_library_info().expect("C_GetInfo");
    assert_eq!(info.manufacturer_id(), "mohur");

    let slot = slot_of(&p11, &card.reader.name);
    let token = p11.get_token_info(slot).expect("C_GetTokenInfo");
    assert_eq!(token.label(), label);
    assert!(token.login_required() && token.user_pin_initialized() && token.token_initialized());
    assert!(!token.user_pin_count_low(), "fresh card, 10 tries");
    let mechanisms = p11.get_mechanism_list(slot).expect("C_GetMechanismList");
    assert_eq!(mechanisms.len(), 10, "RSA 9A with PSS, EC 9C: {mechanisms:?}");

    // A wrong PIN: CKR_PIN_INCORRECT, and the token flags show the spent try.
    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    assert_eq!(session.login(UserType::User, Some(&pin("000000"))).map_err(rv), Err(RvError::PinIncorrect));
    let token = p11.get_token_info(slot).expect("C_GetTokenInfo");
    assert!(token.user_pin_count_low() && !token.user_pin_final_try() && !token.user_pin_locked());
    assert_eq!(session.login(UserType::User, Some(&pin("12345"))).map_err(rv), Err(RvError::PinLenRange));

    // Objects: 2 certificates, 2 public keys; private keys only after login.
    let certs = session.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)]).expect("find");
    assert_eq!(certs.len(), 2);
    assert!(session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]).expect("find").is_empty());
    session.login(UserType::User, Some(&pin("123456"))).expect("C_Login");
    let keys = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]).expect("find");
    assert_eq!(keys.len(), 2);
    let attrs = session
        .get_attributes(keys[1], &[AttributeType::Id, AttributeType::AlwaysAuthenticate, AttributeType::KeyType])
        .expect("C_GetAttributeValue");
    assert!(attrs.contains(&Attribute::AlwaysAuthenticate(true)), "{attrs:?}");
    // Every private-key attribute of PKCS#11 v2.40 §4.9 (and the common key ones, §4.7)
    // is there: the key is sensitive and never extractable.
    use cryptoki::object::AttributeType as A;
    let all = [
        A::Sensitive,
        A::AlwaysSensitive,
        A::Extractable,
        A::NeverExtractable,
        A::WrapWithTrusted,
        A::Sign,
        A::SignRecover,
        A::Decrypt,
        A::Unwrap,
        A::Subject,
        A::PublicKeyInfo,
        A::Local,
        A::Derive,
        A::StartDate,
        A::EndDate,
        A::AllowedMechanisms,
    ];
    for key in &keys {
        let got = session.get_attributes(*key, &all).expect("C_GetAttributeValue of §4.9");
        assert_eq!(got.len(), all.len(), "missing private-key attributes: {got:?}");
        assert!(got.contains(&Attribute::Sensitive(true)) && got.contains(&Attribute::Extractable(false)), "{got:?}");
        assert!(got.contains(&Attribute::AlwaysSensitive(true)) && got.contains(&Attribute::NeverExtractable(true)));
    }
    let cert_der = fs::read(holder_dir("piv").join("auth.pem")).unwrap();
    let cert_der = openssl::x509::X509::from_pem(&cert_der).unwrap().to_der().unwrap();
    let value = session.get_attributes(certs[0], &[AttributeType::Value]).expect("CKA_VALUE");
    assert_eq!(value, vec![Attribute::Value(cert_der.clone())]);

    // Sign with the 9A key (CKM_SHA256_RSA_PKCS) and verify with OpenSSL.
    let key_9a =
        session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![1])]).expect("find")[0];
    let signature = session.sign(&cryptoki::mechanism::Mechanism::Sha256RsaPkcs, key_9a, DATA).expect("C_Sign");
    verify_signature(&cert_der, DATA, &signature).expect("signature verifies");

    // The raw C ABI of the same loaded module: length queries, short buffers,
    // unknown attributes, bad handles.
    // SAFETY: the module is the one cryptoki loaded; pointers are to live locals.
    unsafe {
        let raw = cryptoki_sys::Pkcs11::new(&path).expect("load module raw");
        let mut h: CK_SESSION_HANDLE = 0;
        let rv0 = raw.C_OpenSession(slot.id(), CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut h);
        assert_eq!(rv0, CKR_OK);
        let mut info = CK_SESSION_INFO::default();
        assert_eq!(raw.C_GetSessionInfo(h, &mut info), CKR_OK);
        assert_eq!(info.state, CKS_RO_USER_FUNCTIONS, "login is per token");
        assert_eq!(raw.C_GetSessionInfo(0xDEAD, &mut info), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(raw.C_CloseSession(0xDEAD), CKR_SESSION_HANDLE_INVALID);

        let cert = certs[0].handle();
        let mut t = [CK_ATTRIBUTE { type_: CKA_VALUE, pValue: std::ptr::null_mut(), ulValueLen: 0 }];
        assert_eq!(raw.C_GetAttributeValue(h, cert, t.as_mut_ptr(), 1), CKR_OK);
        assert_eq!(t[0].ulValueLen as usize, cert_der.len(), "length query");
        let mut short = vec![0u8; cert_der.len() - 1];
        t[0].pValue = short.as_mut_ptr().cast();
        t[0].ulValueLen = short.len() as CK_ULONG;
        assert_eq!(raw.C_GetAttributeValue(h, cert, t.as_mut_ptr(), 1), CKR_BUFFER_TOO_SMALL);
        assert_eq!(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
        let mut full = vec![0u8; cert_der.len() + 10];
        let mut class: CK_OBJECT_CLASS = 0;
        let mut t = [
            CK_ATTRIBUTE { type_: CKA_VALUE, pValue: full.as_mut_ptr().cast(), ulValueLen: full.len() as CK_ULONG },
            CK_ATTRIBUTE { type_: CKA_MODULUS, pValue: std::ptr::null_mut(), ulValueLen: 0 },
            CK_ATTRIBUTE {
                type_: CKA_CLASS,
                pValue: (&mut class as *mut CK_OBJECT_CLASS).cast(),
                ulValueLen: std::mem::size_of::<CK_OBJECT_CLASS>() as CK_ULONG,
            },
        ];
        assert_eq!(raw.C_GetAttributeValue(h, cert, t.as_mut_ptr(), 3), CKR_ATTRIBUTE_TYPE_INVALID);
        assert_eq!(t[0].ulValueLen as usize, cert_der.len());
        assert_eq!(&full[..cert_der.len()], &cert_der[..]);
        assert_eq!(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION, "a certificate has no modulus");
        assert_eq!(class, CKO_CERTIFICATE, "later attributes are still filled in");
        assert_eq!(raw.C_GetAttributeValue(h, 0xDEAD, t.as_mut_ptr(), 3), CKR_OBJECT_HANDLE_INVALID);
        assert_eq!(raw.C_GetAttributeValue(0xDEAD, cert, t.as_mut_ptr(), 3), CKR_SESSION_HANDLE_INVALID);

        // Signature length query with a NULL output, then a short buffer.
        let mut mech =
            CK_MECHANISM { mechanism: CKM_SHA256_RSA_PKCS, pParameter: std::ptr::null_mut(), ulParameterLen: 0 };
        assert_eq!(raw.C_SignInit(h, &mut mech, key_9a.handle()), CKR_OK);
        let mut len: CK_ULONG = 0;
        let data = DATA.as_ptr().cast_mut();
        assert_eq!(raw.C_Sign(h, data, DATA.len() as CK_ULONG, std::ptr::null_mut(), &mut len), CKR_OK);
        assert_eq!(len, 256, "RSA-2048");
        let mut sig = vec![0u8; 256];
        let mut short_len: CK_ULONG = 10;
        assert_eq!(raw.C_Sign(h, data, DATA.len() as CK_ULONG, sig.as_mut_ptr(), &mut short_len), CKR_BUFFER_TOO_SMALL);
        assert_eq!(short_len, 256);
        assert_eq!(raw.C_Sign(h, data, DATA.len() as CK_ULONG, sig.as_mut_ptr(), &mut len), CKR_OK);
        verify_signature(&cert_der, DATA, &sig[..len as usize]).expect("raw signature verifies");
        assert_eq!(
            raw.C_Sign(h, data, DATA.len() as CK_ULONG, sig.as_mut_ptr(), &mut len),
            CKR_OPERATION_NOT_INITIALIZED
        );
        assert_eq!(raw.C_DigestInit(h, &mut mech), CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(raw.C_CloseSession(h), CKR_OK);
    }

    // C_Finalize, then C_Initialize again: the same reader keeps its slot id.
    drop(session);
    p11.finalize().expect("C_Finalize");
    let p11 = Pkcs11::new(&path).expect("reload module");
    assert!(matches!(p11.get_all_slots().map_err(rv), Err(RvError::CryptokiNotInitialized)));
    p11.initialize(args()).expect("C_Initialize again");
    assert_eq!(slot_of(&p11, &card.reader.name).id(), slot.id());
    let session = p11.open_ro_session(slot).expect("C_OpenSession after re-init");
    let state = session.get_session_info().expect("C_GetSessionInfo").session_state();
    assert_eq!(state, cryptoki::session::SessionState::RoPublic, "login ended with C_Finalize");
    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn cryptoki_signs_with_the_azedit_signature_key_and_its_context_pin() {
    let _guard = MODULE_USERS.lock().unwrap_or_else(|p| p.into_inner());
    let card = PluggedCard::profile(Profile::Azedit);
    let path = module_path();
    let p11 = Pkcs11::new(&path).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    let slot = slot_of(&p11, &card.reader.name);
    let mechanisms = p11.get_mechanism_list(slot).expect("C_GetMechanismList");
    assert!(!mechanisms.contains(&MechanismType::RSA_PKCS_PSS), "AzeDIT signs no raw RSA: {mechanisms:?}");
    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    session.login(UserType::User, Some(&pin("1234"))).expect("C_Login with PIN1");
    let key =
        session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![2])]).expect("find")[0];
    let cert_der = fs::read(holder_dir("azedit").join("sign.pem")).unwrap();
    let cert_der = openssl::x509::X509::from_pem(&cert_der).unwrap().to_der().unwrap();
    // SAFETY: the module is the one cryptoki loaded; pointers are to live locals.
    unsafe {
        let raw = cryptoki_sys::Pkcs11::new(&path).expect("load module raw");
        let mut h: CK_SESSION_HANDLE = 0;
        assert_eq!(raw.C_OpenSession(slot.id(), CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut h), CKR_OK);
        let mut mech =
            CK_MECHANISM { mechanism: CKM_ECDSA_SHA256, pParameter: std::ptr::null_mut(), ulParameterLen: 0 };
        let data = DATA.as_ptr().cast_mut();
        let n = DATA.len() as CK_ULONG;
        let mut sig = vec![0u8; 128];
        let mut len = sig.len() as CK_ULONG;
        // Without the context-specific PIN the always-authenticate key refuses.
        assert_eq!(raw.C_SignInit(h, &mut mech, key.handle()), CKR_OK);
        assert_eq!(raw.C_Sign(h, data, n, sig.as_mut_ptr(), &mut len), CKR_USER_NOT_LOGGED_IN);
        // A context login outside a signing operation is refused.
        let mut pin2 = *b"12345";
        assert_eq!(raw.C_Login(h, CKU_CONTEXT_SPECIFIC, pin2.as_mut_ptr(), 5), CKR_OPERATION_NOT_INITIALIZED);
        // A wrong PIN2 is reported by the signature it was given for.
        let mut wrong = *b"54321";
        assert_eq!(raw.C_SignInit(h, &mut mech, key.handle()), CKR_OK);
        assert_eq!(raw.C_Login(h, CKU_CONTEXT_SPECIFIC, wrong.as_mut_ptr(), 5), CKR_OK);
        assert_eq!(raw.C_Sign(h, data, n, sig.as_mut_ptr(), &mut len), CKR_PIN_INCORRECT);
        // The right one signs once; the next signature needs it again.
        assert_eq!(raw.C_SignInit(h, &mut mech, key.handle()), CKR_OK);
        assert_eq!(raw.C_Login(h, CKU_CONTEXT_SPECIFIC, pin2.as_mut_ptr(), 5), CKR_OK);
        len = sig.len() as CK_ULONG;
        assert_eq!(raw.C_Sign(h, data, n, sig.as_mut_ptr(), &mut len), CKR_OK);
        assert_eq!(len, 96, "raw r ‖ s on P-384, the AzeDIT signature key");
        verify_signature(&cert_der, DATA, &sig[..len as usize]).expect("signature verifies");
        assert_eq!(raw.C_SignInit(h, &mut mech, key.handle()), CKR_OK);
        assert_eq!(raw.C_Sign(h, data, n, sig.as_mut_ptr(), &mut len), CKR_USER_NOT_LOGGED_IN);
        assert_eq!(raw.C_CloseSession(h), CKR_OK);
    }
    drop(session);
    p11.finalize().expect("C_Finalize");
}

/// Loads and initializes the module (the caller holds `MODULE_USERS`).
fn init() -> Pkcs11 {
    let p11 = Pkcs11::new(module_path()).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    p11
}

fn module_guard() -> std::sync::MutexGuard<'static, ()> {
    MODULE_USERS.lock().unwrap_or_else(|p| p.into_inner())
}

fn cert_der(holder: &str, file: &str) -> Vec<u8> {
    let pem = fs::read(holder_dir(holder).join(file)).unwrap();
    openssl::x509::X509::from_pem(&pem).unwrap().to_der().unwrap()
}

fn private_key_with_id(session: &cryptoki::session::Session, id: u8) -> cryptoki::object::ObjectHandle {
    session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(vec![id])]).expect("find")[0]
}

/// OpenSSL's verdict on `sig` over `data` with `md` (see [`verify_signature_with`]).
fn openssl_verifies(cert: &[u8], md: openssl::hash::MessageDigest, data: &[u8], sig: &[u8], pss: bool) -> bool {
    verify_signature_with(cert, md, data, sig, pss).is_ok()
}

#[test]
fn cryptoki_walks_the_pin_flags_and_unblocks_with_the_puk() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_rw_session(slot).expect("C_OpenSession RW");
    let token = || p11.get_token_info(slot).expect("C_GetTokenInfo");
    assert!(!token().write_protected());

    // 10 wrong PINs, each sent once: the flags follow the card's counter.
    for wrong in 1..=10u8 {
        let r = session.login(UserType::User, Some(&pin("000000"))).map_err(rv);
        assert!(matches!(r, Err(RvError::PinIncorrect | RvError::PinLocked)), "try {wrong}: {r:?}");
        let t = token();
        assert_eq!(t.user_pin_count_low(), wrong < 10, "count low after {wrong}");
        assert_eq!(t.user_pin_final_try(), wrong == 9, "final try after {wrong}");
        assert_eq!(t.user_pin_locked(), wrong == 10, "locked after {wrong}");
    }
    assert_eq!(session.login(UserType::User, Some(&pin("123456"))).map_err(rv), Err(RvError::PinLocked));

    // SO login needs every session read/write.
    let ro = p11.open_ro_session(slot).expect("C_OpenSession RO");
    assert_eq!(session.login(UserType::So, Some(&pin("12345678"))).map_err(rv), Err(RvError::SessionReadOnlyExists));
    assert_eq!(ro.set_pin(&pin("123456"), &pin("654321")).map_err(rv), Err(RvError::SessionReadOnly));
    drop(ro);

    // A wrong PUK (PIV checks it only in RESET RETRY COUNTER) costs one try and
    // logs the SO out, so it is not sent again.
    session.login(UserType::So, Some(&pin("00000000"))).expect("C_Login(CKU_SO)");
    assert_eq!(session.init_pin(&pin("654321")).map_err(rv), Err(RvError::PinIncorrect));
    assert!(token().so_pin_count_low() && !token().so_pin_locked());
    assert_eq!(session.init_pin(&pin("654321")).map_err(rv), Err(RvError::UserNotLoggedIn));

    // The right PUK unblocks with a new PIN.
    session.login(UserType::So, Some(&pin("12345678"))).expect("C_Login(CKU_SO)");
    let state = session.get_session_info().expect("C_GetSessionInfo").session_state();
    assert_eq!(state, cryptoki::session::SessionState::RwSecurityOfficer);
    assert_eq!(
        session.login(UserType::User, Some(&pin("123456"))).map_err(rv),
        Err(RvError::UserAnotherAlreadyLoggedIn)
    );
    session.init_pin(&pin("654321")).expect("C_InitPIN");
    // The SO changes the PUK with C_SetPIN.
    session.set_pin(&pin("12345678"), &pin("87654321")).expect("C_SetPIN as SO");
    session.logout().expect("C_Logout SO");
    let t = token();
    assert!(!t.user_pin_locked() && !t.user_pin_count_low() && !t.so_pin_count_low(), "{t:?}");

    assert_eq!(session.login(UserType::User, Some(&pin("123456"))).map_err(rv), Err(RvError::PinIncorrect));
    session.login(UserType::User, Some(&pin("654321"))).expect("C_Login with the new PIN");
    // The user changes the PIN with C_SetPIN.
    session.set_pin(&pin("654321"), &pin("112233")).expect("C_SetPIN");
    session.logout().expect("C_Logout");
    session.login(UserType::User, Some(&pin("112233"))).expect("C_Login after C_SetPIN");
    session.logout().expect("C_Logout");
    session.login(UserType::So, Some(&pin("87654321"))).expect("C_Login with the new PUK");
    session.init_pin(&pin("123456")).expect("C_InitPIN with the new PUK");
    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn cryptoki_flags_a_pin_to_be_changed_and_sets_it_with_the_puk() {
    let _guard = module_guard();
    let card = PluggedCard::new(card_state(Profile::Piv, |o| o.not_activated = true));
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    assert!(p11.get_token_info(slot).expect("C_GetTokenInfo").user_pin_to_be_changed());
    let session = p11.open_rw_session(slot).expect("C_OpenSession RW");
    assert_eq!(session.login(UserType::User, Some(&pin("123456"))).map_err(rv), Err(RvError::PinExpired));
    session.login(UserType::So, Some(&pin("12345678"))).expect("C_Login(CKU_SO)");
    session.init_pin(&pin("246810")).expect("C_InitPIN activates the PIN");
    session.logout().expect("C_Logout");
    assert!(!p11.get_token_info(slot).expect("C_GetTokenInfo").user_pin_to_be_changed());
    session.login(UserType::User, Some(&pin("246810"))).expect("C_Login");
    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn cryptoki_signs_in_parts_with_sha2_and_pss_and_logs_out_on_the_card() {
    use openssl::hash::MessageDigest;
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let mechanisms = p11.get_mechanism_list(slot).expect("C_GetMechanismList");
    for m in [MechanismType::RSA_PKCS_PSS, MechanismType::SHA256_RSA_PKCS_PSS, MechanismType::ECDSA_SHA512] {
        assert!(mechanisms.contains(&m), "{m} missing: {mechanisms:?}");
    }
    let info = p11.get_mechanism_info(slot, MechanismType::SHA384_RSA_PKCS).expect("C_GetMechanismInfo");
    assert_eq!((info.min_key_size(), info.max_key_size()), (2048, 2048));

    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    session.login(UserType::User, Some(&pin("123456"))).expect("C_Login");
    let rsa = private_key_with_id(&session, 1);
    let ec = private_key_with_id(&session, 2);
    let (rsa_cert, ec_cert) = (cert_der("piv", "auth.pem"), cert_der("piv", "sign.pem"));
    let parts: [&[u8]; 3] = [b"e-gov.az ", b"login: ", b"mohur test"];
    let multi_part = |mech: &Mechanism, key, context_pin: bool| {
        session.sign_init(mech, key).expect("C_SignInit");
        if context_pin {
            session.login(UserType::ContextSpecific, Some(&pin("123456"))).expect("C_Login(CKU_CONTEXT_SPECIFIC)");
        }
        for p in parts {
            session.sign_update(p).expect("C_SignUpdate");
        }
        session.sign_final().expect("C_SignFinal")
    };
    let pss = |hash_alg, mgf, s_len: u64| PkcsPssParams { hash_alg, mgf, s_len: s_len.into() };

    for (mech, md) in [
        (Mechanism::Sha256RsaPkcs, MessageDigest::sha256()),
        (Mechanism::Sha384RsaPkcs, MessageDigest::sha384()),
        (Mechanism::Sha512RsaPkcs, MessageDigest::sha512()),
    ] {
        let sig = multi_part(&mech, rsa, false);
        assert!(openssl_verifies(&rsa_cert, md, DATA, &sig, false), "{mech:?}");
    }
    for (mech, md) in [
        (Mechanism::EcdsaSha256, MessageDigest::sha256()),
        (Mechanism::EcdsaSha384, MessageDigest::sha384()),
        (Mechanism::EcdsaSha512, MessageDigest::sha512()),
    ] {
        let sig = multi_part(&mech, ec, true);
        assert!(openssl_verifies(&ec_cert, md, DATA, &sig, false), "{mech:?}");
    }
    let params = pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32);
    let sig = multi_part(&Mechanism::Sha256RsaPkcsPss(params), rsa, false);
    assert!(openssl_verifies(&rsa_cert, MessageDigest::sha256(), DATA, &sig, true), "multi-part PSS");
    let sig = session.sign(&Mechanism::Sha256RsaPkcsPss(params), rsa, DATA).expect("C_Sign PSS");
    assert!(openssl_verifies(&rsa_cert, MessageDigest::sha256(), DATA, &sig, true), "single-part PSS");
    let hash = openssl::sha::sha256(DATA);
    let sig = session.sign(&Mechanism::RsaPkcsPss(params), rsa, &hash).expect("C_Sign CKM_RSA_PKCS_PSS");
    assert!(openssl_verifies(&rsa_cert, MessageDigest::sha256(), DATA, &sig, true), "CKM_RSA_PKCS_PSS");
    // Bad PSS parameters, PSS on an EC key.
    let wrong_hash = pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48);
    let r = session.sign_init(&Mechanism::Sha256RsaPkcsPss(wrong_hash), rsa).map_err(rv);
    assert_eq!(r, Err(RvError::MechanismParamInvalid));
    assert_eq!(session.sign_init(&Mechanism::RsaPkcsPss(params), ec).map_err(rv), Err(RvError::KeyTypeInconsistent));

    // SAFETY: the module is the one cryptoki loaded; pointers are to live locals.
    unsafe {
        let raw = cryptoki_sys::Pkcs11::new(module_path()).expect("load module raw");
        let mut h: CK_SESSION_HANDLE = 0;
        assert_eq!(raw.C_OpenSession(slot.id(), CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut h), CKR_OK);
        let mut mech =
            CK_MECHANISM { mechanism: CKM_SHA512_RSA_PKCS, pParameter: std::ptr::null_mut(), ulParameterLen: 0 };
        assert_eq!(raw.C_SignInit(h, &mut mech, rsa.handle()), CKR_OK);
        let mut part = *b"abc";
        assert_eq!(raw.C_SignUpdate(h, part.as_mut_ptr(), 3), CKR_OK);
        let mut sig = [0u8; 256];
        let mut len: CK_ULONG = 256;
        // C_Sign after C_SignUpdate is refused; the length query and a short buffer
        // leave the operation active.
        assert_eq!(raw.C_Sign(h, part.as_mut_ptr(), 3, sig.as_mut_ptr(), &mut len), CKR_OPERATION_ACTIVE);
        len = 0;
        assert_eq!(raw.C_SignFinal(h, std::ptr::null_mut(), &mut len), CKR_OK);
        assert_eq!(len, 256);
        len = 8;
        assert_eq!(raw.C_SignFinal(h, sig.as_mut_ptr(), &mut len), CKR_BUFFER_TOO_SMALL);
        len = 256;
        assert_eq!(raw.C_SignFinal(h, sig.as_mut_ptr(), &mut len), CKR_OK);
        assert!(openssl_verifies(&rsa_cert, MessageDigest::sha512(), b"abc", &sig, false));
        assert_eq!(raw.C_SignFinal(h, sig.as_mut_ptr(), &mut len), CKR_OPERATION_NOT_INITIALIZED);
        // PSS without its parameters.
        mech.mechanism = CKM_SHA256_RSA_PKCS_PSS;
        assert_eq!(raw.C_SignInit(h, &mut mech, rsa.handle()), CKR_MECHANISM_PARAM_INVALID);
        assert_eq!(raw.C_CloseSession(h), CKR_OK);
    }

    // C_Logout logs out on the card too: another connection sees the PIN unverified.
    let mut direct = card.open();
    assert_eq!(direct.pin_status(PinKind::Auth).expect("PIN status").state, PinState::Verified);
    session.logout().expect("C_Logout");
    assert_eq!(direct.pin_status(PinKind::Auth).expect("PIN status").state, PinState::Ready);
    assert_eq!(session.sign_init(&Mechanism::Sha256RsaPkcs, rsa).map_err(rv), Err(RvError::UserNotLoggedIn));
    drop(session);
    p11.finalize().expect("C_Finalize");
}

#[test]
fn cryptoki_reports_a_pulled_card_and_works_after_reinsertion() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_ro_session(slot).expect("C_OpenSession");
    session.login(UserType::User, Some(&pin("123456"))).expect("C_Login");
    let key = private_key_with_id(&session, 1);

    card.sim.pull();
    assert!(card.reader.wait_card(false, std::time::Duration::from_secs(10)), "card still seen");
    let r = session.sign(&Mechanism::Sha256RsaPkcs, key, DATA).map_err(rv);
    assert!(matches!(r, Err(RvError::DeviceRemoved | RvError::TokenNotPresent)), "{r:?}");
    assert_eq!(session.get_session_info().map(drop).map_err(rv), Err(RvError::SessionHandleInvalid));
    assert!(!p11.get_slot_info(slot).expect("C_GetSlotInfo").token_present());
    assert_eq!(p11.open_ro_session(slot).map(drop).map_err(rv), Err(RvError::TokenNotPresent));

    card.sim.insert();
    assert!(card.reader.wait_card(true, std::time::Duration::from_secs(10)), "card not back");
    let again = p11.open_ro_session(slot).expect("C_OpenSession after reinsertion");
    let state = again.get_session_info().expect("C_GetSessionInfo").session_state();
    assert_eq!(state, cryptoki::session::SessionState::RoPublic, "a new card session needs a new login");
    again.login(UserType::User, Some(&pin("123456"))).expect("C_Login");
    let key = private_key_with_id(&again, 1);
    let sig = again.sign(&Mechanism::Sha256RsaPkcs, key, DATA).expect("C_Sign");
    verify_signature(&cert_der("piv", "auth.pem"), DATA, &sig).expect("signature verifies");
    drop((session, again));
    p11.finalize().expect("C_Finalize");
}

/// Polls C_WaitForSlotEvent(CKF_DONT_BLOCK) until it reports `slot` (other tests
/// make events on other readers).
fn poll_event(p11: &Pkcs11, slot: Slot) -> bool {
    (0..200).any(|_| match p11.get_slot_event().expect("C_WaitForSlotEvent(CKF_DONT_BLOCK)") {
        Some(s) => s == slot,
        None => {
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        }
    })
}

/// C_WaitForSlotEvent blocking in a thread until it reports `slot` or fails.
fn wait_event_in_thread(p11: &Pkcs11, slot: Slot) -> std::sync::mpsc::Receiver<Result<Slot, RvError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p11 = p11.clone();
    std::thread::spawn(move || loop {
        match p11.wait_for_slot_event().map_err(rv) {
            Ok(s) if s != slot => continue,
            r => {
                let _ = tx.send(r);
                return;
            }
        }
    });
    rx
}

#[test]
fn cryptoki_waits_for_slot_events_and_c_finalize_wakes_the_waiter() {
    use std::time::Duration;
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    // The first call sets the baseline; nothing happened to our card since.
    let first = p11.get_slot_event().expect("C_WaitForSlotEvent(CKF_DONT_BLOCK)");
    assert_ne!(first, Some(slot));

    card.sim.pull();
    assert!(card.reader.wait_card(false, Duration::from_secs(10)));
    assert!(poll_event(&p11, slot), "no event for the pulled card");
    card.sim.insert();
    assert!(card.reader.wait_card(true, Duration::from_secs(10)));
    assert!(poll_event(&p11, slot), "no event for the inserted card");

    let waiter = wait_event_in_thread(&p11, slot);
    std::thread::sleep(Duration::from_millis(300));
    card.sim.pull();
    assert_eq!(waiter.recv_timeout(Duration::from_secs(15)).expect("no event in 15 s"), Ok(slot));
    let waiter = wait_event_in_thread(&p11, slot);
    std::thread::sleep(Duration::from_millis(300));
    card.sim.insert();
    assert_eq!(waiter.recv_timeout(Duration::from_secs(15)).expect("no event in 15 s"), Ok(slot));
    assert!(card.reader.wait_card(true, Duration::from_secs(10)));

    // C_Finalize wakes a blocked call (PKCS#11 v2.40 §5.5).
    let waiter = wait_event_in_thread(&p11, slot);
    std::thread::sleep(Duration::from_millis(300));
    p11.clone().finalize().expect("C_Finalize");
    let r = waiter.recv_timeout(Duration::from_secs(5)).expect("C_Finalize did not wake the waiter");
    assert_eq!(r, Err(RvError::CryptokiNotInitialized));
}

#[test]
fn cryptoki_signs_from_8_threads_at_once() {
    let _guard = module_guard();
    let card = PluggedCard::profile(Profile::Piv);
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let main = p11.open_ro_session(slot).expect("C_OpenSession");
    main.login(UserType::User, Some(&pin("123456"))).expect("C_Login");
    let cert = cert_der("piv", "auth.pem");
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (p11, cert) = (&p11, &cert);
            scope.spawn(move || {
                let session = p11.open_ro_session(slot).expect("C_OpenSession");
                let key = private_key_with_id(&session, 1);
                for i in 0..5 {
                    let data = format!("thread {t}, signature {i}");
                    let sig = session.sign(&Mechanism::Sha256RsaPkcs, key, data.as_bytes()).expect("C_Sign");
                    verify_signature(cert, data.as_bytes(), &sig).expect("signature verifies");
                }
            });
        }
    });
    drop(main);
    p11.finalize().expect("C_Finalize");
}

/// PIV cards do not report their maximum of tries: a fresh 3-try card must not read
/// as "count low", and the flags must still follow wrong PINs.
#[test]
fn cryptoki_pin_flags_on_a_three_try_card_that_hides_its_maximum() {
    let _guard = module_guard();
    let card = PluggedCard::new(card_state(Profile::Piv, |o| o.pin_tries = 3));
    let p11 = init();
    let slot = slot_of(&p11, &card.reader.name);
    let session = p11.open_rw_session(slot).expect("C_OpenSession RW");
    let token = || p11.get_token_info(slot).expect("C_GetTokenInfo");
    assert!(!token().user_pin_count_low() && !token().user_pin_final_try());
    assert_eq!(session.login(UserType::User, Some(&pin("000000"))).map_err(rv), Err(RvError::PinIncorrect));
    assert!(token().user_pin_count_low() && !token().user_pin_final_try());
    assert_eq!(session.login(UserType::User, Some(&pin("000000"))).map_err(rv), Err(RvError::PinIncorrect));
    assert!(token().user_pin_count_low() && token().user_pin_final_try());
    session.login(UserType::User, Some(&pin("123456"))).expect("right PIN");
    assert!(!token().user_pin_count_low() && !token().user_pin_final_try());
}
