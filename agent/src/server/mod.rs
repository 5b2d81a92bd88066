//! The WebSocket server on loopback: the same-user, `Host` and `Origin` checks and the
//! connection limits before the upgrade (`agent/PROTOCOL.md` § Who may connect,
//! § Limits), then [`crate::server::session::run`] per connection. One port serves `ws://`
//! and, when the loopback TLS is set up ([`crate::server::tls`]), `wss://`: the first byte a
//! client sends tells a TLS handshake from an HTTP request.
//!
//! HTTP/1.1 is hyper's; the WebSocket upgrade and framing are the agent's own
//! ([`websocket`]), so that a frame's length is weighed against the limits before a
//! byte of it is buffered ([`budget`]).

pub mod budget;
pub mod connections;
pub mod same_user;
pub mod session;
pub mod tls;
pub mod websocket;

use crate::access::origins::{check_host, check_origin, Decision};
use crate::agent::Agent;
use budget::Budget;
use connections::{Connections, Limits, Refused};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::{rustls, TlsAcceptor};

/// A client that has not sent its first byte, finished its TLS handshake, or sent its
/// request headers by then is dropped: an idle connection must not hold a task forever.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS record of type handshake (RFC 8446 §5.1; RFC 5246 §6.2.1): how every TLS
/// connection opens. No HTTP request starts with this byte.
const TLS_HANDSHAKE: u8 = 0x16;

/// HTTP connections between accept and upgrade (or their end) at one time; more wait
/// in the kernel's accept queue until one finishes (at most [`FIRST_BYTES_TIMEOUT`]).
/// Each holds at most [`MAX_REQUEST_HEAD`] of buffered headers.
pub const MAX_HANDSHAKES: usize = 256;

/// The largest request head (request line and headers) read: a browser's upgrade
/// request is under 2 KiB.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// What every connection of the server shares.
pub struct Shared {
    /// The agent.
    pub agent: Arc<Agent>,
    /// Our port (for the `Host` and same-user checks).
    pub port: u16,
    /// Bytes in flight across all connections.
    pub budget: Arc<Budget>,
    /// The open WebSocket connections.
    pub connections: Arc<Connections>,
    /// Where a limit was hit, logged once per origin.
    pub logged: LogOnce,
}

impl Shared {
    /// The server state for `agent` on `port`, with the limits of its configuration.
    pub fn new(agent: Arc<Agent>, port: u16) -> Arc<Shared> {
        let c = &agent.config;
        let budget = Budget::new(c.max_in_flight_bytes);
        let connections = Connections::new(Limits { total: c.max_connections, per_site: c.max_connections_per_site });
        Arc::new(Shared { agent, port, budget, connections, logged: LogOnce::default() })
    }
}

/// Logs a limit being hit once per origin (at most [`LogOnce::REMEMBERED`] origins are
/// remembered; then the memory starts over): a flood must not flood the log too.
#[derive(Default)]
pub struct LogOnce(Mutex<HashSet<(String, &'static str)>>);

impl LogOnce {
    /// Origins remembered before the set starts over.
    pub const REMEMBERED: usize = 1024;

    /// True the first time `what` is reported for `origin`.
    pub fn first(&self, origin: &str, what: &'static str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= Self::REMEMBERED {
            seen.clear();
        }
        seen.insert((origin.to_owned(), what))
    }
}

/// The accept queue: a page opening hundreds of sockets at once must not fill it, or
/// the next client's SYN is dropped and retried only a second later.
pub const ACCEPT_BACKLOG: i32 = 1024;

/// A listening socket on `addr` with [`ACCEPT_BACKLOG`] (std's `bind` takes 128).
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std does on Unix: a port in TIME_WAIT from the last run can be bound again.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(ACCEPT_BACKLOG)?;
    Ok(socket.into())
}

/// Binds the agent's port on 127.0.0.1 (and on `[::1]` when the machine has IPv6).
/// Loopback only: the agent never listens on a network interface.
pub fn bind(port: u16) -> std::io::Result<Vec<std::net::TcpListener>> {
    let v4 = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let port = v4.local_addr()?.port();
    let mut listeners = vec![v4];
    match listen(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
        Ok(v6) => listeners.push(v6),
        Err(e) => tracing::debug!(error = %e, "no IPv6 loopback"),
    }
    for l in &listeners {
        l.set_nonblocking(true)?;
    }
    Ok(listeners)
}

/// Every answer but the upgrade closes the connection: a refused client must not keep
/// a handshake slot for a next request.
fn reply(status: StatusCode, body: &'static str) -> Response<String> {
    let mut r = Response::new(body.to_owned());
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// One HTTP request: `GET /v1` (the WebSocket upgrade), `GET /health`, else 404.
async fn route(shared: Arc<Shared>, peer: SocketAddr, req: Request<Incoming>) -> Response<String> {
    match req.uri().path() {
        "/v1" => upgrade(shared, peer, req).await,
        "/health" if req.method() == Method::GET => {
            match check_host(header_str(req.headers(), header::HOST), shared.port) {
                Ok(()) => {
                    let mut r = reply(StatusCode::OK, "");
                    *r.body_mut() = format!("mohur {}\n", env!("CARGO_PKG_VERSION"));
                    r
                }
                Err(why) => reply(StatusCode::FORBIDDEN, why),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "not found"),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// True if the comma-separated header `name` lists `token` (case-insensitive).
fn lists_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The checks before a WebSocket exists, in the order of `PROTOCOL.md`, then the
/// opening handshake (RFC 6455 §4.2.2) and the session.
async fn upgrade(shared: Arc<Shared>, peer: SocketAddr, mut req: Request<Incoming>) -> Response<String> {
    let port = shared.port;
    // /proc/net/tcp is a file: read it off the executor.
    let own = tokio::task::spawn_blocking(move || crate::server::same_user::is_own_user(Some(peer), port))
        .await
        .unwrap_or(false);
    if !own {
        tracing::warn!(?peer, "refused upgrade: the connection belongs to another user");
        return reply(StatusCode::FORBIDDEN, "another user's connection");
    }
    let headers = req.headers();
    if let Err(why) = check_host(header_str(headers, header::HOST), port) {
        tracing::warn!(host = ?header_str(headers, header::HOST), "refused upgrade: {why}");
        return reply(StatusCode::FORBIDDEN, why);
    }
    let raw_origin = header_str(headers, header::ORIGIN);
    let origin = match check_origin(raw_origin, shared.agent.config.dev) {
        Ok(o) => o,
        Err(why) => {
            tracing::warn!(origin = ?raw_origin, "refused upgrade: {why}");
            return reply(StatusCode::FORBIDDEN, why);
        }
    };
    if req.method() != Method::GET
        || !lists_token(headers, header::UPGRADE, "websocket")
        || !lists_token(headers, header::CONNECTION, "upgrade")
    {
        return reply(StatusCode::BAD_REQUEST, "not a WebSocket upgrade");
    }
    if header_str(headers, header::SEC_WEBSOCKET_VERSION) != Some("13") {
        let mut r = reply(StatusCode::UPGRADE_REQUIRED, "WebSocket version 13 only");
        r.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return r;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).map(|k| k.as_bytes().to_vec()) else {
        return reply(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key");
    };
    let agent = shared.agent.clone();
    let o = origin.clone();
    let allowed =
        tokio::task::spawn_blocking(move || agent.origins.decision(&o) == Decision::Allowed).await.unwrap_or(false);
    let site = crate::access::site::site_of(&origin);
    let registered = match shared.connections.admit(&origin, &site, allowed) {
        Ok(r) => r,
        Err(why) => {
            if shared.logged.first(&origin, "connections") {
                tracing::warn!(%origin, ?why, "refused a connection: too many open (logged once per origin)");
            }
            let text = match why {
                Refused::Site => "too many connections from this site",
                Refused::Total => "too many connections",
            };
            return reply(StatusCode::SERVICE_UNAVAILABLE, text);
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => crate::server::session::run(shared, TokioIo::new(upgraded), origin, registered).await,
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    let mut r = Response::new(String::new());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&websocket::accept_key(&key)) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// Serves on `listeners` until `shutdown` turns true: `ws://`, and `wss://` on the same
/// port when `tls` is given.
pub async fn serve(
    agent: Arc<Agent>,
    listeners: Vec<std::net::TcpListener>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let port = listeners.first().map(|l| l.local_addr()).transpose()?.map(|a| a.port()).unwrap_or(0);
    let shared = Shared::new(agent, port);
    let tls = tls.map(TlsAcceptor::from);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let mut tasks = Vec::new();
    for l in listeners {
        let listener = TcpListener::from_std(l)?;
        tasks.push(tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            tls.clone(),
            handshakes.clone(),
            shutdown.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Accepts until `stop`, then lets the open HTTP connections finish (an upgraded
/// WebSocket is no longer one: its session ends on its own).
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    handshakes: Arc<Semaphore>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match handshakes.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if shared.logged.first("(before the upgrade)", "handshakes") {
                    tracing::warn!("{MAX_HANDSHAKES} HTTP handshakes in progress: new ones wait (logged once)");
                }
                let Ok(p) = handshakes.clone().acquire_owned().await else { break };
                p
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, shared, tls, watcher).await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One client: TLS when its first byte opens a handshake (and the loopback TLS is set
/// up), plain HTTP otherwise; then HTTP/1.1 with upgrades.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
) {
    let mut first = [0u8; 1];
    match tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(route(shared, peer, req).await) }
    });
    if first[0] != TLS_HANDSHAKE {
        return http(TokioIo::new(stream), service, watcher).await;
    }
    let Some(tls) = tls else {
        tracing::debug!(?peer, "TLS handshake, but no loopback CA (mohur-install install --loopback-tls): closed");
        return;
    };
    match tokio::time::timeout(FIRST_BYTES_TIMEOUT, tls.accept(stream)).await {
        Ok(Ok(stream)) => http(TokioIo::new(stream), service, watcher).await,
        // Most often a browser that does not trust the loopback CA (yet).
        Ok(Err(e)) => tracing::info!(?peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(?peer, "TLS handshake timed out"),
    }
}

async fn http<I, S>(io: I, service: S, watcher: Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<String>> + Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
{
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder = builder.http1_only();
    builder.http1().max_buf_size(MAX_REQUEST_HEAD).timer(TokioTimer::new()).header_read_timeout(FIRST_BYTES_TIMEOUT);
    let conn = builder.serve_connection_with_upgrades(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// The `mohur VERSION` line of a 200 answer to `GET /health` (plain or over TLS), else
/// the status line (empty when nothing came).
pub(crate) fn health_answer(reply: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_ref(), ""));
    let status_line = head.lines().next().unwrap_or("").to_owned();
    // The body may come chunked (a length line before it): look for the line itself.
    match body.lines().map(str::trim).find(|l| l.starts_with("mohur ")) {
        Some(v) if status_line.split_whitespace().nth(1) == Some("200") => Ok(v.to_owned()),
        _ => Err(status_line),
    }
}
