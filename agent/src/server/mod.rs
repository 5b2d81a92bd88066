//! The WebSocket server on loopback (warp): the `Host` and `Origin` checks before
//! the upgrade, then [`crate::session::run`] per connection. One port serves `ws://`
//! and, when the loopback TLS is set up ([`crate::tls`]), `wss://`: the first byte a
//! client sends tells a TLS handshake from an HTTP request.

use crate::agent::Agent;
use crate::origins::{check_host, check_origin};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{rustls, TlsAcceptor};
use warp::http::StatusCode;
use warp::Filter;

/// The client's address, put into each request by [`serve_connection`] for the
/// same-user check before the upgrade.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A client that has not sent its first byte, or finished its TLS handshake, by then is
/// dropped: an idle connection must not hold a task forever.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS record of type handshake (RFC 8446 §5.1; RFC 5246 §6.2.1): how every TLS
/// connection opens. No HTTP request starts with this byte.
const TLS_HANDSHAKE: u8 = 0x16;

/// Binds the agent's port on 127.0.0.1 (and on `[::1]` when the machine has IPv6).
/// Loopback only: the agent never listens on a network interface.
pub fn bind(port: u16) -> std::io::Result<Vec<std::net::TcpListener>> {
    let v4 = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    let port = v4.local_addr()?.port();
    let mut listeners = vec![v4];
    match std::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
        Ok(v6) => listeners.push(v6),
        Err(e) => tracing::debug!(error = %e, "no IPv6 loopback"),
    }
    for l in &listeners {
        l.set_nonblocking(true)?;
    }
    Ok(listeners)
}

fn refuse(status: StatusCode, why: &'static str) -> Box<dyn warp::Reply> {
    Box::new(warp::reply::with_status(why, status))
}

/// The routes: `GET /v1` (WebSocket upgrade) and `GET /health`, both behind the
/// `Host` check.
pub fn routes(
    agent: Arc<Agent>,
    port: u16,
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = std::convert::Infallible> + Clone {
    let dev = agent.config.dev;
    let max = agent.config.max_message_bytes;
    let ws_agent = agent.clone();
    let ws = warp::path("v1")
        .and(warp::path::end())
        .and(warp::ext::optional::<Peer>())
        .and(warp::header::optional::<String>("host"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::ws())
        .map(
            move |peer: Option<Peer>,
                  host: Option<String>,
                  origin: Option<String>,
                  ws: warp::ws::Ws|
                  -> Box<dyn warp::Reply> {
                let peer = peer.map(|p| p.0);
                if !crate::peer::is_own_user(peer, port) {
                    tracing::warn!(?peer, "refused upgrade: the connection belongs to another user");
                    return refuse(StatusCode::FORBIDDEN, "another user's connection");
                }
                if let Err(why) = check_host(host.as_deref(), port) {
                    tracing::warn!(host = ?host, "refused upgrade: {why}");
                    return refuse(StatusCode::FORBIDDEN, why);
                }
                let origin = match check_origin(origin.as_deref(), dev) {
                    Ok(o) => o,
                    Err(why) => {
                        tracing::warn!(origin = ?origin, "refused upgrade: {why}");
                        return refuse(StatusCode::FORBIDDEN, why);
                    }
                };
                let agent = ws_agent.clone();
                Box::new(
                    ws.max_message_size(max)
                        .max_frame_size(max)
                        .on_upgrade(move |socket| crate::session::run(agent, socket, origin)),
                )
            },
        );
    let health = warp::path("health").and(warp::path::end()).and(warp::header::optional::<String>("host")).map(
        move |host: Option<String>| -> Box<dyn warp::Reply> {
            match check_host(host.as_deref(), port) {
                Ok(()) => Box::new(format!("mohur {}\n", env!("CARGO_PKG_VERSION"))),
                Err(why) => refuse(StatusCode::FORBIDDEN, why),
            }
        },
    );
    ws.or(health)
        .unify()
        .recover(|_| async { Ok::<_, std::convert::Infallible>(refuse(StatusCode::NOT_FOUND, "not found")) })
        .unify()
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
    let routes = routes(agent, port);
    let tls = tls.map(TlsAcceptor::from);
    let mut tasks = Vec::new();
    for l in listeners {
        let listener = TcpListener::from_std(l)?;
        tasks.push(tokio::spawn(accept_loop(listener, routes.clone(), tls.clone(), shutdown.clone())));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// Accepts until `stop`, then lets the open HTTP connections finish (an upgraded
/// WebSocket is no longer one: its session ends on its own).
async fn accept_loop<F>(
    listener: TcpListener,
    routes: F,
    tls: Option<TlsAcceptor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    F: Filter<Extract = (Box<dyn warp::Reply>,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
{
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
        let _ = stream.set_nodelay(true);
        let service = warp::service(routes.clone());
        tokio::spawn(serve_connection(stream, peer, service, tls.clone(), graceful.watcher()));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One client: TLS when its first byte opens a handshake (and the loopback TLS is set
/// up), plain HTTP otherwise; then HTTP/1.1 with upgrades, every request carrying
/// [`Peer`].
async fn serve_connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    tls: Option<TlsAcceptor>,
    watcher: Watcher,
) where
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut first = [0u8; 1];
    match tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        tower_service::Service::call(&mut service.clone(), req)
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
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = warp::reply::Response> + Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
{
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder = builder.http1_only();
    let conn = builder.serve_connection_with_upgrades(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
