//! Test PKI for mohur: a three-level CA hierarchy shaped like the Azerbaijani
//! national one (Root CA → Policy CA → E-Government CA) plus end-entity
//! authentication and signing certificates for a few fictitious card holders.
//!
//! Everything here is for tests only; keys are written unencrypted.
#![forbid(unsafe_code)]

pub mod keys;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use const_oid::db::{rfc4519, rfc5280};
use const_oid::ObjectIdentifier;
use der::asn1::{Ia5String, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::pem::LineEnding;
use der::{Any, Decode, Encode, EncodePem, Tag, Tagged};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub use keys::PrivateKey;

/// Errors from generating or loading the test PKI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// DER or PEM that does not parse or encode.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A PKCS#8 key that does not parse.
    #[error("PKCS#8: {0}")]
    Pkcs8(#[from] pkcs8::Error),
    /// A public key that does not encode.
    #[error("public key: {0}")]
    Spki(#[from] spki::Error),
    /// An RSA key could not be made or could not sign.
    #[error("RSA: {0}")]
    Rsa(#[from] rsa::Error),
    /// An ECDSA signature failed.
    #[error("ECDSA: {0}")]
    Ecdsa(#[from] p256::ecdsa::Error),
    /// A key of a kind the test PKI does not make.
    #[error("key: {0}")]
    Key(String),
    /// `holder.json` could not be (de)serialised.
    #[error("holder.json: {0}")]
    Json(#[from] serde_json::Error),
    /// Loaded material is inconsistent (e.g. a key does not match its certificate).
    #[error("invalid holder material in {path}: {reason}")]
    Invalid {
        /// Holder directory.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Key algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlg {
    /// RSA, 2048-bit modulus, e = 65537.
    Rsa2048,
    /// ECDSA on NIST P-256 (prime256v1).
    P256,
    /// ECDSA on NIST P-384 (secp384r1).
    P384,
}

/// Description of one fictitious card holder.
#[derive(Debug, Clone)]
pub struct HolderSpec {
    /// Sub-directory name inside the PKI directory.
    pub dir_name: &'static str,
    /// ISO 3166 country code: `"AZ"` or `"AM"`.
    pub country: &'static str,
    /// Given name, uppercase Latin.
    pub given_name: String,
    /// Surname, uppercase Latin.
    pub surname: String,
    /// Azerbaijani FIN (7 alphanumerics) or Armenian social card number (10 digits).
    pub personal_code: String,
    /// ID document number (`AA1234567` / `AM0123456`).
    pub document_number: String,
    /// Key algorithm of the authentication key.
    pub auth_alg: KeyAlg,
    /// Key algorithm of the signing key.
    pub sign_alg: KeyAlg,
}

/// Holder identity as stored in `holder.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderInfo {
    /// Country code (`C`).
    pub country: String,
    /// Given name (`GN`).
    pub given_name: String,
    /// Surname (`SN`).
    pub surname: String,
    /// Common name (`CN`), `"SURNAME GIVENNAME"`.
    pub common_name: String,
    /// Personal code (`serialNumber` attribute).
    pub personal_code: String,
    /// ID document number (not in the certificates).
    pub document_number: String,
}

/// Paths of a generated test PKI.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// Output directory.
    pub dir: PathBuf,
    /// Trust anchor, PEM (`root-ca.pem`).
    pub root_cert_pem: PathBuf,
    /// Policy CA certificate, PEM (`pca.pem`).
    pub pca_cert_pem: PathBuf,
    /// E-Government CA certificate, PEM (`ica.pem`).
    pub ica_cert_pem: PathBuf,
    /// Untrusted intermediates, ICA then PCA (`chain.pem`).
    pub chain_pem: PathBuf,
    /// Root, PCA and ICA (`bundle.pem`).
    pub bundle_pem: PathBuf,
    /// The CA bundle for `mohur-install --ca-bundle`: `ca/` with root, PCA and ICA and a
    /// `manifest.toml` pinning them (country `test`).
    pub ca_bundle: PathBuf,
    /// One directory per holder, in [`default_holders`] order.
    pub holder_dirs: Vec<PathBuf>,
    /// The test time-stamping authority's certificate, PEM (`tsa.pem`; key `tsa.key.pem`),
    /// issued by the E-Government CA with the critical extended key usage timeStamping
    /// alone (RFC 3161 §2.3): what a local TSA (`openssl ts -reply`) signs tokens with.
    pub tsa_cert_pem: PathBuf,
    /// Every file written, in write order.
    pub files: Vec<PathBuf>,
}

/// Key and certificate material of one holder, as loaded by [`load_holder`].
#[derive(Debug, Clone)]
pub struct HolderMaterial {
    /// Identity from `holder.json`.
    pub holder: HolderInfo,
    /// PKCS#8 PEM authentication private key.
    pub auth_key_pem: Vec<u8>,
    /// DER authentication certificate.
    pub auth_cert_der: Vec<u8>,
    /// PKCS#8 PEM signing private key.
    pub sign_key_pem: Vec<u8>,
    /// DER signing certificate.
    pub sign_cert_der: Vec<u8>,
}

/// Test certificate policy OID 1.3.6.1.4.1.99999.1.1 (private enterprise arc).
pub const TEST_POLICY_OID: &str = "1.3.6.1.4.1.99999.1.1";
const TEST_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap(TEST_POLICY_OID);
const ORG: &str = "mohur test PKI (not for production)";

/// The fixed holders written by [`generate`] (`piv`, `azedit`, `am`).
pub fn default_holders() -> Vec<HolderSpec> {
    let h = |dir_name, country, gn: &str, sn: &str, code: &str, doc: &str, auth_alg, sign_alg| HolderSpec {
        dir_name,
        country,
        given_name: gn.into(),
        surname: sn.into(),
        personal_code: code.into(),
        document_number: doc.into(),
        auth_alg,
        sign_alg,
    };
    use KeyAlg::*;
    vec![
        h("piv", "AZ", "ELVIN", "MAMMADOV", "5ZJ8K2M", "AA1234567", Rsa2048, P256),
        h("azedit", "AZ", "LEYLA", "ALIYEVA", "7PQ3R9T", "AA7654321", P384, P384),
        h("am", "AM", "ARMEN", "HAKOBYAN", "2904851234", "AM0123456", P384, P384),
    ]
}

impl HolderSpec {
    /// Identity record for `holder.json`.
    pub fn info(&self) -> HolderInfo {
        HolderInfo {
            country: self.country.into(),
            given_name: self.given_name.clone(),
            surname: self.surname.clone(),
            common_name: format!("{} {}", self.surname, self.given_name).to_uppercase(),
            personal_code: self.personal_code.clone(),
            document_number: self.document_number.clone(),
        }
    }
}

/// One attribute of a name: `countryName` and `serialNumber` as PrintableString (RFC
/// 5280 §4.1.2.4 and X.520), the others as UTF8String.
fn attribute(oid: ObjectIdentifier, value: &str) -> Result<AttributeTypeAndValue, Error> {
    let value = if oid == rfc4519::COUNTRY_NAME || oid == rfc4519::SERIAL_NUMBER {
        Any::from(PrintableStringRef::new(value)?)
    } else {
        Any::from(Utf8StringRef::new(value)?)
    };
    Ok(AttributeTypeAndValue { oid, value })
}

/// A name of one attribute per RDN, in the order given (most significant first).
fn name(entries: &[(ObjectIdentifier, &str)]) -> Result<Name, Error> {
    let rdns = entries
        .iter()
        .map(|(oid, v)| Ok(RelativeDistinguishedName::from(SetOfVec::try_from(vec![attribute(*oid, v)?])?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(RdnSequence(rdns))
}

/// The first `commonName` of a name.
fn common_name(name: &Name) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|a| a.oid == rfc4519::COMMON_NAME).and_then(|a| {
        let tag = a.value.tag();
        (tag == Tag::Utf8String || tag == Tag::PrintableString)
            .then(|| String::from_utf8(a.value.value().to_vec()).ok())
            .flatten()
    })
}

/// What kind of certificate [`issue`] builds.
enum Profile {
    /// CA certificate with an optional pathLenConstraint (RFC 5280 §4.2.1.9).
    Ca(Option<u8>),
    /// End-entity authentication certificate.
    Auth,
    /// End-entity non-repudiation (qualified signature) certificate.
    Sign,
    /// A time-stamping authority (RFC 3161 §2.3: extended key usage timeStamping only,
    /// critical).
    Tsa,
    /// An OCSP responder the issuing CA delegates to (RFC 6960 §4.2.2.2: extended key
    /// usage OCSPSigning; §4.2.2.2.1 id-pkix-ocsp-nocheck, so nobody asks for its own
    /// status).
    Ocsp,
}

/// The key identifier of a public key: the SHA-1 of its subjectPublicKey bits (RFC 5280
/// §4.2.1.2, method 1, as OpenSSL computes it).
fn key_identifier(key: &PrivateKey) -> Result<OctetString, Error> {
    use sha1::Digest as _;
    let spki = key.spki()?;
    Ok(OctetString::new(sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())?)
}

fn extension(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension, Error> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(value.to_der()?)? })
}

/// The issuer of a certificate: its certificate and key.
struct Issuer<'a> {
    cert: &'a Certificate,
    key: &'a PrivateKey,
}

/// Issues one certificate. `issuer` is `None` for a self-signed root.
fn issue(
    subject: &Name,
    key: &PrivateKey,
    issuer: Option<Issuer<'_>>,
    profile: Profile,
    urls: &Urls,
) -> Result<Certificate, Error> {
    const DAY: Duration = Duration::from_secs(86_400);
    let days = if matches!(profile, Profile::Ca(_)) { 3652 } else { 1826 };
    let not_before = SystemTime::now() - DAY;
    let validity =
        Validity { not_before: Time::try_from(not_before)?, not_after: Time::try_from(not_before + DAY * days)? };
    // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random ones, the first in
    // 0x40..0x7F so that the number is positive and keeps 16 octets.
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x3f) | 0x40;

    let mut extensions =
        vec![extension(rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER, false, &SubjectKeyIdentifier(key_identifier(key)?))?];
    if let Some(issuer) = &issuer {
        let aki = AuthorityKeyIdentifier { key_identifier: Some(key_identifier(issuer.key)?), ..Default::default() };
        extensions.push(extension(rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?);
    }
    // RFC 5280 §4.2.1.9 basicConstraints, §4.2.1.3 keyUsage, §4.2.1.12 extKeyUsage.
    match profile {
        Profile::Ca(path_len_constraint) => {
            let bc = BasicConstraints { ca: true, path_len_constraint };
            extensions.push(extension(rfc5280::ID_CE_BASIC_CONSTRAINTS, true, &bc)?);
            let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
            extensions.push(extension(rfc5280::ID_CE_KEY_USAGE, true, &ku)?);
        }
        Profile::Tsa => {
            let bc = BasicConstraints { ca: false, path_len_constraint: None };
            extensions.push(extension(rfc5280::ID_CE_BASIC_CONSTRAINTS, false, &bc)?);
            let ku = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
            extensions.push(extension(rfc5280::ID_CE_KEY_USAGE, true, &ku)?);
            let eku = ExtendedKeyUsage(vec![rfc5280::ID_KP_TIME_STAMPING]);
            extensions.push(extension(rfc5280::ID_CE_EXT_KEY_USAGE, true, &eku)?);
        }
        Profile::Ocsp => {
            let bc = BasicConstraints { ca: false, path_len_constraint: None };
            extensions.push(extension(rfc5280::ID_CE_BASIC_CONSTRAINTS, false, &bc)?);
            let ku = KeyUsage(KeyUsages::DigitalSignature.into());
            extensions.push(extension(rfc5280::ID_CE_KEY_USAGE, true, &ku)?);
            let eku = ExtendedKeyUsage(vec![rfc5280::ID_KP_OCSP_SIGNING]);
            extensions.push(extension(rfc5280::ID_CE_EXT_KEY_USAGE, false, &eku)?);
            extensions.push(extension(const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK, false, &der::asn1::Null)?);
        }
        Profile::Auth | Profile::Sign => {
            let bc = BasicConstraints { ca: false, path_len_constraint: None };
            extensions.push(extension(rfc5280::ID_CE_BASIC_CONSTRAINTS, false, &bc)?);
            let ku = if matches!(profile, Profile::Auth) {
                let eku = ExtendedKeyUsage(vec![rfc5280::ID_KP_CLIENT_AUTH, rfc5280::ID_KP_EMAIL_PROTECTION]);
                extensions.push(extension(rfc5280::ID_CE_EXT_KEY_USAGE, false, &eku)?);
                if key.is_ec() {
                    KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyAgreement)
                } else {
                    KeyUsage(KeyUsages::DigitalSignature.into())
                }
            } else {
                KeyUsage(KeyUsages::NonRepudiation.into())
            };
            extensions.push(extension(rfc5280::ID_CE_KEY_USAGE, true, &ku)?);
            // RFC 5280 §4.2.1.4 certificatePolicies (non-critical, test OID only).
            let policies = CertificatePolicies(vec![PolicyInformation {
                policy_identifier: TEST_POLICY,
                policy_qualifiers: None,
            }]);
            extensions.push(extension(rfc5280::ID_CE_CERTIFICATE_POLICIES, false, &policies)?);
        }
    }
    // RFC 5280 §4.2.2.1 authorityInfoAccess: caIssuers, where the issuer's certificate
    // can be fetched (the installer's `--from-card` follows it), and ocsp, where the
    // issuer's OCSP responder answers for this certificate (RFC 6960 §3.1).
    let mut access = Vec::new();
    for (method, url) in [(rfc5280::ID_AD_CA_ISSUERS, &urls.ca_issuers), (rfc5280::ID_AD_OCSP, &urls.ocsp)] {
        if let Some(url) = url {
            access.push(AccessDescription {
                access_method: method,
                access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
            });
        }
    }
    if !access.is_empty() {
        extensions.push(extension(rfc5280::ID_PE_AUTHORITY_INFO_ACCESS, false, &AuthorityInfoAccessSyntax(access))?);
    }
    // RFC 5280 §4.2.1.13: where the issuer's CRL is.
    if let Some(url) = &urls.crl {
        use x509_cert::ext::pkix::crl::dp::DistributionPoint;
        use x509_cert::ext::pkix::name::DistributionPointName;
        let dp = x509_cert::ext::pkix::CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
                Ia5String::new(url)?,
            )])),
            reasons: None,
            crl_issuer: None,
        }]);
        extensions.push(extension(rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS, false, &dp)?);
    }

    let signer = issuer.as_ref().map_or(key, |i| i.key);
    let signature_algorithm = signer.signature_algorithm()?;
    let tbs_certificate = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: signature_algorithm.clone(),
        issuer: issuer.as_ref().map_or_else(|| subject.clone(), |i| i.cert.tbs_certificate.subject.clone()),
        validity,
        subject: subject.clone(),
        subject_public_key_info: key.spki()?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = signer.sign(&tbs_certificate.to_der()?)?;
    Ok(Certificate { tbs_certificate, signature_algorithm, signature })
}

fn pem(cert: &Certificate) -> Result<String, Error> {
    Ok(cert.to_pem(LineEnding::LF)?)
}

/// Where a certificate says its issuer's certificate and CRL are (none for a root).
#[derive(Default)]
struct Urls {
    ca_issuers: Option<String>,
    crl: Option<String>,
    ocsp: Option<String>,
}

/// A CRL (RFC 5280 §5) of `issuer`, signed with its `key`, revoking `revoked` (serial
/// numbers) since an hour ago; valid for a week.
fn crl(issuer: &Certificate, key: &PrivateKey, revoked: &[SerialNumber]) -> Result<Vec<u8>, Error> {
    use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let signature_algorithm = key.signature_algorithm()?;
    let tbs_cert_list = TbsCertList {
        version: Version::V2,
        signature: signature_algorithm.clone(),
        issuer: issuer.tbs_certificate.subject.clone(),
        this_update: Time::try_from(now - hour)?,
        next_update: Some(Time::try_from(now + hour * 24 * 7)?),
        revoked_certificates: (!revoked.is_empty()).then(|| {
            revoked
                .iter()
                .map(|serial| RevokedCert {
                    serial_number: serial.clone(),
                    revocation_date: Time::try_from(now - hour).expect("a time after 1950"),
                    crl_entry_extensions: None,
                })
                .collect()
        }),
        crl_extensions: None,
    };
    let signature = key.sign(&tbs_cert_list.to_der()?)?;
    Ok(CertificateList { tbs_cert_list, signature_algorithm, signature }.to_der()?)
}

/// A CRL of the CA `issuer_stem` (`root-ca`, `pca`, `ica`) of the test PKI in `dir`
/// revoking the certificates `revoked` (DER): what a test serves to say a certificate was
/// revoked.
pub fn revocation_list(dir: &Path, issuer_stem: &str, revoked: &[&[u8]]) -> Result<Vec<u8>, Error> {
    let read = |name: String| {
        let path = dir.join(name);
        fs::read(&path).map_err(|source| Error::Io { path, source })
    };
    let issuer = Certificate::from_der(&read(format!("{issuer_stem}.der"))?)?;
    let key = PrivateKey::from_pkcs8_pem(&String::from_utf8_lossy(&read(format!("{issuer_stem}.key.pem"))?))?;
    let serials = revoked
        .iter()
        .map(|der| Ok(Certificate::from_der(der)?.tbs_certificate.serial_number))
        .collect::<Result<Vec<_>, Error>>()?;
    crl(&issuer, &key, &serials)
}

/// What [`generate_with`] adds to the certificates.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A base URL (`http://127.0.0.1:PORT/pki`): every certificate but the root then
    /// names its issuer's DER certificate there in authorityInfoAccess caIssuers
    /// (`root-ca.der`, `pca.der`, `ica.der`), as national CAs publish theirs.
    pub ca_issuers_base: Option<String>,
    /// A base URL: every certificate but the root then names its issuer's CRL there in
    /// cRLDistributionPoints (`root-ca.crl`, `pca.crl`, `ica.crl`, written next to the
    /// certificates whatever this is).
    pub crl_base: Option<String>,
    /// The E-Government CA's OCSP responder (`http://127.0.0.1:PORT/ocsp`): the
    /// certificates it issues (the holders', the TSA's) then name it in
    /// authorityInfoAccess. Its delegated responder certificate is `ocsp.pem` (key
    /// `ocsp.key.pem`), written whatever this is.
    pub ocsp_url: Option<String>,
}

/// Small file writer that records what it wrote.
struct Out {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Out {
    fn write(&mut self, rel: &str, data: &[u8]) -> Result<PathBuf, Error> {
        self.write_mode(rel, data, false)
    }

    /// Writes `rel`; a `secret` file is readable by its owner only (0600, created so:
    /// there is no moment at which another user could open it).
    fn write_mode(&mut self, rel: &str, data: &[u8], secret: bool) -> Result<PathBuf, Error> {
        use std::io::Write;
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|source| Error::Io { path: parent.into(), source })?;
        }
        let io = |source| Error::Io { path: path.clone(), source };
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            opts.mode(0o600);
            // An older file keeps its mode on open: set it before writing.
            if path.exists() {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
        let _ = secret;
        opts.open(&path).and_then(|mut f| f.write_all(data)).map_err(io)?;
        self.files.push(path.clone());
        Ok(path)
    }

    /// Writes `<stem>.pem`, `<stem>.der` and `<stem>.key.pem` (PKCS#8, owner-only);
    /// returns the PEM path.
    fn write_pair(&mut self, stem: &str, cert: &Certificate, key: &PrivateKey) -> Result<PathBuf, Error> {
        let pem = self.write(&format!("{stem}.pem"), pem(cert)?.as_bytes())?;
        self.write(&format!("{stem}.der"), &cert.to_der()?)?;
        self.write_mode(&format!("{stem}.key.pem"), key.to_pkcs8_pem()?.as_bytes(), true)?;
        Ok(pem)
    }
}

/// Writes a complete test PKI into `dir` (created if missing).
///
/// Existing files are overwritten. Keys and serial numbers are fresh on every
/// call; holder identities come from [`default_holders`]. Private keys are readable by
/// their owner only.
pub fn generate(dir: &Path) -> Result<TestPki, Error> {
    generate_with(dir, &Options::default())
}

/// [`generate`] with [`Options`].
pub fn generate_with(dir: &Path, opts: &Options) -> Result<TestPki, Error> {
    let mut out = Out { dir: dir.to_path_buf(), files: Vec::new() };
    fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.into(), source })?;
    let at = |file: &str| opts.ca_issuers_base.as_ref().map(|b| format!("{}/{file}", b.trim_end_matches('/')));
    let crl_at = |file: &str| opts.crl_base.as_ref().map(|b| format!("{}/{file}", b.trim_end_matches('/')));
    // The URLs in a certificate issued by the CA `stem`.
    let by =
        |stem: &str| Urls { ca_issuers: at(&format!("{stem}.der")), crl: crl_at(&format!("{stem}.crl")), ocsp: None };
    // End-entity certificates of the E-Government CA: also its OCSP responder.
    let by_ica = || Urls { ocsp: opts.ocsp_url.clone(), ..by("ica") };

    let ca_name =
        |cn| name(&[(rfc4519::COUNTRY_NAME, "AZ"), (rfc4519::ORGANIZATION_NAME, ORG), (rfc4519::COMMON_NAME, cn)]);
    // RSA for the root, so that chains carry an RSA signature as well as ECDSA ones;
    // 2048 bits, because RustCrypto takes seconds to find 3072-bit primes, and tests
    // make many PKIs.
    let root_key = PrivateKey::rsa(2048)?;
    let root = issue(&ca_name("mohur Test Root CA")?, &root_key, None, Profile::Ca(None), &Urls::default())?;
    let pca_key = PrivateKey::generate(KeyAlg::P384)?;
    let pca_name = ca_name("mohur Test Policy CA")?;
    let pca =
        issue(&pca_name, &pca_key, Some(Issuer { cert: &root, key: &root_key }), Profile::Ca(Some(1)), &by("root-ca"))?;
    let ica_key = PrivateKey::generate(KeyAlg::P384)?;
    let ica_name = ca_name("mohur Test E-Government CA")?;
    let ica = issue(&ica_name, &ica_key, Some(Issuer { cert: &pca, key: &pca_key }), Profile::Ca(Some(0)), &by("pca"))?;

    let root_cert_pem = out.write_pair("root-ca", &root, &root_key)?;
    let pca_cert_pem = out.write_pair("pca", &pca, &pca_key)?;
    let ica_cert_pem = out.write_pair("ica", &ica, &ica_key)?;
    let chain_pem = out.write("chain.pem", [pem(&ica)?, pem(&pca)?].concat().as_bytes())?;
    let bundle_pem = out.write("bundle.pem", [pem(&root)?, pem(&pca)?, pem(&ica)?].concat().as_bytes())?;
    // The CA bundle as mohur-install takes it (installer/ca/README.md): the certificates
    // and a manifest pinning each by SHA-256. Tests pass it explicitly (`--ca-bundle`);
    // it never goes into a package.
    let mut manifest = String::from(
        "# The mohur test PKI's CA bundle, written by mohur-test-pki: for tests only, never in a package.\nformat = 1\n",
    );
    for (file, cert, role) in
        [("root-ca.pem", &root, "root"), ("pca.pem", &pca, "policy"), ("ica.pem", &ica, "issuing")]
    {
        out.write(&format!("ca/{file}"), pem(cert)?.as_bytes())?;
        let fp = Sha256::digest(cert.to_der()?).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
        let cn = common_name(&cert.tbs_certificate.subject);
        manifest.push_str(&format!(
            "\n[[ca]]\nfile = \"{file}\"\ncountry = \"test\"\nrole = \"{role}\"\nsubject = \"CN={}\"\nsha256 = \"{fp}\"\npublished = \"made by mohur-test-pki for tests\"\n",
            cn.unwrap_or_default()
        ));
    }
    let ca_bundle =
        out.write("ca/manifest.toml", manifest.as_bytes())?.parent().map(Path::to_path_buf).unwrap_or_default();

    let mut holder_dirs = Vec::new();
    for spec in default_holders() {
        let info = spec.info();
        let subject = name(&[
            (rfc4519::COUNTRY_NAME, &info.country),
            (rfc4519::SURNAME, &info.surname),
            (rfc4519::GIVEN_NAME, &info.given_name),
            (rfc4519::SERIAL_NUMBER, &info.personal_code),
            (rfc4519::COMMON_NAME, &info.common_name),
        ])?;
        let d = spec.dir_name;
        for (stem, alg, profile) in [("auth", spec.auth_alg, Profile::Auth), ("sign", spec.sign_alg, Profile::Sign)] {
            let key = PrivateKey::generate(alg)?;
            let cert = issue(&subject, &key, Some(Issuer { cert: &ica, key: &ica_key }), profile, &by_ica())?;
            out.write_pair(&format!("{d}/{stem}"), &cert, &key)?;
        }
        out.write(&format!("{d}/holder.json"), serde_json::to_string_pretty(&info)?.as_bytes())?;
        holder_dirs.push(dir.join(d));
    }

    let tsa_key = PrivateKey::generate(KeyAlg::P256)?;
    let tsa = issue(
        &ca_name("mohur Test Time-Stamping Authority")?,
        &tsa_key,
        Some(Issuer { cert: &ica, key: &ica_key }),
        Profile::Tsa,
        &by_ica(),
    )?;
    let tsa_cert_pem = out.write_pair("tsa", &tsa, &tsa_key)?;
    let ocsp_key = PrivateKey::generate(KeyAlg::P256)?;
    let ocsp = issue(
        &ca_name("mohur Test E-Government CA OCSP Responder")?,
        &ocsp_key,
        Some(Issuer { cert: &ica, key: &ica_key }),
        Profile::Ocsp,
        &by("ica"),
    )?;
    out.write_pair("ocsp", &ocsp, &ocsp_key)?;
    // Each CA's CRL, nothing revoked: what a relying party fetches to find that so.
    for (stem, cert, key) in [("root-ca", &root, &root_key), ("pca", &pca, &pca_key), ("ica", &ica, &ica_key)] {
        out.write(&format!("{stem}.crl"), &crl(cert, key, &[])?)?;
    }

    Ok(TestPki {
        dir: dir.to_path_buf(),
        root_cert_pem,
        pca_cert_pem,
        ica_cert_pem,
        chain_pem,
        bundle_pem,
        ca_bundle,
        holder_dirs,
        tsa_cert_pem,
        files: out.files,
    })
}

/// Loads the holder material of one card directory written by [`generate`].
///
/// Checks that each private key matches the public key of its certificate.
pub fn load_holder(dir: &Path) -> Result<HolderMaterial, Error> {
    let read = |rel: &str| {
        let path = dir.join(rel);
        fs::read(&path).map_err(|source| Error::Io { path, source })
    };
    let m = HolderMaterial {
        holder: serde_json::from_slice(&read("holder.json")?)?,
        auth_key_pem: read("auth.key.pem")?,
        auth_cert_der: read("auth.der")?,
        sign_key_pem: read("sign.key.pem")?,
        sign_cert_der: read("sign.der")?,
    };
    for (key, cert) in [(&m.auth_key_pem, &m.auth_cert_der), (&m.sign_key_pem, &m.sign_cert_der)] {
        let key = PrivateKey::from_pkcs8_pem(&String::from_utf8_lossy(key))?;
        let cert = Certificate::from_der(cert)?;
        if key.public_key_der()? != cert.tbs_certificate.subject_public_key_info.to_der()? {
            return Err(Error::Invalid { path: dir.into(), reason: "private key does not match certificate" });
        }
    }
    Ok(m)
}
