//! PKCS#11 return values as a Rust error (PKCS#11 v2.40 §5.1, "Function return values").

use cryptoki_sys::*;
use mohur_apdu::Error;

/// A `CK_RV` other than `CKR_OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PKCS#11 error {0:#x}")]
pub struct Ck(pub CK_RV);

/// Result of the safe layer.
pub type Result<T, E = Ck> = core::result::Result<T, E>;

impl From<Error> for Ck {
    /// Card errors to return values (PKCS#11 v2.40 §5.1.3–§5.1.5): PIN errors map to
    /// their `CKR_PIN_*`, a vanished card to `CKR_DEVICE_REMOVED`.
    fn from(e: Error) -> Ck {
        let rv = match &e {
            Error::WrongPin { .. } | Error::WrongPuk { .. } => CKR_PIN_INCORRECT,
            Error::PinBlocked | Error::PukBlocked => CKR_PIN_LOCKED,
            Error::NotActivated => CKR_PIN_EXPIRED,
            Error::InvalidPinFormat("too short" | "too long") => CKR_PIN_LEN_RANGE,
            Error::InvalidPinFormat(_) => CKR_PIN_INVALID,
            Error::SecurityStatusNotSatisfied => CKR_USER_NOT_LOGGED_IN,
            Error::Unsupported("data too long for the RSA modulus") => CKR_DATA_LEN_RANGE,
            Error::KeyNotAvailable(_) => CKR_KEY_HANDLE_INVALID,
            e if e.is_card_gone() => CKR_DEVICE_REMOVED,
            Error::NoService(_) => CKR_DEVICE_ERROR,
            _ => CKR_DEVICE_ERROR,
        };
        tracing::debug!(error = %e, rv, "card error");
        Ck(rv)
    }
}
