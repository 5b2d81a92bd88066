//! The [`Transport`] trait and the [`Channel`] every card driver talks through.
//!
//! A transport moves raw APDU bytes. The channel adds what ISO 7816-4 makes the
//! interface device's business, so drivers never see it:
//! - `61 xx`: fetch the rest with GET RESPONSE (§5.3.4 / §7.6.1);
//! - `6C xx`: resend the same command with Le = `xx` (§5.6.1);
//! - command chaining (§5.4.1, CLA b5) for data fields too long for one short APDU.

use crate::apdu::{Command, Response, SHORT_MAX_NC};
use crate::error::{Error, Result};
use crate::sw::StatusWord;

/// Anything that can exchange one raw APDU with a card.
pub trait RawChannel {
    /// Sends one encoded command APDU and returns the encoded response (`data ‖ SW`).
    fn transmit_raw(&mut self, capdu: &[u8]) -> Result<Vec<u8>>;
}

/// A connection to one card.
pub trait Transport: RawChannel + Send {
    /// The card's answer to reset.
    fn atr(&self) -> &[u8];
    /// Runs `body` with exclusive access to the card (a PC/SC transaction), so that
    /// no other application interleaves APDUs or resets the card in between.
    /// The [`Channel`] it passes carries the current [`Channel::reset_generation`].
    fn transaction(&mut self, body: &mut dyn FnMut(&mut Channel<'_>) -> Result<()>) -> Result<()>;
    /// Warm-resets the card (ISO 7816-3 §6.2.2): every security status it holds (a
    /// verified PIN) is gone, and the reset generation moves on so that drivers
    /// select their application again. For cards that have no command to end a PIN's
    /// security status. The default says the transport cannot.
    fn reset(&mut self) -> Result<()> {
        Err(crate::Error::Unsupported("this transport cannot reset the card"))
    }
}

/// Runs `f` on a [`Channel`] inside one transaction of `transport`.
pub fn transact<R>(transport: &mut dyn Transport, f: impl FnOnce(&mut Channel<'_>) -> Result<R>) -> Result<R> {
    let mut f = Some(f);
    let mut out = None;
    transport.transaction(&mut |ch| {
        if let Some(f) = f.take() {
            out = Some(f(ch)?);
        }
        Ok(())
    })?;
    out.ok_or(Error::UnexpectedResponse("transaction body did not run"))
}

/// A channel to a card with GET RESPONSE, `6Cxx` and command chaining handled.
pub struct Channel<'a> {
    raw: &'a mut dyn RawChannel,
    extended: bool,
    generation: u64,
    apdus: u32,
}

/// The most GET RESPONSE rounds accepted before declaring the card broken.
const MAX_GET_RESPONSE: usize = 256;

impl<'a> Channel<'a> {
    /// A channel over `raw`; `extended` allows extended-length APDUs.
    pub fn new(raw: &'a mut dyn RawChannel, extended: bool) -> Self {
        Channel { raw, extended, generation: 0, apdus: 0 }
    }

    /// Sets the reset generation the transport reports (see [`Channel::reset_generation`]).
    pub fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Counts how often the card was reset under us. Drivers compare it to decide
    /// whether their application is still selected and their PIN still verified.
    pub fn reset_generation(&self) -> u64 {
        self.generation
    }

    /// True if extended-length APDUs may be sent (ISO 7816-4 §5.1).
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// How many raw APDUs this channel has sent.
    pub fn apdu_count(&self) -> u32 {
        self.apdus
    }

    fn exchange(&mut self, cmd: &Command) -> Result<Response> {
        let bytes = cmd.to_bytes()?;
        self.apdus += 1;
        let resp = self.raw.transmit_raw(&bytes)?;
        Response::parse(&resp)
    }

    /// Sends `cmd` and returns the complete response, whatever its status word.
    pub fn transmit(&mut self, cmd: &Command) -> Result<Response> {
        let nc = cmd.data.len();
        let last = if nc > SHORT_MAX_NC && !self.extended {
            // Command chaining: every block but the last has CLA b5 set and no Le.
            let mut chunks = cmd.data.chunks(SHORT_MAX_NC).peekable();
            let mut last = None;
            while let Some(chunk) = chunks.next() {
                let mut part = Command::new(cmd.cla, cmd.ins, cmd.p1, cmd.p2).with_data(chunk.to_vec());
                if chunks.peek().is_some() {
                    part.cla |= 0x10;
                    let r = self.exchange(&part)?;
                    if !r.sw.is_ok() {
                        return Ok(r);
                    }
                } else {
                    part.ne = cmd.ne.map(|ne| ne.min(256));
                    last = Some(part);
                }
            }
            last.ok_or(Error::MalformedApdu("empty chain"))?
        } else if !self.extended && cmd.ne.is_some_and(|ne| ne > 256) {
            let mut c = cmd.clone();
            c.ne = Some(256);
            c
        } else {
            cmd.clone()
        };
        let mut resp = self.exchange(&last)?;
        if let Some(exact) = resp.sw.exact_length() {
            let mut again = last.clone();
            again.ne = Some(if exact == 0 { 256 } else { exact as usize });
            resp = self.exchange(&again)?;
        }
        let mut data = std::mem::take(&mut resp.data);
        let mut rounds = 0;
        while let Some(avail) = resp.sw.bytes_available() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE {
                return Err(Error::UnexpectedResponse("endless GET RESPONSE"));
            }
            let ne = if avail == 0 { 256 } else { avail as usize };
            let get = Command::new(cmd.cla & !0x10, 0xC0, 0, 0).expect(ne);
            resp = self.exchange(&get)?;
            data.extend_from_slice(&resp.data);
        }
        Ok(Response { data, sw: resp.sw })
    }

    /// Sends `cmd` and returns the data of a `90 00` answer, else the typed error.
    pub fn call(&mut self, cmd: &Command) -> Result<Vec<u8>> {
        self.transmit(cmd)?.into_data()
    }

    /// Sends `cmd` and returns just its status word.
    pub fn status(&mut self, cmd: &Command) -> Result<StatusWord> {
        Ok(self.transmit(cmd)?.sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A scripted card: checks each expected command and plays back answers.
    struct Script(VecDeque<(Vec<u8>, Vec<u8>)>);

    impl RawChannel for Script {
        fn transmit_raw(&mut self, capdu: &[u8]) -> Result<Vec<u8>> {
            let (want, answer) = self.0.pop_front().expect("unexpected extra APDU");
            assert_eq!(capdu, &want[..]);
            Ok(answer)
        }
    }

    #[test]
    fn follows_61xx_with_get_response() {
        let mut s = Script(VecDeque::from(vec![
            (vec![0, 0xCB, 0x3F, 0xFF, 1, 0x5C, 0], [vec![1; 256], vec![0x61, 0x10]].concat()),
            (vec![0, 0xC0, 0, 0, 0x10], [vec![2; 16], vec![0x90, 0]].concat()),
        ]));
        let mut ch = Channel::new(&mut s, false);
        let r = ch.transmit(&Command::new(0, 0xCB, 0x3F, 0xFF).with_data(vec![0x5C]).expect(256)).unwrap();
        assert_eq!(r.data.len(), 272);
        assert!(r.sw.is_ok());
        assert_eq!(ch.apdu_count(), 2);
        assert!(s.0.is_empty());
    }

    #[test]
    fn resends_on_6cxx() {
        let mut s = Script(VecDeque::from(vec![
            (vec![0, 0xB0, 0, 0, 0], vec![0x6C, 0x05]),
            (vec![0, 0xB0, 0, 0, 5], vec![1, 2, 3, 4, 5, 0x90, 0]),
        ]));
        let data = Channel::new(&mut s, false).call(&Command::new(0, 0xB0, 0, 0).expect(256)).unwrap();
        assert_eq!(data, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn chains_long_commands() {
        let payload: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        let mut s = Script(VecDeque::from(vec![
            ([vec![0x10, 0x87, 7, 0x9A, 255], payload[..255].to_vec()].concat(), vec![0x90, 0]),
            ([vec![0x00, 0x87, 7, 0x9A, 45], payload[255..].to_vec(), vec![0]].concat(), vec![9, 0x90, 0]),
        ]));
        let cmd = Command::new(0, 0x87, 7, 0x9A).with_data(payload.clone()).expect(256);
        assert_eq!(Channel::new(&mut s, false).call(&cmd).unwrap(), [9]);
        // With extended length the same command is one APDU.
        let mut s = Script(VecDeque::from(vec![(cmd.to_bytes().unwrap().to_vec(), vec![9, 0x90, 0])]));
        assert_eq!(Channel::new(&mut s, true).call(&cmd).unwrap(), [9]);
    }

    #[test]
    fn stops_a_chain_on_error() {
        let mut s =
            Script(VecDeque::from(vec![([vec![0x10, 0x87, 7, 0x9A, 255], vec![0; 255]].concat(), vec![0x68, 0x84])]));
        let cmd = Command::new(0, 0x87, 7, 0x9A).with_data(vec![0; 300]);
        assert_eq!(Channel::new(&mut s, false).status(&cmd).unwrap(), StatusWord::CHAINING_NOT_SUPPORTED);
    }
}
