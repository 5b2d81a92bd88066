//! The validation data a CMS `SignedData` carries beside its signature (CAdES B-LT,
//! ETSI EN 319 122-1 §6.3 ("B-LT"), as the PDF's DSS carries it for PAdES): certificates
//! in `certificates`, revocation data in `crls` (RFC 5652 §10.2.1): CRLs as they are,
//! OCSP responses as `OtherRevocationInfoFormat` with `id-ri-ocsp-response` (RFC 5940
//! §4.1). Neither field is signed, so adding to them keeps the signature and its
//! time-stamp valid.
//!
//! Written with `der`'s TLVs rather than `cms`' types: cms 0.2 models
//! `otherRevInfoFormat` as an AlgorithmIdentifier where RFC 5652 has an OBJECT
//! IDENTIFIER, so it can neither write an OCSP response there nor read signed data that
//! carries one (from mohur or any other tool): such signed data is given to `cms`
//! without it ([`decodable`]).

use std::borrow::Cow;

use cms::content_info::ContentInfo;
use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};

use const_oid::db::rfc5911::ID_SIGNED_DATA;

/// id-ri-ocsp-response (RFC 5940 §4.1; not in const-oid's database).
pub const ID_RI_OCSP_RESPONSE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.16.2");

/// `certificates [0] IMPLICIT CertificateSet`.
const CERTIFICATES: Tag = Tag::ContextSpecific { constructed: true, number: TagNumber::N0 };
/// `crls [1] IMPLICIT RevocationInfoChoices`, and its `other [1] IMPLICIT` choice.
const CRLS: Tag = Tag::ContextSpecific { constructed: true, number: TagNumber::N1 };

/// The revocation data of a signed data's `crls`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationValues {
    /// `CertificateList`s (DER).
    pub crls: Vec<Vec<u8>>,
    /// `OCSPResponse`s (DER).
    pub ocsps: Vec<Vec<u8>>,
}

/// The TLVs one after another in `value`.
fn elements(value: &[u8]) -> der::Result<Vec<Any>> {
    let mut reader = SliceReader::new(value)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(Any::decode(&mut reader)?);
    }
    Ok(out)
}

/// The fields of the `SignedData` in a `ContentInfo` (RFC 5652 §5.1).
fn open(cms_der: &[u8]) -> der::Result<Vec<Any>> {
    let ci = ContentInfo::from_der(cms_der)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(der::ErrorKind::OidUnknown { oid: ci.content_type }.into());
    }
    ci.content.tag().assert_eq(Tag::Sequence)?;
    let fields = elements(ci.content.value())?;
    // version, digestAlgorithms, encapContentInfo, …, signerInfos.
    if fields.len() < 4 || fields[fields.len() - 1].tag() != Tag::Set {
        return Err(der::Tag::Set.value_error());
    }
    Ok(fields)
}

/// A `ContentInfo` holding a `SignedData` of these fields.
fn close(fields: &[Any]) -> der::Result<Vec<u8>> {
    let mut value = Vec::new();
    for f in fields {
        f.encode_to_vec(&mut value)?;
    }
    ContentInfo { content_type: ID_SIGNED_DATA, content: Any::new(Tag::Sequence, value)? }.to_der()
}

/// A DER `SET OF` with these encodings as its elements, in DER order (X.690 §11.6).
fn set_of(tag: Tag, mut items: Vec<Vec<u8>>) -> der::Result<Any> {
    items.sort();
    items.dedup();
    Any::new(tag, items.concat())
}

/// The element encodings of the `[tag]` field, if there is one.
fn field_items(fields: &[Any], tag: Tag) -> der::Result<Vec<Vec<u8>>> {
    match fields.iter().find(|f| f.tag() == tag) {
        Some(f) => elements(f.value())?.iter().map(Encode::to_der).collect(),
        None => Ok(Vec::new()),
    }
}

/// Puts `field` in place of the field with its tag, or before the first field that
/// comes after it (`crls` before `signerInfos`, `certificates` before both).
fn put(fields: &mut Vec<Any>, field: Any) {
    let tag = field.tag();
    if let Some(f) = fields.iter_mut().find(|f| f.tag() == tag) {
        *f = field;
        return;
    }
    let after = if tag == CERTIFICATES { CRLS } else { Tag::Set };
    // After version, digestAlgorithms (a SET too) and encapContentInfo.
    let at = (3..fields.len()).find(|&i| fields[i].tag() == after || fields[i].tag() == Tag::Set);
    fields.insert(at.unwrap_or(fields.len()), field);
}

/// One DER value of `bytes` exactly (a certificate, a CRL, an OCSP response), re-encoded.
fn one_value(bytes: &[u8]) -> der::Result<Vec<u8>> {
    Any::from_der(bytes)?.to_der()
}

/// `cms_der` with `certificates` (DER) in its certificate set and `crls` and `ocsps` in
/// its revocation data, each once. The signature, its signed attributes and its
/// time-stamp are left as they are.
pub fn add(cms_der: &[u8], certificates: &[Vec<u8>], values: &RevocationValues) -> der::Result<Vec<u8>> {
    let mut fields = open(cms_der)?;
    let mut certs = field_items(&fields, CERTIFICATES)?;
    for c in certificates {
        certs.push(one_value(c)?);
    }
    if !certs.is_empty() {
        put(&mut fields, set_of(CERTIFICATES, certs)?);
    }
    let mut revocation = field_items(&fields, CRLS)?;
    for crl in &values.crls {
        revocation.push(one_value(crl)?);
    }
    for ocsp in &values.ocsps {
        let mut value = ID_RI_OCSP_RESPONSE.to_der()?;
        value.extend(one_value(ocsp)?);
        revocation.push(Any::new(CRLS, value)?.to_der()?);
    }
    // RFC 5652 §5.1: version 5 when a revocation choice of type other is present.
    if revocation.iter().any(|r| r.first() == Some(&0xA1)) {
        fields[0] = Any::new(Tag::Integer, vec![5])?;
    }
    if !revocation.is_empty() {
        put(&mut fields, set_of(CRLS, revocation)?);
    }
    close(&fields)
}

/// The CRLs and OCSP responses in `cms_der`'s `crls`; other kinds are skipped.
pub fn revocation_values(cms_der: &[u8]) -> der::Result<RevocationValues> {
    let fields = open(cms_der)?;
    let mut out = RevocationValues::default();
    for item in field_items(&fields, CRLS)? {
        let item = Any::from_der(&item)?;
        if item.tag() == Tag::Sequence {
            out.crls.push(item.to_der()?);
        } else if item.tag() == CRLS {
            let inner = elements(item.value())?;
            if let [format, response] = inner.as_slice() {
                if format.decode_as::<ObjectIdentifier>().ok() == Some(ID_RI_OCSP_RESPONSE) {
                    out.ocsps.push(response.to_der()?);
                }
            }
        }
    }
    Ok(out)
}

/// `cms_der` as `cms` 0.2 can decode it: without the revocation choices of type other
/// (see the module's documentation), which nothing decoded by `cms` reads. Borrowed when
/// there are none, and when it is not signed data at all (the decoder says why).
pub fn decodable(cms_der: &[u8]) -> Cow<'_, [u8]> {
    let Ok(mut fields) = open(cms_der) else { return Cow::Borrowed(cms_der) };
    let Ok(items) = field_items(&fields, CRLS) else { return Cow::Borrowed(cms_der) };
    if !items.iter().any(|i| i.first() == Some(&0xA1)) {
        return Cow::Borrowed(cms_der);
    }
    let kept: Vec<Vec<u8>> = items.into_iter().filter(|i| i.first() != Some(&0xA1)).collect();
    fields.retain(|f| f.tag() != CRLS);
    if !kept.is_empty() {
        match set_of(CRLS, kept) {
            Ok(set) => put(&mut fields, set),
            Err(_) => return Cow::Borrowed(cms_der),
        }
    }
    close(&fields).map_or(Cow::Borrowed(cms_der), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed data with nothing in it but its version and an empty signer set.
    fn bare() -> Vec<u8> {
        let fields = [
            Any::new(Tag::Integer, vec![1]).unwrap(),
            Any::new(Tag::Set, Vec::new()).unwrap(),
            Any::new(Tag::Sequence, const_oid::db::rfc5911::ID_DATA.to_der().unwrap()).unwrap(),
            Any::new(Tag::Set, Vec::new()).unwrap(),
        ];
        close(&fields).unwrap()
    }

    fn tlv(tag: Tag, body: &[u8]) -> Vec<u8> {
        Any::new(tag, body.to_vec()).unwrap().to_der().unwrap()
    }

    #[test]
    fn crls_and_ocsp_responses_go_in_and_come_out_and_cms_still_decodes_the_rest() {
        let (crl, ocsp, cert) = (tlv(Tag::Sequence, b"crl"), tlv(Tag::Sequence, b"ocsp"), tlv(Tag::Sequence, b"cert"));
        let values = RevocationValues { crls: vec![crl.clone()], ocsps: vec![ocsp.clone()] };
        let with = add(&bare(), &[cert.clone(), cert.clone()], &values).unwrap();
        assert_eq!(revocation_values(&with).unwrap(), values);
        let fields = open(&with).unwrap();
        // version 5 (an "other" revocation choice), certificates before crls before signerInfos.
        assert_eq!(fields[0].value(), [5]);
        let tags: Vec<Tag> = fields.iter().map(Tagged::tag).collect();
        assert_eq!(tags[3..], [CERTIFICATES, CRLS, Tag::Set]);
        assert_eq!(field_items(&fields, CERTIFICATES).unwrap(), vec![cert], "each certificate once");
        // Adding the same again changes nothing.
        assert_eq!(add(&with, &[], &values).unwrap(), with);
        // Without the OCSP response (cms 0.2 cannot read it), the CRL stays.
        let plain = decodable(&with);
        assert_eq!(revocation_values(&plain).unwrap(), RevocationValues { crls: vec![crl], ocsps: Vec::new() });
        assert!(matches!(decodable(&bare()), Cow::Borrowed(_)));
    }

    #[test]
    fn what_is_not_signed_data_is_refused() {
        let data = ContentInfo {
            content_type: const_oid::db::rfc5911::ID_DATA,
            content: Any::new(Tag::OctetString, vec![]).unwrap(),
        };
        let der = data.to_der().unwrap();
        assert!(add(&der, &[], &RevocationValues::default()).is_err());
        assert!(revocation_values(b"\x30\x03\x02\x01").is_err());
        assert!(matches!(decodable(b"garbage"), Cow::Borrowed(b"garbage")));
    }
}
