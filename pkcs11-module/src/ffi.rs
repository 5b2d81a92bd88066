//! The C ABI: every function of the PKCS#11 v2.40 `CK_FUNCTION_LIST` (§5.2), the
//! v3.0 interfaces (`C_GetInterfaceList`, `C_GetInterface`, `CK_FUNCTION_LIST_3_0`,
//! v3.0 §5.2 and §5.4), and the only unsafe code of the crate.
//!
//! Every entry point is made by [`pkcs11!`], which catches panics (a panic must not
//! unwind into C), refuses calls before C_Initialize, rejects null pointers the
//! function cannot accept, and turns the body's `Result<(), Ck>` into a `CK_RV`.
//! The bodies only move data between C memory and the safe [`crate::module`].
#![allow(non_snake_case)]

use crate::error::{Ck, Result};
use crate::module;
use cryptoki_sys::*;
use mohur_apdu::Pin;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(PartialEq, Eq)]
enum Mode {
    /// Callable before C_Initialize.
    Any,
    /// Returns CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize.
    Init,
}

fn entry(name: &'static str, mode: Mode, body: impl FnOnce() -> Result<()>) -> CK_RV {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if mode == Mode::Init && !module::is_initialized() {
            return Err(Ck(CKR_CRYPTOKI_NOT_INITIALIZED));
        }
        body()
    }));
    match r {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(Ck(rv))) => {
            tracing::debug!(function = name, rv = format_args!("{rv:#x}"), "PKCS#11 call failed");
            rv
        }
        Err(_) => {
            tracing::error!(function = name, "panic in PKCS#11 call");
            CKR_GENERAL_ERROR
        }
    }
}

/// Defines `extern "C"` PKCS#11 functions: `fn C_X(args) [Init|Any; nonnull p, q] { body }`.
macro_rules! pkcs11 {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) [$mode:ident $(; nonnull $($nn:ident),+)?] $body:block
    )*) => {$(
        $(#[doc = $doc])*
        ///
        /// # Safety
        /// Pointer arguments must be valid as PKCS#11 (v2.40, v3.0) describes for this function.
        #[no_mangle]
        #[allow(unused_variables)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> CK_RV {
            entry(stringify!($name), Mode::$mode, || -> Result<()> {
                $($(if $nn.is_null() {
                    return Err(Ck(CKR_ARGUMENTS_BAD));
                })+)?
                $body
            })
        }
    )*};
}

/// Input bytes `(p, len)`; a null `p` is only allowed with `len` 0.
unsafe fn bytes<'a>(p: *const u8, len: CK_ULONG) -> Result<&'a [u8]> {
    match (p.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(Ck(CKR_ARGUMENTS_BAD)),
        (false, n) => Ok(std::slice::from_raw_parts(p, n as usize)),
    }
}

/// The output convention of PKCS#11 v2.40 §5.2: a null `out` asks for the length;
/// a short buffer gets the length and CKR_BUFFER_TOO_SMALL.
unsafe fn write_out<T: Copy>(src: &[T], out: *mut T, count: *mut CK_ULONG) -> Result<()> {
    let room = *count as usize;
    *count = src.len() as CK_ULONG;
    if out.is_null() {
        return Ok(());
    }
    if room < src.len() {
        return Err(Ck(CKR_BUFFER_TOO_SMALL));
    }
    std::ptr::copy_nonoverlapping(src.as_ptr(), out, src.len());
    Ok(())
}

/// The signature length convention of §5.2 for C_Sign and C_SignFinal: true when
/// `out` has room for the signature; a null `out` gets the length, a short one the
/// length and CKR_BUFFER_TOO_SMALL (the operation stays active in both cases).
unsafe fn signature_room(h: CK_SESSION_HANDLE, out: *mut u8, len: *mut CK_ULONG) -> Result<bool> {
    let need = module::sign_len(h)?;
    let room = *len as usize;
    *len = need as CK_ULONG;
    match () {
        _ if out.is_null() => Ok(false),
        _ if room < need => Err(Ck(CKR_BUFFER_TOO_SMALL)),
        _ => {
            *len = room as CK_ULONG;
            Ok(true)
        }
    }
}

unsafe fn template(p: *const CK_ATTRIBUTE, n: CK_ULONG) -> Result<Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Ck(CKR_ARGUMENTS_BAD));
    }
    std::slice::from_raw_parts(p, n as usize)
        .iter()
        .map(|a| Ok((a.type_, bytes(a.pValue as *const u8, a.ulValueLen)?.to_vec())))
        .collect()
}

/// The v2.40 `CK_FUNCTION_LIST` and the v3.0 `CK_FUNCTION_LIST_3_0`: the second
/// starts with the same functions and adds those of v3.0.
macro_rules! function_lists {
    ($($f:ident),* $(,)?; $($g:ident),* $(,)?) => {
        static FUNCTION_LIST: CK_FUNCTION_LIST =
            CK_FUNCTION_LIST { version: CK_VERSION { major: 2, minor: 40 }, $($f: Some($f)),* };
        static FUNCTION_LIST_3_0: CK_FUNCTION_LIST_3_0 = CK_FUNCTION_LIST_3_0 {
            version: CK_VERSION { major: 3, minor: 0 },
            $($f: Some($f),)*
            $($g: Some($g)),*
        };
    };
}

function_lists!(
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent;
    C_GetInterfaceList,
    C_GetInterface,
    C_LoginUser,
    C_SessionCancel,
    C_MessageEncryptInit,
    C_EncryptMessage,
    C_EncryptMessageBegin,
    C_EncryptMessageNext,
    C_MessageEncryptFinal,
    C_MessageDecryptInit,
    C_DecryptMessage,
    C_DecryptMessageBegin,
    C_DecryptMessageNext,
    C_MessageDecryptFinal,
    C_MessageSignInit,
    C_SignMessage,
    C_SignMessageBegin,
    C_SignMessageNext,
    C_MessageSignFinal,
    C_MessageVerifyInit,
    C_VerifyMessage,
    C_VerifyMessageBegin,
    C_VerifyMessageNext,
    C_MessageVerifyFinal,
);

/// The name of both interfaces (PKCS#11 v3.0 §5.2), NUL-terminated.
const INTERFACE_NAME: &[u8; 8] = b"PKCS 11\0";

/// The interfaces of C_GetInterfaceList, the default (v3.0) first.
struct Interfaces([CK_INTERFACE; 2]);

// SAFETY: the pointers lead to immutable statics (the name and the function lists);
// callers must not write through them (PKCS#11 v3.0 §5.4).
unsafe impl Sync for Interfaces {}

static INTERFACES: Interfaces = Interfaces([
    CK_INTERFACE {
        pInterfaceName: INTERFACE_NAME.as_ptr().cast_mut(),
        pFunctionList: std::ptr::addr_of!(FUNCTION_LIST_3_0).cast_mut().cast(),
        flags: 0,
    },
    CK_INTERFACE {
        pInterfaceName: INTERFACE_NAME.as_ptr().cast_mut(),
        pFunctionList: std::ptr::addr_of!(FUNCTION_LIST).cast_mut().cast(),
        flags: 0,
    },
]);

/// The version of an interface's function list (its first field in both layouts).
fn interface_version(i: &CK_INTERFACE) -> CK_VERSION {
    if std::ptr::eq(i.pFunctionList.cast_const(), std::ptr::addr_of!(FUNCTION_LIST_3_0).cast()) {
        FUNCTION_LIST_3_0.version
    } else {
        FUNCTION_LIST.version
    }
}

const NOT_SUPPORTED: Result<()> = Err(Ck(CKR_FUNCTION_NOT_SUPPORTED));

pkcs11! {
    /// PKCS#11 v2.40 §5.4. Only OS locking: application mutex callbacks without
    /// CKF_OS_LOCKING_OK give CKR_CANT_LOCK.
    fn C_Initialize(pInitArgs: *mut c_void) [Any] {
        if !pInitArgs.is_null() {
            let args = &*(pInitArgs as *const CK_C_INITIALIZE_ARGS);
            if !args.pReserved.is_null() {
                return Err(Ck(CKR_ARGUMENTS_BAD));
            }
            // Copies, not references: CK_C_INITIALIZE_ARGS is packed on Windows (E0793).
            let callbacks = [
                { args.CreateMutex }.is_some(),
                { args.DestroyMutex }.is_some(),
                { args.LockMutex }.is_some(),
                { args.UnlockMutex }.is_some(),
            ];
            if callbacks.iter().any(|c| *c) && !callbacks.iter().all(|c| *c) {
                return Err(Ck(CKR_ARGUMENTS_BAD));
            }
            if callbacks[0] && args.flags & CKF_OS_LOCKING_OK == 0 {
                return Err(Ck(CKR_CANT_LOCK));
            }
        }
        if !module::is_initialized() {
            crate::config::load();
        }
        module::initialize()
    }

    /// PKCS#11 v2.40 §5.4.
    fn C_Finalize(pReserved: *mut c_void) [Init] {
        if !pReserved.is_null() {
            return Err(Ck(CKR_ARGUMENTS_BAD));
        }
        module::finalize()
    }

    /// PKCS#11 v2.40 §5.4.
    fn C_GetInfo(pInfo: *mut CK_INFO) [Init; nonnull pInfo] {
        *pInfo = CK_INFO {
            cryptokiVersion: CK_VERSION { major: 2, minor: 40 },
            manufacturerID: module::padded("mohur"),
            flags: 0,
            libraryDescription: module::padded("mohur PKCS#11 module"),
            libraryVersion: CK_VERSION {
                major: env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0),
                minor: env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0),
            },
        };
        Ok(())
    }

    /// PKCS#11 v2.40 §5.4.
    fn C_GetFunctionList(ppFunctionList: *mut *mut CK_FUNCTION_LIST) [Any; nonnull ppFunctionList] {
        *ppFunctionList = std::ptr::addr_of!(FUNCTION_LIST).cast_mut();
        Ok(())
    }

    /// PKCS#11 v2.40 §5.5.
    fn C_GetSlotList(tokenPresent: CK_BBOOL, pSlotList: *mut CK_SLOT_ID, pulCount: *mut CK_ULONG) [Init; nonnull pulCount] {
        write_out(&module::slot_list(tokenPresent != CK_FALSE)?, pSlotList, pulCount)
    }

    /// PKCS#11 v2.40 §5.5.
    fn C_GetSlotInfo(slotID: CK_SLOT_ID, pInfo: *mut CK_SLOT_INFO) [Init; nonnull pInfo] {
        *pInfo = module::slot_info(slotID)?;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.5.
    fn C_GetTokenInfo(slotID: CK_SLOT_ID, pInfo: *mut CK_TOKEN_INFO) [Init; nonnull pInfo] {
        *pInfo = module::token_info(slotID)?;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.5.
    fn C_GetMechanismList(slotID: CK_SLOT_ID, pMechanismList: *mut CK_MECHANISM_TYPE, pulCount: *mut CK_ULONG) [Init; nonnull pulCount] {
        write_out(&module::mechanism_list(slotID)?, pMechanismList, pulCount)
    }

    /// PKCS#11 v2.40 §5.5.
    fn C_GetMechanismInfo(slotID: CK_SLOT_ID, type_: CK_MECHANISM_TYPE, pInfo: *mut CK_MECHANISM_INFO) [Init; nonnull pInfo] {
        *pInfo = module::mechanism_info(slotID, type_)?;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.5: not supported (cards are personalised elsewhere).
    fn C_InitToken(slotID: CK_SLOT_ID, pPin: *mut CK_UTF8CHAR, ulPinLen: CK_ULONG, pLabel: *mut CK_UTF8CHAR) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.5: in an SO session, sets the user PIN with the PUK (also
    /// unblocks it). No protected authentication path: the PIN is required.
    fn C_InitPIN(hSession: CK_SESSION_HANDLE, pPin: *mut CK_UTF8CHAR, ulPinLen: CK_ULONG) [Init; nonnull pPin] {
        module::init_pin(hSession, Pin::new(bytes(pPin, ulPinLen)?.to_vec()))
    }

    /// PKCS#11 v2.40 §5.5: the SO changes the PUK, anyone else the user PIN.
    fn C_SetPIN(hSession: CK_SESSION_HANDLE, pOldPin: *mut CK_UTF8CHAR, ulOldLen: CK_ULONG, pNewPin: *mut CK_UTF8CHAR, ulNewLen: CK_ULONG) [Init; nonnull pOldPin, pNewPin] {
        let old = Pin::new(bytes(pOldPin, ulOldLen)?.to_vec());
        let new = Pin::new(bytes(pNewPin, ulNewLen)?.to_vec());
        module::set_pin(hSession, old, new)
    }

    /// PKCS#11 v2.40 §5.6. Notification callbacks are ignored.
    fn C_OpenSession(slotID: CK_SLOT_ID, flags: CK_FLAGS, pApplication: *mut c_void, Notify: CK_NOTIFY, phSession: *mut CK_SESSION_HANDLE) [Init; nonnull phSession] {
        *phSession = module::open_session(slotID, flags)?;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.6.
    fn C_CloseSession(hSession: CK_SESSION_HANDLE) [Init] {
        module::close_session(hSession)
    }

    /// PKCS#11 v2.40 §5.6.
    fn C_CloseAllSessions(slotID: CK_SLOT_ID) [Init] {
        module::close_all_sessions(slotID)
    }

    /// PKCS#11 v2.40 §5.6.
    fn C_GetSessionInfo(hSession: CK_SESSION_HANDLE, pInfo: *mut CK_SESSION_INFO) [Init; nonnull pInfo] {
        *pInfo = module::session_info(hSession)?;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.6: not supported.
    fn C_GetOperationState(hSession: CK_SESSION_HANDLE, pOperationState: *mut CK_BYTE, pulOperationStateLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.6: not supported.
    fn C_SetOperationState(hSession: CK_SESSION_HANDLE, pOperationState: *mut CK_BYTE, ulOperationStateLen: CK_ULONG, hEncryptionKey: CK_OBJECT_HANDLE, hAuthenticationKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.6. No protected authentication path: the PIN is required.
    fn C_Login(hSession: CK_SESSION_HANDLE, userType: CK_USER_TYPE, pPin: *mut CK_UTF8CHAR, ulPinLen: CK_ULONG) [Init] {
        // A null pPin asks for the protected authentication path (module::login).
        let pin = if pPin.is_null() { None } else { Some(Pin::new(bytes(pPin, ulPinLen)?.to_vec())) };
        module::login(hSession, userType, pin)
    }

    /// PKCS#11 v2.40 §5.6.
    fn C_Logout(hSession: CK_SESSION_HANDLE) [Init] {
        module::logout(hSession)
    }

    /// PKCS#11 v2.40 §5.7: not supported (read-only token).
    fn C_CreateObject(hSession: CK_SESSION_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG, phObject: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.7: not supported (read-only token).
    fn C_CopyObject(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG, phNewObject: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.7: not supported (read-only token).
    fn C_DestroyObject(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.7: not supported.
    fn C_GetObjectSize(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE, pulSize: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.7: every attribute is processed; a missing one gets
    /// CK_UNAVAILABLE_INFORMATION and CKR_ATTRIBUTE_TYPE_INVALID, a null pValue its
    /// length, a short buffer CK_UNAVAILABLE_INFORMATION and CKR_BUFFER_TOO_SMALL.
    fn C_GetAttributeValue(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG) [Init; nonnull pTemplate] {
        let attrs = std::slice::from_raw_parts_mut(pTemplate, ulCount as usize);
        let types: Vec<CK_ATTRIBUTE_TYPE> = attrs.iter().map(|a| a.type_).collect();
        let values = module::attributes(hSession, hObject, &types)?;
        let mut rv = Ok(());
        for (a, v) in attrs.iter_mut().zip(values) {
            match v {
                None => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = rv.and(Err(Ck(CKR_ATTRIBUTE_TYPE_INVALID)));
                }
                Some(v) if a.pValue.is_null() => a.ulValueLen = v.len() as CK_ULONG,
                Some(v) if a.ulValueLen as usize >= v.len() => {
                    std::ptr::copy_nonoverlapping(v.as_ptr(), a.pValue as *mut u8, v.len());
                    a.ulValueLen = v.len() as CK_ULONG;
                }
                Some(_) => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = rv.and(Err(Ck(CKR_BUFFER_TOO_SMALL)));
                }
            }
        }
        rv
    }

    /// PKCS#11 v2.40 §5.7: not supported (read-only token).
    fn C_SetAttributeValue(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.7.
    fn C_FindObjectsInit(hSession: CK_SESSION_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG) [Init] {
        module::find_init(hSession, &template(pTemplate, ulCount)?)
    }

    /// PKCS#11 v2.40 §5.7.
    fn C_FindObjects(hSession: CK_SESSION_HANDLE, phObject: *mut CK_OBJECT_HANDLE, ulMaxObjectCount: CK_ULONG, pulObjectCount: *mut CK_ULONG) [Init; nonnull phObject, pulObjectCount] {
        let found = module::find(hSession, ulMaxObjectCount as usize)?;
        std::ptr::copy_nonoverlapping(found.as_ptr(), phObject, found.len());
        *pulObjectCount = found.len() as CK_ULONG;
        Ok(())
    }

    /// PKCS#11 v2.40 §5.7.
    fn C_FindObjectsFinal(hSession: CK_SESSION_HANDLE) [Init] {
        module::find_final(hSession)
    }

    /// PKCS#11 v2.40 §5.8: not supported.
    fn C_EncryptInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.8: not supported.
    fn C_Encrypt(hSession: CK_SESSION_HANDLE, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pEncryptedData: *mut CK_BYTE, pulEncryptedDataLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.8: not supported.
    fn C_EncryptUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG, pEncryptedPart: *mut CK_BYTE, pulEncryptedPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.8: not supported.
    fn C_EncryptFinal(hSession: CK_SESSION_HANDLE, pLastEncryptedPart: *mut CK_BYTE, pulLastEncryptedPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.9: not supported.
    fn C_DecryptInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.9: not supported.
    fn C_Decrypt(hSession: CK_SESSION_HANDLE, pEncryptedData: *mut CK_BYTE, ulEncryptedDataLen: CK_ULONG, pData: *mut CK_BYTE, pulDataLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.9: not supported.
    fn C_DecryptUpdate(hSession: CK_SESSION_HANDLE, pEncryptedPart: *mut CK_BYTE, ulEncryptedPartLen: CK_ULONG, pPart: *mut CK_BYTE, pulPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.9: not supported.
    fn C_DecryptFinal(hSession: CK_SESSION_HANDLE, pLastPart: *mut CK_BYTE, pulLastPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.10: not supported.
    fn C_DigestInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.10: not supported.
    fn C_Digest(hSession: CK_SESSION_HANDLE, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pDigest: *mut CK_BYTE, pulDigestLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.10: not supported.
    fn C_DigestUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.10: not supported.
    fn C_DigestKey(hSession: CK_SESSION_HANDLE, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.10: not supported.
    fn C_DigestFinal(hSession: CK_SESSION_HANDLE, pDigest: *mut CK_BYTE, pulDigestLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.11. The RSA-PSS mechanisms take their `CK_RSA_PKCS_PSS_PARAMS`
    /// (current mechanisms §2.1.3); the others have no parameters.
    fn C_SignInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init; nonnull pMechanism] {
        let m = &*pMechanism;
        let pss = (!m.pParameter.is_null() && m.ulParameterLen as usize == std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>())
            .then(|| std::ptr::read_unaligned(m.pParameter as *const CK_RSA_PKCS_PSS_PARAMS));
        module::sign_init(hSession, m.mechanism, pss, hKey)
    }

    /// PKCS#11 v2.40 §5.11, single part, with the length query of §5.2.
    fn C_Sign(hSession: CK_SESSION_HANDLE, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, pulSignatureLen: *mut CK_ULONG) [Init; nonnull pulSignatureLen] {
        let data = bytes(pData, ulDataLen)?;
        if signature_room(hSession, pSignature, pulSignatureLen)? {
            let signature = module::sign(hSession, data)?;
            write_out(&signature, pSignature, pulSignatureLen)?;
        }
        Ok(())
    }

    /// PKCS#11 v2.40 §5.11: one more part of the data.
    fn C_SignUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG) [Init] {
        module::sign_update(hSession, bytes(pPart, ulPartLen)?)
    }

    /// PKCS#11 v2.40 §5.11, with the length query of §5.2.
    fn C_SignFinal(hSession: CK_SESSION_HANDLE, pSignature: *mut CK_BYTE, pulSignatureLen: *mut CK_ULONG) [Init; nonnull pulSignatureLen] {
        if signature_room(hSession, pSignature, pulSignatureLen)? {
            let signature = module::sign_final(hSession)?;
            write_out(&signature, pSignature, pulSignatureLen)?;
        }
        Ok(())
    }

    /// PKCS#11 v2.40 §5.11: not supported.
    fn C_SignRecoverInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.11: not supported.
    fn C_SignRecover(hSession: CK_SESSION_HANDLE, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, pulSignatureLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported (verify with the certificate in software).
    fn C_VerifyInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported.
    fn C_Verify(hSession: CK_SESSION_HANDLE, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, ulSignatureLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported.
    fn C_VerifyUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported.
    fn C_VerifyFinal(hSession: CK_SESSION_HANDLE, pSignature: *mut CK_BYTE, ulSignatureLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported.
    fn C_VerifyRecoverInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.12: not supported.
    fn C_VerifyRecover(hSession: CK_SESSION_HANDLE, pSignature: *mut CK_BYTE, ulSignatureLen: CK_ULONG, pData: *mut CK_BYTE, pulDataLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.13: not supported.
    fn C_DigestEncryptUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG, pEncryptedPart: *mut CK_BYTE, pulEncryptedPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.13: not supported.
    fn C_DecryptDigestUpdate(hSession: CK_SESSION_HANDLE, pEncryptedPart: *mut CK_BYTE, ulEncryptedPartLen: CK_ULONG, pPart: *mut CK_BYTE, pulPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.13: not supported.
    fn C_SignEncryptUpdate(hSession: CK_SESSION_HANDLE, pPart: *mut CK_BYTE, ulPartLen: CK_ULONG, pEncryptedPart: *mut CK_BYTE, pulEncryptedPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.13: not supported.
    fn C_DecryptVerifyUpdate(hSession: CK_SESSION_HANDLE, pEncryptedPart: *mut CK_BYTE, ulEncryptedPartLen: CK_ULONG, pPart: *mut CK_BYTE, pulPartLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.14: not supported.
    fn C_GenerateKey(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, pTemplate: *mut CK_ATTRIBUTE, ulCount: CK_ULONG, phKey: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.14: not supported.
    fn C_GenerateKeyPair(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, pPublicKeyTemplate: *mut CK_ATTRIBUTE, ulPublicKeyAttributeCount: CK_ULONG, pPrivateKeyTemplate: *mut CK_ATTRIBUTE, ulPrivateKeyAttributeCount: CK_ULONG, phPublicKey: *mut CK_OBJECT_HANDLE, phPrivateKey: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.14: not supported.
    fn C_WrapKey(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hWrappingKey: CK_OBJECT_HANDLE, hKey: CK_OBJECT_HANDLE, pWrappedKey: *mut CK_BYTE, pulWrappedKeyLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.14: not supported.
    fn C_UnwrapKey(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hUnwrappingKey: CK_OBJECT_HANDLE, pWrappedKey: *mut CK_BYTE, ulWrappedKeyLen: CK_ULONG, pTemplate: *mut CK_ATTRIBUTE, ulAttributeCount: CK_ULONG, phKey: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.14: not supported.
    fn C_DeriveKey(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hBaseKey: CK_OBJECT_HANDLE, pTemplate: *mut CK_ATTRIBUTE, ulAttributeCount: CK_ULONG, phKey: *mut CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v2.40 §5.15: the operating system's generator takes no seed.
    fn C_SeedRandom(hSession: CK_SESSION_HANDLE, pSeed: *mut CK_BYTE, ulSeedLen: CK_ULONG) [Init] {
        Err(Ck(CKR_RANDOM_SEED_NOT_SUPPORTED))
    }

    /// PKCS#11 v2.40 §5.15: random bytes from the operating system (PIV and AzeDIT
    /// have no standard GET CHALLENGE for this, so the token does not claim CKF_RNG).
    fn C_GenerateRandom(hSession: CK_SESSION_HANDLE, RandomData: *mut CK_BYTE, ulRandomLen: CK_ULONG) [Init; nonnull RandomData] {
        module::session_info(hSession)?;
        let out = std::slice::from_raw_parts_mut(RandomData, ulRandomLen as usize);
        getrandom::fill(out).map_err(|_| Ck(CKR_FUNCTION_FAILED))
    }

    /// PKCS#11 v2.40 §5.16: legacy, CKR_FUNCTION_NOT_PARALLEL.
    fn C_GetFunctionStatus(hSession: CK_SESSION_HANDLE) [Init] {
        Err(Ck(CKR_FUNCTION_NOT_PARALLEL))
    }

    /// PKCS#11 v2.40 §5.16: legacy, CKR_FUNCTION_NOT_PARALLEL.
    fn C_CancelFunction(hSession: CK_SESSION_HANDLE) [Init] {
        Err(Ck(CKR_FUNCTION_NOT_PARALLEL))
    }

    /// PKCS#11 v2.40 §5.5: with CKF_DONT_BLOCK, CKR_NO_EVENT when no slot changed;
    /// otherwise blocks until one does, or until C_Finalize
    /// (CKR_CRYPTOKI_NOT_INITIALIZED).
    fn C_WaitForSlotEvent(flags: CK_FLAGS, pSlot: *mut CK_SLOT_ID, pReserved: *mut c_void) [Init; nonnull pSlot] {
        if !pReserved.is_null() {
            return Err(Ck(CKR_ARGUMENTS_BAD));
        }
        *pSlot = crate::slot_events::wait(flags & CKF_DONT_BLOCK == 0)?;
        Ok(())
    }

    /// PKCS#11 v3.0 §5.4: the "PKCS 11" interfaces, v3.0 (the default) and v2.40.
    fn C_GetInterfaceList(pInterfacesList: *mut CK_INTERFACE, pulCount: *mut CK_ULONG) [Any; nonnull pulCount] {
        write_out(&INTERFACES.0, pInterfacesList, pulCount)
    }

    /// PKCS#11 v3.0 §5.4: a null name gives the default interface (v3.0); otherwise
    /// the interface of that name, with that version if `pVersion` is given and the
    /// `flags` asked for. No such interface is CKR_ARGUMENTS_BAD.
    fn C_GetInterface(pInterfaceName: *mut CK_UTF8CHAR, pVersion: *mut CK_VERSION, ppInterface: *mut *mut CK_INTERFACE, flags: CK_FLAGS) [Any; nonnull ppInterface] {
        let name = (!pInterfaceName.is_null()).then(|| std::ffi::CStr::from_ptr(pInterfaceName.cast()).to_bytes());
        let version = (!pVersion.is_null()).then(|| *pVersion).map(|v| (v.major, v.minor));
        let found = INTERFACES.0.iter().find(|i| {
            let have = interface_version(i);
            (name.is_none() || name == Some(&INTERFACE_NAME[..INTERFACE_NAME.len() - 1]))
                && (version.is_none() || version == Some((have.major, have.minor)))
                && i.flags & flags == flags
        });
        let found = found.ok_or(Ck(CKR_ARGUMENTS_BAD))?;
        *ppInterface = std::ptr::from_ref(found).cast_mut();
        Ok(())
    }

    /// PKCS#11 v3.0 §5.6: C_Login when the user name is empty; this token has no
    /// user names (CKR_FUNCTION_NOT_SUPPORTED otherwise).
    fn C_LoginUser(hSession: CK_SESSION_HANDLE, userType: CK_USER_TYPE, pPin: *mut CK_UTF8CHAR, ulPinLen: CK_ULONG, pUsername: *mut CK_UTF8CHAR, ulUsernameLen: CK_ULONG) [Init] {
        if !bytes(pUsername, ulUsernameLen)?.is_empty() {
            return NOT_SUPPORTED;
        }
        match C_Login(hSession, userType, pPin, ulPinLen) {
            CKR_OK => Ok(()),
            rv => Err(Ck(rv)),
        }
    }

    /// PKCS#11 v3.0 §5.6: not supported.
    fn C_SessionCancel(hSession: CK_SESSION_HANDLE, flags: CK_FLAGS) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.8: not supported (message-based encryption).
    fn C_MessageEncryptInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.8: not supported.
    fn C_EncryptMessage(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pAssociatedData: *mut CK_BYTE, ulAssociatedDataLen: CK_ULONG, pPlaintext: *mut CK_BYTE, ulPlaintextLen: CK_ULONG, pCiphertext: *mut CK_BYTE, pulCiphertextLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.8: not supported.
    fn C_EncryptMessageBegin(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pAssociatedData: *mut CK_BYTE, ulAssociatedDataLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.8: not supported.
    fn C_EncryptMessageNext(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pPlaintextPart: *mut CK_BYTE, ulPlaintextPartLen: CK_ULONG, pCiphertextPart: *mut CK_BYTE, pulCiphertextPartLen: *mut CK_ULONG, flags: CK_FLAGS) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.8: not supported.
    fn C_MessageEncryptFinal(hSession: CK_SESSION_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.10: not supported (message-based decryption).
    fn C_MessageDecryptInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.10: not supported.
    fn C_DecryptMessage(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pAssociatedData: *mut CK_BYTE, ulAssociatedDataLen: CK_ULONG, pCiphertext: *mut CK_BYTE, ulCiphertextLen: CK_ULONG, pPlaintext: *mut CK_BYTE, pulPlaintextLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.10: not supported.
    fn C_DecryptMessageBegin(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pAssociatedData: *mut CK_BYTE, ulAssociatedDataLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.10: not supported.
    fn C_DecryptMessageNext(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pCiphertextPart: *mut CK_BYTE, ulCiphertextPartLen: CK_ULONG, pPlaintextPart: *mut CK_BYTE, pulPlaintextPartLen: *mut CK_ULONG, flags: CK_FLAGS) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.10: not supported.
    fn C_MessageDecryptFinal(hSession: CK_SESSION_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.13: not supported (message-based signing).
    fn C_MessageSignInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.13: not supported.
    fn C_SignMessage(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, pulSignatureLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.13: not supported.
    fn C_SignMessageBegin(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.13: not supported.
    fn C_SignMessageNext(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, pulSignatureLen: *mut CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.13: not supported.
    fn C_MessageSignFinal(hSession: CK_SESSION_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.15: not supported (message-based verification).
    fn C_MessageVerifyInit(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM, hKey: CK_OBJECT_HANDLE) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.15: not supported.
    fn C_VerifyMessage(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, ulSignatureLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.15: not supported.
    fn C_VerifyMessageBegin(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.15: not supported.
    fn C_VerifyMessageNext(hSession: CK_SESSION_HANDLE, pParameter: *mut c_void, ulParameterLen: CK_ULONG, pData: *mut CK_BYTE, ulDataLen: CK_ULONG, pSignature: *mut CK_BYTE, ulSignatureLen: CK_ULONG) [Init] {
        NOT_SUPPORTED
    }

    /// PKCS#11 v3.0 §5.15: not supported.
    fn C_MessageVerifyFinal(hSession: CK_SESSION_HANDLE) [Init] {
        NOT_SUPPORTED
    }
}
