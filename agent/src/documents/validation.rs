//! Checking a signed PDF as a relying party does, locally (nothing is uploaded): each
//! signature's CMS over its `/ByteRange` ([`crate::signing::verify::verify_signature`]:
//! integrity, signer, chain to the trusted CAs, key usage, signing-certificate binding,
//! the signature time-stamp), and what was changed after it was made.
//!
//! A signature that does not cover the whole file was followed by incremental updates
//! (ISO 32000-1 §7.5.6). Those may only add what signing and form filling add: further
//! signatures, their fields and widgets, the AcroForm and the page's `/Annots` that list
//! them, a DSS (ETSI EN 319 142-1 §5.4), the catalogue's /Extensions and /Version, XMP
//! metadata; anything else (a page's content or resources, an
//! annotation that is not a signature widget, an object removed) makes the earlier
//! signature "changed after signing", as pyHanko and Adobe Reader report it.
//!
//! Revocation is judged from the OCSP answers and CRLs the file carries (a PDF's DSS, a
//! CAdES signature's signed data) and, with `online`, those the certificates' responders
//! and distribution points give now, as of the signature's time-stamp: a certificate
//! revoked before it makes the signature invalid; one nothing covers is reported as
//! unknown. Document time-stamps (`ETSI.RFC3161`) are checked like signature
//! time-stamps, over their byte range. A certification that allows no changes (DocMDP
//! P=1) is broken by any later signature.

use super::ltv;
use super::pdf::{self, FoundSignature, PdfError};
use super::Level;
use crate::signing::rejection::{Rejection, Why};
use crate::signing::verify::{verify_signature, TrustStore, VerifiedDetails, VerifiedTimestamp};
use lopdf::{Dictionary, Document, Object, ObjectId};

/// The verdict on one signature of a PDF.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    /// The signature as found.
    pub found: FoundSignature,
    /// What the CMS check found, or why it failed.
    pub outcome: Result<VerifiedDetails, Rejection>,
    /// The signed bytes reach the end of the file.
    pub covers_whole_file: bool,
    /// What was changed after the signature other than by signing and form filling.
    pub changed_after: Option<String>,
    /// The document carries validation data (a DSS with CRLs or OCSP responses) after
    /// this signature.
    pub validation_data: bool,
    /// A valid document time-stamp covers this signature and that validation data.
    pub archived: bool,
    /// What the CRLs in the document (and fetched, with `online`) say of its
    /// certificates, for a signature whose CMS checked out.
    pub revocation: Option<super::ltv::Revocation>,
}

impl SignatureCheck {
    /// Intact, trusted, and not changed after signing.
    pub fn valid(&self) -> bool {
        self.outcome.is_ok() && self.changed_after.is_none()
    }

    /// A document time-stamp rather than a signature.
    pub fn is_document_timestamp(&self) -> bool {
        self.found.sub_filter == "ETSI.RFC3161"
    }

    /// B-B, B-T, B-LT (time-stamped, and the document has a DSS with revocation data) or
    /// B-LTA (and a document time-stamp over them), for a valid signature; `None` for a
    /// document time-stamp or an invalid signature.
    pub fn level(&self) -> Option<Level> {
        let v = self.outcome.as_ref().ok()?;
        if self.is_document_timestamp() {
            return None;
        }
        Some(match (&v.timestamp, self.validation_data, self.archived) {
            (None, _, _) => Level::B,
            (Some(_), false, _) => Level::T,
            (Some(_), true, false) => Level::LT,
            (Some(_), true, true) => Level::LTA,
        })
    }
}

/// Checks every signature of `pdf` against `trust`. A PDF that cannot be read, or whose
/// signature dictionaries are malformed, is a [`PdfError`].
/// Revocation data are fetched as `online` allows (`None`: only what the file carries).
pub fn check_pdf(
    pdf: &[u8],
    trust: &TrustStore,
    online: Option<&ltv::Fetching>,
) -> Result<Vec<SignatureCheck>, PdfError> {
    use super::ltv::Revocation;
    // The file is read once; each earlier revision by the same reader (changes_after).
    let whole = pdf::Loaded::of(pdf)?;
    let (found, has_dss) = pdf::signatures_in(&whole.doc, pdf)?;
    let dss = if has_dss { pdf::dss_contents(&whole.doc, pdf) } else { Default::default() };
    // The DSS comes in an update after the signatures it serves (approximately: the
    // file's end; what matters is that it is after a signature's revision).
    let dss_at = has_dss.then_some(pdf.len());
    let mut checks = Vec::with_capacity(found.len());
    for f in found {
        let outcome = match f.sub_filter.as_str() {
            "ETSI.CAdES.detached" | "adbe.pkcs7.detached" => {
                verify_signature(&f.cms, &f.signed_parts(pdf), trust).map_err(Rejection::from)
            }
            // A document time-stamp: its TSA is its signer.
            "ETSI.RFC3161" => crate::signing::verify::verify_document_timestamp(&f.cms, &f.signed_parts(pdf), trust)
                .map(|t| VerifiedDetails {
                    signer_cn: t.tsa_cn.clone(),
                    signer_certificate: Vec::new(),
                    signing_time: None,
                    timestamp: Some(t),
                })
                .map_err(Rejection::from),
            other => Err(Rejection::new(
                Why::Unsupported,
                format!("signatures of the kind {other:?} are not checked by this version of mohur"),
            )),
        };
        // Revocation, as of the time-stamp (or now): OCSP answers and CRLs from the DSS,
        // and asked of the certificates' responders and distribution points when `online`.
        let mut revocation = None;
        let mut outcome = outcome;
        if let Ok(v) = &outcome {
            let r = signature_revocation(&v.signer_certificate, v.timestamp.as_ref(), &f.cms, &dss, trust, online);
            if let Revocation::Revoked(who) = &r {
                outcome = Err(revoked(who));
            }
            revocation = Some(r);
        }
        let end = f.covers_until();
        let changed_after = if end == pdf.len() { None } else { changes_after(pdf, end, &whole)? };
        let validation_data = dss_at.is_some_and(|at| at > end);
        checks.push(SignatureCheck {
            covers_whole_file: end == pdf.len(),
            found: f,
            outcome,
            changed_after,
            validation_data,
            archived: false,
            revocation,
        });
    }
    // DocMDP P=1 (ISO 32000-1 §12.8.2.2): a certification that allows no changes is
    // broken by any later signature; validation data and document time-stamps (the
    // long-term updates of ISO 32000-2 §12.8.4.3) are not changes.
    let signature_ends: Vec<usize> =
        checks.iter().filter(|c| !c.is_document_timestamp()).map(|c| c.found.covers_until()).collect();
    for c in &mut checks {
        let end = c.found.covers_until();
        if c.found.doc_mdp == Some(1) && c.changed_after.is_none() && signature_ends.iter().any(|&e| e > end) {
            c.changed_after = Some(
                "it certifies the document with no changes allowed (DocMDP P=1), and it was signed again after".into(),
            );
        }
    }
    // B-LTA: a valid document time-stamp after a signature's validation data.
    let archive_ends: Vec<usize> =
        checks.iter().filter(|c| c.is_document_timestamp() && c.valid()).map(|c| c.found.covers_until()).collect();
    for c in &mut checks {
        let end = c.found.covers_until();
        c.archived = c.validation_data && archive_ends.iter().any(|&a| a > end);
    }
    Ok(checks)
}

/// What revocation data say of the certificates of a verified signature (`cms_der`):
/// the signer's, its chain's and its time-stamp's, as of the time-stamp (or now). The
/// data the file `carries` (a PDF's DSS, a CAdES signature's signed data), and, when
/// `online`, fresh answers of the certificates' OCSP responders and CRLs of their
/// distribution points, as it allows (the responders first: they answer for one
/// certificate).
pub fn signature_revocation(
    signer_certificate: &[u8],
    timestamp: Option<&VerifiedTimestamp>,
    cms_der: &[u8],
    carries: &ltv::ValidationData,
    trust: &TrustStore,
    online: Option<&ltv::Fetching>,
) -> ltv::Revocation {
    let mut certs = vec![signer_certificate.to_vec()];
    certs.extend(ltv::certificates_of(cms_der));
    certs.extend(carries.certificates.iter().cloned());
    certs.extend(trust.certificates());
    certs.retain(|c| !c.is_empty());
    let (mut crls, mut ocsps) = (carries.crls.clone(), carries.ocsps.clone());
    if let Some(fetching) = online {
        if fetching.ocsp {
            let fresh = ltv::fetch_ocsps(&certs, fetching.timeout);
            for der in &fresh {
                certs.extend(super::ocsp::certificates(der));
            }
            ocsps.splice(0..0, fresh);
        }
        if fetching.crl {
            crls.extend(ltv::fetch_crls(&certs, fetching.timeout));
        }
    }
    let at = timestamp.map_or_else(std::time::SystemTime::now, |t| t.time);
    ltv::check_revocation(&certs, &crls, &ocsps, at)
}

/// A verified CAdES signature (a `.p7s`, an ASiC-E container's): its level and what
/// revocation data say of its certificates ([`signature_revocation`], with what its signed
/// data carries). B-LT when it is time-stamped and carries revocation data that show its
/// certificates were not revoked then. `Err`: a certificate was revoked.
pub fn cades_level(
    cms_der: &[u8],
    v: &crate::signing::verify::VerifiedSignature,
    trust: &TrustStore,
    online: Option<&ltv::Fetching>,
) -> Result<(Level, ltv::Revocation), Rejection> {
    use ltv::Revocation;
    let values = crate::signing::validation_data::revocation_values(cms_der).unwrap_or_default();
    let carried = !(values.crls.is_empty() && values.ocsps.is_empty());
    let carries = ltv::ValidationData { certificates: Vec::new(), crls: values.crls, ocsps: values.ocsps };
    let r = signature_revocation(&v.signer_certificate, v.timestamp.as_ref(), cms_der, &carries, trust, online);
    let level = match (&r, &v.timestamp) {
        (Revocation::Revoked(who), _) => return Err(revoked(who)),
        (_, None) => Level::B,
        (Revocation::Good, Some(_)) if carried => Level::LT,
        (_, Some(_)) => Level::T,
    };
    Ok((level, r))
}

/// The refusal of a signature one of whose certificates (`who`'s) was revoked.
fn revoked(who: &str) -> Rejection {
    Rejection::new(Why::Revoked, format!("the certificate of {who} was revoked")).about(who)
}

/// What the updates after byte `end` change beyond signing and form filling, if anything.
fn changes_after(pdf: &[u8], end: usize, whole: &pdf::Loaded) -> Result<Option<String>, PdfError> {
    // Streams are compared by their data's digests (pdf::load), both revisions read by
    // the same reader.
    let (before, reread) = whole.revision(pdf, end)?;
    let after = reread.as_ref().unwrap_or(&whole.doc);
    let info = before.trailer.get(b"Info").and_then(Object::as_reference).ok();
    for (id, old) in &before.objects {
        let what = |why: &str| Some(format!("object {} {} {why}", id.0, id.1));
        let Some(new) = after.objects.get(id) else { return Ok(what("was removed")) };
        if old == new {
            continue;
        }
        if let Some(why) = disallowed(after, Some(*id) == info, old, new) {
            return Ok(what(&why));
        }
    }
    Ok(None)
}

/// Why changing `old` into `new` is not signing or form filling (`None`: it is).
fn disallowed(after: &Document, is_info: bool, old: &Object, new: &Object) -> Option<String> {
    let kind = |o: &Object| -> Vec<u8> {
        dict_of(o)
            .and_then(|d| d.get(b"Type").ok())
            .and_then(|t| t.as_name().ok())
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    };
    if let (Object::Stream(a), Object::Stream(b)) = (old, new) {
        // Cross-reference and object streams carry structure; XMP metadata is not shown.
        let structural = |k: &[u8]| k == b"XRef" || k == b"ObjStm" || k == b"Metadata";
        if structural(&kind(old)) && structural(&kind(new)) {
            return None;
        }
        if a.content != b.content {
            return Some("(a stream) has other content".into());
        }
    }
    if let (Object::Array(a), Object::Array(b)) = (old, new) {
        return appended_widgets(after, a, b);
    }
    let (Some(a), Some(b)) = (dict_of(old), dict_of(new)) else { return Some("was replaced".into()) };
    let differs_beyond = |allowed: &[&[u8]]| -> Option<String> {
        let keys: std::collections::BTreeSet<&[u8]> =
            a.iter().map(|(k, _)| k.as_slice()).chain(b.iter().map(|(k, _)| k.as_slice())).collect();
        keys.into_iter()
            .filter(|k| !allowed.contains(k))
            .find(|k| a.get(k).ok() != b.get(k).ok())
            .map(|k| format!("changed its /{}", String::from_utf8_lossy(k)))
    };
    let is_sig_field = |d: &Dictionary| d.get(b"FT").ok().and_then(|t| t.as_name().ok()) == Some(b"Sig");
    match kind(old).as_slice() {
        // /Extensions and /Version: a later signer declaring the PDF version its
        // signature needs (ISO 32000-1 §7.12, e.g. ADBE level 8 for SHA-256); /Metadata:
        // the XMP stream a signing tool updates (§14.3.2), which is not shown.
        b"Catalog" => differs_beyond(&[b"AcroForm", b"DSS", b"Extensions", b"Version", b"Metadata"]),
        b"Page" => differs_beyond(&[b"Annots"]).or_else(|| {
            let list = |d: &Dictionary, doc: Option<&Document>| -> Vec<Object> {
                let annots = d.get(b"Annots").ok();
                let resolved = match (annots, doc) {
                    (Some(o), Some(doc)) => doc.dereference(o).ok().map(|(_, o)| o.clone()),
                    (Some(o), None) => Some(o.clone()),
                    _ => None,
                };
                resolved.and_then(|o| o.as_array().ok().cloned()).unwrap_or_default()
            };
            // An indirect /Annots array is checked as an object of its own.
            if matches!(b.get(b"Annots"), Ok(Object::Reference(_))) {
                return None;
            }
            appended_widgets(after, &list(a, None), &list(b, Some(after)))
        }),
        _ if is_sig_field(a) && a.get(b"V").is_err() => differs_beyond(&[b"V", b"AP", b"F", b"P"]),
        _ if is_sig_field(a) => Some("(a signed field) was signed again or changed".into()),
        // The AcroForm: fields appended, signature flags set.
        _ if a.has(b"Fields") => differs_beyond(&[b"Fields", b"SigFlags", b"DR", b"DA"]).or_else(|| {
            let fields =
                |d: &Dictionary| d.get(b"Fields").ok().and_then(|f| f.as_array().ok()).cloned().unwrap_or_default();
            appended_widgets(after, &fields(a), &fields(b))
        }),
        _ if is_info => differs_beyond(&[b"ModDate", b"Producer", b"Creator"]),
        [] => Some("was changed".into()),
        other => Some(format!("(/{}) was changed", String::from_utf8_lossy(other))),
    }
}

fn dict_of(o: &Object) -> Option<&Dictionary> {
    match o {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// `new` is `old` with signature fields or widgets appended, and nothing else.
fn appended_widgets(after: &Document, old: &[Object], new: &[Object]) -> Option<String> {
    if new.len() < old.len() || new[..old.len()] != *old {
        return Some("lost or reordered entries of a list".into());
    }
    for added in &new[old.len()..] {
        let id: Option<ObjectId> = added.as_reference().ok();
        let d = id.and_then(|id| after.get_object(id).ok()).and_then(dict_of);
        let widget = d.is_some_and(|d| {
            d.get(b"Subtype").ok().and_then(|t| t.as_name().ok()) == Some(b"Widget")
                || d.get(b"FT").ok().and_then(|t| t.as_name().ok()) == Some(b"Sig")
        });
        if !widget {
            return Some("gained an annotation or field that is not a signature".into());
        }
    }
    None
}

/// The verdict on a CAdES signature that verified.
#[derive(Debug, Clone)]
pub struct CadesCheck {
    /// What the CMS check found.
    pub verified: crate::signing::verify::VerifiedSignature,
    /// B-B, B-T or B-LT.
    pub level: Level,
    /// What revocation data say of its certificates.
    pub revocation: ltv::Revocation,
}

/// The verdict on an ASiC-E container (CAdES, EN 319 162-1 §4.4.3).
#[derive(Debug, Clone)]
pub struct ContainerCheck {
    /// Per signature: its file, and what the CMS check over its manifest found, with the
    /// signature's level and revocation ([`cades_level`]).
    pub signatures: Vec<(String, Result<CadesCheck, Rejection>)>,
    /// Per document: its name and what is wrong with it (`None`: a manifest of a valid
    /// signature names it with the right digest).
    pub documents: Vec<(String, Option<Rejection>)>,
}

impl ContainerCheck {
    /// At least one signature, every signature valid, every document signed as it is.
    pub fn valid(&self) -> bool {
        !self.signatures.is_empty()
            && self.signatures.iter().all(|(_, s)| s.is_ok())
            && self.documents.iter().all(|(_, problem)| problem.is_none())
    }
}

/// Checks an ASiC-E container: each `META-INF/ASiCManifest*.xml` with the CAdES
/// signature it names (detached, over the manifest's bytes), each document's digest
/// against the manifests, and that no document is in the container unsigned.
pub fn check_container(
    bytes: &[u8],
    trust: &TrustStore,
    online: Option<&ltv::Fetching>,
) -> Result<ContainerCheck, super::asic::AsicError> {
    use super::asic;
    let opened = asic::open(bytes)?;
    let mut signatures = Vec::new();
    // Document name → the digest problems found, or None once a valid signature covers it.
    let mut covered: std::collections::BTreeMap<&str, Option<Rejection>> = opened
        .documents
        .keys()
        .map(|n| (n.as_str(), Some(Rejection::new(Why::Unsigned, "no signature covers it"))))
        .collect();
    for (name, manifest_bytes, manifest) in &opened.manifests {
        let sig_name = manifest.signature.trim_start_matches("./");
        let outcome = match opened.meta.get(sig_name) {
            None => {
                Err(Rejection::new(Why::MissingFile, format!("{name} names {sig_name}, which is not in the container")))
            }
            Some(sig) => crate::signing::verify::verify_cms(sig, Some(manifest_bytes), trust)
                .map_err(Rejection::from)
                .and_then(|verified| {
                    let (level, revocation) = cades_level(sig, &verified, trust, online)?;
                    Ok(CadesCheck { verified, level, revocation })
                }),
        };
        if outcome.is_ok() {
            for (doc, alg, digest) in &manifest.objects {
                let Some(state) = covered.get_mut(doc.as_str()) else {
                    let missing = format!("{doc:?} is signed but not in the container");
                    signatures.push((sig_name.to_owned(), Err(Rejection::new(Why::MissingFile, missing))));
                    continue;
                };
                *state = match opened.documents[doc].for_method(alg) {
                    Some(d) if d == digest.as_slice() => None,
                    Some(_) => Some(Rejection::new(Why::Altered, "changed after signing: its digest differs")),
                    None => Some(Rejection::new(Why::Unsupported, format!("its digest method {alg} is not accepted"))),
                };
            }
        }
        signatures.push((sig_name.to_owned(), outcome));
    }
    Ok(ContainerCheck { signatures, documents: covered.into_iter().map(|(n, p)| (n.to_owned(), p)).collect() })
}
