//! C_WaitForSlotEvent (PKCS#11 v2.40 §5.5): card insertions and removals seen by
//! PC/SC `SCardGetStatusChange` on the known readers.
//!
//! An event is a slot whose token presence differs from what an earlier call (or
//! the first look at the reader) reported; each call reports one slot and keeps the
//! others for the next calls. A reader that appears after the first look (a reader
//! plugged in, or the PC/SC service coming back) with a card in it is an event too.
//! Without a PC/SC service a blocking call waits for it to come back (polling every
//! [`NO_SERVICE_POLL`]), a non-blocking one says `CKR_NO_EVENT`. C_Finalize cancels
//! blocked calls, which then return `CKR_CRYPTOKI_NOT_INITIALIZED`.

use crate::error::{Ck, Result};
use cryptoki_sys::*;
use mohur_apdu::pcsc_transport::map_pcsc_error;
use pcsc::{Context, ReaderState, Scope, State};
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// pcsc-lite takes at most 16 reader states per call; 15 readers leave room for
/// the PnP pseudo-reader.
const READERS_PER_CALL: usize = 15;
/// How long one blocking call waits before looking for new readers (and, with more
/// than [`READERS_PER_CALL`] readers, before watching the next group).
const SINGLE_GROUP_WAIT: Duration = Duration::from_secs(1);
const GROUP_WAIT: Duration = Duration::from_millis(100);
const RELIST_EVERY: Duration = Duration::from_secs(2);
/// How often a blocking call looks whether the PC/SC service is back.
const NO_SERVICE_POLL: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Events {
    /// Reader name → token presence last reported (or first seen).
    known: HashMap<String, bool>,
    /// The first look is done: readers seen after it start out without a token.
    baseline: bool,
    /// Contexts of blocked calls, for C_Finalize to cancel.
    waiters: HashMap<u64, Context>,
    next_waiter: u64,
}

static EVENTS: Mutex<Option<Events>> = Mutex::new(None);
/// Bumped by C_Finalize: a call that started before gives up.
static EPOCH: AtomicU64 = AtomicU64::new(0);

fn events() -> MutexGuard<'static, Option<Events>> {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner())
}

fn pcsc_err(e: pcsc::Error) -> Ck {
    Ck::from(map_pcsc_error(e))
}

/// Called by C_Finalize: forgets the presence baseline and wakes blocked calls.
pub fn finalize() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
    if let Some(ev) = events().take() {
        for ctx in ev.waiters.values() {
            let _ = ctx.cancel();
        }
    }
}

/// C_WaitForSlotEvent: with `block` false, `CKR_NO_EVENT` when nothing changed.
pub fn wait(block: bool) -> Result<CK_SLOT_ID> {
    let epoch = EPOCH.load(Ordering::SeqCst);
    loop {
        check_epoch(epoch)?;
        let ctx = match Context::establish(Scope::User) {
            Ok(ctx) => ctx,
            Err(e) if is_no_service(&e) => {
                // No service is no reader: the baseline of a first look.
                events().get_or_insert_with(Events::default).baseline = true;
                if !block {
                    return Err(Ck(CKR_NO_EVENT));
                }
                std::thread::sleep(NO_SERVICE_POLL);
                continue;
            }
            Err(e) => return Err(pcsc_err(e)),
        };
        let id = {
            let mut ev = events();
            let ev = ev.get_or_insert_with(Events::default);
            ev.next_waiter += 1;
            ev.waiters.insert(ev.next_waiter, ctx.clone());
            ev.next_waiter
        };
        let r = wait_loop(&ctx, epoch, block);
        if let Some(ev) = events().as_mut() {
            ev.waiters.remove(&id);
        }
        match r {
            // The service went away while we watched: wait for it to come back.
            Ok(None) => {
                if !block {
                    return Err(Ck(CKR_NO_EVENT));
                }
                std::thread::sleep(NO_SERVICE_POLL);
            }
            Ok(Some(slot)) => return Ok(slot),
            Err(e) => return Err(e),
        }
    }
}

fn is_no_service(e: &pcsc::Error) -> bool {
    matches!(e, pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::Shutdown)
}

fn check_epoch(epoch: u64) -> Result<()> {
    if EPOCH.load(Ordering::SeqCst) != epoch || !crate::module::is_initialized() {
        return Err(Ck(CKR_CRYPTOKI_NOT_INITIALIZED));
    }
    Ok(())
}

fn reader_states(names: &[String]) -> Vec<Vec<ReaderState>> {
    let states =
        names.iter().filter_map(|n| CString::new(n.as_str()).ok()).map(|c| ReaderState::new(c, State::UNAWARE));
    let all: Vec<ReaderState> = states.collect();
    let mut groups = Vec::new();
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        groups.push(it.by_ref().take(READERS_PER_CALL).collect());
    }
    groups
}

/// Watches the readers of `ctx`: `Ok(Some(slot))` on an event, `Ok(None)` when the
/// service went away.
fn wait_loop(ctx: &Context, epoch: u64, block: bool) -> Result<Option<CK_SLOT_ID>> {
    loop {
        check_epoch(epoch)?;
        let mut names = match ctx.list_readers_owned() {
            Ok(n) => n.into_iter().map(|n| n.to_string_lossy().into_owned()).collect(),
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) if is_no_service(&e) => return Ok(None),
            Err(e) => return Err(pcsc_err(e)),
        };
        names.retain(|r| crate::config::reader_allowed(r));
        let mut groups = reader_states(&names);
        let timeout = if groups.len() > 1 { GROUP_WAIT } else { SINGLE_GROUP_WAIT };
        let relist_at = Instant::now() + RELIST_EVERY;
        // The first round uses UNAWARE states and returns at once with every reader's state.
        let mut first = true;
        'watch: loop {
            for states in &mut groups {
                check_epoch(epoch)?;
                let t = if first || !block { Duration::ZERO } else { timeout };
                match ctx.get_status_change(t, states) {
                    Ok(()) => {}
                    Err(pcsc::Error::Timeout | pcsc::Error::Cancelled) => continue,
                    Err(pcsc::Error::UnknownReader) => break 'watch,
                    Err(e) if is_no_service(&e) => return Ok(None),
                    Err(e) => return Err(pcsc_err(e)),
                }
                if let Some(slot) = report(states, epoch)? {
                    return Ok(Some(slot));
                }
            }
            if first {
                events().get_or_insert_with(Events::default).baseline = true;
            }
            first = false;
            if groups.is_empty() {
                // No reader to wait on: look for new ones now and then.
                if !block {
                    return Err(Ck(CKR_NO_EVENT));
                }
                std::thread::sleep(SINGLE_GROUP_WAIT);
                break;
            }
            if !block {
                return Err(Ck(CKR_NO_EVENT));
            }
            if Instant::now() >= relist_at {
                break;
            }
        }
    }
}

/// The first reader of `states` whose presence differs from the last reported one;
/// readers seen for the first time set the baseline without an event.
fn report(states: &mut [ReaderState], epoch: u64) -> Result<Option<CK_SLOT_ID>> {
    let mut ev = events();
    check_epoch(epoch)?;
    let ev = ev.get_or_insert_with(Events::default);
    let baseline = ev.baseline;
    let known = &mut ev.known;
    for s in states.iter_mut() {
        let state = s.event_state();
        s.sync_current_state();
        if state.intersects(State::UNKNOWN | State::IGNORE | State::UNAVAILABLE) {
            continue;
        }
        let present = state.contains(State::PRESENT) && !state.contains(State::MUTE);
        let name = s.name().to_string_lossy().into_owned();
        // A reader first seen after the first look had no token before it came.
        let before = known.insert(name.clone(), present).or((baseline).then_some(false));
        match before {
            Some(before) if before != present => {
                tracing::debug!(reader = %name, present, "slot event");
                return Ok(Some(crate::module::slot_id(&name)));
            }
            _ => {}
        }
    }
    Ok(None)
}
