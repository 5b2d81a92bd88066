//! Long-term validation data (level B-LT, ETSI EN 319 142-1 §5.4 for PAdES): every
//! certificate a verifier needs to build the signer's and the TSA's paths, and the CRLs
//! that say none of them was revoked, fetched right after the signature time-stamp so
//! that they are fresher than it (the EU DSS advice). A verifier can then check the
//! signature years later, with no network, after the CAs' services are gone.
//!
//! Revocation data come from the certificate's OCSP responder when it names one
//! (authorityInfoAccess, RFC 6960; [`super::ocsp`]), as national CAs answer for the
//! certificates they issue to citizens, else from its cRLDistributionPoints (RFC 5280
//! §4.2.1.13), over http(s): each CRL must be issued by the certificate's issuer, signed
//! by it, and not list the certificate. A delegated OCSP responder's own certificate
//! (`id-pkix-ocsp-nocheck`) needs none.

use std::time::Duration;

use der::{Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::Certificate;

/// A CRL larger than this is refused (national CAs' CRLs are far smaller).
const MAX_CRL_BYTES: u64 = 16 << 20;

/// Why the validation data could not be gathered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LtvError {
    /// A certificate names neither an OCSP responder nor a CRL distribution point (of the
    /// kinds the configuration allows), so nothing says it is not revoked.
    #[error(
        "the certificate of {0} names no OCSP responder and no CRL distribution point that revocation_sources allow: B-LT cannot be made for it"
    )]
    NoRevocationSource(String),
    /// The configuration allows no source of revocation data (`revocation_sources = []`).
    #[error("the configuration's revocation_sources allow neither OCSP nor CRLs: B-LT cannot be made")]
    FetchingOff,
    /// No distribution point of a certificate gave a usable CRL.
    #[error("no OCSP answer or CRL for the certificate of {subject} could be had: {why}")]
    Unavailable {
        /// The certificate's subject.
        subject: String,
        /// What went wrong at the last URL tried.
        why: String,
    },
    /// The CRL lists the certificate: it is revoked.
    #[error("the certificate of {0} is revoked")]
    Revoked(String),
    /// A certificate that cannot be read.
    #[error("a certificate cannot be read: {0}")]
    Certificate(String),
    /// The issuer of a certificate is not among those given.
    #[error("the issuer of {0} is not in the signature's chain")]
    NoIssuer(String),
}

/// Where revocation data may be fetched from, and how long one answer may take: the
/// configuration's `revocation_sources` (an OCSP responder, RFC 6960; a CRL
/// distribution point, RFC 5280 §4.2.1.13), in that order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetching {
    /// Ask the certificates' OCSP responders.
    pub ocsp: bool,
    /// Download the CRLs their distribution points name.
    pub crl: bool,
    /// How long one answer or CRL may take.
    pub timeout: Duration,
}

impl Default for Fetching {
    /// Both, OCSP first, [`FETCH_TIMEOUT`] each.
    fn default() -> Fetching {
        Fetching { ocsp: true, crl: true, timeout: FETCH_TIMEOUT }
    }
}

/// The validation data of a signature: certificates, CRLs and OCSP responses (DER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationData {
    /// Every certificate given, each once, and the OCSP responders'.
    pub certificates: Vec<Vec<u8>>,
    /// A CRL for each certificate that is not self-signed and has no OCSP answer.
    pub crls: Vec<Vec<u8>>,
    /// An `OCSPResponse` for each certificate whose responder answered.
    pub ocsps: Vec<Vec<u8>>,
}

fn subject_of(cert: &Certificate) -> String {
    crate::signing::verify::name_text(&cert.tbs_certificate.subject)
}

/// The http(s) URLs of `cert`'s CRL distribution points.
fn crl_urls(cert: &Certificate) -> Vec<String> {
    let Some(ext) = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS)
    else {
        return Vec::new();
    };
    let Ok(points) = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()) else { return Vec::new() };
    points
        .0
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_owned()),
            _ => None,
        })
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect()
}

/// The CRL at `url`, checked: issued and signed by `issuer`, not listing `cert`.
fn fetch_crl(url: &str, cert: &Certificate, issuer: &Certificate, timeout: Duration) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(timeout)).build().into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let der =
        response.body_mut().with_config().limit(MAX_CRL_BYTES).read_to_vec().map_err(|e| format!("{url}: {e}"))?;
    // A CRL may come PEM-armoured from some servers.
    let der = match std::str::from_utf8(&der).ok().filter(|t| t.contains("-----BEGIN X509 CRL-----")) {
        Some(text) => der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| format!("{url}: {e}"))?.1,
        None => der,
    };
    let crl = CertificateList::from_der(&der).map_err(|e| format!("{url}: not a CRL: {e}"))?;
    if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject {
        return Err(format!("{url}: a CRL of another CA"));
    }
    let tbs = crl.tbs_cert_list.to_der().map_err(|e| e.to_string())?;
    let sig = crl.signature.as_bytes().ok_or("the CRL's signature has unused bits")?;
    mohur_platform::chain::verify_signed(&tbs, crl.signature_algorithm.oid, sig, issuer)
        .map_err(|e| format!("{url}: the CRL's signature does not verify: {e}"))?;
    let serial = &cert.tbs_certificate.serial_number;
    if crl.tbs_cert_list.revoked_certificates.iter().flatten().any(|r| &r.serial_number == serial) {
        return Err("revoked".to_owned());
    }
    Ok(der)
}

/// Gathers the validation data for `certificates` (DER; the signer's, the TSA's and
/// their CAs, in any order): for each that is not self-signed, an OCSP answer from its
/// responders, else a CRL from its distribution points, tried in turn, as `fetching`
/// allows. A revoked certificate, or one for which nothing can be had, is an error:
/// B-LT is then not made.
pub fn gather(certificates: &[Vec<u8>], fetching: &Fetching) -> Result<ValidationData, LtvError> {
    if !fetching.ocsp && !fetching.crl {
        return Err(LtvError::FetchingOff);
    }
    let timeout = fetching.timeout;
    let mut unique: Vec<Vec<u8>> = Vec::new();
    for c in certificates {
        if !unique.contains(c) {
            unique.push(c.clone());
        }
    }
    let parsed = unique
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|e| LtvError::Certificate(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut crls, mut ocsps): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut responders: Vec<Vec<u8>> = Vec::new();
    for cert in &parsed {
        if cert.tbs_certificate.issuer == cert.tbs_certificate.subject || super::ocsp::no_check(cert) {
            continue;
        }
        let subject = subject_of(cert);
        let issuer = parsed
            .iter()
            .find(|i| i.tbs_certificate.subject == cert.tbs_certificate.issuer)
            .ok_or_else(|| LtvError::NoIssuer(subject.clone()))?;
        let ocsp_urls = if fetching.ocsp { super::ocsp::urls(cert) } else { Vec::new() };
        let crl_urls = if fetching.crl { crl_urls(cert) } else { Vec::new() };
        if ocsp_urls.is_empty() && crl_urls.is_empty() {
            return Err(LtvError::NoRevocationSource(subject));
        }
        let mut last = String::new();
        // OCSP first: the freshest word on one certificate; a CRL when no responder answers.
        let mut answered = false;
        for url in &ocsp_urls {
            match super::ocsp::fetch(url, cert, issuer, timeout) {
                Ok((der, super::ocsp::Status::Good)) => {
                    responders.extend(super::ocsp::certificates(&der));
                    ocsps.push(der);
                    answered = true;
                    break;
                }
                Ok((_, super::ocsp::Status::Revoked(_))) => return Err(LtvError::Revoked(subject)),
                Ok((_, super::ocsp::Status::Unknown)) => last = format!("{url}: the responder does not know it"),
                Err(why) => last = why,
            }
            tracing::warn!("B-LT: {last}");
        }
        if answered {
            continue;
        }
        let mut got = None;
        for url in &crl_urls {
            match fetch_crl(url, cert, issuer, timeout) {
                Ok(der) => {
                    got = Some(der);
                    break;
                }
                Err(why) if why == "revoked" => return Err(LtvError::Revoked(subject)),
                Err(why) => {
                    tracing::warn!("B-LT: {why}");
                    last = why;
                }
            }
        }
        let der = got.ok_or(LtvError::Unavailable { subject, why: last })?;
        if !crls.contains(&der) {
            crls.push(der);
        }
    }
    for r in responders {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    Ok(ValidationData { certificates: unique, crls, ocsps })
}

/// How long fetching one OCSP answer or CRL may take when no TSA's timeout says
/// otherwise (`mohur verify --online`, B-LT without a configured timeout).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// The validation data of a time-stamped signature `cms_der`: the certificates of the
/// signer's and the TSA's paths (completed from `known`, the CA certificates at hand)
/// and an OCSP answer or a CRL for each, gathered now ([`gather`]). What B-LT puts in a
/// PDF's DSS or in the signed data.
pub fn signature_data(cms_der: &[u8], known: &[Vec<u8>], fetching: &Fetching) -> Result<ValidationData, LtvError> {
    gather(&[certificates_of(cms_der), known.to_vec()].concat(), fetching)
}

/// CAdES B-LT (ETSI EN 319 122-1 §6.3): `cms_der`, a time-stamped signature, with its
/// [`signature_data`] in the signed data's `certificates` and `crls`
/// ([`crate::signing::validation_data`]).
pub fn add_to_signed_data(cms_der: &[u8], known: &[Vec<u8>], fetching: &Fetching) -> crate::Result<Vec<u8>> {
    use crate::signing::validation_data::{self, RevocationValues};
    let data = signature_data(cms_der, known, fetching)?;
    let values = RevocationValues { crls: data.crls, ocsps: data.ocsps };
    validation_data::add(cms_der, &data.certificates, &values)
        .map_err(|e| crate::Error::Internal(format!("B-LT: the signed data cannot take its validation data: {e}")))
}

/// The certificates a CAdES signature and its time-stamp carry (the signer's, its chain,
/// the TSA's and its chain): what [`gather`] needs.
pub fn certificates_of(cms_der: &[u8]) -> Vec<Vec<u8>> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    fn certs(sd: &SignedData) -> Vec<Vec<u8>> {
        sd.certificates
            .iter()
            .flat_map(|s| s.0.iter())
            .filter_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => c.to_der().ok(),
                _ => None,
            })
            .collect()
    }
    let cms_der = crate::signing::validation_data::decodable(cms_der);
    let Some(sd) = ContentInfo::from_der(&cms_der).ok().and_then(|ci| ci.content.decode_as::<SignedData>().ok()) else {
        return Vec::new();
    };
    let mut out = certs(&sd);
    for si in sd.signer_infos.0.iter() {
        let tokens = si
            .unsigned_attrs
            .iter()
            .flat_map(|a| a.iter())
            .filter(|a| a.oid == super::timestamp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
            .flat_map(|a| a.values.iter());
        for token in tokens {
            if let Some(tsd) =
                token.decode_as::<ContentInfo>().ok().and_then(|ci| ci.content.decode_as::<SignedData>().ok())
            {
                out.extend(certs(&tsd));
            }
        }
    }
    out
}

/// What the CRLs and OCSP answers at hand say of a signature's certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// An OCSP answer or a CRL of its issuer, correctly signed, covers every certificate
    /// (but roots and OCSP responders), and none says it was revoked at or before the
    /// time asked.
    Good,
    /// No usable OCSP answer or CRL for these certificates (subjects): their status is
    /// unknown.
    Unknown(Vec<String>),
    /// This certificate (subject) was revoked at or before the time asked.
    Revoked(String),
}

/// Checks `certificates` (DER: the signer's or TSA's and their CAs; issuers are looked
/// up among them) against `ocsps` (`OCSPResponse`s) and `crls` (DER) as of `at`: a
/// certificate revoked after `at` (after the signature was time-stamped) does not
/// invalidate it.
pub fn check_revocation(
    certificates: &[Vec<u8>],
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    at: std::time::SystemTime,
) -> Revocation {
    let parsed: Vec<Certificate> = certificates.iter().filter_map(|d| Certificate::from_der(d).ok()).collect();
    let lists: Vec<CertificateList> = crls.iter().filter_map(|d| CertificateList::from_der(d).ok()).collect();
    let mut unknown = Vec::new();
    let mut seen = Vec::new();
    for cert in &parsed {
        let tbs = &cert.tbs_certificate;
        if tbs.issuer == tbs.subject || super::ocsp::no_check(cert) || seen.contains(&(&tbs.issuer, &tbs.serial_number))
        {
            continue;
        }
        seen.push((&tbs.issuer, &tbs.serial_number));
        let issuer = parsed.iter().find(|i| i.tbs_certificate.subject == tbs.issuer);
        // An OCSP answer about it, signed for its issuer, decides.
        let answer = issuer.and_then(|issuer| {
            ocsps
                .iter()
                .find_map(|der| super::ocsp::check(der, cert, issuer, std::time::SystemTime::now(), None, false).ok())
        });
        match answer {
            Some(super::ocsp::Status::Good) => continue,
            Some(super::ocsp::Status::Revoked(when)) if when <= at => return Revocation::Revoked(subject_of(cert)),
            Some(super::ocsp::Status::Revoked(_)) => continue,
            Some(super::ocsp::Status::Unknown) | None => {}
        }
        // A CRL of this certificate's issuer whose signature that issuer made.
        let crl = issuer.and_then(|issuer| {
            lists.iter().find(|l| {
                l.tbs_cert_list.issuer == tbs.issuer
                    && l.tbs_cert_list.to_der().ok().zip(l.signature.as_bytes()).is_some_and(|(t, s)| {
                        mohur_platform::chain::verify_signed(&t, l.signature_algorithm.oid, s, issuer).is_ok()
                    })
            })
        });
        let Some(crl) = crl else {
            unknown.push(subject_of(cert));
            continue;
        };
        let listed =
            crl.tbs_cert_list.revoked_certificates.iter().flatten().find(|r| r.serial_number == tbs.serial_number);
        if listed.is_some_and(|r| r.revocation_date.to_system_time() <= at) {
            return Revocation::Revoked(subject_of(cert));
        }
    }
    if unknown.is_empty() {
        Revocation::Good
    } else {
        Revocation::Unknown(unknown)
    }
}

/// The CRLs named by `certificates`' distribution points that can be fetched now (for
/// `mohur verify --online`), each checked as [`gather`] checks them but for revocation,
/// which [`check_revocation`] judges.
pub fn fetch_crls(certificates: &[Vec<u8>], timeout: Duration) -> Vec<Vec<u8>> {
    let parsed: Vec<Certificate> = certificates.iter().filter_map(|d| Certificate::from_der(d).ok()).collect();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for cert in &parsed {
        let tbs = &cert.tbs_certificate;
        let Some(issuer) = parsed.iter().find(|i| i.tbs_certificate.subject == tbs.issuer) else { continue };
        if tbs.issuer == tbs.subject {
            continue;
        }
        for url in crl_urls(cert) {
            // A revoked certificate's CRL is wanted here too: check_revocation reads it.
            match fetch_crl(&url, cert, issuer, timeout) {
                Ok(der) => {
                    if !out.contains(&der) {
                        out.push(der);
                    }
                    break;
                }
                Err(why) if why == "revoked" => {
                    if let Ok(der) = fetch_raw(&url, timeout) {
                        out.push(der);
                    }
                    break;
                }
                Err(why) => tracing::info!("verify --online: {why}"),
            }
        }
    }
    out
}

/// The answers of the OCSP responders `certificates` name, asked now (for `mohur verify
/// --online`), each checked as [`super::ocsp::check`] does; what they say,
/// [`check_revocation`] judges.
pub fn fetch_ocsps(certificates: &[Vec<u8>], timeout: Duration) -> Vec<Vec<u8>> {
    let parsed: Vec<Certificate> = certificates.iter().filter_map(|d| Certificate::from_der(d).ok()).collect();
    let mut out = Vec::new();
    for cert in &parsed {
        let tbs = &cert.tbs_certificate;
        if tbs.issuer == tbs.subject || super::ocsp::no_check(cert) {
            continue;
        }
        let Some(issuer) = parsed.iter().find(|i| i.tbs_certificate.subject == tbs.issuer) else { continue };
        for url in super::ocsp::urls(cert) {
            match super::ocsp::fetch(&url, cert, issuer, timeout) {
                Ok((der, _)) => {
                    out.push(der);
                    break;
                }
                Err(why) => tracing::info!("verify --online: {why}"),
            }
        }
    }
    out
}

fn fetch_raw(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(timeout)).build().into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    response.body_mut().with_config().limit(MAX_CRL_BYTES).read_to_vec().map_err(|e| format!("{url}: {e}"))
}
