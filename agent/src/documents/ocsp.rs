//! OCSP (RFC 6960): asking a certificate's issuer whether it is revoked, and judging the
//! answer. B-LT embeds the answers (the PDF's DSS `/OCSPs`, ETSI EN 319 142-1 §5.4.2),
//! `mohur verify` reads them back or, with `--online`, asks again.
//!
//! A request names the certificate by its `CertID` (SHA-1 of the issuer's name and key,
//! and the serial number: §4.1.1, what every responder understands) and carries a fresh
//! nonce (§4.4.1). An answer is believed only when it is a successful `id-pkix-ocsp-basic`
//! response whose signature was made by the issuer itself or by a responder the issuer
//! certified for OCSP signing (§4.2.2.2), that speaks of exactly this certificate, and
//! that is current.

use std::time::{Duration, SystemTime};

use const_oid::db::{rfc5280, rfc5912, rfc6960};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use sha1::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, ExtendedKeyUsage};
use x509_cert::ext::Extension;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request, ResponderId,
    TbsRequest, Version,
};

/// An OCSP answer larger than this is refused (one certificate's status is a few KiB).
const MAX_RESPONSE_BYTES: u64 = 1 << 20;
/// How far a responder's clock may run ahead of ours.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// What an OCSP answer says of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not revoked when the responder answered.
    Good,
    /// Revoked at this time.
    Revoked(SystemTime),
    /// The responder does not know the certificate.
    Unknown,
}

/// The http(s) OCSP responders `cert` names (authorityInfoAccess id-ad-ocsp, RFC 5280
/// §4.2.2.1).
pub fn urls(cert: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    let Some(ext) =
        cert.tbs_certificate.extensions.iter().flatten().find(|e| e.extn_id == rfc5280::ID_PE_AUTHORITY_INFO_ACCESS)
    else {
        return Vec::new();
    };
    let Ok(aia) = AuthorityInfoAccessSyntax::from_der(ext.extn_value.as_bytes()) else { return Vec::new() };
    aia.0
        .iter()
        .filter(|a| a.access_method == rfc5280::ID_AD_OCSP)
        .filter_map(|a| match &a.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_owned()),
            _ => None,
        })
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect()
}

/// True for a certificate that needs no revocation check of its own: a delegated OCSP
/// responder's with `id-pkix-ocsp-nocheck` (RFC 6960 §4.2.2.2.1).
pub fn no_check(cert: &Certificate) -> bool {
    cert.tbs_certificate.extensions.iter().flatten().any(|e| e.extn_id == rfc6960::ID_PKIX_OCSP_NOCHECK)
}

/// The `CertID` of `cert` issued by `issuer`, with `hash` (SHA-1 or SHA-256) over the
/// issuer's DER name and the bits of its public key.
fn cert_id(cert: &Certificate, issuer: &Certificate, hash: der::asn1::ObjectIdentifier) -> Option<CertId> {
    let digest = |data: &[u8]| -> Option<Vec<u8>> {
        match hash {
            rfc5912::ID_SHA_1 => Some(sha1::Sha1::digest(data).to_vec()),
            rfc5912::ID_SHA_256 => Some(sha2::Sha256::digest(data).to_vec()),
            _ => None,
        }
    };
    let issuer_tbs = &issuer.tbs_certificate;
    Some(CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: hash, parameters: Some(Null.into()) },
        issuer_name_hash: OctetString::new(digest(&issuer_tbs.subject.to_der().ok()?)?).ok()?,
        issuer_key_hash: OctetString::new(digest(issuer_tbs.subject_public_key_info.subject_public_key.raw_bytes())?)
            .ok()?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

/// Asks the responder at `url` about `cert`; the answer (an `OCSPResponse`, DER) once
/// [`check`] found it signed, about `cert`, current and with our nonce, and what it says.
pub fn fetch(
    url: &str,
    cert: &Certificate,
    issuer: &Certificate,
    timeout: Duration,
) -> Result<(Vec<u8>, Status), String> {
    let id = cert_id(cert, issuer, rfc5912::ID_SHA_1).ok_or("the certificate ID cannot be made")?;
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let nonce_ext = Extension {
        extn_id: rfc6960::ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetString::new(
            OctetString::new(nonce.to_vec()).and_then(|n| n.to_der()).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?,
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request { req_cert: id, single_request_extensions: None }],
            request_extensions: Some(vec![nonce_ext]),
        },
        optional_signature: None,
    };
    let body = request.to_der().map_err(|e| e.to_string())?;
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(timeout)).build().into();
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/ocsp-request")
        .send(&body[..])
        .map_err(|e| format!("{url}: {e}"))?;
    let der =
        response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec().map_err(|e| format!("{url}: {e}"))?;
    let status = check(&der, cert, issuer, SystemTime::now(), Some(&nonce), true).map_err(|e| format!("{url}: {e}"))?;
    Ok((der, status))
}

/// Judges an `OCSPResponse` (DER) about `cert`, issued by `issuer`: successful, basic,
/// signed by the issuer or its delegated OCSP responder, about this certificate, not
/// not from the future, and — when `nonce` is given and the responder echoed one —
/// answering our request. Responses are judged as of when they were made: an answer
/// embedded at signing time says the certificate was good then; `at` bounds its
/// `thisUpdate` from above (it cannot speak of a time after `at` + skew) and, when
/// `current` (an answer just asked for), its `nextUpdate` from below: a responder that
/// hands out an answer past its own expiry (a replayed one) is not believed.
pub fn check(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    at: SystemTime,
    nonce: Option<&[u8]>,
    current: bool,
) -> Result<Status, String> {
    let response = OcspResponse::from_der(der).map_err(|e| format!("not an OCSP response: {e}"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(format!("the responder answered {:?}", response.response_status));
    }
    let bytes = response.response_bytes.ok_or("a successful response without its bytes")?;
    if bytes.response_type != rfc6960::ID_PKIX_OCSP_BASIC {
        return Err(format!("a response of type {}", bytes.response_type));
    }
    let basic =
        BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| format!("not a basic response: {e}"))?;
    let signer = responder(&basic, issuer)?;
    let tbs = basic.tbs_response_data.to_der().map_err(|e| e.to_string())?;
    let sig = basic.signature.as_bytes().ok_or("the response's signature has unused bits")?;
    mohur_platform::chain::verify_signed(&tbs, basic.signature_algorithm.oid, sig, &signer)
        .map_err(|e| format!("the response's signature does not verify: {e}"))?;
    if let (Some(ours), Some(theirs)) = (nonce, basic.tbs_response_data.nonce()) {
        if theirs.0.as_bytes() != ours {
            return Err("the response answers another request (nonce)".into());
        }
    }
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.serial_number == cert.tbs_certificate.serial_number
                && cert_id(cert, issuer, r.cert_id.hash_algorithm.oid).is_some_and(|id| id == r.cert_id)
        })
        .ok_or("the response is about another certificate")?;
    let this_update = single.this_update.0.to_system_time();
    if this_update > at + CLOCK_SKEW {
        return Err("the response is from the future".into());
    }
    if current && single.next_update.is_some_and(|n| n.0.to_system_time() + CLOCK_SKEW < at) {
        return Err("the response has expired (nextUpdate passed)".into());
    }
    Ok(match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(info) => Status::Revoked(info.revocation_time.0.to_system_time()),
        CertStatus::Unknown(_) => Status::Unknown,
    })
}

/// Who signed a basic response: the issuer itself, or a certificate in the response that
/// the issuer signed and certified for OCSP signing (RFC 6960 §4.2.2.2).
fn responder(basic: &BasicOcspResponse, issuer: &Certificate) -> Result<Certificate, String> {
    let names = |c: &Certificate| match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => *name == c.tbs_certificate.subject,
        ResponderId::ByKey(hash) => {
            hash.as_bytes()
                == sha1::Sha1::digest(c.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes())
                    .as_slice()
        }
    };
    if names(issuer) {
        return Ok(issuer.clone());
    }
    let issuer_der = issuer.to_der().map_err(|e| e.to_string())?;
    for c in basic.certs.iter().flatten() {
        if !names(c) || c.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            continue;
        }
        let der = c.to_der().map_err(|e| e.to_string())?;
        mohur_platform::chain::verify_issued_by(&der, &issuer_der)
            .map_err(|e| format!("the OCSP responder's certificate is not the issuer's: {e}"))?;
        let for_ocsp = c
            .tbs_certificate
            .get::<ExtendedKeyUsage>()
            .ok()
            .flatten()
            .is_some_and(|(_, eku)| eku.0.contains(&rfc5280::ID_KP_OCSP_SIGNING));
        if !for_ocsp {
            return Err("the OCSP responder's certificate is not for OCSP signing".into());
        }
        return Ok(c.clone());
    }
    Err("the response is signed by neither the issuer nor a responder it certified".into())
}

/// The certificates a response carries (its delegated responder's), DER.
pub fn certificates(der: &[u8]) -> Vec<Vec<u8>> {
    let Some(basic) = OcspResponse::from_der(der)
        .ok()
        .and_then(|r| r.response_bytes)
        .and_then(|b| BasicOcspResponse::from_der(b.response.as_bytes()).ok())
    else {
        return Vec::new();
    };
    basic.certs.iter().flatten().filter_map(|c| c.to_der().ok()).collect()
}
