//! CAdES-BES (ETSI EN 319 122-1 §5.1, baseline B-B) signed data over a token key, as a
//! CMS `ContentInfo(SignedData)` (RFC 5652 §5).
//!
//! The token only ever sees the digest of the DER-encoded signed attributes (RFC 5652 §5.4).
//! The signed attributes are the four that CAdES-BES requires (EN 319 122-1 §5.2):
//! content-type (RFC 5652 §11.1), message-digest (§11.2), signing-time (§11.3) and the ESS
//! signing-certificate-v2 (RFC 5035 §3) that binds the signer's certificate.
//!
//! The structure is built with the RustCrypto `cms` crate's [`SignedDataBuilder`] and
//! [`SignerInfoBuilder`]; the token is plugged in through a small [`signature::Signer`]
//! adapter around the caller's closure.

use std::cell::RefCell;
use std::time::SystemTime;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{BitString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use mohur_apdu::{HashAlg, KeyAlgorithm};
use spki::SubjectPublicKeyInfoOwned;
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::{Error, Result};

// The OIDs by their RFC names, from const-oid's database (RFC 5911: CMS and ESS; RFC
// 5912: algorithms; RFC 4055 §5 RSA with SHA-2, RFC 5758 §3.2 ECDSA with SHA-2).
pub use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2 as ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_DATA,
    ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_224 as ECDSA_WITH_SHA224, ECDSA_WITH_SHA_256 as ECDSA_WITH_SHA256,
    ECDSA_WITH_SHA_384 as ECDSA_WITH_SHA384, ECDSA_WITH_SHA_512 as ECDSA_WITH_SHA512, ID_SHA_224 as SHA224,
    ID_SHA_256 as SHA256, ID_SHA_384 as SHA384, ID_SHA_512 as SHA512, SHA_224_WITH_RSA_ENCRYPTION as SHA224_WITH_RSA,
    SHA_256_WITH_RSA_ENCRYPTION as SHA256_WITH_RSA, SHA_384_WITH_RSA_ENCRYPTION as SHA384_WITH_RSA,
    SHA_512_WITH_RSA_ENCRYPTION as SHA512_WITH_RSA,
};
/// `id-ct-TSTInfo` (RFC 3161 §2.4.2); not in const-oid's database.
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-timeStampToken` (RFC 3161 Appendix A), the CAdES signature-time-stamp
/// attribute (`id-aa-signatureTimeStampToken`, ETSI EN 319 122-1 §5.3); not in
/// const-oid's database.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// What is signed.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// The content itself; encapsulated unless [`SignRequest::detached`].
    Data(&'a [u8]),
    /// A digest of external content computed by the caller (RFC 5652 §5.2, detached only).
    Digest {
        /// The hash that produced `digest`; it also becomes the signer's digest algorithm.
        alg: HashAlg,
        /// The digest of the content.
        digest: &'a [u8],
    },
}

/// A CAdES-BES signing request.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    /// DER of the signer's certificate (embedded, and bound by signing-certificate-v2).
    pub certificate: &'a [u8],
    /// DER of further certificates to embed (the issuing CAs); may be empty.
    pub chain: &'a [Vec<u8>],
    /// What to sign.
    pub content: Content<'a>,
    /// Leave `eContent` out (RFC 5652 §5.2); required for [`Content::Digest`].
    pub detached: bool,
    /// Value of the signing-time attribute (RFC 5652 §11.3); `None` leaves the attribute
    /// out, as PAdES requires (the time is the PDF signature dictionary's `/M`, ETSI EN
    /// 319 142-1 §5.3).
    pub signing_time: Option<SystemTime>,
}

/// `SigningCertificateV2` (RFC 5035 §3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// `certs SEQUENCE OF ESSCertIDv2`; the first one identifies the signer's certificate.
    pub certs: Vec<EssCertIdV2>,
    /// `policies SEQUENCE OF PolicyInformation OPTIONAL` (never written by mohur).
    pub policies: Option<Vec<Any>>,
}

/// `ESSCertIDv2` (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// `hashAlgorithm DEFAULT {algorithm id-sha256}`: absent means SHA-256 (DER omits the default).
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// `certHash`: hash of the whole DER certificate.
    pub cert_hash: OctetString,
    /// `issuerSerial OPTIONAL`.
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial` (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// `issuer GeneralNames`: the certificate's issuer as a directoryName.
    pub issuer: Vec<GeneralName>,
    /// `serialNumber CertificateSerialNumber`.
    pub serial_number: SerialNumber,
}

/// The digest algorithm mohur uses for a key: SHA-256 for RSA and P-256, SHA-384 for P-384
/// (the hash matching the curve's strength, RFC 5753 §7.1 / RFC 5758 §3.2).
pub fn digest_alg_for(key: KeyAlgorithm) -> HashAlg {
    match key {
        KeyAlgorithm::EcP384 => HashAlg::Sha384,
        _ => HashAlg::Sha256,
    }
}

/// Hashes `data` with `alg`, SHA-2 family only (SHA-1 is refused: it is not used for new
/// signatures). RustCrypto's `sha2` rather than OpenSSL, so that the agent builds for
/// Windows, where there is no OpenSSL to link.
pub(crate) fn hash(alg: HashAlg, data: &[u8]) -> Result<Vec<u8>> {
    use sha2::Digest;
    Ok(match alg {
        HashAlg::Sha224 => sha2::Sha224::digest(data).to_vec(),
        HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
        other => return Err(Error::BadRequest(format!("hash algorithm {other:?} is not accepted for signing"))),
    })
}

fn digest_oid(alg: HashAlg) -> Result<ObjectIdentifier> {
    match alg {
        HashAlg::Sha224 => Ok(SHA224),
        HashAlg::Sha256 => Ok(SHA256),
        HashAlg::Sha384 => Ok(SHA384),
        HashAlg::Sha512 => Ok(SHA512),
        other => Err(Error::BadRequest(format!("hash algorithm {other:?} is not accepted for signing"))),
    }
}

/// `signatureAlgorithm` of the SignerInfo (RFC 5652 §5.3): `shaNNNWithRSAEncryption` with NULL
/// parameters (RFC 4055 §5) or `ecdsa-with-SHANNN` with absent parameters (RFC 5758 §3.2).
fn signature_alg_id(key: KeyAlgorithm, alg: HashAlg) -> Result<AlgorithmIdentifierOwned> {
    let rsa = !key.is_ec();
    let oid = match (rsa, alg) {
        (true, HashAlg::Sha224) => SHA224_WITH_RSA,
        (true, HashAlg::Sha256) => SHA256_WITH_RSA,
        (true, HashAlg::Sha384) => SHA384_WITH_RSA,
        (true, HashAlg::Sha512) => SHA512_WITH_RSA,
        (false, HashAlg::Sha224) => ECDSA_WITH_SHA224,
        (false, HashAlg::Sha256) => ECDSA_WITH_SHA256,
        (false, HashAlg::Sha384) => ECDSA_WITH_SHA384,
        (false, HashAlg::Sha512) => ECDSA_WITH_SHA512,
        (_, other) => return Err(Error::BadRequest(format!("hash algorithm {other:?} is not accepted for signing"))),
    };
    Ok(AlgorithmIdentifierOwned { oid, parameters: rsa.then(Any::null) })
}

fn asn1_err(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

/// The signing-time attribute (RFC 5652 §11.3): UTCTime through 2049, GeneralizedTime after.
fn signing_time_attribute(t: SystemTime) -> Result<Attribute> {
    let range = |e: der::Error| Error::BadRequest(format!("signing time out of range: {e}"));
    let dt = der::DateTime::from_system_time(t).map_err(range)?;
    // x509-cert's `Time::try_from(SystemTime)` always picks GeneralizedTime; §11.3 does not.
    let time = match dt.year() {
        1950..=2049 => Time::UtcTime(der::asn1::UtcTime::from_date_time(dt).map_err(range)?),
        _ => Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt)),
    };
    let mut values = SetOfVec::new();
    values.insert(Any::encode_from(&time).map_err(asn1_err("signing-time"))?).map_err(asn1_err("signing-time"))?;
    Ok(Attribute { oid: ID_SIGNING_TIME, values })
}

/// The ESS signing-certificate-v2 attribute (RFC 5035 §3, required by ETSI EN 319 122-1 §5.2.2):
/// one ESSCertIDv2 with the SHA-256 of the signer's certificate and its IssuerSerial.
fn signing_certificate_v2_attribute(cert_der: &[u8], cert: &Certificate) -> Result<Attribute> {
    let tbs = &cert.tbs_certificate;
    let id = EssCertIdV2 {
        hash_algorithm: None,
        cert_hash: OctetString::new(hash(HashAlg::Sha256, cert_der)?).map_err(asn1_err("ESSCertIDv2"))?,
        issuer_serial: Some(IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
            serial_number: tbs.serial_number.clone(),
        }),
    };
    let value = SigningCertificateV2 { certs: vec![id], policies: None };
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(&value).map_err(asn1_err("signing-certificate-v2"))?)
        .map_err(asn1_err("signing-certificate-v2"))?;
    Ok(Attribute { oid: ID_AA_SIGNING_CERTIFICATE_V2, values })
}

/// The token's signature, already in its CMS encoding (RFC 5652 §5.3 `signature`).
struct CmsSignature(Vec<u8>);

impl SignatureBitStringEncoding for CmsSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// The token as a closure: `sign(alg, digest)` returns a PKCS#1 v1.5 signature over
/// `DigestInfo(alg, digest)` (RSA) or the raw `r ‖ s` (EC), as cards return them.
pub type SignFn<'f> = dyn FnMut(HashAlg, &[u8]) -> Result<Vec<u8>> + 'f;

/// Adapter that lets the `cms` builder sign through the token closure. The builder hands it
/// the DER of the signed attributes; it hashes them, asks the token, and re-encodes an ECDSA
/// `r ‖ s` as the DER `ECDSA-Sig-Value` CMS wants (RFC 5753 §7.2, RFC 3279 §2.2.3).
struct TokenSigner<'a, 'f> {
    key: KeyAlgorithm,
    hash: HashAlg,
    spki: SubjectPublicKeyInfoOwned,
    sign: RefCell<&'a mut SignFn<'f>>,
    /// The token's own error, kept because the builder only reports "signing failed".
    error: RefCell<Option<Error>>,
}

impl TokenSigner<'_, '_> {
    fn sign_attributes(&self, signed_attrs_der: &[u8]) -> Result<Vec<u8>> {
        let digest = hash(self.hash, signed_attrs_der)?;
        let sig = (self.sign.borrow_mut())(self.hash, &digest)?;
        let n = self.key.field_len();
        if self.key.is_ec() {
            if sig.len() != 2 * n {
                return Err(Error::Token(format!(
                    "token returned a {}-byte ECDSA signature, expected r ‖ s of {} bytes",
                    sig.len(),
                    2 * n
                )));
            }
            Ok(mohur_apdu::signature::ecdsa_raw_to_der(&sig)?)
        } else if sig.is_empty() || sig.len() > n {
            Err(Error::Token(format!("token returned a {}-byte RSA signature for a {n}-byte modulus", sig.len())))
        } else {
            // I2OSP to the modulus length (RFC 8017 §8.2.1 step 2c).
            let mut out = vec![0; n - sig.len()];
            out.extend_from_slice(&sig);
            Ok(out)
        }
    }
}

impl signature::Keypair for TokenSigner<'_, '_> {
    type VerifyingKey = SubjectPublicKeyInfoOwned;
    fn verifying_key(&self) -> SubjectPublicKeyInfoOwned {
        self.spki.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for TokenSigner<'_, '_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        // Checked in sign_cades before the builder runs.
        signature_alg_id(self.key, self.hash).map_err(|_| spki::Error::AlgorithmParametersMissing)
    }
}

impl signature::Signer<CmsSignature> for TokenSigner<'_, '_> {
    fn try_sign(&self, msg: &[u8]) -> core::result::Result<CmsSignature, signature::Error> {
        self.sign_attributes(msg).map(CmsSignature).map_err(|e| {
            *self.error.borrow_mut() = Some(e);
            signature::Error::new()
        })
    }
}

fn parse_cert(der: &[u8], what: &str) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::BadRequest(format!("{what} is not a DER X.509 certificate: {e}")))
}

/// Builds a CAdES-BES signature: DER `ContentInfo` of type signedData (RFC 5652 §3, §5.1) with
/// one SignerInfo (§5.3, version 1, issuerAndSerialNumber) carrying the signed attributes
/// content-type, message-digest, signing-time and signing-certificate-v2 (ETSI EN 319 122-1
/// §5.2.1–§5.2.2.3, RFC 5035 §3). The signer's certificate and `chain` are embedded.
///
/// `sign(alg, digest)` is the token: it gets the `alg` digest of the DER signed attributes
/// (RFC 5652 §5.4) and returns a PKCS#1 v1.5 signature over `DigestInfo(digest)` for RSA keys
/// or the raw `r ‖ s` for EC keys. Its errors are returned unchanged.
///
/// The digest algorithm is [`digest_alg_for`] the key, or the caller's for [`Content::Digest`].
pub fn sign_cades(req: &SignRequest, sign: &mut SignFn<'_>) -> Result<Vec<u8>> {
    let cert = parse_cert(req.certificate, "the signer certificate")?;
    let key = mohur_apdu::x509::key_algorithm(req.certificate)
        .map_err(|e| Error::BadRequest(format!("signer certificate key: {e}")))?;
    let mut extra = Vec::with_capacity(req.chain.len());
    for (i, der) in req.chain.iter().enumerate() {
        extra.push(parse_cert(der, &format!("chain certificate #{i}"))?);
    }

    // RFC 5652 §5.2: detached content leaves eContent absent; the message digest is then
    // computed here (or by the caller) and handed to the builder as external.
    let (alg, external_digest, econtent) = match req.content {
        Content::Digest { .. } if !req.detached => {
            return Err(Error::BadRequest("a digest can only be signed as a detached signature".into()))
        }
        Content::Digest { alg, digest } => {
            digest_oid(alg)?;
            if digest.len() != alg.output_len() {
                return Err(Error::BadRequest(format!(
                    "{alg:?} digest must be {} bytes, got {}",
                    alg.output_len(),
                    digest.len()
                )));
            }
            (alg, Some(digest.to_vec()), None)
        }
        Content::Data(data) if req.detached => {
            let alg = digest_alg_for(key);
            (alg, Some(hash(alg, data)?), None)
        }
        Content::Data(data) => {
            let octets = OctetString::new(data).map_err(asn1_err("eContent"))?;
            (digest_alg_for(key), None, Some(Any::encode_from(&octets).map_err(asn1_err("eContent"))?))
        }
    };
    let digest_alg = AlgorithmIdentifierOwned { oid: digest_oid(alg)?, parameters: None };
    signature_alg_id(key, alg)?;

    let eci = EncapsulatedContentInfo { econtent_type: ID_DATA, econtent };
    let signer = TokenSigner {
        key,
        hash: alg,
        spki: cert.tbs_certificate.subject_public_key_info.clone(),
        sign: RefCell::new(sign),
        error: RefCell::new(None),
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: cert.tbs_certificate.issuer.clone(),
        serial_number: cert.tbs_certificate.serial_number.clone(),
    });
    let cms_err = |e: cms::builder::Error| Error::Internal(format!("CMS builder: {e}"));

    let mut si =
        SignerInfoBuilder::new(&signer, sid, digest_alg.clone(), &eci, external_digest.as_deref()).map_err(cms_err)?;
    // content-type and message-digest are added by the builder (RFC 5652 §5.3, §11.1–11.2).
    if let Some(t) = req.signing_time {
        si.add_signed_attribute(signing_time_attribute(t)?).map_err(cms_err)?;
    }
    si.add_signed_attribute(signing_certificate_v2_attribute(req.certificate, &cert)?).map_err(cms_err)?;

    let mut sd = SignedDataBuilder::new(&eci);
    sd.add_digest_algorithm(digest_alg).map_err(cms_err)?;
    for c in std::iter::once(cert.clone()).chain(extra) {
        sd.add_certificate(CertificateChoices::Certificate(c)).map_err(cms_err)?;
    }
    if let Err(e) = sd.add_signer_info::<_, CmsSignature>(si) {
        return Err(signer.error.take().unwrap_or_else(|| cms_err(e)));
    }
    let ci = sd.build().map_err(cms_err)?;
    ci.to_der().map_err(asn1_err("ContentInfo"))
}
