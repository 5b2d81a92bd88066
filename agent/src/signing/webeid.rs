//! The Web eID authentication token, format `web-eid:1.0` (Web eID system architecture and
//! protocol specification, § "Authentication token format"; github.com/web-eid/web-eid-system-architecture-doc).
//!
//! The token proves possession of the authentication key for one origin and one challenge
//! nonce: the card signs `hash(origin) ‖ hash(challengeNonce)`, hashed once more by the
//! signature algorithm's own hash (spec § "Authentication token format", field `signature`).
//! With ES384, for example, the card signs `SHA-384(SHA-384(origin) ‖ SHA-384(nonce))`.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use mohur_apdu::{HashAlg, KeyAlgorithm};
use serde::{Deserialize, Serialize};

use crate::signing::cms::{hash, SignFn};
use crate::{Error, Result};

/// The `format` field this module writes and accepts.
pub const FORMAT: &str = "web-eid:1.0";
/// The `format` of a token that also carries the signing certificate (`unverifiedSigningCertificate`,
/// `supportedSignatureAlgorithms`): [`signing_certificate_fits`].
pub const FORMAT_1_1: &str = "web-eid:1.1";
/// Prefix of the `appVersion` field: the URL of the agent's release.
pub const APP_VERSION_URL_PREFIX: &str = "https://mohur.example/releases/";
/// Shortest accepted challenge nonce (spec: at least 256 bits of entropy, base64 → 44 chars).
pub const NONCE_MIN_LEN: usize = 44;
/// Longest accepted challenge nonce.
pub const NONCE_MAX_LEN: usize = 128;

/// The authentication token (spec § "Authentication token format"), serialised as JSON with
/// camelCase field names. Binary fields are standard base64 (RFC 4648 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthToken {
    /// The authentication certificate, base64 DER; the relying party must validate it.
    pub unverified_certificate: String,
    /// JWS-style algorithm name (RFC 7518 §3.1): `ES256`, `ES384`, `ES512`, `RS256`, `RS384`,
    /// `RS512` or `PS256`.
    pub algorithm: String,
    /// base64 signature: raw `r ‖ s` for ES* (RFC 7518 §3.4), PKCS#1 v1.5 / PSS for RS* / PS*.
    pub signature: String,
    /// Always [`FORMAT`].
    pub format: String,
    /// URL identifying the application that made the token.
    pub app_version: String,
    /// `web-eid:1.1`: the holder's signing certificate, base64 DER, from the same token
    /// ([`signing_certificate_fits`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified_signing_certificate: Option<String>,
    /// `web-eid:1.1`: what the signing key signs with
    /// ([`supported_signature_algorithms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_signature_algorithms: Option<serde_json::Value>,
}

/// The token algorithm name and hash for a card key: RSA → `RS256`/SHA-256, P-256 →
/// `ES256`/SHA-256, P-384 → `ES384`/SHA-384 (RFC 7518 §3.1).
pub fn algorithm_for(key: KeyAlgorithm) -> (&'static str, HashAlg) {
    match key {
        KeyAlgorithm::EcP256 => ("ES256", HashAlg::Sha256),
        KeyAlgorithm::EcP384 => ("ES384", HashAlg::Sha384),
        _ => ("RS256", HashAlg::Sha256),
    }
}

/// Standard alphabet, padding optional: nonces are only checked for shape, not re-encoded.
const NONCE_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Checks a challenge nonce (spec § "Authentication token format", `challengeNonce`: base64
/// of at least 256 random bits): 44–128 characters of the standard base64 alphabet that
/// decode to at least 32 bytes. The nonce is signed as text, never decoded for signing.
pub fn validate_nonce(nonce: &str) -> Result<()> {
    let len = nonce.len();
    if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&len) {
        return Err(Error::BadRequest(format!(
            "challenge nonce must be {NONCE_MIN_LEN} to {NONCE_MAX_LEN} base64 characters, got {len}"
        )));
    }
    match NONCE_B64.decode(nonce) {
        Ok(bytes) if bytes.len() >= 32 => Ok(()),
        Ok(bytes) => {
            Err(Error::BadRequest(format!("challenge nonce carries {} bytes, at least 32 needed", bytes.len())))
        }
        Err(e) => Err(Error::BadRequest(format!("challenge nonce is not base64: {e}"))),
    }
}

fn bad_origin(origin: &str, why: &str) -> Error {
    Error::BadRequest(format!("origin {origin:?} {why}"))
}

/// Validates and normalises a web origin (RFC 6454 §6.1 serialisation: `scheme://host[:port]`).
///
/// Only `https` and `http` are accepted; the scheme and host are lowercased and the scheme's
/// default port is dropped, as browsers serialise `window.location.origin`. A path (even a
/// single trailing `/`), query, fragment or user info is rejected, as are non-ASCII hosts
/// (IDNs must come in their punycode form) and malformed ports.
pub fn validate_origin(origin: &str) -> Result<String> {
    let (scheme, rest) = origin.split_once("://").ok_or_else(|| bad_origin(origin, "is not scheme://host[:port]"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(bad_origin(origin, "must use https or http")),
    };
    if rest.contains(['/', '?', '#']) {
        return Err(bad_origin(origin, "must not have a path, query or fragment"));
    }
    if rest.contains('@') {
        return Err(bad_origin(origin, "must not contain user info"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (inner, after) =
            v6.split_once(']').ok_or_else(|| bad_origin(origin, "has an unterminated IPv6 literal"))?;
        let ip: std::net::Ipv6Addr = inner.parse().map_err(|_| bad_origin(origin, "has an invalid IPv6 literal"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad_origin(origin, "has junk after the IPv6 literal"))?),
        };
        (format!("[{ip}]"), port)
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad_origin(origin, "has an invalid host"));
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(bad_origin(origin, "has a port out of range")),
            Ok(n) if n == default_port => None,
            Ok(n) => Some(n),
        },
        Some(_) => return Err(bad_origin(origin, "has an invalid port")),
    };
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// The digest the card signs: `H(H(origin) ‖ H(nonce))` with `H = alg` (spec § "Authentication
/// token format", `signature`). `origin` and `nonce` are hashed as their UTF-8 text; pass the
/// normalised origin from [`validate_origin`].
pub fn digest_to_sign(origin: &str, nonce: &str, alg: HashAlg) -> Result<Vec<u8>> {
    let signed_value = [hash(alg, origin.as_bytes())?, hash(alg, nonce.as_bytes())?].concat();
    hash(alg, &signed_value)
}

/// The `appVersion` URL for an agent version: [`APP_VERSION_URL_PREFIX`]`<version>`.
pub fn app_version_url(version: &str) -> String {
    format!("{APP_VERSION_URL_PREFIX}{version}")
}

/// Assembles the token from the card's authentication certificate (DER), its key algorithm,
/// the card's signature (PKCS#1 v1.5 for RSA, raw `r ‖ s` for EC, exactly as the card returns
/// it) and the `appVersion` URL (see [`app_version_url`]).
pub fn build_token(cert_der: &[u8], key_alg: KeyAlgorithm, signature: &[u8], app_version: &str) -> AuthToken {
    AuthToken {
        unverified_certificate: STANDARD.encode(cert_der),
        algorithm: algorithm_for(key_alg).0.to_owned(),
        signature: STANDARD.encode(signature),
        format: FORMAT.to_owned(),
        app_version: app_version.to_owned(),
        unverified_signing_certificate: None,
        supported_signature_algorithms: None,
    }
}

/// The whole authentication step: validates `origin` and `nonce`, asks the token to sign
/// [`digest_to_sign`] with the hash [`algorithm_for`] its key, and builds the token.
/// `sign(alg, digest)` returns what the card returns (PKCS#1 v1.5 or raw `r ‖ s`);
/// `app_version` is the agent's version (see [`app_version_url`]).
pub fn authenticate(
    cert_der: &[u8],
    origin: &str,
    nonce: &str,
    app_version: &str,
    sign: &mut SignFn<'_>,
) -> Result<AuthToken> {
    let origin = validate_origin(origin)?;
    validate_nonce(nonce)?;
    let key = mohur_apdu::x509::key_algorithm(cert_der)
        .map_err(|e| Error::BadRequest(format!("authentication certificate key: {e}")))?;
    let (_, alg) = algorithm_for(key);
    let signature = sign(alg, &digest_to_sign(&origin, nonce, alg)?)?;
    if key.is_ec() && signature.len() != 2 * key.field_len() {
        return Err(Error::Token(format!(
            "token returned a {}-byte ECDSA signature, expected r ‖ s of {} bytes",
            signature.len(),
            2 * key.field_len()
        )));
    }
    Ok(build_token(cert_der, key, &signature, &app_version_url(app_version)))
}

/// The `supportedSignatureAlgorithms` of a signing key (Web eID `get-signing-certificate`
/// and `web-eid:1.1` tokens): the SHA-2 hashes `sign` takes, with PKCS#1 v1.5 for RSA and
/// plain ECDSA for EC keys.
pub fn supported_signature_algorithms(key: KeyAlgorithm) -> serde_json::Value {
    let (crypto, padding) = if key.is_ec() { ("ECC", "NONE") } else { ("RSA", "PKCS1.5") };
    ["SHA-224", "SHA-256", "SHA-384", "SHA-512"]
        .iter()
        .map(|h| serde_json::json!({"cryptoAlgorithm": crypto, "hashFunction": h, "paddingScheme": padding}))
        .collect()
}

/// True when the signing certificate `sign_der` may go into a `web-eid:1.1` token next
/// to the authentication certificate `auth_der`: what the Web eID validation libraries
/// check of it (web-eid-authtoken-validation, `AuthTokenVersion11Validator`): the same
/// subject, issued under the same authority key identifier (RFC 5280 §4.2.1.1), valid
/// now, and with the nonRepudiation key usage (§4.2.1.3). Otherwise the token stays
/// `web-eid:1.0`, which every validator takes.
pub fn signing_certificate_fits(auth_der: &[u8], sign_der: &[u8], now: std::time::SystemTime) -> bool {
    use x509_cert::der::Decode;
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage};
    let (Ok(auth), Ok(sign)) = (x509_cert::Certificate::from_der(auth_der), x509_cert::Certificate::from_der(sign_der))
    else {
        return false;
    };
    let (a, s) = (&auth.tbs_certificate, &sign.tbs_certificate);
    let aki = |t: &x509_cert::TbsCertificate| {
        t.get::<AuthorityKeyIdentifier>().ok().flatten().and_then(|(_, k)| k.key_identifier)
    };
    let now = now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let valid = s.validity.not_before.to_unix_duration() <= now && now <= s.validity.not_after.to_unix_duration();
    let non_repudiation = s.get::<KeyUsage>().ok().flatten().is_some_and(|(_, ku)| ku.non_repudiation());
    a.subject == s.subject && aki(a).is_some() && aki(a) == aki(s) && valid && non_repudiation
}
