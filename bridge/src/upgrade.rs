//! The WebSocket handshake, done on hyper's upgrade directly.
//!
//! warp's own `ws()` filter hands out a `Message::text(String)` API, which would
//! cost one copy of every frame per client. Here the request headers are
//! checked (RFC 6455 §4.2.1), the `101` answer is built, and once hyper hands
//! over the connection it is wrapped in a tokio-tungstenite stream whose text
//! frames take shared `Utf8Bytes`.

use std::future::Future;

use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::hyper::upgrade::{OnUpgrade, Upgraded};
use warp::reply::Response as Reply;

use crate::config::Config;

/// A server-side WebSocket over an upgraded HTTP connection.
pub type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// Write-buffer size before tungstenite writes to the socket: frames fed
/// between two flushes go out in as few writes as possible.
const WRITE_BUFFER: usize = 64 * 1024;
/// Read buffer of each connection. Clients send little (pongs, close), and the
/// buffer is allocated eagerly, so it is the main cost of an idle connection.
const READ_BUFFER: usize = 1024;

/// Checks that the request asks for a WebSocket (version 13) and returns its key.
pub fn check(headers: &HeaderMap) -> Result<HeaderValue, &'static str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(
            "this endpoint speaks WebSocket: send Connection: Upgrade and Upgrade: websocket",
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err("unsupported WebSocket version (Sec-WebSocket-Version must be 13)");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or("missing Sec-WebSocket-Key")
}

/// The tungstenite settings for a client connection.
pub fn ws_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + config.max_event_bytes + 64 * 1024)
        .max_message_size(Some(config.max_inbound_message_bytes))
        .max_frame_size(Some(config.max_inbound_message_bytes))
}

/// Answers `101 Switching Protocols` and spawns `serve` on the connection once
/// hyper hands it over (with `spawn`, so the caller can track the task).
pub fn accept<F, Fut>(
    key: &HeaderValue,
    on_upgrade: OnUpgrade,
    ws_config: WebSocketConfig,
    spawn: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
    serve: F,
) -> Reply
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn(Box::pin(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config),
                )
                .await;
                serve(ws).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    }));
    let accept = derive_accept_key(key.as_bytes());
    let mut res = warp::Reply::into_response(warp::reply());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn accepts_a_proper_upgrade_and_refuses_the_rest() {
        let good = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]);
        assert!(check(&good).is_ok());
        assert!(check(&headers(&[])).is_err());
        let old = headers(&[
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "x"),
        ]);
        assert!(check(&old).unwrap_err().contains("version"));
    }
}
