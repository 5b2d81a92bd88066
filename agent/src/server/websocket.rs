//! The WebSocket protocol (RFC 6455) on the server side, as much as the agent needs,
//! written so that a frame's length is known **before** its payload is read: the
//! session decides from the header alone whether a frame may be buffered at all
//! ([`super::budget`]), closes on one that is too big, and reads and drops the payload
//! of one that is over the budget, keeping only its first bytes (the request id, for
//! the `BUSY` answer). A general-purpose library reads the whole message first.
//!
//! Only what browsers send is accepted: masked client frames (§5.1), no extensions
//! (RSV bits zero, §5.2), text, binary, continuation and control frames (§5.5); control
//! frames are at most 125 bytes and not fragmented (§5.5). Server frames are sent
//! unmasked and unfragmented.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The GUID of the opening handshake (§1.3, §4.2.2).
const HANDSHAKE_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (§4.2.2 step 5.4):
/// base64 of SHA-1 over the key and the GUID.
pub fn accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(HANDSHAKE_GUID);
    B64.encode(h.finalize())
}

/// A frame's opcode (§5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A further fragment of a message.
    Continuation,
    /// The first (or only) frame of a UTF-8 text message.
    Text,
    /// The first (or only) frame of a binary message.
    Binary,
    /// Close (§5.5.1).
    Close,
    /// Ping (§5.5.2).
    Ping,
    /// Pong (§5.5.3).
    Pong,
}

impl Opcode {
    fn from_bits(b: u8) -> Result<Opcode, FrameError> {
        Ok(match b {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return Err(FrameError::Protocol("reserved opcode")),
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong (§5.5).
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A client frame's header (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    /// What it carries.
    pub opcode: Opcode,
    /// The masking key (§5.3): every client frame has one.
    pub mask: [u8; 4],
    /// The payload length.
    pub len: u64,
}

/// Why a connection must close, with the close code to send (§7.4.1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The socket failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The client broke the protocol (1002).
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// A text message that is not UTF-8 (1007).
    #[error("text message is not UTF-8")]
    NotUtf8,
}

impl FrameError {
    /// The close code to send before closing, if the socket still works.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            FrameError::Io(_) => None,
            FrameError::Protocol(_) => Some(1002),
            FrameError::NotUtf8 => Some(1007),
        }
    }
}

/// Parses a header from the start of `bytes`: `Ok(None)` if more bytes are needed,
/// else the header and how many bytes it took (2 to 14).
pub fn parse_header(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, FrameError> {
    let [b0, b1, rest @ ..] = bytes else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Protocol("RSV bits set without an extension"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = Opcode::from_bits(b0 & 0x0F)?;
    if b1 & 0x80 == 0 {
        // §5.1: "a server MUST close the connection upon receiving a frame that is not masked".
        return Err(FrameError::Protocol("client frame not masked"));
    }
    let (len, used) = match b1 & 0x7F {
        126 => {
            let Some(b) = rest.get(..2) else { return Ok(None) };
            let n = u16::from_be_bytes([b[0], b[1]]) as u64;
            if n < 126 {
                return Err(FrameError::Protocol("length not in its shortest form"));
            }
            (n, 2)
        }
        127 => {
            let Some(b) = rest.get(..8) else { return Ok(None) };
            let n = u64::from_be_bytes(b.try_into().unwrap_or([0xFF; 8]));
            // §5.2: the most significant bit MUST be 0.
            if n >> 63 != 0 {
                return Err(FrameError::Protocol("length with its most significant bit set"));
            }
            if n <= u16::MAX as u64 {
                return Err(FrameError::Protocol("length not in its shortest form"));
            }
            (n, 8)
        }
        n => (n as u64, 0),
    };
    let Some(mask) = rest.get(used..used + 4) else { return Ok(None) };
    let header = FrameHeader { fin, opcode, mask: [mask[0], mask[1], mask[2], mask[3]], len };
    if opcode.is_control() && (!fin || len > 125) {
        return Err(FrameError::Protocol("control frame fragmented or longer than 125 bytes"));
    }
    Ok(Some((header, 2 + used + 4)))
}

/// Reads one frame header.
pub async fn read_header<R: AsyncRead + Unpin>(r: &mut R) -> Result<FrameHeader, FrameError> {
    let mut buf = [0u8; 14];
    let mut have = 0;
    // The header's own length bytes say how long it is: read exactly that, never
    // into the payload.
    let mut need = 2;
    loop {
        r.read_exact(&mut buf[have..need]).await?;
        have = need;
        match parse_header(&buf[..have])? {
            Some((header, _)) => return Ok(header),
            None => {
                need = match buf[1] & 0x7F {
                    126 => 2 + 2 + 4,
                    127 => 2 + 8 + 4,
                    _ => 2 + 4,
                }
            }
        }
    }
}

/// Unmasks `data`, which starts at byte `offset` of its frame's payload (§5.3).
fn unmask(data: &mut [u8], mask: [u8; 4], offset: u64) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[((offset + i as u64) % 4) as usize];
    }
}

/// Reads the payload of `header` and appends it, unmasked, to `out`; the caller has
/// admitted `header.len` bytes.
pub async fn read_payload<R: AsyncRead + Unpin>(
    r: &mut R,
    header: &FrameHeader,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    let len = usize::try_from(header.len).map_err(|_| FrameError::Protocol("frame too long"))?;
    out.resize(start + len, 0);
    r.read_exact(&mut out[start..]).await?;
    unmask(&mut out[start..], header.mask, 0);
    Ok(())
}

/// How much of a dropped payload is kept (for the request id of the answer).
pub const KEPT_PREFIX: usize = 512;

/// Reads the payload of `header` in small pieces and drops it, appending to `prefix`
/// only what keeps it within [`KEPT_PREFIX`] bytes: memory stays bounded however long
/// the frame is.
pub async fn skip_payload<R: AsyncRead + Unpin>(
    r: &mut R,
    header: &FrameHeader,
    prefix: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let mut chunk = [0u8; 16 * 1024];
    let mut done: u64 = 0;
    while done < header.len {
        let want = (header.len - done).min(chunk.len() as u64) as usize;
        let n = r.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let keep = n.min(KEPT_PREFIX.saturating_sub(prefix.len()));
        if keep > 0 {
            let mut kept = chunk[..keep].to_vec();
            unmask(&mut kept, header.mask, done);
            prefix.extend_from_slice(&kept);
        }
        done += n as u64;
    }
    Ok(())
}

/// A server frame (§5.2): FIN, unmasked.
pub fn encode(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode.bits());
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame's payload (§5.5.1): the code, then a reason of at most 123 bytes.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    p.extend_from_slice(&reason.as_bytes()[..end]);
    p
}

/// Writes one server frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, opcode: Opcode, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&encode(opcode, payload)).await?;
    w.flush().await
}

/// The request id at the start of a dropped frame, for the `BUSY` answer: the value of
/// a leading `"id"` member (a number or a string), as `mohur.js` and most clients
/// write it; `null` when the prefix does not start that way.
pub fn leading_id(prefix: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(prefix);
    let rest = text.trim_start();
    let Some(rest) = rest.strip_prefix('{') else { return serde_json::Value::Null };
    let Some(rest) = rest.trim_start().strip_prefix("\"id\"") else { return serde_json::Value::Null };
    let Some(rest) = rest.trim_start().strip_prefix(':') else { return serde_json::Value::Null };
    // One JSON value, then whatever follows (the rest of the object, cut off).
    let mut values = serde_json::Deserializer::from_str(rest.trim_start()).into_iter::<serde_json::Value>();
    match values.next() {
        Some(Ok(v @ serde_json::Value::Number(_))) => v,
        Some(Ok(serde_json::Value::String(s))) if s.len() <= 64 => serde_json::Value::String(s),
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    #[test]
    fn accept_key_is_the_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn rfc_example_frames_parse() {
        // §5.7: a single-frame masked text message "Hello".
        let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let (h, used) = parse_header(&frame).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode, h.len, used), (true, Opcode::Text, 5, 6));
        let mut payload = frame[used..].to_vec();
        unmask(&mut payload, h.mask, 0);
        assert_eq!(payload, b"Hello");
        // Lengths of 126 and 65536 bytes use the 16- and 64-bit forms.
        for n in [126usize, 65_536] {
            let f = client_frame(true, 2, &vec![7u8; n]);
            let (h, used) = parse_header(&f).unwrap().unwrap();
            assert_eq!((h.len, used), (n as u64, if n == 126 { 8 } else { 14 }));
        }
        // Every prefix of a header asks for more bytes.
        let f = client_frame(true, 1, &vec![1u8; 70_000]);
        for cut in 0..14 {
            assert!(parse_header(&f[..cut]).unwrap().is_none(), "{cut}");
        }
    }

    #[test]
    fn what_browsers_never_send_is_a_protocol_error() {
        let bad: &[&[u8]] = &[
            &[0x81, 0x05, 1, 2, 3, 4, 5],                         // not masked
            &[0xC1, 0x80, 0, 0, 0, 0],                            // RSV1 without an extension
            &[0x83, 0x80, 0, 0, 0, 0],                            // reserved opcode 3
            &[0x09, 0x80, 0, 0, 0, 0],                            // fragmented ping
            &[0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0],                // ping of 126 bytes
            &[0x81, 0xFE, 0x00, 0x05, 0, 0, 0, 0],                // 5 in the 16-bit form
            &[0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], // MSB of the 64-bit length
        ];
        for frame in bad {
            assert!(matches!(parse_header(frame), Err(FrameError::Protocol(_))), "{frame:?}");
        }
    }

    #[tokio::test]
    async fn payloads_are_read_or_skipped_keeping_only_a_prefix() {
        let text =
            format!(r#"{{"id": 42, "method": "sign-document", "params": {{"document": "{}"}}}}"#, "A".repeat(100_000));
        let frame = client_frame(true, 1, text.as_bytes());
        let mut r = &frame[..];
        let h = read_header(&mut r).await.unwrap();
        let mut prefix = Vec::new();
        skip_payload(&mut r, &h, &mut prefix).await.unwrap();
        assert!(r.is_empty());
        assert_eq!(prefix.len(), KEPT_PREFIX);
        assert_eq!(&prefix[..], &text.as_bytes()[..KEPT_PREFIX]);
        assert_eq!(leading_id(&prefix), serde_json::json!(42));

        let mut r = &frame[..];
        let h = read_header(&mut r).await.unwrap();
        let mut out = Vec::new();
        read_payload(&mut r, &h, &mut out).await.unwrap();
        assert_eq!(out, text.as_bytes());
        // A payload cut short is an I/O error, not a panic.
        let mut r = &frame[..frame.len() - 10];
        let h = read_header(&mut r).await.unwrap();
        assert!(matches!(skip_payload(&mut r, &h, &mut Vec::new()).await, Err(FrameError::Io(_))));
    }

    #[test]
    fn the_id_is_read_only_from_the_front() {
        assert_eq!(leading_id(br#"{"id":"abc","method":"x""#), serde_json::json!("abc"));
        assert_eq!(leading_id(br#" { "id" : 7.5 , "#), serde_json::json!(7.5));
        assert_eq!(leading_id(br#"{"method":"x","id":1"#), serde_json::Value::Null);
        assert_eq!(leading_id(br#"{"id":{"a":1},"#), serde_json::Value::Null);
        assert_eq!(leading_id(b"\xff\xfe"), serde_json::Value::Null);
        let long = format!(r#"{{"id":"{}","#, "x".repeat(65));
        assert_eq!(leading_id(long.as_bytes()), serde_json::Value::Null);
    }

    #[test]
    fn server_frames_and_close_reasons() {
        assert_eq!(encode(Opcode::Text, b"Hi"), [0x81, 0x02, b'H', b'i']);
        let long = encode(Opcode::Binary, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x82, 126, 0x01, 0x2c]);
        let p = close_payload(1009, &"é".repeat(100));
        assert!(p.len() <= 125);
        assert!(std::str::from_utf8(&p[2..]).is_ok());
        assert_eq!(&p[..2], &1009u16.to_be_bytes());
    }
}
