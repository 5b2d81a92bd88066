//! What mohur's programs share about the computer they run on, so that the agent, the
//! PKCS#11 module and the installer each have one home for it and none reaches into
//! another's folder:
//!
//! | module | what | feature |
//! |---|---|---|
//! | [`dirs`] | mohur's per-user directories (XDG, `%LOCALAPPDATA%`) | — |
//! | `dialogs` | PIN, PUK and consent dialogs: pinentry over Assuan, a window on Windows | `dialogs` |
//! | `secrets` | named secrets in the OS keyring | `keyring` |
//! | `pem`, `chain` | certificates in PEM; signature checks of certificates, CRLs, OCSP answers, digests | `x509` |
//! | `install_report` | what `mohur-install verify --json` tells `mohur doctor` | `install-report` |
//! | `registry` | string values in the Windows registry | `registry` |
//! | `loopback` | the loopback CA of `wss://127.0.0.1` and the agent's server certificates | `loopback` |
//!
//! Each module keeps its own error type: a dialog that was cancelled and a keyring that
//! cannot be reached have nothing in common for a caller to match on.
#![cfg_attr(not(windows), forbid(unsafe_code))]
#![cfg_attr(windows, deny(unsafe_code))]

#[cfg(feature = "x509")]
pub mod chain;
#[cfg(feature = "dialogs")]
pub mod dialogs;
pub mod dirs;
#[cfg(feature = "install-report")]
pub mod install_report;
#[cfg(feature = "loopback")]
pub mod loopback;
#[cfg(feature = "x509")]
pub mod pem;
#[cfg(all(windows, feature = "registry"))]
#[allow(unsafe_code)]
pub mod registry;
#[cfg(feature = "keyring")]
pub mod secrets;
