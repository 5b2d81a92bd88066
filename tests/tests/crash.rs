//! Killing the simulator right after a wrong PIN must not give the try back: the
//! counter is on disk before the card answers.

use mohur_apdu::{Error, Pin, PinKind};
use mohur_card_sim::{Profile, StateStore};
use mohur_tests::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start_sim(state: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mohur-tests-card-sim"))
        .args(["--state", &state.display().to_string(), "--port", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mohur-card-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("connected"), "simulator said {line:?}");
    child
}

#[test]
fn sigkill_after_a_wrong_pin_does_not_restore_the_try() {
    let reader = Reader::claim();
    let state_path = temp_dir("crash").join("card.json");
    StateStore::File(state_path.clone()).save(&card_state(Profile::Piv, |_| {})).unwrap();

    let mut sim = start_sim(&state_path, reader.port);
    assert!(reader.wait_card(true, Duration::from_secs(10)));
    let mut card = reader.open().unwrap();
    assert_eq!(card.verify_pin(PinKind::Auth, &Pin::from_str_slice("000000")), Err(Error::WrongPin { tries_left: 9 }));
    sim.kill().unwrap(); // SIGKILL, no chance to flush anything
    sim.wait().unwrap();
    assert!(reader.wait_card(false, Duration::from_secs(10)));

    let on_disk = StateStore::load(&state_path).unwrap();
    assert_eq!(on_disk.pin.left, 9);

    let mut sim = start_sim(&state_path, reader.port);
    assert!(reader.wait_card(true, Duration::from_secs(10)));
    let mut card = reader.open().unwrap();
    assert_eq!(card.pin_status(PinKind::Auth).unwrap().tries_left, Some(9));
    assert_eq!(card.verify_pin(PinKind::Auth, &Pin::from_str_slice("000000")), Err(Error::WrongPin { tries_left: 8 }));
    sim.kill().unwrap();
    sim.wait().unwrap();
}
