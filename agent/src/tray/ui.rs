//! The tray on screen: tray-icon's icon and menu, driven by tao's event loop, which
//! must own the main thread (GTK on Linux, the window procedure on Windows). The
//! agent's tokio runtime runs on another thread meanwhile (see `serve` in main.rs).
//!
//! Threads: the event loop only draws. A watcher thread computes the menu
//! ([`super::watch`]) and sends it here through the [`EventLoopProxy`]; a click is sent
//! here the same way and its action runs on a worker thread, because a PIN dialog
//! blocks for as long as the citizen takes. Quitting asks the server to stop; the
//! loop exits when the server has stopped, whichever side started it (menu, SIGTERM).

use super::actions::{self, Hooks};
use super::model::{Action, IconState, Item, Menu};
#[cfg(windows)]
use super::notify::Balloon as DesktopNotifier;
#[cfg(not(windows))]
use super::notify::NotifySend as DesktopNotifier;
use super::{icons, watch};
use crate::agent::Agent;
use crate::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tao::platform::run_return::EventLoopExtRunReturn;
use tray_icon::menu::{CheckMenuItem, IsMenuItem, MenuEvent, MenuId, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

/// What the other threads tell the event loop.
#[derive(Debug)]
enum UserEvent {
    /// Draw this.
    Show(Menu),
    /// A menu item was clicked.
    Clicked(MenuId),
    /// The server has stopped: leave.
    Stopped,
}

/// Item ids are unique across rebuilds, so that a click on an item of a menu that was
/// just replaced cannot land on another action.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A muda menu built from the model, and what each id does.
struct Built {
    menu: tray_icon::menu::Menu,
    actions: HashMap<MenuId, Action>,
}

fn build(items: &[Item]) -> Result<Built> {
    let menu = tray_icon::menu::Menu::new();
    let mut actions = HashMap::new();
    for item in items {
        let built = build_item(item, &mut actions)?;
        menu.append(built.as_ref()).map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(Built { menu, actions })
}

fn build_item(item: &Item, actions: &mut HashMap<MenuId, Action>) -> Result<Box<dyn IsMenuItem>> {
    let mut id = |action: &Action| {
        let id = MenuId::new(format!("mohur-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)));
        actions.insert(id.clone(), action.clone());
        id
    };
    Ok(match item {
        Item::Label(text) => Box::new(MenuItem::new(text, false, None)),
        Item::Button { text, enabled, action } => Box::new(MenuItem::with_id(id(action), text, *enabled, None)),
        Item::Check { text, checked, action } => {
            Box::new(CheckMenuItem::with_id(id(action), text, true, *checked, None))
        }
        Item::Separator => Box::new(PredefinedMenuItem::separator()),
        Item::Submenu { text, items } => {
            let sub = Submenu::new(text, true);
            for i in items {
                let built = build_item(i, actions)?;
                sub.append(built.as_ref()).map_err(|e| Error::Internal(e.to_string()))?;
            }
            Box::new(sub)
        }
    })
}

fn icon(state: IconState) -> Result<Icon> {
    Icon::from_rgba(icons::rgba(state), icons::SIZE, icons::SIZE).map_err(|e| Error::Internal(e.to_string()))
}

/// Runs the tray on this (the main) thread until the server stops. `stop` asks the
/// server to stop; `stopped` turns true when it has. Err if the tray cannot be shown
/// at all (GTK did not start): the caller then goes on without it.
pub fn run(
    agent: Arc<Agent>,
    runtime: tokio::runtime::Handle,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    done: mpsc::Receiver<()>,
) -> Result<()> {
    // GTK panics instead of failing when it cannot open the display.
    let built = std::panic::catch_unwind(|| EventLoopBuilder::<UserEvent>::with_user_event().build());
    let mut event_loop = built.map_err(|_| Error::Internal("cannot start the tray (no usable display)".into()))?;
    let proxy = event_loop.create_proxy();

    // The server stopping (menu, signal, error) ends the loop. A plain thread: the
    // runtime's tasks are dropped with it when the server ends.
    let on_stop = proxy.clone();
    std::thread::Builder::new().name("mohur-tray-stop".into()).spawn(move || {
        let _ = done.recv();
        let _ = on_stop.send_event(UserEvent::Stopped);
    })?;
    let clicks = Mutex::new(proxy.clone());
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
        let _ = clicks.lock().unwrap_or_else(|e| e.into_inner()).send_event(UserEvent::Clicked(e.id));
    }));

    let hooks = Arc::new(Hooks::desktop());
    let (wake_tx, wake_rx) = mpsc::channel();
    super::forward_token_events(&agent, &runtime, wake_tx.clone());
    let mut wake_rx = Some(wake_rx);
    let mut tray: Option<TrayIcon> = None;
    let mut actions: HashMap<MenuId, Action> = HashMap::new();
    let mut current_icon = None;

    event_loop.run_return(|event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            // tray-icon wants the loop running before the icon is made.
            Event::NewEvents(StartCause::Init) => {
                let first = super::model::menu(&super::model::Snapshot::empty());
                match make_tray(&first) {
                    Ok((t, a)) => {
                        tray = Some(t);
                        actions = a;
                        current_icon = Some(first.icon);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "no tray icon");
                    }
                }
                if let Some(wake) = wake_rx.take() {
                    spawn_watcher(agent.clone(), hooks.clone(), wake, proxy.clone());
                }
            }
            Event::UserEvent(UserEvent::Show(menu)) => {
                let Some(t) = &tray else { return };
                match build(&menu.items) {
                    Ok(b) => {
                        t.set_menu(Some(Box::new(b.menu)));
                        actions = b.actions;
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot build the tray menu"),
                }
                if current_icon != Some(menu.icon) {
                    if let Err(e) =
                        icon(menu.icon).and_then(|i| t.set_icon(Some(i)).map_err(|e| Error::Internal(e.to_string())))
                    {
                        tracing::warn!(error = %e, "cannot change the tray icon");
                    }
                    current_icon = Some(menu.icon);
                }
                let _ = t.set_tooltip(Some(&menu.tooltip));
            }
            Event::UserEvent(UserEvent::Clicked(id)) => {
                let Some(action) = actions.get(&id).cloned() else { return };
                tracing::info!(?action, "tray");
                if action == Action::Quit {
                    let _ = stop.send(true);
                    return;
                }
                let (agent, hooks, stop, wake) = (agent.clone(), hooks.clone(), stop.clone(), wake_tx.clone());
                let spawned = std::thread::Builder::new().name("mohur-tray-action".into()).spawn(move || {
                    if actions::run(&agent, &hooks, &action) {
                        let _ = stop.send(true);
                    }
                    let _ = wake.send(());
                });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot run the tray action");
                }
            }
            Event::UserEvent(UserEvent::Stopped) => {
                tray = None;
                *control_flow = ControlFlow::Exit;
            }
            _ => {}
        }
    });
    MenuEvent::set_event_handler(None::<fn(MenuEvent)>);
    Ok(())
}

fn make_tray(menu: &Menu) -> Result<(TrayIcon, HashMap<MenuId, Action>)> {
    let b = build(&menu.items)?;
    let tray = TrayIconBuilder::new()
        .with_id("mohur")
        .with_menu(Box::new(b.menu))
        .with_tooltip(&menu.tooltip)
        .with_icon(icon(menu.icon)?)
        .build()
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok((tray, b.actions))
}

fn spawn_watcher(agent: Arc<Agent>, hooks: Arc<Hooks>, wake: mpsc::Receiver<()>, proxy: EventLoopProxy<UserEvent>) {
    let spawned = std::thread::Builder::new().name("mohur-tray-watch".into()).spawn(move || {
        watch(&agent, &hooks, wake, &DesktopNotifier, |menu| proxy.send_event(UserEvent::Show(menu)).is_ok());
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the tray watcher");
    }
}
