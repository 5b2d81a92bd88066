//! One WebSocket connection: reads requests, runs each on a blocking thread, writes
//! responses and token events; enforces the per-connection limits; cancels what is
//! pending when the socket closes.

use crate::agent::Agent;
use crate::manager::TokenEvent;
use crate::origins::Decision;
use crate::protocol::{self, Connection, Request};
use crate::{Cancel, Error};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use warp::ws::{Message, WebSocket};

/// Requests pending on one connection before `BUSY`.
pub const MAX_PENDING: usize = 8;
/// Sustained requests per second before `RATE_LIMITED`.
pub const RATE_PER_SECOND: f64 = 50.0;
/// Burst allowance.
pub const BURST: f64 = 100.0;
/// Rate-limited requests (beyond the burst) after which the client is cut off.
pub const CUT_OFF_AFTER: u32 = 4 * BURST as u32;

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

/// Serves one connection until it closes.
pub async fn run(agent: Arc<Agent>, socket: WebSocket, origin: String) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let closing = m.is_close();
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let allowed = agent.origins.decision(&origin) == Decision::Allowed;
    let hello = json!({"event": "hello", "protocol": protocol::PROTOCOL_VERSION,
        "agent": env!("CARGO_PKG_VERSION"), "originAllowed": allowed});
    let _ = tx.send(Message::text(hello.to_string())).await;

    let events = tokio::spawn(forward_events(agent.clone(), origin.clone(), tx.clone()));
    let conn = Arc::new(Connection { origin: origin.clone() });
    let pending: Arc<Mutex<HashMap<String, Cancel>>> = Arc::default();
    let mut bucket = Bucket::new();
    tracing::debug!(%origin, "connection opened");

    while let Some(frame) = stream.next().await {
        let msg = match frame {
            Ok(m) => m,
            Err(e) => {
                // Oversized frames end here (tungstenite's capacity error).
                tracing::info!(%origin, error = %e, "closing connection");
                let _ = tx.try_send(Message::close_with(1009u16, "message too big or malformed frame"));
                break;
            }
        };
        if msg.is_close() {
            break;
        }
        if msg.is_ping() || msg.is_pong() {
            continue;
        }
        if !bucket.take() {
            if bucket.refused > CUT_OFF_AFTER {
                tracing::warn!(%origin, "client keeps flooding: disconnecting");
                let _ = tx.try_send(Message::close_with(1008u16, "too many requests"));
                break;
            }
            let _ = tx.send(Message::text(protocol::error_message(&Value::Null, &Error::RateLimited))).await;
            continue;
        }
        let Ok(text) = msg.to_str() else {
            let _ = tx
                .send(Message::text(protocol::error_message(
                    &Value::Null,
                    &Error::BadRequest("binary frames are not part of the protocol".into()),
                )))
                .await;
            continue;
        };
        let req = match protocol::parse(text) {
            Ok(r) => r,
            Err((id, e)) => {
                let _ = tx.send(Message::text(protocol::error_message(&id, &e))).await;
                continue;
            }
        };
        if req.method == "cancel" {
            let reply = cancel_request(&pending, &req);
            let _ = tx.send(Message::text(reply)).await;
            continue;
        }
        // Requests that need neither the citizen nor the card are answered here, at once.
        if req.method == "version" || (req.method == "status" && agent.origins.decision(&origin) == Decision::Allowed) {
            let reply = match protocol::handle(&agent, &conn, &req, &Cancel::new()) {
                Ok(result) => protocol::result_message(&req.id, result),
                Err(e) => protocol::error_message(&req.id, &e),
            };
            if tx.send(Message::text(reply)).await.is_err() {
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
                let _ = tx.try_send(Message::text(protocol::error_message(&req.id, &e)));
                continue;
            }
            p.insert(key.clone(), cancel.clone());
        }
        let (agent, conn, pending, tx) = (agent.clone(), conn.clone(), pending.clone(), tx.clone());
        tokio::spawn(async move {
            let id = req.id.clone();
            let worker_cancel = cancel.clone();
            let outcome =
                tokio::task::spawn_blocking(move || protocol::handle(&agent, &conn, &req, &worker_cancel)).await;
            pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            let text = match outcome {
                Ok(Ok(result)) => protocol::result_message(&id, result),
                Ok(Err(e)) => {
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
            let _ = tx.send(Message::text(text)).await;
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
    tracing::debug!(%origin, "connection closed");
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

async fn forward_events(agent: Arc<Agent>, origin: String, tx: mpsc::Sender<Message>) {
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
        if tx.send(Message::text(msg.to_string())).await.is_err() {
            return;
        }
    }
}
