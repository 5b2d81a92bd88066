//! PAdES: a CAdES signature in a PDF (ETSI EN 319 142-1, ISO 32000-1 §12.8).
//!
//! The signature goes in an **incremental update** (ISO 32000-1 §7.5.6): the original
//! bytes stay as they are, and appended to them are a signature dictionary, a signature
//! field with its widget (invisible, on the first page; or a box on the chosen page, at
//! its lower left as a reader shows it: [`super::appearance`]), the rewritten objects that point
//! to them (the page's `/Annots`, the `/AcroForm` and its `/Fields`), a cross-reference
//! section of the same kind as the file's last one (a table or a stream, §7.5.8) and a
//! trailer whose `/Prev` points back. Earlier signatures cover the earlier bytes, so they
//! stay valid, and a second signer signs the same way.
//!
//! The signature dictionary's `/ByteRange` (§12.8.1) covers the whole file but the hex
//! string of `/Contents`; the CMS over those bytes (`/SubFilter /ETSI.CAdES.detached`,
//! EN 319 142-1 §5.1) is written into the reserved space, which keeps every offset.
//!
//! lopdf reads the file (catalogue, pages, AcroForm, cross-reference streams); what is
//! appended is written here, byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::time::SystemTime;

use super::structure::Unread;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, StringFormat};
use mohur_apdu::HashAlg;

/// Why a PDF cannot be signed as asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// Not a PDF mohur can read.
    #[error("this is not a PDF mohur can read: {0}")]
    Unreadable(#[source] lopdf::Error),
    /// The file's cross-reference data is damaged (a reader repaired it on loading): an
    /// update appended to it could point at the wrong objects.
    #[error("the PDF's cross-reference table is damaged; open it in a PDF program and save it again before signing")]
    Damaged,
    /// Encrypted PDFs are not signed (their strings would have to be encrypted too).
    #[error("the PDF is encrypted (password-protected); mohur does not sign encrypted PDFs")]
    Encrypted,
    /// Written so that PDF programs can show different documents in it (an object listed
    /// twice, an object stream whose member is not the object its entry names): neither
    /// signed nor checked.
    #[error("the PDF is written ambiguously (programs may show different documents): {0}")]
    Ambiguous(String),
    /// A structure the signature needs is missing or malformed.
    #[error("the PDF's structure is not as the standard has it: {0}")]
    Structure(String),
    /// The document is certified with no changes allowed (DocMDP P=1): a signature after
    /// it would invalidate the certification.
    #[error("the PDF is certified with no changes allowed: another signature would break its certification")]
    NoChangesAllowed,
    /// A visible signature was asked for on a page the document does not have.
    #[error("the PDF has {pages} page(s): there is no page {page} to show the signature on")]
    NoSuchPage {
        /// The page asked for (from 1).
        page: u32,
        /// How many there are.
        pages: usize,
    },
    /// The visible signature's box could not be drawn (its font).
    #[error("the visible signature cannot be drawn: {0}")]
    Appearance(#[from] super::appearance::FontError),
    /// The CMS signature does not fit the space reserved for it.
    #[error("the signature ({0} bytes) does not fit the space reserved for it ({1} bytes)")]
    TooLarge(usize, usize),
}

impl PdfError {
    fn structure(what: impl Into<String>) -> PdfError {
        PdfError::Structure(what.into())
    }
}

/// What the signing dialog shows of a PDF, and what the signature needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfInfo {
    /// Number of pages.
    pub pages: usize,
    /// `/Title` of the document information dictionary, if any.
    pub title: Option<String>,
    /// Signature fields that already carry a signature.
    pub signatures: usize,
}

/// Reads what [`PdfInfo`] tells.
pub fn info(pdf: &[u8]) -> Result<PdfInfo, PdfError> {
    let doc = load(pdf)?;
    let title = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|i| doc.dereference(i).ok())
        .and_then(|(_, i)| i.as_dict().ok())
        .and_then(|i| i.get(b"Title").ok())
        .and_then(|t| doc.dereference(t).ok())
        .and_then(|(_, t)| t.as_str().ok())
        .map(text_string_value);
    let signatures = fields(&doc).iter().filter(|f| f.signed).count();
    Ok(PdfInfo { pages: doc.get_pages().len(), title, signatures })
}

/// A signature found in a PDF (ISO 32000-1 §12.8.1): its field, its dictionary's
/// entries, the CMS and the bytes it covers. Nothing is checked here beyond the shape
/// of `/ByteRange`: see [`crate::documents::validation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSignature {
    /// The field's name (`/T`).
    pub field: String,
    /// `/SubFilter` (`ETSI.CAdES.detached`, `adbe.pkcs7.detached`, `ETSI.RFC3161`).
    pub sub_filter: String,
    /// `/ByteRange`: offset, length, offset, length.
    pub byte_range: [usize; 4],
    /// The DER CMS from `/Contents`, without the padding after it.
    pub cms: Vec<u8>,
    /// `/M`, as written (a PDF date).
    pub claimed_time: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// A certification signature's DocMDP permissions (`/P` of its `/Reference`'s
    /// DocMDP transform, ISO 32000-1 §12.8.2.2): 1 no changes, 2 form filling and
    /// signing, 3 also annotations; `None` for an approval signature.
    pub doc_mdp: Option<u8>,
}

impl FoundSignature {
    /// Where the signed bytes end: the end of the revision the signature covers.
    pub fn covers_until(&self) -> usize {
        self.byte_range[2] + self.byte_range[3]
    }

    /// The two signed parts of `pdf`.
    pub fn signed_parts<'a>(&self, pdf: &'a [u8]) -> [&'a [u8]; 2] {
        let [a, b, c, d] = self.byte_range;
        [&pdf[a..a + b], &pdf[c..c + d]]
    }
}

/// Every signature of `pdf`, in the order of the fields. A `/ByteRange` that does not
/// start at 0, overlaps, runs past the end, or leaves out anything but the `/Contents`
/// hex string itself is [`PdfError::Structure`]: such a range could hide changes.
pub fn signatures(pdf: &[u8]) -> Result<Vec<FoundSignature>, PdfError> {
    Ok(read_signed(pdf)?.0)
}

/// [`signatures`], and whether the document has a DSS with revocation data (`/CRLs` or
/// `/OCSPs` not empty), from one parse of the file.
pub fn read_signed(pdf: &[u8]) -> Result<(Vec<FoundSignature>, bool), PdfError> {
    signatures_in(&load(pdf)?, pdf)
}

/// [`read_signed`] of `doc`, `pdf` [`load`]ed.
pub(crate) fn signatures_in(doc: &Document, pdf: &[u8]) -> Result<(Vec<FoundSignature>, bool), PdfError> {
    let has_dss = has_revocation_data(doc);
    let mut found = Vec::new();
    for field in signature_fields(doc) {
        let Some(sig) = deref_dict(doc, field.get(b"V").ok()) else { continue };
        let name = |d: &Dictionary, k: &[u8]| {
            d.get(k).ok().and_then(|o| o.as_name().ok()).map(|n| String::from_utf8_lossy(n).into_owned())
        };
        let text = |k: &[u8]| {
            sig.get(k)
                .ok()
                .and_then(|o| doc.dereference(o).ok())
                .and_then(|(_, o)| o.as_str().ok())
                .map(text_string_value)
        };
        let field_name = field.get(b"T").ok().and_then(|t| t.as_str().ok()).map(text_string_value).unwrap_or_default();
        let range: Vec<i64> = sig
            .get(b"ByteRange")
            .ok()
            .and_then(|r| doc.dereference(r).ok())
            .and_then(|(_, r)| r.as_array().ok())
            .map(|a| a.iter().filter_map(|n| n.as_i64().ok()).collect())
            .unwrap_or_default();
        let bad = |why: &str| PdfError::structure(format!("signature {field_name:?}: {why}"));
        let byte_range: [usize; 4] = match range.as_slice() {
            [a, b, c, d] if [*a, *b, *c, *d].iter().all(|n| *n >= 0) => {
                [*a as usize, *b as usize, *c as usize, *d as usize]
            }
            _ => return Err(bad("/ByteRange is not four offsets and lengths")),
        };
        let [a, b, c, d] = byte_range;
        if a != 0 || b >= c || c.checked_add(d).is_none_or(|end| end > pdf.len()) {
            return Err(bad("/ByteRange does not cover the file from its start, in order"));
        }
        // The gap must be exactly `<hex digits>`: nothing else may go unsigned.
        let gap = &pdf[b..c];
        if gap.len() < 2
            || gap[0] != b'<'
            || gap[gap.len() - 1] != b'>'
            || !gap[1..gap.len() - 1].iter().all(u8::is_ascii_hexdigit)
        {
            return Err(bad("/ByteRange leaves out more than the signature itself"));
        }
        let hex = &gap[1..gap.len() - 1];
        let mut cms: Vec<u8> = hex
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("zz"), 16).unwrap_or(0))
            .collect();
        cms.truncate(der_length(&cms).ok_or_else(|| bad("/Contents is not a DER signature"))?);
        found.push(FoundSignature {
            field: field_name,
            sub_filter: name(sig, b"SubFilter").unwrap_or_default(),
            byte_range,
            cms,
            claimed_time: text(b"M"),
            name: text(b"Name"),
            reason: text(b"Reason"),
            doc_mdp: doc_mdp(doc, sig),
        });
    }
    Ok((found, has_dss))
}

/// The length of the DER value at the start of `bytes` (tag, length and contents), for
/// a definite length (X.690 §8.1.3).
fn der_length(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.get(1)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let len = bytes.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= bytes.len()).then_some(total)
}

/// The signature fields of the AcroForm (ISO 32000-1 §12.7.3.1), descending into
/// `/Kids`, at most 10 000 of them and 32 levels deep.
fn signature_fields(doc: &Document) -> Vec<&Dictionary> {
    fn walk<'a>(doc: &'a Document, list: &'a [Object], depth: usize, out: &mut Vec<&'a Dictionary>) {
        for f in list {
            if depth > 32 || out.len() > 10_000 {
                return;
            }
            let Some(d) = deref_dict(doc, Some(f)) else { continue };
            if d.get(b"FT").ok().and_then(|t| t.as_name().ok()) == Some(b"Sig") {
                out.push(d);
            }
            if let Some(kids) =
                d.get(b"Kids").ok().and_then(|k| doc.dereference(k).ok()).and_then(|(_, k)| k.as_array().ok())
            {
                walk(doc, kids, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    let Ok(catalog) = doc.catalog() else { return out };
    let Some(acro) = deref_dict(doc, catalog.get(b"AcroForm").ok()) else { return out };
    if let Some(list) =
        acro.get(b"Fields").ok().and_then(|f| doc.dereference(f).ok()).and_then(|(_, f)| f.as_array().ok())
    {
        walk(doc, list, 0, &mut out);
    }
    out
}

/// Whether the document's catalogue has a DSS with revocation data (`/CRLs` or
/// `/OCSPs` not empty).
fn has_revocation_data(doc: &Document) -> bool {
    let Ok(catalog) = doc.catalog() else { return false };
    let Some(dss) = deref_dict(doc, catalog.get(b"DSS").ok()) else { return false };
    let non_empty = |k: &[u8]| {
        dss.get(k)
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_array().ok())
            .is_some_and(|a| !a.is_empty())
    };
    non_empty(b"CRLs") || non_empty(b"OCSPs")
}

/// The certificates, CRLs and OCSP responses (DER) in the document's DSS (none without one).
pub(crate) fn dss_contents(doc: &Document, pdf: &[u8]) -> super::ltv::ValidationData {
    let Ok(catalog) = doc.catalog() else { return Default::default() };
    let Some(dss) = deref_dict(doc, catalog.get(b"DSS").ok()) else { return Default::default() };
    let streams = |key: &[u8]| -> Vec<Vec<u8>> {
        let Some(list) = dss.get(key).ok().and_then(|o| doc.dereference(o).ok()).and_then(|(_, o)| o.as_array().ok())
        else {
            return Vec::new();
        };
        list.iter().filter_map(|o| o.as_reference().ok()).filter_map(|id| stream_data(pdf, doc, id)).collect()
    };
    super::ltv::ValidationData { certificates: streams(b"Certs"), crls: streams(b"CRLs"), ocsps: streams(b"OCSPs") }
}

/// What goes into the signature dictionary besides the signature.
#[derive(Debug, Clone)]
pub struct SignatureOptions<'a> {
    /// The claimed signing time (`/M`; PAdES puts it here, not in the CMS: EN 319 142-1
    /// §5.3).
    pub signing_time: SystemTime,
    /// The signer's name (`/Name`), as the certificate gives it.
    pub name: Option<&'a str>,
    /// Why (`/Reason`).
    pub reason: Option<&'a str>,
    /// Bytes reserved for the DER CMS (written as hex: twice as many characters).
    pub reserve: usize,
    /// A document time-stamp (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`, ETSI EN
    /// 319 142-1 §5.4.3) rather than a signature: its `/Contents` is an RFC 3161 token
    /// over the byte range, and `signing_time`, `name` and `reason` are not written.
    pub document_timestamp: bool,
    /// A visible signature ([`super::appearance`]): a box on a page; `None`: invisible.
    pub visible: Option<&'a super::appearance::Visible>,
}

/// A PDF with its signature's incremental update in place and the space for the CMS still
/// empty. [`Prepared::digest`] is what the CMS signs; [`Prepared::finish`] writes it.
pub struct Prepared {
    bytes: Vec<u8>,
    /// Where the hex digits of `/Contents` are (between `<` and `>`).
    contents: Range<usize>,
    byte_range: [usize; 4],
    /// The new field's name (`/T`).
    pub field: String,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("len", &self.bytes.len()).field("byte_range", &self.byte_range).finish()
    }
}

impl Prepared {
    /// The `/ByteRange` (offset, length, offset, length).
    pub fn byte_range(&self) -> [usize; 4] {
        self.byte_range
    }

    /// The digest of the signed bytes (the two ranges of `/ByteRange`), hashed as a stream.
    pub fn digest(&self, alg: HashAlg) -> Result<Vec<u8>, crate::Error> {
        let [a, b, c, d] = self.byte_range;
        hash_ranges(alg, [&self.bytes[a..a + b], &self.bytes[c..c + d]])
    }

    /// Writes the DER CMS into `/Contents` and returns the signed PDF.
    pub fn finish(mut self, cms: &[u8]) -> Result<Vec<u8>, PdfError> {
        let room = self.contents.len() / 2;
        if cms.len() > room {
            return Err(PdfError::TooLarge(cms.len(), room));
        }
        let mut hex = String::with_capacity(cms.len() * 2);
        for b in cms {
            let _ = write!(hex, "{b:02X}");
        }
        // The rest stays '0': DER ignores what follows its end (ISO 32000-1 §12.8.1).
        self.bytes[self.contents.start..self.contents.start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// Hashes the concatenation of `parts` with `alg` without copying them together.
fn hash_ranges(alg: HashAlg, parts: [&[u8]; 2]) -> Result<Vec<u8>, crate::Error> {
    use sha2::Digest;
    fn run<D: Digest>(parts: [&[u8]; 2]) -> Vec<u8> {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        d.finalize().to_vec()
    }
    Ok(match alg {
        HashAlg::Sha256 => run::<sha2::Sha256>(parts),
        HashAlg::Sha384 => run::<sha2::Sha384>(parts),
        HashAlg::Sha512 => run::<sha2::Sha512>(parts),
        other => return Err(crate::Error::BadRequest(format!("{other:?} is not used for PDF signatures"))),
    })
}

/// Loads the structure of a PDF: every object, with each stream's data replaced by its
/// SHA-256 (object and cross-reference streams keep theirs: lopdf reads objects out of
/// them). Nothing here reads a stream's data, and two streams' digests are equal when
/// their data are, which is what [`super::validation`] compares revisions by.
/// [`stream_data`] reads one stream's data when it is needed (the DSS's).
///
/// [`super::structure`] reads it without copying any stream's data, so that a PDF is held
/// once (the file); a file it does not expect, lopdf reads, which copies each stream's
/// data for a moment while it parses the object and keeps its digest.
pub(crate) fn load(pdf: &[u8]) -> Result<Document, PdfError> {
    Ok(Loaded::of(pdf)?.doc)
}

/// A PDF [`load`]ed, and which reader read it: its earlier revisions are read by the same
/// one ([`Loaded::revision`]), for [`super::validation`] to compare object by object.
/// (Two readers could read the same bytes into objects that compare unequal, or
/// different bytes into equal ones.)
pub(crate) struct Loaded {
    /// The document.
    pub doc: Document,
    by_lopdf: bool,
}

impl Loaded {
    /// [`load`], remembering the reader.
    pub(crate) fn of(pdf: &[u8]) -> Result<Loaded, PdfError> {
        let (doc, by_lopdf) = match super::structure::read(pdf) {
            Ok(doc) => (doc, false),
            Err(Unread::Ambiguous(why)) => return Err(PdfError::Ambiguous(why)),
            Err(Unread::Unexpected(why)) => {
                tracing::debug!(why, "PDF structure: read by lopdf");
                (load_with_lopdf(pdf)?, true)
            }
        };
        Ok(Loaded { doc: not_encrypted(doc)?, by_lopdf })
    }

    /// The revision of `pdf` (the file this was loaded from) that ends at `end`, read by
    /// the same reader; when only lopdf can read it, the whole file too, again by lopdf.
    pub(crate) fn revision(&self, pdf: &[u8], end: usize) -> Result<(Document, Option<Document>), PdfError> {
        let before = &pdf[..end.min(pdf.len())];
        if self.by_lopdf {
            return Ok((not_encrypted(load_with_lopdf(before)?)?, None));
        }
        match super::structure::read(before) {
            Ok(doc) => Ok((not_encrypted(doc)?, None)),
            Err(Unread::Ambiguous(why)) => Err(PdfError::Ambiguous(why)),
            Err(Unread::Unexpected(_)) => {
                Ok((not_encrypted(load_with_lopdf(before)?)?, Some(not_encrypted(load_with_lopdf(pdf)?)?)))
            }
        }
    }
}

fn not_encrypted(doc: Document) -> Result<Document, PdfError> {
    if doc.trailer.get(b"Encrypt").is_ok() || doc.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    Ok(doc)
}

/// [`load`] by lopdf, which repairs what it can (a repaired file is [`PdfError::Damaged`]).
pub(super) fn load_with_lopdf(pdf: &[u8]) -> Result<Document, PdfError> {
    fn digest_stream_data(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
        if let Object::Stream(stream) = object {
            let kind = stream.dict.get(b"Type").and_then(Object::as_name).unwrap_or_default();
            // A stream whose length lopdf could not resolve has no data yet (and a
            // position instead): left for lopdf, which tries again after the others.
            if kind != b"ObjStm" && kind != b"XRef" && stream.start_position.is_none() {
                use sha2::Digest;
                stream.content = sha2::Sha256::digest(&stream.content).to_vec();
            }
        }
        // lopdf keeps a top-level object as the filter left it, but takes an object
        // stream's members from what the filter returns: the object itself, both ways.
        Some((id, object.clone()))
    }
    let options = LoadOptions { filter: Some(digest_stream_data), ..LoadOptions::default() };
    let doc = Document::load_mem_with_options(pdf, options).map_err(|e| match e {
        lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => PdfError::Encrypted,
        e => PdfError::Unreadable(e),
    })?;
    if doc.xref_recovery.is_some() && !(doc.trailer.get(b"Encrypt").is_ok() || doc.is_encrypted()) {
        return Err(PdfError::Damaged);
    }
    Ok(doc)
}

/// The data of stream `id` of `doc` (as [`load`]ed from `pdf`), decoded, read from the
/// file where its cross-reference table says ([`super::structure::stream_data`]).
fn stream_data(pdf: &[u8], doc: &Document, id: ObjectId) -> Option<Vec<u8>> {
    let (dict, data) = super::structure::stream_data(pdf, &doc.reference_table, id)?;
    let stream = lopdf::Stream::new(dict, data.to_vec());
    Some(stream.decompressed_content().unwrap_or(stream.content))
}

/// A form field of the AcroForm (only what signing needs).
struct Field {
    name: Option<Vec<u8>>,
    signed: bool,
}

fn fields(doc: &Document) -> Vec<Field> {
    let Ok(catalog) = doc.catalog() else { return Vec::new() };
    let Some(acro) = deref_dict(doc, catalog.get(b"AcroForm").ok()) else { return Vec::new() };
    let Some(list) =
        acro.get(b"Fields").ok().and_then(|f| doc.dereference(f).ok()).and_then(|(_, f)| f.as_array().ok())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|f| deref_dict(doc, Some(f)))
        .map(|f| Field {
            name: f.get(b"T").ok().and_then(|t| t.as_str().ok()).map(<[u8]>::to_vec),
            signed: f.get(b"FT").ok().and_then(|t| t.as_name().ok()) == Some(b"Sig") && f.get(b"V").is_ok(),
        })
        .collect()
}

fn deref_dict<'a>(doc: &'a Document, o: Option<&'a Object>) -> Option<&'a Dictionary> {
    doc.dereference(o?).ok()?.1.as_dict().ok()
}

/// The DocMDP permissions of the signature dictionary `sig`, if it certifies the document
/// (a `/Reference` to the DocMDP transform method; `/P` defaults to 2, ISO 32000-1
/// §12.8.2.2, Table 254).
fn doc_mdp(doc: &Document, sig: &Dictionary) -> Option<u8> {
    let references = doc.dereference(sig.get(b"Reference").ok()?).ok()?.1.as_array().ok()?;
    let transform = references
        .iter()
        .filter_map(|r| deref_dict(doc, Some(r)))
        .find(|r| r.get(b"TransformMethod").ok().and_then(|m| m.as_name().ok()) == Some(b"DocMDP"))?;
    let p = deref_dict(doc, transform.get(b"TransformParams").ok())
        .and_then(|params| params.get(b"P").ok()?.as_i64().ok())
        .unwrap_or(2);
    Some(p.clamp(1, 3) as u8)
}

/// Prepares the incremental update that will carry a signature (module docs). Takes the
/// original bytes and appends to them.
pub fn prepare(mut pdf: Vec<u8>, options: &SignatureOptions) -> Result<Prepared, PdfError> {
    let doc = load(&pdf)?;
    let root_id =
        doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| PdfError::structure("no /Root"))?;
    let catalog = doc.get_object(root_id).and_then(Object::as_dict).map_err(|_| PdfError::structure("no catalogue"))?;
    // A document certified with no changes allowed (the catalogue's /Perms /DocMDP,
    // §12.8.4) loses its certification to any signature after it.
    let certification = deref_dict(&doc, catalog.get(b"Perms").ok())
        .and_then(|perms| deref_dict(&doc, perms.get(b"DocMDP").ok()))
        .and_then(|sig| doc_mdp(&doc, sig));
    if certification == Some(1) && !options.document_timestamp {
        return Err(PdfError::NoChangesAllowed);
    }
    // The page of the widget: the visible signature's, else the first.
    let pages = doc.get_pages();
    let page_number = options.visible.map_or(1, |v| v.page);
    let first_page = match pages.get(&page_number) {
        Some(id) => *id,
        None if pages.is_empty() => return Err(PdfError::structure("no pages")),
        None => return Err(PdfError::NoSuchPage { page: page_number, pages: pages.len() }),
    };
    let page = doc
        .get_object(first_page)
        .and_then(Object::as_dict)
        .map_err(|_| PdfError::structure("the signature's page"))?;

    let taken: Vec<Vec<u8>> = fields(&doc).into_iter().filter_map(|f| f.name).collect();
    let field = (1..).map(|n| format!("Signature{n}")).find(|n| !taken.iter().any(|t| t == n.as_bytes())).unwrap();

    let size =
        doc.reference_table.size.max(doc.max_id + 1).max(
            doc.trailer.get(b"Size").and_then(Object::as_i64).ok().and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
        );
    let sig_id: ObjectId = (size, 0);
    let widget_id: ObjectId = (size + 1, 0);
    let appearance = match options.visible {
        Some(v) => Some(super::appearance::build(&v.lines, page_view(&doc, first_page), size + 2)?),
        None => None,
    };
    let next = size + 2 + appearance.as_ref().map_or(0, |a| a.objects.len() as u32);

    // Rewritten objects, by id: what points to the new field.
    let mut rewritten: BTreeMap<ObjectId, Object> = BTreeMap::new();

    // The page's /Annots gets the widget (ISO 32000-1 §12.5.2).
    match page.get(b"Annots") {
        Ok(Object::Reference(id)) => {
            let mut annots = doc
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| PdfError::structure("/Annots is not an array"))?
                .clone();
            annots.push(Object::Reference(widget_id));
            rewritten.insert(*id, Object::Array(annots));
        }
        Ok(Object::Array(a)) => {
            let mut page = page.clone();
            let mut annots = a.clone();
            annots.push(Object::Reference(widget_id));
            page.set("Annots", annots);
            rewritten.insert(first_page, Object::Dictionary(page));
        }
        Ok(_) => return Err(PdfError::structure("/Annots is not an array")),
        Err(_) => {
            let mut page = page.clone();
            page.set("Annots", vec![Object::Reference(widget_id)]);
            rewritten.insert(first_page, Object::Dictionary(page));
        }
    }

    // The AcroForm lists the field, with SigFlags SignaturesExist | AppendOnly (§12.7.2).
    let add_field = |acro: &mut Dictionary, rewritten: &mut BTreeMap<ObjectId, Object>| -> Result<(), PdfError> {
        match acro.get(b"Fields") {
            Ok(Object::Reference(id)) => {
                let mut list = doc
                    .get_object(*id)
                    .and_then(Object::as_array)
                    .map_err(|_| PdfError::structure("/Fields is not an array"))?
                    .clone();
                list.push(Object::Reference(widget_id));
                rewritten.insert(*id, Object::Array(list));
            }
            Ok(Object::Array(a)) => {
                let mut list = a.clone();
                list.push(Object::Reference(widget_id));
                acro.set("Fields", list);
            }
            Ok(_) => return Err(PdfError::structure("/Fields is not an array")),
            Err(_) => acro.set("Fields", vec![Object::Reference(widget_id)]),
        }
        acro.set("SigFlags", 3);
        Ok(())
    };
    match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => {
            let mut acro = doc
                .get_object(*id)
                .and_then(Object::as_dict)
                .map_err(|_| PdfError::structure("/AcroForm is not a dictionary"))?
                .clone();
            add_field(&mut acro, &mut rewritten)?;
            rewritten.insert(*id, Object::Dictionary(acro));
        }
        Ok(Object::Dictionary(d)) => {
            let mut acro = d.clone();
            add_field(&mut acro, &mut rewritten)?;
            let mut catalog = catalog.clone();
            catalog.set("AcroForm", acro);
            rewritten.insert(root_id, Object::Dictionary(catalog));
        }
        Ok(_) => return Err(PdfError::structure("/AcroForm is not a dictionary")),
        Err(_) => {
            let mut acro = Dictionary::new();
            add_field(&mut acro, &mut rewritten)?;
            let mut catalog = catalog.clone();
            catalog.set("AcroForm", acro);
            rewritten.insert(root_id, Object::Dictionary(catalog));
        }
    }

    // The field and its widget in one dictionary (§12.7.3.1, §12.5.6.19), printed and
    // locked: invisible (a zero rectangle), or a box with its appearance (§12.5.5).
    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set("T", Object::String(field.as_bytes().to_vec(), StringFormat::Literal));
    widget.set("V", Object::Reference(sig_id));
    widget.set("F", 132);
    match &appearance {
        Some(a) => {
            widget.set("Rect", a.rect.iter().map(|&x| Object::Real(x)).collect::<Vec<_>>());
            let mut ap = Dictionary::new();
            ap.set("N", Object::Reference((a.form, 0)));
            widget.set("AP", ap);
        }
        None => widget.set("Rect", vec![0.into(), 0.into(), 0.into(), 0.into()]),
    }
    widget.set("P", Object::Reference(first_page));

    let xref_is_stream = pdf.get(doc.xref_start..).is_some_and(|rest| !rest.starts_with(b"xref"));
    let prev = doc.xref_start;
    let trailer_entries = carried_trailer(&doc);
    drop(doc);

    // Appending starts on a line of its own.
    if !matches!(pdf.last(), Some(b'\n' | b'\r')) {
        pdf.push(b'\n');
    }
    let mut offsets: BTreeMap<u32, (u16, usize)> = BTreeMap::new();

    // The signature dictionary, with fixed-width placeholders patched below.
    offsets.insert(sig_id.0, (0, pdf.len()));
    let mut sig = if options.document_timestamp {
        format!("{} 0 obj\n<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161", sig_id.0)
    } else {
        format!("{} 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached", sig_id.0)
    };
    if !options.document_timestamp {
        sig.push_str("/M");
        sig.push_str(&serialize(&Object::String(pdf_date(options.signing_time).into_bytes(), StringFormat::Literal)));
        if let Some(name) = options.name {
            sig.push_str("/Name");
            sig.push_str(&serialize(&text_string(name)));
        }
        if let Some(reason) = options.reason {
            sig.push_str("/Reason");
            sig.push_str(&serialize(&text_string(reason)));
        }
    }
    sig.push_str("/ByteRange[0 ");
    let range_at = pdf.len() + sig.len();
    sig.push_str(&" ".repeat(3 * 11 - 1));
    sig.push_str("]/Contents<");
    let contents_at = pdf.len() + sig.len();
    sig.push_str(&"0".repeat(options.reserve * 2));
    sig.push_str(">>>\nendobj\n");
    pdf.extend_from_slice(sig.as_bytes());
    let contents = contents_at..contents_at + options.reserve * 2;

    for (id, object) in std::iter::once((widget_id, Object::Dictionary(widget))).chain(rewritten) {
        offsets.insert(id.0, (id.1, pdf.len()));
        pdf.extend_from_slice(format!("{} {} obj\n{}\nendobj\n", id.0, id.1, serialize(&object)).as_bytes());
    }
    for (n, bytes) in appearance.into_iter().flat_map(|a| a.objects) {
        offsets.insert(n, (0, pdf.len()));
        pdf.extend_from_slice(&bytes);
    }

    append_xref(&mut pdf, &mut offsets, next, xref_is_stream, prev, &trailer_entries);

    // /ByteRange: everything but the hex string of /Contents with its angle brackets.
    let byte_range = [0, contents.start - 1, contents.end + 1, pdf.len() - contents.end - 1];
    let text = format!("{} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    if text.len() > 3 * 11 - 1 {
        return Err(PdfError::structure("the file is too large for a signature's byte range"));
    }
    pdf[range_at..range_at + text.len()].copy_from_slice(text.as_bytes());
    Ok(Prepared { bytes: pdf, contents, byte_range, field })
}

/// What a reader sees of a page: its `/CropBox` within its `/MediaBox` (else the media
/// box; US Letter without either) and its `/Rotate`, each inherited from the page tree
/// where the page has none (ISO 32000-1 §7.7.3.3, §7.7.3.4).
fn page_view(doc: &Document, page: ObjectId) -> super::appearance::PageView {
    let inherited = |key: &[u8]| -> Option<&Object> {
        let mut at = Some(page);
        for _ in 0..32 {
            let dict = at.and_then(|id| doc.get_object(id).and_then(Object::as_dict).ok())?;
            if let Ok(o) = dict.get(key) {
                return Some(doc.dereference(o).map_or(o, |(_, o)| o));
            }
            at = dict.get(b"Parent").and_then(Object::as_reference).ok();
        }
        None
    };
    let rectangle = |key: &[u8]| -> Option<[f32; 4]> {
        let Object::Array(a) = inherited(key)? else { return None };
        let n: Vec<f32> = a.iter().filter_map(|o| o.as_float().ok()).collect();
        match n[..] {
            [x0, y0, x1, y1] => Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]),
            _ => None,
        }
    };
    let media = rectangle(b"MediaBox").unwrap_or([0.0, 0.0, 612.0, 792.0]);
    // The crop box is clipped to the media box; one that misses it is ignored.
    let area = rectangle(b"CropBox")
        .map(|c| [c[0].max(media[0]), c[1].max(media[1]), c[2].min(media[2]), c[3].min(media[3])])
        .filter(|c| c[0] < c[2] && c[1] < c[3])
        .unwrap_or(media);
    let rotate = inherited(b"Rotate").and_then(|r| r.as_i64().ok()).map_or(0, |r| r.rem_euclid(360));
    // Not a multiple of 90 is not a rotation a reader applies (§7.7.3.3): upright.
    let rotate = if rotate % 90 == 0 { rotate as u16 } else { 0 };
    super::appearance::PageView { area, rotate }
}

/// Ends an incremental update: a cross-reference section for `offsets` (object number →
/// generation and offset) of the same kind as the file's last one (`xref_is_stream`: a
/// stream, §7.5.8; else a table, §7.5.4), the trailer entries carried over, `/Prev`,
/// and `startxref`. `next` is the first object number not in use.
fn append_xref(
    pdf: &mut Vec<u8>,
    offsets: &mut BTreeMap<u32, (u16, usize)>,
    mut next: u32,
    xref_is_stream: bool,
    prev: usize,
    trailer_entries: &[(&[u8], Object)],
) {
    let xref_at = pdf.len();
    let mut trailer = String::new();
    for (k, v) in trailer_entries {
        write_name(&mut trailer, k);
        trailer.push(' ');
        trailer.push_str(&serialize(v));
    }
    let _ = write!(trailer, "/Prev {prev}");
    if xref_is_stream {
        // A cross-reference stream (§7.5.8), uncompressed; it lists itself too.
        let xref_id = next;
        next += 1;
        offsets.insert(xref_id, (0, xref_at));
        let width = if xref_at <= u32::MAX as usize { 4 } else { 8 };
        let mut data = Vec::new();
        let mut index = String::new();
        for (n, (generation, offset)) in offsets.iter() {
            let _ = write!(index, "{n} 1 ");
            data.push(1u8);
            data.extend_from_slice(&(*offset as u64).to_be_bytes()[8 - width..]);
            data.extend_from_slice(&generation.to_be_bytes());
        }
        let head = format!(
            "{xref_id} 0 obj\n<</Type/XRef/Size {next}{trailer}/Index[{}]/W[1 {width} 2]/Length {}>>\nstream\r\n",
            index.trim_end(),
            data.len()
        );
        pdf.extend_from_slice(head.as_bytes());
        pdf.extend_from_slice(&data);
        pdf.extend_from_slice(b"\r\nendstream\nendobj\n");
    } else {
        // A cross-reference table (§7.5.4): one subsection per run of numbers.
        let mut table = String::from("xref\n");
        let entries: Vec<_> = offsets.iter().collect();
        let mut i = 0;
        while i < entries.len() {
            let mut j = i + 1;
            while j < entries.len() && *entries[j].0 == entries[j - 1].0 + 1 {
                j += 1;
            }
            let _ = writeln!(table, "{} {}", entries[i].0, j - i);
            for (_, (generation, offset)) in &entries[i..j] {
                let _ = write!(table, "{offset:010} {generation:05} n\r\n");
            }
            i = j;
        }
        let _ = write!(table, "trailer\n<</Size {next}{trailer}>>\n");
        pdf.extend_from_slice(table.as_bytes());
    }
    pdf.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
}

/// The trailer entries an update carries over (§7.5.5): `/Root`, `/Info`, `/ID`.
fn carried_trailer(doc: &Document) -> Vec<(&'static [u8], Object)> {
    [b"Root".as_slice(), b"Info", b"ID"]
        .into_iter()
        .filter_map(|k| doc.trailer.get(k).ok().map(|v| (k, v.clone())))
        .collect()
}

/// Appends a Document Security Store (ETSI EN 319 142-1 §5.4.2, ISO 32000-2 §12.8.4.3)
/// in an incremental update: each certificate, CRL and OCSP response (`OCSPResponse`,
/// DER) as a stream, listed in the DSS's `/Certs`, `/CRLs` and `/OCSPs` (added to a DSS
/// already there, as a second signer's), and the
/// catalogue pointing to it. The signatures before it stay valid: they cover the bytes
/// before it, and a DSS is what a signature may be followed by.
pub fn add_dss(mut pdf: Vec<u8>, data: &super::ltv::ValidationData) -> Result<Vec<u8>, PdfError> {
    let (certificates, crls, ocsps) = (&data.certificates, &data.crls, &data.ocsps);
    let doc = load(&pdf)?;
    let root_id =
        doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| PdfError::structure("no /Root"))?;
    let catalog = doc.get_object(root_id).and_then(Object::as_dict).map_err(|_| PdfError::structure("no catalogue"))?;
    let size =
        doc.reference_table.size.max(doc.max_id + 1).max(
            doc.trailer.get(b"Size").and_then(Object::as_i64).ok().and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
        );
    let mut next = size;
    let (dss_id, mut dss) = match catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => (
            *id,
            doc.get_object(*id)
                .and_then(Object::as_dict)
                .map_err(|_| PdfError::structure("/DSS is not a dictionary"))?
                .clone(),
        ),
        Ok(Object::Dictionary(d)) => {
            next += 1;
            ((next - 1, 0), d.clone())
        }
        Ok(_) => return Err(PdfError::structure("/DSS is not a dictionary")),
        Err(_) => {
            next += 1;
            let mut d = Dictionary::new();
            d.set("Type", Object::Name(b"DSS".to_vec()));
            ((next - 1, 0), d)
        }
    };
    let existing = |key: &[u8]| -> Result<Vec<Object>, PdfError> {
        match dss.get(key) {
            Ok(Object::Array(a)) => Ok(a.clone()),
            Ok(Object::Reference(id)) => Ok(doc
                .get_object(*id)
                .and_then(Object::as_array)
                .map_err(|_| PdfError::structure("a /DSS list is not an array"))?
                .clone()),
            Ok(_) => Err(PdfError::structure("a /DSS list is not an array")),
            Err(_) => Ok(Vec::new()),
        }
    };
    let (mut cert_refs, mut crl_refs, mut ocsp_refs) = (existing(b"Certs")?, existing(b"CRLs")?, existing(b"OCSPs")?);
    let catalog_needs_rewrite = !matches!(catalog.get(b"DSS"), Ok(Object::Reference(_)));
    let mut catalog = catalog.clone();
    let xref_is_stream = pdf.get(doc.xref_start..).is_some_and(|rest| !rest.starts_with(b"xref"));
    let prev = doc.xref_start;
    let trailer_entries = carried_trailer(&doc);
    drop(doc);

    if !matches!(pdf.last(), Some(b'\n' | b'\r')) {
        pdf.push(b'\n');
    }
    let mut offsets: BTreeMap<u32, (u16, usize)> = BTreeMap::new();
    let mut stream = |pdf: &mut Vec<u8>, data: &[u8], next: &mut u32| -> Object {
        let id = *next;
        *next += 1;
        offsets.insert(id, (0, pdf.len()));
        pdf.extend_from_slice(format!("{id} 0 obj\n<</Length {}>>\nstream\n", data.len()).as_bytes());
        pdf.extend_from_slice(data);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        Object::Reference((id, 0))
    };
    for c in certificates {
        cert_refs.push(stream(&mut pdf, c, &mut next));
    }
    for c in crls {
        crl_refs.push(stream(&mut pdf, c, &mut next));
    }
    for o in ocsps {
        ocsp_refs.push(stream(&mut pdf, o, &mut next));
    }
    dss.set("Certs", cert_refs);
    dss.set("CRLs", crl_refs);
    if !ocsp_refs.is_empty() {
        dss.set("OCSPs", ocsp_refs);
    }
    offsets.insert(dss_id.0, (dss_id.1, pdf.len()));
    pdf.extend_from_slice(
        format!("{} {} obj\n{}\nendobj\n", dss_id.0, dss_id.1, serialize(&Object::Dictionary(dss))).as_bytes(),
    );
    if catalog_needs_rewrite {
        catalog.set("DSS", Object::Reference(dss_id));
        offsets.insert(root_id.0, (root_id.1, pdf.len()));
        pdf.extend_from_slice(
            format!("{} {} obj\n{}\nendobj\n", root_id.0, root_id.1, serialize(&Object::Dictionary(catalog)))
                .as_bytes(),
        );
    }
    append_xref(&mut pdf, &mut offsets, next, xref_is_stream, prev, &trailer_entries);
    Ok(pdf)
}

/// A PDF date (ISO 32000-1 §7.9.4), in UTC.
fn pdf_date(t: SystemTime) -> String {
    let dt = der::DateTime::from_system_time(t).unwrap_or_else(|_| {
        der::DateTime::from_unix_duration(std::time::Duration::ZERO).expect("the epoch is a valid date")
    });
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

/// A text string (ISO 32000-1 §7.9.2.2): PDFDocEncoding is ASCII for ASCII text; anything
/// else (Azerbaijani, Armenian names) as UTF-16BE with its byte order mark.
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xfe, 0xff];
        bytes.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

/// The text of a text string (the reverse of [`text_string`]; PDFDocEncoding read as
/// Latin-1, which it is for the printable range).
fn text_string_value(bytes: &[u8]) -> String {
    match bytes {
        [0xfe, 0xff, rest @ ..] => String::from_utf16_lossy(
            &rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect::<Vec<_>>(),
        ),
        _ => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Writes an object in PDF syntax (ISO 32000-1 §7.3). Streams are never rewritten.
fn serialize(o: &Object) -> String {
    let mut out = String::new();
    write_object(&mut out, o);
    out
}

fn write_object(out: &mut String, o: &Object) {
    match o {
        Object::Null => out.push_str("null"),
        Object::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Object::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        // Display never uses an exponent, which PDF does not have (§7.3.3).
        Object::Real(r) => {
            let _ = write!(out, "{r}");
        }
        Object::Name(n) => write_name(out, n),
        Object::String(s, StringFormat::Hexadecimal) => {
            out.push('<');
            for b in s {
                let _ = write!(out, "{b:02X}");
            }
            out.push('>');
        }
        Object::String(s, StringFormat::Literal) => {
            // §7.3.4.2: backslash-escape the delimiters; octal for the rest that is not
            // printable, so the string survives any line-end conversion.
            out.push('(');
            for &b in s {
                match b {
                    b'(' | b')' | b'\\' => {
                        out.push('\\');
                        out.push(b as char);
                    }
                    0x20..=0x7e => out.push(b as char),
                    _ => {
                        let _ = write!(out, "\\{b:03o}");
                    }
                }
            }
            out.push(')');
        }
        Object::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_object(out, item);
            }
            out.push(']');
        }
        Object::Dictionary(d) => write_dictionary(out, d),
        Object::Stream(s) => write_dictionary(out, &s.dict),
        Object::Reference((n, g)) => {
            let _ = write!(out, "{n} {g} R");
        }
    }
}

fn write_dictionary(out: &mut String, d: &Dictionary) {
    out.push_str("<<");
    for (k, v) in d.iter() {
        write_name(out, k);
        out.push(' ');
        write_object(out, v);
    }
    out.push_str(">>");
}

/// A name (§7.3.5): `#xx` for the delimiters, `#` and anything outside `!`..`~`.
fn write_name(out: &mut String, n: &[u8]) {
    out.push('/');
    for &b in n {
        match b {
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%' | b'#' => {
                let _ = write!(out, "#{b:02X}");
            }
            0x21..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "#{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_written_in_pdf_syntax() {
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"Sig".to_vec()));
        d.set("A B", Object::String(b"(x)\\\n".to_vec(), StringFormat::Literal));
        d.set("N", vec![Object::Integer(-3), Object::Real(0.5), Object::Reference((7, 0)), Object::Null]);
        d.set("H", Object::String(vec![0xfe, 0xff, 0x05, 0x31], StringFormat::Hexadecimal));
        assert_eq!(
            serialize(&Object::Dictionary(d)),
            "<</Type /Sig/A#20B (\\(x\\)\\\\\\012)/N [-3 0.5 7 0 R null]/H <FEFF0531>>>"
        );
    }

    #[test]
    fn text_strings_round_trip() {
        for s in ["Plain", "ƏLİYEV Ələsgər", "ՊԵՏՐՈՍՅԱՆ Արամ"] {
            let Object::String(bytes, _) = text_string(s) else { panic!() };
            assert_eq!(text_string_value(&bytes), s);
        }
    }

    /// The structure [`super::super::structure`] reads and lopdf's (with its streams' data digested the same way)
    /// agree on every object, the trailer and where the last cross-reference section is.
    #[cfg(unix)]
    fn agrees_with_lopdf(pdf: &[u8], what: &str) {
        let ours = super::super::structure::read(pdf).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let theirs = load_with_lopdf(pdf).unwrap();
        assert_eq!(ours.objects.len(), theirs.objects.len(), "{what}");
        for (id, object) in &theirs.objects {
            assert_eq!(ours.objects.get(id), Some(object), "{what}: object {id:?}");
        }
        assert_eq!(ours.trailer, theirs.trailer, "{what}: trailer");
        assert_eq!((ours.xref_start, ours.max_id), (theirs.xref_start, theirs.max_id), "{what}");
    }

    #[test]
    #[cfg(unix)]
    fn the_structure_reader_reads_what_lopdf_reads_of_tables_streams_updates_and_object_streams() {
        let options = |visible| SignatureOptions {
            signing_time: std::time::SystemTime::UNIX_EPOCH,
            name: Some("ƏLİYEVA (Leyla) \\ test"),
            reason: Some("Razıyam"),
            reserve: 64,
            document_timestamp: false,
            visible,
        };
        let visible = crate::documents::appearance::Visible { page: 2, lines: vec!["Ə ş".into()] };
        for xref_stream in [false, true] {
            let what = if xref_stream { "cross-reference stream" } else { "table" };
            let plain = mohur_tests::pdf::document(2, "Müqavilə", xref_stream);
            agrees_with_lopdf(&plain, what);
            let once = prepare(plain, &options(None)).unwrap().finish(&[0x30, 0x00]).unwrap();
            agrees_with_lopdf(&once, &format!("{what}, signed"));
            let twice = prepare(once, &options(Some(&visible))).unwrap().finish(&[0x30, 0x00]).unwrap();
            agrees_with_lopdf(&twice, &format!("{what}, signed twice, visibly"));
            let data = crate::documents::ltv::ValidationData {
                certificates: vec![vec![0x30, 0x03, 2, 1, 1]],
                crls: vec![vec![0x30, 0x03, 2, 1, 2]],
                ocsps: vec![],
            };
            agrees_with_lopdf(&add_dss(twice, &data).unwrap(), &format!("{what}, with a DSS"));
        }
        // PDF syntax of every kind (§7.3): nulls, booleans, reals, escapes in strings and
        // names, hex strings, comments, nesting, an indirect /Length, CRLF after `stream`.
        let zoo: [&[u8]; 4] = [
            b"<< /Type /Catalog /Pages 2 0 R /N null /T true /F false /R [-.5 +3 4. 0.25] % a comment\n\
              /S (a \\(b\\) \\n\\101\\\r\n(c)) /H <48 65 6c6c 6> /Na#20me /A#42 /D << /E [[1 2 R] << >>] >> >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
            b"<< /Length 4 0 R >>\r\nstream\r\nBT ET\r\nendstream",
            b"5",
        ];
        agrees_with_lopdf(&mohur_tests::pdf::of_objects(&zoo), "syntax");
        // Written by lopdf with object streams and a compressed cross-reference stream.
        let mut doc = lopdf::Document::load_mem(&mohur_tests::pdf::document(3, "Obyektlər", false)).unwrap();
        let mut modern = Vec::new();
        doc.save_modern(&mut modern).unwrap();
        assert!(modern.windows(7).any(|w| w == b"/ObjStm"), "no object stream");
        agrees_with_lopdf(&modern, "object streams");
        let signed = prepare(modern, &options(Some(&visible))).unwrap().finish(&[0x30, 0x00]).unwrap();
        agrees_with_lopdf(&signed, "object streams, signed");
        // A hybrid file as Word writes one.
        agrees_with_lopdf(&super::super::structure::tests::hybrid("1 0 2 34", [0, 1]), "hybrid");
    }

    #[test]
    #[cfg(unix)]
    fn an_ambiguous_pdf_is_refused_and_not_left_to_lopdf() {
        use super::super::structure::tests::hybrid;
        for (pdf, what) in
            [(hybrid("1 0 2 34", [1, 0]), "members swapped"), (hybrid("1 0 1 34", [0, 1]), "a member twice")]
        {
            let refused = load(&pdf).map(|_| ());
            assert!(matches!(refused, Err(PdfError::Ambiguous(_))), "{what}: {refused:?}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn a_loaded_stream_holds_the_digest_of_its_data_which_is_read_from_the_file_when_needed() {
        use sha2::Digest;
        let data = b"BT (stream endstream) Tj ET\r\nmore";
        let mut direct = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
        direct.extend_from_slice(data);
        direct.extend_from_slice(b"\nendstream");
        // An indirect /Length, a CRLF after `stream`, and "stream" inside the dictionary.
        let mut indirect = b"<< /Length 4 0 R /Note (a stream) >>\r\nstream\r\n".to_vec();
        indirect.extend_from_slice(data);
        indirect.extend_from_slice(b"\r\nendstream");
        let length = data.len().to_string();
        let pdf = mohur_tests::pdf::of_objects(&[b"<< /Type /Catalog >>", &direct, &indirect, length.as_bytes()]);
        let doc = load(&pdf).unwrap();
        for id in [(2, 0), (3, 0)] {
            let stream = doc.get_object(id).unwrap().as_stream().unwrap();
            assert_eq!(stream.content, sha2::Sha256::digest(data).to_vec(), "{id:?}");
            assert_eq!(stream_data(&pdf, &doc, id).as_deref(), Some(&data[..]), "{id:?}");
        }
        // Not a stream, or a stream whose /Length points nowhere: nothing.
        assert_eq!(stream_data(&pdf, &doc, (1, 0)), None);
        let short = String::from_utf8(pdf.clone()).unwrap().replace("/Length 4 0 R", "/Length 5 0 R");
        let doc = load(short.as_bytes()).unwrap();
        assert_eq!(stream_data(short.as_bytes(), &doc, (3, 0)), None);
    }

    /// A one-page PDF (the tests crate writes it byte by byte), prepared and "signed"
    /// with a stand-in DER value.
    #[cfg(unix)]
    pub(super) fn signed_sample() -> Vec<u8> {
        let pdf = mohur_tests::pdf::document(1, "t", false);
        let options = SignatureOptions {
            signing_time: SystemTime::UNIX_EPOCH,
            name: Some("Test"),
            reason: None,
            reserve: 64,
            document_timestamp: false,
            visible: None,
        };
        prepare(pdf, &options).unwrap().finish(&[0x30, 0x03, 0x02, 0x01, 0x07]).unwrap()
    }

    #[test]
    #[cfg(unix)]
    fn a_signature_is_found_with_its_byte_range_and_der() {
        let pdf = signed_sample();
        let found = signatures(&pdf).unwrap();
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!((f.field.as_str(), f.sub_filter.as_str()), ("Signature1", "ETSI.CAdES.detached"));
        assert_eq!(f.cms, [0x30, 0x03, 0x02, 0x01, 0x07]);
        assert_eq!(f.covers_until(), pdf.len());
        assert_eq!(f.name.as_deref(), Some("Test"));
        let [a, b, c, _] = f.byte_range;
        assert_eq!((a, pdf[b], pdf[c - 1]), (0, b'<', b'>'));
    }

    #[test]
    #[cfg(unix)]
    fn a_byte_range_that_leaves_out_more_than_the_signature_is_refused() {
        let pdf = signed_sample();
        // Byte offsets: the file is not UTF-8 (its header has a binary comment).
        let at = pdf.windows(11).position(|w| w == b"/ByteRange[").unwrap() + 11;
        let end = at + pdf[at..].iter().position(|b| *b == b']').unwrap();
        let [a, b, c, d] = signatures(&pdf).unwrap()[0].byte_range;
        // Each forged range keeps the text's length, so that every offset stays valid.
        for forged in [
            format!("{a} {} {c} {d}", b - 10),  // ten more bytes unsigned before the hex
            format!("{} {b} {c} {d}", a + 1),   // not from the start
            format!("{a} {b} {c} {}", d + 100), // past the end
            format!("{a} {c} {b} {d}"),         // out of order
        ] {
            let mut bytes = pdf.clone();
            let padded = format!("{forged:<width$}", width = end - at);
            bytes[at..end].copy_from_slice(padded.as_bytes());
            let r = signatures(&bytes);
            assert!(matches!(r, Err(PdfError::Structure(_))), "{forged}: {r:?}");
        }
    }

    #[test]
    fn der_lengths_are_read_from_the_header() {
        assert_eq!(der_length(&[0x30, 0x03, 1, 2, 3, 0, 0]), Some(5));
        assert_eq!(der_length(&[0x30, 0x82, 0x01, 0x00]), None);
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.resize(4 + 256 + 10, 0);
        assert_eq!(der_length(&long), Some(260));
        assert_eq!(der_length(&[0x30, 0x80]), None);
    }

    #[test]
    fn dates_are_pdf_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_630_400);
        assert_eq!(pdf_date(t), "D:20261207080000+00'00'");
    }

    /// Truncated and altered files (a cut every 17 bytes; at every 7th byte, one of a few
    /// bytes that change PDF syntax) give each reader here a value or a typed error:
    /// nothing panics, on a file a page or a citizen hands in.
    #[test]
    #[cfg(unix)]
    fn damaged_pdfs_give_errors_not_panics() {
        let samples =
            [mohur_tests::pdf::document(2, "t", false), mohur_tests::pdf::document(2, "t", true), signed_sample()];
        let options = SignatureOptions {
            signing_time: SystemTime::UNIX_EPOCH,
            name: Some("T"),
            reason: None,
            reserve: 64,
            document_timestamp: false,
            visible: None,
        };
        for sample in &samples {
            let cuts = (0..sample.len()).step_by(17).map(|cut| sample[..cut].to_vec());
            let changes = (0..sample.len()).step_by(7).flat_map(|at| {
                [b'9', b'/', b'(', 0xff].map(|b| {
                    let mut v = sample.clone();
                    v[at] = b;
                    v
                })
            });
            for v in cuts.chain(changes) {
                let ran = std::panic::catch_unwind(|| {
                    let _ = info(&v);
                    if let Ok(doc) = load(&v) {
                        let _ = signatures_in(&doc, &v);
                        let _ = dss_contents(&doc, &v);
                    }
                    let _ = prepare(v.clone(), &options);
                });
                assert!(ran.is_ok(), "a panic on {:?}", String::from_utf8_lossy(&v));
            }
        }
    }
}
