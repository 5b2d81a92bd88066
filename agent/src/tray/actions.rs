//! What the tray's menu items do, through the same code as the command line and the
//! WebSocket: `pin_policy::change_pin` / `pin_policy::unblock_pin` with the agent's prompter (its
//! pinentry on a desktop), `Origins::revoke`, the `mohur doctor` report, the autostart
//! entry. Each runs on a worker thread of the UI, never on the event loop.

use super::autostart::StartAtLogin;
use super::model::Action;
use crate::agent::Agent;
use crate::pin_policy::{self, Ctx};
use crate::{tr, Cancel, Error, Result};
use mohur_apdu::PinKind;

/// Runs `mohur-install` with these arguments: its standard output, or why it failed.
pub type Installer = Box<dyn Fn(&[String]) -> std::result::Result<String, String> + Send + Sync>;

/// What the tray needs besides the agent.
pub struct Hooks {
    /// The diagnostics report (text).
    pub diagnostics: Box<dyn Fn() -> String + Send + Sync>,
    /// How the agent starts at login, where the tray can change it.
    pub autostart: Option<StartAtLogin>,
    /// `mohur-install` (the CAs of a card).
    pub installer: Installer,
    /// The platform's file chooser, titled so: the chosen file, `None` if the citizen
    /// closed it, or why there is none.
    pub choose_file: FileChooser,
    /// The CA certificates a signature check trusts (`None`: the bundle mohur installs,
    /// as `mohur verify` without `--ca-bundle`).
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// A file chooser: see [`Hooks::choose_file`].
pub type FileChooser = Box<dyn Fn(&str) -> std::result::Result<Option<std::path::PathBuf>, String> + Send + Sync>;

impl Hooks {
    /// The running agent's: `mohur doctor`, the user's autostart entry, the
    /// `mohur-install` next to this binary.
    pub fn desktop() -> Hooks {
        Hooks {
            diagnostics: Box::new(diagnostics_report),
            autostart: StartAtLogin::for_user(),
            installer: Box::new(run_installer),
            choose_file: Box::new(super::file_chooser::choose),
            ca_bundle: None,
        }
    }
}

/// `mohur-install ARGS`, the one next to this binary (a build tree, the packages), else
/// the one on `PATH`.
pub fn run_installer(args: &[String]) -> std::result::Result<String, String> {
    let name = if cfg!(windows) { "mohur-install.exe" } else { "mohur-install" };
    let program = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| std::path::PathBuf::from(name));
    let out = std::process::Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.trim().trim_start_matches("mohur-install: ").to_owned())
    }
}

/// Learns the CA chain of the card in `reader` (`mohur-install --dry-run --json`),
/// shows every certificate with its SHA-256 in the agent's dialog, and installs exactly
/// those once the citizen says yes (`--expect-sha256`: a chain that changed meanwhile
/// is not installed on an old yes).
fn install_card_cas(agent: &Agent, hooks: &Hooks, reader: &str, cancel: &Cancel) -> Result<Outcome> {
    let base = ["install", "--from-card", "--reader", reader, "--no-autostart"].map(String::from).to_vec();
    let planned = (hooks.installer)(&[base.clone(), vec!["--dry-run".into(), "--json".into()]].concat())
        .map_err(Error::Internal)?;
    let learned: serde_json::Value = planned
        .lines()
        .find(|l| l.starts_with("{\"learned\""))
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| Error::Internal("mohur-install did not say what it learned".into()))?;
    let cas = learned["learned"].as_array().cloned().unwrap_or_default();
    let mut listing = String::new();
    let mut expect = Vec::new();
    for ca in &cas {
        let (subject, sha) = (ca["subject"].as_str().unwrap_or(""), ca["sha256"].as_str().unwrap_or(""));
        listing.push_str(&format!("\n  {subject}\n    SHA-256 {sha}"));
        expect.extend(["--expect-sha256".to_owned(), sha.to_owned()]);
    }
    let dialog = crate::dialogs::ConfirmDialog {
        title: tr!("tray-cas-title"),
        description: format!("{}{listing}", tr!("tray-cas-confirm", n = cas.len())),
        ok: tr!("tray-cas-install"),
        cancel: tr!("tray-cas-cancel"),
    };
    let yes = {
        let _gate = agent.gate.enter()?;
        agent.prompter.confirm(&dialog, cancel)?
    };
    if !yes {
        return Err(Error::UserCancelled);
    }
    (hooks.installer)(&[base, expect].concat()).map_err(Error::Internal)?;
    Ok(Outcome::Done(tr!("tray-cas-installed", n = cas.len())))
}

/// What came of an action.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; tell the citizen this.
    Done(String),
    /// Done; the menu shows the result (a check mark).
    Quiet,
    /// The agent is to stop.
    Quit,
}

/// The `mohur doctor` report, from the CLI's own code path: `mohur doctor` run as a
/// child of this binary. `mohur_agent::doctor` runs the checks, but the text the
/// citizen reads is composed and printed by `cli::doctor::run`; when a function
/// returns that text, this becomes a call of it (the only place to change).
pub fn diagnostics_report() -> String {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return e.to_string(),
    };
    match std::process::Command::new(exe).arg("doctor").stdin(std::process::Stdio::null()).output() {
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            text.trim().to_owned()
        }
        Err(e) => e.to_string(),
    }
}

/// The display name of PIN `kind` on token `id`.
fn secret_name(agent: &Agent, id: &str, kind: PinKind) -> Result<String> {
    let slot = agent.manager.find(Some(id), None)?;
    Ok(super::model::secret_name(&slot.info(), kind))
}

/// Does `action`: PIN dialogs through the agent's prompter, one dialog at a time with
/// the WebSocket's requests (`agent.gate`).
pub fn perform(agent: &Agent, hooks: &Hooks, action: &Action) -> Result<Outcome> {
    let cancel = Cancel::new();
    let ctx = Ctx { prompter: &*agent.prompter, cancel: &cancel, gate: &agent.gate };
    let context = tr!("tray-context");
    match action {
        Action::ChangePin { token, kind } => {
            let slot = agent.manager.find(Some(token), None)?;
            pin_policy::change_pin(&ctx, &slot, *kind, &context)?;
            Ok(Outcome::Done(tr!("tray-pin-changed", secret = secret_name(agent, token, *kind)?)))
        }
        Action::UnblockPin { token, kind } | Action::Activate { token, kind } => {
            let slot = agent.manager.find(Some(token), None)?;
            pin_policy::unblock_pin(&ctx, &slot, *kind, &context)?;
            Ok(Outcome::Done(tr!("tray-pin-unblocked", secret = secret_name(agent, token, *kind)?)))
        }
        Action::InstallCardCas { reader } => install_card_cas(agent, hooks, reader, &cancel),
        Action::RevokeSite(origin) => {
            agent.origins.revoke(origin)?;
            Ok(Outcome::Done(tr!("tray-site-revoked", origin = origin.clone())))
        }
        Action::SignDocument => {
            let Some(file) = (hooks.choose_file)(&tr!("tray-choose-to-sign")).map_err(Error::NoPrompter)? else {
                return Ok(Outcome::Quiet);
            };
            let signer = || crate::cli::sign::Signer::for_agent(agent).map_err(crate::cli::Failure::from);
            match crate::cli::sign::sign_file(signer, &file, &crate::cli::sign::FileOptions::default()) {
                Ok(done) => Ok(Outcome::Done(done.text)),
                Err(f) => failure(f),
            }
        }
        Action::CheckSignature => {
            let Some(file) = (hooks.choose_file)(&tr!("tray-choose-to-check")).map_err(Error::NoPrompter)? else {
                return Ok(Outcome::Quiet);
            };
            let online = agent.config.verify_online.then(|| agent.config.fetching());
            match crate::cli::verify::check(&file, hooks.ca_bundle.as_deref(), online.as_ref()) {
                Ok(report) => Ok(Outcome::Done(report.text)),
                Err(f) => failure(f),
            }
        }
        Action::Diagnostics => {
            let report = (hooks.diagnostics)();
            let _gate = agent.gate.enter()?;
            agent.prompter.message(&tr!("tray-diagnostics-title"), &report, &cancel)?;
            Ok(Outcome::Quiet)
        }
        Action::ToggleAutostart => {
            let a = hooks.autostart.as_ref().ok_or_else(|| Error::Internal("no autostart here".into()))?;
            a.set(!a.enabled())?;
            Ok(Outcome::Quiet)
        }
        Action::Quit => Ok(Outcome::Quit),
    }
}

/// A CLI failure as the tray reports it: the citizen's cancel and a blocked PIN (which
/// the PIN policy has explained) show nothing more; anything else shows the CLI's own
/// message, translated, which says what happened and that nothing was written.
fn failure(f: crate::cli::Failure) -> Result<Outcome> {
    match f.code {
        "USER_CANCELLED" => Err(Error::UserCancelled),
        "PIN_BLOCKED" => Err(Error::PinBlocked),
        _ => Ok(Outcome::Done(f.message)),
    }
}

/// [`perform`], then tells the citizen how it went in the agent's dialog: the result,
/// or why it failed. A dialog the citizen closed, and a blocked PIN (already explained
/// by the PIN policy), say nothing more. True when the agent is to stop.
pub fn run(agent: &Agent, hooks: &Hooks, action: &Action) -> bool {
    let outcome = perform(agent, hooks, action);
    let cancel = Cancel::new();
    let text = match outcome {
        Ok(Outcome::Quit) => return true,
        Ok(Outcome::Quiet) => return false,
        Ok(Outcome::Done(text)) => text,
        Err(Error::UserCancelled | Error::PinBlocked | Error::PukBlocked | Error::PinNotActivated) => return false,
        Err(e) => {
            tracing::warn!(?action, error = %e, "tray action failed");
            tr!("tray-action-failed", what = e.to_string())
        }
    };
    if let Err(e) = agent.prompter.message(&tr!("tray-done-title"), &text, &cancel) {
        tracing::debug!(error = %e, "could not show the result");
    }
    false
}
