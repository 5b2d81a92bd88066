//! The demo portal: a relying party on `http://localhost:PORT` that serves the demo
//! page and `mohur.js`, issues login nonces, verifies Web eID tokens and CAdES
//! signatures ([`crate::demo::relying_party`]). It is what a portal developer copies.

use crate::demo::relying_party::{self, NonceStore, TrustStore};
use crate::signing::webeid::AuthToken;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use warp::http::StatusCode;
use warp::Filter;

const INDEX_HTML: &str = include_str!("../../web/demo/index.html");
const DEMO_JS: &str = include_str!("../../web/demo/demo.js");
const STYLE_CSS: &str = include_str!("../../web/demo/style.css");
const MOHUR_JS: &str = include_str!("../../web/mohur.js");

/// How long a login nonce stays valid.
pub const NONCE_TTL: Duration = Duration::from_secs(300);

/// The relying party's state.
pub struct Portal {
    /// Its own origin, `http://localhost:PORT`: what tokens must be signed for.
    pub origin: String,
    /// Where the page finds the agent.
    pub agent_url: String,
    /// The CAs it trusts.
    pub trust: TrustStore,
    /// Nonces issued and not yet used.
    pub nonces: NonceStore,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    auth_token: AuthToken,
    nonce: String,
}

#[derive(Deserialize)]
struct VerifyBody {
    cms: String,
    document: Option<String>,
}

#[derive(Deserialize)]
struct VerifyPdfBody {
    pdf: String,
}

fn reply_json(status: StatusCode, value: serde_json::Value) -> Box<dyn warp::Reply> {
    Box::new(warp::reply::with_status(warp::reply::json(&value), status))
}

fn asset(body: &'static str, content_type: &'static str) -> Box<dyn warp::Reply> {
    Box::new(warp::reply::with_header(body, "content-type", content_type))
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC): der's `DateTime` prints that form. Times
/// before 1970 (a broken clock in a signature) show as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    der::DateTime::from_system_time(t.max(UNIX_EPOCH)).map(|d| d.to_string()).unwrap_or_default()
}

/// The origin a Web eID token for the portal at `origin` is signed for: the same, except
/// `http://localhost:PORT`, which the Web eID extension (with ALLOW_HTTP_LOCALHOST) sends
/// as `https://localhost:PORT`.
pub fn web_eid_origin(origin: &str) -> String {
    match origin.strip_prefix("http://localhost") {
        Some(port) if port.is_empty() || port.starts_with(':') => format!("https://localhost{port}"),
        _ => origin.to_owned(),
    }
}

/// `POST /api/NAME {authToken, nonce}`: a login with a Web eID token signed for
/// `origin` over a nonce this portal issued (and takes from its store).
fn login_route(
    portal: Arc<Portal>,
    name: &'static str,
    origin: String,
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = warp::Rejection> + Clone {
    warp::post()
        .and(warp::path("api"))
        .and(warp::path(name))
        .and(warp::path::end())
        .and(warp::body::content_length_limit(64 * 1024))
        .and(warp::body::json())
        .map(move |body: LoginBody| {
            let p = &portal;
            match relying_party::verify_login(&body.auth_token, &origin, &body.nonce, &p.nonces, &p.trust) {
                Ok(who) => {
                    tracing::info!(subject = %who.subject_cn, route = name, "demo portal: login verified");
                    reply_json(
                        StatusCode::OK,
                        json!({"name": who.subject_cn, "country": who.country, "personalCode": who.personal_code}),
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, route = name, "demo portal: login refused");
                    reply_json(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}))
                }
            }
        })
}

/// The portal's routes.
pub fn routes(
    portal: Arc<Portal>,
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = std::convert::Infallible> + Clone {
    let get = warp::get();
    let index = get.and(warp::path::end()).map(|| asset(INDEX_HTML, "text/html; charset=utf-8"));
    let demo_js = get.and(warp::path!("demo.js")).map(|| asset(DEMO_JS, "text/javascript; charset=utf-8"));
    let style = get.and(warp::path!("style.css")).map(|| asset(STYLE_CSS, "text/css; charset=utf-8"));
    let mohur_js = get.and(warp::path!("mohur.js")).map(|| asset(MOHUR_JS, "text/javascript; charset=utf-8"));
    let p = portal.clone();
    let config = get
        .and(warp::path!("config.json"))
        .map(move || reply_json(StatusCode::OK, json!({"agentUrl": p.agent_url, "origin": p.origin})));
    let p = portal.clone();
    let nonce = warp::post().and(warp::path!("api" / "nonce")).map(move || match p.nonces.issue() {
        Ok(n) => reply_json(StatusCode::OK, json!({"nonce": n})),
        Err(e) => reply_json(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": e.to_string()})),
    });
    // mohur's own route: the token is bound to the page's origin as the agent saw it.
    let login = login_route(portal.clone(), "login", portal.origin.clone());
    // The Web eID route: the token is bound to the origin the browser gave the extension.
    // On http://localhost that is only possible with the extension's developer setting
    // ALLOW_HTTP_LOCALHOST, which turns the origin into https://localhost:PORT (Web eID
    // apps sign https origins only); a deployed portal is https and expects itself.
    let login_web_eid = login_route(portal.clone(), "webeid-login", web_eid_origin(&portal.origin));
    let p = portal.clone();
    let verify = warp::post()
        .and(warp::path!("api" / "verify"))
        .and(warp::body::content_length_limit(32 * 1024 * 1024))
        .and(warp::body::json())
        .map(move |body: VerifyBody| {
            let cms = match B64.decode(&body.cms) {
                Ok(c) => c,
                Err(_) => return reply_json(StatusCode::BAD_REQUEST, json!({"error": "cms is not base64"})),
            };
            let document = match body.document.as_deref().map(|d| B64.decode(d)) {
                Some(Err(_)) => return reply_json(StatusCode::BAD_REQUEST, json!({"error": "document is not base64"})),
                Some(Ok(d)) => Some(d),
                None => None,
            };
            match relying_party::verify_cms(&cms, document.as_deref(), &p.trust) {
                Ok(v) => reply_json(
                    StatusCode::OK,
                    json!({
                        "signer": v.signer_cn,
                        "signingTime": rfc3339(v.signing_time),
                        "sha256": v.content_sha256.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                    }),
                ),
                Err(e) => reply_json(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": e.to_string()})),
            }
        });
    let p = portal.clone();
    // A signed PDF, checked as the portal's server would: every signature, its chain to
    // the portal's trusted CAs, and what changed after each (documents::validation).
    let verify_pdf = warp::post()
        .and(warp::path!("api" / "verify-pdf"))
        .and(warp::body::content_length_limit(32 * 1024 * 1024))
        .and(warp::body::json())
        .map(move |body: VerifyPdfBody| {
            let Ok(pdf) = B64.decode(&body.pdf) else {
                return reply_json(StatusCode::BAD_REQUEST, json!({"error": "pdf is not base64"}));
            };
            match crate::documents::validation::check_pdf(&pdf, &p.trust, None) {
                Ok(checks) => {
                    let signatures: Vec<_> = checks
                        .iter()
                        .map(|c| {
                            let v = c.outcome.as_ref().ok();
                            json!({
                                "field": c.found.field,
                                "valid": c.valid(),
                                "signer": v.map(|v| v.signer_cn.clone()),
                                "level": c.level().map(|l| l.name()),
                                "timestamp": v.and_then(|v| v.timestamp.as_ref()).map(|t| rfc3339(t.time)),
                                "reason": c.outcome.as_ref().err().map(|r| r.detail.clone()).or_else(|| c.changed_after.clone()),
                                "why": c.outcome.as_ref().err().map(|r| r.why.code()),
                            })
                        })
                        .collect();
                    let valid = !checks.is_empty() && checks.iter().all(|c| c.valid());
                    reply_json(StatusCode::OK, json!({"valid": valid, "signatures": signatures}))
                }
                Err(e) => reply_json(StatusCode::UNPROCESSABLE_ENTITY, json!({"error": e.to_string()})),
            }
        });
    index
        .or(demo_js)
        .unify()
        .or(style)
        .unify()
        .or(mohur_js)
        .unify()
        .or(config)
        .unify()
        .or(nonce)
        .unify()
        .or(login)
        .unify()
        .or(login_web_eid)
        .unify()
        .or(verify)
        .unify()
        .or(verify_pdf)
        .unify()
        .recover(|r: warp::Rejection| async move {
            let status = if r.is_not_found() { StatusCode::NOT_FOUND } else { StatusCode::BAD_REQUEST };
            Ok::<_, std::convert::Infallible>(reply_json(status, json!({"error": format!("{r:?}")})))
        })
        .unify()
}

/// Serves the portal on `listener` until `stop` turns true.
pub async fn serve(
    portal: Arc<Portal>,
    listener: std::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    warp::serve(routes(portal))
        .incoming(listener)
        .graceful(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .run()
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
