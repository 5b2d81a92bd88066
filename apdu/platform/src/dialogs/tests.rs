//! Against the scripted pinentry of `tests/fixtures/scripted-pinentry`: each test
//! has its own queue and log file, given to the child through [`Pinentry::env`], so
//! the tests run in parallel without touching the process environment.

use super::*;
use std::path::PathBuf;
use std::time::Instant;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/scripted-pinentry");

/// A queue and a log in a fresh directory.
struct Script {
    dir: PathBuf,
}

impl Script {
    fn new(name: &str, queue: &[&str]) -> Script {
        let dir = std::env::temp_dir().join(format!("mohur-pinentry-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("queue"), queue.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        Script { dir }
    }

    fn pinentry(&self) -> Pinentry {
        Pinentry::new(FIXTURE)
            .tty(None)
            .env("SCRIPTED_PINENTRY_QUEUE", self.dir.join("queue"))
            .env("SCRIPTED_PINENTRY_LOG", self.dir.join("log"))
            .env("SCRIPTED_PINENTRY_ANSWER", "")
    }

    /// The log without the `OPTION` lines (the locale comes from the environment).
    fn log(&self) -> Vec<String> {
        self.full_log().into_iter().filter(|l| !l.starts_with("OPTION ")).collect()
    }

    fn full_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    fn queue_left(&self) -> String {
        std::fs::read_to_string(self.dir.join("queue")).unwrap()
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pin_dialog() -> Dialog {
    Dialog {
        title: "mohur".into(),
        description: "Enter the PIN of the card of X.\n3 tries left.".into(),
        prompt: Some("PIN:".into()),
        error: Some("Too short".into()),
        ..Dialog::default()
    }
}

fn confirm_dialog() -> Dialog {
    Dialog {
        title: "Sign?".into(),
        description: "https://e-gov.az wants a signature.".into(),
        ok: Some("Sign".into()),
        cancel: Some("Refuse".into()),
        ..Dialog::default()
    }
}

#[test]
fn get_pin_sends_the_texts_and_returns_the_pin() {
    let s = Script::new("pin", &["pin 12%34 56"]);
    let pin = s.pinentry().get_pin(&pin_dialog()).unwrap();
    assert_eq!(pin.as_slice(), b"12%34 56");
    assert_eq!(
        s.log(),
        [
            "SETTITLE mohur",
            "SETDESC Enter the PIN of the card of X.|3 tries left.",
            "SETPROMPT PIN:",
            "SETERROR Too short",
            "GETPIN"
        ]
    );
    assert_eq!(s.queue_left(), "");
}

#[test]
fn a_closed_pin_dialog_is_cancelled() {
    let s = Script::new("pin-cancel", &["cancel"]);
    assert!(matches!(s.pinentry().get_pin(&pin_dialog()), Err(Error::Cancelled)));
}

#[test]
fn a_script_mismatch_is_a_failure_not_a_cancel() {
    let s = Script::new("mismatch", &["ok"]);
    match s.pinentry().get_pin(&pin_dialog()) {
        Err(Error::Failed(m)) => assert!(m.starts_with("GETPIN: ERR 83886340"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn confirm_is_true_on_ok_and_false_on_no() {
    let s = Script::new("confirm", &["ok", "no"]);
    assert!(s.pinentry().confirm(&confirm_dialog()).unwrap());
    assert!(!s.pinentry().confirm(&confirm_dialog()).unwrap());
    let log = s.log();
    assert_eq!(
        log[..5],
        ["SETTITLE Sign?", "SETDESC https://e-gov.az wants a signature.", "SETOK Sign", "SETCANCEL Refuse", "CONFIRM"]
    );
    assert_eq!(log.iter().filter(|l| *l == "CONFIRM").count(), 2);
}

#[test]
fn confirm_with_nothing_scripted_is_a_no() {
    let s = Script::new("confirm-empty", &[]);
    assert!(!s.pinentry().confirm(&confirm_dialog()).unwrap());
}

#[test]
fn message_has_one_button() {
    let s = Script::new("message", &["ok", "cancel"]);
    let d = Dialog { title: "mohur".into(), description: "The PIN is blocked.".into(), ..Dialog::default() };
    s.pinentry().message(&d).unwrap();
    assert!(matches!(s.pinentry().message(&d), Err(Error::Cancelled)));
    assert!(s.log().contains(&"CONFIRM --one-button".to_owned()), "{:?}", s.log());
}

#[test]
fn the_terminal_and_locale_are_passed_as_options() {
    let s = Script::new("tty", &["pin 1"]);
    let tty = Tty { name: "/dev/pts/7".into(), term: Some("xterm-256color".into()) };
    s.pinentry().tty(Some(tty)).env("LC_ALL", "").get_pin(&pin_dialog()).unwrap();
    let log = s.full_log();
    assert_eq!(log[..2], ["OPTION ttyname=/dev/pts/7", "OPTION ttytype=xterm-256color"]);
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let r = Pinentry::new("/nonexistent/pinentry").get_pin(&pin_dialog());
    assert!(matches!(r, Err(Error::Spawn { .. })), "{r:?}");
}

#[test]
fn cancel_from_another_thread_ends_a_hanging_dialog_promptly() {
    let s = Script::new("hang-cancel", &["hang"]);
    let canceller = Canceller::new();
    let c = canceller.clone();
    let log = s.dir.join("log");
    let t = std::thread::spawn(move || {
        // Cancel once the dialog is up (python may take a while to start).
        let up = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("GETPIN") && Instant::now() < up {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        c.cancel();
        Instant::now()
    });
    let r = s.pinentry().canceller(canceller.clone()).get_pin(&pin_dialog());
    let returned = Instant::now();
    let cancelled_at = t.join().unwrap();
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(returned.duration_since(cancelled_at) < Duration::from_secs(1));
    assert!(s.log().contains(&"GETPIN".to_owned()), "the dialog was up: {:?}", s.log());
    // Once cancelled, nothing more is shown.
    let before = s.log().len();
    assert!(matches!(s.pinentry().canceller(canceller).confirm(&confirm_dialog()), Err(Error::Cancelled)));
    assert_eq!(s.log().len(), before);
}

#[test]
fn an_unanswered_dialog_times_out() {
    let s = Script::new("hang-timeout", &["hang"]);
    let start = Instant::now();
    let r = s.pinentry().timeout(Duration::from_millis(400)).confirm(&confirm_dialog());
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_timeout_does_not_fire_on_an_answered_dialog() {
    let s = Script::new("no-timeout", &["pin 4321"]);
    let pin = s.pinentry().timeout(Duration::from_secs(30)).get_pin(&pin_dialog()).unwrap();
    assert_eq!(pin.as_slice(), b"4321");
}

#[test]
fn errors_never_show_the_secret() {
    // A pin line read by a CONFIRM: the script mismatch error must not echo it.
    let s = Script::new("no-leak", &["pin 918273"]);
    let e = s.pinentry().confirm(&confirm_dialog()).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("918273"), "{e:?}");
}
