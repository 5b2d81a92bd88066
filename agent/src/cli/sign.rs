//! `mohur sign FILE`: a CAdES-BES signature (`FILE.p7s`, DER CMS) with the card's
//! signing key, through [`crate::signing::cms::sign_cades`] and [`crate::pin_policy::with_pin`]: one
//! PIN dialog that names the file and its SHA-256, so the citizen sees what is signed.
//!
//! The signature is attached (the file inside the `.p7s`, which is then all a
//! verifier needs) unless `--detached`. The CA certificates the signer's certificate
//! chains through are embedded, from `--ca-bundle`, else the configuration's
//! `intermediates`, else the CA bundle mohur installs, so that a verifier needs only
//! the root.
//!
//! `--json`: `{"signature": "FILE.p7s", "file", "sha256", "detached", "signer",
//! "token", "reader", "embeddedCertificates"}`.

use super::{exit, finish, hex_lower, installed_ca_dir, load_ca_bundle, scan, Failure, Outcome, TokenOpts};
use crate::pin_policy::{self, Ctx, PromptGate};
use crate::signing::cms;
use crate::{tr, Cancel};
use mohur_apdu::KeyPurpose;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// Arguments of `mohur sign`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to sign.
    pub file: PathBuf,
    /// Where to write the signature (default: FILE.p7s).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave the file out of the signature (verify it with --content FILE).
    #[arg(long, conflicts_with = "attached")]
    pub detached: bool,
    /// Put the file inside the signature (the default).
    #[arg(long)]
    pub attached: bool,
    /// PEM file or directory of CA certificates to embed the signer's chain from.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Readers and configuration.
    #[command(flatten)]
    pub tokens: TokenOpts,
}

/// Runs `mohur sign`.
pub fn run(args: Args) -> ExitCode {
    finish(args.json, sign(&args))
}

fn sign(args: &Args) -> Result<Outcome, Failure> {
    let data = std::fs::read(&args.file).map_err(|e| {
        Failure::usage(tr!("cli-error-read", name = args.file.display().to_string(), what = e.to_string()))
    })?;
    let out = args.out.clone().unwrap_or_else(|| {
        let mut name = args.file.clone().into_os_string();
        name.push(".p7s");
        PathBuf::from(name)
    });
    let scan = scan(&args.tokens)?;
    let slot = scan.one(KeyPurpose::Signing)?;
    let cert = slot.with(|t| t.certificate(KeyPurpose::Signing))?;
    let pool = match (&args.ca_bundle, &scan.config.intermediates) {
        (Some(p), _) | (None, Some(p)) => load_ca_bundle(p)?,
        // The installed bundle is a convenience: without it the signature is still valid.
        (None, None) => installed_ca_dir().and_then(|d| load_ca_bundle(&d).ok()).unwrap_or_default(),
    };
    let chain = crate::agent::chain_for(&pool, &cert);
    let sha256 = hex_lower(&super::sha256(&data));
    let shown_name: String = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let context = format!("{}\n  {shown_name}\n    SHA-256 {sha256}", tr!("cli-sign-context"));

    let prompter = crate::dialogs::from_environment(Duration::from_secs(scan.config.prompt_timeout_seconds));
    let cancel = Cancel::new();
    let gate = PromptGate::default();
    let ctx = Ctx { prompter: prompter.as_ref(), cancel: &cancel, gate: &gate };
    let req = cms::SignRequest {
        certificate: &cert,
        chain: &chain,
        content: cms::Content::Data(&data),
        detached: args.detached,
        signing_time: SystemTime::now(),
    };
    let der = pin_policy::with_pin(
        &ctx,
        &slot,
        KeyPurpose::Signing,
        &crate::dialogs::texts::Occasion::signing(context),
        |sign| cms::sign_cades(&req, sign),
    )?;
    std::fs::write(&out, &der)
        .map_err(|e| Failure::other(tr!("cli-error-write", name = out.display().to_string(), what = e.to_string())))?;
    let holder = slot.info().holder;
    Ok(Outcome {
        json: json!({
            "signature": out.display().to_string(),
            "file": args.file.display().to_string(),
            "sha256": sha256,
            "detached": args.detached,
            "signer": holder,
            "token": slot.id,
            "reader": slot.reader,
            "embeddedCertificates": chain.len() + 1,
        }),
        text: tr!("cli-signed", name = out.display().to_string(), holder = holder.as_str()),
        exit: exit::OK,
    })
}
