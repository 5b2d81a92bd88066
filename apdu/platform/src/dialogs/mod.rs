//! mohur's dialogs through a pinentry program: the PIN, PUK and consent prompts of
//! the agent and the protected authentication path of the PKCS#11 module.
//!
//! A pinentry (GnuPG's `pinentry-gtk`, `-qt`, `-curses`, `-mac`, …) is a separate
//! program spoken to in Assuan over its stdin and stdout, so the secret never passes
//! through a window of ours and the desktop's own dialog is used. Each dialog runs
//! one child process; the child is always killed and reaped before a call returns.
//!
//! A call blocks until the holder answers. It can be ended from another thread
//! through a [`Canceller`] (the child is killed, the call returns
//! [`Error::Cancelled`]) or by a [`Pinentry::timeout`] (a watchdog thread kills the
//! child, the call returns [`Error::Timeout`]).
//!
//! Secrets only live in [`Zeroizing`] buffers and never appear in errors.

mod assuan;
#[cfg(windows)]
#[allow(unsafe_code)]
mod window;

#[cfg(windows)]
pub use window::Window;

use assuan::{Assuan, Reply};
use std::ffi::{OsStr, OsString};
use std::io::{BufReader, IsTerminal};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use zeroize::Zeroizing;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why a dialog gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The holder closed the dialog, or the [`Canceller`] fired.
    #[error("the dialog was cancelled")]
    Cancelled,
    /// Nobody answered within [`Pinentry::timeout`].
    #[error("nobody answered the dialog in time")]
    Timeout,
    /// The pinentry program could not be started (not installed, not executable).
    #[error("cannot start the pinentry program {program}: {source}")]
    Spawn {
        /// The program as given to [`Pinentry::new`].
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The program misbehaved: an error reply, a closed pipe, garbage.
    #[error("pinentry failed: {0}")]
    Failed(String),
}

/// What a dialog shows. Unset optional fields keep pinentry's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialog {
    /// Window title (`SETTITLE`).
    pub title: String,
    /// The text (`SETDESC`): what is asked and why. Newlines are kept.
    pub description: String,
    /// The label before the entry field (`SETPROMPT`, e.g. `PIN:`).
    pub prompt: Option<String>,
    /// An error line shown above the entry (`SETERROR`, e.g. after a format error).
    pub error: Option<String>,
    /// The "yes" button (`SETOK`).
    pub ok: Option<String>,
    /// The "no" button (`SETCANCEL`).
    pub cancel: Option<String>,
}

/// The terminal a curses pinentry should draw on (`OPTION ttyname` / `ttytype`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tty {
    /// The device, e.g. `/dev/pts/3`.
    pub name: String,
    /// The terminal type (`$TERM`), if known.
    pub term: Option<String>,
}

impl Tty {
    /// The terminal to use: `$GPG_TTY` (what GnuPG users already set), else the
    /// terminal on our stdin; `None` without one (a desktop pinentry needs none).
    pub fn detect() -> Option<Tty> {
        let name = non_empty_env("GPG_TTY").or_else(stdin_tty_name)?;
        Some(Tty { name, term: non_empty_env("TERM") })
    }
}

fn non_empty_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// The device of the terminal on stdin, from `/proc` (Linux) or the `tty` program.
fn stdin_tty_name() -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let from_proc = std::fs::read_link("/proc/self/fd/0").ok().and_then(|p| p.to_str().map(str::to_owned));
    let name = from_proc.or_else(|| {
        let out = Command::new("tty").stdin(Stdio::inherit()).stderr(Stdio::null()).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })?;
    name.starts_with("/dev/").then_some(name)
}

/// How a running dialog ended, when something other than the conversation ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Done,
    Cancelled,
    TimedOut,
}

/// One running pinentry child, shared by the call, its watchdog and the cancellers.
struct Running {
    child: Mutex<Child>,
    ended: Mutex<Option<Ended>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Running {
    /// Records the first reason and kills the child; a blocked read or write of the
    /// call then fails at once. Killing a reaped child is a no-op in `std`.
    fn stop(&self, why: Ended) {
        lock(&self.ended).get_or_insert(why);
        let _ = lock(&self.child).kill();
    }

    fn ended(&self) -> Option<Ended> {
        *lock(&self.ended)
    }
}

#[derive(Default)]
struct CancelState {
    cancelled: bool,
    running: Vec<Arc<Running>>,
}

/// Ends the dialogs of a [`Pinentry`] from another thread (the page went away, the
/// request was cancelled). Cheap to clone; once cancelled it stays cancelled, and a
/// dialog started afterwards is not shown at all.
#[derive(Clone, Default)]
pub struct Canceller(Arc<Mutex<CancelState>>);

impl Canceller {
    /// A fresh, not cancelled canceller.
    pub fn new() -> Canceller {
        Canceller::default()
    }

    /// Kills the running dialogs: their calls return [`Error::Cancelled`].
    pub fn cancel(&self) {
        let running = {
            let mut s = lock(&self.0);
            s.cancelled = true;
            std::mem::take(&mut s.running)
        };
        for r in running {
            r.stop(Ended::Cancelled);
        }
    }

    /// True once [`Canceller::cancel`] ran.
    pub fn is_cancelled(&self) -> bool {
        lock(&self.0).cancelled
    }

    fn register(&self, r: &Arc<Running>) {
        let mut s = lock(&self.0);
        if s.cancelled {
            drop(s);
            r.stop(Ended::Cancelled);
        } else {
            s.running.push(r.clone());
        }
    }

    fn unregister(&self, r: &Arc<Running>) {
        lock(&self.0).running.retain(|x| !Arc::ptr_eq(x, r));
    }
}

/// A pinentry program and how to run it. Build one per dialog or keep one around:
/// each call starts its own child.
#[derive(Clone)]
pub struct Pinentry {
    program: OsString,
    timeout: Option<Duration>,
    tty: Option<Tty>,
    canceller: Canceller,
    env: Vec<(OsString, OsString)>,
}

impl Pinentry {
    /// `program` (a path, or a name looked up in `PATH`), on the terminal of
    /// [`Tty::detect`], without a timeout. The child inherits our environment, so
    /// `DISPLAY`, `WAYLAND_DISPLAY` and `DBUS_SESSION_BUS_ADDRESS` reach it.
    pub fn new(program: impl AsRef<OsStr>) -> Pinentry {
        Pinentry {
            program: program.as_ref().to_owned(),
            timeout: None,
            tty: Tty::detect(),
            canceller: Canceller::new(),
            env: Vec::new(),
        }
    }

    /// A dialog nobody answers within `timeout` is killed: [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Pinentry {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the detected terminal (`None`: tell pinentry of none).
    pub fn tty(mut self, tty: Option<Tty>) -> Pinentry {
        self.tty = tty;
        self
    }

    /// Dialogs end when `canceller` fires.
    pub fn canceller(mut self, canceller: Canceller) -> Pinentry {
        self.canceller = canceller;
        self
    }

    /// Sets an environment variable of the child only (e.g. `DISPLAY` of another
    /// session, or a test script).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Pinentry {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Asks for a secret (`GETPIN`). A closed dialog is [`Error::Cancelled`]; an
    /// empty entry is an empty secret.
    pub fn get_pin(&self, dialog: &Dialog) -> Result<Zeroizing<Vec<u8>>> {
        self.run(|a| {
            set_texts(a, dialog)?;
            if let Some(prompt) = &dialog.prompt {
                a.set("SETPROMPT", prompt)?;
            }
            if let Some(error) = &dialog.error {
                a.set("SETERROR", error)?;
            }
            a.send(b"GETPIN")?;
            let mut pin = Zeroizing::new(Vec::new());
            a.reply(Some(&mut pin))?.into_result("GETPIN")?;
            Ok(pin)
        })
    }

    /// Asks yes or no (`CONFIRM`): `true` for the "ok" button; `false` for the
    /// "cancel" button or a closed dialog (pinentry reports both as a refusal).
    pub fn confirm(&self, dialog: &Dialog) -> Result<bool> {
        self.run(|a| {
            set_texts(a, dialog)?;
            let reply = a.transact("CONFIRM")?;
            if reply.is_refusal() {
                return Ok(false);
            }
            reply.into_result("CONFIRM").map(|()| true)
        })
    }

    /// Shows a message with one button (`CONFIRM --one-button`, or `MESSAGE` for a
    /// pinentry that predates the option). A closed window is [`Error::Cancelled`].
    pub fn message(&self, dialog: &Dialog) -> Result<()> {
        self.run(|a| {
            set_texts(a, dialog)?;
            let reply = a.transact("CONFIRM --one-button")?;
            let reply = match reply {
                Reply::Err(..) if !reply.is_refusal() => a.transact("MESSAGE")?,
                reply => reply,
            };
            reply.into_result("MESSAGE")
        })
    }

    /// Starts the child, tells it the terminal, runs `talk`, and always kills and
    /// reaps it; a kill by the canceller or the watchdog decides the error.
    fn run<T>(&self, talk: impl FnOnce(&mut Conversation) -> Result<T>) -> Result<T> {
        if self.canceller.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut cmd = Command::new(&self.program);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd
            .spawn()
            .map_err(|source| Error::Spawn { program: self.program.to_string_lossy().into_owned(), source })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Failed("no pipes to pinentry".into()));
        };
        let running = Arc::new(Running { child: Mutex::new(child), ended: Mutex::new(None) });
        self.canceller.register(&running);
        let watchdog = self.timeout.map(|timeout| {
            let (done, wait) = mpsc::channel::<()>();
            let r = running.clone();
            let thread = std::thread::spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(timeout) {
                    r.stop(Ended::TimedOut);
                }
            });
            (done, thread)
        });

        let mut a = Assuan::new(input, BufReader::new(output));
        let result = self.greet(&mut a).and_then(|()| talk(&mut a));
        if result.is_ok() {
            let _ = a.send(b"BYE");
        }
        drop(a);

        if let Some((done, thread)) = watchdog {
            drop(done);
            let _ = thread.join();
        }
        self.canceller.unregister(&running);
        running.stop(Ended::Done);
        let _ = lock(&running.child).wait();
        match (result, running.ended()) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(Ended::Cancelled)) => Err(Error::Cancelled),
            (Err(_), Some(Ended::TimedOut)) => Err(Error::Timeout),
            (Err(e), _) => Err(e),
        }
    }

    /// Reads the greeting and passes the terminal and locale; a pinentry that does
    /// not know an option refuses it, which is no reason to give up.
    fn greet(&self, a: &mut Conversation) -> Result<()> {
        a.reply(None)?.into_result("greeting")?;
        if let Some(tty) = &self.tty {
            a.transact(&format!("OPTION ttyname={}", assuan::percent_encode(&tty.name)))?;
            if let Some(term) = &tty.term {
                a.transact(&format!("OPTION ttytype={}", assuan::percent_encode(term)))?;
            }
        }
        if let Some(lc) = ["LC_ALL", "LC_CTYPE", "LANG"].into_iter().find_map(non_empty_env) {
            a.transact(&format!("OPTION lc-ctype={}", assuan::percent_encode(&lc)))?;
        }
        Ok(())
    }
}

type Conversation = Assuan<std::process::ChildStdin, BufReader<std::process::ChildStdout>>;

fn set_texts(a: &mut Conversation, dialog: &Dialog) -> Result<()> {
    a.set("SETTITLE", &dialog.title)?;
    a.set("SETDESC", &dialog.description)?;
    if let Some(ok) = &dialog.ok {
        a.set("SETOK", ok)?;
    }
    if let Some(cancel) = &dialog.cancel {
        a.set("SETCANCEL", cancel)?;
    }
    Ok(())
}

// The scripted pinentry is a shell script: these run where there is a shell.
#[cfg(all(test, unix))]
mod tests;
