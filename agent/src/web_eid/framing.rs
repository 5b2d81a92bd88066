//! Native messaging framing (Chrome "Native messaging" § Native messaging protocol;
//! MDN "Native messaging" § App side): every message, both ways, is a `u32` length in
//! the machine's native byte order followed by that many bytes of UTF-8 JSON.
//!
//! The Web eID extension never sends more than [`MAX_MESSAGE`] bytes (its
//! `NATIVE_MESSAGE_MAX_BYTES`), so a longer length is refused before a byte of the body
//! is read: a wrong prefix cannot make the host allocate or wait for gigabytes.

use serde_json::Value;
use std::io::{ErrorKind, Read, Write};

/// The longest message the host accepts (and the extension sends): 8 KiB.
pub const MAX_MESSAGE: u32 = 8 * 1024;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The other side closed the pipe between messages.
    #[error("the browser closed the connection")]
    Closed,
    /// The pipe closed inside a length prefix or a body.
    #[error("the message was cut off after {got} of {want} bytes")]
    Truncated {
        /// Bytes read.
        got: usize,
        /// Bytes announced (4 for a length prefix).
        want: usize,
    },
    /// A length over [`MAX_MESSAGE`] (or zero).
    #[error("a message of {0} bytes is not allowed (1 to {MAX_MESSAGE})")]
    BadLength(u32),
    /// The body is not one JSON value.
    #[error("the message is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// Reading or writing failed.
    #[error("the browser's pipe: {0}")]
    Io(#[source] std::io::Error),
}

/// Reads exactly `buf.len()` bytes; how many arrived if the pipe closed first.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> Result<(), (usize, Option<std::io::Error>)> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => return Err((got, None)),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err((got, Some(e))),
        }
    }
    Ok(())
}

/// Reads one message. [`FrameError::Closed`] when the pipe ends cleanly before it.
pub fn read_message(input: &mut dyn Read) -> Result<Value, FrameError> {
    let mut prefix = [0u8; 4];
    match read_full(input, &mut prefix) {
        Ok(()) => {}
        Err((0, None)) => return Err(FrameError::Closed),
        Err((_, Some(e))) => return Err(FrameError::Io(e)),
        Err((got, None)) => return Err(FrameError::Truncated { got, want: 4 }),
    }
    let len = u32::from_ne_bytes(prefix);
    if len == 0 || len > MAX_MESSAGE {
        return Err(FrameError::BadLength(len));
    }
    let mut body = vec![0u8; len as usize];
    match read_full(input, &mut body) {
        Ok(()) => {}
        Err((_, Some(e))) => return Err(FrameError::Io(e)),
        Err((got, None)) => return Err(FrameError::Truncated { got, want: len as usize }),
    }
    serde_json::from_slice(&body).map_err(FrameError::NotJson)
}

/// Writes one message (compact JSON) and flushes it.
pub fn write_message(output: &mut dyn Write, message: &Value) -> Result<(), FrameError> {
    let body = serde_json::to_vec(message).map_err(FrameError::NotJson)?;
    let len = u32::try_from(body.len()).map_err(|_| FrameError::BadLength(u32::MAX))?;
    output.write_all(&len.to_ne_bytes()).map_err(FrameError::Io)?;
    output.write_all(&body).map_err(FrameError::Io)?;
    output.flush().map_err(FrameError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u32).to_ne_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        write_message(&mut out, &json!({"version": "2.5.0"})).unwrap();
        assert_eq!(&out[..4], &19u32.to_ne_bytes());
        assert_eq!(&out[4..], br#"{"version":"2.5.0"}"#);
        assert_eq!(read_message(&mut out.as_slice()).unwrap(), json!({"version": "2.5.0"}));
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        assert!(matches!(read_message(&mut [].as_slice()), Err(FrameError::Closed)));
        assert!(matches!(read_message(&mut [1u8, 0].as_slice()), Err(FrameError::Truncated { got: 2, want: 4 })));
        let cut = &framed(b"{\"command\":\"quit\"}")[..10];
        assert!(matches!(read_message(&mut &cut[..]), Err(FrameError::Truncated { got: 6, want: 18 })));
        // A length over 8 KiB is refused without reading (or waiting for) the body.
        let huge = (MAX_MESSAGE + 1).to_ne_bytes();
        assert!(matches!(read_message(&mut huge.as_slice()), Err(FrameError::BadLength(8193))));
        assert!(matches!(read_message(&mut u32::MAX.to_ne_bytes().as_slice()), Err(FrameError::BadLength(_))));
        assert!(matches!(read_message(&mut 0u32.to_ne_bytes().as_slice()), Err(FrameError::BadLength(0))));
        assert!(matches!(read_message(&mut framed(b"{nope").as_slice()), Err(FrameError::NotJson(_))));
        assert!(matches!(read_message(&mut framed(&[0xff, 0xfe]).as_slice()), Err(FrameError::NotJson(_))));
        // Exactly 8 KiB is allowed.
        let body = format!("\"{}\"", "a".repeat(MAX_MESSAGE as usize - 2));
        assert!(read_message(&mut framed(body.as_bytes()).as_slice()).is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any bytes from the browser: a value or a typed error, never a panic, and never
        /// more read than the prefix says.
        #[test]
        fn any_input_is_a_message_or_a_typed_error(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut input = bytes.as_slice();
            match read_message(&mut input) {
                Ok(_) => {
                    let len = u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize;
                    proptest::prop_assert_eq!(input.len(), bytes.len() - 4 - len);
                }
                Err(FrameError::BadLength(n)) => proptest::prop_assert!(n == 0 || n > MAX_MESSAGE),
                Err(_) => {}
            }
        }

        /// A well-framed body of any bytes: JSON or `NotJson`.
        #[test]
        fn any_body_is_json_or_not_json(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..600)) {
            match read_message(&mut framed(&body).as_slice()) {
                Ok(v) => proptest::prop_assert_eq!(serde_json::from_slice::<Value>(&body).ok(), Some(v)),
                Err(e) => proptest::prop_assert!(matches!(e, FrameError::NotJson(_)), "{e}"),
            }
        }
    }
}
