//! `mohur doctor`: the support line's checklist — token plugged in, driver installed,
//! root, Policy and E-Government CA installed, signer installed and running — run by
//! the machine itself, each check with the fix when it fails.
//!
//! The checks live here, not in the command, so that the tray's "Diagnostics…" shows
//! exactly what `mohur doctor` prints. Every location a check reads is in
//! [`DoctorEnv`], so that tests point them at throwaway directories.
//!
//! Nothing here may hang or spend a PIN try: PC/SC, vendor modules and the NSS tools
//! run on worker threads with deadlines (a wedged pcscd or vendor library becomes a ✗,
//! not a frozen doctor), and PIN counters are read with [`Token::pin_status`], which
//! never sends a PIN.
//!
//! What is installed is judged by the installer itself: doctor runs `mohur-install
//! verify --json` (the one next to it) and turns its findings
//! ([`mohur_platform::install_report`]) into checks, so that doctor and `mohur-install
//! verify` cannot disagree about where things belong, and the agent does not link the
//! installer.

use crate::config::Config;
use crate::tokens::card::CardToken;
use crate::tokens::pkcs11::Pkcs11Module;
use crate::tokens::{Token, TokenInfo, TokenKind};
use crate::tr;
use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::{KeyPurpose, PinKind, PinState, PinStatus};
use mohur_platform::install_report::{self as report, InstallReport, SystemStore};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Days before a certificate's end from which doctor warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In order.
    Pass,
    /// Broken: mohur will not work until it is fixed.
    Fail,
    /// Works today, but needs attention (a certificate near its end, one PIN try left).
    Warn,
    /// Not applicable here, or not checkable because an earlier check failed.
    Skip,
}

impl Status {
    /// The mark printed before the message.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Skip => "–",
        }
    }

    /// The worse of two outcomes (fail > warn > pass > skip).
    fn worst(self, other: Status) -> Status {
        let rank = |s| match s {
            Status::Skip => 0,
            Status::Pass => 1,
            Status::Warn => 2,
            Status::Fail => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable identifier (`pcscd`, `readers`, `token`, `driver`, `ca-bundle`,
    /// `ca-system`, `ca-nss`, `card-certs`, `pkcs11-registered`, `agent`, `pin`,
    /// `loopback-tls`, `web-eid`): the
    /// JSON output and the tray key on it, never on the translated text.
    pub id: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found, in the citizen's language.
    pub message: String,
    /// What to do about it (a command or an action), when not ✓.
    pub fix: Option<String>,
    /// Machine-readable findings (paths, names, days left…).
    pub details: Value,
}

impl Check {
    fn new(id: &'static str, status: Status, message: String, fix: Option<String>, details: Value) -> Check {
        Check { id, status, message, fix, details }
    }
}

/// Every location and setting the checks read, overridable for tests and for
/// machines set up with `mohur-install --root`.
#[derive(Debug, Clone)]
pub struct DoctorEnv {
    /// The agent's configuration: port, readers, vendor modules, PC/SC on or off.
    pub config: Config,
    /// Prefix for system paths (`/` normally), as `mohur-install --root`.
    pub root: PathBuf,
    /// The user's home (NSS databases, p11-kit user modules).
    pub home: PathBuf,
    /// The CA bundle mohur ships (directory or PEM file); `None`: where the package
    /// puts it ([`DoctorEnv::default_ca_bundles`]).
    pub ca_bundle: Option<PathBuf>,
    /// NSS databases to check instead of `~/.pki/nssdb` and the Firefox profiles.
    pub nssdbs: Option<Vec<PathBuf>>,
    /// Directory holding Firefox profiles, instead of the defaults.
    pub firefox_profiles: Option<PathBuf>,
    /// p11-kit module directories; `None`: the user's and the system's.
    pub p11kit_dirs: Option<Vec<PathBuf>>,
    /// How long PC/SC, a vendor module or an NSS tool may take before it counts as hung.
    pub timeout: Duration,
}

impl DoctorEnv {
    /// The real machine as `config` sees it.
    pub fn new(config: Config) -> DoctorEnv {
        let home =
            std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" }).map(PathBuf::from).unwrap_or_default();
        DoctorEnv {
            config,
            root: PathBuf::from("/"),
            home,
            ca_bundle: None,
            nssdbs: None,
            firefox_profiles: None,
            p11kit_dirs: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// The p11-kit module directories (pkcs11.conf(5)): the user's, then the system's.
    pub fn p11kit_dirs(&self) -> Vec<PathBuf> {
        self.p11kit_dirs.clone().unwrap_or_else(|| {
            vec![
                self.home.join(".config/pkcs11/modules"),
                sys(&self.root, "/etc/pkcs11/modules"),
                sys(&self.root, "/usr/share/p11-kit/modules"),
            ]
        })
    }

    /// `mohur-install` of this installation: next to this program (the package and the
    /// MSI put both in one directory, as does a build), else from `PATH`.
    pub fn installer(&self) -> PathBuf {
        let name = if cfg!(windows) { "mohur-install.exe" } else { "mohur-install" };
        std::env::current_exe()
            .ok()
            .map(|e| e.with_file_name(name))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(name))
    }
}

/// Asks the installer what is in place for this environment: `mohur-install verify
/// --json` with the same locations. `Err`: why it could not be asked, for people.
fn ask_installer(env: &DoctorEnv) -> Result<InstallReport, String> {
    let program = env.installer();
    let mut cmd = Command::new(&program);
    cmd.args(["verify", "--json"]).arg("--root").arg(&env.root);
    if let Some(b) = &env.ca_bundle {
        cmd.arg("--ca-bundle").arg(b);
    }
    for db in env.nssdbs.iter().flatten() {
        cmd.arg("--nssdb").arg(db);
    }
    if let Some(f) = &env.firefox_profiles {
        cmd.arg("--firefox-profiles").arg(f);
    }
    cmd.env(if cfg!(windows) { "USERPROFILE" } else { "HOME" }, &env.home);
    #[cfg(windows)]
    {
        // The tray's agent has no console: without this flag Windows would open one for
        // mohur-install, a console program, while doctor runs.
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000; // winbase.h
        cmd.creation_flags(CREATE_NO_WINDOW);
    }
    // It runs certutil and modutil for every browser database, each of which may hang on
    // a broken module: as long as the three checks that ran them here took at most
    // (2 × timeout each), and one more for the modules.
    let out = run_tool(&mut cmd, env.timeout * 8)?;
    let found: InstallReport = serde_json::from_str(&out).map_err(|e| format!("{}: {e}", program.display()))?;
    if found.format != report::FORMAT {
        return Err(tr!("doctor-installer-other-version", name = program.display().to_string()));
    }
    Ok(found)
}

/// `items` without repetitions, first occurrences kept in order (one fix per kind of
/// problem, however many certificates or PINs have it).
fn unique(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn sys(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

/// Runs every check, in the support line's order.
pub fn run_checks(env: &DoctorEnv) -> Vec<Check> {
    let mut checks = Vec::new();
    let pcsc = if env.config.pcsc { Some(survey_pcsc(env)) } else { None };
    let pkcs11 = survey_pkcs11(env);

    checks.push(check_pcscd(pcsc.as_ref()));
    checks.push(check_readers(env, pcsc.as_ref()));
    let tokens: Vec<&TokenSeen> = pcsc
        .as_ref()
        .and_then(|p| p.readers.as_ref().ok())
        .into_iter()
        .flatten()
        .filter_map(|r| match &r.card {
            CardSeen::Token(t) => Some(t),
            _ => None,
        })
        .chain(pkcs11.tokens.iter())
        .collect();
    checks.push(check_token(pcsc.as_ref(), &tokens));
    checks.push(check_driver(&pkcs11));

    let installed = ask_installer(env);
    checks.push(check_bundle(&installed));
    let skipped = tr!("doctor-skip-no-installer");
    let installed: Installed = installed.as_ref().map_err(|_| skipped.as_str());
    checks.push(check_ca_system(installed));
    checks.push(check_ca_nss(installed));
    checks.push(check_ca_audit(installed));
    let cas = installed.ok().map(|r| r.bundle.certificates.iter().map(Ca::of).collect::<Vec<_>>());
    checks.push(check_card_certs(&tokens, cas.as_deref().filter(|c| !c.is_empty()).or(Some(&[]))));
    checks.push(check_pkcs11_registered(env, installed));
    let agent = check_agent(env.config.port, env.timeout);
    let agent_up = agent.status == Status::Pass;
    checks.push(agent);
    checks.push(check_autostart(env));
    checks.push(check_pin(&tokens));
    checks.push(check_loopback_tls(env, agent_up, installed));
    checks.push(check_web_eid(installed));
    checks
}

/// True when no check failed (warnings and skips do not make doctor fail).
pub fn all_good(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

/// Runs `f` on its own thread and gives up on it after `timeout`: a library stuck in
/// a system call cannot be interrupted, but it must not keep doctor from answering.
fn within<T: Send + 'static>(timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("mohur-doctor".into()).spawn(move || {
        let _ = tx.send(f());
    });
    if spawned.is_err() {
        return None;
    }
    rx.recv_timeout(timeout).ok()
}

// ---------------------------------------------------------------------------------
// What is plugged in: PC/SC readers and cards, vendor PKCS#11 modules and tokens.

/// A card or token read without a PIN.
#[derive(Debug, Clone)]
struct TokenSeen {
    /// Reader name or module path.
    place: String,
    info: TokenInfo,
    /// Certificates per key, or why one could not be read.
    certs: Vec<(KeyPurpose, Result<Vec<u8>, String>)>,
}

#[derive(Debug, Clone)]
enum CardSeen {
    Empty,
    Token(TokenSeen),
    /// A card none of our drivers knows (ATR).
    Unsupported(String),
    /// A card that does not answer, or an error reading it.
    Unreadable(String),
}

#[derive(Debug, Clone)]
struct ReaderSeen {
    name: String,
    card: CardSeen,
}

/// What PC/SC showed: the readers (those of the configuration, if it names any), or
/// why pcscd could not be asked; and the configured readers that are missing.
#[derive(Debug)]
struct PcscSurvey {
    readers: Result<Vec<ReaderSeen>, String>,
    all_names: Vec<String>,
    missing: Vec<String>,
}

fn read_token(mut token: Box<dyn Token>, place: String) -> Result<TokenSeen, String> {
    let info = token.info().map_err(|e| e.to_string())?;
    let mut certs = Vec::new();
    for key in &info.keys {
        certs.push((key.purpose, token.certificate(key.purpose).map_err(|e| e.to_string())));
    }
    Ok(TokenSeen { place, info, certs })
}

fn read_card(reader: &str) -> CardSeen {
    use mohur_apdu::Error as E;
    let transport = match PcscTransport::connect(reader) {
        Ok(t) => t,
        Err(E::NoCard) => return CardSeen::Empty,
        Err(e) => return CardSeen::Unreadable(e.to_string()),
    };
    match mohur_apdu::open(Box::new(transport)) {
        Ok(card) => match read_token(Box::new(CardToken::new(card, reader)), reader.to_owned()) {
            Ok(t) => CardSeen::Token(t),
            Err(e) => CardSeen::Unreadable(e),
        },
        Err(E::UnsupportedCard { atr }) => CardSeen::Unsupported(atr),
        Err(e) => CardSeen::Unreadable(e.to_string()),
    }
}

enum PcscMsg {
    Readers(Result<Vec<String>, String>),
    Card(ReaderSeen),
}

/// How long pcscd may take to list its readers before it counts as not answering.
const PCSC_LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Lists the readers and reads each card on a worker thread: the reader list must come
/// within [`PCSC_LIST_TIMEOUT`] (pcscd stopped, its socket gone or wedged), the cards
/// within [`DoctorEnv::timeout`].
fn survey_pcsc(env: &DoctorEnv) -> PcscSurvey {
    let wanted = env.config.readers.clone();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("mohur-doctor-pcsc".into()).spawn(move || {
        let names = mohur_apdu::pcsc_transport::list_readers().map_err(|e| e.to_string());
        let _ = tx.send(PcscMsg::Readers(names.clone()));
        for name in names.unwrap_or_default().into_iter().filter(|n| wanted.is_empty() || wanted.contains(n)) {
            let card = read_card(&name);
            if tx.send(PcscMsg::Card(ReaderSeen { name, card })).is_err() {
                return;
            }
        }
    });
    if let Err(e) = spawned {
        return PcscSurvey { readers: Err(e.to_string()), all_names: Vec::new(), missing: Vec::new() };
    }
    let all_names = match rx.recv_timeout(PCSC_LIST_TIMEOUT) {
        Ok(PcscMsg::Readers(Ok(names))) => names,
        Ok(PcscMsg::Readers(Err(e))) => {
            return PcscSurvey { readers: Err(e), all_names: Vec::new(), missing: Vec::new() };
        }
        Ok(PcscMsg::Card(_)) | Err(_) => {
            let why = tr!("doctor-no-answer", n = PCSC_LIST_TIMEOUT.as_secs());
            return PcscSurvey { readers: Err(why), all_names: Vec::new(), missing: Vec::new() };
        }
    };
    let wanted = &env.config.readers;
    let mut pending: Vec<String> =
        all_names.iter().filter(|n| wanted.is_empty() || wanted.contains(n)).cloned().collect();
    let missing = wanted.iter().filter(|w| !all_names.contains(w)).cloned().collect();
    let deadline = Instant::now() + env.timeout;
    let mut seen = Vec::new();
    while !pending.is_empty() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(PcscMsg::Card(r)) => {
                pending.retain(|n| *n != r.name);
                seen.push(r);
            }
            Ok(PcscMsg::Readers(_)) => {}
            Err(_) => break,
        }
    }
    // A card that did not answer in time is reported, not waited for.
    let why = tr!("doctor-no-answer", n = env.timeout.as_secs());
    seen.extend(pending.into_iter().map(|name| ReaderSeen { name, card: CardSeen::Unreadable(why.clone()) }));
    PcscSurvey { readers: Ok(seen), all_names, missing }
}

/// Vendor modules: which loaded (or why not), and their tokens.
#[derive(Debug, Default)]
struct Pkcs11Survey {
    modules: Vec<(PathBuf, Result<(), String>)>,
    tokens: Vec<TokenSeen>,
}

/// Loads every configured or probed vendor module and reads its tokens, each module on
/// a worker thread with a deadline (a vendor library can block in `C_Initialize`).
fn survey_pkcs11(env: &DoctorEnv) -> Pkcs11Survey {
    let mut survey = Pkcs11Survey::default();
    let state_dir = env.config.state_dir();
    for path in env.config.pkcs11_module_paths() {
        let (p, dir) = (path.clone(), state_dir.clone());
        let result = within(env.timeout, move || -> Result<Vec<TokenSeen>, String> {
            let module = Pkcs11Module::open(&p).map_err(|e| e.to_string())?;
            // Reading the counters creates nothing but the state directory the agent
            // itself would create; without it, tokens are still reported as loaded.
            let Ok(counter) = crate::tokens::retry_counter::RetryCounter::open(dir) else { return Ok(Vec::new()) };
            let tokens = module.tokens(&counter).map_err(|e| e.to_string())?;
            let place = p.display().to_string();
            Ok(tokens.into_iter().filter_map(|t| read_token(Box::new(t), place.clone()).ok()).collect())
        });
        match result {
            Some(Ok(tokens)) => {
                survey.modules.push((path, Ok(())));
                survey.tokens.extend(tokens);
            }
            Some(Err(e)) => survey.modules.push((path, Err(e))),
            None => survey.modules.push((path, Err(tr!("doctor-no-answer", n = env.timeout.as_secs())))),
        }
    }
    survey
}

// ---------------------------------------------------------------------------------
// 1–4: pcscd, readers, card or token, drivers.

fn pcscd_fix() -> String {
    if cfg!(windows) {
        tr!("doctor-pcscd-fix-windows")
    } else {
        tr!("doctor-pcscd-fix")
    }
}

fn check_pcscd(pcsc: Option<&PcscSurvey>) -> Check {
    let Some(pcsc) = pcsc else {
        return Check::new("pcscd", Status::Skip, tr!("doctor-pcsc-off"), None, json!({ "pcsc": false }));
    };
    match &pcsc.readers {
        Ok(_) => Check::new(
            "pcscd",
            Status::Pass,
            if cfg!(windows) { tr!("doctor-scardsvr-ok") } else { tr!("doctor-pcscd-ok") },
            None,
            json!({ "reachable": true }),
        ),
        Err(e) => Check::new(
            "pcscd",
            Status::Fail,
            if cfg!(windows) {
                tr!("doctor-scardsvr-fail", what = e.as_str())
            } else {
                tr!("doctor-pcscd-fail", what = e.as_str())
            },
            Some(pcscd_fix()),
            json!({ "reachable": false, "error": e }),
        ),
    }
}

fn check_readers(env: &DoctorEnv, pcsc: Option<&PcscSurvey>) -> Check {
    let Some(pcsc) = pcsc else {
        return Check::new("readers", Status::Skip, tr!("doctor-pcsc-off"), None, Value::Null);
    };
    let Ok(readers) = &pcsc.readers else {
        return Check::new("readers", Status::Skip, tr!("doctor-skip-no-pcscd"), None, Value::Null);
    };
    let details = json!({
        "readers": readers.iter().map(|r| &r.name).collect::<Vec<_>>(),
        "all": pcsc.all_names,
        "configured": env.config.readers,
        "missing": pcsc.missing,
    });
    if !pcsc.missing.is_empty() {
        let seen = if pcsc.all_names.is_empty() { tr!("doctor-none") } else { pcsc.all_names.join(", ") };
        return Check::new(
            "readers",
            Status::Fail,
            tr!("doctor-reader-missing", name = pcsc.missing.join(", "), what = seen),
            Some(tr!("doctor-reader-missing-fix")),
            details,
        );
    }
    if readers.is_empty() {
        return Check::new(
            "readers",
            Status::Fail,
            tr!("doctor-no-readers"),
            Some(tr!("doctor-no-readers-fix")),
            details,
        );
    }
    let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
    Check::new(
        "readers",
        Status::Pass,
        tr!("doctor-readers-ok", count = names.len(), what = names.join(", ")),
        None,
        details,
    )
}

fn describe_token(t: &TokenSeen) -> String {
    match &t.info.kind {
        TokenKind::Card { profile, reader } => {
            tr!("doctor-token-card", what = profile.as_str(), holder = t.info.holder.as_str(), name = reader.as_str())
        }
        TokenKind::Pkcs11 { module } => {
            tr!("doctor-token-pkcs11", holder = t.info.holder.as_str(), name = module.as_str())
        }
    }
}

fn token_json(t: &TokenSeen) -> Value {
    json!({ "kind": t.info.kind, "place": t.place, "serial": t.info.serial, "holder": t.info.holder })
}

fn check_token(pcsc: Option<&PcscSurvey>, tokens: &[&TokenSeen]) -> Check {
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut details = Vec::new();
    for r in pcsc.and_then(|p| p.readers.as_ref().ok()).into_iter().flatten() {
        match &r.card {
            CardSeen::Unsupported(atr) => {
                let bytes: Vec<u8> =
                    (0..atr.len() / 2).filter_map(|i| u8::from_str_radix(&atr[2 * i..2 * i + 2], 16).ok()).collect();
                let (verdict, known) = crate::cli::card_verdict(&bytes);
                problems.push(format!(
                    "{}: {verdict}",
                    tr!("doctor-card-unsupported", name = r.name.as_str(), what = atr.as_str())
                ));
                fixes.push(match known["software"].as_str() {
                    Some(software) if known["installed"] == false => {
                        tr!("doctor-card-install-module", software = software)
                    }
                    _ => tr!("doctor-card-unsupported-fix"),
                });
                details.push(json!({ "reader": r.name, "unsupported_atr": atr, "known": known }));
            }
            CardSeen::Unreadable(e) => {
                problems.push(tr!("doctor-card-unreadable", name = r.name.as_str(), what = e.as_str()));
                fixes.push(tr!("doctor-card-unreadable-fix"));
                details.push(json!({ "reader": r.name, "error": e }));
            }
            CardSeen::Empty | CardSeen::Token(_) => {}
        }
    }
    details.extend(tokens.iter().map(|t| token_json(t)));
    let details = json!({ "tokens": details });
    if !problems.is_empty() {
        return Check::new("token", Status::Fail, problems.join("; "), Some(unique(fixes).join("; ")), details);
    }
    if tokens.is_empty() {
        return Check::new("token", Status::Fail, tr!("doctor-no-token"), Some(tr!("doctor-no-token-fix")), details);
    }
    let found: Vec<String> = tokens.iter().map(|t| describe_token(t)).collect();
    Check::new("token", Status::Pass, found.join("; "), None, details)
}

fn check_driver(pkcs11: &Pkcs11Survey) -> Check {
    let details = json!({
        "builtin": ["PIV", "AzeDIT"],
        "modules": pkcs11.modules.iter().map(|(p, r)| json!({
            "path": p, "loaded": r.is_ok(), "error": r.as_ref().err(),
        })).collect::<Vec<_>>(),
    });
    let failed: Vec<String> = pkcs11
        .modules
        .iter()
        .filter_map(|(p, r)| {
            r.as_ref().err().map(|e| tr!("doctor-module-fail", name = p.display().to_string(), what = e.as_str()))
        })
        .collect();
    if !failed.is_empty() {
        return Check::new("driver", Status::Fail, failed.join("; "), Some(tr!("doctor-module-fail-fix")), details);
    }
    let loaded: Vec<String> = pkcs11.modules.iter().map(|(p, _)| p.display().to_string()).collect();
    let message = if loaded.is_empty() {
        tr!("doctor-driver-builtin")
    } else {
        tr!("doctor-driver-modules", what = loaded.join(", "))
    };
    Check::new("driver", Status::Pass, message, None, details)
}

// ---------------------------------------------------------------------------------
// 5: root, PCA and ICA in the system store and the browsers' NSS databases.

/// What the installer reported, or why a check cannot say (the installer could not be
/// asked: [`check_bundle`] says why, the others are skipped).
type Installed<'a> = Result<&'a InstallReport, &'a str>;

fn ca_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// The common name of the bundle CA with this subject (the subject itself for one
/// the bundle does not hold).
fn common_name_of<'a>(r: &'a InstallReport, subject: &'a str) -> &'a str {
    r.bundle.certificates.iter().find(|c| c.subject == subject).map_or(subject, |c| c.common_name.as_str())
}

fn bundle_fix() -> Option<String> {
    Some(if cfg!(windows) { tr!("doctor-repair-windows") } else { tr!("doctor-bundle-fix") })
}

/// The CA bundle mohur ships, as the installer checked it (every certificate pinned by
/// its manifest and a CA, the set chaining to its root).
fn check_bundle(installed: &Result<InstallReport, String>) -> Check {
    let r = match installed {
        Ok(r) => r,
        Err(why) => {
            return Check::new(
                "ca-bundle",
                Status::Fail,
                tr!("doctor-installer-failed", what = why.as_str()),
                bundle_fix(),
                json!({ "installer_error": why }),
            )
        }
    };
    let b = &r.bundle;
    match (&b.path, &b.error) {
        (None, _) => {
            let tried: Vec<String> = b.tried.iter().map(|p| p.display().to_string()).collect();
            Check::new(
                "ca-bundle",
                Status::Fail,
                tr!("doctor-bundle-missing", what = tried.join(", ")),
                bundle_fix(),
                json!({ "tried": tried.join(", ") }),
            )
        }
        (Some(path), Some(e)) => Check::new(
            "ca-bundle",
            Status::Fail,
            tr!("doctor-bundle-bad", name = path.display().to_string(), what = e.as_str()),
            bundle_fix(),
            json!({ "path": path, "error": e }),
        ),
        (Some(path), None) if b.certificates.is_empty() => Check::new(
            "ca-bundle",
            Status::Warn,
            tr!("doctor-bundle-empty", name = path.display().to_string()),
            Some(tr!("doctor-bundle-empty-fix")),
            json!({ "path": path, "certificates": [] }),
        ),
        (Some(path), None) => Check::new(
            "ca-bundle",
            Status::Pass,
            tr!(
                "doctor-bundle-ok",
                what = ca_names(b.certificates.iter().map(|c| c.common_name.as_str())),
                name = path.display().to_string()
            ),
            None,
            json!({
                "path": path,
                "certificates": b.certificates.iter().map(|c| json!({
                    "subject": c.subject, "sha256": c.sha256, "root": c.root, "pinned": c.pinned,
                })).collect::<Vec<_>>(),
            }),
        ),
    }
}

/// The system store. On Windows the roots must be in ROOT (restricted to the uses mohur
/// trusts them for) and the intermediates in CA. On Linux the system bundle cannot
/// restrict a root to client authentication and signatures, so mohur puts roots there
/// only with `--trust-tls-server`: either way is in order, and the check says which.
fn check_ca_system(installed: Installed) -> Check {
    let r = match installed {
        Ok(r) => r,
        Err(why) => return Check::new("ca-system", Status::Skip, why.to_owned(), None, Value::Null),
    };
    let Some(store) = &r.system_store else {
        return Check::new("ca-system", Status::Skip, tr!("doctor-skip-no-bundle"), None, Value::Null);
    };
    let fix = Some(tr!("doctor-ca-system-fix"));
    match store {
        SystemStore::Windows { missing } => {
            let details = json!({ "store": "Windows", "missing": missing });
            if missing.is_empty() {
                let count = r.bundle.certificates.len();
                Check::new(
                    "ca-system",
                    Status::Pass,
                    tr!("doctor-ca-system-ok", count = count, name = "Windows"),
                    None,
                    details,
                )
            } else {
                let what = ca_names(missing.iter().map(|s| common_name_of(r, s)));
                Check::new(
                    "ca-system",
                    Status::Fail,
                    tr!("doctor-ca-system-missing", what = what, name = "Windows"),
                    fix,
                    details,
                )
            }
        }
        SystemStore::Bundle { path, error: Some(e), .. } => Check::new(
            "ca-system",
            Status::Fail,
            tr!("doctor-ca-system-unreadable", name = path.display().to_string(), what = e.as_str()),
            fix,
            json!({ "bundle": path, "error": e }),
        ),
        SystemStore::Bundle { path, error: None, roots_present } => {
            let details = json!({ "bundle": path, "trusted_for_web_sites": roots_present });
            let message = if *roots_present {
                tr!("doctor-ca-system-wide", name = path.display().to_string())
            } else {
                tr!("doctor-ca-system-narrow", name = path.display().to_string())
            };
            Check::new("ca-system", Status::Pass, message, None, details)
        }
    }
}

/// Test certificates in the trust stores, and CAs mohur-install added that the bundle's
/// manifest no longer pins (the installer's audit).
fn check_ca_audit(installed: Installed) -> Check {
    let audit = match installed {
        Ok(r) => &r.audit,
        Err(why) => return Check::new("ca-audit", Status::Skip, why.to_owned(), None, Value::Null),
    };
    match &audit.error {
        Some(e) => Check::new(
            "ca-audit",
            Status::Warn,
            tr!("doctor-tool-failed", name = "certutil", what = e.as_str()),
            Some(tr!("doctor-certutil-fix")),
            json!({ "error": e }),
        ),
        None if audit.flags.is_empty() => {
            Check::new("ca-audit", Status::Pass, tr!("doctor-ca-audit-ok"), None, json!({ "flags": [] }))
        }
        None => Check::new(
            "ca-audit",
            Status::Warn,
            tr!("doctor-ca-audit-flags", what = audit.flags.join("; ")),
            Some(tr!("doctor-ca-audit-fix")),
            json!({ "flags": audit.flags }),
        ),
    }
}

/// The bundle's CAs in every NSS database a browser made.
fn check_ca_nss(installed: Installed) -> Check {
    let r = match installed {
        Ok(r) => r,
        Err(why) => return Check::new("ca-nss", Status::Skip, why.to_owned(), None, Value::Null),
    };
    let Some(dbs) = &r.nss_cas else {
        return Check::new("ca-nss", Status::Skip, tr!("doctor-skip-no-bundle"), None, Value::Null);
    };
    if cfg!(windows) {
        // Chrome and Edge take their CAs from the Windows store (the ca-system check);
        // there are no browser databases of their own to look into.
        return Check::new("ca-nss", Status::Pass, tr!("doctor-browsers-windows"), None, json!({ "store": "Windows" }));
    }
    if dbs.is_empty() {
        return Check::new(
            "ca-nss",
            Status::Warn,
            tr!("doctor-no-nssdb"),
            Some(tr!("doctor-ca-nss-fix")),
            json!({ "databases": [] }),
        );
    }
    let tool_error = dbs.iter().find_map(|d| d.error.clone());
    let per_db: Vec<Value> = dbs.iter().map(|d| json!({ "db": d.db, "missing": d.missing })).collect();
    let details = json!({ "databases": per_db, "error": tool_error });
    if let Some(e) = tool_error {
        let fix = if e.contains("cannot start") { tr!("doctor-certutil-fix") } else { tr!("doctor-ca-nss-fix") };
        return Check::new(
            "ca-nss",
            Status::Fail,
            tr!("doctor-tool-failed", name = "certutil", what = e),
            Some(fix),
            details,
        );
    }
    let problems: Vec<String> = dbs
        .iter()
        .filter(|d| !d.missing.is_empty())
        .map(|d| {
            let what = ca_names(d.missing.iter().map(|s| common_name_of(r, s)));
            tr!("doctor-ca-nss-missing", name = d.db.display().to_string(), what = what)
        })
        .collect();
    if problems.is_empty() {
        Check::new("ca-nss", Status::Pass, tr!("doctor-ca-nss-ok", count = dbs.len()), None, details)
    } else {
        Check::new("ca-nss", Status::Fail, problems.join("; "), Some(tr!("doctor-ca-nss-fix")), details)
    }
}

// ---------------------------------------------------------------------------------
// 6: the card's certificates chain to the root through the PCA and ICA, and are valid.

/// A CA of the bundle, as the installer reported it.
struct Ca {
    subject: String,
    common_name: String,
    is_root: bool,
    der: Vec<u8>,
}

impl Ca {
    fn of(c: &report::CaCertificate) -> Ca {
        Ca { subject: c.subject.clone(), common_name: c.common_name.clone(), is_root: c.root, der: c.der.clone() }
    }
}

/// The common names from the certificate's issuer up to the root, each signature
/// verified with the issuer's key; `Err(issuer)` when the chain leaves the bundle.
fn chain_to(cert_der: &[u8], cas: &[Ca]) -> Result<Vec<String>, String> {
    use x509_cert::der::Decode;
    let mut current = cert_der.to_vec();
    let mut names = Vec::new();
    for _ in 0..8 {
        let cert = x509_cert::Certificate::from_der(&current).map_err(|e| e.to_string())?;
        let issuer = cert.tbs_certificate.issuer.to_string();
        let Some(ca) = cas
            .iter()
            .find(|c| c.subject == issuer && mohur_platform::chain::verify_issued_by(&current, &c.der).is_ok())
        else {
            return Err(issuer);
        };
        names.push(ca.common_name.clone());
        if ca.is_root {
            return Ok(names);
        }
        current = ca.der.clone();
    }
    Err(tr!("doctor-chain-loop"))
}

/// When a certificate is valid, in whole days from now.
struct Validity {
    /// Whole days left before notAfter; once expired, whole days since, negated
    /// (`-0` = expired less than a day ago, hence [`Validity::expired`]).
    days: i64,
    expired: bool,
    /// notBefore is still ahead (a wrong clock, usually).
    early: bool,
}

fn validity(cert_der: &[u8]) -> Result<Validity, String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(|e| e.to_string())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let v = &cert.tbs_certificate.validity;
    let not_after = v.not_after.to_unix_duration().as_secs() as i64;
    let not_before = v.not_before.to_unix_duration().as_secs() as i64;
    let expired = not_after < now;
    // Whole days in both directions, so that "expired 10 days ago" is not "11" a second later.
    let days = if expired { -((now - not_after) / 86_400) } else { (not_after - now) / 86_400 };
    Ok(Validity { days, expired, early: not_before > now })
}

fn purpose_name(p: KeyPurpose) -> String {
    match p {
        KeyPurpose::Signing => tr!("doctor-cert-sign"),
        _ => tr!("doctor-cert-auth"),
    }
}

fn check_card_certs(tokens: &[&TokenSeen], cas: Option<&[Ca]>) -> Check {
    if tokens.is_empty() {
        return Check::new("card-certs", Status::Skip, tr!("doctor-skip-no-token"), None, Value::Null);
    }
    let mut status = Status::Pass;
    let mut lines = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    let mut details = Vec::new();
    for t in tokens {
        for (purpose, cert) in &t.certs {
            let name = format!("{} ({})", purpose_name(*purpose), t.info.holder);
            let cert = match cert {
                Ok(c) => c,
                Err(e) => {
                    status = status.worst(Status::Fail);
                    lines.push(tr!("doctor-cert-unreadable", name = name.as_str(), what = e.as_str()));
                    fixes.push(tr!("doctor-card-unreadable-fix"));
                    continue;
                }
            };
            let Validity { days, expired, early } = match validity(cert) {
                Ok(v) => v,
                Err(e) => {
                    status = status.worst(Status::Fail);
                    lines.push(tr!("doctor-cert-unreadable", name = name.as_str(), what = e.as_str()));
                    continue;
                }
            };
            let chain = cas.map(|cas| chain_to(cert, cas));
            let mut line_status = Status::Pass;
            let mut line = match &chain {
                Some(Ok(names)) => tr!("doctor-cert-chain", name = name.as_str(), what = names.join(" → ")),
                Some(Err(issuer)) => {
                    line_status = Status::Fail;
                    fixes.push(tr!("doctor-cert-chain-fix"));
                    tr!("doctor-cert-foreign", name = name.as_str(), what = issuer.as_str())
                }
                None => name.clone(),
            };
            line.push_str(": ");
            if early {
                line_status = Status::Fail;
                line.push_str(&tr!("doctor-cert-not-yet"));
                fixes.push(tr!("doctor-clock-fix"));
            } else if expired {
                line_status = Status::Fail;
                line.push_str(&tr!("doctor-cert-expired", n = -days));
                fixes.push(tr!("doctor-cert-expired-fix"));
            } else if days < EXPIRY_WARNING_DAYS {
                line_status = line_status.worst(Status::Warn);
                line.push_str(&tr!("doctor-cert-expires-soon", n = days));
                fixes.push(tr!("doctor-cert-renew-fix"));
            } else {
                line.push_str(&tr!("doctor-cert-days-left", n = days));
            }
            status = status.worst(line_status);
            lines.push(line);
            details.push(json!({
                "token": t.info.serial,
                "purpose": match purpose { KeyPurpose::Signing => "signing", _ => "authentication" },
                "days_left": days,
                "expired": expired,
                "not_yet_valid": early,
                "chain": chain.as_ref().map(|c| c.as_ref().ok()),
                "foreign_issuer": chain.as_ref().and_then(|c| c.as_ref().err()),
                "status": line_status,
            }));
        }
    }
    if cas.is_none() {
        lines.push(tr!("doctor-skip-no-bundle"));
    }
    let fix = (status != Status::Pass && !fixes.is_empty()).then(|| unique(fixes).join("; "));
    Check::new("card-certs", status, lines.join("; "), fix, json!({ "certificates": details }))
}

// ---------------------------------------------------------------------------------
// 7: mohur's PKCS#11 module registered for the browsers (p11-kit, NSS).

/// True for mohur's own module, whatever name it was registered under.
fn is_our_library(lib: &Path) -> bool {
    lib.file_name().is_some_and(|n| n.to_string_lossy().contains("mohur_pkcs11"))
}

/// Where p11-kit looks for a module given by a relative name (its default module
/// path, per architecture).
fn p11kit_library(root: &Path, lib: &Path) -> PathBuf {
    if lib.is_absolute() {
        return lib.to_path_buf();
    }
    ["/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/aarch64-linux-gnu/pkcs11", "/usr/lib64/pkcs11", "/usr/lib/pkcs11"]
        .iter()
        .map(|d| sys(root, d).join(lib))
        .find(|p| p.exists())
        .unwrap_or_else(|| lib.to_path_buf())
}

/// mohur's module files in the p11-kit directories: (file, library, library exists).
fn p11kit_registrations(env: &DoctorEnv, module_name: &str) -> Vec<(PathBuf, PathBuf, bool)> {
    let mut found = Vec::new();
    for dir in env.p11kit_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "module")).collect();
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let lib = text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "module").then(|| PathBuf::from(v.trim()))
            });
            let Some(lib) = lib else { continue };
            let ours = file.file_stem().is_some_and(|s| s == module_name) || is_our_library(&lib);
            if ours {
                let resolved = p11kit_library(&env.root, &lib);
                let exists = resolved.is_file();
                found.push((file, resolved, exists));
            }
        }
    }
    found
}

/// Runs an NSS tool, killing it after `timeout` (it loads every registered module,
/// which may block).
fn run_tool(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(tr!("doctor-no-answer", n = timeout.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let out = reader.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        Err(format!("{status}: {}", err.trim()))
    }
}

/// Windows: Firefox loads mohur's module through its enterprise policy
/// (`SecurityDevices`, the MSI writes it for the machine); Chrome and Edge load no
/// PKCS#11 module and need none.
fn check_firefox_policy(r: &InstallReport) -> Check {
    let module = &r.module;
    let details = json!({ "policy": r.firefox_policy, "module": module, "module_exists": module.is_file() });
    if !r.firefox_policy.is_empty() && module.is_file() {
        Check::new("pkcs11-registered", Status::Pass, tr!("doctor-firefox-policy-ok"), None, details)
    } else {
        Check::new(
            "pkcs11-registered",
            Status::Warn,
            tr!("doctor-firefox-policy-missing", name = module.display().to_string()),
            Some(tr!("doctor-repair-windows")),
            details,
        )
    }
}

fn check_pkcs11_registered(env: &DoctorEnv, installed: Installed) -> Check {
    let r = match installed {
        Ok(r) => r,
        Err(why) => return Check::new("pkcs11-registered", Status::Skip, why.to_owned(), None, Value::Null),
    };
    if cfg!(windows) {
        return check_firefox_policy(r);
    }
    let fix = Some(tr!("doctor-pkcs11-fix"));
    let p11kit = p11kit_registrations(env, &r.module_name);
    let mut problems = Vec::new();
    let p11kit_ok = p11kit.iter().any(|(_, _, exists)| *exists);
    if p11kit.is_empty() {
        let dirs: Vec<String> = env.p11kit_dirs().iter().map(|d| d.display().to_string()).collect();
        problems.push(tr!("doctor-p11kit-missing", what = dirs.join(", ")));
    } else if !p11kit_ok {
        let libs: Vec<String> = p11kit.iter().map(|(_, l, _)| l.display().to_string()).collect();
        problems.push(tr!("doctor-module-library-missing", name = libs.join(", ")));
    }
    let mut nss = Vec::new();
    for listed in &r.nss_modules {
        let db = &listed.db;
        if let Some(e) = &listed.error {
            problems.push(tr!("doctor-tool-failed", name = "modutil", what = e.as_str()));
            nss.push(json!({ "db": db, "error": e }));
            continue;
        }
        // Our module itself, or p11-kit's proxy, which loads it from the module file.
        let ours = listed.modules.iter().find(|(name, lib)| {
            *name == r.module_name
                || is_our_library(lib)
                || (p11kit_ok && lib.to_string_lossy().contains("p11-kit-proxy"))
        });
        match ours {
            Some((_, lib)) if lib.is_file() => {}
            Some((_, lib)) => problems.push(tr!("doctor-module-library-missing", name = lib.display().to_string())),
            None => problems.push(tr!("doctor-nss-module-missing", name = db.display().to_string())),
        }
        nss.push(json!({ "db": db, "module": ours.map(|(n, l)| json!({ "name": n, "library": l })) }));
    }
    let details = json!({
        "p11kit": p11kit.iter().map(|(f, l, e)| json!({ "file": f, "library": l, "exists": e })).collect::<Vec<_>>(),
        "nss": nss,
    });
    if problems.is_empty() {
        let n = details["nss"].as_array().map_or(0, Vec::len);
        Check::new("pkcs11-registered", Status::Pass, tr!("doctor-pkcs11-ok", count = n), None, details)
    } else {
        Check::new("pkcs11-registered", Status::Fail, problems.join("; "), fix, details)
    }
}

// ---------------------------------------------------------------------------------
// 8: the agent answers on its port.

/// `GET /health` with the `Host` the agent accepts; the body of a 200 answer.
fn health(port: u16, timeout: Duration) -> Result<Result<String, String>, std::io::Error> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(s, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut buf = Vec::new();
    // A server that never closes is cut off by the read timeout; what came is judged.
    let _ = s.take(64 * 1024).read_to_end(&mut buf);
    Ok(crate::server::health_answer(&buf).map_err(|status_line| {
        if status_line.is_empty() {
            tr!("doctor-no-answer", n = timeout.as_secs())
        } else {
            status_line
        }
    }))
}

fn check_agent(port: u16, timeout: Duration) -> Check {
    let port_s = port.to_string();
    let details = |extra: Value| json!({ "port": port, "answer": extra });
    match health(port, timeout.min(Duration::from_secs(3))) {
        Ok(Ok(version)) => Check::new(
            "agent",
            Status::Pass,
            tr!("doctor-agent-ok", name = port_s, what = version.as_str()),
            None,
            details(json!(version)),
        ),
        Ok(Err(other)) => Check::new(
            "agent",
            Status::Fail,
            tr!("doctor-agent-other", name = port_s, what = other.as_str()),
            Some(tr!("doctor-agent-other-fix")),
            details(json!(other)),
        ),
        Err(e) => Check::new(
            "agent",
            Status::Fail,
            tr!("doctor-agent-down", name = port_s),
            Some(if cfg!(windows) { tr!("doctor-agent-fix-windows") } else { tr!("doctor-agent-fix") }),
            details(json!(e.to_string())),
        ),
    }
}

/// Whether the agent starts at login: on Windows the `Run` key (the user's or the
/// machine's), on Linux the XDG autostart entries or the systemd user unit under
/// [`DoctorEnv::home`] and [`DoctorEnv::root`].
fn check_autostart(env: &DoctorEnv) -> Check {
    use crate::tray::autostart::{Autostart, StartAtLogin};
    let start = if cfg!(windows) {
        StartAtLogin::for_user()
    } else {
        let config = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
            Some(p) if p.is_absolute() => p,
            _ => env.home.join(".config"),
        };
        let agent = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/usr/bin/mohur"));
        Some(StartAtLogin::Xdg(Autostart::under(&config, &sys(&env.root, "/etc/xdg"), agent)))
    };
    let Some(start) = start else {
        return Check::new("autostart", Status::Skip, tr!("doctor-not-on-this-system"), None, Value::Null);
    };
    if start.enabled() {
        Check::new("autostart", Status::Pass, tr!("doctor-autostart-ok"), None, json!({ "enabled": true }))
    } else {
        Check::new(
            "autostart",
            Status::Warn,
            tr!("doctor-autostart-off"),
            Some(if cfg!(windows) { tr!("doctor-autostart-fix-windows") } else { tr!("doctor-autostart-fix") }),
            json!({ "enabled": false }),
        )
    }
}

// ---------------------------------------------------------------------------------
// Web eID: which program answers `eu.webeid` for each browser (the installer's places).

fn check_web_eid(installed: Installed) -> Check {
    let r = match installed {
        Ok(r) => r,
        Err(why) => return Check::new("web-eid", Status::Skip, why.to_owned(), None, Value::Null),
    };
    let (mut mohur, mut others, mut nobody) = (Vec::new(), Vec::new(), Vec::new());
    let mut details = Vec::new();
    for place in &r.web_eid {
        let program = &place.program;
        let ours = program.as_deref().map(Path::new).and_then(Path::file_stem).is_some_and(|n| n == "mohur");
        match program {
            Some(_) if ours => mohur.push(place.browser.as_str()),
            Some(p) => others.push(format!("{} ({p})", place.browser)),
            None => nobody.push(place.browser.as_str()),
        }
        details.push(json!({"place": place.place, "program": program, "mohur": ours}));
    }
    mohur.dedup();
    let details = json!({ "places": details });
    if mohur.is_empty() && others.is_empty() {
        return if nobody.is_empty() {
            Check::new("web-eid", Status::Skip, tr!("doctor-not-on-this-system"), None, details)
        } else {
            Check::new("web-eid", Status::Warn, tr!("doctor-webeid-none"), Some(tr!("doctor-webeid-none-fix")), details)
        };
    }
    let mut message = Vec::new();
    if !mohur.is_empty() {
        message.push(tr!("doctor-webeid-mohur", what = mohur.join(", ")));
    }
    if !others.is_empty() {
        message.push(tr!("doctor-webeid-other", what = others.join(", ")));
    }
    let fix = (!others.is_empty()).then(|| tr!("doctor-webeid-other-fix"));
    Check::new("web-eid", Status::Pass, message.join("; "), fix, details)
}

// ---------------------------------------------------------------------------------
// 9: no PIN blocked.

fn secret_name(kind: PinKind) -> String {
    match kind {
        PinKind::Signing => tr!("secret-sign"),
        PinKind::Puk => tr!("secret-puk"),
        _ => tr!("secret-pin"),
    }
}

fn kind_id(kind: PinKind) -> &'static str {
    match kind {
        PinKind::Signing => "signing",
        PinKind::Puk => "puk",
        _ => "auth",
    }
}

fn check_pin(tokens: &[&TokenSeen]) -> Check {
    if tokens.is_empty() {
        return Check::new("pin", Status::Skip, tr!("doctor-skip-no-token"), None, Value::Null);
    }
    let mut status = Status::Pass;
    let mut parts = Vec::new();
    let mut fixes = Vec::new();
    let mut details = Vec::new();
    for t in tokens {
        let puk_blocked =
            t.info.pins.iter().any(|p: &PinStatus| p.kind == PinKind::Puk && p.state == PinState::Blocked);
        for p in &t.info.pins {
            let name = secret_name(p.kind);
            let tries = p.tries_left.map(|n| tr!("tries-left", n = n));
            let (s, text) = match p.state {
                PinState::Blocked => {
                    fixes.push(if p.kind == PinKind::Puk || puk_blocked {
                        tr!("doctor-puk-blocked-fix")
                    } else {
                        tr!("doctor-pin-blocked-fix")
                    });
                    (Status::Fail, tr!("doctor-pin-blocked", name = name.as_str()))
                }
                PinState::NotActivated => {
                    fixes.push(tr!("doctor-pin-activate-fix"));
                    (Status::Warn, tr!("doctor-pin-not-activated", name = name.as_str()))
                }
                _ if p.tries_left == Some(1) => {
                    fixes.push(tr!("doctor-pin-last-try-fix"));
                    (Status::Warn, format!("{name}: {}", tries.clone().unwrap_or_default()))
                }
                _ => (Status::Pass, format!("{name}: {}", tries.clone().unwrap_or_else(|| tr!("doctor-pin-ready")))),
            };
            status = status.worst(s);
            parts.push(text);
            details.push(json!({
                "token": t.info.serial,
                "kind": kind_id(p.kind),
                "state": format!("{:?}", p.state).to_lowercase(),
                "tries_left": p.tries_left,
                "max_tries": p.max_tries,
            }));
        }
    }
    let fix = (status != Status::Pass && !fixes.is_empty()).then(|| unique(fixes).join("; "));
    Check::new("pin", status, parts.join(", "), fix, json!({ "pins": details }))
}

// ---------------------------------------------------------------------------------
// 10: the optional TLS on loopback (`mohur-install install --loopback-tls`).

fn check_loopback_tls(env: &DoctorEnv, agent_up: bool, installed: Installed) -> Check {
    use mohur_platform::loopback::{LoopbackCa, LoopbackError};
    const ID: &str = "loopback-tls";
    let file = mohur_platform::loopback::cert_path(&env.home);
    if !env.config.loopback_tls {
        return Check::new(ID, Status::Skip, tr!("doctor-tls-off"), None, json!({ "enabled": false }));
    }
    let keys = mohur_platform::secrets::OsKeyring::mohur();
    let ca = match LoopbackCa::load(&keys, &file) {
        Ok(ca) => ca,
        Err(LoopbackError::NotInstalled(_)) => {
            return Check::new(ID, Status::Skip, tr!("doctor-tls-none"), None, json!({ "installed": false }));
        }
        Err(LoopbackError::KeyMissing) => {
            return Check::new(
                ID,
                Status::Fail,
                tr!("doctor-tls-key-missing"),
                Some(tr!("doctor-tls-fix")),
                json!({ "installed": true, "key": false, "certificate": file }),
            );
        }
        Err(e) => {
            return Check::new(
                ID,
                Status::Fail,
                tr!("doctor-tls-bad", what = e.to_string()),
                Some(tr!("doctor-tls-fix")),
                json!({ "installed": true, "certificate": file, "error": e.to_string() }),
            );
        }
    };
    let tag = mohur_platform::loopback::tag_of(ca.cert_der());
    let der = ca.cert_der().to_vec();
    // The key is not needed any further.
    drop(ca);
    // Trusted where mohur-install puts it, as the installer found.
    let untrusted = match installed {
        Ok(r) => r.loopback.as_ref().map(|l| l.untrusted.clone()).unwrap_or_default(),
        Err(why) => vec![why.to_owned()],
    };
    let timeout = env.timeout;
    let mut details = json!({ "installed": true, "key": true, "ca": tag, "certificate": file, "untrusted": untrusted });
    if !untrusted.is_empty() {
        let message = tr!("doctor-tls-untrusted", name = tag.as_str(), what = untrusted.join(", "));
        return Check::new(ID, Status::Fail, message, Some(tr!("doctor-tls-fix")), details);
    }
    if !agent_up {
        return Check::new(ID, Status::Pass, tr!("doctor-tls-ok", name = tag.as_str()), None, details);
    }
    // The agent is up: it must answer wss:// with a certificate of this CA.
    let port = env.config.port;
    match crate::server::tls::probe(port, &der, timeout.min(Duration::from_secs(3))) {
        Ok(version) => {
            details["wss"] = json!(version);
            let message = tr!("doctor-tls-serving", name = tag.as_str(), what = format!("wss://127.0.0.1:{port}/v1"));
            Check::new(ID, Status::Pass, message, None, details)
        }
        Err(e) => {
            details["wss"] = json!({ "error": e });
            Check::new(
                ID,
                Status::Warn,
                tr!("doctor-tls-not-serving", name = port.to_string(), what = e),
                Some(tr!("doctor-tls-restart-fix")),
                details,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_wins() {
        assert_eq!(Status::Pass.worst(Status::Warn), Status::Warn);
        assert_eq!(Status::Fail.worst(Status::Warn), Status::Fail);
        assert_eq!(Status::Skip.worst(Status::Pass), Status::Pass);
    }

    #[test]
    fn nothing_listening_is_reported_quickly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let started = Instant::now();
        let c = check_agent(port, Duration::from_secs(2));
        assert_eq!(c.status, Status::Fail);
        assert!(c.fix.is_some());
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_hung_tool_is_killed() {
        let started = Instant::now();
        let r = run_tool(Command::new("sleep").arg("30"), Duration::from_millis(300));
        assert!(r.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
