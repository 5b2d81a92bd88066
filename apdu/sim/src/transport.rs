//! The simulator as an in-process [`Transport`], for unit tests and the demo.

use crate::vpcd::SimHandle;
use crate::SimCard;
use mohur_apdu::transport::{Channel, RawChannel, Transport};
use std::sync::{Arc, Mutex};

/// A direct connection to a [`SimCard`] (no pcscd in between).
pub struct SimTransport {
    card: Arc<Mutex<SimCard>>,
    atr: Vec<u8>,
    present: Option<SimHandle>,
    generation: u64,
}

impl SimTransport {
    /// Wraps a card.
    pub fn new(card: SimCard) -> Self {
        let atr = card.atr().to_vec();
        SimTransport { card: Arc::new(Mutex::new(card)), atr, present: None, generation: 0 }
    }

    /// Shares the card of a running vpcd simulator (pulls are seen as removals).
    pub fn attach(handle: &SimHandle) -> Self {
        let card = handle.card();
        let atr = card.lock().map(|c| c.atr().to_vec()).unwrap_or_default();
        SimTransport { card, atr, present: Some(handle.clone()), generation: 0 }
    }

    /// The shared card.
    pub fn card(&self) -> Arc<Mutex<SimCard>> {
        self.card.clone()
    }
}

/// The card, locked for the length of one transaction.
struct Locked<'a> {
    card: std::sync::MutexGuard<'a, SimCard>,
    present: Option<&'a SimHandle>,
}

impl RawChannel for Locked<'_> {
    fn transmit_raw(&mut self, capdu: &[u8]) -> mohur_apdu::Result<Vec<u8>> {
        if self.present.is_some_and(|h| !h.is_inserted()) {
            return Err(mohur_apdu::Error::CardRemoved);
        }
        Ok(self.card.process(capdu))
    }
}

impl RawChannel for SimTransport {
    fn transmit_raw(&mut self, capdu: &[u8]) -> mohur_apdu::Result<Vec<u8>> {
        let card = self.card.lock().map_err(|_| mohur_apdu::Error::Io("simulator lock poisoned".into()))?;
        Locked { card, present: self.present.as_ref() }.transmit_raw(capdu)
    }
}

impl Transport for SimTransport {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut Channel<'_>) -> mohur_apdu::Result<()>,
    ) -> mohur_apdu::Result<()> {
        let extended = mohur_apdu::atr::supports_extended_length(&self.atr);
        let card = self.card.lock().map_err(|_| mohur_apdu::Error::Io("simulator lock poisoned".into()))?;
        let mut raw = Locked { card, present: self.present.as_ref() };
        let mut ch = Channel::new(&mut raw, extended).with_generation(self.generation);
        body(&mut ch)
    }

    fn reset(&mut self) -> mohur_apdu::Result<()> {
        self.card.lock().map_err(|_| mohur_apdu::Error::Io("simulator lock poisoned".into()))?.reset();
        self.generation += 1;
        Ok(())
    }
}
