//! The HTTP surface: which path goes to which handler.
//!
//! - `GET /ws/orchestrator` — the WebSocket ([`handlers::ws`])
//! - `GET /healthz` — JSON health ([`handlers::healthz`])
//! - `GET /metrics` — Prometheus text ([`handlers::metrics`])
//!
//! Anything else is a JSON 404 (or 405 for a known path with the wrong method).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use orchestrator_serve::PeerAddr;
use warp::Filter;
use warp::http::StatusCode;
use warp::hyper::upgrade::OnUpgrade;
use warp::reply::Response;

use crate::handlers;
use crate::state::Shared;

/// The whole filter tree.
pub fn routes(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static {
    ws(shared.clone())
        .or(healthz(shared.clone()))
        .unify()
        .or(metrics(shared))
        .unify()
        .recover(rejection)
        .unify()
}

fn with_shared(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (Arc<Shared>,), Error = Infallible> + Clone {
    warp::any().map(move || shared.clone())
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The peer's address, as the connection guard recorded it.
fn peer_addr() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<PeerAddr>().map(|p: Option<PeerAddr>| p.map(|p| p.0))
}

/// `GET /ws/orchestrator`
fn ws(shared: Arc<Shared>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("ws" / "orchestrator")
        .and(warp::get())
        .and(with_shared(shared))
        .and(warp::header::headers_cloned())
        .and(raw_query())
        .and(peer_addr())
        .and(warp::ext::optional::<OnUpgrade>())
        .map(handlers::ws)
}

/// `GET /healthz`
fn healthz(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("healthz")
        .and(warp::get())
        .and(with_shared(shared))
        .then(handlers::healthz)
}

/// `GET /metrics`
fn metrics(
    shared: Arc<Shared>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_shared(shared))
        .and(warp::header::headers_cloned())
        .and(raw_query())
        .map(handlers::metrics)
}

async fn rejection(err: warp::Rejection) -> Result<Response, Infallible> {
    let (status, message) = if err.is_not_found() {
        (
            StatusCode::NOT_FOUND,
            "not found: try /ws/orchestrator, /healthz or /metrics",
        )
    } else if err.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET",
        )
    } else {
        (StatusCode::BAD_REQUEST, "bad request")
    };
    Ok(handlers::error(status, message))
}
