//! `sign-document`: CAdES signatures of documents (or of their digests), or PDFs signed
//! in themselves (PAdES), at level B-B or B-T, all confirmed in one dialog.

use super::super::params::{
    b64_param, blocking_find, clean_name, hash_name, hash_param, hex, purpose_param, required, str_param,
};
use super::super::MAX_DOCUMENTS;
use crate::agent::Agent;
use crate::dialogs::texts;
use crate::documents::timestamp::{self, TimestampError};
use crate::documents::{asic, ltv, pdf, Level};
use crate::pin_policy::{self, Ctx};
use crate::signing::{cms, key_policy};
use crate::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mohur_apdu::{HashAlg, KeyPurpose};
use serde_json::{json, Map, Value};
use std::time::SystemTime;

/// A document to sign: its name, and its content or digest.
pub(crate) struct Doc {
    name: String,
    data: Option<Vec<u8>>,
    digest: Option<(HashAlg, Vec<u8>)>,
}

pub(crate) fn parse_doc(p: &Map<String, Value>) -> Result<Doc> {
    let name = clean_name(required(p, "name")?);
    if p.contains_key("document") {
        return Ok(Doc { name, data: Some(b64_param(p, "document")?), digest: None });
    }
    if p.contains_key("digest") {
        let alg = hash_param(required(p, "hashFunction")?)?;
        let digest = b64_param(p, "digest")?;
        if digest.len() != alg.output_len() {
            return Err(Error::BadRequest("`digest` length does not match `hashFunction`".into()));
        }
        return Ok(Doc { name, data: None, digest: Some((alg, digest)) });
    }
    Err(Error::BadRequest("a document needs `document` or `digest`".into()))
}

/// What `sign-document` returns for each document.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// A CAdES `SignedData` (ETSI EN 319 122-1).
    Cms,
    /// The PDF signed in itself (ETSI EN 319 142-1).
    Pades,
    /// All the documents in one ASiC-E container (ETSI EN 319 162-1, CAdES).
    Asice,
}

pub(crate) fn sign_document(agent: &Agent, ctx: &Ctx, origin: &str, p: &Map<String, Value>) -> Result<Value> {
    let format = match str_param(p, "format")? {
        None | Some("cms") => Format::Cms,
        Some("pades") => Format::Pades,
        Some("asice") => Format::Asice,
        Some(_) => return Err(Error::BadRequest("`format` must be \"cms\", \"pades\" or \"asice\"".into())),
    };
    let level = match str_param(p, "level")? {
        None => None,
        Some(l) => Some(l.parse::<Level>().map_err(Error::BadRequest)?),
    };
    let detached = match p.get("detached") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::BadRequest("`detached` must be a boolean".into())),
    };
    // A visible signature: a box with the signer's name and the time on this page (from 1)
    // of each PDF.
    let visible_page = match p.get("visiblePage") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|&n| n >= 1) {
            Some(page) => Some(page),
            None => return Err(Error::BadRequest("`visiblePage` must be a page number, 1 or more".into())),
        },
        Some(_) => return Err(Error::BadRequest("`visiblePage` must be a page number, 1 or more".into())),
    };
    if visible_page.is_some() && format != Format::Pades {
        return Err(Error::BadRequest("`visiblePage` is for \"pades\"".into()));
    }
    if format != Format::Cms && detached {
        return Err(Error::BadRequest("`detached` is for \"cms\": PAdES and ASiC-E carry their documents".into()));
    }
    let mut docs: Vec<Doc> = match p.get("documents") {
        Some(Value::Array(items)) => {
            if items.is_empty() || items.len() > MAX_DOCUMENTS {
                return Err(Error::BadRequest(format!("`documents` must have 1 to {MAX_DOCUMENTS} entries")));
            }
            items
                .iter()
                .map(|d| match d {
                    Value::Object(o) => parse_doc(o),
                    _ => Err(Error::BadRequest("each document is an object".into())),
                })
                .collect::<Result<_>>()?
        }
        Some(_) => return Err(Error::BadRequest("`documents` must be an array".into())),
        None => vec![parse_doc(p)?],
    };
    if format != Format::Cms && docs.iter().any(|d| d.data.is_none()) {
        return Err(Error::BadRequest("\"pades\" and \"asice\" carry the documents: each needs `document`".into()));
    }
    if format == Format::Asice {
        // Checked before the dialog: names a container cannot hold are refused at once.
        let as_documents: Vec<asic::Document> =
            docs.iter().map(|d| asic::Document { name: d.name.clone(), data: Vec::new() }).collect();
        asic::manifest(&as_documents)?;
    }
    let purpose = purpose_param(p, KeyPurpose::Signing)?;
    key_policy::check_document_key(purpose)?;
    // B-T when a time-stamping authority is configured; asked for without one, the
    // request fails before any dialog.
    let tsa = agent.config.tsa();
    let level = level.unwrap_or(if tsa.is_some() { Level::T } else { Level::B });
    if level >= Level::T && tsa.is_none() {
        return Err(TimestampError::NotConfigured.into());
    }
    let fetching = agent.config.fetching();
    if level >= Level::LT && !fetching.ocsp && !fetching.crl {
        return Err(ltv::LtvError::FetchingOff.into());
    }
    if level == Level::LTA && format != Format::Pades {
        return Err(Error::BadRequest(
            "level \"LTA\" is made for \"pades\" (a document time-stamp over the PDF)".into(),
        ));
    }
    let slot = blocking_find(agent, p, purpose)?;
    let cert = slot.with(|t| t.certificate(purpose))?;
    let chain = agent.chain_for(&cert);
    let mut listing = Vec::with_capacity(docs.len());
    for d in &docs {
        listing.push(match (&d.data, &d.digest) {
            (Some(data), _) => texts::Listed {
                name: d.name.clone(),
                hash_name: "SHA-256",
                hash_hex: hex(&<sha2::Sha256 as sha2::Digest>::digest(data)),
                from_site: false,
                pdf_pages: if format == Format::Pades { Some(pdf::info(data)?.pages) } else { None },
            },
            (_, digest) => {
                let (alg, digest) = digest.as_ref().map(|(a, d)| (*a, d.as_slice())).unwrap_or((HashAlg::Sha256, &[]));
                texts::Listed {
                    name: d.name.clone(),
                    hash_name: hash_name(alg),
                    hash_hex: hex(digest),
                    from_site: true,
                    pdf_pages: None,
                }
            }
        });
    }
    let now = SystemTime::now();
    // Every PDF gets its update before the dialog: one that cannot be signed is refused
    // before the citizen types a PIN. Each takes its document's bytes (no second copy).
    let prepared: Vec<Option<pdf::Prepared>> = if format == Format::Pades {
        let holder = slot.info().holder;
        let reserve = crate::documents::pades_reserve(&cert, &chain, level);
        let visible = visible_page.map(|page| crate::documents::appearance::Visible {
            page,
            lines: crate::documents::appearance::lines(&holder, now, None),
        });
        let options = pdf::SignatureOptions {
            signing_time: now,
            name: Some(&holder),
            reason: None,
            reserve,
            document_timestamp: false,
            visible: visible.as_ref(),
        };
        docs.iter_mut()
            .map(|d| pdf::prepare(d.data.take().unwrap_or_default(), &options).map(Some).map_err(Error::from))
            .collect::<Result<_>>()?
    } else {
        docs.iter().map(|_| None).collect()
    };
    let occasion = texts::sign_documents(origin, &listing);
    if format == Format::Asice {
        let documents: Vec<asic::Document> = docs
            .iter_mut()
            .map(|d| asic::Document { name: d.name.clone(), data: d.data.take().unwrap_or_default() })
            .collect();
        let manifest = asic::manifest(&documents)?;
        let req = cms::SignRequest {
            certificate: &cert,
            chain: &chain,
            content: cms::Content::Data(&manifest),
            detached: true,
            signing_time: Some(now),
        };
        let mut der = pin_policy::with_pin(ctx, &slot, purpose, &occasion, |sign| cms::sign_cades(&req, sign))?;
        ctx.cancel.check()?;
        if let (Level::T | Level::LT | Level::LTA, Some(tsa)) = (level, &tsa) {
            der = timestamp::stamp(&der, tsa)?;
        }
        if level >= Level::LT {
            der = cades_validation_data(agent, &der, &chain)?;
        }
        let container = asic::build(&documents, &manifest, &der)?;
        let name = match str_param(p, "containerName")? {
            Some(n) => clean_name(n),
            None => "documents.asice".to_owned(),
        };
        return Ok(json!({"signatures": [{"name": name, "asice": B64.encode(container), "level": level.name()}]}));
    }
    let signatures = pin_policy::with_pin(ctx, &slot, purpose, &occasion, |sign| {
        let mut out = Vec::with_capacity(docs.len());
        for (d, prepared) in docs.iter().zip(&prepared) {
            if let Some(prepared) = prepared {
                out.push(crate::documents::pades_cms(prepared, &cert, &chain, sign)?);
                continue;
            }
            let content = match (&d.data, &d.digest) {
                (Some(data), _) => cms::Content::Data(data),
                (None, Some((alg, digest))) => cms::Content::Digest { alg: *alg, digest },
                _ => return Err(Error::Internal("document without content".into())),
            };
            let req = cms::SignRequest {
                certificate: &cert,
                chain: &chain,
                content,
                detached: detached || d.data.is_none(),
                signing_time: Some(now),
            };
            out.push(cms::sign_cades(&req, sign)?);
        }
        Ok(out)
    })?;
    // The time-stamps come after the card is done; if one cannot be had, the request
    // fails as a whole and the page gets no signature at a level it did not ask for.
    let mut results = Vec::with_capacity(docs.len());
    for ((d, prepared), mut der) in docs.iter().zip(prepared).zip(signatures) {
        ctx.cancel.check()?;
        if let (Level::T | Level::LT | Level::LTA, Some(tsa)) = (level, &tsa) {
            der = timestamp::stamp(&der, tsa)?;
        }
        results.push(match prepared {
            Some(prepared) => {
                let mut signed = prepared.finish(&der)?;
                if level >= Level::LT {
                    // B-LT: the certificates and their CRLs, fetched after the time-stamp.
                    let known = [chain.clone(), agent.known_cas()].concat();
                    signed = pdf::add_dss(signed, &ltv::signature_data(&der, &known, &fetching)?)?;
                }
                if let (Level::LTA, Some(tsa)) = (level, &tsa) {
                    signed = crate::documents::add_document_timestamp(signed, tsa)?;
                }
                json!({"name": d.name, "pdf": B64.encode(signed), "level": level.name()})
            }
            None => {
                if level >= Level::LT {
                    der = cades_validation_data(agent, &der, &chain)?;
                }
                json!({"name": d.name, "cms": B64.encode(der), "level": level.name()})
            }
        });
    }
    Ok(json!({"signatures": results}))
}

/// CAdES B-LT: the validation data in the signed data, fetched after the time-stamp as
/// the configuration's `revocation_sources` allow.
fn cades_validation_data(agent: &Agent, der: &[u8], chain: &[Vec<u8>]) -> Result<Vec<u8>> {
    let known = [chain.to_vec(), agent.known_cas()].concat();
    ltv::add_to_signed_data(der, &known, &agent.config.fetching())
}
