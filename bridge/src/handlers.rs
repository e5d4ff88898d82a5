//! The ends of the routes: plain functions from request parts to responses.
//!
//! The WebSocket handler runs every check before answering `101`: query
//! length (414), limits (429/503), token (401), origin (403), the query string
//! (400) and the upgrade headers (426). A refused request costs one small JSON
//! response and is counted in `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use orchestrator_events::config::redact_url;
use serde_json::json;
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::hyper::upgrade::OnUpgrade;
use warp::reply::Response;

use crate::client::{self, Params};
use crate::metrics::Refused;
use crate::state::Shared;
use crate::{auth, query, upgrade};

/// A JSON error body: `{"error": message, "status": code}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": message, "status": status.as_u16() });
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

fn refuse(shared: &Shared, why: Refused, status: StatusCode, message: &str) -> Response {
    shared.metrics.refused(why);
    let mut res = error(status, message);
    match why {
        Refused::NotWebSocket => {
            res.headers_mut()
                .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        Refused::Unauthorized => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"orchestrator-bridge\""),
            );
        }
        Refused::RateLimited => {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    res
}

const UNAUTHORIZED: &str =
    "missing or invalid token: pass ?token=<token> or Authorization: Bearer <token>";

/// `GET /ws/orchestrator`: checks, then the upgrade. The order matters:
/// limits first (so guessing tokens is rate limited), then the token (so an
/// unauthenticated peer learns nothing else), then origin, query and headers.
pub fn ws(
    shared: Arc<Shared>,
    headers: HeaderMap,
    raw_query: String,
    remote: Option<SocketAddr>,
    on_upgrade: Option<OnUpgrade>,
) -> Response {
    let cfg = &shared.config;
    if shared.shutdown.is_cancelled() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "bridge is shutting down");
    }
    if raw_query.len() > cfg.max_query_bytes {
        let msg = format!("query string longer than {} bytes", cfg.max_query_bytes);
        return refuse(
            &shared,
            Refused::QueryTooLong,
            StatusCode::URI_TOO_LONG,
            &msg,
        );
    }
    let permit = match shared.limiter.admit(remote.map(|a| a.ip())) {
        Ok(p) => p,
        Err(why) => {
            let (status, msg) = match why {
                Refused::RateLimited => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many new connections from your address; retry in a second",
                ),
                Refused::TooManyPerIp => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many open connections from your address",
                ),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "too many open connections"),
            };
            return refuse(&shared, why, status, msg);
        }
    };
    if !auth::token_ok(cfg, &headers, &raw_query) {
        return refuse(
            &shared,
            Refused::Unauthorized,
            StatusCode::UNAUTHORIZED,
            UNAUTHORIZED,
        );
    }
    if let Err(msg) = auth::origin_ok(cfg, &headers) {
        return refuse(&shared, Refused::Forbidden, StatusCode::FORBIDDEN, &msg);
    }
    let q = match query::parse(&raw_query, cfg.stream_maxlen) {
        Ok(q) => q,
        Err(e) => {
            return refuse(
                &shared,
                Refused::BadRequest,
                StatusCode::BAD_REQUEST,
                &e.to_string(),
            );
        }
    };
    let key = match upgrade::check(&headers) {
        Ok(k) => k,
        Err(msg) => {
            return refuse(
                &shared,
                Refused::NotWebSocket,
                StatusCode::UPGRADE_REQUIRED,
                msg,
            );
        }
    };
    let Some(on_upgrade) = on_upgrade else {
        return refuse(
            &shared,
            Refused::NotWebSocket,
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        );
    };
    let params = Params {
        filter: q.filter,
        since: q.since,
        last: q.last,
        epoch: q.epoch,
    };
    let ws_config = upgrade::ws_config(cfg);
    let tracker = shared.tracker.clone();
    upgrade::accept(
        &key,
        on_upgrade,
        ws_config,
        |task| {
            tracker.spawn(task);
        },
        move |ws| client::serve(ws, shared, params, permit),
    )
}

/// `GET /healthz`: open to probes, never needs the token, always 200 while
/// the process serves (Redis down is `"status": "degraded"`, not a failure:
/// restarting the bridge would not bring Redis back). `stream` reports the
/// stream's length and memory (cached, see [`crate::stream_usage`]).
pub async fn healthz(shared: Arc<Shared>) -> Response {
    let usage = shared.stream_usage.get(&shared.store).await;
    let up = shared.redis.is_up();
    let mut body = json!({
        "status": if up { "ok" } else { "degraded" },
        "redis": if up { "up" } else { "down" },
        "redis_url": redact_url(&shared.config.redis_url),
        "redis_master": shared.store.source().master(),
        "redis_sentinel": shared.store.source().is_sentinel(),
        "redis_failovers": shared.store.source().failovers(),
        "channel": shared.config.channel,
        "stream": shared.config.stream,
        "epoch": shared.redis.epoch(),
        "version": env!("CARGO_PKG_VERSION"),
        "auth": shared.config.token.is_some(),
        "stream_length": usage.map(|u| u.length),
        "stream_memory_bytes": usage.and_then(|u| u.memory_bytes),
        "stream_usage_age_secs": usage.map(|u| u.age_secs),
    });
    if let (Some(obj), serde_json::Value::Object(counters)) =
        (body.as_object_mut(), shared.metrics.health_counters())
    {
        obj.extend(counters);
    }
    warp::reply::json(&body).into_response()
}

/// `GET /metrics`: Prometheus text format; needs the token when one is set.
pub fn metrics(shared: Arc<Shared>, headers: HeaderMap, raw_query: String) -> Response {
    if !auth::token_ok(&shared.config, &headers, &raw_query) {
        return refuse(
            &shared,
            Refused::Unauthorized,
            StatusCode::UNAUTHORIZED,
            UNAUTHORIZED,
        );
    }
    let mut text = shared.metrics.render();
    let (frames, bytes) = shared.hub.queued();
    let failovers = shared.store.source().failovers();
    text.push_str(&format!(
        "# HELP bridge_queued_frames Frames waiting in client queues now.\n\
         # TYPE bridge_queued_frames gauge\nbridge_queued_frames {frames}\n\
         # HELP bridge_queued_bytes Bytes waiting in client queues now.\n\
         # TYPE bridge_queued_bytes gauge\nbridge_queued_bytes {bytes}\n\
         # HELP bridge_redis_failovers_total Redis failovers followed (the Sentinels named a new master).\n\
         # TYPE bridge_redis_failovers_total counter\nbridge_redis_failovers_total {failovers}\n"
    ));
    text.push_str(&shared.http.render("bridge"));
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}
