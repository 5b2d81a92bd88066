//! `mohur sign FILE`: a signature with the card's signing key, through
//! [`crate::signing::cms::sign_cades`] and [`crate::pin_policy::with_pin`]: one PIN
//! dialog that names the file, its size and SHA-256 (for a PDF also its pages and
//! title), so the citizen sees what is signed.
//!
//! - A PDF (`%PDF-`, or `--format pades`) is signed in itself (PAdES,
//!   [`crate::documents::pdf`]) and written as `NAME.signed.pdf` next to it; the original
//!   is never overwritten.
//! - Any other file gets a CAdES `.p7s` (`FILE.p7s`, DER CMS), attached (the file
//!   inside, which is then all a verifier needs) unless `--detached`.
//!
//! `--level B|T`: B-B, or B-T with an RFC 3161 time-stamp from the configured
//! `tsa_urls` ([`crate::documents::timestamp`]); the default is B-T when a TSA is
//! configured, else B-B. If the time-stamp cannot be had, nothing is written.
//!
//! The CA certificates the signer's certificate chains through are embedded, from
//! `--ca-bundle`, else the configuration's `intermediates`, else the CA bundle mohur
//! installs, so that a verifier needs only the root. Files are written atomically.
//!
//! `--json`: `{"signature": "OUT", "format": "cades"|"pades", "level": "B-B"|"B-T",
//! "file", "sha256", "detached", "signer", "token", "reader", "embeddedCertificates"}`.

use super::{exit, finish, hex_lower, installed_ca_dir, load_ca_bundle, scan, Failure, Outcome, TokenOpts};
use crate::documents::{asic, pdf, timestamp, Level};
use crate::pin_policy::{self, Ctx, PromptGate};
use crate::signing::cms;
use crate::{tr, Cancel};
use mohur_apdu::KeyPurpose;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// What kind of signature `mohur sign` makes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// PAdES for PDFs, CAdES for anything else.
    #[default]
    Auto,
    /// A CAdES `.p7s` (ETSI EN 319 122).
    Cades,
    /// The PDF signed in itself (ETSI EN 319 142).
    Pades,
    /// An ASiC-E container of one or more files (ETSI EN 319 162-1, CAdES).
    Asice,
}

/// Arguments of `mohur sign`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to sign (several with --format asice, which signs them together).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
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
    /// PAdES for PDFs, CAdES otherwise (auto), either, or an ASiC-E container.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// B (B-B), T (B-T: with a time-stamp from the configured tsa_urls), LT (B-LT: and
    /// the certificates, OCSP answers and CRLs, in the PDF's DSS or the CMS signed data)
    /// or LTA (B-LTA, PDFs: and a document time-stamp). Default: T when a time-stamping
    /// authority is configured, else B.
    #[arg(long)]
    pub level: Option<Level>,
    /// Time-stamping authority (RFC 3161 over http:// or https://) for --level T, instead
    /// of the configuration's tsa_urls; repeat it for fallbacks, tried in order.
    #[arg(long = "tsa", value_name = "URL")]
    pub tsa_urls: Vec<String>,
    /// PDFs: show the signature in a box on this page (1 is the first): the signer's
    /// name, the time and the reason, in the language of mohur's messages.
    #[arg(long, value_name = "PAGE", value_parser = clap::value_parser!(u32).range(1..))]
    pub visible: Option<u32>,
    /// Why the document is signed (PDF: the signature's /Reason).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
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

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::usage(tr!("cli-error-read", name = path.display().to_string(), what = e.to_string())))
}

/// The name a file is shown by in the dialog (no control characters).
fn shown_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// The dialogs a [`Signer`] asks in: the CLI's own, or the running agent's (shared with
/// its WebSocket requests, one dialog at a time).
enum Prompts<'a> {
    Own(Box<dyn crate::dialogs::Prompter>, PromptGate),
    Agent(&'a dyn crate::dialogs::Prompter, &'a PromptGate),
}

/// What every kind of signature needs: the token, its certificate and chain, the
/// level and time-stamping authority, the dialogs.
pub struct Signer<'a> {
    slot: std::sync::Arc<crate::tokens::manager::TokenSlot>,
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    level: Level,
    tsa: Option<timestamp::Tsa>,
    /// Where B-LT's revocation data come from (the configuration's `revocation_sources`).
    fetching: crate::documents::ltv::Fetching,
    /// CA certificates known here (the bundle, the configured intermediates): where B-LT
    /// finds the issuers, up to the root, of the certificates it needs revocation data for.
    cas: Vec<Vec<u8>>,
    prompts: Prompts<'a>,
}

impl<'a> Signer<'a> {
    /// The running agent's signing key (the first token that has one), its chain, the
    /// level its TSA configuration gives, and its dialogs: what the tray signs with.
    pub fn for_agent(agent: &'a crate::agent::Agent) -> crate::Result<Signer<'a>> {
        let slot = agent.manager.find(None, Some(KeyPurpose::Signing))?;
        let cert = slot.with(|t| t.certificate(KeyPurpose::Signing))?;
        let chain = agent.chain_for(&cert);
        let tsa = agent.config.tsa();
        let level = if tsa.is_some() { Level::T } else { Level::B };
        let cas = agent.known_cas();
        let fetching = agent.config.fetching();
        let prompts = Prompts::Agent(&*agent.prompter, &agent.gate);
        Ok(Signer { slot, cert, chain, level, tsa, fetching, cas, prompts })
    }

    fn new(args: &Args) -> Result<Signer<'a>, Failure> {
        if let Some(url) = args.tsa_urls.iter().find(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(Failure::usage(tr!("cli-sign-bad-tsa", url = url.as_str())));
        }
        let scan = scan(&args.tokens)?;
        let tsa = if args.tsa_urls.is_empty() {
            scan.config.tsa()
        } else {
            let mut config = scan.config.clone();
            config.tsa_urls.clone_from(&args.tsa_urls);
            config.tsa()
        };
        let level = args.level.unwrap_or(if tsa.is_some() { Level::T } else { Level::B });
        if level >= Level::T && tsa.is_none() {
            return Err(crate::Error::from(timestamp::TimestampError::NotConfigured).into());
        }
        let fetching = scan.config.fetching();
        if level >= Level::LT && !fetching.ocsp && !fetching.crl {
            return Err(crate::Error::from(crate::documents::ltv::LtvError::FetchingOff).into());
        }
        let slot = scan.one(KeyPurpose::Signing)?;
        let cert = slot.with(|t| t.certificate(KeyPurpose::Signing))?;
        let pool = match (&args.ca_bundle, &scan.config.intermediates) {
            (Some(p), _) | (None, Some(p)) => load_ca_bundle(p)?,
            // The installed bundle is a convenience: without it the signature is still valid.
            (None, None) => installed_ca_dir().and_then(|d| load_ca_bundle(&d).ok()).unwrap_or_default(),
        };
        let chain = crate::agent::chain_for(&pool, &cert);
        let prompter = crate::dialogs::from_environment(Duration::from_secs(scan.config.prompt_timeout_seconds));
        let prompts = Prompts::Own(prompter, PromptGate::default());
        Ok(Signer { slot, cert, chain, level, tsa, fetching, cas: pool, prompts })
    }

    /// A CAdES signature made after one PIN entry in a dialog showing `context`,
    /// time-stamped at B-T.
    fn cades(&self, context: String, req: &cms::SignRequest) -> Result<Vec<u8>, Failure> {
        let der = self.with_pin(context, |sign| cms::sign_cades(req, sign))?;
        let der = self.stamp(der)?;
        if self.level < Level::LT {
            return Ok(der);
        }
        // B-LT (LTA was refused before any dialog: it is made for PDFs).
        Ok(crate::documents::ltv::add_to_signed_data(&der, &self.known_cas(), &self.fetching)?)
    }

    /// Runs `f` with the card's signing callback after one PIN entry.
    fn with_pin<T>(
        &self,
        context: String,
        f: impl FnOnce(&mut cms::SignFn<'_>) -> crate::Result<T>,
    ) -> Result<T, Failure> {
        let cancel = Cancel::new();
        let (prompter, gate) = match &self.prompts {
            Prompts::Own(p, g) => (p.as_ref(), g),
            Prompts::Agent(p, g) => (*p, *g),
        };
        let ctx = Ctx { prompter, cancel: &cancel, gate };
        let occasion = crate::dialogs::texts::Occasion::signing(context);
        Ok(pin_policy::with_pin(&ctx, &self.slot, KeyPurpose::Signing, &occasion, f)?)
    }

    /// B-LT: the certificates of the signature and its time-stamp, an OCSP answer or a CRL for each,
    /// fetched now (after the time-stamp), added to the PDF's DSS.
    fn add_validation_data(&self, pdf: Vec<u8>, cms_der: &[u8]) -> Result<Vec<u8>, Failure> {
        let data = crate::documents::ltv::signature_data(cms_der, &self.known_cas(), &self.fetching)
            .map_err(crate::Error::from)?;
        Ok(pdf::add_dss(pdf, &data).map_err(crate::Error::from)?)
    }

    /// The CA certificates that complete a B-LT signature's paths: the signer's chain,
    /// the bundle's and the configured intermediates.
    fn known_cas(&self) -> Vec<Vec<u8>> {
        [self.chain.clone(), self.cas.clone()].concat()
    }

    /// The signature time-stamp at B-T; nothing at B-B.
    fn stamp(&self, der: Vec<u8>) -> Result<Vec<u8>, Failure> {
        match (self.level, &self.tsa) {
            (Level::T | Level::LT | Level::LTA, Some(tsa)) => {
                Ok(timestamp::stamp(&der, tsa).map_err(crate::Error::from)?)
            }
            _ => Ok(der),
        }
    }
}

fn sign(args: &Args) -> Result<Outcome, Failure> {
    if args.format == Format::Asice {
        return sign_container(args);
    }
    let [file] = args.files.as_slice() else {
        return Err(Failure::usage(tr!("cli-sign-one-file")));
    };
    let options = FileOptions {
        format: args.format,
        detached: args.detached,
        out: args.out.as_deref(),
        reason: args.reason.as_deref(),
        visible: args.visible,
    };
    sign_file(|| Signer::new(args), file, &options)
}

/// How [`sign_file`] signs.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileOptions<'a> {
    /// PAdES, CAdES, or by the file's kind.
    pub format: Format,
    /// A CAdES signature without the file in it.
    pub detached: bool,
    /// Where to write (default: `NAME.signed.pdf` or `FILE.p7s` next to it).
    pub out: Option<&'a Path>,
    /// A PDF signature's `/Reason`.
    pub reason: Option<&'a str>,
    /// A PDF signature shown in a box on this page (from 1): name, time, reason.
    pub visible: Option<u32>,
}

/// Signs one file as `mohur sign FILE` does (PAdES for a PDF, CAdES otherwise), with the
/// key of the signer `signer` makes after one PIN entry in a dialog naming the file;
/// writes the result next to it, atomically, never over the original. The file is read
/// and checked first: one that cannot be signed never reaches the card.
pub fn sign_file<'s>(
    signer: impl FnOnce() -> Result<Signer<'s>, Failure>,
    file: &Path,
    options: &FileOptions,
) -> Result<Outcome, Failure> {
    let data = read(file)?;
    let pades = match options.format {
        Format::Pades => true,
        Format::Cades | Format::Asice => false,
        // ISO 32000-1 §7.5.2: the header is in the first 1024 bytes.
        Format::Auto => data.windows(5).take(1024).any(|w| w == b"%PDF-"),
    };
    if pades && options.detached {
        return Err(Failure::usage(tr!("cli-sign-pdf-detached")));
    }
    let pdf_info = if pades { Some(pdf::info(&data).map_err(crate::Error::from)?) } else { None };
    let out = match options.out {
        Some(out) => out.to_path_buf(),
        None if pades => free_name(file, "signed.pdf"),
        None => {
            let mut name = file.as_os_str().to_os_string();
            name.push(".p7s");
            PathBuf::from(name)
        }
    };
    if same_file(&out, file) {
        return Err(Failure::usage(tr!("cli-sign-not-over-original", name = out.display().to_string())));
    }
    let signer = signer()?;
    if !pades && signer.level == Level::LTA {
        return Err(Failure::usage(tr!("cli-sign-lta-pdf-only")));
    }
    let (level, cert, chain) = (signer.level, &signer.cert, &signer.chain);
    let sha256 = hex_lower(&super::sha256(&data));
    let mut context = format!("{}\n  {} ({})", tr!("cli-sign-context"), shown_name(file), size_text(data.len()));
    if let Some(info) = &pdf_info {
        context.push_str(&format!("\n    {}", tr!("cli-sign-pdf-pages", pages = info.pages)));
        if let Some(title) = info.title.as_deref().map(|t| t.chars().filter(|c| !c.is_control()).collect::<String>()) {
            context.push_str(&format!(" «{title}»"));
        }
    }
    context.push_str(&format!("\n    SHA-256 {sha256}"));

    let holder = signer.slot.info().holder;
    let now = SystemTime::now();
    let signed = if pades {
        let reserve = crate::documents::pades_reserve(cert, chain, level);
        let visible = options.visible.map(|page| crate::documents::appearance::Visible {
            page,
            lines: crate::documents::appearance::lines(&holder, now, options.reason),
        });
        let options = pdf::SignatureOptions {
            signing_time: now,
            name: Some(&holder),
            reason: options.reason,
            reserve,
            document_timestamp: false,
            visible: visible.as_ref(),
        };
        let prepared = pdf::prepare(data, &options).map_err(crate::Error::from)?;
        let der = signer.with_pin(context, |sign| crate::documents::pades_cms(&prepared, cert, chain, sign))?;
        let der = signer.stamp(der)?;
        let signed = prepared.finish(&der).map_err(crate::Error::from)?;
        match (level, &signer.tsa) {
            (Level::LT, _) => signer.add_validation_data(signed, &der)?,
            (Level::LTA, Some(tsa)) => {
                let with_data = signer.add_validation_data(signed, &der)?;
                crate::documents::add_document_timestamp(with_data, tsa)?
            }
            _ => signed,
        }
    } else {
        let req = cms::SignRequest {
            certificate: cert,
            chain,
            content: cms::Content::Data(&data),
            detached: options.detached,
            signing_time: Some(now),
        };
        signer.cades(context, &req)?
    };
    crate::documents::write_atomically(&out, &signed)
        .map_err(|e| Failure::other(tr!("cli-error-write", name = out.display().to_string(), what = e.to_string())))?;
    Ok(Outcome {
        json: json!({
            "signature": out.display().to_string(),
            "format": if pades { "pades" } else { "cades" },
            "level": level.name(),
            "file": file.display().to_string(),
            "sha256": sha256,
            "detached": options.detached,
            "signer": holder,
            "token": signer.slot.id,
            "reader": signer.slot.reader,
            "embeddedCertificates": chain.len() + 1,
        }),
        text: tr!("cli-signed", name = out.display().to_string(), holder = holder.as_str()),
        exit: exit::OK,
    })
}

/// `mohur sign --format asice FILE…`: one ASiC-E container of the files, signed together
/// after one PIN entry whose dialog lists each (name, size, SHA-256).
fn sign_container(args: &Args) -> Result<Outcome, Failure> {
    let mut documents = Vec::with_capacity(args.files.len());
    for f in &args.files {
        documents.push(asic::Document { name: shown_name(f), data: read(f)? });
    }
    let manifest = asic::manifest(&documents).map_err(crate::Error::from)?;
    let first = &args.files[0];
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let stem = first.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (1..)
                .map(|n| {
                    first.with_file_name(if n == 1 { format!("{stem}.asice") } else { format!("{stem}-{n}.asice") })
                })
                .find(|p| !p.exists())
                .unwrap_or_else(|| first.with_extension("asice"))
        }
    };
    if let Some(f) = args.files.iter().find(|f| same_file(&out, f)) {
        return Err(Failure::usage(tr!("cli-sign-not-over-original", name = f.display().to_string())));
    }
    let signer = Signer::new(args)?;
    if signer.level == Level::LTA {
        return Err(Failure::usage(tr!("cli-sign-lta-pdf-only")));
    }
    let mut context = tr!("cli-sign-context");
    let mut listed = Vec::new();
    for d in &documents {
        let sha256 = hex_lower(&super::sha256(&d.data));
        context.push_str(&format!("\n  {} ({})\n    SHA-256 {sha256}", d.name, size_text(d.data.len())));
        listed.push(json!({"name": d.name, "sha256": sha256}));
    }
    // EN 319 162-1 §4.4.3: the CAdES signature is detached, over the manifest's bytes.
    let req = cms::SignRequest {
        certificate: &signer.cert,
        chain: &signer.chain,
        content: cms::Content::Data(&manifest),
        detached: true,
        signing_time: Some(SystemTime::now()),
    };
    let signature = signer.cades(context, &req)?;
    let container = asic::build(&documents, &manifest, &signature).map_err(crate::Error::from)?;
    crate::documents::write_atomically(&out, &container)
        .map_err(|e| Failure::other(tr!("cli-error-write", name = out.display().to_string(), what = e.to_string())))?;
    let holder = signer.slot.info().holder;
    Ok(Outcome {
        json: json!({
            "signature": out.display().to_string(),
            "format": "asice",
            "level": signer.level.name(),
            "files": listed,
            "signer": holder,
            "token": signer.slot.id,
            "reader": signer.slot.reader,
            "embeddedCertificates": signer.chain.len() + 1,
        }),
        text: tr!("cli-signed", name = out.display().to_string(), holder = holder.as_str()),
        exit: exit::OK,
    })
}

/// `NAME.<suffix>` next to `file` (`contract.pdf` → `contract.signed.pdf`), or
/// `NAME.signed-2.pdf` and on if that is taken: signing never overwrites a file.
fn free_name(file: &Path, suffix: &str) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let (base, ext) = suffix.rsplit_once('.').unwrap_or((suffix, ""));
    (1..)
        .map(|n| {
            let name = if n == 1 { format!("{stem}.{base}.{ext}") } else { format!("{stem}.{base}-{n}.{ext}") };
            file.with_file_name(name)
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| file.with_extension(suffix))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A file size as people read it: bytes, KB or MB (powers of 1024, one decimal).
fn size_text(n: usize) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}
