//! The agent's HTTP surface, on one screen.
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/` | A2A JSON-RPC 2.0 (`message/send`, `message/stream` as SSE, `tasks/get`, `tasks/cancel`) |
//! | POST | `/chat` | `{"message", "source_agent"}` → `{"run_id", "reply"}` |
//! | GET | `/healthz` | Redis state, queued events, runs in flight |
//! | GET | `/metrics` | Prometheus text: HTTP connections pending and closed by reason |
//! | GET | `/.well-known/agent-card.json` | the A2A agent card (also at `/.well-known/agent.json`) |
//!
//! The POST routes check the bearer token (when one is set) and the body
//! limit ([`guard`]) before anything else; errors are JSON ([`reply`]).

pub mod guard;
pub mod handlers;
pub mod reply;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Buf;
use futures_util::Stream;
use warp::Filter;
use warp::reply::Response;

use crate::app::App;

/// All routes, with rejections turned into JSON errors.
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    a2a(app.clone())
        .or(chat(app.clone()))
        .unify()
        .or(healthz(app.clone()))
        .unify()
        .or(metrics(app.clone()))
        .unify()
        .or(card(app))
        .unify()
        .recover(reply::recover)
        .unify()
}

fn with_app(app: Arc<App>) -> impl Filter<Extract = (Arc<App>,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// The parts of a POST that [`guarded`] checks.
fn post_parts() -> impl Filter<
    Extract = (
        Option<String>,
        Option<u64>,
        impl Stream<Item = Result<impl Buf, warp::Error>> + Send,
    ),
    Error = warp::Rejection,
> + Clone {
    warp::post()
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
}

/// Checks token then size, then hands the body to `handler`.
async fn guarded<S, B, F, Fut>(
    app: Arc<App>,
    authorization: Option<String>,
    content_length: Option<u64>,
    body: S,
    handler: F,
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
    F: FnOnce(Arc<App>, bytes::Bytes) -> Fut,
    Fut: Future<Output = Response>,
{
    if let Err(response) = guard::check_token(app.token.as_deref(), authorization.as_deref()) {
        guard::drain(body).await;
        return response;
    }
    match guard::read_body(content_length, body, app.body_limit).await {
        Ok(bytes) => handler(app, bytes).await,
        Err(response) => response,
    }
}

/// POST / — A2A JSON-RPC.
fn a2a(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path::end()
        .and(with_app(app))
        .and(post_parts())
        .then(|app, auth, len, body| guarded(app, auth, len, body, handlers::a2a))
}

/// POST /chat — one message, one reply.
fn chat(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("chat")
        .and(with_app(app))
        .and(post_parts())
        .then(|app, auth, len, body| guarded(app, auth, len, body, handlers::chat))
}

/// GET /healthz — liveness and Redis state.
fn healthz(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("healthz")
        .and(warp::get())
        .and(with_app(app))
        .map(|app: Arc<App>| handlers::healthz(&app))
}

/// GET /metrics — Prometheus text (the token, when set, is required).
fn metrics(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_app(app))
        .and(warp::header::optional::<String>("authorization"))
        .map(|app: Arc<App>, auth: Option<String>| handlers::metrics(&app, auth.as_deref()))
}

/// GET /.well-known/agent-card.json — the A2A agent card.
fn card(app: Arc<App>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!(".well-known" / String)
        .and(warp::get())
        .and(with_app(app))
        .and_then(|file: String, app: Arc<App>| async move {
            if file == "agent-card.json" || file == "agent.json" {
                Ok(handlers::card(&app))
            } else {
                Err(warp::reject::not_found())
            }
        })
}
