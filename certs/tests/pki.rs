//! Integration tests: generate a PKI and check it with the `openssl` CLI and crate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use mohur_certs::{default_holders, generate, load_holder, TestPki};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::X509;

/// A generated PKI in a unique temp directory, removed on drop.
struct TmpPki(TestPki);

impl TmpPki {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mohur-certs-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TmpPki(generate(&dir).expect("generate"))
    }
}

impl Drop for TmpPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

fn openssl_verify(ca: &Path, untrusted: &Path, cert: &Path) -> bool {
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .arg("-untrusted")
        .arg(untrusted)
        .arg(cert)
        .output()
        .expect("run openssl verify");
    out.status.success()
}

fn x509_text(cert: &Path) -> String {
    let out =
        Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(cert).output().expect("run openssl x509");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The value line following `header` in `openssl x509 -text` output.
fn ext_value<'a>(text: &'a str, header: &str) -> &'a str {
    let mut lines = text.lines();
    lines.find(|l| l.trim_start().starts_with(header)).unwrap_or_else(|| panic!("{header} missing"));
    lines.next().unwrap().trim()
}

fn holder_certs(pki: &TestPki) -> Vec<PathBuf> {
    pki.holder_dirs.iter().flat_map(|d| [d.join("auth.pem"), d.join("sign.pem")]).collect()
}

#[test]
fn all_files_written() {
    let pki = TmpPki::new();
    let d = &pki.0.dir;
    for f in [
        "root-ca.pem",
        "root-ca.der",
        "root-ca.key.pem",
        "pca.pem",
        "pca.der",
        "pca.key.pem",
        "ica.pem",
        "ica.der",
        "ica.key.pem",
        "chain.pem",
        "bundle.pem",
    ] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let dirs: Vec<_> = default_holders().iter().map(|h| d.join(h.dir_name)).collect();
    assert_eq!(dirs, pki.0.holder_dirs);
    for h in &dirs {
        for f in ["auth.key.pem", "auth.pem", "auth.der", "sign.key.pem", "sign.pem", "sign.der", "holder.json"] {
            assert!(h.join(f).is_file(), "{}/{f}", h.display());
        }
    }
    assert_eq!(X509::stack_from_pem(&std::fs::read(&pki.0.chain_pem).unwrap()).unwrap().len(), 2);
    assert_eq!(X509::stack_from_pem(&std::fs::read(&pki.0.bundle_pem).unwrap()).unwrap().len(), 3);
}

#[test]
#[cfg(unix)]
fn private_keys_are_owner_only_and_the_bundle_pins_the_cas() {
    use std::os::unix::fs::PermissionsExt;
    let pki = TmpPki::new();
    let d = &pki.0.dir;
    let keys: Vec<&PathBuf> = pki.0.files.iter().filter(|f| f.to_string_lossy().ends_with(".key.pem")).collect();
    // The three CAs, the time-stamping authority, the OCSP responder, two keys a holder.
    assert_eq!(keys.len(), 5 + 2 * default_holders().len());
    for k in keys {
        assert_eq!(std::fs::metadata(k).unwrap().permissions().mode() & 0o777, 0o600, "{}", k.display());
    }
    // The test bundle: the three CAs and a manifest with each one's SHA-256, no key.
    let bundle = &pki.0.ca_bundle;
    assert_eq!(bundle, &d.join("ca"));
    let manifest = std::fs::read_to_string(bundle.join("manifest.toml")).unwrap();
    for f in ["root-ca.pem", "pca.pem", "ica.pem"] {
        let cert = X509::from_pem(&std::fs::read(bundle.join(f)).unwrap()).unwrap();
        let fp: Vec<String> =
            cert.digest(openssl::hash::MessageDigest::sha256()).unwrap().iter().map(|b| format!("{b:02X}")).collect();
        assert!(manifest.contains(&format!("file = \"{f}\"")) && manifest.contains(&fp.join(":")), "{manifest}");
    }
    assert!(std::fs::read_dir(bundle).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("key")));
}

#[test]
fn ca_issuers_urls_name_each_issuer() {
    let dir = std::env::temp_dir().join(format!("mohur-certs-aia-{}", std::process::id()));
    let opts =
        mohur_certs::Options { ca_issuers_base: Some("http://127.0.0.1:8080/pki/".into()), ..Default::default() };
    let pki = mohur_certs::generate_with(&dir, &opts).unwrap();
    let aia = |cert: &Path| ext_value(&x509_text(cert), "Authority Information Access").to_owned();
    assert!(aia(&pki.holder_dirs[0].join("auth.pem")).contains("CA Issuers - URI:http://127.0.0.1:8080/pki/ica.der"));
    assert!(aia(&pki.ica_cert_pem).contains("URI:http://127.0.0.1:8080/pki/pca.der"));
    assert!(aia(&pki.pca_cert_pem).contains("URI:http://127.0.0.1:8080/pki/root-ca.der"));
    assert!(!x509_text(&pki.root_cert_pem).contains("Authority Information Access"));
    assert!(openssl_verify(&pki.root_cert_pem, &pki.chain_pem, &pki.holder_dirs[0].join("sign.pem")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openssl_cli_verifies_every_holder_cert() {
    let pki = TmpPki::new();
    let p = &pki.0;
    assert!(openssl_verify(&p.root_cert_pem, &p.chain_pem, &p.ica_cert_pem));
    for cert in holder_certs(p) {
        assert!(openssl_verify(&p.root_cert_pem, &p.chain_pem, &cert), "{}", cert.display());
    }
    // Without the intermediates the path cannot be built.
    assert!(!openssl_verify(&p.root_cert_pem, &p.root_cert_pem, &holder_certs(p)[0]));
}

#[test]
fn cert_from_other_root_fails() {
    let a = TmpPki::new();
    let b = TmpPki::new();
    for cert in holder_certs(&b.0) {
        assert!(!openssl_verify(&a.0.root_cert_pem, &a.0.chain_pem, &cert));
        assert!(!openssl_verify(&a.0.root_cert_pem, &b.0.chain_pem, &cert));
    }
}

#[test]
fn key_usages_and_ca_constraints() {
    let pki = TmpPki::new();
    let p = &pki.0;
    let root = x509_text(&p.root_cert_pem);
    assert_eq!(ext_value(&root, "X509v3 Basic Constraints: critical"), "CA:TRUE");
    assert_eq!(ext_value(&root, "X509v3 Key Usage: critical"), "Certificate Sign, CRL Sign");
    assert!(ext_value(&x509_text(&p.pca_cert_pem), "X509v3 Basic Constraints").contains("pathlen:1"));
    assert!(ext_value(&x509_text(&p.ica_cert_pem), "X509v3 Basic Constraints").contains("pathlen:0"));

    for (spec, dir) in default_holders().iter().zip(&p.holder_dirs) {
        let auth = x509_text(&dir.join("auth.pem"));
        let ku = ext_value(&auth, "X509v3 Key Usage: critical");
        let want = if spec.auth_alg == mohur_certs::KeyAlg::Rsa2048 {
            "Digital Signature"
        } else {
            "Digital Signature, Key Agreement"
        };
        assert_eq!(ku, want);
        assert!(ext_value(&auth, "X509v3 Extended Key Usage").contains("TLS Web Client Authentication"));
        assert_eq!(ext_value(&auth, "X509v3 Basic Constraints"), "CA:FALSE");
        assert!(auth.contains("Policy: 1.3.6.1.4.1.99999.1.1"));

        let sign = x509_text(&dir.join("sign.pem"));
        assert_eq!(ext_value(&sign, "X509v3 Key Usage: critical"), "Non Repudiation");
        assert!(!sign.contains("Extended Key Usage"));
        assert_eq!(ext_value(&sign, "X509v3 Basic Constraints"), "CA:FALSE");
        for t in [&auth, &sign] {
            assert!(t.contains("X509v3 Subject Key Identifier"));
            assert!(t.contains("X509v3 Authority Key Identifier"));
        }
    }
}

#[test]
fn holders_load_and_keys_match() {
    let pki = TmpPki::new();
    let expected = [
        ("piv", "AZ", "MAMMADOV ELVIN", "5ZJ8K2M", "AA1234567"),
        ("azedit", "AZ", "ALIYEVA LEYLA", "7PQ3R9T", "AA7654321"),
        ("am", "AM", "HAKOBYAN ARMEN", "2904851234", "AM0123456"),
    ];
    for (dir, (name, c, cn, code, doc)) in pki.0.holder_dirs.iter().zip(expected) {
        assert!(dir.ends_with(name));
        let m = load_holder(dir).expect("load_holder");
        assert_eq!((m.holder.country.as_str(), m.holder.common_name.as_str()), (c, cn));
        assert_eq!((m.holder.personal_code.as_str(), m.holder.document_number.as_str()), (code, doc));
        for (key, der) in [(&m.auth_key_pem, &m.auth_cert_der), (&m.sign_key_pem, &m.sign_cert_der)] {
            assert!(String::from_utf8_lossy(key).starts_with("-----BEGIN PRIVATE KEY-----"));
            let cert = X509::from_der(der).unwrap();
            let key = PKey::private_key_from_pem(key).unwrap();
            assert!(cert.public_key().unwrap().public_eq(&key));
            let subj = |nid| {
                let e = cert.subject_name().entries_by_nid(nid).next().unwrap();
                String::from_utf8(e.data().as_slice().to_vec()).unwrap()
            };
            assert_eq!(subj(Nid::COMMONNAME), cn);
            assert_eq!(subj(Nid::SERIALNUMBER), code);
            assert_eq!(subj(Nid::COUNTRYNAME), c);
            assert_eq!(subj(Nid::SURNAME), m.holder.surname);
            assert_eq!(subj(Nid::GIVENNAME), m.holder.given_name);
            assert_eq!(cert.serial_number().to_bn().unwrap().num_bytes(), 16);
        }
        // Auth and sign keys differ.
        assert_ne!(m.auth_key_pem, m.sign_key_pem);
    }
    // A mismatched key is rejected.
    let piv = &pki.0.holder_dirs[0];
    std::fs::copy(piv.join("sign.key.pem"), piv.join("auth.key.pem")).unwrap();
    assert!(load_holder(piv).is_err());
}

#[test]
fn the_tsa_certificate_is_for_time_stamping_only() {
    let pki = TmpPki::new();
    let tsa = &pki.0.tsa_cert_pem;
    let verify = |purpose: &str| {
        Command::new("openssl")
            .args(["verify", "-purpose", purpose, "-CAfile"])
            .arg(&pki.0.root_cert_pem)
            .arg("-untrusted")
            .arg(&pki.0.chain_pem)
            .arg(tsa)
            .output()
            .expect("run openssl verify")
            .status
            .success()
    };
    assert!(verify("timestampsign"));
    // RFC 3161 §2.3: timeStamping alone, critical; not a signing or TLS certificate.
    assert!(!verify("smimesign") && !verify("sslclient"));
    let text = x509_text(tsa);
    assert!(text.contains("X509v3 Extended Key Usage: critical"), "{text}");
    assert_eq!(ext_value(&text, "X509v3 Extended Key Usage"), "Time Stamping");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(pki.0.dir.join("tsa.key.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn crls_say_nothing_is_revoked_until_a_test_revokes_a_certificate() {
    let dir = std::env::temp_dir().join(format!("mohur-pki-crl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = mohur_certs::Options { crl_base: Some("http://127.0.0.1:8080/crl".into()), ..Default::default() };
    let pki = mohur_certs::generate_with(&dir, &opts).unwrap();
    let sign = pki.holder_dirs[0].join("sign.pem");
    let text = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&sign).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("X509v3 CRL Distribution Points") && text.contains("URI:http://127.0.0.1:8080/crl/ica.crl"),
        "{text}"
    );
    // openssl checks every CRL of the chain (their signatures, their issuers).
    let crl_pem = |stem: &str| {
        let out = Command::new("openssl")
            .args(["crl", "-inform", "DER", "-in"])
            .arg(dir.join(format!("{stem}.crl")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{stem}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let crls = dir.join("crls.pem");
    std::fs::write(&crls, [crl_pem("root-ca"), crl_pem("pca"), crl_pem("ica")].concat()).unwrap();
    let verify = || {
        Command::new("openssl")
            .args(["verify", "-crl_check_all", "-CRLfile"])
            .arg(&crls)
            .arg("-CAfile")
            .arg(&pki.root_cert_pem)
            .arg("-untrusted")
            .arg(&pki.chain_pem)
            .arg(&sign)
            .output()
            .unwrap()
    };
    let out = verify();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The holder's signing certificate revoked by the E-Government CA.
    let der = std::fs::read(pki.holder_dirs[0].join("sign.der")).unwrap();
    std::fs::write(dir.join("ica.crl"), mohur_certs::revocation_list(&dir, "ica", &[&der]).unwrap()).unwrap();
    std::fs::write(&crls, [crl_pem("root-ca"), crl_pem("pca"), crl_pem("ica")].concat()).unwrap();
    let out = verify();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && said.contains("certificate revoked"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
