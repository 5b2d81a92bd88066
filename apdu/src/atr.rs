//! Answer-to-reset parsing, ISO 7816-3 §8.2 and ISO 7816-4 §8.1.1 (historical bytes).

/// The historical bytes of an ATR, or `None` if the ATR is malformed.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = (t0 & 0x0F) as usize;
    let mut y = t0 >> 4;
    let mut i = 2;
    loop {
        // TAi, TBi, TCi present per bits 5..7 of Y; TDi per bit 8.
        i += (y & 0x07).count_ones() as usize;
        if y & 0x08 == 0 {
            break;
        }
        let td = *atr.get(i)?;
        i += 1;
        y = td >> 4;
    }
    atr.get(i..i + k)
}

/// True if the card capabilities (compact-TLV tag `7`, length 3, ISO 7816-4
/// §8.1.1.2.7, third software function table) announce extended Lc and Le.
pub fn supports_extended_length(atr: &[u8]) -> bool {
    let Some(hist) = historical_bytes(atr) else { return false };
    // Category indicator 00 or 80: compact-TLV objects follow.
    let mut objects = match hist.split_first() {
        Some((0x80, rest)) => rest,
        Some((0x00, rest)) => rest.get(..rest.len().saturating_sub(3)).unwrap_or(&[]),
        _ => return false,
    };
    while let Some((&tl, rest)) = objects.split_first() {
        let len = (tl & 0x0F) as usize;
        let Some(value) = rest.get(..len) else { return false };
        if tl >> 4 == 0x7 && len == 3 {
            return value[2] & 0x40 != 0;
        }
        objects = &rest[len..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_historical_bytes() {
        let aze = [
            0x3B, 0xF8, 0x18, 0x00, 0x00, 0x80, 0x31, 0xFE, 0x45, 0xFE, 0x41, 0x5A, 0x45, 0x20, 0x44, 0x49, 0x54, 0x33,
        ];
        assert_eq!(historical_bytes(&aze).unwrap(), b"\xFEAZE DIT");
        assert!(!supports_extended_length(&aze));
        // T=1 card with card capabilities 73 00 00 C0 (chaining, extended length).
        let ext = [0x3B, 0x88, 0x80, 0x01, 0x80, 0x73, 0x00, 0x00, 0xC0, 0x90, 0x00, 0x00, 0x00];
        assert_eq!(historical_bytes(&ext).unwrap(), &[0x80, 0x73, 0x00, 0x00, 0xC0, 0x90, 0x00, 0x00]);
        assert!(supports_extended_length(&ext));
        assert!(historical_bytes(&[0x3B, 0x8F]).is_none());
        assert!(historical_bytes(&[]).is_none());
    }
}
