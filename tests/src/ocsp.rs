//! A local OCSP responder (RFC 6960) for the test PKI's E-Government CA: every request is
//! answered by `openssl ocsp` in responder mode (`-index`, `-rsigner`, `-reqin`,
//! `-respout`) with the PKI's delegated responder certificate (`ocsp.pem`), from an
//! index of the CA's end-entity certificates that says which are revoked, so that the
//! answers mohur embeds and believes come from an independent implementation.
//!
//! Serve it from a [`crate::http::HttpServer`] handler ([`answer`]): the PKI's certificates
//! name the server's URL (`mohur_certs::Options::ocsp_url`) before the PKI exists, and the
//! revoked set can change between requests.

use std::path::Path;
use std::process::Command;

/// `YYMMDDHHMMSSZ` (openssl's CA database) of a certificate's notAfter.
fn expiry(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(cert)
        .output()
        .expect("run openssl x509");
    // notAfter=2031-12-06 16:53:25Z
    let text = String::from_utf8_lossy(&out.stdout);
    let iso = text.trim().trim_start_matches("notAfter=");
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    format!("{}Z", &digits[2..14])
}

fn serial(cert: &Path) -> String {
    let out = Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(cert).output().expect("openssl");
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("serial=").to_owned()
}

/// The openssl CA database (ca(1) "index.txt") of the E-Government CA's end-entity
/// certificates in `pki_dir` (the holders' and the TSA's): `R` for those whose DER is in
/// `revoked` (since an hour ago), `V` for the others.
pub fn index(pki_dir: &Path, revoked: &[Vec<u8>]) -> String {
    let mut certs: Vec<std::path::PathBuf> = vec![pki_dir.join("tsa.pem")];
    for entry in std::fs::read_dir(pki_dir).expect("PKI dir").flatten() {
        for stem in ["auth", "sign"] {
            let p = entry.path().join(format!("{stem}.pem"));
            if p.is_file() {
                certs.push(p);
            }
        }
    }
    let an_hour_ago = {
        let out = Command::new("date").args(["-u", "-d", "1 hour ago", "+%y%m%d%H%M%SZ"]).output().expect("date");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let mut text = String::new();
    for pem in certs {
        let der = std::fs::read(pem.with_extension("der")).unwrap_or_default();
        let (status, when) = if revoked.contains(&der) { ("R", an_hour_ago.as_str()) } else { ("V", "") };
        // Subjects must differ (openssl indexes them): the serial stands in for one.
        let serial = serial(&pem);
        text.push_str(&format!("{status}\t{}\t{when}\t{serial}\tunknown\t/CN={serial}\n", expiry(&pem)));
    }
    text
}

/// The OCSP response (DER) to `request` (DER), as `openssl ocsp` answers it for the
/// E-Government CA of `pki_dir`, `revoked` revoked; `scratch` holds its files.
pub fn answer(pki_dir: &Path, scratch: &Path, request: &[u8], revoked: &[Vec<u8>]) -> Option<Vec<u8>> {
    std::fs::create_dir_all(scratch).ok()?;
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    let (idx, req, resp) = (
        scratch.join(format!("index-{n}.txt")),
        scratch.join(format!("req-{n}.der")),
        scratch.join(format!("resp-{n}.der")),
    );
    std::fs::write(&idx, index(pki_dir, revoked)).ok()?;
    std::fs::write(&req, request).ok()?;
    let out = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(&idx)
        .arg("-CA")
        .arg(pki_dir.join("ica.pem"))
        .arg("-rsigner")
        .arg(pki_dir.join("ocsp.pem"))
        .arg("-rkey")
        .arg(pki_dir.join("ocsp.key.pem"))
        .args(["-ndays", "1", "-reqin"])
        .arg(&req)
        .arg("-respout")
        .arg(&resp)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("openssl ocsp: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    std::fs::read(&resp).ok()
}
