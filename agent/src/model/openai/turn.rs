//! One assistant turn over HTTP: POST the request (retrying 429 and 5xx),
//! then read the body chunk by chunk into [`Delta`]s.
//!
//! Every wait is bounded: connecting and each chunk get the configured
//! timeout, retries are counted and their waits capped. The turn is a plain
//! stream with no task behind it, so dropping it (a cancelled run) drops the
//! response and closes the connection at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Response, Url};

use super::decode::Decoder;
use super::{retry, wire};
use crate::model::{Delta, DeltaStream, ModelError, TurnRequest};

/// Largest error body or non-streamed answer read into memory.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Everything a turn needs from the configuration, shared by all turns.
#[derive(Debug)]
pub struct Endpoint {
    /// Client with the connect timeout set; its pool is reused across turns.
    pub client: reqwest::Client,
    /// The `/chat/completions` URL.
    pub url: Url,
    /// The URL without secrets, for messages.
    pub shown_url: String,
    /// `Bearer …`, marked sensitive; `None` for servers without keys.
    pub authorization: Option<HeaderValue>,
    /// The `model` field of every request.
    pub model: String,
    /// Connect, headers and inter-chunk timeout.
    pub timeout: Duration,
    /// Retries after a 429 or 5xx.
    pub max_retries: u32,
}

/// Starts a turn: nothing happens until the stream is first polled.
pub fn stream(endpoint: Arc<Endpoint>, request: &TurnRequest) -> DeltaStream {
    let body = wire::request_body(&endpoint.model, request);
    let turn = Turn {
        decoder: Decoder::new(&short_id()),
        body: Bytes::from(body.to_string()),
        endpoint,
        phase: Phase::Start,
        ready: VecDeque::new(),
    };
    Box::pin(futures_util::stream::unfold(turn, |mut turn| async move {
        let item = turn.next().await?;
        Some((item, turn))
    }))
}

enum Phase {
    /// The request has not been sent.
    Start,
    /// Reading the streamed body.
    Streaming(BoxStream<'static, reqwest::Result<Bytes>>),
    /// Failed: the error goes out once the deltas decoded before it have.
    Failed(ModelError),
    /// Nothing more to read.
    Done,
}

struct Turn {
    endpoint: Arc<Endpoint>,
    body: Bytes,
    decoder: Decoder,
    phase: Phase,
    /// Decoded deltas not yet handed out.
    ready: VecDeque<Delta>,
}

impl Turn {
    async fn next(&mut self) -> Option<Result<Delta, ModelError>> {
        loop {
            if let Some(delta) = self.ready.pop_front() {
                return Some(Ok(delta));
            }
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Failed(error) => return Some(Err(error)),
                Phase::Start => self.phase = self.start().await,
                Phase::Streaming(mut body) => {
                    self.phase = match self.read(&mut body).await {
                        Ok(true) => Phase::Streaming(body),
                        Ok(false) => Phase::Done,
                        Err(error) => Phase::Failed(error),
                    }
                }
            }
        }
    }

    /// Sends the request; a streamed answer moves on to reading, a whole
    /// JSON answer (a server that ignored `stream: true`) is decoded at once.
    async fn start(&mut self) -> Phase {
        let response = match send(&self.endpoint, &self.body).await {
            Ok(response) => response,
            Err(error) => return Phase::Failed(error),
        };
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !is_json {
            return Phase::Streaming(response.bytes_stream().boxed());
        }
        let body = match read_bounded(response, self.endpoint.timeout).await {
            Ok(body) => body,
            Err(error) => return Phase::Failed(error),
        };
        let mut out = Vec::new();
        let result = self.decoder.whole(&body, &mut out);
        self.ready.extend(out);
        match result {
            Ok(()) => Phase::Done,
            Err(error) => Phase::Failed(error),
        }
    }

    /// Reads one chunk. `Ok(true)`: keep reading; `Ok(false)`: the turn is complete.
    async fn read(
        &mut self,
        body: &mut BoxStream<'static, reqwest::Result<Bytes>>,
    ) -> Result<bool, ModelError> {
        let timeout = self.endpoint.timeout;
        let next = tokio::time::timeout(timeout, body.next())
            .await
            .map_err(|_| ModelError::Timeout(seconds(timeout)))?;
        let mut out = Vec::new();
        let result = match next {
            Some(Ok(bytes)) => self
                .decoder
                .feed(&bytes, &mut out)
                .map(|()| !self.decoder.is_done()),
            Some(Err(error)) if error.is_timeout() => Err(ModelError::Timeout(seconds(timeout))),
            Some(Err(error)) => Err(ModelError::Protocol(format!(
                "stream cut short: {}",
                chain(error)
            ))),
            None => self.decoder.finish(&mut out).map(|()| false),
        };
        self.ready.extend(out);
        result
    }
}

/// POSTs the request, retrying 429 and 5xx answers up to `max_retries` times.
async fn send(endpoint: &Endpoint, body: &Bytes) -> Result<Response, ModelError> {
    let timeout = endpoint.timeout;
    let mut attempt = 0;
    loop {
        let mut request = endpoint
            .client
            .post(endpoint.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .body(body.clone());
        if let Some(authorization) = &endpoint.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        tracing::debug!(url = %endpoint.shown_url, model = %endpoint.model, attempt, "model request");
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return Err(ModelError::Timeout(seconds(timeout))),
            Ok(Err(error)) => return Err(send_error(endpoint, error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let wait = retry::wait(attempt, response.headers());
        let message = error_body(response, timeout).await;
        if retry::retryable(status) && attempt < endpoint.max_retries {
            attempt += 1;
            tracing::warn!(
                status = status.as_u16(),
                %message,
                retry = attempt,
                of = endpoint.max_retries,
                wait_ms = wait.as_millis() as u64,
                "model endpoint busy or failing; retrying"
            );
            tokio::time::sleep(wait).await;
            continue;
        }
        return Err(ModelError::Status {
            status: status.as_u16(),
            message,
        });
    }
}

fn send_error(endpoint: &Endpoint, error: reqwest::Error) -> ModelError {
    if error.is_timeout() {
        return ModelError::Timeout(seconds(endpoint.timeout));
    }
    let connect = error.is_connect();
    let message = format!("{}: {}", endpoint.shown_url, chain(error));
    if connect {
        ModelError::Connect(message)
    } else {
        ModelError::Protocol(format!("request failed: {message}"))
    }
}

/// The server's message from an error answer, or the status's name.
async fn error_body(response: Response, timeout: Duration) -> String {
    let status = response.status();
    let fallback = || status.canonical_reason().unwrap_or("error").to_owned();
    match read_bounded(response, timeout).await {
        Ok(body) => wire::error_message(&String::from_utf8_lossy(&body)).unwrap_or_else(fallback),
        Err(_) => fallback(),
    }
}

/// Reads a whole body, each chunk within `timeout`, at most [`MAX_BODY`] bytes.
async fn read_bounded(mut response: Response, timeout: Duration) -> Result<Vec<u8>, ModelError> {
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(timeout, response.chunk())
            .await
            .map_err(|_| ModelError::Timeout(seconds(timeout)))?
            .map_err(|e| ModelError::Protocol(format!("answer cut short: {}", chain(e))))?;
        let Some(chunk) = chunk else { return Ok(body) };
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ModelError::Protocol(format!(
                "answer larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
}

/// An error and its causes on one line, without the URL (given separately, cleaned).
fn chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whole seconds for [`ModelError::Timeout`], rounded up so 300 ms is not "0 s".
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// A short random id, to name tool calls a server sent without one.
fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}
