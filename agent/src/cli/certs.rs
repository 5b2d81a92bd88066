//! `mohur certs`: the certificates of every card and token, and with `--export DIR`
//! their files: `<holder>-<purpose>.der` and `.pem` (`purpose` is `auth` or `sign`;
//! `-<serial>` is added when two tokens of one holder would share a name). Existing
//! files are replaced: a certificate is public, and exporting again must not fail.
//!
//! `--json`: `{"certificates": [{"token", "reader" | null, "holder", "purpose",
//! "subject", "issuer", "serialNumber", "notBefore", "notAfter", "daysLeft",
//! "validNow", "keyAlgorithm", "sha256", "files": ["…der", "…pem"]}]}`
//! (`files` only with `--export`).

use super::{
    cert_facts, cert_json, cert_text, certificates, exit, file_part, finish, purpose_name, scan, Failure, Outcome,
    TokenOpts,
};
use crate::{tr, Error};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mohur certs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write each certificate to this directory as DER and PEM.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Readers and configuration.
    #[command(flatten)]
    pub tokens: TokenOpts,
}

/// Runs `mohur certs`.
pub fn run(args: Args) -> ExitCode {
    finish(args.json, certs(&args))
}

fn write(path: &Path, data: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, data)
        .map_err(|e| Failure::other(tr!("cli-error-write", name = path.display().to_string(), what = e.to_string())))
}

fn certs(args: &Args) -> Result<Outcome, Failure> {
    let scan = scan(&args.tokens)?;
    let tokens = scan.manager.list();
    if tokens.is_empty() {
        return Err(scan.pcsc_error.unwrap_or_else(|| Failure::from(Error::NoToken)));
    }
    if let Some(dir) = &args.export {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::other(tr!("cli-error-write", name = dir.display().to_string(), what = e.to_string()))
        })?;
    }
    let mut list: Vec<Value> = Vec::new();
    let mut text = String::new();
    let mut used: Vec<String> = Vec::new();
    for slot in &tokens {
        let info = slot.info();
        text.push_str(&format!("{} ({})\n", info.holder, super::token_place(slot)));
        for (purpose, der) in certificates(slot) {
            let facts = cert_facts(&der)?;
            let mut c = cert_json(purpose, &facts);
            c["token"] = json!(slot.id);
            c["reader"] = json!(slot.reader);
            c["holder"] = json!(info.holder);
            text.push_str(&cert_text(purpose, &facts, "  "));
            if let Some(dir) = &args.export {
                let mut base = format!("{}-{}", file_part(&info.holder), purpose_name(purpose));
                if used.contains(&base) {
                    base = format!("{}-{}-{}", file_part(&info.holder), file_part(&info.serial), purpose_name(purpose));
                }
                used.push(base.clone());
                let der_path = dir.join(format!("{base}.der"));
                let pem_path = dir.join(format!("{base}.pem"));
                let pem = super::pem_certificate(&der);
                write(&der_path, &der)?;
                write(&pem_path, pem.as_bytes())?;
                text.push_str(&format!(
                    "    {}: {}, {}\n",
                    tr!("cli-label-exported"),
                    der_path.display(),
                    pem_path.display()
                ));
                c["files"] = json!([der_path.display().to_string(), pem_path.display().to_string()]);
            }
            list.push(c);
        }
        text.push('\n');
    }
    Ok(Outcome { json: json!({ "certificates": list }), text, exit: exit::OK })
}
