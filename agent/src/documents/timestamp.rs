//! RFC 3161 time-stamps: asking a time-stamping authority (TSA) over HTTP (RFC 3161 §3.4)
//! and adding the token to a CAdES signature as its signature time-stamp (ETSI EN 319
//! 122-1 §5.3, `id-aa-signatureTimeStampToken`, RFC 3161 Appendix A), which makes it
//! B-T: proof that the signature existed at the TSA's time, which outlives the signer's
//! certificate.
//!
//! What the TSA answers is checked before it goes into a file (RFC 3161 §2.4.2): status
//! granted, a SignedData of TSTInfo, our message imprint and our nonce. Whether the TSA
//! is trusted is the verifier's question ([`crate::signing::verify`], `openssl ts -verify`).

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use const_oid::ObjectIdentifier;
use der::asn1::{Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use mohur_apdu::HashAlg;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

pub use crate::signing::cms::{ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_CT_TST_INFO};

/// Largest TSA answer read (a token with its certificate chain is a few KiB).
const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// Where time-stamps come from: the configuration's `tsa_urls`, tried in order.
#[derive(Debug, Clone)]
pub struct Tsa {
    /// `http://` or `https://` URLs of RFC 3161 services.
    pub urls: Vec<String>,
    /// How long one URL may take, connection and answer together.
    pub timeout: Duration,
}

/// Why no time-stamp was obtained. Each variant names the TSA, so that the citizen (or
/// their administrator) knows which setting to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// No TSA is configured, and a time-stamp was asked for.
    #[error("no time-stamping authority is configured (set tsa_urls in the configuration)")]
    NotConfigured,
    /// The TSA could not be reached or did not answer in time.
    #[error("the time-stamping authority {url} did not answer: {source}")]
    Unreachable {
        /// The TSA.
        url: String,
        /// What the HTTP client saw.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The TSA answered with an HTTP error.
    #[error("the time-stamping authority {url} answered HTTP {status}")]
    Http {
        /// The TSA.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The TSA refused the request (RFC 3161 §2.4.2 PKIStatus rejection or waiting).
    #[error("the time-stamping authority {url} refused the request (status {status}{text})")]
    Refused {
        /// The TSA.
        url: String,
        /// The PKIStatus.
        status: u8,
        /// The statusString, if any, prefixed with ": ".
        text: String,
    },
    /// The answer is not a time-stamp of what was asked.
    #[error("the time-stamping authority {url} sent an answer that is not a time-stamp of this signature: {reason}")]
    Invalid {
        /// The TSA.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature to be stamped is not a CMS SignedData with one signer.
    #[error("the signature cannot be time-stamped: {0}")]
    Signature(String),
}

fn digest_oid(alg: HashAlg) -> Option<ObjectIdentifier> {
    use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
    match alg {
        HashAlg::Sha256 => Some(ID_SHA_256),
        HashAlg::Sha384 => Some(ID_SHA_384),
        HashAlg::Sha512 => Some(ID_SHA_512),
        _ => None,
    }
}

/// A time-stamp token (`TimeStampToken`, a DER `ContentInfo` of SignedData over
/// TSTInfo, RFC 3161 §2.4.2) for the SHA-256 of `message`, from the first TSA of `tsa`
/// that gives one. Each failure is kept; the last is returned if none succeeds.
pub fn token_for(tsa: &Tsa, message: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let mut last = TimestampError::NotConfigured;
    for url in &tsa.urls {
        match request(url, tsa.timeout, HashAlg::Sha256, message) {
            Ok(token) => return Ok(token),
            Err(e) => {
                tracing::warn!("time-stamp: {e}");
                last = e;
            }
        }
    }
    Err(last)
}

/// One request to one TSA (RFC 3161 §2.4.1, §3.4: `application/timestamp-query` by
/// POST), checked as [`check_response`] does.
pub fn request(url: &str, timeout: Duration, alg: HashAlg, message: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let digest = crate::signing::cms::hash(alg, message)
        .map_err(|e| TimestampError::Invalid { url: url.to_owned(), reason: e.to_string() })?;
    request_for_digest(url, timeout, alg, &digest)
}

/// A token from the first TSA of `tsa` that gives one, for a digest already computed
/// (a PDF's byte range, hashed as a stream): a document time-stamp.
pub fn token_for_digest(tsa: &Tsa, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let mut last = TimestampError::NotConfigured;
    for url in &tsa.urls {
        match request_for_digest(url, tsa.timeout, alg, digest) {
            Ok(token) => return Ok(token),
            Err(e) => {
                tracing::warn!("time-stamp: {e}");
                last = e;
            }
        }
    }
    Err(last)
}

/// [`request`] for a digest already computed.
pub fn request_for_digest(
    url: &str,
    timeout: Duration,
    alg: HashAlg,
    digest: &[u8],
) -> Result<Vec<u8>, TimestampError> {
    let invalid = |reason: String| TimestampError::Invalid { url: url.to_owned(), reason };
    let oid = digest_oid(alg).ok_or_else(|| invalid(format!("{alg:?} is not used for time-stamps")))?;
    let imprint = MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned { oid, parameters: None },
        hashed_message: OctetString::new(digest).map_err(|e| invalid(e.to_string()))?,
    };
    // A fresh 64-bit nonce (§2.4.1) ties the answer to this request.
    let mut nonce = [0u8; 8];
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut nonce).map_err(|e| invalid(e.to_string()))?;
    nonce[0] &= 0x7f;
    nonce[0] |= 0x01;
    let nonce = Int::new(&nonce).map_err(|e| invalid(e.to_string()))?;
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint.clone(),
        req_policy: None,
        nonce: Some(nonce.clone()),
        // The TSA's certificate in the token, so that the token can be checked alone.
        cert_req: true,
        extensions: None,
    };
    let body = req.to_der().map_err(|e| invalid(e.to_string()))?;

    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
    let unreachable = |e: ureq::Error| TimestampError::Unreachable { url: url.to_owned(), source: Box::new(e) };
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .header("Accept", "application/timestamp-reply")
        .send(&body[..])
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(TimestampError::Http { url: url.to_owned(), status });
    }
    let der = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec().map_err(unreachable)?;
    check_response(url, &der, &imprint, &nonce)
}

/// Checks a `TimeStampResp` (RFC 3161 §2.4.2) and returns its token: status granted (or
/// granted with modifications), a token whose content is TSTInfo (id-ct-TSTInfo) with our
/// message imprint and nonce.
pub fn check_response(url: &str, der: &[u8], imprint: &MessageImprint, nonce: &Int) -> Result<Vec<u8>, TimestampError> {
    let invalid = |reason: String| TimestampError::Invalid { url: url.to_owned(), reason };
    let resp = TimeStampResp::from_der(der).map_err(|e| invalid(format!("not a TimeStampResp: {e}")))?;
    let status = resp.status.status as u8;
    // PKIStatus granted (0) and grantedWithMods (1) carry a token; the rest do not.
    if status > 1 {
        let text = resp
            .status
            .status_string
            .as_ref()
            .and_then(|s| s.first())
            .map(|s| format!(": {}", s.as_str()))
            .unwrap_or_default();
        return Err(TimestampError::Refused { url: url.to_owned(), status, text });
    }
    let token = resp.time_stamp_token.ok_or_else(|| invalid("no token in a granted answer".into()))?;
    let info = tst_info(&token).map_err(invalid)?;
    if info.message_imprint != *imprint {
        return Err(invalid("the token is for another message imprint".into()));
    }
    if info.nonce.as_ref() != Some(nonce) {
        return Err(invalid("the token does not carry this request's nonce".into()));
    }
    token.to_der().map_err(|e| invalid(e.to_string()))
}

/// The TSTInfo inside a time-stamp token (RFC 3161 §2.4.2: SignedData whose
/// eContentType is id-ct-TSTInfo).
pub fn tst_info(token: &ContentInfo) -> Result<TstInfo, String> {
    if token.content_type != ID_SIGNED_DATA {
        return Err(format!("the token is a {} rather than SignedData", token.content_type));
    }
    let sd = token.content.decode_as::<SignedData>().map_err(|e| format!("the token's SignedData: {e}"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("the token's content is not TSTInfo".into());
    }
    let econtent = sd.encap_content_info.econtent.ok_or("the token has no TSTInfo")?;
    let octets = econtent.decode_as::<OctetString>().map_err(|e| format!("the token's TSTInfo: {e}"))?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| format!("the token's TSTInfo: {e}"))
}

/// The one SignerInfo's signature value of a CAdES signature: what its signature
/// time-stamp covers (ETSI EN 319 122-1 §5.3).
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let (_, sd) = signed_data(cms_der)?;
    let si = one_signer(&sd)?;
    Ok(si.signature.as_bytes().to_vec())
}

fn signed_data(cms_der: &[u8]) -> Result<(ContentInfo, SignedData), TimestampError> {
    let bad = |e: der::Error| TimestampError::Signature(e.to_string());
    let ci = ContentInfo::from_der(cms_der).map_err(bad)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(TimestampError::Signature("not SignedData".into()));
    }
    let sd = ci.content.decode_as::<SignedData>().map_err(bad)?;
    Ok((ci, sd))
}

fn one_signer(sd: &SignedData) -> Result<&cms::signed_data::SignerInfo, TimestampError> {
    match sd.signer_infos.0.as_slice() {
        [si] => Ok(si),
        other => Err(TimestampError::Signature(format!("{} signers, expected one", other.len()))),
    }
}

/// Adds `token` to the one SignerInfo of `cms_der` as its signature time-stamp
/// (unsigned attribute id-aa-signatureTimeStampToken, RFC 3161 Appendix A; ETSI EN 319
/// 122-1 §5.3). The signed part is untouched, so the signature stays valid.
pub fn add_signature_timestamp(cms_der: &[u8], token: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let bad = |e: der::Error| TimestampError::Signature(e.to_string());
    let (mut ci, mut sd) = signed_data(cms_der)?;
    let mut si = one_signer(&sd)?.clone();
    let value = Any::from_der(token).map_err(bad)?;
    let mut values = SetOfVec::new();
    values.insert(value).map_err(bad)?;
    let attr = Attribute { oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN, values };
    let mut attrs = si.unsigned_attrs.take().map(|a| a.into_vec()).unwrap_or_default();
    attrs.push(attr);
    si.unsigned_attrs = Some(SetOfVec::try_from(attrs).map_err(bad)?);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(vec![si]).map_err(bad)?);
    ci.content = Any::encode_from(&sd).map_err(bad)?;
    ci.to_der().map_err(bad)
}

/// Time-stamps a CAdES signature: asks `tsa` for a token over its signature value and
/// adds it ([`add_signature_timestamp`]). B-B in, B-T out.
pub fn stamp(cms_der: &[u8], tsa: &Tsa) -> Result<Vec<u8>, TimestampError> {
    let value = signature_value(cms_der)?;
    let token = token_for(tsa, &value)?;
    add_signature_timestamp(cms_der, &token)
}
