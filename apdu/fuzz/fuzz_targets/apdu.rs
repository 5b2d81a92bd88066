//! Command and response APDUs, ECDSA signature conversion and ATR parsing.
//! Nothing may panic; a parsed command must survive an encode/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mohur_apdu::{atr, signature, Command, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::parse(data) {
        let bytes = cmd.to_bytes().expect("a parsed command must encode");
        let again = Command::parse(&bytes).expect("an encoded command must parse");
        assert_eq!(cmd, again, "round trip changed the command");
        assert_eq!(cmd.data, again.data);
    }

    if let Ok(resp) = Response::parse(data) {
        assert_eq!(resp.to_bytes(), data, "response did not re-encode to its input");
    }

    if let Ok(raw) = signature::ecdsa_der_to_raw(data, 32) {
        assert_eq!(raw.len(), 64);
    }

    if let Some(hist) = atr::historical_bytes(data) {
        assert!(hist.len() <= 15 && hist.len() < data.len());
    }
    let _ = atr::supports_extended_length(data);
});
