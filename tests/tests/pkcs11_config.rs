//! mohur's PKCS#11 module: the v3.0 interfaces (`C_GetInterfaceList`,
//! `C_GetInterface`) through the raw C ABI, and the configuration file read at
//! C_Initialize (`$MOHUR_PKCS11_CONF`, reader allow-list).
//!
//! A test binary of its own: the tests set process-wide environment variables and
//! the module's state is global, so they run one at a time under [`SERIAL`].

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::slot::Slot;
use cryptoki_sys::*;
use mohur_card_sim::Profile;
use mohur_tests::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Points `$MOHUR_PKCS11_CONF` at `contents` (or at a file that does not exist).
fn use_config(contents: Option<&[u8]>) -> PathBuf {
    let path = temp_dir("pkcs11-conf").join("pkcs11.conf");
    if let Some(c) = contents {
        std::fs::write(&path, c).expect("write config");
    }
    std::env::set_var("MOHUR_PKCS11_CONF", &path);
    std::env::remove_var("MOHUR_PKCS11_LOG");
    path
}

fn init(path: &Path) -> Pkcs11 {
    let p11 = Pkcs11::new(path).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    p11
}

fn descriptions(p11: &Pkcs11, slots: &[Slot]) -> Vec<String> {
    slots
        .iter()
        .map(|s| p11.get_slot_info(*s).expect("C_GetSlotInfo").slot_description().trim_end().to_string())
        .collect()
}

/// The readers pcscd has now.
fn pcsc_readers() -> BTreeSet<String> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("PC/SC context");
    let mut buf = vec![0u8; ctx.list_readers_len().expect("reader list length")];
    ctx.list_readers(&mut buf).expect("list readers").map(|r| r.to_string_lossy().into_owned()).collect()
}

fn version_of(i: &CK_INTERFACE) -> (u8, u8) {
    // SAFETY: both function list layouts start with their CK_VERSION.
    let v = unsafe { *(i.pFunctionList as *const CK_VERSION) };
    (v.major, v.minor)
}

fn name_of(i: &CK_INTERFACE) -> String {
    // SAFETY: the module hands out NUL-terminated names.
    unsafe { std::ffi::CStr::from_ptr(i.pInterfaceName.cast()) }.to_string_lossy().into_owned()
}

#[test]
fn interfaces_v3_0_and_v2_40_through_the_raw_abi() {
    let _g = serial();
    use_config(None);
    // SAFETY: raw calls into our module with pointers to live locals; the function
    // lists it returns stay valid while `raw` keeps it loaded.
    unsafe {
        let raw = cryptoki_sys::Pkcs11::new(mohur_pkcs11_path()).expect("load module raw");

        let mut n: CK_ULONG = 0;
        assert_eq!(raw.C_GetInterfaceList(std::ptr::null_mut(), &mut n), CKR_OK);
        assert_eq!(n, 2, "two interfaces");
        let empty =
            CK_INTERFACE { pInterfaceName: std::ptr::null_mut(), pFunctionList: std::ptr::null_mut(), flags: 0 };
        let mut list = [empty; 2];
        let mut short: CK_ULONG = 1;
        assert_eq!(raw.C_GetInterfaceList(list.as_mut_ptr(), &mut short), CKR_BUFFER_TOO_SMALL);
        assert_eq!(short, 2);
        assert_eq!(raw.C_GetInterfaceList(list.as_mut_ptr(), &mut n), CKR_OK);
        let listed: Vec<(String, (u8, u8))> = list.iter().map(|i| (name_of(i), version_of(i))).collect();
        assert_eq!(listed, [("PKCS 11".to_string(), (3, 0)), ("PKCS 11".to_string(), (2, 40))]);
        assert_eq!(raw.C_GetInterfaceList(list.as_mut_ptr(), std::ptr::null_mut()), CKR_ARGUMENTS_BAD);

        // The default interface is v3.0.
        let mut iface: *mut CK_INTERFACE = std::ptr::null_mut();
        assert_eq!(raw.C_GetInterface(std::ptr::null_mut(), std::ptr::null_mut(), &mut iface, 0), CKR_OK);
        assert_eq!((name_of(&*iface), version_of(&*iface)), ("PKCS 11".to_string(), (3, 0)));
        let f30 = &*((*iface).pFunctionList as *const CK_FUNCTION_LIST_3_0);

        // "PKCS 11" 2.40 is the list of C_GetFunctionList.
        let mut name = *b"PKCS 11\0";
        let mut v240 = CK_VERSION { major: 2, minor: 40 };
        let mut iface240: *mut CK_INTERFACE = std::ptr::null_mut();
        assert_eq!(raw.C_GetInterface(name.as_mut_ptr(), &mut v240, &mut iface240, 0), CKR_OK);
        let mut f240: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
        assert_eq!(raw.C_GetFunctionList(&mut f240), CKR_OK);
        assert_eq!((*iface240).pFunctionList, f240.cast::<std::ffi::c_void>());
        // The v2.40 part of the 3.0 list is the same functions.
        assert_eq!(f30.C_GetInfo.map(|f| f as usize), (*f240).C_GetInfo.map(|f| f as usize));
        assert_eq!(f30.C_Sign.map(|f| f as usize), (*f240).C_Sign.map(|f| f as usize));

        // Unknown names, versions and flags.
        let mut other = *b"PKCS 12\0";
        let mut none: *mut CK_INTERFACE = std::ptr::null_mut();
        assert_eq!(raw.C_GetInterface(other.as_mut_ptr(), std::ptr::null_mut(), &mut none, 0), CKR_ARGUMENTS_BAD);
        let mut v31 = CK_VERSION { major: 3, minor: 1 };
        assert_eq!(raw.C_GetInterface(name.as_mut_ptr(), &mut v31, &mut none, 0), CKR_ARGUMENTS_BAD);
        assert_eq!(
            raw.C_GetInterface(name.as_mut_ptr(), std::ptr::null_mut(), &mut none, CKF_INTERFACE_FORK_SAFE),
            CKR_ARGUMENTS_BAD
        );
        assert!(none.is_null());
        assert_eq!(
            raw.C_GetInterface(name.as_mut_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), 0),
            CKR_ARGUMENTS_BAD
        );

        // The 3.0 list works: C_Initialize, C_GetInfo, the new functions, C_Finalize.
        let mut info = CK_INFO::default();
        assert_eq!(f30.C_GetInfo.unwrap()(&mut info), CKR_CRYPTOKI_NOT_INITIALIZED);
        assert_eq!(f30.C_Initialize.unwrap()(std::ptr::null_mut()), CKR_OK);
        assert_eq!(f30.C_GetInfo.unwrap()(&mut info), CKR_OK);
        assert_eq!(&info.manufacturerID[..5], b"mohur");
        assert_eq!(f30.C_SessionCancel.unwrap()(0, 0), CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(f30.C_MessageSignInit.unwrap()(0, std::ptr::null_mut(), 0), CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(f30.C_MessageVerifyFinal.unwrap()(0), CKR_FUNCTION_NOT_SUPPORTED);
        let mut pin = *b"123456";
        let mut user = *b"alice";
        let login_user = f30.C_LoginUser.unwrap();
        assert_eq!(
            login_user(0, CKU_USER, pin.as_mut_ptr(), 6, user.as_mut_ptr(), 5),
            CKR_FUNCTION_NOT_SUPPORTED,
            "no user names"
        );
        // Without a user name it is C_Login (here on a session that does not exist).
        assert_eq!(
            login_user(0xDEAD, CKU_USER, pin.as_mut_ptr(), 6, std::ptr::null_mut(), 0),
            CKR_SESSION_HANDLE_INVALID
        );
        assert_eq!(f30.C_Finalize.unwrap()(std::ptr::null_mut()), CKR_OK);
    }
}

#[test]
fn cryptoki_uses_the_v3_0_interface() {
    let _g = serial();
    use_config(None);
    let p11 = init(&mohur_pkcs11_path());
    assert_eq!(p11.get_library_info().expect("C_GetInfo").manufacturer_id(), "mohur");
    assert!(p11.is_fn_supported(cryptoki::context::Function::LoginUser), "cryptoki took the 3.0 list");
    p11.finalize().expect("C_Finalize");
}

#[test]
fn reader_allow_list_leaves_only_the_listed_reader() {
    let _g = serial();
    let card = PluggedCard::profile(Profile::Piv);
    use_config(Some(format!("# only the card's reader\nreaders = {}\n", card.reader.name).as_bytes()));
    let p11 = init(&mohur_pkcs11_path());
    let all = p11.get_all_slots().expect("C_GetSlotList");
    assert_eq!(descriptions(&p11, &all), std::slice::from_ref(&card.reader.name));
    let with_token = p11.get_slots_with_token().expect("C_GetSlotList(token present)");
    assert_eq!(with_token, all);
    assert!(p11.get_token_info(all[0]).is_ok(), "the card is a token");
    p11.finalize().expect("C_Finalize");
}

#[test]
fn without_a_config_file_every_reader_is_a_slot() {
    let _g = serial();
    require_pcscd();
    use_config(None);
    let p11 = init(&mohur_pkcs11_path());
    let slots: BTreeSet<String> =
        descriptions(&p11, &p11.get_all_slots().expect("C_GetSlotList")).into_iter().collect();
    let readers = pcsc_readers();
    assert_eq!(slots, readers);
    let vpcd = slots.iter().filter(|r| r.starts_with("mohur vpcd ")).count();
    assert_eq!(vpcd, 12, "the 12 vpcd readers of scripts/pcscd.sh: {slots:?}");
    p11.finalize().expect("C_Finalize");
}

#[test]
fn malformed_config_files_still_initialise() {
    let _g = serial();
    require_pcscd();
    let garbage: [&[u8]; 3] = [
        b"this is not a config\n=\nreaders\nprotected_authentication_path = perhaps\nlog_level = loud\nno = such key\n",
        b"\xff\xfe\x00readers = \x80\x81\n",
        b"readers = , ,\nprotected_authentication_path = true\n",
    ];
    for conf in garbage {
        use_config(Some(conf));
        let p11 = init(&mohur_pkcs11_path());
        let slots: BTreeSet<String> =
            descriptions(&p11, &p11.get_all_slots().expect("C_GetSlotList")).into_iter().collect();
        assert_eq!(slots, pcsc_readers(), "a malformed file restricts nothing: {}", String::from_utf8_lossy(conf));
        p11.finalize().expect("C_Finalize");
    }
}
