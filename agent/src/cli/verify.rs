//! `mohur verify FILE`: checks signatures as a relying party does, locally (nothing is
//! uploaded), whoever made them:
//!
//! - a `.p7s` (CAdES, [`crate::signing::verify::verify_cms`]): the signature, the
//!   content's digest, the signer's certificate path to a trusted root, the
//!   signing-certificate binding, the signing time and a signature time-stamp (B-T);
//! - a PDF (PAdES, [`crate::documents::validation`]): each of its signatures so, over its
//!   byte range, and whether the file was changed after it other than by signing;
//! - an ASiC-E container (CAdES): each signature over its manifest, each document's
//!   digest, and that no document in it is unsigned.
//!
//! Trust: `--ca-bundle` (a PEM file or a directory: the self-signed root and the CAs
//! below it), else the CA bundle mohur installs ([`super::installed_ca_dir`]). A
//! detached signature needs its content: `--content FILE`, else `FILE` next to
//! `FILE.p7s`.
//!
//! `--json`: `{"valid": true, "format": "cades", "level", "signer", "signingTime",
//! "timestamp", "contentSha256", "detached", "content"}` or `{"valid": false, "reason",
//! "why", …}`; for a PDF `{"valid", "format": "pades", "signatures": [{"field", "valid",
//! "reason", "why", "signer", "level", "claimedTime", "timestamp", "coversWholeFile",
//! "changedAfter"}]}` (valid: every signature is). Invalid: exit [`exit::INVALID`].
//! `"reason"` is the technical detail (English); `"why"` its kind, a stable code
//! ([`crate::signing::rejection::Why::code`]). The text report tells the kind in the
//! citizen's language, the detail after it in brackets.

//!
//! The check is RustCrypto's ([`crate::signing::verify`]), the same in every build.

use super::{Failure, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mohur verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The signature (.p7s, DER) or the signed PDF.
    pub file: PathBuf,
    /// The signed file, for a detached signature (default: FILE.p7s without `.p7s`).
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// Trusted CA certificates: a PEM file or a directory (default: the bundle mohur installs).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Also ask the OCSP responders and fetch the CRLs the certificates name, as the
    /// configuration's revocation_sources allow (requests to the CAs' published addresses:
    /// an OCSP request names one certificate by its issuer and serial number; the file
    /// itself is sent nowhere). Without it, only the revocation data in the file are
    /// used, unless the configuration says verify_online.
    #[arg(long, conflicts_with = "offline")]
    pub online: bool,
    /// Use only the revocation data in the file, whatever the configuration says.
    #[arg(long)]
    pub offline: bool,
    /// The configuration file (default: the user's agent.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur verify`.
pub fn run(args: Args) -> ExitCode {
    let result = crate::config::Config::load(args.config.as_deref())
        .map_err(|e| Failure::usage(e.to_string()))
        .and_then(|config| {
            let online = !args.offline && (args.online || config.verify_online);
            imp::verify(&args, online.then(|| config.fetching()).as_ref())
        });
    super::finish(args.json, result)
}

/// What `mohur verify FILE` finds, against `ca_bundle` or the installed CAs, fetching
/// revocation data as `online` allows (`None`: only the file's): the tray's "Check a
/// signature…" shows its text.
pub fn check(
    file: &std::path::Path,
    ca_bundle: Option<&std::path::Path>,
    online: Option<&crate::documents::ltv::Fetching>,
) -> Result<Outcome, Failure> {
    let args = Args {
        file: file.to_path_buf(),
        content: None,
        ca_bundle: ca_bundle.map(Into::into),
        online: online.is_some(),
        offline: online.is_none(),
        config: None,
        json: false,
    };
    imp::verify(&args, online)
}

mod imp {
    use super::*;
    use crate::cli::{exit, hex_lower, installed_ca_dir, load_ca_bundle};
    use crate::documents::ltv::Fetching;
    use crate::documents::{validation, Level};
    use crate::signing::rejection::Rejection;
    use crate::signing::verify::{verify_cms, TrustStore};
    use crate::{tr, Error};
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::Decode;
    use serde_json::json;
    use std::path::Path;

    fn read(path: &Path) -> Result<Vec<u8>, Failure> {
        std::fs::read(path)
            .map_err(|e| Failure::usage(tr!("cli-error-read", name = path.display().to_string(), what = e.to_string())))
    }

    /// The trust store of a bundle: its self-signed certificates are the anchors, the
    /// others the CAs below them.
    fn trust_store(bundle: &Path) -> Result<TrustStore, Failure> {
        let bad = |e: &dyn std::fmt::Display| {
            Failure::usage(tr!("cli-error-ca-bundle", name = bundle.display().to_string(), what = e.to_string()))
        };
        let certs = load_ca_bundle(bundle)?
            .iter()
            .map(|der| x509_cert::Certificate::from_der(der).map_err(|e| bad(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        TrustStore::from_bundle(certs).map_err(|e| bad(&e))
    }

    /// The report's line for a time-stamp: when, and by which TSA.
    fn timestamp_line(t: &crate::signing::verify::VerifiedTimestamp) -> String {
        format!(
            "  {}: {} ({})\n",
            tr!("cli-label-timestamp"),
            time_text(t.time),
            tr!("cli-verify-by-tsa", tsa = t.tsa_cn.as_str())
        )
    }

    fn time_text(t: std::time::SystemTime) -> String {
        x509_cert::der::DateTime::from_system_time(t).map(|t| t.to_string()).unwrap_or_default()
    }

    pub(super) fn verify(args: &Args, online: Option<&Fetching>) -> Result<Outcome, Failure> {
        let der = read(&args.file)?;
        let bundle = match &args.ca_bundle {
            Some(p) => p.clone(),
            None => installed_ca_dir().ok_or_else(|| Failure::usage(tr!("cli-error-no-ca-bundle")))?,
        };
        let trust = trust_store(&bundle)?;
        // ISO 32000-1 §7.5.2: the header is in the first 1024 bytes.
        if der.windows(5).take(1024).any(|w| w == b"%PDF-") {
            return verify_pdf(&der, &trust, online);
        }
        // A ZIP (local file header, APPNOTE §4.3.7): an ASiC container.
        if der.starts_with(b"PK\x03\x04") {
            return verify_container(&der, &trust, online);
        }
        // A detached signature (no eContent, RFC 5652 §5.2) needs the signed file.
        let detached = ContentInfo::from_der(&crate::signing::validation_data::decodable(&der))
            .ok()
            .and_then(|ci| ci.content.decode_as::<SignedData>().ok())
            .is_some_and(|sd| sd.encap_content_info.econtent.is_none());
        let content_path = match (&args.content, detached) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                let name = args.file.to_string_lossy();
                match name.strip_suffix(".p7s").map(PathBuf::from).filter(|p| p.is_file()) {
                    Some(p) => Some(p),
                    None => return Err(Failure::usage(tr!("cli-error-need-content"))),
                }
            }
            (None, false) => None,
        };
        let content = content_path.as_deref().map(read).transpose()?;
        let content_name = content_path.as_ref().map(|p| p.display().to_string());
        let verified = verify_cms(&der, content.as_deref(), &trust).and_then(|v| {
            let (level, revocation) = validation::cades_level(&der, &v, &trust, online).map_err(Error::Rejected)?;
            Ok((v, level, revocation))
        });
        match verified {
            Ok((v, level, revocation)) => {
                let time = time_text(v.signing_time);
                let mut text = format!(
                    "{}\n  {}: {}\n  {}: {}\n  {}: {time}\n",
                    tr!("cli-verify-valid"),
                    tr!("cli-label-signer"),
                    v.signer_cn,
                    tr!("cli-label-level"),
                    level.name(),
                    tr!("cli-label-signing-time"),
                );
                if let Some(t) = &v.timestamp {
                    text.push_str(&timestamp_line(t));
                }
                let mut report = json!({
                        "valid": true,
                        "format": "cades",
                        "level": level.name(),
                        "signer": v.signer_cn,
                        "signingTime": time,
                        "timestamp": v.timestamp.as_ref().map(|t| json!({"time": time_text(t.time), "tsa": t.tsa_cn})),
                        "contentSha256": hex_lower(&v.content_sha256),
                        "detached": detached,
                        "content": content_name,
                });
                if let Some(line) = report_revocation(&revocation, &mut report) {
                    text.push_str(&line);
                }
                text.push_str(&format!("  SHA-256: {}\n", hex_lower(&v.content_sha256)));
                Ok(Outcome { json: report, text, exit: exit::OK })
            }
            Err(e) => {
                let r = Rejection::from(e);
                Ok(Outcome {
                    json: json!({
                        "valid": false, "reason": r.detail, "why": r.why.code(), "detached": detached, "content": content_name,
                    }),
                    text: format!("{}\n{}", tr!("cli-verify-invalid"), rejection_lines(&r)),
                    exit: exit::INVALID,
                })
            }
        }
    }

    /// Why a signature was refused, as the report's lines: in the citizen's language, then
    /// the technical detail (English) in brackets.
    fn rejection_lines(r: &Rejection) -> String {
        format!("  {}\n  ({})\n", r.told(), r.detail)
    }

    /// What revocation data say of a signature, in its JSON `entry` (`"revocation"`:
    /// `good`, `unknown` or `revoked`; `"revocationUnknownFor"`) and as the line of text
    /// the report shows (none for revoked: the signature is invalid and says why).
    fn report_revocation(r: &crate::documents::ltv::Revocation, entry: &mut serde_json::Value) -> Option<String> {
        use crate::documents::ltv::Revocation;
        match r {
            Revocation::Good => {
                entry["revocation"] = json!("good");
                Some(format!("  {}\n", tr!("cli-verify-revocation-good")))
            }
            Revocation::Unknown(who) => {
                entry["revocation"] = json!("unknown");
                entry["revocationUnknownFor"] = json!(who);
                Some(format!("  {}\n", tr!("cli-verify-revocation-unknown", who = who.join("; "))))
            }
            Revocation::Revoked(_) => {
                entry["revocation"] = json!("revoked");
                None
            }
        }
    }

    /// Every signature of a PDF, and whether the file changed after each.
    fn verify_pdf(pdf: &[u8], trust: &TrustStore, online: Option<&Fetching>) -> Result<Outcome, Failure> {
        let checks = validation::check_pdf(pdf, trust, online).map_err(Error::from)?;
        if checks.is_empty() {
            let reason = tr!("cli-verify-no-signature");
            return Ok(Outcome {
                json: json!({"valid": false, "format": "pades", "reason": reason, "signatures": []}),
                text: format!("{}\n  {reason}\n", tr!("cli-verify-invalid")),
                exit: exit::INVALID,
            });
        }
        let valid = checks.iter().all(validation::SignatureCheck::valid);
        let mut text = format!(
            "{}\n{}\n",
            if valid { tr!("cli-verify-valid") } else { tr!("cli-verify-invalid") },
            tr!("cli-verify-pdf-count", n = checks.len())
        );
        let mut list = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let field = c.found.field.as_str();
            text.push_str(&format!("\n{}\n", tr!("cli-verify-pdf-signature", n = i + 1, field = field)));
            text.push_str(&format!(
                "  {}\n",
                if c.valid() { tr!("cli-verify-valid") } else { tr!("cli-verify-invalid") }
            ));
            let mut entry = json!({
                "field": field,
                "valid": c.valid(),
                "subFilter": c.found.sub_filter,
                "claimedTime": c.found.claimed_time,
                "reasonGiven": c.found.reason,
                "coversWholeFile": c.covers_whole_file,
                "changedAfter": c.changed_after,
                "kind": if c.is_document_timestamp() { "documentTimestamp" } else { "signature" },
                "docMdp": c.found.doc_mdp,
            });
            if let Some(p) = c.found.doc_mdp {
                text.push_str(&format!("  {}\n", tr!("cli-verify-certified", n = p)));
            }
            match &c.outcome {
                Ok(v) => {
                    let level = c.level().map(Level::name);
                    entry["signer"] = json!(v.signer_cn);
                    entry["level"] = json!(level);
                    entry["timestamp"] =
                        json!(v.timestamp.as_ref().map(|t| json!({"time": time_text(t.time), "tsa": t.tsa_cn})));
                    if c.is_document_timestamp() {
                        text.push_str(&format!("  {}\n", tr!("cli-verify-document-timestamp")));
                    } else {
                        text.push_str(&format!("  {}: {}\n", tr!("cli-label-signer"), v.signer_cn));
                        text.push_str(&format!("  {}: {}\n", tr!("cli-label-level"), level.unwrap_or_default()));
                    }
                    if let Some(t) = &v.timestamp {
                        text.push_str(&timestamp_line(t));
                    }
                }
                Err(r) => {
                    entry["reason"] = json!(r.detail);
                    entry["why"] = json!(r.why.code());
                    text.push_str(&rejection_lines(r));
                }
            }
            if let Some(line) = c.revocation.as_ref().and_then(|r| report_revocation(r, &mut entry)) {
                text.push_str(&line);
            }
            if let Some(t) = &c.found.claimed_time {
                text.push_str(&format!("  {}: {t}\n", tr!("cli-label-claimed-time")));
            }
            match (&c.changed_after, c.covers_whole_file) {
                (Some(what), _) => text.push_str(&format!("  {}\n  ({what})\n", tr!("cli-verify-changed-after"))),
                (None, true) => text.push_str(&format!("  {}\n", tr!("cli-verify-covers-whole"))),
                (None, false) => text.push_str(&format!("  {}\n", tr!("cli-verify-later-signatures"))),
            }
            list.push(entry);
        }
        Ok(Outcome {
            json: json!({"valid": valid, "format": "pades", "signatures": list}),
            text,
            exit: if valid { exit::OK } else { exit::INVALID },
        })
    }

    /// An ASiC-E container: each signature over its manifest, each document's digest,
    /// no document unsigned.
    fn verify_container(bytes: &[u8], trust: &TrustStore, online: Option<&Fetching>) -> Result<Outcome, Failure> {
        let check = validation::check_container(bytes, trust, online).map_err(Error::from)?;
        let valid = check.valid();
        let mut text = format!("{}\n", if valid { tr!("cli-verify-valid") } else { tr!("cli-verify-invalid") });
        let mut signatures = Vec::new();
        for (file, outcome) in &check.signatures {
            match outcome {
                Ok(validation::CadesCheck { verified: v, level, revocation }) => {
                    text.push_str(&format!(
                        "  {file}: {}: {} ({}: {})\n",
                        tr!("cli-label-signer"),
                        v.signer_cn,
                        tr!("cli-label-level"),
                        level.name()
                    ));
                    let mut entry = json!({
                        "file": file, "valid": true, "signer": v.signer_cn, "level": level.name(),
                        "signingTime": time_text(v.signing_time),
                        "timestamp": v.timestamp.as_ref().map(|t| json!({"time": time_text(t.time), "tsa": t.tsa_cn})),
                    });
                    // The container's text has one line per signature: the JSON says it.
                    let _ = report_revocation(revocation, &mut entry);
                    signatures.push(entry);
                }
                Err(r) => {
                    text.push_str(&format!("  {file}: {} ({})\n", r.told(), r.detail));
                    signatures.push(json!({"file": file, "valid": false, "reason": r.detail, "why": r.why.code()}));
                }
            }
        }
        if check.signatures.is_empty() {
            text.push_str(&format!("  {}\n", tr!("cli-verify-no-signature")));
        }
        let mut documents = Vec::new();
        for (name, problem) in &check.documents {
            match problem {
                None => text.push_str(&format!("  ✓ {name}\n")),
                Some(r) => text.push_str(&format!("  ✗ {name}: {} ({})\n", r.told(), r.detail)),
            }
            documents.push(json!({
                "name": name,
                "signed": problem.is_none(),
                "problem": problem.as_ref().map(|r| &r.detail),
                "why": problem.as_ref().map(|r| r.why.code()),
            }));
        }
        Ok(Outcome {
            json: json!({"valid": valid, "format": "asice", "signatures": signatures, "documents": documents}),
            text,
            exit: if valid { exit::OK } else { exit::INVALID },
        })
    }
}
