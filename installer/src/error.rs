//! The installer's one error type.

use std::path::PathBuf;

/// Everything that can stop an install, uninstall or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The CA bundle does not match its manifest (a file not pinned, a fingerprint that
    /// differs, a private key among the certificates).
    #[error("CA bundle {dir}: {reason}")]
    Bundle {
        /// The bundle directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Fetching or checking a card's CA chain failed (`install --from-card`).
    #[error("{0}")]
    Learn(String),
    /// A file of the CA bundle is not a certificate we can parse.
    #[error("{path}: not a certificate: {reason}")]
    NotACertificate {
        /// The offending file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// A certificate of the bundle is not a CA certificate (RFC 5280 §4.2.1.9, §4.2.1.3).
    #[error("{subject}: not a CA certificate: {reason}")]
    NotACa {
        /// Subject of the refused certificate.
        subject: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The bundle does not form a chain up to a self-signed root.
    #[error("{subject}: does not chain: {reason}")]
    Chain {
        /// Subject of the certificate whose issuer is missing or whose signature fails.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// An external tool (certutil, modutil, update-ca-certificates…) failed.
    #[error("{tool} failed: {message}")]
    Tool {
        /// Command line, shortened to the program and its first arguments.
        tool: String,
        /// Its standard error, or why it could not start.
        message: String,
    },
    /// The manifest exists but cannot be read.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// Manifest file.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
    /// A Windows API call failed.
    #[error("{call} failed: error {code}")]
    Windows {
        /// The API function.
        call: &'static str,
        /// `GetLastError()` or the returned status.
        code: u32,
    },
    /// The action exists only on another operating system.
    #[error("{0} is not available on this operating system")]
    Unsupported(&'static str),
    /// The command line is inconsistent.
    #[error("{0}")]
    Usage(String),
}

#[cfg(windows)]
impl From<mohur_platform::registry::RegistryError> for Error {
    fn from(e: mohur_platform::registry::RegistryError) -> Error {
        Error::Windows { call: e.call, code: e.code }
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
