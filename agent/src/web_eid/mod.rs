//! `mohur web-eid`: mohur as the native application behind the official Web eID browser
//! extension (host name `eu.webeid`; `agent/WEB-EID.md` for portal developers).
//!
//! The browser starts this process for every page request, with the extension's origin
//! (`chrome-extension://ID/`, or Firefox's manifest path and extension id) as arguments
//! and the messages on stdin/stdout ([`framing`]). The protocol (web-eid-app
//! `src/controller/commands.cpp`, the extension 2.5's `NativeAppService`):
//!
//! 1. the host speaks first: `{"version": "2.5.0+mohur.X"}` (the extension compares the
//!    major version only);
//! 2. one command: `authenticate`, `get-signing-certificate`, `sign` or `quit`, each
//!    with `arguments` that carry the page's `origin` as the *browser* saw it;
//! 3. one answer — the result, or `{"error": {"code": "ERR_WEBEID_…", "message"}}` —
//!    and the process ends.
//!
//! The work is the agent's own: the same tokens (cards through mohur's drivers, USB
//! tokens through their PKCS#11 modules), consent per origin (the same remembered list
//! as the WebSocket route), dialogs and PIN policy, and the same methods
//! ([`crate::protocol::methods`]): the authentication key signs only the Web eID value
//! mohur builds from the origin and nonce, and a page's hash goes only to a signing
//! key ([`crate::signing::key_policy`]).
//!
//! **Sharing the card with a running agent.** The host opens the readers itself through
//! PC/SC in shared mode, as mohur's PKCS#11 module does inside a browser while the agent
//! runs: every card operation of each process runs inside its own PC/SC transaction
//! (`SCardBeginTransaction`), so the agent, the module and the host take turns at the
//! card and never see each other's half-done APDU sequences. Nothing passes between the
//! processes — no PIN, no session — so a host started by any page is no way into a
//! running agent. (The other design, forwarding to the agent over a local channel,
//! would make Web eID fail whenever the agent is not running.)
//!
//! **Errors the page library knows** (web-eid.js `ErrorCode`): a dialog the citizen
//! closed, a consent refused, a blocked PIN (explained in a message first) are
//! `ERR_WEBEID_USER_CANCELLED`; a dialog nobody answered is `ERR_WEBEID_USER_TIMEOUT`;
//! malformed messages and arguments are `ERR_WEBEID_NATIVE_INVALID_ARGUMENT`; anything
//! else is `ERR_WEBEID_NATIVE_FATAL`. A wrong PIN is not an answer: the PIN dialog comes
//! back saying so, with the tries left read from the card (never the PIN replayed), as
//! web-eid-app does. With no card, a message asks for one and closes by itself when one
//! is inserted.

pub mod framing;

use crate::agent::Agent;
use crate::config::Config;
use crate::dialogs::{ConfirmDialog, Prompter, SecretDialog};
use crate::pin_policy::Ctx;
use crate::protocol::methods;
use crate::signing::webeid;
use crate::{tr, Cancel, Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use framing::{read_message, write_message, FrameError};
use mohur_apdu::{KeyPurpose, Pin};
use serde_json::{json, Map, Value};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Web eID native protocol version this host speaks: web-eid-app 2.5's.
pub const PROTOCOL_VERSION: &str = "2.5.0";

/// The `version` the host announces: [`PROTOCOL_VERSION`] with mohur's own version as
/// SemVer build metadata (ignored by the extension's comparison).
pub fn version() -> String {
    format!("{PROTOCOL_VERSION}+mohur.{}", env!("CARGO_PKG_VERSION"))
}

/// The registered host name.
pub const HOST_NAME: &str = "eu.webeid";

/// True when a browser started this program as a native-messaging host (its manifest
/// names the `mohur` binary itself, which cannot carry arguments): Chrome and Edge pass
/// the caller's origin `chrome-extension://ID/` (on Windows also `--parent-window=N`),
/// Firefox the path of the host manifest and the extension's id.
pub fn launched_by_browser(args: &[OsString]) -> bool {
    let arg = |i: usize| args.get(i).and_then(|a| a.to_str());
    match arg(1) {
        Some(a) if a.starts_with("chrome-extension://") => true,
        Some(a) if a.ends_with(&format!("{HOST_NAME}.json")) => args.len() == 3,
        _ => false,
    }
}

/// A Web eID error code (web-eid.js `ErrorCode`) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebEidError {
    /// `ERR_WEBEID_…`.
    pub code: &'static str,
    /// For the developer's console; never a secret.
    pub message: String,
}

impl WebEidError {
    fn invalid(message: impl Into<String>) -> WebEidError {
        WebEidError { code: "ERR_WEBEID_NATIVE_INVALID_ARGUMENT", message: message.into() }
    }

    /// The answer's JSON.
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl From<Error> for WebEidError {
    fn from(e: Error) -> WebEidError {
        let code = match &e {
            Error::UserCancelled
            | Error::OriginNotAllowed
            | Error::PinBlocked
            | Error::PukBlocked
            | Error::PinNotActivated
            | Error::PinFormat(_)
            | Error::PinIncorrect { .. } => "ERR_WEBEID_USER_CANCELLED",
            Error::Timeout => "ERR_WEBEID_USER_TIMEOUT",
            Error::BadRequest(_) | Error::Rejected(_) | Error::UnknownMethod(_) | Error::KeyNotAllowed(_) => {
                "ERR_WEBEID_NATIVE_INVALID_ARGUMENT"
            }
            _ => "ERR_WEBEID_NATIVE_FATAL",
        };
        WebEidError { code, message: e.to_string() }
    }
}

impl From<FrameError> for WebEidError {
    fn from(e: FrameError) -> WebEidError {
        WebEidError::invalid(e.to_string())
    }
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The status probe: answered `{}`.
    Quit,
    /// A Web eID authentication token for `origin` over `nonce`.
    Authenticate {
        /// The normalised https origin.
        origin: String,
        /// The relying party's challenge nonce.
        nonce: String,
    },
    /// The signing certificate and the algorithms its key signs with.
    GetSigningCertificate {
        /// The normalised https origin.
        origin: String,
    },
    /// A signature over a hash the page computed, with the key of `certificate`.
    Sign {
        /// The normalised https origin.
        origin: String,
        /// `certificate`, `hash`, `hashFunction` as the page sent them.
        arguments: Map<String, Value>,
    },
}

/// The `origin` argument: what the browser put there, normalised, and https only (the
/// Web eID apps refuse anything else: a login bound to `http://` proves nothing).
fn origin_argument(arguments: &Map<String, Value>) -> core::result::Result<String, WebEidError> {
    let origin = match arguments.get("origin") {
        Some(Value::String(s)) => s,
        _ => return Err(WebEidError::invalid("`origin` is missing")),
    };
    let origin = webeid::validate_origin(origin).map_err(|e| WebEidError::invalid(e.to_string()))?;
    if !origin.starts_with("https://") {
        return Err(WebEidError::invalid(format!("origin {origin:?} is not https")));
    }
    Ok(origin)
}

/// Parses a command message; the language of the dialogs comes with it (`lang`).
pub fn parse_command(message: &Value) -> core::result::Result<(Command, Option<String>), WebEidError> {
    let Value::Object(obj) = message else { return Err(WebEidError::invalid("a command is a JSON object")) };
    let name = match obj.get("command") {
        Some(Value::String(c)) => c.as_str(),
        _ => return Err(WebEidError::invalid("`command` must be a string")),
    };
    let arguments = match obj.get("arguments") {
        Some(Value::Object(a)) => a.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(WebEidError::invalid("`arguments` must be an object")),
    };
    let lang = arguments.get("lang").and_then(Value::as_str).map(str::to_owned);
    let command = match name {
        "quit" => Command::Quit,
        "authenticate" => {
            let nonce = match arguments.get("challengeNonce") {
                Some(Value::String(n)) => n.clone(),
                _ => return Err(WebEidError::invalid("`challengeNonce` is missing")),
            };
            webeid::validate_nonce(&nonce).map_err(|e| WebEidError::invalid(e.to_string()))?;
            Command::Authenticate { origin: origin_argument(&arguments)?, nonce }
        }
        "get-signing-certificate" => Command::GetSigningCertificate { origin: origin_argument(&arguments)? },
        "sign" => {
            let origin = origin_argument(&arguments)?;
            for field in ["certificate", "hash", "hashFunction"] {
                if !matches!(arguments.get(field), Some(Value::String(_))) {
                    return Err(WebEidError::invalid(format!("`{field}` is missing")));
                }
            }
            Command::Sign { origin, arguments }
        }
        other => {
            return Err(WebEidError::invalid(format!(
                "unknown command {:?}",
                other.chars().take(40).collect::<String>()
            )))
        }
    };
    Ok((command, lang))
}

/// How the host ended, for its exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// An answer (a result or an error) was written.
    Answered,
    /// The browser's messages were malformed or the pipe broke.
    BadMessage,
}

/// Serves one browser request on `input`/`output`. `agent` builds the agent and its
/// tokens when a command needs them (after the version message, so that the browser
/// hears from the host at once).
pub fn serve(
    mut input: Box<dyn Read + Send>,
    output: &mut dyn Write,
    agent: impl FnOnce() -> Result<Arc<Agent>>,
) -> Ending {
    if let Err(e) = write_message(output, &json!({"version": version()})) {
        tracing::warn!(error = %e, "cannot send the version");
        return Ending::BadMessage;
    }
    let message = match read_message(&mut input) {
        Ok(m) => m,
        Err(FrameError::Closed) => return Ending::BadMessage,
        Err(e) => {
            tracing::warn!(error = %e, "bad native message");
            let _ = write_message(output, &WebEidError::from(e).to_json());
            return Ending::BadMessage;
        }
    };
    let answer = match parse_command(&message) {
        Ok((Command::Quit, _)) => json!({}),
        Ok((command, lang)) => {
            if let Some(lang) = lang.as_deref().and_then(crate::i18n::Lang::parse) {
                crate::i18n::set_language(Some(lang));
            }
            // The browser closing the pipe (the tab closed, the extension gave up) ends
            // whatever dialog is open.
            let cancel = Cancel::new();
            let watcher = cancel.clone();
            std::thread::spawn(move || {
                let mut sink = [0u8; 512];
                while matches!(input.read(&mut sink), Ok(n) if n > 0) {}
                watcher.cancel();
            });
            match agent().and_then(|agent| run(&agent, &command, &cancel)) {
                Ok(v) => v,
                Err(e) => {
                    tracing::info!(error = %e, "web-eid command failed");
                    WebEidError::from(e).to_json()
                }
            }
        }
        Err(e) => e.to_json(),
    };
    match write_message(output, &answer) {
        Ok(()) => Ending::Answered,
        Err(e) => {
            tracing::warn!(error = %e, "cannot send the answer");
            Ending::BadMessage
        }
    }
}

/// The agent of a host process: the configuration, the dialogs (never the terminal:
/// stdin is the browser's pipe), and the tokens present now.
pub fn host_agent(config_file: Option<&Path>) -> Result<Arc<Agent>> {
    let config = Config::load(config_file)?;
    let prompter =
        crate::dialogs::from_environment_without_terminal(Duration::from_secs(config.prompt_timeout_seconds));
    let agent = Agent::new(config, prompter)?;
    scan(&agent);
    Ok(agent)
}

/// Adds the cards and PKCS#11 tokens present now to `agent`'s tokens.
fn scan(agent: &Agent) {
    if agent.config.pcsc {
        if let Err(e) = agent.manager.scan_pcsc(&agent.config.readers) {
            tracing::info!(error = %e, "no PC/SC");
        }
    }
    let modules = agent.config.pkcs11_module_paths();
    if !modules.is_empty() && agent.manager.list().iter().all(|t| t.reader.is_some()) {
        match crate::tokens::retry_counter::RetryCounter::open(agent.config.state_dir()) {
            Ok(counter) => agent.manager.scan_pkcs11(&modules, &counter),
            Err(e) => tracing::warn!(error = %e, "PIN failure counters unavailable; PKCS#11 tokens skipped"),
        }
    }
}

/// Runs a command with the agent's consent, tokens, dialogs and PIN policy.
fn run(agent: &Agent, command: &Command, cancel: &Cancel) -> Result<Value> {
    let prompter = WrongPinNote { inner: agent.prompter.as_ref(), note: Mutex::new(None) };
    let ctx = Ctx { prompter: &prompter, cancel, gate: &agent.gate };
    match command {
        Command::Quit => Ok(json!({})),
        Command::Authenticate { origin, nonce } => {
            methods::access::require_access(agent, &ctx, origin)?;
            wait_for_token(agent, &ctx, origin, |a| a.manager.find(None, Some(KeyPurpose::Authentication)).is_ok())?;
            let params: Map<String, Value> = [("challengeNonce".to_owned(), json!(nonce))].into_iter().collect();
            let mut token =
                until_right_pin(&prompter, || methods::authenticate::authenticate(agent, &ctx, origin, &params))?;
            add_signing_certificate(agent, &mut token);
            Ok(token)
        }
        Command::GetSigningCertificate { origin } => {
            methods::access::require_access(agent, &ctx, origin)?;
            wait_for_token(agent, &ctx, origin, |a| a.manager.find(None, Some(KeyPurpose::Signing)).is_ok())?;
            let slot = agent.manager.find(None, Some(KeyPurpose::Signing))?;
            let cert = slot.with(|t| t.certificate(KeyPurpose::Signing))?;
            let key = slot.with(|t| t.key_algorithm(KeyPurpose::Signing))?;
            Ok(json!({
                "certificate": B64.encode(cert),
                "supportedSignatureAlgorithms": webeid::supported_signature_algorithms(key),
            }))
        }
        Command::Sign { origin, arguments } => {
            methods::access::require_access(agent, &ctx, origin)?;
            let cert = B64
                .decode(arguments.get("certificate").and_then(Value::as_str).unwrap_or_default())
                .map_err(|_| Error::BadRequest("`certificate` is not base64".into()))?;
            wait_for_token(agent, &ctx, origin, |a| crate::protocol::params::slot_for_certificate(a, &cert).is_ok())?;
            until_right_pin(&prompter, || methods::sign::sign_hash(agent, &ctx, origin, arguments))
        }
    }
}

/// `web-eid:1.1`: the token also names the signing certificate of the same card and
/// the algorithms it signs with, when that certificate is one the validators accept
/// ([`webeid::signing_certificate_fits`]); otherwise the token stays `web-eid:1.0`.
fn add_signing_certificate(agent: &Agent, token: &mut Value) {
    let Some(auth) = token.get("unverifiedCertificate").and_then(Value::as_str).and_then(|c| B64.decode(c).ok()) else {
        return;
    };
    let same_token = agent.manager.list().into_iter().find(|s| {
        s.has(KeyPurpose::Authentication)
            && s.with(|t| t.certificate(KeyPurpose::Authentication)).is_ok_and(|c| c == auth)
    });
    let Some(slot) = same_token.filter(|s| s.has(KeyPurpose::Signing)) else { return };
    let (Ok(sign), Ok(key)) =
        (slot.with(|t| t.certificate(KeyPurpose::Signing)), slot.with(|t| t.key_algorithm(KeyPurpose::Signing)))
    else {
        return;
    };
    if webeid::signing_certificate_fits(&auth, &sign, std::time::SystemTime::now()) {
        token["format"] = json!(webeid::FORMAT_1_1);
        token["unverifiedSigningCertificate"] = json!(B64.encode(sign));
        token["supportedSignatureAlgorithms"] = webeid::supported_signature_algorithms(key);
    }
}

/// Runs `f` (one PIN dialog and one card operation) again after a wrong PIN, with the
/// dialog saying so, until the PIN is right, the dialog is closed, or the card blocks
/// the PIN (then the PIN policy explains it and ends). Each round is a PIN the citizen
/// typed again.
fn until_right_pin(prompter: &WrongPinNote<'_>, mut f: impl FnMut() -> Result<Value>) -> Result<Value> {
    loop {
        match f() {
            Err(Error::PinIncorrect { .. }) => {
                *prompter.note.lock().unwrap_or_else(|e| e.into_inner()) = Some(tr!("pin-wrong-try-again"));
            }
            other => return other,
        }
    }
}

/// The agent's dialogs, with "wrong PIN" on the next PIN dialog after a wrong PIN.
struct WrongPinNote<'a> {
    inner: &'a dyn Prompter,
    note: Mutex<Option<String>>,
}

impl Prompter for WrongPinNote<'_> {
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin> {
        let note = self.note.lock().unwrap_or_else(|e| e.into_inner()).take();
        match note {
            Some(note) if dialog.error.is_none() => {
                self.inner.secret(&SecretDialog { error: Some(note), ..dialog.clone() }, cancel)
            }
            _ => self.inner.secret(dialog, cancel),
        }
    }

    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool> {
        self.inner.confirm(dialog, cancel)
    }

    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()> {
        self.inner.message(title, description, cancel)
    }
}

/// Until `ready` (a token with the key asked for is there): a message asks for the card
/// and closes by itself when one is found. Closing it is `USER_CANCELLED`; nobody
/// inserting one before the dialog's timeout, `USER_TIMEOUT`.
fn wait_for_token(agent: &Agent, ctx: &Ctx, origin: &str, ready: impl Fn(&Agent) -> bool) -> Result<()> {
    if ready(agent) {
        return Ok(());
    }
    let found = Cancel::new();
    let closed = Mutex::new(None);
    std::thread::scope(|s| {
        s.spawn(|| {
            let dialog = ctx.cancel.clone();
            let found_too = found.clone();
            // One flag for the dialog: a card found, or the browser gone.
            let either = Cancel::new();
            let (a, b) = (either.clone(), either.clone());
            dialog.on_cancel(move || a.cancel());
            found_too.on_cancel(move || b.cancel());
            let r = ctx.prompter.message(
                &tr!("webeid-insert-card-title"),
                &tr!("webeid-insert-card", origin = origin),
                &either,
            );
            *closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
        let started = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            if closed.lock().unwrap_or_else(|e| e.into_inner()).is_some() || ctx.cancel.is_cancelled() {
                break;
            }
            agent.manager.remove_where(|_| true);
            scan(agent);
            if ready(agent) {
                found.cancel();
                break;
            }
            if started.elapsed() > Duration::from_secs(agent.config.prompt_timeout_seconds.max(1)) {
                found.cancel();
                break;
            }
        }
    });
    ctx.cancel.check()?;
    if ready(agent) {
        return Ok(());
    }
    match closed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(Err(Error::Timeout)) | None => Err(Error::Timeout),
        Some(Err(e @ Error::NoPrompter(_))) => Err(e),
        _ => Err(Error::UserCancelled),
    }
}

/// `mohur web-eid` (or the browser starting `mohur` itself): serves one request on
/// stdin/stdout; exit 0 when it answered.
pub fn main(config_file: Option<&Path>) -> std::process::ExitCode {
    let mut stdout = std::io::stdout().lock();
    match serve(Box::new(std::io::stdin()), &mut stdout, || host_agent(config_file)) {
        Ending::Answered => std::process::ExitCode::SUCCESS,
        Ending::BadMessage => std::process::ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::framing::MAX_MESSAGE;
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_browser_start_is_recognised() {
        assert!(launched_by_browser(&args(&["mohur", "chrome-extension://abc/"])));
        assert!(launched_by_browser(&args(&["mohur.exe", "chrome-extension://abc/", "--parent-window=0"])));
        assert!(launched_by_browser(&args(&[
            "mohur",
            "/usr/lib/mozilla/native-messaging-hosts/eu.webeid.json",
            "x@y"
        ])));
        assert!(!launched_by_browser(&args(&["mohur", "sign", "x.pdf"])));
        assert!(!launched_by_browser(&args(&["mohur"])));
        assert!(!launched_by_browser(&args(&["mohur", "eu.webeid.json"])));
    }

    fn cmd(v: Value) -> core::result::Result<Command, &'static str> {
        parse_command(&v).map(|(c, _)| c).map_err(|e| e.code)
    }

    #[test]
    fn commands_and_their_arguments_are_checked() {
        let nonce = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
        assert_eq!(cmd(json!({"command": "quit", "arguments": {}})), Ok(Command::Quit));
        assert_eq!(
            cmd(
                json!({"command": "authenticate", "arguments": {"challengeNonce": nonce, "origin": "https://E-GOV.az:443"}})
            ),
            Ok(Command::Authenticate { origin: "https://e-gov.az".into(), nonce: nonce.into() })
        );
        let invalid = Err("ERR_WEBEID_NATIVE_INVALID_ARGUMENT");
        for bad in [
            json!([]),
            json!({"command": 5}),
            json!({"command": "format-disk", "arguments": {}}),
            json!({"command": "authenticate", "arguments": {"challengeNonce": "c2hvcnQ=", "origin": "https://a.az"}}),
            json!({"command": "authenticate", "arguments": {"challengeNonce": nonce, "origin": "http://a.az"}}),
            json!({"command": "authenticate", "arguments": {"challengeNonce": nonce, "origin": "https://a.az/path"}}),
            json!({"command": "authenticate", "arguments": {"challengeNonce": nonce}}),
            json!({"command": "get-signing-certificate", "arguments": {"origin": "chrome-extension://x"}}),
            json!({"command": "sign", "arguments": {"origin": "https://a.az", "hash": "AA==", "hashFunction": "SHA-256"}}),
            json!({"command": "sign", "arguments": 3}),
        ] {
            assert_eq!(cmd(bad.clone()), invalid, "{bad}");
        }
    }

    #[test]
    fn errors_map_to_the_codes_the_page_library_knows() {
        let code = |e: Error| WebEidError::from(e).code;
        assert_eq!(code(Error::UserCancelled), "ERR_WEBEID_USER_CANCELLED");
        assert_eq!(code(Error::PinBlocked), "ERR_WEBEID_USER_CANCELLED");
        assert_eq!(code(Error::OriginNotAllowed), "ERR_WEBEID_USER_CANCELLED");
        assert_eq!(code(Error::Timeout), "ERR_WEBEID_USER_TIMEOUT");
        assert_eq!(code(Error::KeyNotAllowed("x")), "ERR_WEBEID_NATIVE_INVALID_ARGUMENT");
        assert_eq!(code(Error::Internal("x".into())), "ERR_WEBEID_NATIVE_FATAL");
    }

    /// Input that ends after `bytes` (the browser's half of the pipe).
    fn serve_bytes(bytes: Vec<u8>) -> (Ending, Vec<Value>) {
        let mut out = Vec::new();
        let ending = serve(Box::new(std::io::Cursor::new(bytes)), &mut out, || {
            Err(Error::Internal("no agent in this test".into()))
        });
        let mut replies = Vec::new();
        let mut rest = out.as_slice();
        while !rest.is_empty() {
            replies.push(read_message(&mut rest).unwrap());
        }
        (ending, replies)
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u32).to_ne_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn the_host_speaks_first_and_answers_once() {
        let (ending, replies) = serve_bytes(framed(br#"{"command":"quit","arguments":{}}"#));
        assert_eq!(ending, Ending::Answered);
        assert_eq!(replies, vec![json!({"version": version()}), json!({})]);
        assert!(version().starts_with("2."), "the extension needs major 2");

        // Malformed input: the version, then the protocol's error, and the host ends.
        for bad in [framed(b"{oops"), (MAX_MESSAGE + 1).to_ne_bytes().to_vec(), vec![3, 0]] {
            let (ending, replies) = serve_bytes(bad);
            assert_eq!(ending, Ending::BadMessage);
            assert_eq!(replies.len(), 2, "{replies:?}");
            assert_eq!(replies[1]["error"]["code"], "ERR_WEBEID_NATIVE_INVALID_ARGUMENT");
        }
        let (_, replies) = serve_bytes(framed(br#"{"command":"reboot","arguments":{}}"#));
        assert_eq!(replies[1]["error"]["code"], "ERR_WEBEID_NATIVE_INVALID_ARGUMENT");
        // A command that needs the agent, which here cannot be built: fatal, answered.
        let nonce = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
        let msg = json!({"command":"authenticate","arguments":{"challengeNonce": nonce, "origin": "https://a.az"}});
        let (ending, replies) = serve_bytes(framed(msg.to_string().as_bytes()));
        assert_eq!(ending, Ending::Answered);
        assert_eq!(replies[1]["error"]["code"], "ERR_WEBEID_NATIVE_FATAL");
        // Nothing at all: no answer (nobody is there to read it).
        assert_eq!(serve_bytes(Vec::new()).1.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Whatever the browser's side writes, the host writes its version, at most one
        /// answer, well framed, and ends.
        #[test]
        fn any_input_gets_the_version_and_at_most_one_answer(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            command in proptest::sample::select(vec!["quit", "authenticate", "sign", "get-signing-certificate", "x"]),
            arguments in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            let (_, replies) = serve_bytes(bytes);
            proptest::prop_assert!(!replies.is_empty() && replies.len() <= 2);
            proptest::prop_assert_eq!(&replies[0], &json!({"version": version()}));
            // Well-framed commands with junk arguments: an answer, never a panic.
            let junk = String::from_utf8_lossy(&arguments).into_owned();
            let msg = json!({"command": command, "arguments": {"origin": junk, "challengeNonce": junk, "hash": junk}});
            let (ending, replies) = serve_bytes(framed(msg.to_string().as_bytes()));
            proptest::prop_assert_eq!(ending, Ending::Answered);
            proptest::prop_assert_eq!(replies.len(), 2);
        }
    }
}
