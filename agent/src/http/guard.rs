//! What every POST passes before its handler sees it: the bearer token and
//! the body size limit.
//!
//! Both are checked in the handler rather than as warp rejections, so the
//! answer is always this agent's JSON error with the right status (warp's
//! rejection merging across routes would otherwise turn a 401 into a 405).

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::http::StatusCode;
use warp::reply::Response;

use super::reply::json_error;

/// Compares in time independent of where the strings differ, so the token
/// cannot be guessed byte by byte from response times.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// A `Response` is returned once per refused request: boxing it buys nothing.
#[allow(clippy::result_large_err)]
/// `Ok` when no token is configured or `authorization` is `Bearer <token>`.
pub fn check_token(expected: Option<&str>, authorization: Option<&str>) -> Result<(), Response> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let given = authorization
        .and_then(|h| {
            let (scheme, rest) = h.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        })
        .unwrap_or("");
    if !given.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Ok(());
    }
    let mut response = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or invalid bearer token (send Authorization: Bearer <token>)",
    );
    response.headers_mut().insert(
        warp::http::header::WWW_AUTHENTICATE,
        warp::http::HeaderValue::from_static("Bearer"),
    );
    Err(response)
}

/// Reads the whole body, refusing with 413 as soon as it exceeds `limit`
/// (at once when `Content-Length` already says so).
pub async fn read_body<S, B>(
    content_length: Option<u64>,
    body: S,
    limit: usize,
) -> Result<Bytes, Response>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("the request body exceeds the limit of {limit} bytes"),
        )
    };
    let mut body = std::pin::pin!(body);
    if content_length.is_some_and(|n| n > limit as u64) {
        drain(body).await;
        return Err(too_large());
    }
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| {
            json_error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                &format!("could not read the request body: {e}"),
            )
        })?;
        if out.len() + chunk.remaining() > limit {
            drain(body).await;
            return Err(too_large());
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            let n = piece.len();
            out.extend_from_slice(piece);
            chunk.advance(n);
        }
    }
    Ok(out.freeze())
}

/// Most bytes read and thrown away before refusing a request.
const DRAIN_MAX: usize = 8 * 1024 * 1024;
/// Longest time spent doing so.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what the client is still sending (bounded in bytes
/// and time) before a refusal, so an ordinary client that writes its whole
/// body before reading sees our 401/413 rather than a broken pipe. Past the
/// bound the connection is simply closed.
pub async fn drain<S, B>(body: S)
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut body = std::pin::pin!(body);
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            seen += chunk.remaining();
            if seen > DRAIN_MAX {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(check_token(None, None).is_ok());
        assert!(check_token(Some("s3cret"), Some("Bearer s3cret")).is_ok());
        assert!(check_token(Some("s3cret"), Some("bearer s3cret")).is_ok());
        assert!(check_token(Some("s3cret"), Some("Bearer s3cre")).is_err());
        assert!(check_token(Some("s3cret"), Some("Basic s3cret")).is_err());
        assert!(check_token(Some("s3cret"), None).is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }
}
