//! One WebSocket connection: reads requests, runs each on a blocking thread, writes
//! responses and token events; enforces the per-connection and agent-wide limits
//! (`agent/PROTOCOL.md` § Limits); cancels what is pending when the socket closes.
//!
//! Every data frame is weighed by its header before its payload is read: a site the
//! citizen has not allowed may send only small messages ([`UNKNOWN_ORIGIN_MESSAGE_BYTES`])
//! and is closed on a bigger one; an allowed one up to `max_message_bytes`, and only
//! while the agent-wide budget of bytes in flight ([`crate::server::budget`]) has room —
//! otherwise the payload is read and dropped and the request gets `BUSY`.

use crate::access::origins::Decision;
use crate::agent::Agent;
use crate::protocol::{self, Connection, Request};
use crate::server::budget::{Reservation, BYTES_PER_FRAME_BYTE};
use crate::server::connections::{BusyGuard, Registered};
use crate::server::websocket::{self, FrameError, FrameHeader, Opcode};
use crate::server::Shared;
use crate::tokens::manager::TokenEvent;
use crate::{Cancel, Error};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Requests pending on one connection before `BUSY`.
pub const MAX_PENDING: usize = 8;
/// Sustained requests per second before `RATE_LIMITED`.
pub const RATE_PER_SECOND: f64 = 50.0;
/// Burst allowance.
pub const BURST: f64 = 100.0;
/// Rate-limited requests (beyond the burst) after which the client is cut off.
pub const CUT_OFF_AFTER: u32 = 4 * BURST as u32;
/// The largest message from a site the citizen has not allowed: what `version`,
/// `status`, `request-access` and `cancel` need. A bigger one closes the connection
/// (1009) before its payload is read.
pub const UNKNOWN_ORIGIN_MESSAGE_BYTES: u64 = 4 * 1024;
/// A message must arrive within this once its first frame header has: a client that
/// trickles a large frame cannot hold its share of the budget for long.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A token bucket (RFC 2697-style single rate).
struct Bucket {
    tokens: f64,
    last: Instant,
    refused: u32,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket { tokens: BURST, last: Instant::now(), refused: 0 }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * RATE_PER_SECOND).min(BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused = 0;
            true
        } else {
            self.refused += 1;
            false
        }
    }
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

/// What the writer task sends.
enum Outgoing {
    Text(String),
    Pong(Vec<u8>),
    /// A close frame, after which the writer stops.
    Close(u16, &'static str),
}

/// A data message being received, frame by frame.
struct Incoming {
    binary: bool,
    len: u64,
    data: Vec<u8>,
    /// Its share of the budget; `None` once refused (or before the first frame).
    reservation: Option<Reservation>,
    /// Over the budget: the payload is dropped, only its first bytes kept.
    refused: bool,
    prefix: Vec<u8>,
    started: Instant,
    _busy: BusyGuard,
}

/// How the reading of one frame ended.
enum Read {
    /// Go on with the next frame.
    Next,
    /// A whole message: its text (or `Err` with the request id when it was dropped).
    Message(Result<(String, Option<Reservation>), Value>),
    /// Close the connection with this code (after sending it).
    Close(u16, &'static str),
    /// The socket is gone.
    Gone,
}

/// Serves one upgraded connection until it closes.
pub async fn run<IO>(shared: Arc<crate::server::Shared>, io: IO, origin: String, registered: Registered)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let agent = shared.agent.clone();
    let (rd, wr) = tokio::io::split(io);
    // Frame headers are read a few bytes at a time: from a buffer, not one system call
    // each (large payloads bypass it).
    let mut rd = tokio::io::BufReader::with_capacity(8 * 1024, rd);
    let (tx, rx) = mpsc::channel::<Outgoing>(256);
    let writer = tokio::spawn(write_loop(wr, rx));
    let allowed = agent.origins.decision(&origin) == Decision::Allowed;
    registered.entry.set_allowed(allowed);
    let hello = json!({"event": "hello", "protocol": protocol::PROTOCOL_VERSION,
        "agent": env!("CARGO_PKG_VERSION"), "originAllowed": allowed});
    let _ = tx.send(Outgoing::Text(hello.to_string())).await;

    let events = tokio::spawn(forward_events(agent.clone(), origin.clone(), tx.clone()));
    let conn = Arc::new(Connection { origin: origin.clone() });
    let pending: Arc<Mutex<HashMap<String, Cancel>>> = Arc::default();
    let mut bucket = Bucket::new();
    let mut message: Option<Incoming> = None;
    tracing::debug!(%origin, "connection opened");

    loop {
        let header = tokio::select! {
            h = websocket::read_header(&mut rd) => h,
            _ = registered.entry.closed_for_room() => {
                let _ = tx.send(Outgoing::Close(1008, "too many connections")).await;
                break;
            }
        };
        let header = match header {
            Ok(h) => h,
            Err(e) => {
                if let Some(code) = e.close_code() {
                    tracing::info!(%origin, error = %e, "closing connection");
                    let _ = tx.send(Outgoing::Close(code, "protocol error")).await;
                }
                break;
            }
        };
        let read = read_frame(&shared, &registered, &origin, &mut rd, header, &mut message, &tx).await;
        let (text, reservation) = match read {
            Read::Next => continue,
            Read::Gone => break,
            Read::Close(code, why) => {
                let _ = tx.send(Outgoing::Close(code, why)).await;
                break;
            }
            Read::Message(Err(id)) => {
                if shared.logged.first(&origin, "budget") {
                    tracing::warn!(%origin, "a request over the agent's budget of bytes in flight got BUSY (logged once per origin)");
                }
                let _ = tx.send(Outgoing::Text(protocol::error_message(&id, &Error::OverBudget))).await;
                continue;
            }
            Read::Message(Ok(m)) => m,
        };
        if !bucket.take() {
            if bucket.refused > CUT_OFF_AFTER {
                tracing::warn!(%origin, "client keeps flooding: disconnecting");
                let _ = tx.send(Outgoing::Close(1008, "too many requests")).await;
                break;
            }
            let _ = tx.send(Outgoing::Text(protocol::error_message(&Value::Null, &Error::RateLimited))).await;
            continue;
        }
        let req = match protocol::parse(&text) {
            Ok(r) => r,
            Err((id, e)) => {
                let _ = tx.send(Outgoing::Text(protocol::error_message(&id, &e))).await;
                continue;
            }
        };
        // The parsed request holds its own copy of everything: the frame goes now.
        drop(text);
        if req.method == "cancel" {
            let reply = cancel_request(&pending, &req);
            let _ = tx.send(Outgoing::Text(reply)).await;
            continue;
        }
        // Requests that need neither the citizen nor the card are answered here, at once.
        if req.method == "version" || (req.method == "status" && agent.origins.decision(&origin) == Decision::Allowed) {
            let reply = match protocol::handle(&agent, &conn, &req, &Cancel::new()) {
                Ok(result) => protocol::result_message(&req.id, result),
                Err(e) => protocol::error_message(&req.id, &e),
            };
            if tx.send(Outgoing::Text(reply)).await.is_err() {
                break;
            }
            continue;
        }
        let key = id_key(&req.id);
        let cancel = Cancel::new();
        {
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            if p.len() >= MAX_PENDING || p.contains_key(&key) {
                let e = if p.len() >= MAX_PENDING {
                    Error::Busy
                } else {
                    Error::BadRequest("a request with this id is pending".into())
                };
                let _ = tx.try_send(Outgoing::Text(protocol::error_message(&req.id, &e)));
                continue;
            }
            p.insert(key.clone(), cancel.clone());
        }
        let busy = registered.entry.busy();
        let (agent, conn, pending, tx, entry) =
            (agent.clone(), conn.clone(), pending.clone(), tx.clone(), registered.entry.clone());
        tokio::spawn(async move {
            let id = req.id.clone();
            let worker_cancel = cancel.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let result = protocol::handle(&agent, &conn, &req, &worker_cancel);
                // The request's data (and its share of the budget) goes with it.
                drop(req);
                drop(reservation);
                (result, agent.origins.decision(&conn.origin) == Decision::Allowed)
            })
            .await;
            pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            let text = match outcome {
                Ok((Ok(result), allowed)) => {
                    entry.set_allowed(allowed);
                    protocol::result_message(&id, result)
                }
                Ok((Err(e), _)) => {
                    if matches!(e.code(), "TOKEN_ERROR" | "INTERNAL") {
                        tracing::warn!(error = %e, "request failed");
                    }
                    protocol::error_message(&id, &e)
                }
                Err(join) => {
                    tracing::error!(error = %join, "request handler failed");
                    protocol::error_message(&id, &Error::Internal("request handler failed".into()))
                }
            };
            drop(busy);
            let _ = tx.send(Outgoing::Text(text)).await;
        });
    }
    // A closed socket cancels its pending dialogs and operations.
    let cancels: Vec<Cancel> = pending.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(_, c)| c).collect();
    for c in cancels {
        c.cancel();
    }
    events.abort();
    drop(tx);
    let _ = writer.await;
    drop(registered);
    tracing::debug!(%origin, "connection closed");
}

/// Reads the frame whose `header` was just read: answers control frames, and adds a
/// data frame to the `message` being received — buffered if the limits admit it,
/// dropped (keeping its first bytes) if the budget has no room, or a close if it is too
/// big for this origin.
async fn read_frame<R: AsyncRead + Unpin>(
    shared: &Shared,
    registered: &Registered,
    origin: &str,
    rd: &mut R,
    header: FrameHeader,
    message: &mut Option<Incoming>,
    tx: &mpsc::Sender<Outgoing>,
) -> Read {
    let io = |e: FrameError| match e.close_code() {
        Some(code) => Read::Close(code, "protocol error"),
        None => Read::Gone,
    };
    match header.opcode {
        Opcode::Ping | Opcode::Pong | Opcode::Close => {
            let mut payload = Vec::new();
            if let Err(e) = websocket::read_payload(rd, &header, &mut payload).await {
                return io(e);
            }
            return match header.opcode {
                Opcode::Ping => {
                    let _ = tx.send(Outgoing::Pong(payload)).await;
                    Read::Next
                }
                Opcode::Close => Read::Close(1000, ""),
                _ => Read::Next,
            };
        }
        Opcode::Text | Opcode::Binary if message.is_some() => {
            return Read::Close(1002, "a new message inside a fragmented one")
        }
        Opcode::Continuation if message.is_none() => return Read::Close(1002, "a continuation without a message"),
        _ => {}
    }
    let agent: &Agent = &shared.agent;
    let allowed = agent.origins.decision(origin) == Decision::Allowed;
    registered.entry.set_allowed(allowed);
    let cap = if allowed { agent.config.max_message_bytes as u64 } else { UNKNOWN_ORIGIN_MESSAGE_BYTES };
    let m = message.get_or_insert_with(|| Incoming {
        binary: header.opcode == Opcode::Binary,
        len: 0,
        data: Vec::new(),
        reservation: None,
        refused: false,
        prefix: Vec::new(),
        started: Instant::now(),
        _busy: registered.entry.busy(),
    });
    let total = m.len.saturating_add(header.len);
    if total > cap {
        if shared.logged.first(origin, "size") {
            tracing::warn!(%origin, bytes = total, cap, allowed, "closing a connection: message too big (logged once per origin)");
        }
        return Read::Close(1009, "message too big");
    }
    let frame_bytes = header.len as usize;
    if !m.refused {
        let want = frame_bytes.saturating_mul(BYTES_PER_FRAME_BYTE);
        let admitted = match &mut m.reservation {
            Some(r) => r.try_grow(want),
            None => match shared.budget.try_reserve(want) {
                Some(r) => {
                    m.reservation = Some(r);
                    true
                }
                None => false,
            },
        };
        if !admitted {
            m.refused = true;
            m.prefix = m.data.iter().take(websocket::KEPT_PREFIX).copied().collect();
            m.data = Vec::new();
            m.reservation = None;
        }
    }
    let left = MESSAGE_TIMEOUT.saturating_sub(m.started.elapsed());
    let read = if m.refused {
        tokio::time::timeout(left, websocket::skip_payload(rd, &header, &mut m.prefix)).await
    } else {
        tokio::time::timeout(left, websocket::read_payload(rd, &header, &mut m.data)).await
    };
    match read {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return io(e),
        Err(_) => return Read::Close(1008, "message too slow"),
    }
    m.len = total;
    if !header.fin {
        return Read::Next;
    }
    let Some(m) = message.take() else { return Read::Next };
    if m.refused {
        return Read::Message(Err(websocket::leading_id(&m.prefix)));
    }
    if m.binary {
        let e = Error::BadRequest("binary frames are not part of the protocol".into());
        let _ = tx.send(Outgoing::Text(protocol::error_message(&Value::Null, &e))).await;
        return Read::Next;
    }
    match String::from_utf8(m.data) {
        Ok(text) => Read::Message(Ok((text, m.reservation))),
        Err(_) => Read::Close(1007, "text message is not UTF-8"),
    }
}

/// Writes what the session sends, frame by frame; stops after a close frame, or when
/// the socket fails.
async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some(out) = rx.recv().await {
        let written = match &out {
            Outgoing::Text(t) => websocket::write_frame(&mut wr, Opcode::Text, t.as_bytes()).await,
            Outgoing::Pong(p) => websocket::write_frame(&mut wr, Opcode::Pong, p).await,
            Outgoing::Close(code, why) => {
                websocket::write_frame(&mut wr, Opcode::Close, &websocket::close_payload(*code, why)).await
            }
        };
        if written.is_err() || matches!(out, Outgoing::Close(..)) {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

fn cancel_request(pending: &Mutex<HashMap<String, Cancel>>, req: &Request) -> String {
    let Some(target) = req.params.get("requestId") else {
        return protocol::error_message(&req.id, &Error::BadRequest("`requestId` is missing".into()));
    };
    let found = pending.lock().unwrap_or_else(|e| e.into_inner()).get(&id_key(target)).cloned();
    if let Some(c) = &found {
        c.cancel();
    }
    protocol::result_message(&req.id, json!({"cancelled": found.is_some()}))
}

async fn forward_events(agent: Arc<Agent>, origin: String, tx: mpsc::Sender<Outgoing>) {
    let mut rx = agent.manager.subscribe();
    loop {
        let event = match rx.recv().await {
            Ok(e) => e,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        };
        // Token events tell who is at the computer: only for allowed origins.
        if agent.origins.decision(&origin) != Decision::Allowed {
            continue;
        }
        let msg = match event {
            TokenEvent::Inserted(info, id) => {
                json!({"event": "token-inserted", "token": protocol::token_json(&id, &info)})
            }
            TokenEvent::Removed(id) => json!({"event": "token-removed", "tokenId": id}),
        };
        if tx.send(Outgoing::Text(msg.to_string())).await.is_err() {
            return;
        }
    }
}
