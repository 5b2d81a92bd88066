//! The card tools of the `mohur` binary (`mohur readers`, `status`, `certs`, `pin`,
//! `sign`, `verify`, `doctor`), in the library so that the tray's menu runs the same
//! code paths. Every command has `--json`, prints citizen-facing text through
//! [`crate::i18n`], and exits with one of the [`exit`] codes.
//!
//! The tools do not need the agent: [`scan`] looks at the readers and PKCS#11 modules
//! once, synchronously, and the PIN operations go through the same [`crate::pin_policy`] as
//! the agent's, so the PIN policy (read the counter first, never ask for a blocked
//! PIN) is the same whoever asks.
//!
//! With `--json` a command prints one JSON object on stdout. A failure is
//! `{"error": {"code": "NO_SERVICE", "message": "…"}}` (codes: [`Failure::code`]);
//! field names are English and stable, messages follow the language.

pub mod certs;
pub mod doctor;
pub mod pin;
pub mod readers;
pub mod sign;
pub mod status;
pub mod verify;

use crate::config::Config;
use crate::tokens::manager::{ScannedReader, TokenManager, TokenSlot};
use crate::tokens::retry_counter::RetryCounter;
use crate::{tr, Error};
use mohur_apdu::{KeyPurpose, PinKind, PinState};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Exit codes shared by every command.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Failed for another reason (I/O, a bug).
    pub const FAILURE: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// No reader, card or token (or not the one asked for).
    pub const NO_TOKEN: u8 = 3;
    /// Wrong PIN or PUK.
    pub const WRONG_PIN: u8 = 4;
    /// PIN or PUK blocked.
    pub const BLOCKED: u8 = 5;
    /// The user cancelled.
    pub const CANCELLED: u8 = 6;
    /// A signature or certificate did not verify.
    pub const INVALID: u8 = 7;
    /// `mohur doctor` found a problem.
    pub const PROBLEMS_FOUND: u8 = 8;
    /// The PC/SC service is not running.
    pub const NO_SERVICE: u8 = 9;
    /// The time-stamp authority did not answer, or answered with something unusable.
    pub const TIMESTAMP: u8 = 10;
    /// The validation data for B-LT (CRLs) could not be had, or a certificate is revoked.
    pub const VALIDATION_DATA: u8 = 11;
}

/// Options of every command that uses a card or token.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TokenOpts {
    /// Use only the card in this PC/SC reader (exact name; repeatable). PKCS#11 tokens
    /// are then left out, so that the command touches nothing else.
    #[arg(long = "reader", value_name = "NAME", global = true)]
    pub readers: Vec<String>,
    /// Configuration file (default: $MOHUR_CONFIG or ~/.config/mohur/agent.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

/// Why a command failed: its exit code, a stable code for `--json`, and the message
/// for the citizen (already translated).
#[derive(Debug)]
pub struct Failure {
    /// One of [`exit`].
    pub exit: u8,
    /// `NO_SERVICE`, `NO_TOKEN`, `PIN_INCORRECT`… (the protocol's error codes, plus
    /// `INVALID` and `USAGE`).
    pub code: &'static str,
    /// What the citizen reads.
    pub message: String,
}

impl Failure {
    /// A failure with its own code and message.
    pub fn new(exit: u8, code: &'static str, message: String) -> Failure {
        Failure { exit, code, message }
    }

    /// A bad command line or a file that cannot be read.
    pub fn usage(message: String) -> Failure {
        Failure::new(exit::USAGE, "USAGE", message)
    }

    /// I/O and other failures.
    pub fn other(message: String) -> Failure {
        Failure::new(exit::FAILURE, "INTERNAL", message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let tries = |n: Option<u8>| n.map(|n| format!(" {}", crate::dialogs::texts::tries_left(n))).unwrap_or_default();
        let (exit, message) = match &e {
            Error::Card(mohur_apdu::Error::NoService(_)) => (exit::NO_SERVICE, tr!("cli-error-no-service")),
            Error::NoToken => (exit::NO_TOKEN, tr!("cli-error-no-token")),
            Error::TokenRemoved => (exit::NO_TOKEN, tr!("cli-error-token-removed")),
            Error::PinIncorrect { tries_left } => (exit::WRONG_PIN, tr!("cli-error-wrong-pin") + &tries(*tries_left)),
            Error::PukIncorrect { tries_left } => (exit::WRONG_PIN, tr!("cli-error-wrong-puk") + &tries(*tries_left)),
            Error::PinFormat(why) => (exit::WRONG_PIN, tr!("cli-error-pin-format", what = why.as_str())),
            Error::PinBlocked => (exit::BLOCKED, tr!("cli-error-pin-blocked")),
            Error::PukBlocked => (exit::BLOCKED, tr!("cli-error-puk-blocked")),
            Error::PinNotActivated => (exit::BLOCKED, tr!("cli-error-not-activated")),
            Error::UserCancelled => (exit::CANCELLED, tr!("cli-error-cancelled")),
            Error::Timeout => (exit::CANCELLED, tr!("cli-error-timeout")),
            Error::NoPrompter(why) => (exit::FAILURE, tr!("cli-error-no-prompter", what = why.as_str())),
            Error::Timestamp(why) => (exit::TIMESTAMP, tr!("cli-error-timestamp", what = why.to_string())),
            Error::Pdf(why) => (exit::FAILURE, tr!("cli-error-document", what = why.to_string())),
            Error::Ltv(why) => (exit::VALIDATION_DATA, tr!("cli-error-ltv", what = why.to_string())),
            Error::Asic(why) => (exit::FAILURE, tr!("cli-error-container", what = why.to_string())),
            Error::Rejected(r) => (exit::FAILURE, format!("{} ({})", r.told(), r.detail)),
            other => (exit::FAILURE, tr!("cli-error-other", what = other.to_string())),
        };
        let code = match &e {
            Error::Card(mohur_apdu::Error::NoService(_)) => "NO_SERVICE",
            other => other.code(),
        };
        Failure { exit, code, message }
    }
}

/// What a command did: the JSON for `--json`, the text otherwise, and its exit code
/// (a command can succeed at running and still report, e.g., an invalid signature).
pub struct Outcome {
    /// Printed with `--json`.
    pub json: Value,
    /// Printed otherwise (lines, translated).
    pub text: String,
    /// One of [`exit`].
    pub exit: u8,
}

/// Prints `result` as `--json` or text and gives the exit code.
pub fn finish(json_mode: bool, result: Result<Outcome, Failure>) -> ExitCode {
    match result {
        Ok(out) => {
            if json_mode {
                println!("{}", serde_json::to_string_pretty(&out.json).unwrap_or_default());
            } else if !out.text.is_empty() {
                print!("{}", out.text);
                if !out.text.ends_with('\n') {
                    println!();
                }
            }
            ExitCode::from(out.exit)
        }
        Err(f) => {
            if json_mode {
                let v = json!({"error": {"code": f.code, "message": f.message}});
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                eprintln!("mohur: {}", f.message);
            }
            ExitCode::from(f.exit)
        }
    }
}

/// Loads the configuration (`--config`, else the default file).
pub fn load_config(opts: &TokenOpts) -> Result<Config, Failure> {
    Config::load(opts.config.as_deref()).map_err(|e| Failure::usage(e.to_string()))
}

/// The tokens present now.
pub struct Scan {
    /// The tokens, cards first (in reader order), then PKCS#11 tokens.
    pub manager: Arc<TokenManager>,
    /// What every PC/SC reader looked at holds.
    pub readers: Vec<ScannedReader>,
    /// Why PC/SC could not be asked (pcscd not running), if it could not.
    pub pcsc_error: Option<Failure>,
    /// The configuration in force.
    pub config: Config,
}

/// Looks at the readers (`--reader`, else the configuration's `readers`, else all) and,
/// without `--reader`, at the PKCS#11 tokens, once. Sends no PIN.
pub fn scan(opts: &TokenOpts) -> Result<Scan, Failure> {
    let config = load_config(opts)?;
    let manager = TokenManager::new();
    let allowed = if opts.readers.is_empty() { config.readers.clone() } else { opts.readers.clone() };
    let (readers, pcsc_error) = if config.pcsc || !opts.readers.is_empty() {
        match manager.scan_pcsc(&allowed) {
            Ok(r) => (r, None),
            Err(e) => (Vec::new(), Some(Failure::from(e))),
        }
    } else {
        (Vec::new(), None)
    };
    if opts.readers.is_empty() {
        let modules = config.pkcs11_module_paths();
        if !modules.is_empty() {
            match RetryCounter::open(config.state_dir()) {
                Ok(counter) => manager.scan_pkcs11(&modules, &counter),
                Err(e) => tracing::warn!(error = %e, "PIN failure counters unavailable; PKCS#11 tokens skipped"),
            }
        }
    }
    Ok(Scan { manager, readers, pcsc_error, config })
}

impl Scan {
    /// The one token to act on: the only one with a key for `purpose`. None is
    /// `NO_TOKEN` (or `NO_SERVICE` if PC/SC was down); several ask for `--reader`.
    pub fn one(&self, purpose: KeyPurpose) -> Result<Arc<TokenSlot>, Failure> {
        let found: Vec<Arc<TokenSlot>> = self.manager.list().into_iter().filter(|t| t.has(purpose)).collect();
        match found.len() {
            0 => Err(match &self.pcsc_error {
                Some(f) => Failure::new(f.exit, f.code, f.message.clone()),
                None => Failure::from(Error::NoToken),
            }),
            1 => Ok(found[0].clone()),
            _ => {
                let names: Vec<String> = found.iter().map(|t| token_place(t)).collect();
                Err(Failure::usage(tr!("cli-error-several-tokens", what = names.join(", "))))
            }
        }
    }
}

/// Where a token is: its reader, or its PKCS#11 module.
pub fn token_place(slot: &TokenSlot) -> String {
    match (&slot.reader, slot.info().kind) {
        (Some(r), _) => r.clone(),
        (None, crate::tokens::TokenKind::Pkcs11 { module }) => module,
        (None, crate::tokens::TokenKind::Card { reader, .. }) => reader,
    }
}

/// `auth` / `sign`, the protocol's names of key purposes.
pub fn purpose_name(p: KeyPurpose) -> &'static str {
    match p {
        KeyPurpose::Signing => "sign",
        _ => "auth",
    }
}

/// The translated name of a key purpose.
pub fn purpose_label(p: KeyPurpose) -> String {
    match p {
        KeyPurpose::Signing => tr!("cli-purpose-sign"),
        _ => tr!("cli-purpose-auth"),
    }
}

/// The translated name of a PIN.
pub fn pin_label(kind: PinKind) -> String {
    match kind {
        PinKind::Signing => tr!("cli-pin-sign"),
        PinKind::Puk => tr!("cli-pin-puk"),
        _ => tr!("cli-pin-auth"),
    }
}

/// The translated name of PIN `kind` of `token`: a PIV card has one PIN for both of its
/// keys (SP 800-73-4), so it is just "PIN" there, not PIN1 and PIN2.
pub fn token_pin_label(token: &crate::tokens::TokenInfo, kind: PinKind) -> String {
    let piv = matches!(&token.kind, crate::tokens::TokenKind::Card { profile, .. } if profile == "PIV");
    if piv && kind != PinKind::Puk {
        tr!("cli-pin-piv")
    } else {
        pin_label(kind)
    }
}

/// The translated state of a PIN: tries left, blocked, not activated.
pub fn pin_state_text(state: PinState, tries_left: Option<u8>) -> String {
    match state {
        PinState::Blocked => tr!("cli-state-blocked"),
        PinState::NotActivated => tr!("cli-state-not-activated"),
        _ if tries_left == Some(0) => tr!("cli-state-blocked"),
        _ => match tries_left {
            Some(n) => crate::dialogs::texts::tries_left(n),
            None => tr!("cli-state-ready"),
        },
    }
}

/// SHA-256 of `data`, with the agent's own hash (no OpenSSL on Windows).
pub fn sha256(data: &[u8]) -> Vec<u8> {
    crate::signing::cms::hash(mohur_apdu::HashAlg::Sha256, data).unwrap_or_default()
}

/// PEM text of a DER certificate (RFC 7468 §5: base64 in lines of 64).
pub fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The DER certificates of a PEM text (RFC 7468 §5; other blocks are skipped).
pub fn parse_pem_certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (&mut body, line) {
            (None, "-----BEGIN CERTIFICATE-----") => body = Some(String::new()),
            (Some(b), "-----END CERTIFICATE-----") => {
                let der = base64::engine::general_purpose::STANDARD.decode(b.as_bytes()).map_err(|e| e.to_string())?;
                out.push(der);
                body = None;
            }
            (Some(b), l) => b.push_str(l),
            (None, _) => {}
        }
    }
    Ok(out)
}

/// Upper-case hex, as ATRs are written.
/// What the table of known cards ([`mohur_apdu::known_cards`]) says of a card that no
/// driver of ours opens: its name, and which module drives it (installed here or not),
/// or that none is known. `(text, json)`.
pub fn card_verdict(atr: &[u8]) -> (String, serde_json::Value) {
    use mohur_apdu::known_cards::{identify, Driver, ARMENIAN_ID_CARD};
    let module_text = |d: &Driver| match (d, d.installed_module()) {
        (Driver::Pkcs11 { software, .. }, Some(path)) => (software.to_string(), path.to_owned(), true),
        (Driver::Pkcs11 { software, .. }, None) => {
            (software.to_string(), d.module_paths().first().copied().unwrap_or_default().to_owned(), false)
        }
        _ => (String::new(), String::new(), false),
    };
    match identify(atr) {
        Some(card) if matches!(card.driver, Driver::Pkcs11 { .. }) => {
            let (software, module, installed) = module_text(&card.driver);
            let state = if installed { tr!("cli-card-module-installed") } else { tr!("cli-card-module-missing") };
            (
                tr!(
                    "cli-card-needs-module",
                    name = card.name,
                    software = software.as_str(),
                    module = module.as_str(),
                    state = state
                ),
                serde_json::json!({"card": card.name, "software": software, "module": module, "installed": installed}),
            )
        }
        Some(card) => (
            tr!("cli-card-no-module", name = card.name, note = card.note),
            serde_json::json!({"card": card.name, "software": null, "note": card.note}),
        ),
        None => {
            let (software, module, installed) = module_text(&ARMENIAN_ID_CARD);
            (
                tr!("cli-card-unknown", software = software.as_str(), module = module.as_str()),
                serde_json::json!({"card": null, "armenianIdCardModule": module, "installed": installed}),
            )
        }
    }
}

/// Upper-case hex, no separators.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Lower-case hex, as hashes are written.
pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The facts of a certificate that the citizen cares about.
#[derive(Debug, Clone)]
pub struct CertFacts {
    /// Subject, RFC 4514 string.
    pub subject: String,
    /// Issuer, RFC 4514 string.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    /// Valid now.
    pub valid_now: bool,
    /// `RSA-2048`, `P-256`…
    pub key_algorithm: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// Reads the facts of a DER certificate.
pub fn cert_facts(der: &[u8]) -> Result<CertFacts, Failure> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| Failure::other(format!("certificate: {e}")))?;
    let tbs = &cert.tbs_certificate;
    let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (from, to) = (secs(tbs.validity.not_before), secs(tbs.validity.not_after));
    let key_algorithm =
        mohur_apdu::x509::key_algorithm(der).map(crate::protocol::algorithm_name).unwrap_or_else(|_| "unknown".into());
    Ok(CertFacts {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex_lower(tbs.serial_number.as_bytes()),
        not_before: tbs.validity.not_before.to_date_time().to_string(),
        not_after: tbs.validity.not_after.to_date_time().to_string(),
        days_left: (to - now).div_euclid(86_400),
        valid_now: from <= now && now <= to,
        key_algorithm,
        sha256: hex_lower(&sha256(der)),
    })
}

/// The JSON of a certificate (`status`, `certs`).
pub fn cert_json(purpose: KeyPurpose, f: &CertFacts) -> Value {
    json!({
        "purpose": purpose_name(purpose),
        "subject": f.subject,
        "issuer": f.issuer,
        "serialNumber": f.serial,
        "notBefore": f.not_before,
        "notAfter": f.not_after,
        "daysLeft": f.days_left,
        "validNow": f.valid_now,
        "keyAlgorithm": f.key_algorithm,
        "sha256": f.sha256,
    })
}

/// The text lines of a certificate, indented by `indent`.
pub fn cert_text(purpose: KeyPurpose, f: &CertFacts, indent: &str) -> String {
    let validity = if !f.valid_now && f.days_left < 0 {
        tr!("cli-cert-expired")
    } else if !f.valid_now {
        tr!("cli-cert-not-yet-valid")
    } else {
        tr!("cli-cert-days-left", n = f.days_left)
    };
    format!(
        "{indent}{}\n{indent}  {}: {}\n{indent}  {}: {}\n{indent}  {}: {} … {} ({validity})\n{indent}  {}: {}\n",
        tr!("cli-cert-heading", what = purpose_label(purpose)),
        tr!("cli-label-subject"),
        f.subject,
        tr!("cli-label-issuer"),
        f.issuer,
        tr!("cli-label-valid"),
        f.not_before,
        f.not_after,
        tr!("cli-label-key"),
        f.key_algorithm,
    )
}

/// The certificates of a token, by purpose (authentication first).
pub fn certificates(slot: &TokenSlot) -> Vec<(KeyPurpose, Vec<u8>)> {
    let mut out = Vec::new();
    for purpose in [KeyPurpose::Authentication, KeyPurpose::Signing] {
        if slot.has(purpose) {
            match slot.with(|t| t.certificate(purpose)) {
                Ok(der) => out.push((purpose, der)),
                Err(e) => tracing::warn!(token = %slot.id, error = %e, "certificate not readable"),
            }
        }
    }
    out
}

pub use crate::agent::installed_ca_dir;

/// Every certificate (DER) of a CA bundle ([`crate::agent::load_ca_bundle`]), or a
/// usage failure that names the bundle.
pub fn load_ca_bundle(path: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    crate::agent::load_ca_bundle(path)
        .map_err(|e| Failure::usage(tr!("cli-error-ca-bundle", name = path.display().to_string(), what = e)))
}

/// A file name part from a holder's name: letters and digits kept (any script), the
/// rest `_`, so that the name is valid on every file system.
pub fn file_part(s: &str) -> String {
    let cleaned: String = s.trim().chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if cleaned.is_empty() {
        "token".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_error() {
        let f = Failure::from(Error::Card(mohur_apdu::Error::NoService("x".into())));
        assert_eq!((f.exit, f.code), (exit::NO_SERVICE, "NO_SERVICE"));
        assert_eq!(Failure::from(Error::PinIncorrect { tries_left: Some(2) }).exit, exit::WRONG_PIN);
        assert_eq!(Failure::from(Error::PinBlocked).exit, exit::BLOCKED);
        assert_eq!(Failure::from(Error::UserCancelled).exit, exit::CANCELLED);
        assert_eq!(Failure::from(Error::NoToken).exit, exit::NO_TOKEN);
    }

    #[test]
    fn pem_round_trip() {
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let pem = pem_certificate(&der);
        assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
        let text = format!("junk\n{pem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}");
        assert_eq!(parse_pem_certificates(text.as_bytes()).unwrap(), vec![der.clone(), der]);
    }

    #[test]
    fn file_names_keep_letters_of_any_script() {
        assert_eq!(file_part("MAMMADOV ELVIN"), "MAMMADOV_ELVIN");
        assert_eq!(file_part("ՀԱԿՈԲՅԱՆ/../x"), "ՀԱԿՈԲՅԱՆ____x");
        assert_eq!(file_part(" "), "token");
    }
}
