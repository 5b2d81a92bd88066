//! ASiC-E containers with CAdES (ETSI EN 319 162-1 §4.4.3 and Annex A.4): several files
//! signed together in one ZIP.
//!
//! The container holds `mimetype` (first, stored, `application/vnd.etsi.asic-e+zip`),
//! the documents, `META-INF/ASiCManifest.xml` naming each document with its digest, and
//! `META-INF/signature001.p7s`: a detached CAdES signature over the manifest's bytes.
//!
//! Why CAdES rather than XAdES: an XAdES signature needs XML canonicalisation (C14N) of
//! the signed properties, and Rust has no well-kept C14N library; the CAdES variant is
//! the same standard's other profile and reuses mohur's CAdES (and its B-T time-stamp)
//! unchanged. Its signed bytes are the manifest file as stored, so nothing is
//! re-serialised before checking.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use quick_xml::events::Event;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// The `mimetype` entry's content (EN 319 162-1 §A.1).
pub const MIMETYPE: &str = "application/vnd.etsi.asic-e+zip";
/// Where mohur puts the manifest.
pub const MANIFEST: &str = "META-INF/ASiCManifest.xml";
/// Where mohur puts the signature.
pub const SIGNATURE: &str = "META-INF/signature001.p7s";
/// A container whose documents expand to more than this in all is refused (a ZIP can
/// claim, and inflate to, far more than it weighs). Documents are hashed as they are
/// inflated and never kept, so this bounds the work, not the memory.
const MAX_EXPANDED: u64 = 1 << 30;
/// A `META-INF/` entry (a manifest, a signature) larger than this is refused: those are
/// kept in memory, and are a few KiB.
const MAX_META: u64 = 16 << 20;
/// At most this many entries.
const MAX_ENTRIES: usize = 10_000;

/// The XML-DSig digest method URIs (RFC 6931 §2.1.3; RFC 3275 §6.2.1 for SHA-1 is not
/// accepted).
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA384_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const SHA512_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// Why a container cannot be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsicError {
    /// Not a ZIP, or a damaged one.
    #[error("not a ZIP container mohur can read: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Reading or writing the ZIP's entries.
    #[error("the container could not be read or written: {0}")]
    Io(#[from] std::io::Error),
    /// A ZIP, but not an ASiC-E container as EN 319 162-1 has it.
    #[error("not an ASiC-E container: {0}")]
    Structure(String),
    /// A document name that cannot go into a container.
    #[error("{0:?} cannot be a document's name in a container")]
    Name(String),
}

/// A document in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its name in the container (a plain file name).
    pub name: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// A document name goes in as is: a plain file name, not `mimetype`, nothing under
/// `META-INF/`, no path, no control characters.
fn check_name(name: &str) -> Result<(), AsicError> {
    let bad = name.is_empty()
        || name == "mimetype"
        || name.contains(['/', '\\'])
        || name.starts_with("META-INF")
        || name == "."
        || name == ".."
        || name.chars().any(char::is_control);
    if bad {
        Err(AsicError::Name(name.to_owned()))
    } else {
        Ok(())
    }
}

/// A URI reference for a file name (RFC 3986 §2: unreserved characters as they are, the
/// rest of the UTF-8 percent-encoded).
fn uri_of(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn name_of_uri(uri: &str) -> String {
    let b = uri.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The ASiCManifest (EN 319 162-1 §A.4, schema of Annex A.5) for `documents`, each with
/// its SHA-256, for the signature at [`SIGNATURE`].
pub fn manifest(documents: &[Document]) -> Result<Vec<u8>, AsicError> {
    use base64::Engine;
    use sha2::Digest;
    let mut seen = std::collections::BTreeSet::new();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <asic:ASiCManifest xmlns:asic=\"http://uri.etsi.org/02918/v1.2.1#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n",
    );
    xml.push_str(&format!("  <asic:SigReference URI=\"{SIGNATURE}\" MimeType=\"application/pkcs7-signature\"/>\n"));
    for d in documents {
        check_name(&d.name)?;
        if !seen.insert(d.name.as_str()) {
            return Err(AsicError::Name(d.name.clone()));
        }
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&d.data));
        xml.push_str(&format!(
            "  <asic:DataObjectReference URI=\"{}\">\n    <ds:DigestMethod Algorithm=\"{SHA256_URI}\"/>\n    \
             <ds:DigestValue>{digest}</ds:DigestValue>\n  </asic:DataObjectReference>\n",
            uri_of(&d.name)
        ));
    }
    xml.push_str("</asic:ASiCManifest>\n");
    Ok(xml.into_bytes())
}

/// The container: `mimetype` first and stored (§A.1), the documents (deflated), the
/// manifest and the signature.
pub fn build(documents: &[Document], manifest: &[u8], signature: &[u8]) -> Result<Vec<u8>, AsicError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(false);
    zip.start_file("mimetype", stored)?;
    zip.write_all(MIMETYPE.as_bytes())?;
    for d in documents {
        check_name(&d.name)?;
        zip.start_file(d.name.as_str(), deflated)?;
        zip.write_all(&d.data)?;
    }
    zip.start_file(MANIFEST, deflated)?;
    zip.write_all(manifest)?;
    zip.start_file(SIGNATURE, stored)?;
    zip.write_all(signature)?;
    Ok(zip.finish()?.into_inner())
}

/// A container's contents: each signature with the manifest it signs, and the documents'
/// digests.
#[derive(Debug, Clone, Default)]
pub struct Opened {
    /// (manifest name, manifest bytes, parsed manifest), for each `META-INF/ASiCManifest*.xml`.
    pub manifests: Vec<(String, Vec<u8>, Manifest)>,
    /// Every entry outside `META-INF/` but `mimetype`, by name: its digests, computed
    /// while it was inflated (the document itself is not kept).
    pub documents: BTreeMap<String, Digests>,
    /// Every entry under `META-INF/`, by name.
    pub meta: BTreeMap<String, Vec<u8>>,
}

/// What an ASiCManifest says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The signature file it is for (`SigReference/@URI`).
    pub signature: String,
    /// The documents it covers: name, digest algorithm URI, digest.
    pub objects: Vec<(String, String, Vec<u8>)>,
}

/// A document's SHA-2 digests, one for each digest method a manifest may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    sha256: Vec<u8>,
    sha384: Vec<u8>,
    sha512: Vec<u8>,
}

impl Digests {
    /// The digest for an XML-DSig digest method URI; `None` for one not accepted.
    pub fn for_method(&self, alg_uri: &str) -> Option<&[u8]> {
        match alg_uri {
            SHA256_URI => Some(&self.sha256),
            SHA384_URI => Some(&self.sha384),
            SHA512_URI => Some(&self.sha512),
            _ => None,
        }
    }
}

/// Inflates `entry` through the three digests, at most `budget` bytes; how many it gave
/// (one more than `budget` when it had more).
fn digest_entry(entry: &mut impl Read, budget: u64) -> Result<(Digests, u64), AsicError> {
    use sha2::Digest;
    let (mut a, mut b, mut c) = (sha2::Sha256::new(), sha2::Sha384::new(), sha2::Sha512::new());
    let mut limited = entry.take(budget + 1);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        a.update(&buf[..n]);
        b.update(&buf[..n]);
        c.update(&buf[..n]);
    }
    Ok((Digests { sha256: a.finalize().to_vec(), sha384: b.finalize().to_vec(), sha512: c.finalize().to_vec() }, total))
}

/// Opens a container: `mimetype` must be the first entry, stored, and say ASiC-E.
pub fn open(bytes: &[u8]) -> Result<Opened, AsicError> {
    open_within(bytes, MAX_EXPANDED)
}

/// [`open`] with the documents' expansion limited to `max_expanded` bytes in all.
fn open_within(bytes: &[u8], max_expanded: u64) -> Result<Opened, AsicError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    if zip.len() > MAX_ENTRIES {
        return Err(AsicError::Structure(format!("{} entries", zip.len())));
    }
    {
        let mut first = zip.by_index(0)?;
        if first.name() != "mimetype" || first.compression() != CompressionMethod::Stored {
            return Err(AsicError::Structure("the first entry is not a stored `mimetype`".into()));
        }
        let mut m = String::new();
        first.by_ref().take(256).read_to_string(&mut m)?;
        if m != MIMETYPE {
            return Err(AsicError::Structure(format!("the mimetype is {m:?}")));
        }
    }
    let mut opened = Opened::default();
    let mut total = 0u64;
    for i in 1..zip.len() {
        let mut entry = zip.by_index(i)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        // Read at most one byte past a budget: a bomb is caught by what it gives, not by
        // what its header claims.
        let twice = if name.starts_with("META-INF/") {
            let mut data = Vec::new();
            entry.by_ref().take(MAX_META + 1).read_to_end(&mut data)?;
            if data.len() as u64 > MAX_META {
                return Err(AsicError::Structure(format!("{name:?} is larger than {} MiB", MAX_META >> 20)));
            }
            opened.meta.insert(name.clone(), data).is_some()
        } else {
            let (digests, size) = digest_entry(&mut entry, max_expanded - total)?;
            total += size;
            if total > max_expanded {
                return Err(AsicError::Structure(format!(
                    "the container expands to more than {} MiB",
                    max_expanded >> 20
                )));
            }
            opened.documents.insert(name.clone(), digests).is_some()
        };
        if twice {
            return Err(AsicError::Structure(format!("{name:?} is in the container twice")));
        }
    }
    for (name, bytes) in &opened.meta {
        let file = name.trim_start_matches("META-INF/");
        if file.starts_with("ASiCManifest") && file.ends_with(".xml") {
            opened.manifests.push((name.clone(), bytes.clone(), parse_manifest(bytes)?));
        }
    }
    Ok(opened)
}

/// Reads an ASiCManifest by local names (any namespace prefixes).
pub fn parse_manifest(xml: &[u8]) -> Result<Manifest, AsicError> {
    let bad = |e: &dyn std::fmt::Display| AsicError::Structure(format!("the manifest: {e}"));
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut manifest = Manifest::default();
    let mut current: Option<(String, String)> = None;
    let mut in_digest_value = false;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |key: &[u8]| -> Result<Option<String>, AsicError> {
                    for a in e.attributes() {
                        let a = a.map_err(|e| bad(&e))?;
                        if a.key.local_name().as_ref() == key {
                            return Ok(Some(a.unescape_value().map_err(|e| bad(&e))?.into_owned()));
                        }
                    }
                    Ok(None)
                };
                match e.local_name().as_ref() {
                    b"SigReference" => manifest.signature = attr(b"URI")?.unwrap_or_default(),
                    b"DataObjectReference" => {
                        let uri = attr(b"URI")?.ok_or_else(|| bad(&"a DataObjectReference without URI"))?;
                        current = Some((name_of_uri(&uri), String::new()));
                    }
                    b"DigestMethod" => {
                        if let Some((_, alg)) = current.as_mut() {
                            *alg = attr(b"Algorithm")?.unwrap_or_default();
                        }
                    }
                    b"DigestValue" => in_digest_value = true,
                    _ => {}
                }
            }
            Event::Text(t) if in_digest_value => {
                use base64::Engine;
                let text = t.unescape().map_err(|e| bad(&e))?;
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let digest = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|e| bad(&e))?;
                if let Some((name, alg)) = current.take() {
                    manifest.objects.push((name, alg, digest));
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"DigestValue" => in_digest_value = false,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if manifest.signature.is_empty() {
        return Err(bad(&"no SigReference"));
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest of `data` for an XML-DSig digest method URI; `None` for one not accepted.
    fn digest_for(alg_uri: &str, data: &[u8]) -> Option<Vec<u8>> {
        use sha2::Digest;
        match alg_uri {
            SHA256_URI => Some(sha2::Sha256::digest(data).to_vec()),
            SHA384_URI => Some(sha2::Sha384::digest(data).to_vec()),
            SHA512_URI => Some(sha2::Sha512::digest(data).to_vec()),
            _ => None,
        }
    }

    fn docs() -> Vec<Document> {
        vec![
            Document { name: "ərizə 1.txt".into(), data: b"first".to_vec() },
            Document { name: "annex.pdf".into(), data: b"%PDF-1.7 second".to_vec() },
        ]
    }

    #[test]
    fn a_built_container_opens_with_its_manifest() {
        let manifest = manifest(&docs()).unwrap();
        let bytes = build(&docs(), &manifest, b"\x30\x00").unwrap();
        // EN 319 162-1 §A.1: "mimetype" stored at offset 30 of the first local header.
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + MIMETYPE.len()], MIMETYPE.as_bytes());
        let opened = open(&bytes).unwrap();
        assert_eq!(opened.documents.len(), 2);
        assert_eq!(opened.documents["ərizə 1.txt"].for_method(SHA256_URI), digest_for(SHA256_URI, b"first").as_deref());
        let (name, raw, parsed) = &opened.manifests[0];
        assert_eq!((name.as_str(), raw), (MANIFEST, &manifest));
        assert_eq!(parsed.signature, SIGNATURE);
        assert_eq!(parsed.objects[0].0, "ərizə 1.txt");
        assert_eq!(digest_for(&parsed.objects[0].1, b"first").as_ref(), Some(&parsed.objects[0].2));
        assert_eq!(opened.meta[SIGNATURE], b"\x30\x00");
    }

    /// A ZIP bomb: a document that inflates past the limit is refused, read only as far
    /// as the limit (and hashed, never kept).
    #[test]
    fn a_container_that_inflates_past_the_limit_is_refused() {
        let big = Document { name: "bomb.bin".into(), data: vec![0u8; 3 << 20] };
        let bytes = build(std::slice::from_ref(&big), &manifest(std::slice::from_ref(&big)).unwrap(), b"").unwrap();
        assert!(bytes.len() < 64 * 1024, "3 MiB of zeros deflate to {} bytes", bytes.len());
        let err = open_within(&bytes, 2 << 20).unwrap_err();
        assert!(err.to_string().contains("expands to more than 2 MiB"), "{err}");
        assert!(open_within(&bytes, 4 << 20).is_ok());
    }

    #[test]
    fn names_that_would_escape_or_shadow_are_refused() {
        for name in ["../x", "a/b", "META-INF/x", "mimetype", "", "a\nb"] {
            let d = vec![Document { name: name.into(), data: vec![] }];
            assert!(matches!(manifest(&d), Err(AsicError::Name(_))), "{name:?}");
        }
        let twice = vec![Document { name: "a".into(), data: vec![] }, Document { name: "a".into(), data: vec![1] }];
        assert!(matches!(manifest(&twice), Err(AsicError::Name(_))));
    }

    #[test]
    fn a_zip_that_is_not_asic_is_refused() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("a.txt", SimpleFileOptions::default()).unwrap();
        zip.write_all(b"x").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        assert!(matches!(open(&bytes), Err(AsicError::Structure(_))));
        assert!(matches!(open(b"not a zip"), Err(AsicError::Zip(_))));
    }
}
