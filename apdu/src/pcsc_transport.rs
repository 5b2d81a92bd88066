//! PC/SC readers through the `pcsc` crate (PC/SC part 5; pcsc-lite and WinSCard).

use crate::atr;
use crate::error::{Error, Result};
use crate::transport::{Channel, RawChannel, Transport};
use pcsc::{Context, Disposition, Protocols, Scope, ShareMode};
use std::ffi::CString;

/// Maps a PC/SC failure to the crate error.
pub fn map_pcsc_error(e: pcsc::Error) -> Error {
    use pcsc::Error as P;
    match e {
        P::RemovedCard => Error::CardRemoved,
        P::NoSmartcard => Error::NoCard,
        P::ResetCard => Error::CardReset,
        // pcsc-lite answers SCardTransmit with SCARD_E_NOT_TRANSACTED when the reader
        // driver could not reach the card (IFD_COMMUNICATION_ERROR): the card is gone.
        P::NotTransacted | P::CommError | P::UnresponsiveCard => Error::CardMute,
        P::UnknownReader | P::ReaderUnavailable => Error::ReaderNotFound(e.to_string()),
        P::NoService | P::ServiceStopped | P::NoReadersAvailable | P::Shutdown => Error::NoService(e.to_string()),
        other => Error::Pcsc(other.to_string()),
    }
}

/// Names of the readers PC/SC knows (empty when there are none).
pub fn list_readers() -> Result<Vec<String>> {
    let ctx = Context::establish(Scope::User).map_err(map_pcsc_error)?;
    list_readers_in(&ctx)
}

/// Names of the readers of an established context.
pub fn list_readers_in(ctx: &Context) -> Result<Vec<String>> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names.into_iter().map(|n| n.to_string_lossy().into_owned()).collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_pcsc_error(e)),
    }
}

/// A shared connection to the card in one PC/SC reader.
pub struct PcscTransport {
    // The context must outlive the card handle.
    /// Always `Some` until dropped (taken by `Drop` to disconnect).
    card: Option<pcsc::Card>,
    _ctx: Context,
    reader: String,
    atr: Vec<u8>,
    generation: u64,
    extended: bool,
}

impl PcscTransport {
    /// Connects in shared mode (other applications may use the card between our
    /// transactions) with T=0 or T=1.
    pub fn connect(reader: &str) -> Result<PcscTransport> {
        let ctx = Context::establish(Scope::User).map_err(map_pcsc_error)?;
        let name = CString::new(reader).map_err(|_| Error::ReaderNotFound(reader.into()))?;
        let card = ctx.connect(&name, ShareMode::Shared, Protocols::ANY).map_err(|e| match e {
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => Error::NoCard,
            other => map_pcsc_error(other),
        })?;
        let status = card.status2_owned().map_err(map_pcsc_error)?;
        let atr = status.atr().to_vec();
        let extended = atr::supports_extended_length(&atr);
        tracing::debug!(reader, atr = %crate::card::hex(&atr), extended, "connected");
        Ok(PcscTransport { card: Some(card), _ctx: ctx, reader: reader.to_owned(), atr, generation: 0, extended })
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    fn reconnect_after_reset(card: &mut pcsc::Card, generation: &mut u64) -> Result<()> {
        tracing::info!("card was reset by another application; reconnecting");
        card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard).map_err(map_pcsc_error)?;
        *generation += 1;
        Ok(())
    }
}

/// Receive buffer large enough for an extended response (65 536 + SW).
const MAX_RESPONSE: usize = 65_538;

fn transmit(card: &pcsc::Card, capdu: &[u8]) -> Result<Vec<u8>> {
    let r = transmit_pcsc(card, capdu).map_err(map_pcsc_error)?;
    if r.len() < 2 {
        // Some readers (vpcd) give an empty answer when the card vanishes mid-command.
        return Err(Error::CardMute);
    }
    Ok(r)
}

fn transmit_pcsc(card: &pcsc::Card, capdu: &[u8]) -> std::result::Result<Vec<u8>, pcsc::Error> {
    let mut buf = vec![0u8; MAX_RESPONSE];
    let n = card.transmit(capdu, &mut buf)?.len();
    buf.truncate(n);
    if n < 2 {
        // A card that vanishes mid-command can leave an empty answer: if PC/SC
        // already knows it is gone, say so.
        let status = card.status2_owned()?;
        if status.status().contains(pcsc::Status::ABSENT) {
            return Err(pcsc::Error::RemovedCard);
        }
    }
    Ok(buf)
}

impl Drop for PcscTransport {
    /// Disconnects leaving the card as it is. A reset here would also clear a PIN
    /// verified through this handle, but pcscd wedges the reader when it is asked to
    /// reset a card that is leaving at that moment (the next card is not seen for
    /// tens of seconds): drivers log out explicitly instead (`SmartCard::logout`).
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            let _ = card.disconnect(Disposition::LeaveCard);
        }
    }
}

impl RawChannel for PcscTransport {
    fn transmit_raw(&mut self, capdu: &[u8]) -> Result<Vec<u8>> {
        let card = self.card.as_mut().ok_or(Error::CardRemoved)?;
        match transmit(card, capdu) {
            Err(Error::CardReset) => {
                Self::reconnect_after_reset(card, &mut self.generation)?;
                Err(Error::CardReset)
            }
            other => other,
        }
    }
}

/// The card handle inside a running PC/SC transaction.
struct InTransaction<'a>(&'a pcsc::Card);

impl RawChannel for InTransaction<'_> {
    fn transmit_raw(&mut self, capdu: &[u8]) -> Result<Vec<u8>> {
        transmit(self.0, capdu)
    }
}

impl Transport for PcscTransport {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// `SCardBeginTransaction` … `SCardEndTransaction(LEAVE_CARD)`. A reset by
    /// another application is noticed here, before any of our APDUs: we reconnect,
    /// bump the reset generation (so drivers re-select) and start again.
    /// `SCardReconnect` with `SCARD_RESET_CARD` (PC/SC part 5 §3.1.4): a warm reset.
    /// Only for a card that is present: asking pcscd to reset a card that is leaving
    /// wedges a vpcd reader, so a failure here is reported, not retried.
    fn reset(&mut self) -> Result<()> {
        let card = self.card.as_mut().ok_or(Error::CardRemoved)?;
        card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard).map_err(map_pcsc_error)?;
        self.generation += 1;
        Ok(())
    }

    fn transaction(&mut self, body: &mut dyn FnMut(&mut Channel<'_>) -> Result<()>) -> Result<()> {
        let PcscTransport { card, generation, extended, .. } = self;
        let card = card.as_mut().ok_or(Error::CardRemoved)?;
        for _ in 0..3 {
            let result = match card.transaction2() {
                Ok(tx) => {
                    let mut raw = InTransaction(&tx);
                    let mut ch = Channel::new(&mut raw, *extended).with_generation(*generation);
                    let result = body(&mut ch);
                    if let Err((_, e)) = tx.end(Disposition::LeaveCard) {
                        tracing::debug!(error = %e, "end of transaction failed");
                    }
                    result
                }
                Err((card, pcsc::Error::ResetCard)) => {
                    Self::reconnect_after_reset(card, generation)?;
                    continue;
                }
                Err((_, e)) => return Err(map_pcsc_error(e)),
            };
            if result == Err(Error::CardReset) {
                Self::reconnect_after_reset(card, generation)?;
            }
            return result;
        }
        Err(Error::CardReset)
    }
}
