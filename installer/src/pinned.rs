//! The CA bundle's manifest: every certificate mohur may install, pinned by its SHA-256
//! fingerprint, with where it was published and what it is for (`installer/ca/README.md`).
//!
//! A bundle is a directory holding `manifest.toml` and the certificate files it names.
//! It is refused as a whole when a certificate file is not in the manifest, a listed
//! file is missing, a fingerprint differs, or a private key lies among the certificates:
//! whoever could change a file in the bundle could otherwise make every machine that
//! installs it trust a CA of his own. A manifest without entries is a valid bundle
//! that installs nothing: a build that carries no national CAs says so and changes
//! nothing in the trust stores.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// The manifest's file name inside a bundle.
pub const MANIFEST: &str = "manifest.toml";

/// A CA's place in its hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A self-signed root ("AZ Root Authority").
    Root,
    /// A policy CA under the root ("AZ Policy Authority (PCA)").
    Policy,
    /// The CA that issues the citizens' certificates ("AZ E-Government Authority (ICA)").
    Issuing,
}

impl Role {
    /// As the manifest and reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Policy => "policy",
            Role::Issuing => "issuing",
        }
    }
}

/// One pinned CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedCa {
    /// The certificate's file in the bundle (PEM or DER).
    pub file: String,
    /// ISO 3166 country (`AZ`, `AM`), or `test` for the test PKI's bundle.
    pub country: String,
    /// Root, policy or issuing CA.
    pub role: Role,
    /// The subject, as published.
    pub subject: String,
    /// SHA-256 of the DER, `AB:CD:…` (what certutil and `openssl x509 -fingerprint` print).
    pub sha256: String,
    /// Where the certificate was published (URL, document), so that anyone can check it.
    pub published: String,
    /// Anything a reviewer should know.
    #[serde(default)]
    pub note: Option<String>,
}

/// `manifest.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedManifest {
    /// Format version: 1.
    pub format: u32,
    /// The pinned CAs.
    #[serde(default)]
    pub ca: Vec<PinnedCa>,
}

impl PinnedManifest {
    /// The entry pinning the certificate with this SHA-256 (`AB:CD:…`), if any.
    pub fn by_fingerprint(&self, fingerprint_hex: &str) -> Option<&PinnedCa> {
        self.ca.iter().find(|c| normalise(&c.sha256) == normalise(fingerprint_hex))
    }

    /// True for the test PKI's bundle (every entry of country `test`).
    pub fn is_test(&self) -> bool {
        !self.ca.is_empty() && self.ca.iter().all(|c| c.country == "test")
    }
}

fn normalise(fp: &str) -> String {
    fp.chars().filter(|c| c.is_ascii_hexdigit()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The extensions of certificate files (and what a stray key file might be called).
const CERT_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der"];
const KEY_EXTENSIONS: &[&str] = &["key", "p8", "p12", "pfx"];

/// A checked bundle directory: the manifest and, per entry, the file's bytes.
#[derive(Debug, Clone)]
pub struct PinnedBundle {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: PinnedManifest,
    /// `(entry, path, bytes)` for every entry.
    pub files: Vec<(PinnedCa, PathBuf, Vec<u8>)>,
}

/// Reads `dir/manifest.toml` and checks the directory against it: every certificate
/// file listed, every listed file present with the pinned SHA-256, no private key. The
/// certificates themselves (CA rules, the chain) are checked by [`crate::ca::load`].
pub fn read(dir: &Path) -> Result<PinnedBundle, Error> {
    let refuse = |reason: String| Error::Bundle { dir: dir.to_path_buf(), reason };
    let manifest_path = dir.join(MANIFEST);
    let text = fs::read_to_string(&manifest_path).map_err(|e| {
        refuse(format!("no {MANIFEST} ({e}): a CA bundle must pin every certificate it holds (installer/ca/README.md)"))
    })?;
    let manifest: PinnedManifest =
        toml::from_str(&text).map_err(|e| refuse(format!("{MANIFEST}: {}", e.to_string().trim())))?;
    if manifest.format != 1 {
        return Err(refuse(format!("{MANIFEST}: format {} is not 1", manifest.format)));
    }
    let mut listed = BTreeSet::new();
    for entry in &manifest.ca {
        if entry.file.contains(['/', '\\']) || entry.file.starts_with('.') {
            return Err(refuse(format!("{MANIFEST}: {:?} is not a file name in the bundle", entry.file)));
        }
        if !listed.insert(entry.file.clone()) {
            return Err(refuse(format!("{MANIFEST}: {} is listed twice", entry.file)));
        }
    }
    for item in fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = item.map_err(Error::io(dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let head = fs::read(&path).ok().map(|b| String::from_utf8_lossy(&b[..b.len().min(64 * 1024)]).into_owned());
        if KEY_EXTENSIONS.contains(&ext.as_str()) || head.as_deref().is_some_and(|t| t.contains("PRIVATE KEY-----")) {
            return Err(refuse(format!("{name} is a private key: a CA bundle never holds one")));
        }
        if CERT_EXTENSIONS.contains(&ext.as_str()) && !listed.contains(&name) {
            return Err(refuse(format!("{name} is not in {MANIFEST}: every certificate must be pinned there")));
        }
    }
    let mut files = Vec::new();
    for entry in &manifest.ca {
        let path = dir.join(&entry.file);
        let bytes = fs::read(&path).map_err(|e| refuse(format!("{} is listed but cannot be read: {e}", entry.file)))?;
        let der = crate::ca::first_certificate_der(&bytes)
            .map_err(|reason| Error::NotACertificate { path: path.clone(), reason })?;
        let have = crate::ca::fingerprint_hex(&der);
        if normalise(&have) != normalise(&entry.sha256) {
            return Err(refuse(format!(
                "{}: SHA-256 {have} differs from the pinned {} ({MANIFEST})",
                entry.file, entry.sha256
            )));
        }
        files.push((entry.clone(), path, bytes));
    }
    Ok(PinnedBundle { dir: dir.to_path_buf(), manifest, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repositorys_bundle_reads_and_its_entries_are_pinned() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ca");
        let b = read(&dir).unwrap();
        assert_eq!(b.manifest.format, 1);
        assert_eq!(b.files.len(), b.manifest.ca.len());
        for (entry, _, _) in &b.files {
            assert!(["AZ", "AM"].contains(&entry.country.as_str()), "{entry:?}");
            assert!(entry.published.starts_with("http"), "{entry:?}");
        }
    }

    #[test]
    fn fingerprints_compare_whatever_their_spelling() {
        let m = PinnedManifest {
            format: 1,
            ca: vec![PinnedCa {
                file: "a.pem".into(),
                country: "test".into(),
                role: Role::Root,
                subject: "CN=a".into(),
                sha256: "ab:cd".into(),
                published: "x".into(),
                note: None,
            }],
        };
        assert!(m.by_fingerprint("AB:CD").is_some() && m.by_fingerprint("abcd").is_some());
        assert!(m.by_fingerprint("AB:CE").is_none());
        assert!(m.is_test());
    }
}
