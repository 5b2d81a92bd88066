//! Learning a citizen's CA chain from their own card, where the bundle pins no CAs for
//! their country (`install --from-card`, `--from-cert`).
//!
//! A card's certificates name their issuer's certificate (authorityInfoAccess caIssuers,
//! RFC 5280 §4.2.2.1). Each one is fetched and must have signed the certificate below
//! it, up to a self-signed root whose own signature verifies: a forger who serves a
//! chain of his own cannot make the citizen's real certificate verify under it. The
//! chain is then checked as a bundle is ([`crate::ca::check_learned`]: CA rules,
//! pathLen). Nothing is installed unless the citizen confirms the subjects and
//! fingerprints shown; a network error or a chain that does not verify changes nothing.

use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::Certificate;

use crate::ca::{check_learned, CaCert};
use crate::Error;
use mohur_platform::chain::verify_issued_by;

/// `id-ad-caIssuers` (RFC 5280 §4.2.2.1).
use x509_cert::der::oid::db::rfc5280::ID_AD_CA_ISSUERS;

/// The most CA certificates above a card's certificate.
const MAX_DEPTH: usize = 6;

/// The caIssuers URLs a certificate names, in its order.
pub fn ca_issuers_urls(cert: &Certificate) -> Vec<String> {
    let Ok(Some((_, aia))) = cert.tbs_certificate.get::<AuthorityInfoAccessSyntax>() else { return Vec::new() };
    aia.0
        .iter()
        .filter(|d| d.access_method == ID_AD_CA_ISSUERS)
        .filter_map(|d| match &d.access_location {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .collect()
}

/// The certificates in what a caIssuers URL served: one DER certificate, PEM, or a
/// certs-only CMS `SignedData` (`.p7c`, RFC 5652 §5.1).
pub fn certificates_in(answer: &[u8]) -> Vec<Vec<u8>> {
    if answer.windows(11).any(|w| w == b"-----BEGIN ") {
        return mohur_platform::pem::pem_blocks(&String::from_utf8_lossy(answer));
    }
    if Certificate::from_der(answer).is_ok() {
        return vec![answer.to_vec()];
    }
    let Ok(ci) = cms::content_info::ContentInfo::from_der(answer) else { return Vec::new() };
    let Ok(sd) = ci.content.decode_as::<cms::signed_data::SignedData>() else { return Vec::new() };
    sd.certificates
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => c.to_der().ok(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn subject(c: &Certificate) -> String {
    c.tbs_certificate.subject.to_string()
}

/// Follows the issuers of `leaves` (DER) up to self-signed roots with `fetch` (a URL's
/// bytes), checking each signature; returns the CAs, checked, marked as learned from
/// `from`.
pub fn chain_of(
    leaves: &[Vec<u8>],
    from: &str,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<CaCert>, Error> {
    let learn = |m: String| Error::Learn(m);
    let mut cas: Vec<Vec<u8>> = Vec::new();
    for leaf in leaves {
        let mut current = leaf.clone();
        for depth in 0.. {
            let cert = Certificate::from_der(&current).map_err(|e| learn(format!("a certificate of {from}: {e}")))?;
            let tbs = &cert.tbs_certificate;
            if tbs.issuer == tbs.subject && verify_issued_by(&current, &current).is_ok() {
                break; // a self-signed root: the chain is complete
            }
            if depth >= MAX_DEPTH {
                return Err(learn(format!("{}: more than {MAX_DEPTH} CAs above it", subject(&cert))));
            }
            // Already learned for another certificate of the card.
            if let Some(known) = cas.iter().find(|ca| {
                Certificate::from_der(ca).is_ok_and(|c| c.tbs_certificate.subject == tbs.issuer)
                    && verify_issued_by(&current, ca).is_ok()
            }) {
                current = known.clone();
                continue;
            }
            let urls = ca_issuers_urls(&cert);
            if urls.is_empty() {
                return Err(learn(format!(
                    "{} names no URL of its issuer (authorityInfoAccess caIssuers): its CA cannot be learned from the card",
                    subject(&cert)
                )));
            }
            let mut why = Vec::new();
            let mut found = None;
            for url in &urls {
                match fetch(url) {
                    Err(e) => why.push(e),
                    Ok(bytes) => {
                        let candidates = certificates_in(&bytes);
                        if candidates.is_empty() {
                            why.push(format!("{url}: not a certificate"));
                        }
                        for c in candidates {
                            let names_match =
                                Certificate::from_der(&c).is_ok_and(|i| i.tbs_certificate.subject == tbs.issuer);
                            match verify_issued_by(&current, &c) {
                                Ok(()) if names_match => {
                                    found = Some(c);
                                    break;
                                }
                                Ok(()) => why.push(format!("{url}: its subject is not {}", tbs.issuer)),
                                Err(e) => why.push(format!(
                                    "{url}: the certificate served there did not sign {} ({e}): refused",
                                    subject(&cert)
                                )),
                            }
                        }
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            let issuer = found.ok_or_else(|| learn(why.join("; ")))?;
            if !cas.contains(&issuer) {
                cas.push(issuer.clone());
            }
            current = issuer;
        }
    }
    if cas.is_empty() {
        return Err(learn(format!("{from}: no CA certificate above its certificates")));
    }
    let certs = check_learned(&cas, from)?;
    if !certs.iter().any(|c| c.is_root) {
        return Err(learn(format!("{from}: the chain does not end at a self-signed root")));
    }
    Ok(certs)
}
