//! Reader and card events from `SCardGetStatusChange`, including the PnP
//! pseudo-reader `\\?PnP?\Notification` for readers that come and go (PC/SC part 5
//! §3.1.6; pcsc-lite's `SCardGetStatusChange`). No polling loop: the thread blocks
//! in PC/SC until something changes or [`ReaderMonitor::stop`] cancels it.

use crate::error::{Error, Result};
use crate::pcsc_transport::{list_readers_in, map_pcsc_error};
use pcsc::{Context, ReaderState, Scope, State, PNP_NOTIFICATION};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Something that happened to a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReaderEvent {
    /// A reader appeared (also sent for every reader present at start).
    ReaderAdded(String),
    /// A reader disappeared.
    ReaderRemoved(String),
    /// A card is in the reader (also sent for cards present at start).
    CardInserted {
        /// Reader name.
        reader: String,
        /// The card's ATR.
        atr: Vec<u8>,
    },
    /// The card left the reader.
    CardRemoved {
        /// Reader name.
        reader: String,
    },
    /// The PC/SC service went away; the monitor has stopped.
    ServiceLost(String),
}

/// A background thread that reports [`ReaderEvent`]s.
pub struct ReaderMonitor {
    ctx: Context,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReaderMonitor {
    /// Starts watching; events arrive on the returned receiver.
    pub fn start() -> Result<(ReaderMonitor, Receiver<ReaderEvent>)> {
        let ctx = Context::establish(Scope::User).map_err(map_pcsc_error)?;
        let (tx, rx) = channel();
        let thread_ctx = ctx.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mohur-reader-events".into())
            .spawn(move || watch(thread_ctx, &thread_stop, tx))
            .map_err(Error::from)?;
        Ok((ReaderMonitor { ctx, stop, thread: Some(thread) }, rx))
    }

    /// Stops the thread (cancels the blocking `SCardGetStatusChange`).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // SCardCancel only wakes a call already waiting: repeat it until the
            // thread has seen the flag, so a cancel that lands between two calls is
            // not lost.
            while !t.is_finished() {
                let _ = self.ctx.cancel();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let _ = t.join();
        }
    }
}

impl Drop for ReaderMonitor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// pcsc-lite accepts at most 16 reader states per `SCardGetStatusChange`
/// (`PCSCLITE_MAX_READERS_CONTEXTS`), the PnP pseudo-reader included.
const MAX_READER_STATES: usize = 16;

fn watch(ctx: Context, stop: &AtomicBool, tx: Sender<ReaderEvent>) {
    if let Err(e) = watch_loop(&ctx, stop, &tx) {
        let _ = tx.send(ReaderEvent::ServiceLost(e.to_string()));
    }
}

fn watch_loop(ctx: &Context, stop: &AtomicBool, tx: &Sender<ReaderEvent>) -> Result<()> {
    let mut states = vec![ReaderState::new(PNP_NOTIFICATION(), State::UNAWARE)];
    // Reader name -> ATR of the card in it, if any.
    let mut cards: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut relist = true;
    loop {
        if relist {
            let names = list_readers_in(ctx)?;
            for gone in cards.keys().filter(|k| !names.contains(k)).cloned().collect::<Vec<_>>() {
                if let Some(Some(_)) = cards.remove(&gone) {
                    send(tx, ReaderEvent::CardRemoved { reader: gone.clone() })?;
                }
                send(tx, ReaderEvent::ReaderRemoved(gone.clone()))?;
                states.retain(|s| s.name().to_string_lossy() != gone);
            }
            for name in names {
                if !cards.contains_key(&name) && states.len() >= MAX_READER_STATES {
                    tracing::warn!(reader = %name, "too many readers for one SCardGetStatusChange; not watched");
                    continue;
                }
                if !cards.contains_key(&name) {
                    send(tx, ReaderEvent::ReaderAdded(name.clone()))?;
                    cards.insert(name.clone(), None);
                    let c = CString::new(name).map_err(|_| Error::Pcsc("reader name with NUL".into()))?;
                    states.push(ReaderState::new(c, State::UNAWARE));
                }
            }
            relist = false;
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        match ctx.get_status_change(None, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Cancelled) => continue,
            Err(pcsc::Error::UnknownReader) => {
                relist = true;
                continue;
            }
            Err(e) => return Err(map_pcsc_error(e)),
        }
        for s in &mut states {
            let changed = s.event_state().contains(State::CHANGED);
            let name = s.name().to_string_lossy().into_owned();
            if s.name() == PNP_NOTIFICATION() {
                relist |= changed;
            } else if s.event_state().intersects(State::UNKNOWN | State::IGNORE) {
                relist = true;
            } else if let Some(card) = cards.get_mut(&name) {
                let present = s.event_state().contains(State::PRESENT);
                match (card.is_some(), present) {
                    (false, true) => {
                        *card = Some(s.atr().to_vec());
                        send(tx, ReaderEvent::CardInserted { reader: name, atr: s.atr().to_vec() })?;
                    }
                    (true, false) => {
                        *card = None;
                        send(tx, ReaderEvent::CardRemoved { reader: name })?;
                    }
                    _ => {}
                }
            }
            s.sync_current_state();
        }
    }
}

fn send(tx: &Sender<ReaderEvent>, ev: ReaderEvent) -> Result<()> {
    tracing::debug!(?ev, "reader event");
    // A dropped receiver means nobody listens any more: stop quietly.
    tx.send(ev).map_err(|_| Error::Io("event receiver dropped".into()))
}
