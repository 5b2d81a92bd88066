//! Independent peers accept the simulated cards: OpenSC (`pkcs11-tool`,
//! `pkcs15-tool`, `opensc-tool`), `yubico-piv-tool`, and the `openssl` command.

use mohur_card_sim::Profile;
use mohur_tests::*;
use std::fs;

const DATA: &[u8] = b"e-gov.az login: mohur test";

fn pkcs11_tool(card: &PluggedCard, args: &[&str]) -> (bool, String) {
    let mut all = vec!["--module", OPENSC_PKCS11, "--slot-description", &card.reader.name];
    all.extend_from_slice(args);
    run_tool("pkcs11-tool", &all)
}

/// Signs `DATA` with OpenSC and checks the signature with the `openssl` command
/// against the public key of the certificate the test PKI issued.
fn opensc_signs_and_openssl_verifies(card: &PluggedCard, id: &str, pin: &str, cert_pem: &std::path::Path, rsa: bool) {
    let dir = temp_dir("opensc-sign");
    let data = dir.join("data");
    fs::write(&data, DATA).unwrap();
    let sig = dir.join("sig");
    let (input, mech) = if rsa {
        (data.clone(), "SHA256-RSA-PKCS")
    } else {
        let hash = dir.join("hash");
        fs::write(&hash, openssl::sha::sha256(DATA)).unwrap();
        (hash, "ECDSA")
    };
    let mut args = vec!["--login", "--pin", pin, "--sign", "--id", id, "-m", mech];
    if !rsa {
        args.extend_from_slice(&["--signature-format", "openssl"]);
    }
    let (input_s, sig_s) = (input.display().to_string(), sig.display().to_string());
    args.extend_from_slice(&["-i", &input_s, "-o", &sig_s]);
    let (ok, out) = pkcs11_tool(card, &args);
    assert!(ok, "pkcs11-tool --sign failed:\n{out}");
    let pubkey = dir.join("pub.pem");
    let (ok, out) = run_tool(
        "openssl",
        &["x509", "-in", &cert_pem.display().to_string(), "-pubkey", "-noout", "-out", &pubkey.display().to_string()],
    );
    assert!(ok, "{out}");
    let (ok, out) = run_tool(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            &pubkey.display().to_string(),
            "-signature",
            &sig_s,
            &data.display().to_string(),
        ],
    );
    assert!(ok && out.contains("Verified OK"), "openssl rejects OpenSC's signature:\n{out}");
}

#[test]
fn opensc_reads_and_signs_with_the_piv_card() {
    let card = PluggedCard::profile(Profile::Piv);
    let (ok, out) = run_tool("opensc-tool", &["--reader", &card.reader.name, "--name"]);
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
    let (ok, out) = pkcs11_tool(&card, &["--list-slots"]);
    assert!(
        ok && out.contains("(PIN1)") && out.contains("(PIN2)"),
        "OpenSC did not take it for an AzeDIT/EstEID card:\n{out}"
    );
    let (ok, out) = pkcs11_tool(&card, &["--list-objects"]);
    assert!(ok, "{out}");
    assert!(out.matches("Certificate Object").count() >= 1, "{out}");
    let holder = holder_dir("azedit");
    opensc_signs_and_openssl_verifies(&card, "01", "1234", &holder.join("auth.pem"), false);
}

#[test]
fn opensc_reports_the_tries_left_after_a_wrong_pin() {
    for profile in [Profile::Piv, Profile::Azedit] {
        let card = PluggedCard::profile(profile);
        let wrong = if profile == Profile::Piv { "000000" } else { "0000" };
        let (ok, out) = pkcs11_tool(&card, &["--login", "--pin", wrong, "--list-objects"]);
        assert!(!ok && out.contains("CKR_PIN_INCORRECT"), "{profile:?}: {out}");
        let (ok, out) = run_tool("pkcs15-tool", &["--reader", &card.reader.name, "--list-pins"]);
        assert!(ok, "{out}");
        let tries: Vec<&str> = out.lines().filter(|l| l.contains("Tries left")).collect();
        assert!(tries.iter().any(|l| l.trim_end().ends_with('9')), "{profile:?}: OpenSC shows {tries:?}\n{out}");
    }
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
    assert!(!ok, "a wrong PIN was accepted:\n{out}");
}
