//! USB tokens through their vendors' PKCS#11 modules (cryptoki), e.g. SafeNet eToken.
//!
//! The agent is a PKCS#11 *application* here (PKCS#11 v2.40 base specification,
//! "the spec" below): it loads a vendor module, finds tokens by slot, reads their
//! certificates from public objects, and signs after `C_Login`. What mohur adds:
//!
//! - **Its own PIN limit.** Many tokens (SoftHSM; some vendor tokens) never lock the
//!   PIN (the spec makes `CKR_PIN_LOCKED` optional: §5.6 `C_Login`, §3.2 token flags), so every
//!   `C_Login` (user or SO) goes through [`RetryCounter`]: charged before the PIN is sent,
//!   refused after [`retry_counter::LIMIT`] consecutive failures.
//! - **One PIN entry, one login.** A PIN is sent exactly once per call; a wrong PIN is
//!   reported, never retried. Each operation opens its own session, logs in, works, and
//!   logs out (§5.6 `C_Logout`), so no login state outlives the request.
//! - **Removal.** `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, an invalid slot or session
//!   handle (§5.1 return values: removal closes every session), or a different serial in
//!   the slot all map to [`Error::TokenRemoved`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, RawAuthPin};
use mohur_apdu::{HashAlg, KeyAlgorithm, KeyPurpose, Pin, PinKind, PinState, PinStatus};
use x509_cert::der::Decode;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::Certificate;

use super::{PinRules, Token, TokenInfo, TokenKey, TokenKind};
use crate::tokens::retry_counter::{self, LoginOutcome, RetryCounter, Secret};
use crate::{Error, Result};

/// Vendor modules probed when present ([`present_modules`]). Paths are those the vendors'
/// installers write; none is loaded unless the file exists. SoftHSM is deliberately absent:
/// it is a test stand-in, not a token a citizen owns.
#[cfg(all(unix, not(target_os = "macos")))]
pub const WELL_KNOWN_MODULES: &[&str] = &[
    // SafeNet Authentication Client (Thales): SafeNet eToken 5110/5300, the tokens most
    // Azerbaijani and Armenian CAs issue. Debian/Ubuntu packages put it in /usr/lib,
    // RPMs in /usr/lib64.
    "/usr/lib/libeTPkcs11.so",
    "/usr/lib64/libeTPkcs11.so",
    // Thales IDPrime PKCS#11 (SafeNet Authentication Client 10+, IDPrime MD cards/tokens).
    "/usr/lib/libIDPrimePKCS11.so",
    "/usr/lib64/libIDPrimePKCS11.so",
    // Bit4id (bit4id Universal Middleware, "bit4xpki"), used by several eIDAS QTSPs.
    "/usr/lib/bit4id/libbit4xpki.so",
    "/usr/lib/libbit4xpki.so",
    // Rutoken / JaCarta, common in the CIS region.
    "/usr/lib/librtpkcs11ecp.so",
    "/usr/lib/libjcPKCS11-2.so",
    // Armenian ID cards: CryptoTech's CryptoCard Suite (from EKENG), and PWPW's newer
    // module (mohur_apdu::known_cards::ARMENIAN_ID_CARD).
    "/usr/lib/ccs/libccpkip11.so",
    "/usr/lib/pwpw-card-pkcs11.so",
    // OpenSC's module, for tokens OpenSC drives (Feitian ePass2003, CardOS, ...). Note
    // that it also shows PIV/AzeDIT cards mohur drives natively: the token manager should
    // skip OpenSC tokens whose serial it already has as a card.
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
];

/// Vendor modules probed when present (macOS): framework and `/usr/local/lib` installs.
#[cfg(target_os = "macos")]
pub const WELL_KNOWN_MODULES: &[&str] = &[
    // SafeNet Authentication Client.
    "/usr/local/lib/libeTPkcs11.dylib",
    "/Library/Frameworks/eToken.framework/Versions/Current/libeToken.dylib",
    // Thales IDPrime.
    "/usr/local/lib/libIDPrimePKCS11.dylib",
    // OpenSC.
    "/Library/OpenSC/lib/opensc-pkcs11.so",
];

/// Vendor modules probed when present (Windows): the DLLs the installers put in
/// System32 (found through the normal DLL search) and OpenSC's own directory.
#[cfg(windows)]
pub const WELL_KNOWN_MODULES: &[&str] = &[
    // SafeNet Authentication Client.
    r"C:\Windows\System32\eTPKCS11.dll",
    // Thales IDPrime.
    r"C:\Windows\System32\IDPrimePKCS11.dll",
    // Bit4id.
    r"C:\Windows\System32\bit4xpki.dll",
    // Rutoken.
    r"C:\Windows\System32\rtPKCS11ECP.dll",
    // Armenian ID cards (CryptoTech CryptoCard Suite, PWPW).
    r"C:\Program Files (x86)\CryptoTech\CryptoCard\CCPkiP11.dll",
    r"C:\Program Files\PWPW\pwpw-card-pkcs11.dll",
    // OpenSC.
    r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll",
];

/// PIN length rules used when the token reports nonsense (0, or min > max).
const FALLBACK_RULES: PinRules = PinRules { min: 4, max: 64, digits_only: false };

/// The [`WELL_KNOWN_MODULES`] that exist on this machine.
pub fn present_modules() -> Vec<PathBuf> {
    WELL_KNOWN_MODULES.iter().map(PathBuf::from).filter(|p| p.is_file()).collect()
}

/// Every token present behind `modules`. A module that fails to load or list is
/// skipped with a warning: one broken vendor library must not hide the other tokens.
pub fn discover(modules: &[PathBuf], counter: &RetryCounter) -> Vec<Pkcs11Token> {
    let mut found = Vec::new();
    for path in modules {
        match Pkcs11Module::open(path).and_then(|m| m.tokens(counter)) {
            Ok(tokens) => found.extend(tokens),
            Err(e) => tracing::warn!(module = %path.display(), error = %e, "PKCS#11 module skipped"),
        }
    }
    found
}

/// A loaded and initialized PKCS#11 module.
#[derive(Debug, Clone)]
pub struct Pkcs11Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl Pkcs11Module {
    /// Loads `path` and calls `C_Initialize` with `CKF_OS_LOCKING_OK` (§5.4: the agent is
    /// multi-threaded and lets the module use the OS's locks).
    ///
    /// `C_Initialize`/`C_Finalize` are per process, not per caller (§5.4), so each module
    /// is loaded once per process and kept for its lifetime: finalizing it under one
    /// token would pull it from under every other. A second path to the same library
    /// (`CKR_CRYPTOKI_ALREADY_INITIALIZED`) is accepted.
    pub fn open(path: impl AsRef<Path>) -> Result<Pkcs11Module> {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
        let path = path.as_ref().to_path_buf();
        let mut loaded = LOADED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ctx) = loaded.get(&path) {
            return Ok(Pkcs11Module { ctx: ctx.clone(), path });
        }
        let ctx = Pkcs11::new(&path).map_err(|e| Error::Token(format!("cannot load {}: {e}", path.display())))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(Error::Token(format!("{}: C_Initialize: {e}", path.display()))),
        }
        loaded.insert(path.clone(), ctx.clone());
        Ok(Pkcs11Module { ctx, path })
    }

    /// The module's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens present now (`C_GetSlotList(CK_TRUE)`, §5.5), each counted in `counter`.
    /// Uninitialized tokens are skipped: they have no PIN and no keys.
    pub fn tokens(&self, counter: &RetryCounter) -> Result<Vec<Pkcs11Token>> {
        let slots = self.ctx.get_slots_with_token().map_err(map_err)?;
        let mut tokens = Vec::new();
        let mut failed = None;
        for slot in slots {
            match self.token_in(slot, counter) {
                Ok(Some(t)) => tokens.push(t),
                Ok(None) => {}
                // A token pulled between C_GetSlotList and C_GetTokenInfo is just gone.
                Err(Error::TokenRemoved) => {}
                // One token that cannot be read (a module's error, a store being written
                // by another process) does not hide the others; with none, it is the answer.
                Err(e) => {
                    tracing::warn!("{}: slot {slot}: {e}", self.path.display());
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) if tokens.is_empty() => Err(e),
            _ => Ok(tokens),
        }
    }

    /// The token labelled `label` (`CK_TOKEN_INFO.label`), or [`Error::NoToken`].
    /// Labels, not slot ids, identify tokens: slot ids change between plug-ins.
    pub fn token_with_label(&self, label: &str, counter: &RetryCounter) -> Result<Pkcs11Token> {
        self.tokens(counter)?.into_iter().find(|t| t.label == label).ok_or(Error::NoToken)
    }

    fn token_in(&self, slot: Slot, counter: &RetryCounter) -> Result<Option<Pkcs11Token>> {
        let info = self.ctx.get_token_info(slot).map_err(map_err)?;
        if !info.token_initialized() {
            return Ok(None);
        }
        let serial = info.serial_number().trim().to_owned();
        // The counter follows the physical token, not the module path: the same token
        // reached through two modules (vendor and OpenSC) must share one count.
        let counter_key = format!("{}|{}:{}", info.manufacturer_id().trim(), info.model().trim(), serial);
        let (min, max) = (info.min_pin_length(), info.max_pin_length());
        let rules = if min >= 1 && min <= max { PinRules { min, max, digits_only: false } } else { FALLBACK_RULES };
        Ok(Some(Pkcs11Token {
            ctx: self.ctx.clone(),
            module: self.path.clone(),
            slot,
            label: info.label().trim().to_owned(),
            serial,
            counter_key,
            counter: counter.clone(),
            rules,
            certs: None,
            logins_sent: 0,
        }))
    }
}

/// A certificate on the token whose key can sign.
#[derive(Debug, Clone)]
struct CertEntry {
    /// `CKA_ID`, shared by the certificate and its private key (§4.6, §4.9: "the key
    /// identifier ... should match that of the corresponding certificate").
    id: Vec<u8>,
    der: Vec<u8>,
    algorithm: KeyAlgorithm,
    /// An authentication key ([`mohur_apdu::x509::KeyUses::authentication`]: clientAuth,
    /// or digitalSignature without nonRepudiation, or no keyUsage at all).
    auth: bool,
    /// keyUsage nonRepudiation (contentCommitment), or no keyUsage at all.
    sign: bool,
}

/// A token behind a PKCS#11 module, implementing [`Token`].
///
/// One user PIN guards every key (PKCS#11 has one `CKU_USER`), so both purposes map to
/// [`PinKind::Auth`]; the SO PIN plays the PUK ([`PinKind::Puk`]).
#[derive(Debug)]
pub struct Pkcs11Token {
    ctx: Pkcs11,
    module: PathBuf,
    slot: Slot,
    label: String,
    serial: String,
    counter_key: String,
    counter: RetryCounter,
    rules: PinRules,
    certs: Option<Vec<CertEntry>>,
    logins_sent: u64,
}

impl Pkcs11Token {
    /// The token label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token serial (`CK_TOKEN_INFO.serialNumber`).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The module the token is reached through.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The token's key in the [`RetryCounter`]: `manufacturer|model:serial`.
    pub fn counter_key(&self) -> &str {
        &self.counter_key
    }

    /// How many times this instance sent a PIN to the token (`C_Login`, user or SO).
    /// For diagnostics and for tests proving the counter keeps PINs away from the token.
    pub fn logins_sent(&self) -> u64 {
        self.logins_sent
    }

    /// The token's info, failing with [`Error::TokenRemoved`] if the slot now holds
    /// nothing or another token (serial differs).
    fn token_info(&self) -> Result<cryptoki::slot::TokenInfo> {
        // C_GetTokenInfo spends no PIN try, so a transient CKR_GENERAL_ERROR is asked
        // again: SoftHSM returns it while another process rewrites the token's files.
        let mut tries = 0;
        let info = loop {
            match self.ctx.get_token_info(self.slot) {
                Err(CkError::Pkcs11(RvError::GeneralError, _)) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.map_err(map_err)?,
            }
        };
        if info.serial_number().trim() != self.serial {
            return Err(Error::TokenRemoved);
        }
        Ok(info)
    }

    /// Opens a session after checking the token is still ours. R/W where the spec
    /// demands it: `C_InitPIN` and `C_SetPIN` (§5.5) and SO login (§5.6 `C_Login`: no R/O SO sessions).
    fn session(&self, read_write: bool) -> Result<Session> {
        self.token_info()?;
        let s = if read_write { self.ctx.open_rw_session(self.slot) } else { self.ctx.open_ro_session(self.slot) };
        s.map_err(map_err)
    }

    /// `C_Login(user_type, pin)` through mohur's counter for `secret`.
    fn login(&mut self, session: &Session, user_type: UserType, secret: Secret, pin: &Pin) -> Result<()> {
        // SecretBox zeroizes the copy on drop; the raw form also allows non-UTF-8 PINs.
        let raw = RawAuthPin::new(Box::new(pin.as_bytes().to_vec()));
        let sent = &mut self.logins_sent;
        self.counter.attempt(&self.counter_key, secret, || {
            *sent += 1;
            session.login_with_raw(user_type, &raw).map_err(login_outcome)
        })
    }

    fn certs(&mut self) -> Result<&[CertEntry]> {
        if self.certs.is_none() {
            let session = self.session(false)?;
            self.certs = Some(read_certs(&session)?);
        }
        Ok(self.certs.as_deref().unwrap_or_default())
    }

    /// The certificate for `purpose`: one whose keyUsage names it (preferring one that
    /// names only it); failing that, a token's single certificate serves both purposes.
    fn cert_for(&mut self, purpose: KeyPurpose) -> Result<CertEntry> {
        let certs = self.certs()?;
        let fits = |c: &CertEntry| match purpose {
            KeyPurpose::Signing => c.sign,
            _ => c.auth,
        };
        let only = |c: &CertEntry| fits(c) && !(c.auth && c.sign);
        certs
            .iter()
            .find(|c| only(c))
            .or_else(|| certs.iter().find(|c| fits(c)))
            .or(if certs.len() == 1 { certs.first() } else { None })
            .cloned()
            .ok_or(Error::NoToken)
    }

    fn check_pin(&self, pin: &Pin) -> Result<()> {
        pin.check(self.rules.min, self.rules.max, self.rules.digits_only).map_err(Error::from)
    }
}

impl Token for Pkcs11Token {
    fn info(&mut self) -> Result<TokenInfo> {
        let mut keys = Vec::new();
        let mut holder = None;
        for purpose in [KeyPurpose::Authentication, KeyPurpose::Signing] {
            let Ok(cert) = self.cert_for(purpose) else { continue };
            let cn = mohur_apdu::x509::holder(&cert.der).ok().and_then(|h| h.common_name);
            // The signing certificate's name wins: it is the one a signature shows.
            if holder.is_none() || purpose == KeyPurpose::Signing {
                holder = cn.or(holder);
            }
            keys.push(TokenKey { purpose, algorithm: cert.algorithm, pin: PinKind::Auth });
        }
        let pins = vec![self.pin_status(PinKind::Auth)?, self.pin_status(PinKind::Puk)?];
        Ok(TokenInfo {
            kind: TokenKind::Pkcs11 { module: self.module.display().to_string() },
            serial: self.serial.clone(),
            holder: holder.unwrap_or_else(|| self.label.clone()),
            keys,
            pins,
        })
    }

    fn certificate(&mut self, purpose: KeyPurpose) -> Result<Vec<u8>> {
        Ok(self.cert_for(purpose)?.der)
    }

    fn pin_for(&self, _purpose: KeyPurpose) -> PinKind {
        PinKind::Auth
    }

    fn pin_rules(&self, _kind: PinKind) -> PinRules {
        self.rules
    }

    /// Token flags (§3.2 `CK_TOKEN_INFO.flags`) combined with mohur's counter: tries left
    /// is `LIMIT − failures`, lowered to 1 on `*_FINAL_TRY` and below `LIMIT` on
    /// `*_COUNT_LOW`; blocked if the token says locked or mohur's count is spent.
    fn pin_status(&mut self, kind: PinKind) -> Result<PinStatus> {
        let info = self.token_info()?;
        let (secret, locked, low, final_try) = match kind {
            PinKind::Puk => (Secret::SoPin, info.so_pin_locked(), info.so_pin_count_low(), info.so_pin_final_try()),
            _ => (Secret::UserPin, info.user_pin_locked(), info.user_pin_count_low(), info.user_pin_final_try()),
        };
        let mut tries = self.counter.tries_left(&self.counter_key, secret)?;
        if low {
            tries = tries.min(retry_counter::LIMIT - 1);
        }
        if final_try {
            tries = tries.min(1);
        }
        if locked {
            tries = 0;
        }
        let state = if tries == 0 {
            PinState::Blocked
        } else if secret == Secret::UserPin && !info.user_pin_initialized() {
            PinState::NotActivated
        } else {
            PinState::Ready
        };
        Ok(PinStatus { kind, state, tries_left: Some(tries), max_tries: Some(retry_counter::LIMIT) })
    }

    /// Logs the user in (through the counter), signs with the private key whose `CKA_ID`
    /// matches the certificate, logs out. RSA: `CKM_RSA_PKCS` over the DigestInfo (PKCS#11
    /// v2.40 Current Mechanisms, RSA PKCS #1 v1.5); EC: `CKM_ECDSA` over the digest (Current Mechanisms, ECDSA without hashing), whose
    /// output is already `r ‖ s`. SoftHSM and many tokens lack the hash-and-sign
    /// mechanisms, so the digest is always made by the caller.
    fn sign(&mut self, purpose: KeyPurpose, alg: HashAlg, digest: &[u8], pin: &Pin) -> Result<Vec<u8>> {
        if digest.len() != alg.output_len() {
            return Err(Error::BadRequest("digest length does not match the hash".into()));
        }
        self.check_pin(pin)?;
        let cert = self.cert_for(purpose)?;
        let (mechanism, data) = match cert.algorithm {
            KeyAlgorithm::Rsa { .. } => (Mechanism::RsaPkcs, alg.digest_info(digest)?),
            ec => (Mechanism::Ecdsa, mohur_apdu::signature::ecdsa_input(digest, ec.field_len())),
        };
        let session = self.session(false)?;
        self.login(&session, UserType::User, Secret::UserPin, pin)?;
        let signed =
            (|| {
                let template = [Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(cert.id.clone())];
                let key =
                    session.find_objects(&template).map_err(map_err)?.into_iter().next().ok_or_else(|| {
                        Error::Token("no private key with the certificate's CKA_ID (after login)".into())
                    })?;
                session.sign(&mechanism, key, &data).map_err(map_err)
            })();
        logout(&session);
        let signature = signed?;
        if cert.algorithm.is_ec() && signature.len() != 2 * cert.algorithm.field_len() {
            return Err(Error::Token(format!("ECDSA signature of {} bytes, not r ‖ s", signature.len())));
        }
        Ok(signature)
    }

    /// User PIN: `C_Login(CKU_USER, old)` through the counter, then `C_SetPIN(old, new)` in
    /// that R/W user session (§5.5). SO PIN (`PinKind::Puk`): the same as SO.
    fn change_pin(&mut self, kind: PinKind, old: &Pin, new: &Pin) -> Result<()> {
        self.check_pin(old)?;
        self.check_pin(new)?;
        let (user, secret) = match kind {
            PinKind::Puk => (UserType::So, Secret::SoPin),
            _ => (UserType::User, Secret::UserPin),
        };
        let (old_auth, new_auth) = (auth_pin(old)?, auth_pin(new)?);
        let session = self.session(true)?;
        self.login(&session, user, secret, old)?;
        let changed = session.set_pin(&old_auth, &new_auth).map_err(map_err);
        logout(&session);
        changed
    }

    /// `C_Login(CKU_SO, so_pin)` through the SO counter, `C_InitPIN(new_pin)` (§5.5: sets
    /// the user PIN, the PKCS#11 way to unblock), then mohur's user-PIN count is cleared.
    fn unblock_pin(&mut self, kind: PinKind, puk: &Pin, new_pin: &Pin) -> Result<()> {
        if kind == PinKind::Puk {
            return Err(Error::BadRequest("the SO PIN cannot be unblocked".into()));
        }
        self.check_pin(puk)?;
        self.check_pin(new_pin)?;
        let new_auth = auth_pin(new_pin)?;
        let session = self.session(true)?;
        self.login(&session, UserType::So, Secret::SoPin, puk)?;
        let set = session.init_pin(&new_auth).map_err(map_err);
        logout(&session);
        set?;
        self.counter.reset(&self.counter_key, Secret::UserPin)
    }
}

/// `C_Logout` (§5.6). Errors are ignored: closing the session right after also ends
/// the login once no other session of the application is open.
fn logout(session: &Session) {
    if let Err(e) = session.logout() {
        tracing::debug!(error = %e, "C_Logout failed");
    }
}

/// `C_InitPIN` / `C_SetPIN` take UTF-8 (cryptoki's `AuthPin`). `to_owned` of a `str`
/// allocates exactly its length, so the conversion to `SecretString` does not leave an
/// unzeroized copy behind.
fn auth_pin(pin: &Pin) -> Result<AuthPin> {
    let s = std::str::from_utf8(pin.as_bytes()).map_err(|_| Error::PinFormat("the PIN is not valid UTF-8".into()))?;
    Ok(AuthPin::from(s))
}

/// The X.509 certificates (`CKO_CERTIFICATE`, `CKC_X_509`, §4.6) that are public objects,
/// keeping end-entity certificates of keys mohur can use (RSA, P-256, P-384).
fn read_certs(session: &Session) -> Result<Vec<CertEntry>> {
    let template = [Attribute::Class(ObjectClass::CERTIFICATE), Attribute::CertificateType(CertificateType::X_509)];
    let mut entries = Vec::new();
    for handle in session.find_objects(&template).map_err(map_err)? {
        let attrs = session.get_attributes(handle, &[AttributeType::Id, AttributeType::Value]).map_err(map_err)?;
        let (mut id, mut der) = (None, None);
        for a in attrs {
            match a {
                Attribute::Id(v) => id = Some(v),
                Attribute::Value(v) => der = Some(v),
                _ => {}
            }
        }
        let (Some(id), Some(der)) = (id, der) else { continue };
        if let Some(entry) = cert_entry(id, der) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn cert_entry(id: Vec<u8>, der: Vec<u8>) -> Option<CertEntry> {
    if id.is_empty() {
        return None;
    }
    let algorithm = mohur_apdu::x509::key_algorithm(&der).ok()?;
    let cert = Certificate::from_der(&der).ok()?;
    let tbs = &cert.tbs_certificate;
    if let Ok(Some((_, bc))) = tbs.get::<BasicConstraints>() {
        if bc.ca {
            return None;
        }
    }
    // Which key logs in and which signs: the one rule of [`crate::signing::key_policy`].
    let uses = mohur_apdu::x509::key_uses(&der).ok()?;
    let (auth, sign) = (uses.authentication, uses.non_repudiation);
    (auth || sign).then_some(CertEntry { id, der, algorithm, auth, sign })
}

/// How a `C_Login` failure counts (see [`LoginOutcome`]). Return values that the spec
/// defines as raised before the PIN is looked at give the try back; anything unclear
/// (`CKR_DEVICE_REMOVED` "during the execution", `CKR_DEVICE_ERROR`, ...) keeps it spent.
fn login_outcome(e: CkError) -> LoginOutcome {
    let CkError::Pkcs11(rv, _) = &e else {
        // Conversions and missing functions fail before the module is called.
        return LoginOutcome::NotChecked(map_err(e));
    };
    match rv {
        RvError::PinIncorrect => LoginOutcome::WrongSecret,
        RvError::PinLocked => LoginOutcome::Locked,
        RvError::PinLenRange
        | RvError::PinInvalid
        | RvError::UserAlreadyLoggedIn
        | RvError::UserAnotherAlreadyLoggedIn
        | RvError::UserPinNotInitialized
        | RvError::UserTooManyTypes
        | RvError::UserTypeInvalid
        | RvError::SessionReadOnlyExists
        | RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::TokenNotPresent
        | RvError::SlotIdInvalid
        | RvError::ArgumentsBad
        | RvError::CryptokiNotInitialized => LoginOutcome::NotChecked(map_err(e)),
        _ => LoginOutcome::Unknown(map_err(e)),
    }
}

/// Maps a cryptoki error to the agent's.
fn map_err(e: CkError) -> Error {
    match e {
        CkError::Pkcs11(rv, function) => match rv {
            RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::SlotIdInvalid => Error::TokenRemoved,
            RvError::PinLocked => Error::PinBlocked,
            RvError::UserPinNotInitialized => Error::PinNotActivated,
            RvError::PinLenRange | RvError::PinInvalid | RvError::PinTooWeak => {
                Error::PinFormat(format!("the token refused the PIN ({rv:?})"))
            }
            rv => Error::Token(format!("{function}: CKR {rv:?}")),
        },
        e => Error::Token(e.to_string()),
    }
}
