//! The tray icon of `mohur agent` on a desktop: the icon shows the state of the cards
//! (no reader, no card, ready, PIN blocked, agent error), the menu lists each token
//! with its holder and PIN tries and offers the PIN operations, the allowed sites,
//! diagnostics, start at login and quit; desktop notifications say when a card was
//! read and when a PIN is down to its last try.
//!
//! [`model`] (the menu as data), [`actions`] (what the items do), [`icons`],
//! [`notify`] and [`autostart`] are plain Rust and always built; only [`ui`] (feature
//! `tray`) touches tray-icon, tao and GTK, and only when a display is there
//! ([`display_available`]): `mohur agent --no-tray` and a machine without a display
//! never load GTK.

pub mod actions;
pub mod autostart;
pub mod file_chooser;
pub mod icons;
pub mod model;
pub mod notify;
#[cfg(feature = "tray")]
pub mod ui;

use crate::agent::Agent;
use model::{Menu, Pcsc, Snapshot};
use notify::Notifier;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How often the tray looks again without an event: PC/SC readers come and go
/// without a token event, and PIN counters change with every PIN entry.
pub const POLL: Duration = Duration::from_secs(2);

/// True where a tray can be shown: Windows, or a Unix desktop session (`DISPLAY` or
/// `WAYLAND_DISPLAY`). GTK panics without a display, so this is checked first.
pub fn display_available() -> bool {
    if cfg!(windows) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// PC/SC as the agent sees it: off, unavailable, or its (allowed) readers.
pub fn pcsc_state(agent: &Agent) -> Pcsc {
    if !agent.config.pcsc {
        return Pcsc::Off;
    }
    match mohur_apdu::pcsc_transport::list_readers() {
        Ok(readers) => {
            let allowed = &agent.config.readers;
            Pcsc::Readers(readers.iter().filter(|r| allowed.is_empty() || allowed.contains(r)).count())
        }
        Err(_) => Pcsc::Unavailable,
    }
}

/// The agent's state now. Reads only what the agent already knows (token infos are
/// cached; no card is talked to) plus the reader list and `origins.json`.
pub fn snapshot(agent: &Agent, pcsc: Pcsc, error: Option<String>, hooks: &actions::Hooks) -> Snapshot {
    Snapshot {
        pcsc,
        tokens: agent.manager.list().iter().map(|s| (s.id.clone(), s.info())).collect(),
        error,
        sites: agent.origins.remembered(),
        configured_sites: agent.origins.configured(),
        autostart: hooks.autostart.as_ref().map(|a| a.enabled()),
    }
}

/// Keeps the tray up to date, in the calling thread, until `show` returns false (the
/// UI is gone): after every token event or nudge on `wake`, and every [`POLL`], it
/// takes a [`snapshot`], hands a changed menu to `show`, and sends the notifications
/// the change calls for.
pub fn watch(
    agent: &Agent,
    hooks: &actions::Hooks,
    wake: mpsc::Receiver<()>,
    notifier: &dyn Notifier,
    mut show: impl FnMut(Menu) -> bool,
) {
    let mut before = Snapshot::empty();
    let mut shown: Option<Menu> = None;
    loop {
        let now = snapshot(agent, pcsc_state(agent), None, hooks);
        for n in model::notifications(&before, &now) {
            notifier.notify(&n);
        }
        let menu = model::menu(&now);
        if shown.as_ref() != Some(&menu) {
            if !show(menu.clone()) {
                return;
            }
            shown = Some(menu);
        }
        before = now;
        match wake.recv_timeout(POLL) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Forwards the agent's token events to `wake` (from a task on `runtime`), so that
/// [`watch`] redraws at once when a card comes or goes.
pub fn forward_token_events(agent: &Arc<Agent>, runtime: &tokio::runtime::Handle, wake: mpsc::Sender<()>) {
    let mut events = agent.manager.subscribe();
    runtime.spawn(async move {
        loop {
            match events.recv().await {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if wake.send(()).is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
