//! The client side of the Assuan line protocol, as far as pinentry needs it:
//! commands out, `OK`/`ERR`/`D`/`S`/`#`/`INQUIRE` lines back, percent coding.
//!
//! Generic over the streams so that the parsing is tested on byte slices; the PIN
//! only ever lives in [`Zeroizing`] buffers, and no line read is ever put in an
//! error (a `D` line may be a PIN).

use super::{Error, Result};
use std::io::{BufRead, Read, Write};
use zeroize::Zeroizing;

/// `GPG_ERR_CANCELED` (99): the holder closed the dialog.
const CODE_CANCELED: u32 = 99;
/// `GPG_ERR_NOT_CONFIRMED` (114): the holder pressed the "no" button of CONFIRM.
const CODE_NOT_CONFIRMED: u32 = 114;
/// Assuan lines are at most 1000 bytes; more than this is not a pinentry talking.
const MAX_LINE: u64 = 64 * 1024;

/// The final line of a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    Ok,
    /// The gpg-error code and its (sanitised) description.
    Err(u32, String),
}

impl Reply {
    /// True for a cancelled or not-confirmed dialog, whatever the error source bits.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, Reply::Err(code, _) if matches!(code & 0xFFFF, CODE_CANCELED | CODE_NOT_CONFIRMED))
    }

    /// `OK` → `Ok(())`; a cancel → [`Error::Cancelled`]; any other error → [`Error::Failed`].
    pub(crate) fn into_result(self, what: &str) -> Result<()> {
        match self {
            Reply::Ok => Ok(()),
            Reply::Err(code, _) if code & 0xFFFF == CODE_CANCELED => Err(Error::Cancelled),
            Reply::Err(code, desc) => Err(Error::Failed(format!("{what}: ERR {code} {desc}"))),
        }
    }
}

pub(crate) struct Assuan<W, R> {
    input: W,
    output: R,
}

impl<W: Write, R: BufRead> Assuan<W, R> {
    pub(crate) fn new(input: W, output: R) -> Self {
        Assuan { input, output }
    }

    /// Reads up to the final `OK` or `ERR`; the `D` lines, percent-decoded, go to
    /// `data` (or nowhere).
    pub(crate) fn reply(&mut self, mut data: Option<&mut Zeroizing<Vec<u8>>>) -> Result<Reply> {
        loop {
            let mut line = Zeroizing::new(Vec::new());
            let n = (&mut self.output)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::Failed(format!("reading from pinentry: {e}")))?;
            if n == 0 {
                return Err(Error::Failed("pinentry closed its output".into()));
            }
            if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
                return Err(Error::Failed("pinentry sent an overlong line".into()));
            }
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if line.as_slice() == b"OK" || line.starts_with(b"OK ") {
                return Ok(Reply::Ok);
            }
            if let Some(rest) = line.strip_prefix(b"ERR ") {
                let rest = String::from_utf8_lossy(rest);
                let (code, desc) = rest.split_once(' ').unwrap_or((&rest, ""));
                let desc = desc.chars().filter(|c| !c.is_control()).take(200).collect();
                return Ok(Reply::Err(code.parse().unwrap_or(0), desc));
            }
            if let Some(d) = line.strip_prefix(b"D ") {
                if let Some(data) = data.as_deref_mut() {
                    percent_decode_into(d, data);
                }
                continue;
            }
            if line.starts_with(b"INQUIRE") {
                // Nothing to give: end the inquiry empty.
                self.send(b"END")?;
            }
            // Comments (`#`) and status lines (`S`) are skipped.
        }
    }

    /// Sends one line (the buffer is wiped: it may carry a secret one day).
    pub(crate) fn send(&mut self, line: &[u8]) -> Result<()> {
        let mut buf = Zeroizing::new(Vec::with_capacity(line.len() + 1));
        buf.extend_from_slice(line);
        buf.push(b'\n');
        self.input
            .write_all(&buf)
            .and_then(|_| self.input.flush())
            .map_err(|e| Error::Failed(format!("writing to pinentry: {e}")))
    }

    /// Sends `line` and reads its reply, discarding any data.
    pub(crate) fn transact(&mut self, line: &str) -> Result<Reply> {
        self.send(line.as_bytes())?;
        self.reply(None)
    }

    /// Sends `verb` with `arg` percent-encoded; any error reply is an error.
    pub(crate) fn set(&mut self, verb: &str, arg: &str) -> Result<()> {
        self.transact(&format!("{verb} {}", percent_encode(arg)))?.into_result(verb)
    }
}

/// Assuan escaping of a command argument: `%`, CR, LF and other control characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' || (c as u32) < 0x20 {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Appends the Assuan-decoded `d` (`%XX` escapes) to `out`.
fn percent_decode_into(d: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|v| v as u8);
    let mut i = 0;
    while i < d.len() {
        if d[i] == b'%' && i + 2 < d.len() {
            if let (Some(h), Some(l)) = (hex(d[i + 1]), hex(d[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(d[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Scripted<'a> = Assuan<Vec<u8>, &'a [u8]>;

    fn talk(script: &[u8]) -> (Scripted<'_>, Zeroizing<Vec<u8>>) {
        (Assuan::new(Vec::new(), script), Zeroizing::new(Vec::new()))
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_encode("a%b\nc"), "a%25b%0Ac");
        let mut out = Vec::new();
        percent_decode_into(b"12%2534%0A%4", &mut out);
        assert_eq!(out, b"12%34\n%4");
    }

    #[test]
    fn data_lines_are_joined_and_decoded_and_comments_skipped() {
        let (mut a, mut pin) = talk(b"# hello\nS PASSWORD_FROM_CACHE\nD 12%25\nD 34\r\nOK\n");
        assert_eq!(a.reply(Some(&mut pin)).unwrap(), Reply::Ok);
        assert_eq!(pin.as_slice(), b"12%34");
    }

    #[test]
    fn inquiries_are_ended_empty() {
        let (mut a, _) = talk(b"INQUIRE QUALITY 1234\nOK\n");
        assert_eq!(a.reply(None).unwrap(), Reply::Ok);
        assert_eq!(a.input, b"END\n");
    }

    #[test]
    fn errors_are_classified_by_their_code() {
        let (mut a, _) = talk(b"ERR 83886179 Operation cancelled <Pinentry>\n");
        let r = a.reply(None).unwrap();
        assert!(r.is_refusal());
        assert!(matches!(r.into_result("GETPIN"), Err(Error::Cancelled)));
        // Another source with the same code is a cancel too; "no" on CONFIRM is a refusal.
        let (mut a, _) = talk(b"ERR 99 cancelled\nERR 83886194 Not confirmed\nERR 83886340 General error\n");
        assert!(matches!(a.reply(None).unwrap().into_result("GETPIN"), Err(Error::Cancelled)));
        assert!(a.reply(None).unwrap().is_refusal());
        let general = a.reply(None).unwrap();
        assert!(!general.is_refusal());
        match general.into_result("GETPIN") {
            Err(Error::Failed(m)) => assert_eq!(m, "GETPIN: ERR 83886340 General error"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn eof_and_overlong_lines_fail() {
        let (mut a, _) = talk(b"D 1234\n");
        assert!(matches!(a.reply(None), Err(Error::Failed(_))));
        let long = vec![b'#'; MAX_LINE as usize + 10];
        let mut a = Assuan::new(Vec::new(), long.as_slice());
        match a.reply(None) {
            Err(Error::Failed(m)) => assert!(m.contains("overlong"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
