//! Loads the CA bundle (root, Policy CA, E-Government CA) and refuses it unless
//! every certificate is a CA certificate and the set chains up to a self-signed root.
//!
//! Signatures are checked with [`mohur_platform::chain`] (RustCrypto), so that the same
//! code runs on Linux and Windows without OpenSSL (RFC 5280 §6.1.3 (a)(1)).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use x509_cert::Certificate;

use crate::Error;

// The OIDs by their RFC names (const-oid's database: RFC 4519 attribute types).
use mohur_platform::chain::verify_signature;
use x509_cert::der::oid::db::rfc4519::CN;

/// The SHA-256 fingerprint of a DER certificate as certutil and `openssl x509
/// -fingerprint -sha256` print it (`AB:CD:…`).
pub fn fingerprint_hex(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Where a CA certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaOrigin {
    /// Pinned in the bundle's manifest ([`crate::pinned`]).
    Pinned(crate::pinned::PinnedCa),
    /// Learned from the citizen's own card: fetched from the URLs its certificates name
    /// (authorityInfoAccess caIssuers) and checked signature by signature up to a
    /// self-signed root (`install --from-card`).
    Learned {
        /// What it was learned from (the card, a certificate file).
        from: String,
    },
}

/// One CA certificate of the bundle, checked.
#[derive(Debug, Clone)]
pub struct CaCert {
    /// DER encoding, as installed.
    pub der: Vec<u8>,
    /// Subject, RFC 4514 string.
    pub subject: String,
    /// Subject commonName, or the whole subject if it has none.
    pub common_name: String,
    /// SHA-256 over the DER: what certutil, Windows and `openssl x509 -fingerprint -sha256` show.
    pub fingerprint: [u8; 32],
    /// Self-issued and self-signed: a trust anchor (root).
    pub is_root: bool,
    /// Number of CA certificates above this one (0 for a root).
    pub depth: usize,
    /// File it came from.
    pub source: PathBuf,
    /// Pinned or learned.
    pub origin: CaOrigin,
}

impl CaCert {
    /// `AB:CD:…`, the form certutil and `openssl x509 -fingerprint` print.
    pub fn fingerprint_hex(&self) -> String {
        colon_hex(&self.fingerprint)
    }

    /// PEM ("CERTIFICATE"), as `update-ca-certificates` wants it in `*.crt` files.
    pub fn pem(&self) -> String {
        let cert = Certificate::from_der(&self.der).expect("DER was parsed when loading");
        cert.to_pem(x509_cert::der::pem::LineEnding::LF).expect("a parsed certificate re-encodes")
    }

    /// A file-name-safe name: lowercase commonName, other characters as `-`.
    pub fn slug(&self) -> String {
        let s: String = self
            .common_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        let s = s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
        if s.is_empty() {
            self.fingerprint_hex().replace(':', "")[..16].to_string()
        } else {
            s
        }
    }

    /// NSS nickname. No `:` in it: certutil reads `token:nickname`. Learned CAs say so,
    /// so that pinned and learned CAs are told apart in every store.
    pub fn nickname(&self) -> String {
        let what = match self.origin {
            CaOrigin::Pinned(_) => "mohur",
            CaOrigin::Learned { .. } => "mohur, from your card",
        };
        format!("{} ({what})", self.common_name.replace(':', " "))
    }

    /// "pinned (AZ root, published at …)" or "learned from …", for reports.
    pub fn origin_text(&self) -> String {
        match &self.origin {
            CaOrigin::Pinned(p) => format!("pinned: {} {} CA, published at {}", p.country, p.role.name(), p.published),
            CaOrigin::Learned { from } => format!("learned from {from}"),
        }
    }

    /// True if its subject says it is a test certificate (it must never be trusted
    /// outside a test).
    pub fn looks_like_test(&self) -> bool {
        subject_says_test(&self.subject)
    }
}

/// True if a subject names itself a test (`Test`, `TEST`, `test` as a word or word part
/// such as "mohur Test Root CA", "Testing CA").
pub fn subject_says_test(subject: &str) -> bool {
    subject.to_ascii_lowercase().contains("test")
}

/// What [`load`] found: the checked CAs, roots first, the manifest, and notes.
#[derive(Debug)]
pub struct Bundle {
    /// Every distinct CA, ordered so that each comes after its issuer.
    pub certs: Vec<CaCert>,
    /// The bundle's manifest.
    pub manifest: crate::pinned::PinnedManifest,
    /// What the citizen should know (an empty manifest).
    pub notes: Vec<String>,
}

/// Loads and checks a bundle directory: its manifest pins every certificate file
/// ([`crate::pinned::read`]), every certificate is a CA, and the set chains up to
/// self-signed roots. An empty manifest gives an empty bundle, with a note.
pub fn load(path: &Path) -> Result<Bundle, Error> {
    let pinned = crate::pinned::read(path)?;
    if pinned.files.is_empty() {
        return Ok(Bundle {
            certs: Vec::new(),
            manifest: pinned.manifest,
            notes: vec![format!(
                "this build carries no national CA certificates ({} lists none): nothing will be added to any trust store; \
                 `mohur-install install --from-card` learns them from your own card",
                path.join(crate::pinned::MANIFEST).display()
            )],
        });
    }
    let mut parsed: Vec<(Certificate, Vec<u8>, PathBuf)> = Vec::new();
    for (_, file, bytes) in &pinned.files {
        let der =
            first_certificate_der(bytes).map_err(|reason| Error::NotACertificate { path: file.clone(), reason })?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| Error::NotACertificate { path: file.clone(), reason: e.to_string() })?;
        parsed.push((cert, der, file.clone()));
    }
    let mut certs = check(&parsed)?;
    for c in &mut certs {
        if let Some(entry) = pinned.manifest.by_fingerprint(&c.fingerprint_hex()) {
            c.origin = CaOrigin::Pinned(entry.clone());
        }
    }
    Ok(Bundle { certs, manifest: pinned.manifest, notes: Vec::new() })
}

/// Checks a set of DER CA certificates learned from `from` as [`load`] checks a
/// bundle: CA rules, and every one chaining to a self-signed root of the set.
pub fn check_learned(ders: &[Vec<u8>], from: &str) -> Result<Vec<CaCert>, Error> {
    let mut parsed = Vec::new();
    for der in ders {
        let cert = Certificate::from_der(der)
            .map_err(|e| Error::NotACertificate { path: PathBuf::from(from), reason: e.to_string() })?;
        parsed.push((cert, der.clone(), PathBuf::from(from)));
    }
    let mut certs = check(&parsed)?;
    for c in &mut certs {
        c.origin = CaOrigin::Learned { from: from.to_owned() };
    }
    Ok(certs)
}

/// The one certificate of a file: DER, or PEM with exactly one `CERTIFICATE` block.
pub fn first_certificate_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let text = String::from_utf8_lossy(bytes);
        let certs = pem_certificates(&text)?;
        if certs.len() != 1 {
            return Err(format!("{} certificates in one file: the manifest pins one per file", certs.len()));
        }
        return certs[0].to_der().map_err(|e| e.to_string());
    }
    Certificate::from_der(bytes).map_err(|e| e.to_string())?;
    Ok(bytes.to_vec())
}

/// Every `CERTIFICATE` block of a PEM file; any other block is an error.
fn pem_certificates(text: &str) -> Result<Vec<Certificate>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label_end = block[11..].find("-----").ok_or("unterminated PEM header")? + 11;
        let label = &block[11..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block.find(&end_marker).ok_or_else(|| format!("no END line for {label}"))? + end_marker.len();
        if label != "CERTIFICATE" {
            return Err(format!("PEM block {label:?} is not a CERTIFICATE"));
        }
        out.push(Certificate::from_pem(&block[..end]).map_err(|e| e.to_string())?);
        rest = &block[end..];
    }
    if out.is_empty() {
        return Err("no PEM CERTIFICATE block".into());
    }
    Ok(out)
}

fn common_name(cert: &Certificate) -> Option<String> {
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == CN {
                if let Ok(s) = atv.value.decode_as::<Utf8StringRef<'_>>() {
                    return Some(s.as_str().to_string());
                }
                if let Ok(s) = atv.value.decode_as::<PrintableStringRef<'_>>() {
                    return Some(s.as_str().to_string());
                }
            }
        }
    }
    None
}

/// Checks RFC 5280 CA rules for each certificate and that the set chains to a root.
fn check(parsed: &[(Certificate, Vec<u8>, PathBuf)]) -> Result<Vec<CaCert>, Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let subject = |c: &Certificate| c.tbs_certificate.subject.to_string();
    // Rules for a certificate to act as a CA (RFC 5280 §4.2.1.9, §4.2.1.3, §4.1.2.5).
    for (cert, _, _) in parsed {
        let tbs = &cert.tbs_certificate;
        let refuse = |reason| Err(Error::NotACa { subject: subject(cert), reason });
        match tbs.get::<BasicConstraints>() {
            Ok(Some((_, bc))) if bc.ca => {}
            Ok(Some(_)) => return refuse("basicConstraints cA is false (an end-entity certificate)"),
            Ok(None) => return refuse("no basicConstraints extension"),
            Err(_) => return refuse("malformed basicConstraints"),
        }
        match tbs.get::<KeyUsage>() {
            Ok(Some((_, ku))) if !ku.key_cert_sign() => return refuse("keyUsage lacks keyCertSign"),
            Err(_) => return refuse("malformed keyUsage"),
            _ => {}
        }
        if tbs.validity.not_after.to_unix_duration() < now {
            return refuse("expired");
        }
        if tbs.validity.not_before.to_unix_duration() > now {
            return refuse("not valid yet");
        }
    }

    // Issuer of each certificate: itself for a root, else the one in the set whose
    // subject matches and whose key verifies the signature (RFC 5280 §6.1.3).
    let mut issuer_of: Vec<Option<usize>> = Vec::with_capacity(parsed.len());
    for (cert, _, _) in parsed {
        let tbs = &cert.tbs_certificate;
        if tbs.issuer == tbs.subject {
            verify_signature(cert, cert)
                .map_err(|e| Error::Chain { subject: subject(cert), reason: format!("self-signature: {e}") })?;
            issuer_of.push(None);
            continue;
        }
        let aki = tbs.get::<AuthorityKeyIdentifier>().ok().flatten().and_then(|(_, a)| a.key_identifier);
        let candidates: Vec<usize> = (0..parsed.len())
            .filter(|&j| parsed[j].0.tbs_certificate.subject == tbs.issuer)
            .filter(|&j| {
                let ski = parsed[j].0.tbs_certificate.get::<SubjectKeyIdentifier>().ok().flatten();
                match (&aki, ski) {
                    (Some(a), Some((_, s))) => *a == s.0,
                    _ => true,
                }
            })
            .collect();
        if candidates.is_empty() {
            return Err(Error::Chain {
                subject: subject(cert),
                reason: format!("its issuer {} is not in the bundle", tbs.issuer),
            });
        }
        let mut last = String::new();
        let found = candidates.iter().copied().find(|&j| match verify_signature(cert, &parsed[j].0) {
            Ok(()) => true,
            Err(e) => {
                last = e;
                false
            }
        });
        match found {
            Some(j) => issuer_of.push(Some(j)),
            None => {
                return Err(Error::Chain {
                    subject: subject(cert),
                    reason: format!(
                        "signature does not verify with the key of {} ({last}): not issued by it",
                        tbs.issuer
                    ),
                })
            }
        }
    }

    // Depth (CAs above), loop guard, and pathLenConstraint of every ancestor (§4.2.1.9).
    let mut depth = vec![0usize; parsed.len()];
    for i in 0..parsed.len() {
        let mut chain = vec![i];
        let mut cur = i;
        while let Some(j) = issuer_of[cur] {
            if chain.contains(&j) || chain.len() > 16 {
                return Err(Error::Chain { subject: subject(&parsed[i].0), reason: "issuer loop".into() });
            }
            chain.push(j);
            cur = j;
        }
        depth[i] = chain.len() - 1;
        // chain[k] has k CA certificates after it in a path ending at certificate i.
        for (k, &anc) in chain.iter().enumerate().skip(1) {
            if issuer_of[anc].is_none() {
                continue; // a trust anchor's own constraints are not path-processed (§6.1)
            }
            if let Ok(Some((_, bc))) = parsed[anc].0.tbs_certificate.get::<BasicConstraints>() {
                if let Some(max) = bc.path_len_constraint {
                    if k > usize::from(max) {
                        return Err(Error::Chain {
                            subject: subject(&parsed[i].0),
                            reason: format!("too deep under {} (pathLenConstraint {max})", subject(&parsed[anc].0)),
                        });
                    }
                }
            }
        }
    }

    let mut out: Vec<CaCert> = parsed
        .iter()
        .zip(&depth)
        .zip(&issuer_of)
        .map(|(((cert, der, path), &depth), issuer)| CaCert {
            der: der.clone(),
            subject: subject(cert),
            common_name: common_name(cert).unwrap_or_else(|| subject(cert)),
            fingerprint: Sha256::digest(der).into(),
            is_root: issuer.is_none(),
            depth,
            source: path.clone(),
            origin: CaOrigin::Learned { from: path.display().to_string() },
        })
        .collect();
    out.sort_by_key(|c| c.depth);
    Ok(out)
}
