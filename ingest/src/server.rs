//! The HTTP side: `POST /v1/traces`, `GET /healthz`, `GET /metrics`.
//!
//! A request is checked in the order that costs least: the token (401), the
//! content type (415), the body size while it is read (413), decompression
//! (413 for a bomb, 400 for a broken stream), decoding (400). Only then is it
//! mapped and queued; the answer is 200 with an `ExportTraceServiceResponse`
//! in the request's encoding, or 503 with `Retry-After` when the publish queue
//! cannot take it now (413 when its events exceed the whole queue: a retry
//! could never succeed). Error bodies are a `google.rpc.Status`, as OTLP/HTTP asks.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Buf;
use futures_util::{Stream, StreamExt};
use orchestrator_events::source::RedisSource;
use orchestrator_events::{Event, truncate};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;
use warp::Filter;
use warp::http::{HeaderMap, Response, StatusCode, header};

use crate::decode::{self, DecodeError, Encoding};
use crate::mapping::{self, SpanIndex};
use crate::metrics::{Metrics, Refused};
use crate::sink::{QueueFull, Sink};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The publish queue.
    pub sink: Sink,
    /// Span ancestry across requests; its lock also keeps requests' events in
    /// the order they were answered.
    pub index: Arc<Mutex<SpanIndex>>,
    /// Bearer token, when required.
    pub token: Option<String>,
    /// Largest body, decompressed.
    pub body_limit: usize,
    /// Cap on each large field of a mapped event (`--max-field-bytes`).
    pub max_field_bytes: usize,
    /// Where Redis is: the master in use and failovers followed, for `/healthz`.
    pub redis: RedisSource,
    /// The Redis URL with its password redacted, for `/healthz`.
    pub redis_display: String,
    /// Connections accepted, pending and closed by reason, for `/metrics`.
    pub http: Arc<orchestrator_serve::ConnStats>,
}

type Reply = warp::reply::Response;

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap_or_else(|_| Response::new(Vec::new().into()))
}

fn error(status: StatusCode, encoding: Option<Encoding>, code: i32, message: &str) -> Reply {
    let ct = encoding.unwrap_or(Encoding::Json).content_type();
    reply(status, ct, decode::error_body(encoding, code, message))
}

/// Whether the request carries `Authorization: Bearer <token>` (constant time).
fn authorized(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = token else {
        return true;
    };
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .fold(false, |ok, (_, t)| {
            ok | bool::from(t.trim().as_bytes().ct_eq(expected.as_bytes()))
        })
}

/// Reads the body, refusing it as soon as it passes `limit` bytes.
async fn read_limited<S, B>(mut body: S, limit: usize) -> Result<Vec<u8>, Option<warp::Error>>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(Some)?;
        if out.len() + chunk.remaining() > limit {
            return Err(None);
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            out.extend_from_slice(piece);
            let n = piece.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}

// google.rpc.Code values used in error bodies.
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

async fn traces<S, B>(shared: Shared, headers: HeaderMap, body: S) -> Result<Reply, Infallible>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let m = &shared.metrics;
    m.request();
    let encoding = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::from_content_type);
    if !authorized(shared.token.as_deref(), &headers) {
        m.refused(Refused::Unauthorized, 0);
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            encoding,
            UNAUTHENTICATED,
            "missing or wrong bearer token",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return Ok(r);
    }
    let Some(encoding) = encoding else {
        m.refused(Refused::UnsupportedType, 0);
        return Ok(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            INVALID_ARGUMENT,
            "Content-Type must be application/x-protobuf or application/json",
        ));
    };
    let raw = match read_limited(body, shared.body_limit).await {
        Ok(raw) => raw,
        Err(None) => {
            m.refused(Refused::TooLarge, 0);
            let msg = format!("body larger than {} bytes", shared.body_limit);
            return Ok(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(encoding),
                RESOURCE_EXHAUSTED,
                &msg,
            ));
        }
        Err(Some(e)) => {
            m.refused(Refused::BadBody, 0);
            return Ok(error(
                StatusCode::BAD_REQUEST,
                Some(encoding),
                INVALID_ARGUMENT,
                &format!("body could not be read: {e}"),
            ));
        }
    };
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let request = decode::decompress(content_encoding, &raw, shared.body_limit)
        .and_then(|body| decode::decode(encoding, &body));
    drop(raw);
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            let (status, why, code) = match e {
                DecodeError::TooLarge { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Refused::TooLarge,
                    RESOURCE_EXHAUSTED,
                ),
                DecodeError::Encoding(_) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Refused::UnsupportedType,
                    INVALID_ARGUMENT,
                ),
                _ => (StatusCode::BAD_REQUEST, Refused::BadBody, INVALID_ARGUMENT),
            };
            m.refused(why, 0);
            return Ok(error(status, Some(encoding), code, &e.to_string()));
        }
    };
    // Map and queue under one lock: the stream gets requests' events in the
    // order the requests were answered.
    let mut index = shared.index.lock().await;
    let mapped = mapping::map_request(&request, &mut index);
    drop(request);
    let counts = mapped.counts;
    let events = cap_fields(mapped.events, shared.max_field_bytes);
    if let Err(full) = shared.sink.push(events).await {
        drop(index);
        if let QueueFull::NeverFits { .. } = full {
            m.refused(Refused::TooLarge, counts.spans);
            tracing::warn!(%full, "refusing an export larger than the whole publish queue");
            return Ok(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(encoding),
                RESOURCE_EXHAUSTED,
                &full.to_string(),
            ));
        }
        m.refused(Refused::QueueFull, counts.spans);
        tracing::warn!(%full, "refusing an export: the publish queue is full (Redis slow or down)");
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(encoding),
            UNAVAILABLE,
            &full.to_string(),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("2"));
        return Ok(r);
    }
    drop(index);
    m.accepted(&counts);
    Ok(reply(
        StatusCode::OK,
        encoding.content_type(),
        decode::response(encoding, counts.rejected_bad_id, counts.message()),
    ))
}

/// Every route.
/// The agent's cap on large values, applied to what a span mapped to: a cut
/// field is named in the event's `truncated` object. An event whose whole JSON
/// is under the cap cannot hold a field over it, so only the rare large one
/// is parsed again; one that needs no cut is kept byte for byte.
fn cap_fields(events: Vec<String>, cap: usize) -> Vec<String> {
    events
        .into_iter()
        .map(|json| {
            if json.len() <= cap {
                return json;
            }
            match Event::parse(&json) {
                Ok(mut event) if truncate::needs_cap(&event, cap) => {
                    truncate::cap_event(&mut event, cap);
                    event.to_json()
                }
                _ => json,
            }
        })
        .collect()
}

pub fn routes(shared: Shared) -> impl Filter<Extract = (Reply,), Error = Infallible> + Clone {
    let with = {
        let shared = shared.clone();
        warp::any().map(move || shared.clone())
    };
    let traces = warp::path!("v1" / "traces")
        .and(warp::post())
        .and(with.clone())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and_then(|shared: Shared, headers: HeaderMap, body| async move {
            traces(shared, headers, Box::pin(body)).await
        });
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(with.clone())
        .map(|shared: Shared| {
            let mut health = shared.metrics.health(&shared.redis_display);
            if let Some(redis) = health.get_mut("redis").and_then(|r| r.as_object_mut()) {
                redis.insert("master".into(), shared.redis.master().into());
                redis.insert("sentinel".into(), shared.redis.is_sentinel().into());
                redis.insert("failovers".into(), shared.redis.failovers().into());
            }
            let body = health.to_string();
            reply(StatusCode::OK, "application/json", body.into_bytes())
        });
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with)
        .and(warp::header::headers_cloned())
        .map(|shared: Shared, headers: HeaderMap| {
            if !authorized(shared.token.as_deref(), &headers) {
                return reply(
                    StatusCode::UNAUTHORIZED,
                    "text/plain",
                    b"missing or wrong bearer token\n".to_vec(),
                );
            }
            let mut text = shared.metrics.render();
            text.push_str(&format!(
                "# HELP ingest_redis_failovers_total Redis failovers followed (the Sentinels named a new master).\n\
                 # TYPE ingest_redis_failovers_total counter\n\
                 ingest_redis_failovers_total {}\n",
                shared.redis.failovers()
            ));
            text.push_str(&shared.http.render("ingest"));
            reply(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                text.into_bytes(),
            )
        });
    traces
        .or(healthz)
        .unify()
        .or(metrics)
        .unify()
        .recover(|rejection: warp::Rejection| async move {
            let (status, msg) = if rejection.is_not_found() {
                (
                    StatusCode::NOT_FOUND,
                    "not found: POST /v1/traces, GET /healthz, GET /metrics",
                )
            } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
                (
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed: POST /v1/traces",
                )
            } else {
                (StatusCode::BAD_REQUEST, "bad request")
            };
            Ok::<_, Infallible>(reply(status, "text/plain", format!("{msg}\n").into_bytes()))
        })
        .unify()
}
