//! Independent peers accept the simulated cards: OpenSC (`pkcs11-tool`,
//! `pkcs15-tool`, `opensc-tool`), `yubico-piv-tool`, and the `openssl` command.

use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;

const DATA: &[u8] = b"e-gov.az login: mohur test";

/// pkcs11-tool on the first slot of the card's reader, OpenSC seeing that reader only.
fn pkcs11_tool(card: &PluggedCard, args: &[&str]) -> (bool, String) {
    let mut all = vec!["--module", OPENSC_PKCS11, "--slot-description", &card.reader.name];
    all.extend_from_slice(args);
    run_tool_with(&card.reader.opensc_conf(), "pkcs11-tool", &all)
}

/// OpenSC's slot ids for this card's reader, with their token labels.
fn slots(card: &PluggedCard) -> Vec<(String, String)> {
    let (ok, out) =
        run_tool_with(&card.reader.opensc_conf(), "pkcs11-tool", &["--module", OPENSC_PKCS11, "--list-slots"]);
    assert!(ok, "{out}");
    let mut found = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        // "Slot 5 (0x14): mohur vpcd 35965 00 01" then "  token label        : …"
        let Some(rest) = line.strip_prefix("Slot ") else { continue };
        if !line.ends_with(&card.reader.name) {
            continue;
        }
        let id = rest.split(['(', ')']).nth(1).unwrap_or_default().to_string();
        let label =
            lines.peek().and_then(|l| l.split_once(": ")).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
        found.push((id, label));
    }
    found
}

/// Signs `DATA` with OpenSC and checks the signature with the `openssl` command
/// against the public key of the certificate the test PKI issued.
fn opensc_signs_and_openssl_verifies(card: &PluggedCard, id: &str, pin: &str, cert_pem: &std::path::Path, rsa: bool) {
    opensc_signs_in_slot(card, None, id, pin, cert_pem, rsa)
}

fn opensc_signs_in_slot(
    card: &PluggedCard,
    slot: Option<&str>,
    id: &str,
    pin: &str,
    cert_pem: &std::path::Path,
    rsa: bool,
) {
    let tool = match slot {
        Some(slot) => ["--module", OPENSC_PKCS11, "--slot", slot],
        None => ["--module", OPENSC_PKCS11, "--slot-description", card.reader.name.as_str()],
    };
    pkcs11_tool_signs_and_openssl_verifies(&card.reader.opensc_conf(), &tool, DATA, (id, pin), cert_pem, rsa);
}

#[test]
fn opensc_reads_and_signs_with_the_piv_card() {
    let card = PluggedCard::profile(Profile::Piv);
    let (ok, out) =
        run_tool_with(&card.reader.opensc_conf(), "opensc-tool", &["--reader", &card.reader.name, "--name"]);
    assert!(ok && out.contains("Personal Identity Verification Card"), "{out}");
    let (ok, out) = pkcs11_tool(&card, &["--list-objects"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("Certificate Object").count(), 2, "{out}");
    let holder = holder_dir("piv");
    opensc_signs_and_openssl_verifies(&card, "01", "123456", &holder.join("auth.pem"), true);
    opensc_signs_and_openssl_verifies(&card, "02", "123456", &holder.join("sign.pem"), false);
}

#[test]
fn opensc_reads_and_signs_with_the_azedit_card() {
    let card = PluggedCard::profile(Profile::Azedit);
    // OpenSC presents the card as two tokens, "<CN> (PIN1)" and "<CN> (PIN2)".
    let slots = slots(&card);
    let pin1 = slots.iter().find(|(_, l)| l.ends_with("(PIN1)")).unwrap_or_else(|| panic!("no PIN1 token: {slots:?}"));
    let pin2 = slots.iter().find(|(_, l)| l.ends_with("(PIN2)")).unwrap_or_else(|| panic!("no PIN2 token: {slots:?}"));
    assert!(pin1.1.starts_with("ALIYEVA LEYLA"), "{slots:?}");
    let mut certificates = 0;
    for (slot, _) in [pin1, pin2] {
        let args = ["--module", OPENSC_PKCS11, "--slot", slot, "--list-objects"];
        let (ok, out) = run_tool_with(&card.reader.opensc_conf(), "pkcs11-tool", &args);
        assert!(ok, "{out}");
        certificates += out.matches("Certificate Object").count();
    }
    assert_eq!(certificates, 2);
    let holder = holder_dir("azedit");
    opensc_signs_in_slot(&card, Some(&pin1.0), "01", "1234", &holder.join("auth.pem"), false);
    opensc_signs_in_slot(&card, Some(&pin2.0), "02", "12345", &holder.join("sign.pem"), false);
}

#[test]
fn opensc_reports_the_tries_left_after_a_wrong_pin() {
    // OpenSC 0.23's pkcs15-tool prints retry counters for the EstEID/AzeDIT
    // emulation (read from EF 0016) but not for PIV; yubico-piv-tool reports the
    // PIV counter below.
    let card = PluggedCard::profile(Profile::Azedit);
    let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", "0000", "--list-objects"]);
    assert!(!ok && out.contains("CKR_PIN_INCORRECT"), "{out}");
    let (ok, out) =
        run_tool_with(&card.reader.opensc_conf(), "pkcs15-tool", &["--reader", &card.reader.name, "--list-pins"]);
    assert!(ok, "{out}");
    let tries: Vec<&str> = out.lines().filter(|l| l.contains("Tries left")).map(str::trim).collect();
    assert_eq!(tries, ["Tries left     : 9", "Tries left     : 10", "Tries left     : 10"], "{out}");
}

#[test]
fn yubico_piv_tool_reads_the_certificate_and_verifies_the_pin() {
    let card = PluggedCard::profile(Profile::Piv);
    let (ok, out) = run_tool("yubico-piv-tool", &["--reader", &card.reader.name, "-a", "read-certificate", "-s", "9a"]);
    assert!(ok, "yubico-piv-tool read-certificate failed:\n{out}");
    let expected = fs::read_to_string(holder_dir("piv").join("auth.pem")).unwrap();
    let body = |pem: &str| pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
    assert!(body(&out).contains(&body(&expected)), "certificate differs:\n{out}");
    let (ok, out) = run_tool("yubico-piv-tool", &["--reader", &card.reader.name, "-a", "verify-pin", "-P", "123456"]);
    assert!(ok && out.contains("Successfully verified PIN"), "{out}");
    let (ok, out) = run_tool("yubico-piv-tool", &["--reader", &card.reader.name, "-a", "verify-pin", "-P", "000000"]);
    assert!(!ok && out.contains("9 tries left"), "a wrong PIN was accepted:\n{out}");
    let (_, out) = run_tool("yubico-piv-tool", &["--reader", &card.reader.name, "-a", "status"]);
    assert!(out.contains("PIN tries left:\t9"), "{out}");
}
