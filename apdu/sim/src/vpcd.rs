//! The card side of vsmartcard's vpcd protocol: the simulator connects to the
//! vpcd reader driver loaded in pcscd (TCP, 127.0.0.1, one port per reader) and
//! answers it. Every message both ways is `u16 big-endian length ‖ payload`; a
//! one-byte payload from vpcd is a control code (`00` power off, `01` power on,
//! `02` reset, `04` get ATR); anything else is a C-APDU. Closing the connection
//! removes the card; connecting again inserts it.

use crate::SimCard;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Control codes from vpcd.
const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

#[derive(Default)]
struct Control {
    inserted: bool,
    connected: bool,
    stop: bool,
    /// Drop the connection, unanswered, when a command with this INS arrives.
    pull_on_ins: Option<u8>,
    /// Connections made so far.
    insertions: u64,
}

struct Shared {
    card: Arc<Mutex<SimCard>>,
    control: Mutex<Control>,
    changed: Condvar,
    stream: Mutex<Option<TcpStream>>,
    port: u16,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A simulated card plugged into a vpcd reader, served by a background thread.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

/// Alias kept for readers of the protocol description.
pub type VpcdConnection = SimHandle;

impl SimHandle {
    /// Plugs `card` into the vpcd reader listening on 127.0.0.1:`port` (inserted).
    pub fn spawn(card: SimCard, port: u16) -> SimHandle {
        let shared = Arc::new(Shared {
            card: Arc::new(Mutex::new(card)),
            control: Mutex::new(Control { inserted: true, ..Control::default() }),
            changed: Condvar::new(),
            stream: Mutex::new(None),
            port,
        });
        let worker = shared.clone();
        let thread =
            std::thread::Builder::new().name(format!("mohur-card-sim-{port}")).spawn(move || run(&worker)).ok();
        SimHandle { shared, thread: Arc::new(Mutex::new(thread)) }
    }

    /// The card (shared with the serving thread).
    pub fn card(&self) -> Arc<Mutex<SimCard>> {
        self.shared.card.clone()
    }

    /// The vpcd port.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// True while the card is meant to be in the reader.
    pub fn is_inserted(&self) -> bool {
        self.shared.control().inserted
    }

    /// True while connected to vpcd.
    pub fn is_connected(&self) -> bool {
        self.shared.control().connected
    }

    /// Number of times the card has been connected to vpcd.
    pub fn insertions(&self) -> u64 {
        self.shared.control().insertions
    }

    /// Waits until the card is connected to vpcd (pcscd may need a moment more to
    /// power it up).
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut c = self.shared.control();
        while !c.connected {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            c = self.shared.changed.wait_timeout(c, deadline - now).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
        }
        true
    }

    /// Pulls the card out of the reader now.
    pub fn pull(&self) {
        self.shared.control().inserted = false;
        self.drop_connection();
        self.shared.changed.notify_all();
    }

    /// Puts the card back.
    pub fn insert(&self) {
        let mut c = self.shared.control();
        c.inserted = true;
        c.pull_on_ins = None;
        drop(c);
        self.shared.changed.notify_all();
    }

    /// Pulls the card when the next command with instruction `ins` arrives, before
    /// answering it (a card yanked mid-operation).
    pub fn pull_on_ins(&self, ins: u8) {
        self.shared.control().pull_on_ins = Some(ins);
    }

    /// Unplugs the card and stops the thread.
    pub fn stop(&self) {
        self.shared.control().stop = true;
        self.pull();
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }

    fn drop_connection(&self) {
        if let Some(s) = self.shared.stream.lock().ok().and_then(|mut s| s.take()) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn run(shared: &Shared) {
    loop {
        {
            let mut c = shared.control();
            while !c.inserted && !c.stop {
                c = shared.changed.wait(c).unwrap_or_else(|p| p.into_inner());
            }
            if c.stop {
                return;
            }
        }
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, shared.port);
        let stream = match TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(port = shared.port, error = %e, "vpcd not reachable yet");
                let c = shared.control();
                let _ = shared.changed.wait_timeout(c, Duration::from_millis(50));
                continue;
            }
        };
        // vpcd writes the length and the payload separately: without these every
        // APDU waits for a delayed ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        set_quickack(&stream);
        if let (Ok(clone), Ok(mut slot)) = (stream.try_clone(), shared.stream.lock()) {
            *slot = Some(clone);
        }
        {
            let mut c = shared.control();
            c.connected = true;
            c.insertions += 1;
        }
        shared.changed.notify_all();
        tracing::info!(port = shared.port, "card inserted");
        if let Err(e) = serve(shared, stream) {
            tracing::debug!(error = %e, "vpcd connection ended");
        }
        if let Ok(mut s) = shared.stream.lock() {
            *s = None;
        }
        if let Ok(mut card) = shared.card.lock() {
            card.reset();
        }
        shared.control().connected = false;
        shared.changed.notify_all();
        tracing::info!(port = shared.port, "card removed");
        // vpcd closed on us without a pull: wait a little and plug in again.
        let c = shared.control();
        let _ = shared.changed.wait_timeout(c, Duration::from_millis(50));
    }
}

fn serve(shared: &Shared, mut stream: TcpStream) -> io::Result<()> {
    let mut len = [0u8; 2];
    loop {
        set_quickack(&stream);
        stream.read_exact(&mut len)?;
        let n = u16::from_be_bytes(len) as usize;
        let mut msg = vec![0u8; n];
        stream.read_exact(&mut msg)?;
        let reply = match msg.as_slice() {
            [POWER_OFF] | [POWER_ON] | [RESET] => {
                lock(shared)?.reset();
                continue;
            }
            [GET_ATR] => lock(shared)?.atr().to_vec(),
            [_] => continue,
            apdu => {
                {
                    let mut c = shared.control();
                    if c.pull_on_ins.is_some() && apdu.get(1).copied() == c.pull_on_ins {
                        c.pull_on_ins = None;
                        c.inserted = false;
                        drop(c);
                        let _ = stream.shutdown(Shutdown::Both);
                        return Ok(());
                    }
                    if !c.inserted {
                        return Ok(());
                    }
                }
                lock(shared)?.process(apdu)
            }
        };
        let mut frame = Vec::with_capacity(reply.len() + 2);
        frame.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        frame.extend_from_slice(&reply);
        stream.write_all(&frame)?;
    }
}

fn lock(shared: &Shared) -> io::Result<MutexGuard<'_, SimCard>> {
    shared.card.lock().map_err(|_| io::Error::other("card lock poisoned"))
}

#[cfg(target_os = "linux")]
fn set_quickack(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn set_quickack(_stream: &TcpStream) {}
