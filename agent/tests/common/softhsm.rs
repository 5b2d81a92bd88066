//! A SoftHSM2 token standing in for a vendor USB token (a module that never locks
//! its PIN), holding a test-PKI holder's keys and certificates.

use openssl::pkey::PKey;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The token's SO PIN (mohur's PUK for PKCS#11 tokens).
pub const SO_PIN: &str = "12345678";
/// The token's user PIN.
pub const PIN: &str = "123456";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Which of a holder's key pairs a token gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Authentication (CKA_ID 01) and signing (02).
    Both,
    /// Only the signing pair (02).
    SignOnly,
    /// Only the authentication pair (01): its certificate has clientAuth.
    AuthOnly,
}

/// A SoftHSM configuration in `dir` (tokens in `dir/tokens`) with a new token `label`
/// holding `holder_dir`'s authentication (CKA_ID 01) and/or signing (02) keys and
/// certificates, as `keys` says. Returns the `SOFTHSM2_CONF` path. Tokens of one
/// directory must be made one after the other: softhsm2-util fails while another
/// process writes a token there.
pub fn make_token(dir: &Path, label: &str, holder_dir: &Path, keys: Keys) -> PathBuf {
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    let text =
        format!("directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir.display());
    std::fs::write(&conf, text).unwrap();
    let with_conf = |program: &str| {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", &conf);
        c
    };
    run(with_conf("softhsm2-util").args([
        "--init-token",
        "--free",
        "--label",
        label,
        "--so-pin",
        SO_PIN,
        "--pin",
        PIN,
    ]));
    let pairs: &[(&str, &str)] = match keys {
        Keys::Both => &[("auth", "01"), ("sign", "02")],
        Keys::SignOnly => &[("sign", "02")],
        Keys::AuthOnly => &[("auth", "01")],
    };
    for (stem, id) in pairs {
        let key =
            PKey::private_key_from_pem(&std::fs::read(holder_dir.join(format!("{stem}.key.pem"))).unwrap()).unwrap();
        let key_der = dir.join(format!("{label}-{stem}.key.der"));
        std::fs::write(&key_der, key.private_key_to_pkcs8().unwrap()).unwrap();
        for (file, kind) in [(key_der.clone(), "privkey"), (holder_dir.join(format!("{stem}.der")), "cert")] {
            run(with_conf("pkcs11-tool")
                .args(["--module", MODULE, "--token-label", label, "--login", "--pin", PIN, "--write-object"])
                .arg(&file)
                .args(["--type", kind, "--id", id, "--label", stem]));
        }
        std::fs::remove_file(key_der).unwrap();
    }
    conf
}

/// True if SoftHSM itself accepts `pin` for `label` (bypassing mohur).
pub fn softhsm_accepts(conf: &Path, label: &str, pin: &str) -> bool {
    Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", conf)
        .args(["--module", MODULE, "--token-label", label, "--login", "--pin", pin, "--list-objects"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
