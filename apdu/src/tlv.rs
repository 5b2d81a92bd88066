//! BER-TLV data objects, ISO 7816-4 §5.2 with the encoding rules of ISO/IEC 8825-1
//! (X.690 §8.1): multi-byte tags and definite short and long-form lengths.
//!
//! Parsing never panics and never allocates more than the input holds.

use crate::error::{Error, Result};

/// One TLV: a tag (up to 4 bytes, kept in its encoded form) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, as its encoded bytes packed big-endian (`0x5FC105`, `0x7C`).
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// True if bit 6 of the first tag byte marks a constructed object.
    pub fn is_constructed(&self) -> bool {
        first_tag_byte(self.tag) & 0x20 != 0
    }
    /// The nested objects of a constructed value.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>> {
        parse_all(self.value)
    }
}

fn first_tag_byte(tag: u32) -> u8 {
    let bytes = tag.to_be_bytes();
    bytes.iter().copied().find(|b| *b != 0).unwrap_or(0)
}

/// Reads one tag (X.690 §8.1.2): returns it and the bytes consumed.
fn read_tag(input: &[u8]) -> Result<(u32, usize)> {
    let first = *input.first().ok_or(Error::MalformedTlv("missing tag"))?;
    if first == 0x00 || first == 0xFF {
        // ISO 7816-4 §5.2.2: 00 and FF are padding, not tags.
        return Err(Error::MalformedTlv("invalid tag byte 00/FF"));
    }
    let mut tag = first as u32;
    if first & 0x1F != 0x1F {
        return Ok((tag, 1));
    }
    for i in 1..4 {
        let b = *input.get(i).ok_or(Error::MalformedTlv("truncated tag"))?;
        tag = (tag << 8) | b as u32;
        if b & 0x80 == 0 {
            return Ok((tag, i + 1));
        }
    }
    Err(Error::MalformedTlv("tag longer than 4 bytes"))
}

/// Reads one definite length (X.690 §8.1.3): returns it and the bytes consumed.
fn read_length(input: &[u8]) -> Result<(usize, usize)> {
    let first = *input.first().ok_or(Error::MalformedTlv("missing length"))?;
    if first < 0x80 {
        return Ok((first as usize, 1));
    }
    let n = (first & 0x7F) as usize;
    if n == 0 {
        return Err(Error::MalformedTlv("indefinite length is not allowed"));
    }
    if n > 4 {
        return Err(Error::MalformedTlv("length field longer than 4 bytes"));
    }
    let bytes = input.get(1..1 + n).ok_or(Error::MalformedTlv("truncated length"))?;
    let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
    Ok((len, 1 + n))
}

/// Parses the first TLV in `input`; returns it and the rest of the input.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let (tag, tag_len) = read_tag(input)?;
    let (len, len_len) = read_length(&input[tag_len..])?;
    let start = tag_len + len_len;
    let end = start.checked_add(len).ok_or(Error::MalformedTlv("length overflow"))?;
    let value = input.get(start..end).ok_or(Error::MalformedTlv("value shorter than its length"))?;
    Ok((Tlv { tag, value }, &input[end..]))
}

/// Parses a sequence of TLVs filling `input` (padding bytes `00`/`FF` between
/// objects are skipped, ISO 7816-4 §5.2.2).
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    loop {
        while let [0x00 | 0xFF, rest @ ..] = input {
            input = rest;
        }
        if input.is_empty() {
            return Ok(out);
        }
        let (tlv, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
}

/// Finds the first object with `tag` at the top level of `input`.
pub fn find(input: &[u8], tag: u32) -> Result<Option<&[u8]>> {
    Ok(parse_all(input)?.into_iter().find(|t| t.tag == tag).map(|t| t.value))
}

/// Finds `tag` at the top level, or fails with `what` as the reason.
pub fn require<'a>(input: &'a [u8], tag: u32, what: &'static str) -> Result<&'a [u8]> {
    find(input, tag)?.ok_or(Error::UnexpectedResponse(what))
}

/// Appends the encoding of `tag` (its packed bytes without leading zeros).
pub fn encode_tag(tag: u32, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends a definite length in the shortest form (X.690 §8.1.3.4/5).
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one TLV.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode_into(tag, value, &mut out);
    out
}

/// Appends one TLV to `out`.
pub fn encode_into(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    encode_tag(tag, out);
    encode_length(value.len(), out);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_multibyte_tags_and_long_lengths() {
        let value = vec![0xAB; 300];
        let enc = encode(0x5FC105, &value);
        assert_eq!(&enc[..6], &[0x5F, 0xC1, 0x05, 0x82, 0x01, 0x2C]);
        let (tlv, rest) = parse_one(&enc).unwrap();
        assert_eq!(tlv.tag, 0x5FC105);
        assert_eq!(tlv.value, &value[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn nested_and_padding() {
        let inner = [encode(0x82, &[]), encode(0x81, &[1, 2, 3])].concat();
        let outer = [encode(0x7C, &inner), vec![0x00, 0xFF]].concat();
        let all = parse_all(&outer).unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].is_constructed());
        let kids = all[0].children().unwrap();
        assert_eq!(kids[1], Tlv { tag: 0x81, value: &[1, 2, 3] });
    }

    #[test]
    fn rejects_bad_encodings() {
        assert!(parse_one(&[0x53, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(parse_one(&[0x53, 0x80]).is_err());
        assert!(parse_one(&[0x53, 0x05, 1]).is_err());
        assert!(parse_one(&[0x5F, 0xC1]).is_err());
        assert!(parse_one(&[0x5F, 0xFF, 0xFF, 0xFF, 0x01]).is_err());
        assert!(parse_one(&[0x53, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_all(&bytes);
            if let Ok((tlv, _)) = parse_one(&bytes) {
                let _ = tlv.children();
            }
        }

        #[test]
        fn round_trips(tag_choice in 0usize..4, value in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            let tag = [0x53u32, 0x7F49, 0x5FC105, 0x1F8101][tag_choice];
            let enc = encode(tag, &value);
            let (tlv, rest) = parse_one(&enc).unwrap();
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.value, &value[..]);
            prop_assert!(rest.is_empty());
        }
    }
}
