//! No PC/SC service is not an error (issue 17): with pcscd not running, mohur's module
//! answers C_GetSlotList with CKR_OK and no slots (`pkcs11-tool -L`: "No slots"), and a
//! C_WaitForSlotEvent that waits meanwhile fires once a pcscd and a card come, without
//! reloading the module; the token is then listed.
//!
//! The tests share one pcscd, which must keep running: this test runs in a mount
//! namespace of its own (`unshare -m`, root as in CI) whose `/run/pcscd` is an empty
//! tmpfs — no service there — and starts a private pcscd in it, with one vpcd reader
//! on a port no other test uses.
#![cfg(target_os = "linux")]

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use mohur_card_sim::{Profile, SimCard, SimHandle, StateStore};
use mohur_tests::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child that runs inside the namespace.
const CHILD: &str = "MOHUR_TEST_NO_SERVICE_CHILD";
/// The private pcscd's vpcd port (the shared one uses 35963–35974).
const PORT: u16 = 36151;

#[test]
fn no_pcsc_service_is_no_slots_and_a_returning_service_fires_an_event() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    if !Path::new("/usr/bin/unshare").exists() || !am_root() {
        panic!("this test needs root and unshare(1) (util-linux), as in CI");
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(&exe)
        .args(["--exact", "no_pcsc_service_is_no_slots_and_a_returning_service_fires_an_event", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("CHILD DONE"), "{text}");
}

fn am_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(|v| v.split_whitespace().next() == Some("0"))))
        .unwrap_or(false)
}

/// Runs inside the mount namespace.
fn child() {
    let run = |cmd: &mut Command| {
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    run(Command::new("mount").args(["-t", "tmpfs", "tmpfs", "/run/pcscd"]));
    assert!(!Path::new("/run/pcscd/pcscd.comm").exists());
    let dir = temp_dir("no-service");
    std::env::set_var("MOHUR_PKCS11_CONF", dir.join("none.conf"));

    // No service: no slots, and no error.
    let p11 = Pkcs11::new(mohur_pkcs11_path()).expect("load module");
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize");
    assert_eq!(p11.get_all_slots().expect("C_GetSlotList without a service").len(), 0);
    assert_eq!(p11.get_slot_event().expect("a non-blocking C_WaitForSlotEvent"), None);
    let tool = Command::new("pkcs11-tool").arg("--module").arg(mohur_pkcs11_path()).arg("-L").output().unwrap();
    // (pkcs11-tool exits 1 when it lists no slot; what matters is that the module said
    // so with CKR_OK, not an error it would print.)
    let listed = format!("{}{}", String::from_utf8_lossy(&tool.stdout), String::from_utf8_lossy(&tool.stderr));
    assert!(listed.contains("No slots") && !listed.contains("CKR_"), "{listed}");

    // A C_WaitForSlotEvent waits; then the service and a card come.
    let p11 = std::sync::Arc::new(p11);
    let waiting = p11.clone();
    let waiter = std::thread::spawn(move || waiting.wait_for_slot_event());
    std::thread::sleep(Duration::from_millis(700));
    let conf = dir.join("reader.conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    let driver = dir.join(format!("libifdvpcd-{PORT}.so"));
    std::fs::copy("/usr/lib/pcsc/drivers/serial/libifdvpcd.so", &driver).unwrap();
    std::fs::write(
        conf.join("vpcd"),
        format!(
            "FRIENDLYNAME \"mohur private vpcd {PORT}\"\nDEVICENAME /dev/null:0x{PORT:X}\nLIBPATH {}\nCHANNELID 0x{PORT:X}\n",
            driver.display()
        ),
    )
    .unwrap();
    let mut pcscd = Command::new("pcscd")
        .args(["--foreground", "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("pcscd.log")).unwrap())
        .spawn()
        .expect("start pcscd");
    let t = Instant::now();
    while !Path::new("/run/pcscd/pcscd.comm").exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "the private pcscd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let card = SimCard::new(card_state(Profile::Azedit, |_| {}), StateStore::Memory).unwrap();
    let sim = SimHandle::spawn(card, PORT);
    assert!(sim.wait_connected(Duration::from_secs(10)), "the private vpcd did not take the card");
    let t = Instant::now();
    while !waiter.is_finished() {
        assert!(t.elapsed() < Duration::from_secs(30), "C_WaitForSlotEvent did not fire");
        std::thread::sleep(Duration::from_millis(50));
    }
    let slot = waiter.join().unwrap().expect("C_WaitForSlotEvent");
    let with_token = p11.get_slots_with_token().unwrap();
    assert_eq!(with_token, vec![slot]);
    assert_eq!(p11.get_token_info(slot).unwrap().label().trim_end(), "ALIYEVA LEYLA");
    drop(sim);
    let _ = pcscd.kill();
    let _ = pcscd.wait();
    println!("CHILD DONE");
}
