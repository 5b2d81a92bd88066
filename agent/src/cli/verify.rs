//! `mohur verify FILE.p7s`: checks a CAdES signature as a relying party does
//! ([`crate::signing::verify::verify_cms`]): the signature, the content's digest, the
//! signer's certificate path to a trusted root, the signing-certificate-v2 binding and
//! the signing time.
//!
//! Trust: `--ca-bundle` (a PEM file or a directory: the self-signed root and the CAs
//! below it), else the CA bundle mohur installs ([`super::installed_ca_dir`]). A
//! detached signature needs its content: `--content FILE`, else `FILE` next to
//! `FILE.p7s`.
//!
//! `--json`: `{"valid": true, "signer", "signingTime", "contentSha256", "detached",
//! "content"}` or `{"valid": false, "reason", …}`; invalid: exit [`exit::INVALID`].

//!
//! The check is RustCrypto's ([`crate::signing::verify`]), the same in every build.

use super::{Failure, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mohur verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The signature (.p7s, DER).
    pub file: PathBuf,
    /// The signed file, for a detached signature (default: FILE.p7s without `.p7s`).
    #[arg(long, value_name = "FILE")]
    pub content: Option<PathBuf>,
    /// Trusted CA certificates: a PEM file or a directory (default: the bundle mohur installs).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mohur verify`.
pub fn run(args: Args) -> ExitCode {
    super::finish(args.json, imp::verify(&args))
}

mod imp {
    use super::*;
    use crate::cli::{exit, hex_lower, installed_ca_dir, load_ca_bundle};
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

    pub(super) fn verify(args: &Args) -> Result<Outcome, Failure> {
        let der = read(&args.file)?;
        let bundle = match &args.ca_bundle {
            Some(p) => p.clone(),
            None => installed_ca_dir().ok_or_else(|| Failure::usage(tr!("cli-error-no-ca-bundle")))?,
        };
        let trust = trust_store(&bundle)?;
        // A detached signature (no eContent, RFC 5652 §5.2) needs the signed file.
        let detached = ContentInfo::from_der(&der)
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
        match verify_cms(&der, content.as_deref(), &trust) {
            Ok(v) => {
                let time = x509_cert::der::DateTime::from_system_time(v.signing_time)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                Ok(Outcome {
                    json: json!({
                        "valid": true,
                        "signer": v.signer_cn,
                        "signingTime": time,
                        "contentSha256": hex_lower(&v.content_sha256),
                        "detached": detached,
                        "content": content_name,
                    }),
                    text: format!(
                        "{}\n  {}: {}\n  {}: {time}\n  SHA-256: {}\n",
                        tr!("cli-verify-valid"),
                        tr!("cli-label-signer"),
                        v.signer_cn,
                        tr!("cli-label-signing-time"),
                        hex_lower(&v.content_sha256)
                    ),
                    exit: exit::OK,
                })
            }
            Err(e) => {
                let reason = match e {
                    Error::BadRequest(m) => m,
                    other => other.to_string(),
                };
                Ok(Outcome {
                    json: json!({"valid": false, "reason": reason, "detached": detached, "content": content_name}),
                    text: format!("{}\n  {reason}\n", tr!("cli-verify-invalid")),
                    exit: exit::INVALID,
                })
            }
        }
    }
}
