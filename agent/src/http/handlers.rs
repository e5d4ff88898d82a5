//! The ends of the routes: plain functions from checked inputs to responses.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use orchestrator_events::event::RunStatus;
use serde_json::{Value, json};
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::reply::{json_error, json_response};
use crate::a2a::card::agent_card;
use crate::a2a::rpc::{self, RpcReply};
use crate::agent_loop::RunInput;
use crate::app::App;
use crate::runs::RunHooks;

/// Longest `source_agent` accepted.
const MAX_AGENT_NAME: usize = 128;
/// Longest `parent_run_id` accepted.
const MAX_RUN_ID: usize = 128;

/// `POST /chat` `{"message": "...", "source_agent": "planner"}` →
/// `{"run_id": "...", "reply": "..."}` once the run ends.
pub async fn chat(app: Arc<App>, body: Bytes) -> Response {
    let (message, source_agent, parent_run_id) = match read_chat(&body) {
        Ok(parts) => parts,
        Err(response) => return *response,
    };
    let input = RunInput {
        input: message,
        source: "chat".into(),
        context_id: None,
        source_agent,
        parent_run_id,
    };
    let started = match app.runner.start(input, RunHooks::default()) {
        Ok(started) => started,
        Err(busy) => return busy_response(&busy.to_string()),
    };
    let run_id = started.run_id.clone();
    let Ok(outcome) = started.done.await else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the run ended without an outcome",
        );
    };
    let mut body = json!({
        "run_id": run_id,
        "reply": outcome.reply,
        "status": outcome.status,
        "duration_ms": outcome.duration_ms,
    });
    if let Some(usage) = outcome.usage {
        body["usage"] = json!(usage);
    }
    let status = match outcome.status {
        RunStatus::Completed => StatusCode::OK,
        RunStatus::Failed => StatusCode::BAD_GATEWAY,
        RunStatus::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
    };
    match (outcome.status, outcome.error) {
        (_, Some(error)) => body["error"] = json!(error),
        (RunStatus::Cancelled, None) => body["error"] = json!("the run was cancelled"),
        _ => {}
    }
    json_response(status, &body)
}

/// Checks a `/chat` body; every problem is a 400 that says what to fix.
#[allow(clippy::result_large_err)]
/// The `/chat` body: message, `source_agent`, `parent_run_id`.
type ChatBody = (String, Option<String>, Option<String>);

fn read_chat(body: &[u8]) -> Result<ChatBody, Box<Response>> {
    let bad =
        |kind: &str, message: &str| Box::new(json_error(StatusCode::BAD_REQUEST, kind, message));
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad("invalid_json", &format!("the body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(bad(
            "invalid_request",
            "the body must be a JSON object: {\"message\": \"...\", \"source_agent\": \"...\"}",
        ));
    };
    let message = match obj.get("message") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(bad("invalid_request", "\"message\" must not be empty"));
        }
        Some(_) => return Err(bad("invalid_request", "\"message\" must be a string")),
        None => return Err(bad("invalid_request", "\"message\" is required")),
    };
    let source_agent = match obj.get("source_agent") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_AGENT_NAME => {
            Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(Value::String(_)) => {
            return Err(bad(
                "invalid_request",
                &format!("\"source_agent\" must be at most {MAX_AGENT_NAME} characters"),
            ));
        }
        Some(_) => return Err(bad("invalid_request", "\"source_agent\" must be a string")),
    };
    let parent_run_id = match obj.get("parent_run_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_RUN_ID => {
            Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(Value::String(_)) => {
            return Err(bad(
                "invalid_request",
                &format!("\"parent_run_id\" must be at most {MAX_RUN_ID} characters"),
            ));
        }
        Some(_) => return Err(bad("invalid_request", "\"parent_run_id\" must be a string")),
    };
    Ok((message, source_agent, parent_run_id))
}

fn busy_response(message: &str) -> Response {
    let mut response = json_error(StatusCode::SERVICE_UNAVAILABLE, "busy", message);
    response.headers_mut().insert(
        warp::http::header::RETRY_AFTER,
        warp::http::HeaderValue::from_static("1"),
    );
    response
}

/// `POST /`: A2A JSON-RPC. JSON-RPC errors travel in a 200 response, as the
/// JSON-RPC-over-HTTP convention has it; `message/stream` answers with SSE.
pub async fn a2a(app: Arc<App>, body: Bytes) -> Response {
    match rpc::handle(app, &body).await {
        RpcReply::Json(value) => json_response(StatusCode::OK, &value),
        RpcReply::Stream(mut rx) => {
            let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).map(|data| {
                Ok::<_, std::convert::Infallible>(warp::sse::Event::default().data(data))
            });
            warp::sse::reply(warp::sse::keep_alive().stream(events)).into_response()
        }
    }
}

/// `GET /healthz`: Redis state, queued events, runs in flight. Always 200
/// while the agent serves (Redis down is "degraded", not "dead").
pub fn healthz(app: &App) -> Response {
    let events = app.publisher.status();
    let status = if events.connected && events.replication_error.is_none() {
        "ok"
    } else {
        "degraded"
    };
    json_response(
        StatusCode::OK,
        &json!({
            "status": status,
            "agent": app.name,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": app.started.elapsed().as_secs(),
            "model": app.runner.model_description(),
            "redis": {
                "url": app.redis_url_redacted,
                "master": app.redis.master(),
                "sentinel": app.redis.is_sentinel(),
                "failovers": app.redis.failovers(),
                "connected": events.connected,
                "last_error": events.last_error,
                "min_replicas": events.min_replicas,
                "replicas_acked": events.replicas_acked,
                "replication_error": events.replication_error,
            },
            "events": {
                "queued": events.queued,
                "published": events.published,
                "dropped": events.dropped,
                "buffer_limit": events.buffer_limit,
            },
            "runs": {
                "in_flight": app.runner.in_flight(),
                "limit": app.runner.limit(),
            },
        }),
    )
}

/// `GET /metrics`: the connection guard's counters as Prometheus text
/// (header, body and idle deadlines hit; connections refused over the bound).
pub fn metrics(app: &App, authorization: Option<&str>) -> Response {
    if let Err(refused) = super::guard::check_token(app.token.as_deref(), authorization) {
        return refused;
    }
    let mut body = app.http.render("agent");
    body.push_str(&format!(
        "# HELP agent_redis_failovers_total Redis failovers followed (the Sentinels named a new master).\n\
         # TYPE agent_redis_failovers_total counter\n\
         agent_redis_failovers_total {}\n",
        app.redis.failovers()
    ));
    let events = app.publisher.status();
    body.push_str(&format!(
        "# HELP agent_replication_shortfalls_total WAITs that found fewer than --min-replicas replicas (the batch stays queued).\n\
         # TYPE agent_replication_shortfalls_total counter\n\
         agent_replication_shortfalls_total {}\n\
         # HELP agent_events_queued Events accepted and not yet confirmed (with --min-replicas: by enough replicas).\n\
         # TYPE agent_events_queued gauge\n\
         agent_events_queued {}\n",
        events.replication_shortfalls, events.queued
    ));
    if let Some(otlp) = &app.otlp {
        body.push_str(&otlp.render());
    }
    let mut res = warp::reply::Reply::into_response(body);
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// `GET /.well-known/agent-card.json`.
pub fn card(app: &App) -> Response {
    json_response(
        StatusCode::OK,
        &agent_card(
            &app.name,
            &app.base_url,
            &app.runner.model_description(),
            app.token.is_some(),
        ),
    )
}
