//! The objects of one card key: its X.509 certificate (PKCS#11 v2.40 §4.6.3), public
//! key (§4.8) and private key (§4.9), linked by the same `CKA_ID`.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::{CardProfile, KeyAlgorithm, KeyInfo};
use x509_cert::der::asn1::{OctetStringRef, UintRef};
use x509_cert::der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION};
use x509_cert::der::{Decode, Encode, Reader, SliceReader};
use x509_cert::Certificate;

/// Attributes and their values, as C_FindObjectsInit templates carry them.
pub type Attrs = Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>;

/// What an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CKO_CERTIFICATE`.
    Certificate,
    /// `CKO_PUBLIC_KEY`.
    PublicKey,
    /// `CKO_PRIVATE_KEY`.
    PrivateKey,
}

/// One token object: its attributes as the bytes PKCS#11 hands out.
#[derive(Debug, Clone)]
pub struct Object {
    /// What it is.
    pub kind: Kind,
    /// The card's key reference.
    pub key_id: u8,
    /// The key's algorithm.
    pub alg: KeyAlgorithm,
    /// True for keys that need a PIN right before every signature.
    pub always_authenticate: bool,
    attrs: Attrs,
}

impl Object {
    /// The value of attribute `t`, if the object has it.
    pub fn attr(&self, t: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
        self.attrs.iter().find(|(a, _)| *a == t).map(|(_, v)| v.as_slice())
    }
    /// True if every attribute of `template` has exactly the given value
    /// (C_FindObjectsInit, PKCS#11 v2.40 §5.7).
    pub fn matches(&self, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> bool {
        template.iter().all(|(t, v)| self.attr(*t) == Some(v.as_slice()))
    }
    /// Private objects are visible only to a logged-in user (PKCS#11 v2.40 §4.4).
    pub fn is_private(&self) -> bool {
        self.kind == Kind::PrivateKey
    }
}

fn ulong(v: CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn bool_(v: bool) -> Vec<u8> {
    vec![if v { CK_TRUE } else { CK_FALSE }]
}

/// `CKA_ID` of a key: PIV 9A/9C/9D/9E as 01/02/03/04 like OpenSC, AzeDIT as is.
pub fn cka_id(profile: CardProfile, key_id: u8) -> Vec<u8> {
    match (profile, key_id) {
        (CardProfile::Piv, 0x9A) => vec![1],
        (CardProfile::Piv, 0x9C) => vec![2],
        (CardProfile::Piv, 0x9D) => vec![3],
        (CardProfile::Piv, 0x9E) => vec![4],
        (_, id) => vec![id],
    }
}

fn bad(e: impl core::fmt::Display) -> Ck {
    tracing::warn!(error = %e, "unusable certificate on the card");
    Ck(CKR_DEVICE_ERROR)
}

/// Key material from the certificate's SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
fn public_attrs(cert: &Certificate) -> Result<(CK_KEY_TYPE, Attrs)> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key = spki.subject_public_key.raw_bytes();
    match spki.algorithm.oid {
        RSA_ENCRYPTION => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1)
            let mut r = SliceReader::new(key).map_err(bad)?;
            let (n, e) = r
                .sequence(|r| Ok((UintRef::decode(r)?.as_bytes().to_vec(), UintRef::decode(r)?.as_bytes().to_vec())))
                .map_err(bad)?;
            let bits = (n.len() * 8) as CK_ULONG;
            Ok((CKK_RSA, vec![(CKA_MODULUS, n), (CKA_PUBLIC_EXPONENT, e), (CKA_MODULUS_BITS, ulong(bits))]))
        }
        ID_EC_PUBLIC_KEY => {
            let params = spki.algorithm.parameters.as_ref().ok_or_else(|| bad("EC key without parameters"))?;
            // CKA_EC_PARAMS: DER of the named-curve OID; CKA_EC_POINT: DER OCTET STRING
            // of the uncompressed point (PKCS#11 v2.40 curr. mechanisms §2.3.3).
            let ec_params = params.to_der().map_err(bad)?;
            let point = OctetStringRef::new(key).map_err(bad)?.to_der().map_err(bad)?;
            Ok((CKK_EC, vec![(CKA_EC_PARAMS, ec_params), (CKA_EC_POINT, point)]))
        }
        other => Err(bad(format!("key algorithm {other}"))),
    }
}

/// The three objects of `key` with certificate `der`.
pub fn key_objects(profile: CardProfile, key: &KeyInfo, alg: KeyAlgorithm, der: &[u8]) -> Result<Vec<Object>> {
    let cert = Certificate::from_der(der).map_err(bad)?;
    let tbs = &cert.tbs_certificate;
    let subject = tbs.subject.to_der().map_err(bad)?;
    let id = cka_id(profile, key.id);
    let label = key.label.as_bytes().to_vec();
    let common = |class: CK_OBJECT_CLASS, private: bool| {
        vec![
            (CKA_CLASS, ulong(class)),
            (CKA_TOKEN, bool_(true)),
            (CKA_PRIVATE, bool_(private)),
            (CKA_MODIFIABLE, bool_(false)),
            (CKA_LABEL, label.clone()),
            (CKA_ID, id.clone()),
        ]
    };
    let mut certificate = common(CKO_CERTIFICATE, false);
    certificate.extend([
        (CKA_CERTIFICATE_TYPE, ulong(CKC_X_509)),
        (CKA_CERTIFICATE_CATEGORY, ulong(CK_CERTIFICATE_CATEGORY_TOKEN_USER)),
        (CKA_TRUSTED, bool_(false)),
        (CKA_VALUE, der.to_vec()),
        (CKA_SUBJECT, subject.clone()),
        (CKA_ISSUER, tbs.issuer.to_der().map_err(bad)?),
        (CKA_SERIAL_NUMBER, tbs.serial_number.to_der().map_err(bad)?),
    ]);
    let (key_type, material) = public_attrs(&cert)?;
    let spki = tbs.subject_public_key_info.to_der().map_err(bad)?;
    let mechanisms: Vec<u8> = crate::mechanisms::ALL
        .into_iter()
        .filter(|m| crate::mechanisms::describe(*m).is_some_and(|d| d.rsa == (key_type == CKK_RSA)))
        .flat_map(|m| m.to_ne_bytes())
        .collect();
    // Every attribute of the common key attributes (PKCS#11 v2.40 §4.7): the dates
    // are empty (unknown), the key was not generated by this token.
    let key_common = |class, private: bool| {
        let mut a = common(class, private);
        a.extend([
            (CKA_KEY_TYPE, ulong(key_type)),
            (CKA_SUBJECT, subject.clone()),
            (CKA_START_DATE, Vec::new()),
            (CKA_END_DATE, Vec::new()),
            (CKA_LOCAL, bool_(false)),
            (CKA_DERIVE, bool_(false)),
            (CKA_KEY_GEN_MECHANISM, ulong(CK_UNAVAILABLE_INFORMATION)),
            (CKA_ALLOWED_MECHANISMS, mechanisms.clone()),
            (CKA_PUBLIC_KEY_INFO, spki.clone()),
        ]);
        a.extend(material.iter().cloned());
        a
    };
    // Public key attributes (§4.8).
    let mut public = key_common(CKO_PUBLIC_KEY, false);
    public.extend([
        (CKA_VERIFY, bool_(true)),
        (CKA_ENCRYPT, bool_(false)),
        (CKA_WRAP, bool_(false)),
        (CKA_VERIFY_RECOVER, bool_(false)),
        (CKA_TRUSTED, bool_(false)),
    ]);
    // Private key attributes (§4.9): the key never leaves the card.
    let mut private = key_common(CKO_PRIVATE_KEY, true);
    private.extend([
        (CKA_WRAP_WITH_TRUSTED, bool_(false)),
        (CKA_SIGN, bool_(true)),
        (CKA_SIGN_RECOVER, bool_(false)),
        (CKA_DECRYPT, bool_(false)),
        (CKA_UNWRAP, bool_(false)),
        (CKA_SENSITIVE, bool_(true)),
        (CKA_ALWAYS_SENSITIVE, bool_(true)),
        (CKA_EXTRACTABLE, bool_(false)),
        (CKA_NEVER_EXTRACTABLE, bool_(true)),
        (CKA_ALWAYS_AUTHENTICATE, bool_(key.always_authenticate)),
    ]);
    let object =
        |kind, attrs| Object { kind, key_id: key.id, alg, always_authenticate: key.always_authenticate, attrs };
    Ok(vec![object(Kind::Certificate, certificate), object(Kind::PublicKey, public), object(Kind::PrivateKey, private)])
}
