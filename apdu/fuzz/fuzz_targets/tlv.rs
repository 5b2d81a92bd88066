//! BER-TLV parsing: `parse_all`, `children` of every object, and `parse_one`.
//! None of them may panic, and every value must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohur_apdu::tlv;

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = tlv::parse_all(data) {
        for object in &objects {
            assert!(within(data, object.value));
            if let Ok(children) = object.children() {
                for child in &children {
                    assert!(within(object.value, child.value));
                }
            }
        }
    }
    if let Ok((object, rest)) = tlv::parse_one(data) {
        assert!(within(data, object.value));
        assert!(rest.len() + object.value.len() < data.len());
    }
});
