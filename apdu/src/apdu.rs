//! Command and response APDUs, ISO 7816-4 §5.1 (cases 1–4, short and extended).

use crate::error::{Error, Result};
use crate::sw::StatusWord;
use zeroize::Zeroizing;

/// Largest Nc of a short APDU.
pub const SHORT_MAX_NC: usize = 255;
/// Largest Ne of a short APDU (`Le = 00`).
pub const SHORT_MAX_NE: usize = 256;
/// Largest Nc or Ne of an extended APDU.
pub const EXTENDED_MAX: usize = 65_536;

/// A command APDU.
///
/// The data field is kept in a [`Zeroizing`] buffer: VERIFY, CHANGE REFERENCE
/// DATA and RESET RETRY COUNTER carry PINs in it.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data field (Nc = its length).
    pub data: Zeroizing<Vec<u8>>,
    /// Ne, the number of response bytes expected; `None` for cases 1 and 3.
    pub ne: Option<usize>,
}

impl core::fmt::Debug for Command {
    /// Never prints the data field: it may hold a PIN.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, Nc={}, Ne={:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.ne
        )
    }
}

impl Command {
    /// Case 1: no data, no response data.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command { cla, ins, p1, p2, data: Zeroizing::new(Vec::new()), ne: None }
    }
    /// Sets the data field (case 3, or case 4 with [`Command::expect`]).
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }
    /// Sets Ne (case 2, or case 4 with data). `256` is `Le = 00` in short form.
    pub fn expect(mut self, ne: usize) -> Self {
        self.ne = Some(ne);
        self
    }

    /// True if this command needs extended length fields (ISO 7816-4 §5.1).
    pub fn needs_extended(&self) -> bool {
        self.data.len() > SHORT_MAX_NC || self.ne.is_some_and(|ne| ne > SHORT_MAX_NE)
    }

    /// Encodes the command, choosing short or extended length fields.
    ///
    /// Fails if Nc or Ne exceed 65 536 or Nc is 65 536 (not encodable).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let nc = self.data.len();
        if nc > EXTENDED_MAX - 1 {
            return Err(Error::MalformedApdu("data field longer than 65535 bytes"));
        }
        if let Some(ne) = self.ne {
            if ne == 0 || ne > EXTENDED_MAX {
                return Err(Error::MalformedApdu("Ne must be 1..=65536"));
            }
        }
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 3 + nc + 3));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let extended = self.needs_extended();
        if nc > 0 {
            if extended {
                out.push(0);
                out.extend_from_slice(&(nc as u16).to_be_bytes());
            } else {
                out.push(nc as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(ne) = self.ne {
            if extended {
                if nc == 0 {
                    out.push(0);
                }
                // 65 536 is encoded as 00 00.
                out.extend_from_slice(&((ne % EXTENDED_MAX) as u16).to_be_bytes());
            } else {
                out.push((ne % SHORT_MAX_NE) as u8);
            }
        }
        Ok(out)
    }

    /// Parses an encoded command APDU (the card side of ISO 7816-4 §5.1).
    ///
    /// Never panics; any length inconsistency is [`Error::MalformedApdu`].
    pub fn parse(bytes: &[u8]) -> Result<Command> {
        let (header, body) = match bytes {
            [cla, ins, p1, p2, rest @ ..] => ([*cla, *ins, *p1, *p2], rest),
            _ => return Err(Error::MalformedApdu("shorter than 4 bytes")),
        };
        let mut cmd = Command::new(header[0], header[1], header[2], header[3]);
        match body {
            // Case 1.
            [] => {}
            // Case 2S.
            [le] => cmd.ne = Some(if *le == 0 { SHORT_MAX_NE } else { *le as usize }),
            // Extended cases start with a 00 byte and have at least 3 length bytes.
            [0, hi, lo, rest @ ..] => {
                let n = u16::from_be_bytes([*hi, *lo]) as usize;
                if rest.is_empty() {
                    // Case 2E.
                    cmd.ne = Some(if n == 0 { EXTENDED_MAX } else { n });
                } else {
                    // Case 3E / 4E.
                    if n == 0 {
                        return Err(Error::MalformedApdu("extended Lc of zero"));
                    }
                    if rest.len() == n {
                        cmd.data = Zeroizing::new(rest.to_vec());
                    } else if rest.len() == n + 2 {
                        cmd.data = Zeroizing::new(rest[..n].to_vec());
                        let le = u16::from_be_bytes([rest[n], rest[n + 1]]) as usize;
                        cmd.ne = Some(if le == 0 { EXTENDED_MAX } else { le });
                    } else {
                        return Err(Error::MalformedApdu("extended Lc does not match the body"));
                    }
                }
            }
            // Case 3S / 4S.
            [lc, rest @ ..] => {
                let n = *lc as usize;
                if n == 0 {
                    return Err(Error::MalformedApdu("short Lc of zero"));
                }
                if rest.len() == n {
                    cmd.data = Zeroizing::new(rest.to_vec());
                } else if rest.len() == n + 1 {
                    cmd.data = Zeroizing::new(rest[..n].to_vec());
                    let le = rest[n];
                    cmd.ne = Some(if le == 0 { SHORT_MAX_NE } else { le as usize });
                } else {
                    return Err(Error::MalformedApdu("Lc does not match the body"));
                }
            }
        }
        Ok(cmd)
    }

    /// True if CLA announces that more commands of a chain follow (b5 = 1, ISO 7816-4 §5.4.1).
    pub fn is_chained(&self) -> bool {
        self.cla & 0x10 != 0
    }
}

/// A response APDU: data field and status word (ISO 7816-4 §5.1).
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data field.
    pub data: Vec<u8>,
    /// SW1-SW2.
    pub sw: StatusWord,
}

impl core::fmt::Debug for Response {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Response({} data bytes, {})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Builds a response.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Response { data, sw }
    }
    /// Parses `data ‖ SW1 SW2`; fails on fewer than two bytes.
    pub fn parse(bytes: &[u8]) -> Result<Response> {
        if bytes.len() < 2 {
            return Err(Error::MalformedApdu("response shorter than the status word"));
        }
        let (data, sw) = bytes.split_at(bytes.len() - 2);
        Ok(Response { data: data.to_vec(), sw: StatusWord::new(sw[0], sw[1]) })
    }
    /// Encodes `data ‖ SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&[self.sw.sw1(), self.sw.sw2()]);
        out
    }
    /// The data field if the status word is `90 00`, otherwise the typed error.
    pub fn into_data(self) -> Result<Vec<u8>> {
        self.sw.check()?;
        Ok(self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cmd: Command) -> Vec<u8> {
        let bytes = cmd.to_bytes().unwrap().to_vec();
        assert_eq!(Command::parse(&bytes).unwrap(), cmd);
        bytes
    }

    #[test]
    fn encodes_the_four_short_cases() {
        assert_eq!(round_trip(Command::new(0, 0xA4, 0, 0x0C)), [0, 0xA4, 0, 0x0C]);
        assert_eq!(round_trip(Command::new(0, 0xB0, 0, 0).expect(256)), [0, 0xB0, 0, 0, 0]);
        assert_eq!(round_trip(Command::new(0, 0x20, 0, 0x80).with_data(vec![1, 2])), [0, 0x20, 0, 0x80, 2, 1, 2]);
        assert_eq!(
            round_trip(Command::new(0, 0xCB, 0x3F, 0xFF).with_data(vec![0x5C]).expect(10)),
            [0, 0xCB, 0x3F, 0xFF, 1, 0x5C, 10]
        );
    }

    #[test]
    fn encodes_extended_cases() {
        let b = round_trip(Command::new(0, 0xB0, 0, 0).expect(65_536));
        assert_eq!(b, [0, 0xB0, 0, 0, 0, 0, 0]);
        let b = round_trip(Command::new(0, 0x87, 7, 0x9A).with_data(vec![0xAB; 300]));
        assert_eq!(&b[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(b.len(), 7 + 300);
        let b = round_trip(Command::new(0, 0x87, 7, 0x9A).with_data(vec![0xAB; 300]).expect(512));
        assert_eq!(&b[b.len() - 2..], &[0x02, 0x00]);
        let b = round_trip(Command::new(0, 0x2A, 0x9E, 0x9A).with_data(vec![1; 4]).expect(300));
        assert_eq!(&b[4..7], &[0, 0, 4]);
    }

    #[test]
    fn rejects_malformed_commands() {
        assert!(Command::parse(&[0, 0xA4, 0]).is_err());
        assert!(Command::parse(&[0, 0xA4, 0, 0, 5, 1, 2]).is_err());
        assert!(Command::parse(&[0, 0xA4, 0, 0, 0, 0, 3, 1]).is_err());
        assert!(Command::new(0, 0, 0, 0).expect(0).to_bytes().is_err());
    }

    proptest::proptest! {
        /// Any command encodes to bytes that parse back to the same command.
        #[test]
        fn commands_round_trip(
            header in proptest::array::uniform4(proptest::prelude::any::<u8>()),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..700),
            ne in proptest::option::of(1usize..=65_536),
        ) {
            let mut cmd = Command::new(header[0], header[1], header[2], header[3]).with_data(data);
            cmd.ne = ne;
            let bytes = cmd.to_bytes().unwrap();
            proptest::prop_assert_eq!(Command::parse(&bytes).unwrap(), cmd);
        }

        /// The card-side parser never panics, whatever arrives.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            if let Ok(cmd) = Command::parse(&bytes) {
                proptest::prop_assert!(cmd.to_bytes().is_ok());
            }
            let _ = Response::parse(&bytes);
        }
    }

    #[test]
    fn parses_responses() {
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!(r.data, [1, 2]);
        assert!(r.sw.is_ok());
        assert!(Response::parse(&[0x90]).is_err());
        assert_eq!(Response::parse(&[0x6A, 0x82]).unwrap().into_data(), Err(Error::FileNotFound));
    }
}
