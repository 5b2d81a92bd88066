//! Desktop notifications: on Linux through `notify-send` (libnotify-bin), which speaks
//! the org.freedesktop.Notifications D-Bus interface for us; on Windows a balloon.
//!
//! Why a program and not a crate: the D-Bus crates (`notify-rust` → `zbus`) add some
//! sixty crates to a build that CI makes on two cores, for two messages; every desktop
//! that shows notifications has `notify-send`. Where it is missing the notification is
//! logged and dropped: it only repeats what the menu shows.

use super::model::Notification;
use std::process::{Command, Stdio};

/// Something that shows notifications.
pub trait Notifier: Send + Sync {
    /// Shows `n`, without waiting for it to go away.
    fn notify(&self, n: &Notification);
}

/// `notify-send`.
pub struct NotifySend;

impl Notifier for NotifySend {
    fn notify(&self, n: &Notification) {
        let spawned = Command::new("notify-send")
            .args(["--app-name=mohur", "--icon=dialog-information", "--", &n.title, &n.body])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            // Reaped in the background: notify-send returns at once, but no zombie stays.
            Ok(mut child) => {
                let _ = std::thread::Builder::new().name("mohur-notify".into()).spawn(move || child.wait());
            }
            Err(e) => tracing::info!(title = %n.title, error = %e, "no notify-send; notification not shown"),
        }
    }
}

/// Windows: a balloon of a notification-area icon of its own, which Windows 10 and 11
/// show as a toast ([`crate::windows::notify`]).
#[cfg(windows)]
pub struct Balloon;

#[cfg(windows)]
impl Notifier for Balloon {
    fn notify(&self, n: &Notification) {
        if let Err(e) = crate::windows::notify(&n.title, &n.body, n.warning, std::time::Duration::from_secs(10)) {
            tracing::info!(title = %n.title, error = %e, "notification not shown");
        }
    }
}

/// Notifications kept in memory (tests).
#[doc(hidden)]
#[derive(Default)]
pub struct Recorded(pub std::sync::Mutex<Vec<Notification>>);

impl Notifier for Recorded {
    fn notify(&self, n: &Notification) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(n.clone());
    }
}
