//! Malformed APDUs through pcscd get an error status word, and the card keeps serving.

use mohur_apdu::pcsc_transport::PcscTransport;
use mohur_apdu::{RawChannel, Response};
use mohur_card_sim::Profile;
use mohur_tests::*;

const PIV_SELECT: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00];

#[test]
fn malformed_apdus_get_error_status_words_and_the_card_keeps_serving() {
    for profile in [Profile::Piv, Profile::Azedit] {
        let card = PluggedCard::profile(profile);
        let mut t = PcscTransport::connect(&card.reader.name).unwrap();
        let garbage: &[&[u8]] = &[
            &[0x00, 0xA4, 0x04, 0x00, 0x05, 0x01, 0x02],       // Lc longer than the data
            &[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x03, 0x01], // extended Lc, short body
            &[0xFF, 0xA4, 0x04, 0x00],                         // CLA FF
            &[0x00, 0x55, 0x00, 0x00],                         // unknown INS
            &[0x00, 0x87, 0x07, 0x9A, 0x03, 0x7C, 0x85, 0xFF], // TLV with a bogus length
            &[0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x09, 0x5F, 0x00], // GET DATA, truncated tag list
            &[0x00, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32],       // VERIFY, short PIN field
            &[0x00, 0xB0, 0x7F, 0xFF, 0x00],                   // READ BINARY past everything
            &[0x00, 0xC0, 0x00, 0x00, 0x10],                   // GET RESPONSE with nothing pending
        ];
        for apdu in garbage {
            let r = Response::parse(&t.transmit_raw(apdu).unwrap()).unwrap();
            assert!(!r.sw.is_ok(), "{profile:?}: {apdu:02X?} answered {}", r.sw);
        }
        // A wrong PIN field was never counted as a PIN try.
        let state = card.sim.card().lock().unwrap().state().clone();
        assert_eq!(state.pin.left, state.pin.max);
        // Still a working card.
        let expected_ok = if profile == Profile::Piv { PIV_SELECT.to_vec() } else { vec![0x00, 0xA4, 0x00, 0x0C] };
        let r = Response::parse(&t.transmit_raw(&expected_ok).unwrap()).unwrap();
        assert!(r.sw.is_ok(), "{profile:?}: card stopped answering: {}", r.sw);
        drop(t);
        let mut c = card.open();
        let key = c.keys()[0].id;
        c.certificate(key).unwrap();
    }
}
