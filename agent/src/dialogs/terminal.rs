//! [`TerminalPrompter`]: the agent's dialogs on its controlling terminal, for a
//! citizen who runs `mohur` from a shell without a desktop.
//!
//! The terminal is `/dev/tty` (not stdin/stdout, which may be redirected). While a
//! dialog is up it is switched by `stty(1)` to no echo, no line editing, no signals,
//! and reads that return every tenth of a second (`-echo -icanon -isig min 0 time 1`),
//! and put back as it was afterwards. Why `stty` rather than a crate: it needs no
//! `unsafe` and no new dependency, and since we read the raw bytes ourselves the PIN
//! goes straight into a [`Zeroizing`] buffer (password-reading crates hand back a
//! plain `String`). The short reads let the dialog notice the request's [`Cancel`]
//! and its timeout within 100 ms, so cancelling is prompt here too.
//!
//! Keys: Enter ends the entry; Backspace erases; Ctrl-U clears; Ctrl-C, Ctrl-D and
//! Esc close the dialog (`UserCancelled`). A yes/no dialog takes one key: `y` is
//! yes, anything else no.

use super::{ConfirmDialog, Prompter, SecretDialog};
use crate::{Cancel, Error, Result};
use mohur_apdu::Pin;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Longest secret accepted (bytes); more is ignored, as no card PIN is that long.
const MAX_SECRET: usize = 128;

/// Dialogs on the controlling terminal.
#[derive(Debug)]
pub struct TerminalPrompter {
    tty: PathBuf,
    timeout: Option<Duration>,
    /// One dialog at a time: two on one terminal would read each other's keys.
    busy: Mutex<()>,
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        TerminalPrompter::new()
    }
}

impl TerminalPrompter {
    /// On `/dev/tty`, without a timeout.
    pub fn new() -> TerminalPrompter {
        TerminalPrompter { tty: PathBuf::from("/dev/tty"), timeout: None, busy: Mutex::new(()) }
    }

    /// A dialog left unanswered for `timeout` ends with [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> TerminalPrompter {
        self.timeout = Some(timeout);
        self
    }

    /// Opens the terminal in raw mode and runs `f`; another dialog in progress is
    /// [`Error::Busy`].
    fn with_tty<T>(&self, cancel: &Cancel, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        cancel.check()?;
        let _busy = self.busy.try_lock().map_err(|_| Error::Busy)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.tty)
            .map_err(|e| Error::NoPrompter(format!("cannot open {}: {e}", self.tty.display())))?;
        let mut raw = RawTty::enter(file)?;
        let mut session = Session { tty: &mut raw.file, cancel, deadline: self.timeout.map(|t| Instant::now() + t) };
        let r = f(&mut session);
        // A dialog ends on its own line, whatever happened.
        let _ = session.tty.write_all(b"\n");
        r
    }
}

/// The terminal in raw mode; dropping it restores the saved mode.
struct RawTty {
    file: File,
    saved: String,
}

impl RawTty {
    fn enter(file: File) -> Result<RawTty> {
        let saved = stty(&file, &["-g"])
            .map_err(|e| Error::NoPrompter(format!("not a terminal (stty -g: {e})")))?
            .trim()
            .to_owned();
        stty(&file, &["-echo", "-icanon", "-isig", "min", "0", "time", "1"])
            .map_err(|e| Error::Internal(format!("stty: {e}")))?;
        Ok(RawTty { file, saved })
    }
}

impl Drop for RawTty {
    fn drop(&mut self) {
        if let Err(e) = stty(&self.file, &[&self.saved]) {
            tracing::warn!(error = %e, "cannot restore the terminal mode");
        }
    }
}

/// Runs `stty args` on `tty` (its stdin), returning its output.
fn stty(tty: &File, args: &[&str]) -> std::io::Result<String> {
    let out = Command::new("stty").args(args).stdin(tty.try_clone()?).stderr(Stdio::piped()).output()?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(std::io::Error::other(msg));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One dialog on the raw terminal.
struct Session<'a> {
    tty: &'a mut File,
    cancel: &'a Cancel,
    deadline: Option<Instant>,
}

impl Session<'_> {
    fn say(&mut self, text: &str) -> Result<()> {
        self.tty.write_all(text.as_bytes()).and_then(|_| self.tty.flush()).map_err(Error::from)
    }

    /// Feeds the keys typed to `on_key` until it returns a result; checks the
    /// cancel flag and the deadline between reads (every 100 ms at most).
    fn keys<T>(&mut self, mut on_key: impl FnMut(u8) -> Option<Result<T>>) -> Result<T> {
        let mut buf = Zeroizing::new([0u8; 64]);
        let mut idle_fast = 0;
        loop {
            self.cancel.check()?;
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout);
            }
            let started = Instant::now();
            let n = self.tty.read(&mut buf[..])?;
            if n == 0 {
                // `time 1` makes an idle read last 100 ms; zeros at once mean a hangup.
                idle_fast = if started.elapsed() < Duration::from_millis(20) { idle_fast + 1 } else { 0 };
                if idle_fast > 50 {
                    return Err(Error::NoPrompter("the terminal went away".into()));
                }
                continue;
            }
            for &b in &buf[..n] {
                if let Some(r) = on_key(b) {
                    return r;
                }
            }
        }
    }
}

/// What a key did to a secret being typed.
#[derive(Debug, PartialEq, Eq)]
enum Edit {
    More,
    Done,
    Cancelled,
}

/// The secret being typed, with the little line editing a PIN needs.
#[derive(Default)]
struct SecretLine(Zeroizing<Vec<u8>>);

impl SecretLine {
    fn key(&mut self, b: u8) -> Edit {
        match b {
            b'\r' | b'\n' => Edit::Done,
            0x03 | 0x04 | 0x1b => Edit::Cancelled,
            0x7f | 0x08 => {
                // Erase one character: UTF-8 continuation bytes and their lead byte.
                while let Some(c) = self.0.pop() {
                    if c & 0xC0 != 0x80 {
                        break;
                    }
                }
                Edit::More
            }
            0x15 => {
                self.0.clear();
                Edit::More
            }
            b if b < 0x20 => Edit::More,
            b => {
                if self.0.len() < MAX_SECRET {
                    self.0.push(b);
                }
                Edit::More
            }
        }
    }
}

/// `text` without control characters (keeping newlines): a page's origin or a
/// document name must not be able to move the cursor or recolour the terminal.
fn printable(text: &str) -> String {
    text.chars().filter(|&c| c == '\n' || !c.is_control()).collect()
}

/// The heading of a dialog: title, then the description, indented.
fn heading(title: &str, description: &str) -> String {
    let mut s = format!("\n== {} ==\n", printable(title));
    for line in printable(description).lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

impl Prompter for TerminalPrompter {
    fn secret(&self, dialog: &SecretDialog, cancel: &Cancel) -> Result<Pin> {
        self.with_tty(cancel, |s| {
            let mut text = heading(&dialog.title, &dialog.description);
            if let Some(error) = &dialog.error {
                text.push_str(&format!("  ! {}\n", printable(error)));
            }
            if let Some(ok) = dialog.ok.as_deref().filter(|ok| !ok.is_empty()) {
                text.push_str(&format!("  [Enter] {}\n", printable(ok)));
            }
            let prompt = if dialog.prompt.is_empty() { "PIN:" } else { &dialog.prompt };
            text.push_str(&format!("{} ", printable(prompt)));
            s.say(&text)?;
            let mut line = SecretLine::default();
            s.keys(|b| match line.key(b) {
                Edit::More => None,
                Edit::Done => Some(Ok(())),
                Edit::Cancelled => Some(Err(Error::UserCancelled)),
            })?;
            Ok(Pin::new(std::mem::take(&mut *line.0)))
        })
    }

    fn confirm(&self, dialog: &ConfirmDialog, cancel: &Cancel) -> Result<bool> {
        self.with_tty(cancel, |s| {
            let ok = if dialog.ok.is_empty() { "Yes" } else { &dialog.ok };
            let no = if dialog.cancel.is_empty() { "No" } else { &dialog.cancel };
            let text = heading(&dialog.title, &dialog.description)
                + &format!("[y] {}  [N] {}? ", printable(ok), printable(no));
            s.say(&text)?;
            let yes = s.keys(|b| Some(Ok(matches!(b, b'y' | b'Y'))))?;
            s.say(if yes { "y" } else { "n" })?;
            Ok(yes)
        })
    }

    fn message(&self, title: &str, description: &str, cancel: &Cancel) -> Result<()> {
        self.with_tty(cancel, |s| {
            s.say(&(heading(title, description) + "Press Enter. "))?;
            s.keys(|_| Some(Ok(())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[u8]) -> (Vec<u8>, Edit) {
        let mut line = SecretLine::default();
        for &k in keys {
            match line.key(k) {
                Edit::More => {}
                end => return (line.0.to_vec(), end),
            }
        }
        (line.0.to_vec(), Edit::More)
    }

    #[test]
    fn enter_ends_the_secret_and_backspace_and_ctrl_u_edit_it() {
        assert_eq!(typed(b"1234\r"), (b"1234".to_vec(), Edit::Done));
        assert_eq!(typed(b"1235\x7f4\n"), (b"1234".to_vec(), Edit::Done));
        assert_eq!(typed(b"99\x15\x08\x081234\r"), (b"1234".to_vec(), Edit::Done));
        // One Backspace erases a whole character, not one of its UTF-8 bytes.
        assert_eq!(typed("12ə\x7f3\r".as_bytes()), (b"123".to_vec(), Edit::Done));
        // Other control keys are ignored.
        assert_eq!(typed(b"1\t2\x01\r"), (b"12".to_vec(), Edit::Done));
    }

    #[test]
    fn ctrl_c_ctrl_d_and_esc_cancel() {
        for key in [0x03, 0x04, 0x1b] {
            assert_eq!(typed(&[b'1', key, b'\r']).1, Edit::Cancelled);
        }
    }

    #[test]
    fn overlong_secrets_are_cut() {
        let mut keys = vec![b'7'; MAX_SECRET + 50];
        keys.push(b'\r');
        assert_eq!(typed(&keys).0.len(), MAX_SECRET);
    }

    #[test]
    fn dialog_texts_cannot_drive_the_terminal() {
        let h = heading("Sign\x1b[2J?", "https://evil.example\x1b]0;x\x07\nline two\r");
        assert!(!h.contains('\x1b') && !h.contains('\x07') && !h.contains('\r'), "{h:?}");
        assert!(h.contains("  line two\n"), "{h:?}");
    }

    /// In a pseudo-terminal made by `script(1)`, this test binary runs itself again
    /// (the child branch, `MOHUR_TERMINAL_TEST_CHILD` set): it asks for a PIN, a
    /// yes/no and a PIN that gets cancelled; the parent types the answers. The PIN
    /// must come back without ever being echoed, and the terminal mode restored.
    #[test]
    fn dialogs_in_a_pseudo_terminal() {
        if std::env::var_os("MOHUR_TERMINAL_TEST_CHILD").is_some() {
            return pty_child();
        }
        use std::process::Stdio;
        use std::sync::{Arc, Mutex};
        let exe = std::env::current_exe().unwrap();
        let cmd = format!(
            "'{}' --exact dialogs::terminal::tests::dialogs_in_a_pseudo_terminal --nocapture --test-threads=1",
            exe.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("MOHUR_TERMINAL_TEST_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script(1) from util-linux");
        let out = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().unwrap();
        let reader = {
            let out = out.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n @ 1..) = stdout.read(&mut buf) {
                    out.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
        };
        let wait_for = |needle: &str, count: usize| {
            let until = Instant::now() + Duration::from_secs(30);
            while out.lock().unwrap().matches(needle).count() < count {
                assert!(Instant::now() < until, "no {needle:?} in {:?}", out.lock().unwrap());
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let mut stdin = child.stdin.take().unwrap();
        wait_for("Card PIN: ", 1);
        stdin.write_all(b"Q\x7f98765\r").unwrap();
        wait_for("[N] Refuse? ", 1);
        stdin.write_all(b"y").unwrap();
        wait_for("DONE", 1);
        drop(stdin);
        let _ = child.wait();
        reader.join().unwrap();
        let out = out.lock().unwrap().clone();
        assert!(out.contains("READ=3938373635\r\n"), "{out:?}");
        assert!(!out.contains("98765"), "the PIN was echoed: {out:?}");
        assert!(out.contains("CONFIRM=true"), "{out:?}");
        assert!(out.contains("CANCELLED=true"), "{out:?}");
        assert!(out.contains("RESTORED=true"), "{out:?}");
    }

    /// The child side of [`dialogs_in_a_pseudo_terminal`].
    fn pty_child() {
        let saved = stty(&File::open("/dev/tty").unwrap(), &["-g"]).unwrap();
        let p = TerminalPrompter::new().timeout(Duration::from_secs(20));
        let d = SecretDialog {
            title: "mohur".into(),
            description: "d".into(),
            prompt: "Card PIN:".into(),
            error: None,
            ok: None,
        };
        let pin = p.secret(&d, &Cancel::new()).expect("secret");
        // In hex, so that the parent can tell an echo from this line.
        println!("READ={}", pin.as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>());
        let q =
            ConfirmDialog { title: "t".into(), description: "d".into(), ok: "Sign".into(), cancel: "Refuse".into() };
        println!("CONFIRM={}", p.confirm(&q, &Cancel::new()).expect("confirm"));
        let cancel = Cancel::new();
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            c.cancel();
        });
        let start = Instant::now();
        let r = p.secret(&d, &cancel);
        println!("CANCELLED={}", matches!(r, Err(Error::UserCancelled)) && start.elapsed() < Duration::from_secs(1));
        let now = stty(&File::open("/dev/tty").unwrap(), &["-g"]).unwrap();
        println!("RESTORED={}", now == saved);
        println!("DONE");
    }

    #[test]
    fn without_a_terminal_there_is_no_prompter() {
        // /dev/null opens but is no terminal: stty refuses it.
        let p = TerminalPrompter { tty: PathBuf::from("/dev/null"), timeout: None, busy: Mutex::new(()) };
        let r = p.confirm(
            &ConfirmDialog { title: "t".into(), description: "d".into(), ok: String::new(), cancel: String::new() },
            &Cancel::new(),
        );
        assert!(matches!(r, Err(Error::NoPrompter(_))), "{:?}", r.err());
    }
}
