//! `mohur pin change | unblock | activate` typed by a person: the command runs in a real
//! terminal (a tmux pane), the terminal prompter asks without echo, and the keys are
//! typed with `tmux send-keys`. The card is then checked with the driver directly.

mod common;

use common::temp_dir;
use mohur_apdu::{Pin, PinKind, PinState};
use mohur_card_sim::Profile;
use mohur_tests::{card_state, PluggedCard};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server (its own socket) running one `mohur` command in a pane.
struct Pane {
    socket: String,
    exit_file: PathBuf,
}

impl Pane {
    /// Starts `mohur ARGS` in a 200×50 pane with HOME in `dir`, English, and neither a
    /// desktop nor `$MOHUR_PINENTRY`, so that the terminal prompter asks.
    fn start(dir: &Path, args: &[&str]) -> Pane {
        let socket = format!("mohur-cli-pin-{}-{}", std::process::id(), dir.file_name().unwrap().to_string_lossy());
        let exit_file = dir.join("exit-code");
        let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
        let script = format!(
            "env -u DISPLAY -u WAYLAND_DISPLAY -u MOHUR_PINENTRY -u MOHUR_CONFIG -u XDG_CONFIG_HOME \
             -u XDG_STATE_HOME HOME='{home}' MOHUR_LANG=en '{bin}' {args}; echo $? > '{exit}'; sleep 60",
            home = dir.display(),
            bin = env!("CARGO_BIN_EXE_mohur"),
            args = quoted.join(" "),
            exit = exit_file.display(),
        );
        let ok = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50", &script])
            .status()
            .expect("tmux");
        assert!(ok.success(), "tmux new-session failed");
        Pane { socket, exit_file }
    }

    /// The whole pane, history included.
    fn text(&self) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-S", "-500"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Dialogs shown so far: lines that end in the entry prompt.
    fn prompts(&self) -> usize {
        self.text().lines().filter(|l| l.trim_end().ends_with("PIN:") || l.trim_end().ends_with("PUK:")).count()
    }

    /// Waits for dialog number `n`, then types `keys` and Enter.
    fn answer(&self, n: usize, keys: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.prompts() < n {
            assert!(Instant::now() < deadline, "dialog {n} never came:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
        let ok = Command::new("tmux").args(["-L", &self.socket, "send-keys", "-l", keys]).status().unwrap();
        assert!(ok.success());
        let ok = Command::new("tmux").args(["-L", &self.socket, "send-keys", "Enter"]).status().unwrap();
        assert!(ok.success());
    }

    /// Waits for the text `needle` in the pane.
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.text().contains(needle) {
            assert!(Instant::now() < deadline, "{needle:?} never shown:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The command's exit code.
    fn exit_code(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(s) = std::fs::read_to_string(&self.exit_file) {
                if let Ok(code) = s.trim().parse() {
                    return code;
                }
            }
            assert!(Instant::now() < deadline, "the command did not end:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        // Only our own server, by its socket.
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

fn pin(s: &str) -> Pin {
    Pin::from_str_slice(s)
}

#[test]
fn change_typed_in_the_terminal_shows_tries_left_and_sets_the_new_pin() {
    let dir = temp_dir("cli-pin-change");
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.pin_tries = 3));
    assert!(card.open().verify_pin(PinKind::Auth, &pin("0000")).is_err());
    let pane = Pane::start(&dir, &["pin", "change", "--reader", &card.reader.name]);
    pane.answer(1, "1234");
    pane.answer(2, "4321");
    pane.answer(3, "4321");
    assert_eq!(pane.exit_code(), 0, "{}", pane.text());
    let text = pane.text();
    assert!(text.contains("Change the PIN1 (authentication) of the card in"), "{text}");
    assert!(text.contains("2 tries left"), "{text}");
    assert!(text.contains("Choose a new PIN") && text.contains("again"), "{text}");
    assert!(text.contains("was changed"), "{text}");
    // Nothing typed was echoed.
    assert!(!text.contains("4321"), "{text}");

    let mut c = card.open();
    c.verify_pin(PinKind::Auth, &pin("4321")).expect("the new PIN verifies");
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left, Some(3));
}

#[test]
fn a_blocked_pin_is_explained_then_unblocked_with_the_puk() {
    let dir = temp_dir("cli-pin-unblock");
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.pin_tries = 3));
    {
        let mut c = card.open();
        for _ in 0..3 {
            assert!(c.verify_pin(PinKind::Auth, &pin("0000")).is_err());
        }
        assert_eq!(c.pin_status(PinKind::Auth).unwrap().state, PinState::Blocked);
    }

    // `change` does not ask for a blocked PIN: it says why and exits BLOCKED.
    let pane = Pane::start(&dir, &["pin", "change", "--reader", &card.reader.name]);
    pane.wait_for("Press Enter");
    assert_eq!(pane.prompts(), 0, "{}", pane.text());
    assert!(pane.text().contains("is blocked"), "{}", pane.text());
    Command::new("tmux").args(["-L", &pane.socket, "send-keys", "Enter"]).status().unwrap();
    assert_eq!(pane.exit_code(), 5, "{}", pane.text());
    drop(pane);

    let dir = temp_dir("cli-pin-unblock-2");
    let pane = Pane::start(&dir, &["pin", "unblock", "--reader", &card.reader.name]);
    pane.answer(1, "12345678");
    pane.answer(2, "2468");
    pane.answer(3, "2468");
    assert_eq!(pane.exit_code(), 0, "{}", pane.text());
    let text = pane.text();
    assert!(text.contains("Enter the PUK") && text.contains("10 tries left"), "{text}");
    assert!(text.contains("was unblocked"), "{text}");

    let mut c = card.open();
    c.verify_pin(PinKind::Auth, &pin("2468")).expect("the new PIN verifies");
    assert_eq!(c.pin_status(PinKind::Auth).unwrap().tries_left, Some(3));
}

#[test]
fn activate_sets_both_pins_of_a_card_never_activated() {
    let dir = temp_dir("cli-pin-activate");
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.not_activated = true));
    // Not activated: the PIN does not verify (and costs no try).
    assert_eq!(card.open().verify_pin(PinKind::Auth, &pin("1234")), Err(mohur_apdu::Error::NotActivated));
    let pane = Pane::start(&dir, &["pin", "activate", "--reader", &card.reader.name]);
    // PIN1: PUK, new PIN twice; PIN2 the same.
    pane.answer(1, "12345678");
    pane.answer(2, "1357");
    pane.answer(3, "1357");
    pane.answer(4, "12345678");
    pane.answer(5, "97531");
    pane.answer(6, "97531");
    assert_eq!(pane.exit_code(), 0, "{}", pane.text());
    let text = pane.text();
    assert!(text.contains("Activate the card in") && text.contains("PIN envelope"), "{text}");
    assert!(text.contains("card is ready to use"), "{text}");

    let mut c = card.open();
    c.verify_pin(PinKind::Auth, &pin("1357")).expect("PIN1 verifies");
    c.verify_pin(PinKind::Signing, &pin("97531")).expect("PIN2 verifies");
}

#[test]
fn activate_a_piv_card_then_nothing_more_to_activate() {
    let dir = temp_dir("cli-pin-activate-piv");
    let card = PluggedCard::new(card_state(Profile::Piv, |o| o.not_activated = true));
    assert_eq!(card.open().pin_status(PinKind::Auth).unwrap().state, PinState::NotActivated);
    let pane = Pane::start(&dir, &["pin", "activate", "--reader", &card.reader.name]);
    pane.answer(1, "12345678");
    pane.answer(2, "246810");
    pane.answer(3, "246810");
    assert_eq!(pane.exit_code(), 0, "{}", pane.text());
    card.open().verify_pin(PinKind::Auth, &pin("246810")).expect("the PIN verifies");
    drop(pane);

    // A PIV card says it is active now: `activate` asks nothing and says so.
    let dir = temp_dir("cli-pin-activate-piv-2");
    let pane = Pane::start(&dir, &["pin", "activate", "--reader", &card.reader.name]);
    assert_eq!(pane.exit_code(), 0, "{}", pane.text());
    assert!(pane.text().contains("already activated"), "{}", pane.text());
    assert_eq!(pane.prompts(), 0);
}
