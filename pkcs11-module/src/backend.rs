//! Where cards come from. The module asks a [`Backend`] for readers and cards, so
//! the PC/SC card layer can be swapped (tests, other transports).

use mohur_apdu::pcsc_transport::{list_readers, map_pcsc_error, PcscTransport};
use mohur_apdu::{Result, SmartCard};
use std::ffi::CString;
use std::time::Duration;

/// Readers and the cards in them.
pub trait Backend: Send + Sync {
    /// Names of the readers that exist now.
    fn readers(&self) -> Result<Vec<String>>;
    /// True if a card is in `reader` (without talking to the card).
    fn card_present(&self, reader: &str) -> Result<bool>;
    /// Opens the card in `reader` with mohur's drivers.
    fn open(&self, reader: &str) -> Result<Box<dyn SmartCard>>;
}

/// PC/SC through `mohur_apdu`'s transport and drivers.
#[derive(Debug, Default)]
pub struct PcscBackend;

impl Backend for PcscBackend {
    /// The readers the configuration's allow-list lets through ([`crate::config`]).
    fn readers(&self) -> Result<Vec<String>> {
        Ok(list_readers()?.into_iter().filter(|r| crate::config::reader_allowed(r)).collect())
    }

    fn card_present(&self, reader: &str) -> Result<bool> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(map_pcsc_error)?;
        let name = CString::new(reader).map_err(|_| mohur_apdu::Error::ReaderNotFound(reader.into()))?;
        let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
        ctx.get_status_change(Duration::ZERO, &mut states).map_err(map_pcsc_error)?;
        let ev = states[0].event_state();
        Ok(ev.contains(pcsc::State::PRESENT) && !ev.contains(pcsc::State::MUTE))
    }

    fn open(&self, reader: &str) -> Result<Box<dyn SmartCard>> {
        mohur_apdu::open(Box::new(PcscTransport::connect(reader)?))
    }
}
