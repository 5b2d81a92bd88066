//! mohur's PKCS#11 module (`pkcs11-module/`) against independent callers: OpenSC's
//! `pkcs11-tool` (with OpenSSL judging the signatures) and the `cryptoki` crate.
//!
//! The module sees all 12 readers, and other tests plug cards into the others in
//! parallel: slots are always chosen by reader name, never by index.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use cryptoki_sys::*;
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

const DATA: &[u8] = b"e-gov.az login: mohur test";

/// Tests that load the module through `cryptoki` share its one global state.
static MODULE_USERS: Mutex<()> = Mutex::new(());

/// Our module: built by cargo as a (dev-)dependency of this crate, found next to the
/// test binary (`target/debug/deps`) or one level up (`target/debug`).
fn module_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    let candidates = [
        deps.join("libmohur_pkcs11.so"),
        deps.parent().map(|d| d.join("libmohur_pkcs11.so")).unwrap_or_default(),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/libmohur_pkcs11.so")),
    ];
    candidates
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
        .cloned()
        .unwrap_or_else(|| {
            panic!("libmohur_pkcs11.so not found in {candidates:?}: build it with `cargo build -p mohur-pkcs11`")
        })
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
    let dir = temp_dir("mohur-pkcs11-sign");
    let data = dir.join("data");
    fs::write(&data, DATA).unwrap();
    let sig = dir.join("sig");
    let (input, mech) = if rsa {
        (data.clone(), "SHA256-RSA-PKCS")
    } else {
        let hash = dir.join("hash");
        fs::write(&hash, openssl::sha::sha256(DATA)).unwrap();
        (hash, "ECDSA")
    };
    let (input_s, sig_s) = (input.display().to_string(), sig.display().to_string());
    let mut args = vec!["--login", "--pin", pin, "--sign", "--id", id, "-m", mech, "-i", &input_s, "-o", &sig_s];
    if !rsa {
        args.extend_from_slice(&["--signature-format", "openssl"]);
    }
    let (ok, out) = pkcs11_tool(card, &args);
    assert!(ok, "pkcs11-tool --sign with mohur's module failed:\n{out}");
    let pubkey = dir.join("pub.pem").display().to_string();
    let (ok, out) =
        run_tool("openssl", &["x509", "-in", &cert_pem.display().to_string(), "-pubkey", "-noout", "-out", &pubkey]);
    assert!(ok, "{out}");
    let data_s = data.display().to_string();
    let (ok, out) = run_tool("openssl", &["dgst", "-sha256", "-verify", &pubkey, "-signature", &sig_s, &data_s]);
    assert!(ok && out.contains("Verified OK"), "openssl rejects the signature of mohur's module:\n{out}");
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
    assert_eq!(mechanisms.len(), 4, "{mechanisms:?}");

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
