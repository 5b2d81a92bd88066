//! The tray's menu actions run the same code as the CLI and the WebSocket: each
//! action of the menu model, performed on an agent with an in-process simulated card
//! and a queue of dialog answers, changes the card (or the allowed sites, or the
//! autostart entry) as that code path does, and tells the citizen how it went.

use mohur_agent::agent::Agent;
use mohur_agent::config::Config;
use mohur_agent::dialogs::testing::{Answer, QueuePrompter, Shown};
use mohur_agent::dialogs::{ConfirmDialog, Prompter, SecretDialog};
use mohur_agent::i18n::{set_language, Lang};
use mohur_agent::tokens::card::CardToken;
use mohur_agent::tray::actions::{self, Hooks, Outcome};
use mohur_agent::tray::autostart::{Autostart, StartAtLogin};
use mohur_agent::tray::model::{self, Action, IconState, Pcsc};
use mohur_agent::tray::notify::Recorded;
use mohur_agent::{Cancel, Error};
use mohur_apdu::{Pin, PinKind, PinState};
use mohur_card_sim::{Profile, ProvisionOptions, SimCard, SimTransport, StateStore};
use std::sync::Arc;

/// The agent owns its prompter; the test keeps a handle to read what was shown.
struct Shared(Arc<QueuePrompter>);

impl Prompter for Shared {
    fn secret(&self, d: &SecretDialog, c: &Cancel) -> mohur_agent::Result<Pin> {
        self.0.secret(d, c)
    }
    fn confirm(&self, d: &ConfirmDialog, c: &Cancel) -> mohur_agent::Result<bool> {
        self.0.confirm(d, c)
    }
    fn message(&self, t: &str, d: &str, c: &Cancel) -> mohur_agent::Result<()> {
        self.0.message(t, d, c)
    }
}

struct Fixture {
    agent: Arc<Agent>,
    prompter: Arc<QueuePrompter>,
    token: String,
    hooks: Hooks,
    dir: std::path::PathBuf,
    calls: Arc<std::sync::Mutex<Vec<Vec<String>>>>,
    /// What the stand-in file chooser answers next.
    chosen: Arc<std::sync::Mutex<Option<std::path::PathBuf>>>,
}

fn fixture(profile: Profile, opts: impl FnOnce(&mut ProvisionOptions)) -> Fixture {
    set_language(Some(Lang::En));
    let dir = mohur_tests::temp_dir("tray-actions");
    let config = Config {
        pcsc: false,
        probe_well_known_modules: false,
        data_dir: Some(dir.join("data")),
        state_dir: Some(dir.join("state")),
        ..Config::default()
    };
    let prompter = Arc::new(QueuePrompter::new([]));
    let agent = Agent::new(config, Box::new(Shared(prompter.clone()))).unwrap();
    let card = SimCard::new(mohur_tests::card_state(profile, opts), StateStore::Memory).unwrap();
    let opened = mohur_apdu::open(Box::new(SimTransport::new(card))).unwrap();
    let slot = agent.manager.add(Box::new(CardToken::new(opened, "simulated")), None).unwrap();
    let calls: Arc<std::sync::Mutex<Vec<Vec<String>>>> = Arc::default();
    let record = calls.clone();
    let chosen: Arc<std::sync::Mutex<Option<std::path::PathBuf>>> = Arc::default();
    let choice = chosen.clone();
    let hooks = Hooks {
        diagnostics: Box::new(|| "everything checked".to_owned()),
        autostart: Some(StartAtLogin::Xdg(Autostart::under(
            &dir.join("config"),
            &dir.join("etc/xdg"),
            "/usr/bin/mohur".into(),
        ))),
        // A stand-in mohur-install: what `--dry-run --json` prints for a card whose chain
        // it learned (installer/tests/from_card.rs runs the real one against a card).
        installer: Box::new(move |args: &[String]| {
            record.lock().unwrap().push(args.to_vec());
            if args.iter().any(|a| a == "--dry-run") {
                Ok("learning…\n{\"learned\":[{\"subject\":\"CN=Root\",\"sha256\":\"AA:01\",\"root\":true},\
                    {\"subject\":\"CN=ICA\",\"sha256\":\"BB:02\",\"root\":false}]}\n"
                    .to_owned())
            } else {
                Ok("2 change(s)".to_owned())
            }
        }),
        // A stand-in for the platform's chooser (tray::file_chooser runs zenity,
        // kdialog or the Windows Open dialog): the file the test put there.
        choose_file: Box::new(move |_title: &str| Ok(choice.lock().unwrap().take())),
        ca_bundle: Some(mohur_tests::pki().bundle_pem.clone()),
    };
    Fixture { agent, prompter, token: slot.id.clone(), hooks, dir, calls, chosen }
}

impl Fixture {
    fn answer(&self, answers: &[&str]) {
        for a in answers {
            self.prompter.push(if *a == "ack" { Answer::Acknowledge } else { Answer::secret(a) });
        }
    }

    fn messages(&self) -> Vec<String> {
        self.prompter
            .shown()
            .into_iter()
            .filter_map(|s| match s {
                Shown::Message { description, .. } => Some(description),
                _ => None,
            })
            .collect()
    }

    fn menu(&self) -> model::Menu {
        model::menu(&mohur_agent::tray::snapshot(&self.agent, Pcsc::Off, None, &self.hooks))
    }

    /// The action the menu offers, enabled.
    fn offered(&self, wanted: &Action) -> Action {
        let menu = self.menu();
        let found = model::actions(&menu.items).into_iter().find(|a| *a == wanted).cloned();
        found.unwrap_or_else(|| panic!("{wanted:?} not offered: {menu:?}"))
    }

    fn pin_works(&self, kind: PinKind, pin: &str) -> bool {
        let slot = self.agent.manager.find(Some(&self.token), None).unwrap();
        let p = Pin::from_str_slice(pin);
        slot.with(|t| t.change_pin(kind, &p, &p)).is_ok()
    }
}

#[test]
fn change_pin_goes_through_the_pin_policy_and_the_card() {
    let f = fixture(Profile::Azedit, |_| {});
    let action = f.offered(&Action::ChangePin { token: f.token.clone(), kind: PinKind::Auth });
    f.answer(&["1234", "4321", "4321", "ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &action));
    assert_eq!(f.messages(), vec!["The PIN1 (log in) was changed.".to_owned()]);
    assert_eq!(f.prompter.remaining(), 0);
    assert!(f.pin_works(PinKind::Auth, "4321"));
    assert!(!f.pin_works(PinKind::Auth, "1234"));
    // The dialogs were the PIN policy's: old PIN with the tries left, new PIN twice.
    let secrets: Vec<SecretDialog> =
        f.prompter.shown().into_iter().filter_map(|s| if let Shown::Secret(d) = s { Some(d) } else { None }).collect();
    assert_eq!(secrets.len(), 3);
    assert!(secrets[0].description.contains("tries left"), "{:?}", secrets[0]);
}

#[test]
fn a_wrong_pin_is_reported_then_the_blocked_pin_is_unblocked_with_the_puk() {
    let f = fixture(Profile::Piv, |o| o.pin_tries = 1);
    let change = f.offered(&Action::ChangePin { token: f.token.clone(), kind: PinKind::Auth });
    f.answer(&["999999", "111111", "111111", "ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &change));
    let said = f.messages();
    assert_eq!(said.len(), 1);
    assert!(said[0].starts_with("That did not work:"), "{said:?}");
    // One try allowed: now blocked, and the menu says so.
    let menu = f.menu();
    assert_eq!(menu.icon, IconState::PinBlocked, "{menu:?}");
    let unblock = f.offered(&Action::UnblockPin { token: f.token.clone(), kind: PinKind::Auth });
    f.answer(&["12345678", "654321", "654321", "ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &unblock));
    assert_eq!(f.messages().last().unwrap(), "The PIN was set and can be used again.");
    assert_eq!(f.menu().icon, IconState::Ready);
    assert!(f.pin_works(PinKind::Auth, "654321"));
}

#[test]
fn a_new_card_is_activated_with_the_puk() {
    let f = fixture(Profile::Piv, |o| o.not_activated = true);
    let slot = f.agent.manager.find(Some(&f.token), None).unwrap();
    assert_eq!(slot.info().pins[0].state, PinState::NotActivated);
    let activate = f.offered(&Action::Activate { token: f.token.clone(), kind: PinKind::Auth });
    f.answer(&["12345678", "246810", "246810", "ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &activate));
    assert_ne!(slot.info().pins[0].state, PinState::NotActivated);
    assert!(f.pin_works(PinKind::Auth, "246810"));
}

#[test]
fn cancelling_the_dialog_says_nothing_more() {
    let f = fixture(Profile::Piv, |_| {});
    f.prompter.push(Answer::Cancel);
    let action = Action::ChangePin { token: f.token.clone(), kind: PinKind::Auth };
    assert!(matches!(actions::perform(&f.agent, &f.hooks, &action), Err(Error::UserCancelled)));
    f.prompter.push(Answer::Cancel);
    assert!(!actions::run(&f.agent, &f.hooks, &action));
    assert!(f.messages().is_empty());
}

#[test]
fn sites_diagnostics_autostart_and_quit() {
    let f = fixture(Profile::Piv, |_| {});
    // Allowed sites: revoked through the agent's own Origins.
    f.agent.origins.record("https://e-gov.az", true).unwrap();
    let revoke = f.offered(&Action::RevokeSite("https://e-gov.az".into()));
    f.answer(&["ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &revoke));
    assert!(f.agent.origins.remembered().is_empty());
    assert_eq!(
        f.messages(),
        vec!["https://e-gov.az may no longer use your card; it will have to ask again.".to_owned()]
    );
    assert!(!model::actions(&f.menu().items).contains(&&revoke));

    // Diagnostics: the report, in the agent's dialog.
    f.answer(&["ack"]);
    assert_eq!(actions::perform(&f.agent, &f.hooks, &Action::Diagnostics).unwrap(), Outcome::Quiet);
    assert!(
        f.prompter.shown().iter().any(|s| matches!(s,
        Shown::Message { title, description } if title == "mohur: diagnostics" && description == "everything checked"))
    );

    // Start at login, on and off.
    let entry = f.dir.join("config/autostart/mohur.desktop");
    let toggle = f.offered(&Action::ToggleAutostart);
    assert!(!actions::run(&f.agent, &f.hooks, &toggle));
    assert!(entry.exists());
    assert!(f.menu().items.iter().any(|i| matches!(i, model::Item::Check { checked: true, .. })));
    assert!(!actions::run(&f.agent, &f.hooks, &toggle));
    assert!(!entry.exists());

    assert!(actions::run(&f.agent, &f.hooks, &f.offered(&Action::Quit)));
}

/// "Install your card's certificate authorities…": mohur-install learns the chain, the
/// citizen sees every certificate with its SHA-256 in the agent's dialog, and exactly
/// those are installed; a "no" installs nothing.
#[test]
fn the_cards_certificate_authorities_are_installed_only_as_shown_and_confirmed() {
    let f = fixture(Profile::Azedit, |_| {});
    let action = Action::InstallCardCas { reader: "ACS ACR39U 00 00".into() };
    f.prompter.push(Answer::Confirm(true));
    f.answer(&["ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &action));
    let confirm = f
        .prompter
        .shown()
        .into_iter()
        .find_map(|s| match s {
            Shown::Confirm(d) => Some(d),
            _ => None,
        })
        .expect("a confirmation");
    assert_eq!(confirm.title, "mohur: certificate authorities");
    for want in ["CN=Root", "SHA-256 AA:01", "CN=ICA", "SHA-256 BB:02", "not for web sites"] {
        assert!(confirm.description.contains(want), "{want}: {}", confirm.description);
    }
    let calls = f.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].contains(&"--dry-run".to_owned()) && calls[0].contains(&"ACS ACR39U 00 00".to_owned()));
    let install = calls[1].join(" ");
    assert!(install.contains("--from-card --reader ACS ACR39U 00 00"), "{install}");
    assert!(install.contains("--expect-sha256 AA:01") && install.contains("--expect-sha256 BB:02"), "{install}");
    assert!(!install.contains("--dry-run"), "{install}");
    assert!(f.messages().iter().any(|m| m.contains("2 certificate authorities of your card are installed")));
    // No: nothing installed.
    f.calls.lock().unwrap().clear();
    f.prompter.push(Answer::Confirm(false));
    assert!(matches!(actions::perform(&f.agent, &f.hooks, &action), Err(Error::UserCancelled)));
    assert_eq!(f.calls.lock().unwrap().len(), 1, "only the dry run");
    // The simulated card of the demo is in no reader: no such item for it.
    assert!(!model::actions(&f.menu().items).iter().any(|a| matches!(a, Action::InstallCardCas { .. })));
}

/// The watcher: a first look shows the menu and announces the card that is there.
#[test]
fn the_watcher_shows_the_menu_and_notifies() {
    let f = fixture(Profile::Azedit, |_| {});
    let (_wake, rx) = std::sync::mpsc::channel();
    let notes = Recorded::default();
    let mut menus = Vec::new();
    mohur_agent::tray::watch(&f.agent, &f.hooks, rx, &notes, |m| {
        menus.push(m);
        false
    });
    assert_eq!(menus.len(), 1);
    assert_eq!(menus[0].icon, IconState::Ready);
    let notes = notes.0.lock().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].body, "The certificate of ALIYEVA LEYLA was read: the card is ready.");
}

#[test]
fn a_document_chosen_in_the_tray_is_signed_and_a_signature_chosen_is_checked() {
    let f = fixture(Profile::Azedit, |_| {});
    let sign = f.offered(&Action::SignDocument);
    let check = f.offered(&Action::CheckSignature);
    let pdf = f.dir.join("müqavilə.pdf");
    std::fs::write(&pdf, mohur_tests::pdf::document(3, "Contract", false)).unwrap();

    // Closing the chooser does nothing at all.
    assert!(!actions::run(&f.agent, &f.hooks, &sign));
    assert!(f.prompter.shown().is_empty());

    *f.chosen.lock().unwrap() = Some(pdf.clone());
    f.answer(&["12345", "ack"]);
    assert!(!actions::run(&f.agent, &f.hooks, &sign));
    let signed = f.dir.join("müqavilə.signed.pdf");
    assert!(signed.is_file(), "{:?}", f.messages());
    // The PIN dialog named the file and its pages; the result names the signed file.
    let shown = format!("{:?}", f.prompter.shown());
    assert!(shown.contains("müqavilə.pdf") && shown.contains("pages: 3"), "{shown}");
    assert!(f.messages().last().unwrap().contains("müqavilə.signed.pdf"), "{:?}", f.messages());
    // pyHanko, with the chain the simulated card's agent does not embed.
    let report = std::process::Command::new(mohur_tests::pyhanko())
        .args(["sign", "validate", "--no-revocation-check", "--trust-replace", "--trust"])
        .arg(&mohur_tests::pki().root_cert_pem)
        .arg("--other-certs")
        .arg(&mohur_tests::pki().chain_pem)
        .arg(&signed)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success() && text.contains(":INTACT:TRUSTED"), "{text}");

    // Check a signature: the report in a message, valid; a changed copy, not valid.
    *f.chosen.lock().unwrap() = Some(signed.clone());
    f.answer(&["ack"]);
    actions::run(&f.agent, &f.hooks, &check);
    let report = f.messages().last().unwrap().clone();
    assert!(report.contains("The signature is VALID.") && report.contains("ALIYEVA LEYLA"), "{report}");
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.windows(9).position(|w| w == b"Page 1 of").unwrap() + 5;
    bytes[at] = b'9';
    let forged = f.dir.join("forged.pdf");
    std::fs::write(&forged, bytes).unwrap();
    *f.chosen.lock().unwrap() = Some(forged);
    f.answer(&["ack"]);
    actions::run(&f.agent, &f.hooks, &check);
    let report = f.messages().last().unwrap().clone();
    assert!(report.contains("NOT valid"), "{report}");

    // A wrong PIN: said, one try spent, nothing written.
    *f.chosen.lock().unwrap() = Some(pdf.clone());
    f.answer(&["54321", "ack"]);
    actions::run(&f.agent, &f.hooks, &sign);
    assert!(f.messages().last().unwrap().contains("Wrong PIN"), "{:?}", f.messages());
    assert!(!f.dir.join("müqavilə.signed-2.pdf").exists());
}
