//! The only unsafe code of the installer: the Windows certificate-store (CryptoAPI,
//! crypt32) calls behind [`crate::actions`]. Every handle is closed on every path through
//! a small guard. The registry's are in [`mohur_platform::registry`].

use std::ffi::c_void;
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::GetLastError;
use windows_sys::Win32::Security::Cryptography::{
    CertAddEncodedCertificateToStore, CertCloseStore, CertControlStore, CertCreateCertificateContext,
    CertDeleteCertificateFromStore, CertFindCertificateInStore, CertFreeCertificateContext,
    CertGetCertificateContextProperty, CertOpenStore, CertSetCertificateContextProperty, CERT_CONTEXT,
    CERT_ENHKEY_USAGE_PROP_ID, CERT_FIND_EXISTING, CERT_FRIENDLY_NAME_PROP_ID, CERT_STORE_ADD_USE_EXISTING,
    CERT_STORE_CTRL_COMMIT, CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER, CERT_SYSTEM_STORE_LOCAL_MACHINE,
    CRYPT_INTEGER_BLOB, HCERTSTORE, PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

use crate::Error;

const ENCODING: u32 = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn last_error(call: &'static str) -> Error {
    // SAFETY: GetLastError only reads the calling thread's last-error value.
    Error::Windows { call, code: unsafe { GetLastError() } }
}

/// An open system store (`ROOT`, `CA`), closed on drop.
struct Store(HCERTSTORE);

impl Store {
    fn open(machine: bool, name: &str) -> Result<Store, Error> {
        let location = if machine { CERT_SYSTEM_STORE_LOCAL_MACHINE } else { CERT_SYSTEM_STORE_CURRENT_USER };
        let name = wide(name);
        // SAFETY: CERT_STORE_PROV_SYSTEM_W takes a NUL-terminated UTF-16 store name that
        // outlives the call; the returned handle is owned by the guard.
        let h = unsafe { CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, location, name.as_ptr().cast::<c_void>()) };
        if h.is_null() {
            return Err(last_error("CertOpenStore"));
        }
        Ok(Store(h))
    }

    /// The store's copy of `der`, if any (a context to free).
    fn find(&self, der: &[u8]) -> Result<Option<Context>, Error> {
        let len = u32::try_from(der.len()).map_err(|_| Error::Usage("certificate too large".into()))?;
        // SAFETY: `der` is valid for `len` bytes during the call; the context is freed by the guard.
        let probe = unsafe { CertCreateCertificateContext(ENCODING, der.as_ptr(), len) };
        if probe.is_null() {
            return Err(last_error("CertCreateCertificateContext"));
        }
        let probe = Context(probe);
        // SAFETY: store handle and probe context are valid; CERT_FIND_EXISTING compares the encoded certificate.
        let found = unsafe {
            CertFindCertificateInStore(self.0, ENCODING, 0, CERT_FIND_EXISTING, probe.0.cast::<c_void>(), null())
        };
        Ok((!found.is_null()).then_some(Context(found)))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: the handle came from CertOpenStore and is closed once.
        unsafe { CertCloseStore(self.0, 0) };
    }
}

/// A certificate context, freed on drop unless given away.
struct Context(*mut CERT_CONTEXT);

impl Drop for Context {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the context came from a crypt32 call that hands over a reference.
            unsafe { CertFreeCertificateContext(self.0) };
        }
    }
}

/// A certificate property's bytes, if it is set.
fn property(ctx: &Context, id: u32) -> Result<Option<Vec<u8>>, Error> {
    let mut len = 0u32;
    // SAFETY: valid context; a null buffer asks for the length only.
    if unsafe { CertGetCertificateContextProperty(ctx.0, id, null_mut(), &mut len) } == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; len as usize];
    // SAFETY: `buf` holds `len` writable bytes, as the first call asked.
    if unsafe { CertGetCertificateContextProperty(ctx.0, id, buf.as_mut_ptr().cast::<c_void>(), &mut len) } == 0 {
        return Err(last_error("CertGetCertificateContextProperty"));
    }
    buf.truncate(len as usize);
    Ok(Some(buf))
}

/// Sets a blob property of a certificate in its store.
fn set_property(ctx: &Context, id: u32, data: &[u8]) -> Result<(), Error> {
    let blob = CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(data.len()).map_err(|_| Error::Usage("property too large".into()))?,
        pbData: data.as_ptr().cast_mut(),
    };
    // SAFETY: valid context; the blob points at `data`, which outlives the call (the
    // store copies it).
    if unsafe { CertSetCertificateContextProperty(ctx.0, id, 0, std::ptr::from_ref(&blob).cast::<c_void>()) } == 0 {
        return Err(last_error("CertSetCertificateContextProperty"));
    }
    Ok(())
}

/// Whether `der` is in the store, restricted to exactly `purposes` (when given).
pub fn cert_present(machine: bool, store: &str, der: &[u8], purposes: &[String]) -> Result<bool, Error> {
    let Some(ctx) = Store::open(machine, store)?.find(der)? else { return Ok(false) };
    if purposes.is_empty() {
        return Ok(true);
    }
    Ok(property(&ctx, CERT_ENHKEY_USAGE_PROP_ID)? == Some(crate::actions::enhanced_key_usage_der(purposes)?))
}

/// Adds `der` to the store (an existing copy is kept), restricted to `purposes` when
/// given (`CERT_ENHKEY_USAGE_PROP_ID`: Windows then trusts it for those uses only) and
/// named `friendly_name`. Adding to the CurrentUser ROOT store makes Windows ask the
/// user to confirm: that dialog is the OS's, not ours.
pub fn cert_add(machine: bool, store: &str, der: &[u8], purposes: &[String], friendly_name: &str) -> Result<(), Error> {
    let s = Store::open(machine, store)?;
    let len = u32::try_from(der.len()).map_err(|_| Error::Usage("certificate too large".into()))?;
    let mut added: *mut CERT_CONTEXT = null_mut();
    // SAFETY: valid store handle and buffer; the context handed back is freed by the guard.
    let ok = unsafe {
        CertAddEncodedCertificateToStore(s.0, ENCODING, der.as_ptr(), len, CERT_STORE_ADD_USE_EXISTING, &mut added)
    };
    if ok == 0 {
        return Err(last_error("CertAddEncodedCertificateToStore"));
    }
    let ctx = Context(added);
    if !purposes.is_empty() {
        set_property(&ctx, CERT_ENHKEY_USAGE_PROP_ID, &crate::actions::enhanced_key_usage_der(purposes)?)?;
    }
    if !friendly_name.is_empty() {
        let name: Vec<u8> = wide(friendly_name).iter().flat_map(|u| u.to_le_bytes()).collect();
        set_property(&ctx, CERT_FRIENDLY_NAME_PROP_ID, &name)?;
    }
    // SAFETY: valid store handle; CERT_STORE_CTRL_COMMIT takes no parameter.
    unsafe { CertControlStore(s.0, 0, CERT_STORE_CTRL_COMMIT, null()) };
    Ok(())
}

/// Removes `der` from the store if it is there.
pub fn cert_remove(machine: bool, store: &str, der: &[u8]) -> Result<(), Error> {
    let s = Store::open(machine, store)?;
    if let Some(mut ctx) = s.find(der)? {
        let raw = std::mem::replace(&mut ctx.0, null_mut());
        // SAFETY: CertDeleteCertificateFromStore always frees the context it is given,
        // so the guard must not free it again (hence the replace above).
        if unsafe { CertDeleteCertificateFromStore(raw) } == 0 {
            return Err(last_error("CertDeleteCertificateFromStore"));
        }
        // Write the deletion to the registry now rather than when the store is freed:
        // wine's system store stays referenced after the delete and never wrote it
        // (seen with wine 8: the certificates outlived `uninstall`). Harmless on
        // Windows, whose registry stores write through.
        // SAFETY: valid store handle; CERT_STORE_CTRL_COMMIT takes no parameter.
        if unsafe { CertControlStore(s.0, 0, CERT_STORE_CTRL_COMMIT, null()) } == 0 {
            return Err(last_error("CertControlStore"));
        }
    }
    Ok(())
}
