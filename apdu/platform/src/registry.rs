//! String values in the Windows registry (advapi32): the `Run` value that starts the
//! agent at login (the installer and the tray's "Start at login"), the Web eID native
//! host's key, the installer's other values. The only unsafe code of the crate besides
//! the dialog window; every handle is closed on every path.

use std::ffi::c_void;
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteKeyValueW, RegGetValueW, RegSetValueExW, HKEY, HKEY_CURRENT_USER,
    HKEY_LOCAL_MACHINE, KEY_WRITE, REG_OPTION_NON_VOLATILE, REG_SZ, RRF_RT_REG_SZ,
};

/// A registry call failed with a Win32 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} failed: Windows error {code}")]
pub struct RegistryError {
    /// The function that failed.
    pub call: &'static str,
    /// Its error code (winerror.h).
    pub code: u32,
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn hive(machine: bool) -> HKEY {
    if machine {
        HKEY_LOCAL_MACHINE
    } else {
        HKEY_CURRENT_USER
    }
}

/// A REG_SZ value, or `None` when the key or value does not exist.
pub fn reg_get(machine: bool, key: &str, name: &str) -> Result<Option<String>, RegistryError> {
    let (k, n) = (wide(key), wide(name));
    let mut buf = vec![0u16; 2048];
    let mut bytes = u32::try_from(buf.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: key and value names are NUL-terminated; `buf` holds `bytes` bytes.
    let rc = unsafe {
        RegGetValueW(
            hive(machine),
            k.as_ptr(),
            n.as_ptr(),
            RRF_RT_REG_SZ,
            null_mut(),
            buf.as_mut_ptr().cast::<c_void>(),
            &mut bytes,
        )
    };
    match rc {
        ERROR_SUCCESS => {
            let chars = (bytes as usize / 2).saturating_sub(1); // without the NUL
            Ok(Some(String::from_utf16_lossy(&buf[..chars.min(buf.len())])))
        }
        ERROR_FILE_NOT_FOUND => Ok(None),
        code => Err(RegistryError { call: "RegGetValueW", code }),
    }
}

/// Sets a REG_SZ value, creating the key.
pub fn reg_set(machine: bool, key: &str, name: &str, value: &str) -> Result<(), RegistryError> {
    let (k, n, v) = (wide(key), wide(name), wide(value));
    let mut h: HKEY = null_mut();
    // SAFETY: NUL-terminated key; `h` receives a handle closed below.
    let rc = unsafe {
        RegCreateKeyExW(
            hive(machine),
            k.as_ptr(),
            0,
            null(),
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE,
            null(),
            &mut h,
            null_mut(),
        )
    };
    if rc != ERROR_SUCCESS {
        return Err(RegistryError { call: "RegCreateKeyExW", code: rc });
    }
    let len = u32::try_from(v.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: `h` is open; the data is `len` bytes of UTF-16 including the NUL (REG_SZ).
    let rc = unsafe { RegSetValueExW(h, n.as_ptr(), 0, REG_SZ, v.as_ptr().cast::<u8>(), len) };
    // SAFETY: closes the handle opened above, once.
    unsafe { RegCloseKey(h) };
    if rc != ERROR_SUCCESS {
        return Err(RegistryError { call: "RegSetValueExW", code: rc });
    }
    Ok(())
}

/// Deletes a value (not the key: other programs' values may live there).
pub fn reg_delete(machine: bool, key: &str, name: &str) -> Result<(), RegistryError> {
    let (k, n) = (wide(key), wide(name));
    // SAFETY: NUL-terminated key and value names.
    let rc = unsafe { RegDeleteKeyValueW(hive(machine), k.as_ptr(), n.as_ptr()) };
    match rc {
        ERROR_SUCCESS | ERROR_FILE_NOT_FOUND => Ok(()),
        code => Err(RegistryError { call: "RegDeleteKeyValueW", code }),
    }
}

// Run under wine by scripts/windows.sh: wine's registry is a real one.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_written_read_and_deleted() {
        let key = format!(r"Software\mohur-tests\registry-{}", std::process::id());
        let value = r#""C:\Program Files\mohur\mohurw.exe" agent"#;
        assert_eq!(reg_get(false, &key, "mohur").unwrap(), None, "no key yet");
        reg_set(false, &key, "mohur", value).unwrap();
        assert_eq!(reg_get(false, &key, "mohur").unwrap().as_deref(), Some(value));
        reg_set(false, &key, "mohur", "other").unwrap();
        assert_eq!(reg_get(false, &key, "mohur").unwrap().as_deref(), Some("other"), "replaced");
        reg_delete(false, &key, "mohur").unwrap();
        assert_eq!(reg_get(false, &key, "mohur").unwrap(), None);
        reg_delete(false, &key, "mohur").expect("deleting what is not there is no error");
    }
}
