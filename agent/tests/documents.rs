//! Signed documents as a citizen makes them with `mohur sign`, checked by parties that
//! share no code with mohur: PAdES by pyHanko, CAdES by `openssl cms`, time-stamp tokens
//! by `openssl ts`, issued by a local TSA that is `openssl ts -reply`. A card behind the
//! real pcscd signs; the scripted pinentry types the PIN.

mod cms_support;
mod common;

use common::{cli as mohur, json, stderr, stdout, temp_dir};
use mohur_card_sim::Profile;
use mohur_tests::tsa::{Behaviour, LocalTsa};
use mohur_tests::{card_state, pki, PluggedCard};
use std::path::Path;
use std::process::{Command, Output};

const FAILURE: i32 = 1;
const INVALID: i32 = 7;
const TIMESTAMP: i32 = 10;
const SIGN_PIN: &str = "pin 12345\n";

/// pyHanko's judgement of every signature in `pdf`, trusting only the test root.
fn pyhanko_validate(pdf: &Path) -> Output {
    Command::new(mohur_tests::pyhanko())
        .args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace", "--trust"])
        .arg(&pki().root_cert_pem)
        .arg("--other-certs")
        .arg(&pki().chain_pem)
        .arg(pdf)
        .output()
        .expect("run pyhanko")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().expect("run openssl")
}

#[test]
fn a_pdf_signed_at_b_t_validates_in_pyhanko_and_a_second_signature_keeps_the_first() {
    let dir = temp_dir("pades");
    let card = PluggedCard::new(card_state(Profile::Azedit, |o| o.pin_tries = 3));
    let reader = card.reader.name.clone();
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    let chain = pki().chain_pem.to_str().unwrap();
    let original = mohur_tests::pdf::document(2, "Müqavilə № 7", false);
    let doc = dir.join("contract.pdf");
    std::fs::write(&doc, &original).unwrap();

    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let args = ["sign", doc.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain];
    let out = mohur(&dir, &[&args[..], &["--tsa", &tsa.url, "--reason", "Razıyam"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    let signed = dir.join("contract.signed.pdf");
    assert_eq!(v["signature"], signed.to_str().unwrap(), "{v}");
    assert_eq!((v["format"].as_str(), v["level"].as_str()), (Some("pades"), Some("B-T")), "{v}");
    assert_eq!(tsa.requests(), 1);
    // The dialog said what is signed: the file, its pages and title, its SHA-256.
    let log = std::fs::read_to_string(dir.join("pinentry.log")).unwrap();
    let sha: String = openssl::sha::sha256(&original).iter().map(|b| format!("{b:02x}")).collect();
    for want in ["contract.pdf", "pages: 2", "Müqavilə № 7", &format!("SHA-256 {sha}")] {
        assert!(log.contains(want), "{want:?} not in the dialog: {log}");
    }
    // The original is untouched; the signed file is it plus an incremental update.
    assert_eq!(std::fs::read(&doc).unwrap(), original);
    let bytes = std::fs::read(&signed).unwrap();
    assert!(bytes.starts_with(&original) && bytes.len() > original.len());

    let report = pyhanko_validate(&signed);
    let t = text(&report);
    assert!(report.status.success(), "pyhanko: {t}");
    assert_eq!(t.matches("The signature is judged VALID").count(), 1, "{t}");
    for want in [
        "Trust anchor: \"Common Name: mohur Test Root CA",
        "Signature timestamp token:",
        "The TSA certificate is trusted.",
    ] {
        assert!(t.contains(want), "{want:?} not in pyHanko's report: {t}");
    }

    // One byte of the signed document changed (a digit of the page text): pyHanko refuses it.
    let mut forged = bytes.clone();
    let at = forged.windows(9).position(|w| w == b"Page 1 of").unwrap() + 5;
    forged[at] = b'7';
    std::fs::write(dir.join("forged.pdf"), &forged).unwrap();
    let report = pyhanko_validate(&dir.join("forged.pdf"));
    assert!(!report.status.success() && !text(&report).contains("judged VALID"), "{}", text(&report));

    // A second signer (here the same citizen again) signs the signed file: both valid.
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(&dir, &["sign", signed.to_str().unwrap(), "--reader", &reader, "--tsa", &tsa.url], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let twice = dir.join("contract.signed.signed.pdf");
    let report = pyhanko_validate(&twice);
    let t = text(&report);
    assert!(report.status.success(), "pyhanko: {t}");
    assert_eq!(t.matches("The signature is judged VALID").count(), 2, "{t}");
    assert!(t.contains("Field 2: Signature2"), "{t}");
    // mohur's own check agrees: two signatures, both B-T, the first followed only by
    // the second.
    let bundle = pki().bundle_pem.to_str().unwrap();
    let out = mohur(&dir, &["verify", twice.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{v}");
    for (s, whole) in sigs.iter().zip([false, true]) {
        assert_eq!((s["valid"].as_bool(), s["level"].as_str()), (Some(true), Some("B-T")), "{s}");
        assert_eq!(s["coversWholeFile"], whole, "{s}");
        assert_eq!(s["timestamp"]["tsa"], "mohur Test Time-Stamping Authority", "{s}");
        assert!(s["changedAfter"].is_null(), "{s}");
    }
    assert_eq!(sigs[0]["reasonGiven"], "Razıyam");
    // The forged file, and the signed file checked against another root: not valid.
    let out = mohur(&dir, &["verify", dir.join("forged.pdf").to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(INVALID), "{}", stdout(&out));
    assert_eq!(json(&out)["signatures"][0]["why"], "altered", "{}", stdout(&out));
    let rogue = mohur_certs::generate(&dir.join("rogue")).unwrap();
    let out = mohur(
        &dir,
        &["verify", twice.to_str().unwrap(), "--json", "--ca-bundle", rogue.bundle_pem.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(INVALID), "{}", stdout(&out));
    assert_eq!(json(&out)["signatures"][0]["valid"], false);
    assert_eq!(json(&out)["signatures"][0]["why"], "untrusted-issuer", "{}", stdout(&out));

    // Signing the original again never overwrites the first result.
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(&dir, &["sign", doc.to_str().unwrap(), "--reader", &reader, "--level", "B"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(dir.join("contract.signed-2.pdf").is_file());
    assert_eq!(std::fs::read(&signed).unwrap(), bytes);
    assert_eq!(tsa.requests(), 2, "level B asks no TSA");
}

#[test]
fn a_pdf_with_a_cross_reference_stream_signs_at_b_b_and_validates() {
    let dir = temp_dir("pades-xref-stream");
    let card = PluggedCard::new(card_state(Profile::Piv, |_| {}));
    let reader = card.reader.name.clone();
    let doc = dir.join("ərizə.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Application", true)).unwrap();
    std::fs::write(dir.join("queue"), "pin 123456\n").unwrap();
    let chain = pki().chain_pem.to_str().unwrap();
    let out = mohur(&dir, &["sign", doc.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    // No TSA configured: B-B.
    assert_eq!((v["format"].as_str(), v["level"].as_str()), (Some("pades"), Some("B-B")), "{v}");
    let signed = dir.join("ərizə.signed.pdf");
    let report = pyhanko_validate(&signed);
    let t = text(&report);
    assert!(report.status.success(), "pyhanko: {t}");
    assert_eq!(t.matches("The signature is judged VALID").count(), 1, "{t}");
    assert!(!t.contains("Signature timestamp token"), "{t}");
    // The update continues the file's own form: a cross-reference stream.
    let update = &std::fs::read(&signed).unwrap()[std::fs::metadata(&doc).unwrap().len() as usize..];
    assert!(update.windows(10).any(|w| w == b"/Type/XRef"), "{}", String::from_utf8_lossy(update));
}

#[test]
fn a_pdf_that_cannot_be_signed_is_refused_before_the_pin_and_nothing_is_written() {
    let dir = temp_dir("pades-bad");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let good = mohur_tests::pdf::document(1, "x", false);
    let cases: [(&str, Vec<u8>); 3] = [
        // The header promises a PDF, the rest is not one.
        ("garbage.pdf", b"%PDF-1.7\nthis is not a PDF at all\n".to_vec()),
        // Cut in the middle: no cross-reference, no trailer.
        ("cut.pdf", good[..good.len() / 2].to_vec()),
        // An encrypted PDF's trailer.
        ("encrypted.pdf", {
            let s = String::from_utf8_lossy(&good)
                .replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>");
            s.into_bytes()
        }),
    ];
    for (name, bytes) in cases {
        let doc = dir.join(name);
        std::fs::write(&doc, &bytes).unwrap();
        let out = mohur(&dir, &["sign", doc.to_str().unwrap(), "--json", "--reader", &reader], &[]);
        assert_eq!(out.status.code(), Some(FAILURE), "{name}: {}{}", stdout(&out), stderr(&out));
        assert_eq!(json(&out)["error"]["code"], "BAD_DOCUMENT", "{name}");
        assert_eq!(std::fs::read(&doc).unwrap(), bytes, "{name}");
    }
    assert!(!dir.join("pinentry.log").exists(), "a PIN was asked for a file that cannot be signed");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 3, "{left:?}");
}

/// The signature time-stamp token of a CAdES signature (its one unsigned attribute
/// id-aa-signatureTimeStampToken) and the signature value it covers, from OpenSSL's dump.
fn token_and_signature_value(p7s: &Path, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::{Decode, Encode};
    let ci = ContentInfo::from_der(&std::fs::read(p7s).unwrap()).unwrap();
    let sd: SignedData = ci.content.decode_as().unwrap();
    let si = &sd.signer_infos.0.as_slice()[0];
    let attrs = si.unsigned_attrs.as_ref().expect("no unsigned attributes: no time-stamp");
    let tst =
        attrs.iter().find(|a| a.oid.to_string() == "1.2.840.113549.1.9.16.2.14").expect("no signatureTimeStampToken");
    let token = dir.join("token.der");
    std::fs::write(&token, tst.values.get(0).unwrap().to_der().unwrap()).unwrap();
    let value = dir.join("signature-value.bin");
    std::fs::write(&value, si.signature.as_bytes()).unwrap();
    (token, value)
}

#[test]
fn a_file_signed_at_b_t_verifies_with_openssl_cms_and_its_token_with_openssl_ts() {
    let dir = temp_dir("cades-t");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    let doc = dir.join("letter.txt");
    std::fs::write(&doc, b"Salam.\n").unwrap();
    // The TSA from the configuration this time.
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(dir.join(".config/mohur/agent.toml"), format!("tsa_urls = [\"{}\"]\n", tsa.url)).unwrap();
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let chain = pki().chain_pem.to_str().unwrap();
    let out = mohur(&dir, &["sign", doc.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    assert_eq!((v["format"].as_str(), v["level"].as_str()), (Some("cades"), Some("B-T")), "{v}");
    let p7s = dir.join("letter.txt.p7s");

    let root = pki().root_cert_pem.to_str().unwrap();
    let o = openssl(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p7s.to_str().unwrap(),
        "-CAfile",
        root,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]);
    assert!(o.status.success(), "openssl cms: {}", String::from_utf8_lossy(&o.stderr));

    let (token, value) = token_and_signature_value(&p7s, &dir);
    let o = openssl(&[
        "ts",
        "-verify",
        "-in",
        token.to_str().unwrap(),
        "-token_in",
        "-data",
        value.to_str().unwrap(),
        "-CAfile",
        root,
        "-untrusted",
        chain,
    ]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verification: OK"),
        "openssl ts: {}",
        text(&o)
    );
    // The token is over this signature's value and nothing else.
    std::fs::write(&value, b"another signature").unwrap();
    let o = openssl(&[
        "ts",
        "-verify",
        "-in",
        token.to_str().unwrap(),
        "-token_in",
        "-data",
        value.to_str().unwrap(),
        "-CAfile",
        root,
        "-untrusted",
        chain,
    ]);
    assert!(!o.status.success(), "openssl ts accepted the token for other data: {}", text(&o));
}

#[test]
fn a_tsa_that_is_down_refuses_or_lies_gives_a_typed_error_and_no_file() {
    let dir = temp_dir("tsa-fails");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let doc = dir.join("contract.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "x", false)).unwrap();
    let txt = dir.join("note.txt");
    std::fs::write(&txt, b"note\n").unwrap();

    // --level T without any TSA: said at once, no PIN asked.
    let out = mohur(&dir, &["sign", txt.to_str().unwrap(), "--json", "--reader", &reader, "--level", "T"], &[]);
    assert_eq!(out.status.code(), Some(TIMESTAMP), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["error"]["code"], "TIMESTAMP_FAILED");
    assert!(!dir.join("pinentry.log").exists());

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/tsa", l.local_addr().unwrap().port())
    };
    let reject = LocalTsa::start(&dir.join("reject"), Behaviour::Reject);
    let garbage = LocalTsa::start(&dir.join("garbage"), Behaviour::Garbage);
    let replay = LocalTsa::start(&dir.join("replay"), Behaviour::Replay);
    // The replaying TSA's first token is a good one, for another signature.
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(
        &dir,
        &[
            "sign",
            txt.to_str().unwrap(),
            "--reader",
            &reader,
            "--tsa",
            &replay.url,
            "--out",
            dir.join("first.p7s").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    for (url, why) in [
        (closed.as_str(), "did not answer"),
        (&reject.url, "refused"),
        (&garbage.url, "not a TimeStampResp"),
        (&replay.url, "imprint"),
    ] {
        for file in [&doc, &txt] {
            std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
            let before: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            let out = mohur(&dir, &["sign", file.to_str().unwrap(), "--reader", &reader, "--tsa", url], &[]);
            assert_eq!(out.status.code(), Some(TIMESTAMP), "{url}: {}{}", stdout(&out), stderr(&out));
            let e = stderr(&out);
            assert!(e.contains("nothing was written") && e.contains(why) && e.contains(url), "{url}: {e}");
            let after: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(before, after, "{url}: a file was written");
        }
    }
}

/// pyHanko's judgement of `pdf` trusting the roots of `roots` (PEM files).
fn pyhanko_validate_with(pdf: &Path, roots: &[&Path]) -> Output {
    let mut cmd = Command::new(mohur_tests::pyhanko());
    cmd.args(["sign", "validate", "--pretty-print", "--no-revocation-check", "--trust-replace"]);
    for r in roots {
        cmd.arg("--trust").arg(r);
    }
    cmd.arg(pdf).output().expect("run pyhanko")
}

#[tokio::test]
async fn a_portal_gets_two_pdfs_signed_at_b_t_under_one_confirmation() {
    use base64::Engine;
    use common::{call, code, AgentProc};
    use serde_json::json;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = temp_dir("portal-pades");
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    std::fs::create_dir_all(dir.join(".config/mohur")).unwrap();
    std::fs::write(dir.join(".config/mohur/agent.toml"), format!("tsa_urls = [\"{}\"]\n", tsa.url)).unwrap();
    let agent = AgentProc::demo(&dir, &[]);
    let origin = format!("http://localhost:{}", agent.portal_port.unwrap());
    let mut ws = agent.connect(&origin).await;
    let docs = [
        ("order.pdf", mohur_tests::pdf::document(3, "Order", false)),
        ("annex.pdf", mohur_tests::pdf::document(1, "Annex", true)),
    ];
    let documents: Vec<_> = docs.iter().map(|(n, d)| json!({"name": n, "document": b64.encode(d)})).collect();

    // What a portal must not get: a digest to sign "as a PDF", a detached PAdES, a PDF
    // that is not one (refused before any dialog).
    let bad = [
        json!({"format": "pades", "name": "x.pdf", "digest": b64.encode([0u8; 32]), "hashFunction": "SHA-256"}),
        json!({"format": "pades", "detached": true, "documents": documents}),
        json!({"format": "pades", "level": "LTV", "documents": documents}),
        json!({"format": "pades", "visiblePage": 0, "documents": documents}),
        json!({"format": "pades", "visiblePage": "2", "documents": documents}),
        json!({"format": "asice", "visiblePage": 1, "documents": documents}),
    ];
    for (i, params) in bad.into_iter().enumerate() {
        let r = call(&mut ws, 10 + i as u64, "sign-document", params).await;
        assert_eq!(code(&r), "BAD_REQUEST", "{r}");
    }
    let r = call(
        &mut ws,
        20,
        "sign-document",
        json!({"format": "pades", "name": "fake.pdf", "document": b64.encode(b"%PDF-1.7\nnot really")}),
    )
    .await;
    assert_eq!(code(&r), "BAD_DOCUMENT", "{r}");
    // A visible signature on page 2: the annex has only one page.
    let r =
        call(&mut ws, 21, "sign-document", json!({"format": "pades", "visiblePage": 2, "documents": documents})).await;
    assert_eq!(code(&r), "BAD_DOCUMENT", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("no page 2"), "{r}");
    assert!(!agent.pinentry_log().contains("GETPIN"), "{}", agent.pinentry_log());

    // Signed visibly on page 1 of each: the box is in each file's update.
    agent.queue(&["pin 12345"]);
    let r =
        call(&mut ws, 1, "sign-document", json!({"format": "pades", "visiblePage": 1, "documents": documents})).await;
    let sigs = r["result"]["signatures"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(sigs.len(), 2);
    // One dialog, naming both files with their pages and SHA-256, and the site.
    let log = agent.pinentry_log();
    assert_eq!(log.matches("GETPIN").count(), 1, "{log}");
    assert!(log.contains(&origin) && log.contains("pages: 3") && log.contains("pages: 1"), "{log}");
    assert_eq!(tsa.requests(), 2);
    let demo_root = common::pki(&agent.dir).join("root-ca.pem");
    for ((name, original), sig) in docs.iter().zip(sigs) {
        assert_eq!((sig["name"].as_str(), sig["level"].as_str()), (Some(*name), Some("B-T")), "{sig}");
        let sha: String = openssl::sha::sha256(original).iter().map(|b| format!("{b:02x}")).collect();
        assert!(log.contains(&sha), "{log}");
        let signed = b64.decode(sig["pdf"].as_str().unwrap()).unwrap();
        assert!(signed.starts_with(original));
        let update = String::from_utf8_lossy(&signed[original.len()..]);
        assert!(update.contains("/AP") && update.contains("+DejaVuSans"), "{name}: no visible box: {update}");
        let path = dir.join(name);
        std::fs::write(&path, &signed).unwrap();
        // The signer chains to the demo's root, the TSA to the tests' root.
        let report = pyhanko_validate_with(&path, &[&demo_root, &pki().root_cert_pem]);
        let t = text(&report);
        assert!(report.status.success() && t.contains("The signature is judged VALID"), "{name}: {t}");
        assert!(t.contains("The TSA certificate is trusted."), "{name}: {t}");
    }
}

/// An incremental update (ISO 32000-1 §7.5.6) that gives object `number` new content:
/// what a forger appends to change a signed page.
fn append_update(pdf: &[u8], number: u32, body: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let prev: usize = text.rsplit("startxref").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let size: usize = text
        .rsplit("/Size")
        .next()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap();
    let root = text.rsplit("/Root").next().unwrap().split('R').next().unwrap().trim().to_owned();
    let mut out = pdf.to_vec();
    let at = out.len();
    out.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
    let xref = out.len();
    out.extend_from_slice(format!("xref\n{number} 1\n{at:010} 00000 n\r\ntrailer\n<< /Size {size} /Root {root} R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

/// An incremental update that gives object `number` new content from inside a new
/// object stream (ISO 32000-1 §7.5.7), with a cross-reference stream (§7.5.8): the same
/// forgery as [`append_update`], written as modern writers write.
fn append_object_stream_update(pdf: &[u8], number: u32, body: &str) -> Vec<u8> {
    let prev = lopdf::Document::load_mem(pdf).unwrap();
    let text = String::from_utf8_lossy(pdf);
    let start: usize = text.rsplit("startxref").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let size = prev.trailer.get(b"Size").unwrap().as_i64().unwrap() as u32;
    let root = prev.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let (container, xref_id) = (size, size + 1);
    let mut out = pdf.to_vec();
    let header = format!("{number} 0 ");
    let at = out.len();
    out.extend_from_slice(
        format!(
            "{container} 0 obj\n<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n{header}{body}\nendstream\nendobj\n",
            header.len(),
            header.len() + body.len()
        )
        .as_bytes(),
    );
    let xref_at = out.len();
    // /W [1 4 2]: the changed object in the container, the container, this stream.
    let mut rows = Vec::new();
    for (kind, a, b) in [(2u8, container, 0u16), (1, at as u32, 0), (1, xref_at as u32, 0)] {
        rows.push(kind);
        rows.extend_from_slice(&a.to_be_bytes());
        rows.extend_from_slice(&b.to_be_bytes());
    }
    out.extend_from_slice(
        format!(
            "{xref_id} 0 obj\n<< /Type /XRef /Size {} /Root {} {} R /Prev {start} /Index [{number} 1 {container} 2] /W [1 4 2] /Length {} >>\nstream\n",
            xref_id + 1,
            root.0,
            root.1,
            rows.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&rows);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn a_pdf_written_with_object_streams_signs_and_a_change_hidden_in_a_new_object_stream_is_found() {
    let dir = temp_dir("pades-object-streams");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let chain = pki().chain_pem.to_str().unwrap();
    let bundle = pki().bundle_pem.to_str().unwrap();
    // lopdf rewrites a two-page PDF with its objects in object streams and a compressed
    // cross-reference stream, as PDF 1.5 writers do.
    let mut doc = lopdf::Document::load_mem(&mohur_tests::pdf::document(2, "Modern", false)).unwrap();
    let mut modern = Vec::new();
    doc.save_modern(&mut modern).unwrap();
    assert!(modern.windows(7).any(|w| w == b"/ObjStm"));
    let page = *doc.get_pages().get(&1).unwrap();
    let file = dir.join("modern.pdf");
    std::fs::write(&file, &modern).unwrap();

    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(
        &dir,
        &["sign", file.to_str().unwrap(), "--reader", &reader, "--ca-bundle", chain, "--visible", "2"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let signed = dir.join("modern.signed.pdf");
    let report = pyhanko_validate(&signed);
    assert!(text(&report).contains("The signature is judged VALID"), "{}", text(&report));
    let out = mohur(&dir, &["verify", signed.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    // A forger rewrites page 1 (its media box) inside a new object stream: mohur and
    // pyHanko both see the change after the signature.
    let body = format!(
        "<< /Type /Page /Parent {} 0 R /MediaBox [0 0 842 595] /Contents {} 0 R >>",
        doc.get_object(page).unwrap().as_dict().unwrap().get(b"Parent").unwrap().as_reference().unwrap().0,
        doc.get_object(page).unwrap().as_dict().unwrap().get(b"Contents").unwrap().as_reference().unwrap().0,
    );
    let forged = dir.join("forged.pdf");
    std::fs::write(&forged, append_object_stream_update(&std::fs::read(&signed).unwrap(), page.0, &body)).unwrap();
    let out = mohur(&dir, &["verify", forged.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(INVALID), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    let what = v["signatures"][0]["changedAfter"].as_str().unwrap_or_default().to_owned();
    assert!(what.contains(&format!("object {} 0", page.0)), "{v}");
    let report = pyhanko_validate(&forged);
    assert!(!text(&report).contains("judged VALID"), "{}", text(&report));
}

#[test]
fn mohur_verify_checks_pyhanko_signatures_and_pyhanko_countersigns_mohur() {
    let dir = temp_dir("verify-peers");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let holder = pki().dir.join("azedit");
    let chain = pki().chain_pem.to_str().unwrap();
    let bundle = pki().bundle_pem.to_str().unwrap();
    let doc = dir.join("form.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(2, "Form", false)).unwrap();
    let pyhanko_sign = |input: &Path, output: &Path, field: &str| {
        let o = Command::new(mohur_tests::pyhanko())
            .args(["sign", "addsig", "--field", field, "pemder", "--no-pass", "--key"])
            .arg(holder.join("sign.key.pem"))
            .arg("--cert")
            .arg(holder.join("sign.pem"))
            .args(["--chain", chain])
            .arg(input)
            .arg(output)
            .output()
            .unwrap();
        assert!(o.status.success(), "pyhanko sign: {}", text(&o));
    };

    // pyHanko signs; mohur checks it, then signs after it; both tools find both valid.
    let by_pyhanko = dir.join("by-pyhanko.pdf");
    pyhanko_sign(&doc, &by_pyhanko, "PyHanko1");
    let out = mohur(&dir, &["verify", by_pyhanko.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["signatures"][0]["level"], "B-B");
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(&dir, &["sign", by_pyhanko.to_str().unwrap(), "--reader", &reader, "--ca-bundle", chain], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let both = dir.join("by-pyhanko.signed.pdf");
    let report = pyhanko_validate(&both);
    assert_eq!(text(&report).matches("The signature is judged VALID").count(), 2, "{}", text(&report));
    let out = mohur(&dir, &["verify", both.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    // The reverse: mohur first, pyHanko after.
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let out = mohur(&dir, &["sign", doc.to_str().unwrap(), "--reader", &reader, "--ca-bundle", chain], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let by_mohur = dir.join("form.signed.pdf");
    let then_pyhanko = dir.join("then-pyhanko.pdf");
    pyhanko_sign(&by_mohur, &then_pyhanko, "PyHanko2");
    let report = pyhanko_validate(&then_pyhanko);
    assert_eq!(text(&report).matches("The signature is judged VALID").count(), 2, "{}", text(&report));
    let out = mohur(&dir, &["verify", then_pyhanko.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["signatures"].as_array().map(Vec::len), Some(2));

    // A forger appends an update that rewrites page 1's text: the signature is intact
    // over its revision, but the file was changed after it. pyHanko and mohur both say so.
    let signed = std::fs::read(&by_mohur).unwrap();
    let text_stream = "BT /F1 18 Tf 72 720 Td (I owe 1000000 AZN) Tj ET";
    let forged =
        append_update(&signed, 6, &format!("<< /Length {} >>\nstream\n{text_stream}\nendstream", text_stream.len()));
    let forged_path = dir.join("forged-update.pdf");
    std::fs::write(&forged_path, forged).unwrap();
    let out = mohur(&dir, &["verify", forged_path.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(INVALID), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    assert!(v["signatures"][0]["changedAfter"].as_str().is_some_and(|w| w.contains("object 6 0")), "{v}");
    let report = pyhanko_validate(&forged_path);
    assert!(!text(&report).contains("judged VALID"), "{}", text(&report));
    // The same in words, in Azerbaijani.
    let out = mohur(&dir, &["verify", forged_path.to_str().unwrap(), "--ca-bundle", bundle], &[("MOHUR_LANG", "az")]);
    let said = stdout(&out);
    assert!(said.contains("Ondan sonra fayl imzalama və forma doldurmadan başqa yolla DƏYİŞDİRİLİB."), "{said}");
    assert!(said.contains("(object 6 0"), "{said}");
}

#[test]
fn mohur_verify_reports_the_time_stamp_of_a_p7s_and_refuses_one_for_another_signature() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::{Decode, Encode};
    let dir = temp_dir("verify-cades-t");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    let chain = pki().chain_pem.to_str().unwrap();
    let bundle = pki().bundle_pem.to_str().unwrap();
    let mut p7s = Vec::new();
    for name in ["a.txt", "b.txt"] {
        std::fs::write(dir.join(name), name).unwrap();
        std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
        let f = dir.join(name);
        let out = mohur(
            &dir,
            &["sign", f.to_str().unwrap(), "--reader", &reader, "--ca-bundle", chain, "--tsa", &tsa.url],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        p7s.push(dir.join(format!("{name}.p7s")));
    }
    let out = mohur(&dir, &["verify", p7s[0].to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    assert_eq!(
        (v["level"].as_str(), v["timestamp"]["tsa"].as_str()),
        (Some("B-T"), Some("mohur Test Time-Stamping Authority")),
        "{v}"
    );

    // b's time-stamp grafted onto a: a genuine token, for another signature.
    let parse = |p: &Path| {
        let ci = ContentInfo::from_der(&std::fs::read(p).unwrap()).unwrap();
        let sd: SignedData = ci.content.decode_as().unwrap();
        (ci, sd)
    };
    let (mut ci, mut a) = parse(&p7s[0]);
    let (_, b) = parse(&p7s[1]);
    let mut si = a.signer_infos.0.as_slice()[0].clone();
    si.unsigned_attrs = b.signer_infos.0.as_slice()[0].unsigned_attrs.clone();
    a.signer_infos = cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(vec![si]).unwrap());
    ci.content = der::Any::encode_from(&a).unwrap();
    let grafted = dir.join("grafted.p7s");
    std::fs::write(&grafted, ci.to_der().unwrap()).unwrap();
    let out = mohur(&dir, &["verify", grafted.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(INVALID), "{}{}", stdout(&out), stderr(&out));
    assert!(json(&out)["reason"].as_str().unwrap().contains("imprint"), "{}", stdout(&out));
    assert_eq!(json(&out)["why"], "bad-timestamp", "{}", stdout(&out));
    // In Armenian: the reason in Armenian, the technical detail after it in brackets.
    let out = mohur(&dir, &["verify", grafted.to_str().unwrap(), "--ca-bundle", bundle], &[("MOHUR_LANG", "hy")]);
    let said = stdout(&out);
    let lines: Vec<&str> = said.lines().map(str::trim).collect();
    assert_eq!(
        lines[..2],
        ["Ստորագրությունը ՎԱՎԵՐ ՉԷ։", "Ժամանակի դրոշմը չի պատկանում այս ստորագրությանը, կամ դրան հնարավոր չէ վստահել։"],
        "{said}"
    );
    assert!(lines[2].starts_with('(') && lines[2].contains("imprint"), "{said}");
}

#[test]
fn a_certificate_that_expired_makes_a_signature_invalid_unless_a_time_stamp_proves_it_was_made_before() {
    use openssl::nid::Nid;
    // Its own PKI (cms_support's): a signing certificate from its E-Government CA that
    // expires a few seconds from now; pyHanko signs with its key file, once at B-B and
    // once at B-T (the local TSA of the same PKI).
    let ca = cms_support::pki();
    let dir = temp_dir("verify-expired");
    let tsa = LocalTsa::start_for(ca, &dir.join("tsa"), Behaviour::Grant);
    let (ica, ica_key) = cms_support::ica();
    let key = cms_support::ec_key(Nid::X9_62_PRIME256V1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let cert = cms_support::issue_cert_between("QISA MUDDET", &key, Some((&ica, &ica_key)), now - 3600, now + 6, false);
    let (key_pem, cert_pem) = (dir.join("key.pem"), dir.join("cert.pem"));
    std::fs::write(&key_pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_pem, cert.to_pem().unwrap()).unwrap();
    let doc = dir.join("note.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Note", false)).unwrap();
    let sign = |out: &Path, timestamp: bool| {
        let mut cmd = Command::new(mohur_tests::pyhanko());
        cmd.args(["sign", "addsig", "--field", "Sig1"]);
        if timestamp {
            cmd.args(["--timestamp-url", &tsa.url]);
        }
        let o = cmd
            .args(["pemder", "--no-pass", "--key"])
            .arg(&key_pem)
            .arg("--cert")
            .arg(&cert_pem)
            .arg("--chain")
            .arg(&ca.chain_pem)
            .arg(&doc)
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "pyhanko sign: {}", text(&o));
    };
    let (b_b, b_t) = (dir.join("b-b.pdf"), dir.join("b-t.pdf"));
    sign(&b_b, false);
    sign(&b_t, true);
    let expired_at = std::time::UNIX_EPOCH + std::time::Duration::from_secs((now + 7) as u64);
    if let Ok(wait) = expired_at.duration_since(std::time::SystemTime::now()) {
        std::thread::sleep(wait);
    }

    let bundle = ca.bundle_pem.to_str().unwrap();
    let verify = |pdf: &Path, lang: &str| {
        mohur(&dir, &["verify", pdf.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[("MOHUR_LANG", lang)])
    };
    // Without a time-stamp the certificate is judged now: expired, not valid.
    let out = verify(&b_b, "en");
    assert_eq!(out.status.code(), Some(INVALID), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    assert_eq!(v["signatures"][0]["why"], "expired", "{v}");
    assert!(v["signatures"][0]["reason"].as_str().unwrap().contains("has expired"), "{v}");
    // With one, at the time-stamp's time, when it was valid: B-T, valid.
    let out = verify(&b_t, "en");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["signatures"][0]["level"], "B-T", "{}", stdout(&out));
    // The citizen reads it in Azerbaijani, with the holder's name.
    let out = mohur(&dir, &["verify", b_b.to_str().unwrap(), "--ca-bundle", bundle], &[("MOHUR_LANG", "az")]);
    assert!(stdout(&out).contains("QISA MUDDET adına verilmiş sertifikatın müddəti"), "{}", stdout(&out));
}

/// Python's zipfile, an independent ZIP reader and writer: `script` runs with
/// `sys.argv[1:] = args`.
fn python(script: &str, args: &[&str]) -> Output {
    let o = Command::new("python3").arg("-c").arg(script).args(args).output().expect("run python3");
    assert!(o.status.success(), "python: {}", text(&o));
    o
}

#[test]
fn several_files_go_in_one_asic_e_container_that_openssl_checks_and_mohur_verifies() {
    let dir = temp_dir("asice");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let tsa = LocalTsa::start(&dir.join("tsa"), Behaviour::Grant);
    let chain = pki().chain_pem.to_str().unwrap();
    let bundle = pki().bundle_pem.to_str().unwrap();
    let root = pki().root_cert_pem.to_str().unwrap();
    let a = dir.join("letter.txt");
    let b = dir.join("ərizə.pdf");
    std::fs::write(&a, b"Salam.\n").unwrap();
    std::fs::write(&b, mohur_tests::pdf::document(1, "x", false)).unwrap();
    std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
    let args = ["sign", "--format", "asice", a.to_str().unwrap(), b.to_str().unwrap(), "--json", "--reader", &reader];
    let out = mohur(&dir, &[&args[..], &["--ca-bundle", chain, "--tsa", &tsa.url]].concat(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    let container = dir.join("letter.asice");
    assert_eq!(
        (v["signature"].as_str(), v["format"].as_str(), v["level"].as_str()),
        (container.to_str(), Some("asice"), Some("B-T")),
        "{v}"
    );
    // One dialog listing both files.
    let log = std::fs::read_to_string(dir.join("pinentry.log")).unwrap();
    assert!(log.contains("letter.txt") && log.contains("ərizə.pdf") && log.matches("GETPIN").count() == 1, "{log}");

    // Python's zipfile: mimetype first and stored, then the files and META-INF.
    let x = dir.join("x");
    let o = python(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\ni = z.infolist()\n\
         print(i[0].filename, i[0].compress_type == zipfile.ZIP_STORED, z.read('mimetype').decode())\n\
         print(' '.join(sorted(n.filename for n in i)))\nz.extractall(sys.argv[2])",
        &[container.to_str().unwrap(), x.to_str().unwrap()],
    );
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(listing.starts_with("mimetype True application/vnd.etsi.asic-e+zip\n"), "{listing}");
    assert!(
        listing.contains("META-INF/ASiCManifest.xml META-INF/signature001.p7s letter.txt mimetype ərizə.pdf"),
        "{listing}"
    );
    // OpenSSL checks the CAdES signature over the manifest; the manifest names each file
    // with its SHA-256.
    let manifest = x.join("META-INF/ASiCManifest.xml");
    let o = openssl(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        x.join("META-INF/signature001.p7s").to_str().unwrap(),
        "-content",
        manifest.to_str().unwrap(),
        "-CAfile",
        root,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]);
    assert!(o.status.success(), "openssl cms: {}", text(&o));
    let manifest_text = std::fs::read_to_string(&manifest).unwrap();
    for f in [&a, &b] {
        use base64::Engine;
        let sha = base64::engine::general_purpose::STANDARD.encode(openssl::sha::sha256(&std::fs::read(f).unwrap()));
        assert!(manifest_text.contains(&sha), "{manifest_text}");
    }
    assert!(manifest_text.contains("URI=\"%C9%99riz%C9%99.pdf\""), "{manifest_text}");

    let out = mohur(&dir, &["verify", container.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = json(&out);
    assert_eq!(v["signatures"][0]["level"], "B-T", "{v}");
    assert_eq!(v["documents"].as_array().unwrap().iter().filter(|d| d["signed"] == true).count(), 2, "{v}");

    // A document swapped in the container, or one added unsigned: not valid.
    let rewrite = "import sys, zipfile\nsrc = zipfile.ZipFile(sys.argv[1])\n\
        dst = zipfile.ZipFile(sys.argv[2], 'w')\n\
        for i in src.infolist():\n    data = src.read(i.filename)\n    if i.filename == sys.argv[3]: data = sys.argv[4].encode()\n    dst.writestr(i, data)\n\
        if sys.argv[5]: dst.writestr(sys.argv[5], b'unsigned')\ndst.close()";
    for (name, swap, extra, why, code, told) in [
        (
            "swapped.asice",
            "letter.txt",
            "",
            "digest differs",
            "altered",
            "İmzalanmış məlumatlar imzalandıqdan sonra DƏYİŞDİRİLİB",
        ),
        ("extra.asice", "", "added.txt", "no signature covers it", "unsigned", "Bu faylı heç bir imza əhatə etmir."),
    ] {
        let forged = dir.join(name);
        python(rewrite, &[container.to_str().unwrap(), forged.to_str().unwrap(), swap, "Salam, 1000 AZN.\n", extra]);
        let out = mohur(&dir, &["verify", forged.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
        assert_eq!(out.status.code(), Some(INVALID), "{name}: {}", stdout(&out));
        assert!(stdout(&out).contains(why), "{name}: {}", stdout(&out));
        let v = json(&out);
        let refused: Vec<_> = v["documents"].as_array().unwrap().iter().filter(|d| d["signed"] == false).collect();
        assert_eq!((refused.len(), refused[0]["why"].as_str()), (1, Some(code)), "{name}: {v}");
        // The report in Azerbaijani says why in Azerbaijani.
        let out = mohur(&dir, &["verify", forged.to_str().unwrap(), "--ca-bundle", bundle], &[("MOHUR_LANG", "az")]);
        assert!(stdout(&out).contains(told), "{name}: {}", stdout(&out));
    }
}

#[tokio::test]
async fn a_portal_gets_files_signed_together_in_an_asic_e_container() {
    use base64::Engine;
    use common::{call, code, AgentProc};
    use serde_json::json;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = temp_dir("portal-asice");
    let agent = AgentProc::demo(&dir, &[]);
    let origin = format!("http://localhost:{}", agent.portal_port.unwrap());
    let mut ws = agent.connect(&origin).await;
    let docs = [("contract.txt", b"I agree.".as_slice()), ("annex.txt", b"Details.".as_slice())];
    let documents: Vec<_> = docs.iter().map(|(n, d)| json!({"name": n, "document": b64.encode(d)})).collect();
    // A name that would escape the container: refused before any dialog.
    let r = call(
        &mut ws,
        1,
        "sign-document",
        json!({"format": "asice", "name": "../evil.txt", "document": b64.encode(b"x")}),
    )
    .await;
    assert_eq!(code(&r), "BAD_DOCUMENT", "{r}");
    assert!(!agent.pinentry_log().contains("GETPIN"));

    agent.queue(&["pin 12345"]);
    let params = json!({"format": "asice", "documents": documents, "containerName": "agreement.asice"});
    let r = call(&mut ws, 2, "sign-document", params).await;
    let sig = &r["result"]["signatures"][0];
    assert_eq!((sig["name"].as_str(), sig["level"].as_str()), (Some("agreement.asice"), Some("B-B")), "{r}");
    let log = agent.pinentry_log();
    assert!(log.matches("GETPIN").count() == 1 && log.contains("contract.txt") && log.contains("annex.txt"), "{log}");
    let container = dir.join("agreement.asice");
    std::fs::write(&container, b64.decode(sig["asice"].as_str().unwrap()).unwrap()).unwrap();
    // The demo's own root is the trust anchor; mohur verify and OpenSSL agree.
    let root = common::pki(&agent.dir).join("root-ca.pem");
    let out =
        mohur(&dir, &["verify", container.to_str().unwrap(), "--json", "--ca-bundle", root.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let x = dir.join("x");
    python(
        "import sys, zipfile\nzipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        &[container.to_str().unwrap(), x.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(x.join("contract.txt")).unwrap(), b"I agree.");
    let o = openssl(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        x.join("META-INF/signature001.p7s").to_str().unwrap(),
        "-content",
        x.join("META-INF/ASiCManifest.xml").to_str().unwrap(),
        "-CAfile",
        root.to_str().unwrap(),
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]);
    assert!(o.status.success(), "openssl cms: {}", text(&o));
}

/// pyHanko's validation of every signature in `pdf` with only what the document's DSS
/// carries (`DocumentSecurityStore.read_dss(...).as_validation_context`): trusting
/// `root`, nothing fetched, revocation checked hard (a certificate without revocation
/// data fails), for the signer and the time-stamp alike. One line per signature:
/// `field intact trusted bottom_line`.
fn pyhanko_ltv(pdf: &Path, root: &Path) -> Output {
    const SCRIPT: &str = "import sys\n\
        from pyhanko.keys import load_cert_from_pemder\n\
        from pyhanko.pdf_utils.reader import PdfFileReader\n\
        from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp\n\
        from pyhanko.sign.validation.dss import DocumentSecurityStore\n\
        root = load_cert_from_pemder(sys.argv[2])\n\
        with open(sys.argv[1], 'rb') as f:\n\
        \x20   r = PdfFileReader(f)\n\
        \x20   kw = {'trust_roots': [root], 'allow_fetching': False, 'revocation_mode': 'hard-fail'}\n\
        \x20   try:\n\
        \x20       vc = lambda: DocumentSecurityStore.read_dss(r).as_validation_context(kw)\n\
        \x20       vc()\n\
        \x20   except Exception as e:\n\
        \x20       print('no DSS:', e)\n\
        \x20       from pyhanko_certvalidator import ValidationContext\n\
        \x20       vc = lambda: ValidationContext(**kw)\n\
        \x20   for sig in r.embedded_signatures:\n\
        \x20       if sig.sig_object_type == '/DocTimeStamp':\n\
        \x20           s = validate_pdf_timestamp(sig, validation_context=vc())\n\
        \x20       else:\n\
        \x20           s = validate_pdf_signature(sig, signer_validation_context=vc(), ts_validation_context=vc())\n\
        \x20       print(sig.field_name, s.intact, s.trusted, getattr(s, 'bottom_line', s.valid))\n";
    let python = mohur_tests::pyhanko().with_file_name("python");
    Command::new(python).arg("-c").arg(SCRIPT).arg(pdf).arg(root).output().expect("run pyhanko's python")
}

/// Certificates (DER) a CA says are revoked.
type Revoked = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

/// A test PKI whose CAs publish CRLs (and, `with_ocsp`, whose E-Government CA runs an
/// OCSP responder) over loopback HTTP, an AzeDIT card of it behind pcscd, and a local
/// TSA: what B-LT signatures are made against. CRLs are made fresh when asked, the
/// E-Government CA's listing what the test puts in `crl_revoked`; the responder (`openssl
/// ocsp` answering from an index) says revoked for `ocsp_revoked`. Nothing answers while
/// `online` is false.
struct LtvWorld {
    dir: std::path::PathBuf,
    pki: mohur_certs::TestPki,
    azedit: std::path::PathBuf,
    reader: String,
    bundle: String,
    tsa: LocalTsa,
    server: mohur_tests::http::HttpServer,
    online: std::sync::Arc<std::sync::atomic::AtomicBool>,
    crl_revoked: Revoked,
    ocsp_revoked: Revoked,
    ocsp_asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _card: PluggedCard,
}

impl LtvWorld {
    fn start(name: &str, with_ocsp: bool) -> LtvWorld {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let dir = temp_dir(name);
        let pki_dir = dir.join("pki");
        let online = Arc::new(AtomicBool::new(true));
        let (crl_revoked, ocsp_revoked): (Revoked, Revoked) = Default::default();
        let ocsp_asked = Arc::new(AtomicUsize::new(0));
        let (srv_pki, scratch) = (pki_dir.clone(), dir.join("ocsp"));
        let (srv_online, srv_crl, srv_ocsp, srv_asked) =
            (online.clone(), crl_revoked.clone(), ocsp_revoked.clone(), ocsp_asked.clone());
        let server = mohur_tests::http::HttpServer::start(move |req| {
            if !srv_online.load(Ordering::SeqCst) {
                return None;
            }
            if req.path == "/ocsp" && req.method == "POST" {
                srv_asked.fetch_add(1, Ordering::SeqCst);
                let list: Vec<Vec<u8>> = srv_ocsp.lock().unwrap().clone();
                let answer = mohur_tests::ocsp::answer(&srv_pki, &scratch, &req.body, &list)?;
                return Some(("application/ocsp-response".to_owned(), answer));
            }
            let stem = req.path.strip_prefix("/crl/")?.strip_suffix(".crl")?;
            let list: Vec<Vec<u8>> = srv_crl.lock().unwrap().clone();
            let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
            let crl = mohur_certs::revocation_list(&srv_pki, stem, if stem == "ica" { &refs } else { &[] }).ok()?;
            Some(("application/pkix-crl".to_owned(), crl))
        });
        let opts = mohur_certs::Options {
            crl_base: Some(format!("{}/crl", server.url)),
            ocsp_url: with_ocsp.then(|| format!("{}/ocsp", server.url)),
            ..Default::default()
        };
        let pki = mohur_certs::generate_with(&pki_dir, &opts).unwrap();
        let azedit = pki.holder_dirs.iter().find(|d| d.ends_with("azedit")).unwrap().clone();
        let state =
            mohur_card_sim::provision(&azedit, &mohur_card_sim::ProvisionOptions::new(Profile::Azedit)).unwrap();
        let card = PluggedCard::new(state);
        let reader = card.reader.name.clone();
        let tsa = LocalTsa::start_for(&pki, &dir.join("tsa"), Behaviour::Grant);
        let bundle = pki.bundle_pem.to_str().unwrap().to_owned();
        LtvWorld {
            dir,
            pki,
            azedit,
            reader,
            bundle,
            tsa,
            server,
            online,
            crl_revoked,
            ocsp_revoked,
            ocsp_asked,
            _card: card,
        }
    }

    /// Whether the CRLs and the responder answer.
    fn set_online(&self, up: bool) {
        self.online.store(up, std::sync::atomic::Ordering::SeqCst);
    }

    /// The card's signing certificate (DER).
    fn signing_certificate(&self) -> Vec<u8> {
        std::fs::read(self.azedit.join("sign.der")).unwrap()
    }

    /// `mohur sign FILE --level LEVEL ARGS` with the card's signing PIN typed.
    fn sign(&self, file: &Path, level: &str, args: &[&str]) -> Output {
        std::fs::write(self.dir.join("queue"), SIGN_PIN).unwrap();
        let fixed = ["sign", file.to_str().unwrap(), "--json", "--level", level, "--reader", &self.reader];
        mohur(&self.dir, &[&fixed[..], &["--ca-bundle", &self.bundle, "--tsa", &self.tsa.url], args].concat(), &[])
    }

    /// `mohur verify FILE --json` (`--online`): exit code and report.
    fn verify(&self, file: &Path, online: bool) -> (Option<i32>, serde_json::Value) {
        let mut args = vec!["verify", file.to_str().unwrap(), "--json", "--ca-bundle", &self.bundle];
        if online {
            args.push("--online");
        }
        let out = mohur(&self.dir, &args, &[]);
        (out.status.code(), json(&out))
    }

    /// The names in the test's directory, to show that nothing was written.
    fn listing(&self) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    }
}

#[test]
fn a_pdf_signed_at_b_lt_carries_its_crls_and_validates_in_pyhanko_with_the_cas_off_line() {
    let w = LtvWorld::start("pades-lt", false);
    let doc = w.dir.join("contract.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Contract", false)).unwrap();

    let out = w.sign(&doc, "LT", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["level"], "B-LT");
    assert!(w.server.requests() >= 3, "the CRLs of the ICA, the PCA and the root were fetched");
    // The CAs go off-line: everything a verifier needs is in the file.
    w.set_online(false);
    let signed = w.dir.join("contract.signed.pdf");
    let report = pyhanko_ltv(&signed, &w.pki.root_cert_pem);
    let said = text(&report);
    assert!(report.status.success() && said.contains("Signature1 True True True"), "pyHanko LTV: {said}");
    let (code, v) = w.verify(&signed, false);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signatures"][0]["level"], "B-LT", "{v}");

    // B-LTA: and a document time-stamp over all of it. pyHanko checks the signature and
    // the document time-stamp with the DSS alone; mohur reports B-LTA.
    w.set_online(true);
    let out = w.sign(&doc, "LTA", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    w.set_online(false);
    let lta = w.dir.join("contract.signed-2.pdf");
    let report = pyhanko_ltv(&lta, &w.pki.root_cert_pem);
    let said = text(&report);
    assert!(said.contains("Signature1 True True True") && said.contains("Signature2 True True True"), "{said}");
    let (code, v) = w.verify(&lta, false);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signatures"][0]["level"], "B-LTA", "{v}");
    assert_eq!(v["signatures"][1]["kind"], "documentTimestamp", "{v}");
    // A byte of the document time-stamp's own range changed: it no longer verifies.
    let mut bytes = std::fs::read(&lta).unwrap();
    let at = bytes.windows(6).rposition(|w| w == b"/Certs").unwrap();
    bytes[at + 1] = b'D';
    let forged = w.dir.join("lta-forged.pdf");
    std::fs::write(&forged, bytes).unwrap();
    let (code, v) = w.verify(&forged, false);
    assert_eq!(code, Some(INVALID), "{v}");

    // A B-T file fails pyHanko's B-LT validation: the check above is not a formality.
    w.set_online(true);
    let out = w.sign(&doc, "T", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let report = pyhanko_ltv(&w.dir.join("contract.signed-3.pdf"), &w.pki.root_cert_pem);
    assert!(!text(&report).contains("Signature1 True True True"), "{}", text(&report));

    // The CRLs not to be had, or the signer's certificate revoked: exit 11, no file.
    for (up, revoke, why) in [(false, false, "could be had"), (true, true, "is revoked")] {
        w.set_online(up);
        if revoke {
            w.crl_revoked.lock().unwrap().push(w.signing_certificate());
        }
        let before = w.listing();
        let out = w.sign(&doc, "LT", &[]);
        assert_eq!(out.status.code(), Some(11), "{}{}", stdout(&out), stderr(&out));
        assert_eq!(json(&out)["error"]["code"], "VALIDATION_DATA_FAILED");
        assert!(json(&out)["error"]["message"].as_str().unwrap().contains(why), "{}", stdout(&out));
        assert_eq!(before, w.listing());
    }

    // mohur verify and revocation, the signing certificate now revoked at the CA: the B-T
    // file checked --online fetches the CRL and is refused; off-line its status is
    // unknown (said, not hidden); the B-LT file's own CRLs, from before, say good.
    let (code, v) = w.verify(&w.dir.join("contract.signed-3.pdf"), true);
    assert_eq!(code, Some(INVALID), "{v}");
    assert!(v["signatures"][0]["reason"].as_str().unwrap().contains("revoked"), "{v}");
    assert_eq!(v["signatures"][0]["why"], "revoked", "{v}");
    // Told in the citizen's language, with the holder's name; the detail after it.
    let b_t = w.dir.join("contract.signed-3.pdf");
    let args = ["verify", b_t.to_str().unwrap(), "--online", "--ca-bundle", &w.bundle];
    let said = stdout(&mohur(&w.dir, &args, &[("MOHUR_LANG", "az")]));
    let holder = v["signatures"][0]["reason"].as_str().unwrap().trim_start_matches("the certificate of ");
    let holder = holder.trim_end_matches(" was revoked");
    assert!(said.contains(&format!("{holder} adına verilmiş sertifikat LƏĞV EDİLİB.")), "{said}");
    assert!(said.contains("İmza etibarlı DEYİL."), "{said}");
    w.set_online(false);
    let (code, v) = w.verify(&w.dir.join("contract.signed-3.pdf"), false);
    assert_eq!((code, v["signatures"][0]["revocation"].as_str()), (Some(0), Some("unknown")), "{v}");
    let (code, v) = w.verify(&signed, false);
    assert_eq!((code, v["signatures"][0]["revocation"].as_str()), (Some(0), Some("good")), "{v}");
}

#[test]
fn a_pdf_signed_at_b_lt_carries_ocsp_answers_and_a_certificate_the_responder_revoked_is_refused() {
    use std::sync::atomic::Ordering;
    // The CAs' CRLs never list anything here: only the responder says "revoked".
    let w = LtvWorld::start("pades-lt-ocsp", true);
    let doc = w.dir.join("contract.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Contract", false)).unwrap();

    let out = w.sign(&doc, "LT", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["level"], "B-LT");
    // The signer's and the TSA's certificates were asked about.
    let asked = w.ocsp_asked.load(Ordering::SeqCst);
    assert!(asked >= 2, "OCSP requests: {asked}");
    let signed = w.dir.join("contract.signed.pdf");
    let bytes = std::fs::read(&signed).unwrap();
    assert!(bytes.windows(7).any(|w| w == b"/OCSPs "), "the DSS has no /OCSPs");
    // The responder and the CAs go off-line: pyHanko validates with the DSS alone, with
    // revocation checking hard-fail.
    w.set_online(false);
    let report = pyhanko_ltv(&signed, &w.pki.root_cert_pem);
    let said = text(&report);
    assert!(report.status.success() && said.contains("Signature1 True True True"), "pyHanko LTV: {said}");
    let (code, v) = w.verify(&signed, false);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["signatures"][0]["level"], "B-LT", "{v}");
    assert_eq!(v["signatures"][0]["revocation"], "good", "{v}");

    // A B-T file, then the responder says the signing certificate is revoked (the CRLs
    // still do not): B-LT is refused with no file, and the B-T file checked --online is
    // invalid; the B-LT file's own answer, from before, still says good.
    w.set_online(true);
    let out = w.sign(&doc, "T", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    w.ocsp_revoked.lock().unwrap().push(w.signing_certificate());
    let before = w.listing();
    let out = w.sign(&doc, "LT", &[]);
    assert_eq!(out.status.code(), Some(11), "{}{}", stdout(&out), stderr(&out));
    assert!(json(&out)["error"]["message"].as_str().unwrap().contains("is revoked"), "{}", stdout(&out));
    assert_eq!(before, w.listing());
    let (code, v) = w.verify(&w.dir.join("contract.signed-2.pdf"), true);
    assert_eq!(code, Some(INVALID), "{v}");
    assert!(v["signatures"][0]["reason"].as_str().unwrap().contains("revoked"), "{v}");
    assert_eq!(v["signatures"][0]["why"], "revoked", "{v}");
    w.set_online(false);
    let (code, v) = w.verify(&signed, false);
    assert_eq!((code, v["signatures"][0]["revocation"].as_str()), (Some(0), Some("good")), "{v}");
}

#[test]
fn the_configuration_says_where_revocation_data_come_from_and_whether_verify_fetches_them() {
    use std::sync::atomic::Ordering;
    let w = LtvWorld::start("revocation-config", true);
    let doc = w.dir.join("letter.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Letter", false)).unwrap();
    let config = |name: &str, text: &str| {
        let p = w.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };

    // CRLs only: the responder is never asked, and the PDF is B-LT with CRLs alone.
    let crl_only = config("crl-only.toml", "revocation_sources = [\"crl\"]\n");
    let asked = w.ocsp_asked.load(Ordering::SeqCst);
    let out = w.sign(&doc, "LT", &["--config", &crl_only]);
    assert_eq!((out.status.code(), json(&out)["level"].as_str()), (Some(0), Some("B-LT")), "{}", stdout(&out));
    assert_eq!(w.ocsp_asked.load(Ordering::SeqCst), asked, "the responder was asked");
    let bytes = std::fs::read(w.dir.join("letter.signed.pdf")).unwrap();
    assert!(bytes.windows(6).any(|w| w == b"/CRLs ") && !bytes.windows(7).any(|w| w == b"/OCSPs "));

    // Neither: B-LT is refused before the PIN is asked, nothing written.
    let neither = config("neither.toml", "revocation_sources = []\n");
    let before = w.listing();
    let out = w.sign(&doc, "LT", &["--config", &neither]);
    assert_eq!(out.status.code(), Some(11), "{}{}", stdout(&out), stderr(&out));
    assert!(json(&out)["error"]["message"].as_str().unwrap().contains("revocation_sources"), "{}", stdout(&out));
    assert_eq!(before, w.listing());

    // verify_online: mohur verify asks without --online, and --offline overrides it.
    let out = w.sign(&doc, "T", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let b_t = w.dir.join("letter.signed-2.pdf");
    w.ocsp_revoked.lock().unwrap().push(w.signing_certificate());
    let online = config("online.toml", "verify_online = true\n");
    let verify = |more: &[&str]| {
        let args = ["verify", b_t.to_str().unwrap(), "--json", "--ca-bundle", &w.bundle, "--config", &online];
        let out = mohur(&w.dir, &[&args[..], more].concat(), &[]);
        (out.status.code(), json(&out))
    };
    let (code, v) = verify(&[]);
    assert_eq!((code, v["signatures"][0]["why"].as_str()), (Some(INVALID), Some("revoked")), "{v}");
    let (code, v) = verify(&["--offline"]);
    assert_eq!((code, v["signatures"][0]["revocation"].as_str()), (Some(0), Some("unknown")), "{v}");
}

#[test]
fn a_file_signed_at_b_lt_carries_ocsp_answers_and_crls_in_its_signed_data_that_openssl_reads() {
    use std::sync::atomic::Ordering;
    let w = LtvWorld::start("cades-lt", true);
    let doc = w.dir.join("contract.txt");
    std::fs::write(&doc, "I agree.\n").unwrap();

    let out = w.sign(&doc, "LT", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let said = json(&out);
    assert_eq!((said["format"].as_str(), said["level"].as_str()), (Some("cades"), Some("B-LT")), "{said}");
    assert!(w.ocsp_asked.load(Ordering::SeqCst) >= 2, "the signer's and the TSA's certificates were asked about");
    let p7s = w.dir.join("contract.txt.p7s");
    // OpenSSL, off-line, reads the signed data: the signature checks against the test
    // root, and the revocation data are there, the OCSP answers as RFC 5940's format.
    w.set_online(false);
    let root = w.pki.root_cert_pem.to_str().unwrap();
    let checked = openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        p7s.to_str().unwrap(),
        "-CAfile",
        root,
        "-out",
        "/dev/null",
    ]);
    assert!(checked.status.success(), "openssl cms -verify: {}", text(&checked));
    let printed = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s.to_str().unwrap()]);
    let printed = text(&printed);
    assert!(printed.contains("1.3.6.1.5.5.7.16.2") || printed.contains("ocsp"), "no OCSP answer in crls: {printed}");
    assert!(printed.contains("version: 5"), "signed data with an other revocation choice is version 5: {printed}");
    // mohur verify, off-line: B-LT from what the file carries.
    let (code, v) = w.verify(&p7s, false);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!((v["level"].as_str(), v["revocation"].as_str()), (Some("B-LT"), Some("good")), "{v}");

    // In an ASiC-E container the signature is the same CAdES: B-LT too.
    w.set_online(true);
    let out = w.sign(&doc, "LT", &["--format", "asice"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["level"], "B-LT");
    w.set_online(false);
    let (code, v) = w.verify(&w.dir.join("contract.asice"), false);
    assert_eq!(code, Some(0), "{v}");
    let signature = &v["signatures"][0];
    assert_eq!((signature["level"].as_str(), signature["revocation"].as_str()), (Some("B-LT"), Some("good")), "{v}");
    w.set_online(true);
    // LTA is a PDF's (a document time-stamp): refused before the PIN, nothing written.
    let before = w.listing();
    let out = w.sign(&doc, "LTA", &[]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(before, w.listing());

    // The responder says the signing certificate is revoked: B-LT is refused, no file;
    // the B-T file checked --online is invalid; the B-LT file's own answer says good.
    let out = w.sign(&doc, "T", &["--out", w.dir.join("t.p7s").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    w.ocsp_revoked.lock().unwrap().push(w.signing_certificate());
    let before = w.listing();
    let out = w.sign(&doc, "LT", &["--out", w.dir.join("lt-2.p7s").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(11), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(before, w.listing());
    let (code, v) = w.verify(&w.dir.join("t.p7s"), true);
    assert_eq!(code, Some(INVALID), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("revoked"), "{v}");
    w.set_online(false);
    let (code, v) = w.verify(&p7s, false);
    assert_eq!((code, v["revocation"].as_str()), (Some(0), Some("good")), "{v}");
}

/// `pdftoppm` (poppler, scripts/deps.sh) draws `page` of `pdf` as a PNG at 72 dpi.
fn draw_page(pdf: &Path, page: u32, png_stem: &Path) -> std::path::PathBuf {
    let p = page.to_string();
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "72", "-singlefile", "-f", &p, "-l", &p])
        .arg(pdf)
        .arg(png_stem)
        .output()
        .expect("run pdftoppm (poppler-utils: scripts/deps.sh)");
    assert!(out.status.success(), "pdftoppm: {}", text(&out));
    png_stem.with_extension("png")
}

#[test]
fn a_visible_signature_shows_the_signer_time_and_reason_in_azerbaijani_on_the_chosen_page() {
    let dir = temp_dir("pades-visible");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let chain = pki().chain_pem.to_str().unwrap();
    let doc = dir.join("contract.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(2, "Müqavilə", false)).unwrap();
    let sign = |page: &str| {
        std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
        let args = ["sign", doc.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain];
        let visible = ["--visible", page, "--reason", "Şərtlərlə razıyam"];
        mohur(&dir, &[&args[..], &visible[..]].concat(), &[("MOHUR_LANG", "az")])
    };

    // A page the document does not have: refused before the PIN, nothing written.
    let out = sign("3");
    assert_eq!(out.status.code(), Some(FAILURE), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["error"]["code"], "BAD_DOCUMENT", "{}", stdout(&out));
    assert!(!dir.join("pinentry.log").exists() && !dir.join("contract.signed.pdf").exists());

    let out = sign("2");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let signed = dir.join("contract.signed.pdf");
    let report = pyhanko_validate(&signed);
    let t = text(&report);
    assert!(report.status.success() && t.contains("The signature is judged VALID"), "pyhanko: {t}");
    // The font is in the file, a subset, with a ToUnicode map (poppler's pdffonts).
    let fonts = Command::new("pdffonts").arg(&signed).output().expect("pdffonts");
    let fonts = text(&fonts);
    let line = fonts.lines().find(|l| l.contains("DejaVuSans")).unwrap_or_else(|| panic!("no DejaVuSans: {fonts}"));
    // name, type, encoding, then embedded, subset, ToUnicode.
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(line.contains("CID TrueType") && words.windows(3).any(|w| w == ["yes", "yes", "yes"]), "{fonts}");
    // As a person sees it: page 2 has the box (its pixels differ from the unsigned page's),
    // page 1 is as it was. The pictures stay in the test's directory.
    let unsigned2 = draw_page(&doc, 2, &dir.join("unsigned-2"));
    let signed2 = draw_page(&signed, 2, &dir.join("signed-2"));
    let boxed = mohur_tests::pixels_differing(&unsigned2, &signed2);
    assert!(boxed > 2_000, "only {boxed} pixels of page 2 changed: {}", signed2.display());
    let (unsigned1, signed1) =
        (draw_page(&doc, 1, &dir.join("unsigned-1")), draw_page(&signed, 1, &dir.join("signed-1")));
    assert_eq!(mohur_tests::pixels_differing(&unsigned1, &signed1), 0, "page 1 changed");
    // The box's words, as its ToUnicode map gives them back, in Azerbaijani.
    let bytes = std::fs::read(&signed).unwrap();
    let cmap = String::from_utf8_lossy(&bytes);
    for c in ['Ş', 'ə', 'ı'] {
        let hex: String = c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("<{u:04X}>")).collect();
        assert!(cmap.contains(&hex), "{c} is not in the ToUnicode map");
    }
    let bundle = pki().bundle_pem.to_str().unwrap();
    let out = mohur(&dir, &["verify", signed.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
}

/// ImageMagick: the region where two drawings of a page differ, `(x, y, width, height)`
/// from the picture's top left.
fn differing_region(a: &Path, b: &Path) -> (u32, u32, u32, u32) {
    let out = Command::new("convert")
        .arg(a)
        .arg(b)
        .args(["-compose", "difference", "-composite", "-threshold", "1%", "-trim", "-format", "%w %h %X %Y", "info:"])
        .output()
        .expect("convert (ImageMagick)");
    let said = text(&out);
    let n: Vec<u32> = said.split_whitespace().filter_map(|w| w.trim_start_matches('+').parse().ok()).collect();
    match n[..] {
        [w, h, x, y] => (x, y, w, h),
        _ => panic!("convert: {said}"),
    }
}

/// ImageMagick: how light a region of a picture is on average (0 black, 1 white).
fn lightness(png: &Path, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let out = Command::new("convert")
        .arg(png)
        .args(["-crop", &format!("{w}x{h}+{x}+{y}"), "-colorspace", "Gray", "-format", "%[fx:mean]", "info:"])
        .output()
        .expect("convert (ImageMagick)");
    text(&out).trim().parse().unwrap_or_else(|_| panic!("convert: {}", text(&out)))
}

#[test]
fn on_a_turned_page_the_visible_signature_is_at_the_lower_left_as_shown_and_reads_upright() {
    let dir = temp_dir("pades-visible-turned");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let chain = pki().chain_pem.to_str().unwrap();
    for rotate in [90u16, 180, 270] {
        let doc = dir.join(format!("turned-{rotate}.pdf"));
        std::fs::write(&doc, mohur_tests::pdf::turned_document(rotate)).unwrap();
        std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
        let args = ["sign", doc.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain];
        let out = mohur(&dir, &[&args[..], &["--visible", "1", "--reason", "Razıyam"]].concat(), &[]);
        assert_eq!(out.status.code(), Some(0), "{rotate}: {}{}", stdout(&out), stderr(&out));
        let signed = dir.join(format!("turned-{rotate}.signed.pdf"));
        let report = pyhanko_validate(&signed);
        assert!(text(&report).contains("The signature is judged VALID"), "{rotate}: {}", text(&report));

        // Drawn by poppler as a reader shows the page (turned): where the pictures differ
        // is the box, 36 pt from the left and the bottom, wider than high.
        let before = draw_page(&doc, 1, &dir.join(format!("unsigned-{rotate}")));
        let after = draw_page(&signed, 1, &dir.join(format!("signed-{rotate}")));
        let (shown_w, shown_h) = if rotate == 180 { (595, 842) } else { (842, 595) };
        let (x, y, w, h) = differing_region(&before, &after);
        let at = after.display();
        assert!(x.abs_diff(36) <= 2 && (shown_h - y - h).abs_diff(36) <= 2, "{rotate}: box at {x},{y} {w}x{h}: {at}");
        assert!(w.abs_diff(240) <= 2 && h < 80 && x + w < shown_w, "{rotate}: box {w}x{h}: {at}");
        // Upright: the lines start at the box's left, and the short ones leave its right
        // half lighter; turned upside down it would be the other way round.
        let (left, right) = (lightness(&after, (x, y, w / 2, h)), lightness(&after, (x + w / 2, y, w / 2, h)));
        assert!(left + 0.02 < right, "{rotate}: left {left:.3}, right {right:.3}: {at}");
    }
}

/// pyHanko (its Python API) signs `src` into `dst` with the test PKI's AzeDIT signing key:
/// a certification signature with DocMDP permissions `perm` (`NO_CHANGES`,
/// `FILL_FORMS`), or with `approval`, an approval signature; `ignore_docmdp` plays a
/// tool that signs whatever the certification allows (pyHanko itself refuses).
fn pyhanko_certify(src: &Path, dst: &Path, perm: &str, field: &str, ignore_docmdp: bool) {
    const SCRIPT: &str = "import sys\n\
        from pyhanko.sign import signers\n\
        from pyhanko.sign.fields import MDPPerm\n\
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter\n\
        key, cert, chain, src, dst, perm, field, ignore = sys.argv[1:9]\n\
        if ignore == 'yes':\n\
        \x20   signers.PdfSigner._enforce_certification_constraints = lambda self, reader: None\n\
        signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))\n\
        certify = perm != 'approval'\n\
        meta = signers.PdfSignatureMetadata(field_name=field, certify=certify,\n\
        \x20   docmdp_permissions=MDPPerm[perm] if certify else MDPPerm.FILL_FORMS)\n\
        with open(src, 'rb') as f:\n\
        \x20   w = IncrementalPdfFileWriter(f)\n\
        \x20   with open(dst, 'wb') as o:\n\
        \x20       signers.sign_pdf(w, meta, signer=signer, output=o)\n";
    let holder = pki().dir.join("azedit");
    let python = mohur_tests::pyhanko().with_file_name("python");
    let o = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(holder.join("sign.key.pem"))
        .arg(holder.join("sign.pem"))
        .arg(&pki().chain_pem)
        .args([src, dst])
        .args([perm, field, if ignore_docmdp { "yes" } else { "no" }])
        .output()
        .expect("run pyhanko's python");
    assert!(o.status.success(), "pyHanko: {}", text(&o));
}

#[test]
fn a_document_certified_with_no_changes_allowed_is_not_signed_again_and_a_later_signature_breaks_it() {
    let dir = temp_dir("docmdp");
    let card = PluggedCard::new(card_state(Profile::Azedit, |_| {}));
    let reader = card.reader.name.clone();
    let chain = pki().chain_pem.to_str().unwrap();
    let bundle = pki().bundle_pem.to_str().unwrap();
    let doc = dir.join("decision.pdf");
    std::fs::write(&doc, mohur_tests::pdf::document(1, "Decision", false)).unwrap();
    let verify = |f: &Path| {
        let out = mohur(&dir, &["verify", f.to_str().unwrap(), "--json", "--ca-bundle", bundle], &[]);
        (out.status.code(), json(&out))
    };
    let sign = |f: &Path| {
        std::fs::write(dir.join("queue"), SIGN_PIN).unwrap();
        mohur(&dir, &["sign", f.to_str().unwrap(), "--json", "--reader", &reader, "--ca-bundle", chain], &[])
    };

    // Certified by pyHanko, no changes allowed: mohur says so, and does not sign it.
    let certified = dir.join("certified.pdf");
    pyhanko_certify(&doc, &certified, "NO_CHANGES", "Author", false);
    let (code, v) = verify(&certified);
    assert_eq!((code, v["signatures"][0]["docMdp"].as_u64()), (Some(0), Some(1)), "{v}");
    let out = sign(&certified);
    assert_eq!(out.status.code(), Some(FAILURE), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["error"]["code"], "BAD_DOCUMENT", "{}", stdout(&out));
    assert!(!dir.join("pinentry.log").exists() && !dir.join("certified.signed.pdf").exists());

    // A tool that ignores the certification signs after it: the certification is broken.
    // mohur says the author's signature is invalid (the later one is valid in itself);
    // pyHanko does not judge both valid either.
    let broken = dir.join("broken.pdf");
    pyhanko_certify(&certified, &broken, "approval", "Later", true);
    let (code, v) = verify(&broken);
    assert_eq!(code, Some(INVALID), "{v}");
    let author = &v["signatures"][0];
    assert_eq!(author["valid"], false, "{v}");
    assert!(author["changedAfter"].as_str().unwrap_or("").contains("DocMDP P=1"), "{v}");
    assert_eq!(v["signatures"][1]["valid"], true, "{v}");
    let report = pyhanko_validate(&broken);
    assert!(text(&report).matches("The signature is judged VALID").count() < 2, "{}", text(&report));

    // Certified with form filling and signing allowed: mohur signs after it, and both
    // tools find both signatures valid.
    let fill = dir.join("fill.pdf");
    pyhanko_certify(&doc, &fill, "FILL_FORMS", "Author", false);
    let out = sign(&fill);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let both = dir.join("fill.signed.pdf");
    let (code, v) = verify(&both);
    assert_eq!((code, v["signatures"][0]["docMdp"].as_u64()), (Some(0), Some(2)), "{v}");
    let report = pyhanko_validate(&both);
    assert_eq!(text(&report).matches("The signature is judged VALID").count(), 2, "{}", text(&report));
}
