//! Signed documents: what a citizen signs and sends to an agency, and checks when it
//! comes back (ETSI EN 319 122 CAdES, EN 319 142 PAdES).
//!
//! - [`timestamp`]: RFC 3161 time-stamps from a configured time-stamping authority, and
//!   the CAdES/PAdES signature time-stamp (level B-T) built on them.
//! - [`pdf`]: PAdES — the incremental update that carries a signature in a PDF, and the
//!   signatures found in one; [`structure`] reads a PDF's objects for it without copying
//!   its streams' data.
//! - [`asic`]: ASiC-E containers (CAdES): several files signed together.
//! - [`validation`]: checking each signature of a PDF or a container, and what changed
//!   after it.
//!
//! The signature itself is [`crate::signing::cms`]'s CAdES; this module packs it.

pub mod appearance;
pub mod asic;
pub mod ltv;
pub mod ocsp;
pub mod pdf;
mod structure;
pub mod timestamp;
pub mod validation;

/// AdES baseline levels (ETSI EN 319 122-1 §5, EN 319 142-1 §5): what a signature
/// carries beyond the signed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// B-B: the signature and the signer's certificate (bound by signing-certificate-v2).
    B,
    /// B-T: B-B and a trusted time, an RFC 3161 time-stamp over the signature value.
    T,
    /// B-LT: B-T and the validation data (certificates, CRLs) in the document's DSS
    /// (PAdES, EN 319 142-1 §5.4).
    LT,
    /// B-LTA: B-LT and a document time-stamp over all of it (PAdES, EN 319 142-1 §5.5),
    /// which keeps the evidence provable after the TSA's certificate expires.
    LTA,
}

impl Level {
    /// `B-B`, `B-T`: as the standards and validators name them.
    pub fn name(self) -> &'static str {
        match self {
            Level::B => "B-B",
            Level::T => "B-T",
            Level::LT => "B-LT",
            Level::LTA => "B-LTA",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_uppercase().as_str() {
            "B" | "B-B" | "BES" => Ok(Level::B),
            "T" | "B-T" => Ok(Level::T),
            "LT" | "B-LT" => Ok(Level::LT),
            "LTA" | "B-LTA" => Ok(Level::LTA),
            other => Err(format!("unknown level {other:?}: B (B-B), T (B-T), LT (B-LT) or LTA (B-LTA, PDFs)")),
        }
    }
}

/// The space a PAdES signature reserves in the PDF for its CMS (hex in `/Contents`,
/// which cannot grow once the byte range is fixed): the signer's certificate and chain,
/// the signature, the signed attributes, and at B-T a time-stamp token with the TSA's
/// own certificates. Generous, as a signature that does not fit is lost.
pub fn pades_reserve(certificate: &[u8], chain: &[Vec<u8>], level: Level) -> usize {
    let certs: usize = certificate.len() + chain.iter().map(Vec::len).sum::<usize>();
    2 * certs + 4096 + if level >= Level::T { 16 * 1024 } else { 0 }
}

/// The CAdES signature of a prepared PDF (ETSI EN 319 142-1 §5.1, `ETSI.CAdES.detached`):
/// detached, over the digest of its byte range, without signing-time (§5.3: the time is
/// the signature dictionary's `/M`). `sign` is the card's signing callback.
pub fn pades_cms(
    prepared: &pdf::Prepared,
    certificate: &[u8],
    chain: &[Vec<u8>],
    sign: &mut crate::signing::cms::SignFn<'_>,
) -> crate::Result<Vec<u8>> {
    use crate::signing::cms;
    let key = mohur_apdu::x509::key_algorithm(certificate).map_err(|e| crate::Error::Token(e.to_string()))?;
    let alg = cms::digest_alg_for(key);
    let digest = prepared.digest(alg)?;
    let req = cms::SignRequest {
        certificate,
        chain,
        content: cms::Content::Digest { alg, digest: &digest },
        detached: true,
        signing_time: None,
    };
    cms::sign_cades(&req, sign)
}

/// B-LTA (ETSI EN 319 142-1 §5.5): a document time-stamp from `tsa` appended to `pdf` (a
/// B-LT PDF), in an incremental update covering everything before it.
pub fn add_document_timestamp(pdf: Vec<u8>, tsa: &timestamp::Tsa) -> crate::Result<Vec<u8>> {
    let options = pdf::SignatureOptions {
        signing_time: std::time::SystemTime::now(),
        name: None,
        reason: None,
        // A token with the TSA's certificates is a few KiB.
        reserve: 24 * 1024,
        document_timestamp: true,
        visible: None,
    };
    let prepared = pdf::prepare(pdf, &options)?;
    let digest = prepared.digest(mohur_apdu::HashAlg::Sha256)?;
    let token = timestamp::token_for_digest(tsa, mohur_apdu::HashAlg::Sha256, &digest)?;
    Ok(prepared.finish(&token)?)
}

/// Writes `bytes` to `path` so that `path` is either the old file or the whole new one,
/// never half of it: a temporary file next to it, flushed to disk, then renamed over.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("no file name"))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
