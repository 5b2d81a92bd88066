//! The WebSocket server on loopback (warp): the `Host` and `Origin` checks before
//! the upgrade, then [`crate::session::run`] per connection.

use crate::agent::Agent;
use crate::origins::{check_host, check_origin};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use warp::http::StatusCode;
use warp::Filter;

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
        .and(warp::addr::remote())
        .and(warp::header::optional::<String>("host"))
        .and(warp::header::optional::<String>("origin"))
        .and(warp::ws())
        .map(move |peer, host: Option<String>, origin: Option<String>, ws: warp::ws::Ws| -> Box<dyn warp::Reply> {
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
        });
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

/// Serves on `listeners` until `shutdown` turns true.
pub async fn serve(
    agent: Arc<Agent>,
    listeners: Vec<std::net::TcpListener>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let port = listeners.first().map(|l| l.local_addr()).transpose()?.map(|a| a.port()).unwrap_or(0);
    let mut tasks = Vec::new();
    for l in listeners {
        let listener = tokio::net::TcpListener::from_std(l)?;
        let mut stop = shutdown.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let server = warp::serve(routes(agent.clone(), port)).incoming(listener).graceful(stopped);
        tasks.push(tokio::spawn(server.run()));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
