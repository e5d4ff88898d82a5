//! A minimal HTTP/1.1 client for loopback probes: `GET /healthz` on the bridge
//! and the agent, `POST /chat` on the agent.
//!
//! One request per connection (`Connection: close`), the whole exchange under a
//! deadline, the body read to the end. Enough for JSON probes; not a general
//! client (no chunked decoding beyond what these servers send, no TLS).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Connecting, writing or reading failed.
    #[error("HTTP {addr}{path}: {source}")]
    Io {
        /// Where.
        addr: SocketAddr,
        /// What.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No complete answer within the deadline.
    #[error("HTTP {addr}{path}: no answer within {timeout:?}")]
    Timeout {
        /// Where.
        addr: SocketAddr,
        /// What.
        path: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The answer is not HTTP, or not JSON where JSON was expected.
    #[error("HTTP {addr}{path}: bad answer: {why}")]
    Bad {
        /// Where.
        addr: SocketAddr,
        /// What.
        path: String,
        /// Why.
        why: String,
    },
}

/// A status code and a body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body (de-chunked when the server chunked it).
    pub body: String,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Response, HttpError> {
    request(addr, "GET", path, None, timeout).await
}

/// `POST path` with a JSON body.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<Response, HttpError> {
    request(addr, "POST", path, Some(body.to_string()), timeout).await
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<String>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let io = |source| HttpError::Io {
        addr,
        path: path.to_string(),
        source,
    };
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(io)?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
        );
        if let Some(b) = &body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = &body {
            req.push_str(b);
        }
        stream.write_all(req.as_bytes()).await.map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(io)?;
        Ok(raw)
    };
    let raw = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout {
            addr,
            path: path.to_string(),
            timeout,
        })??;
    parse(&raw).ok_or_else(|| HttpError::Bad {
        addr,
        path: path.to_string(),
        why: String::from_utf8_lossy(&raw[..raw.len().min(120)]).into_owned(),
    })
}

fn parse(raw: &[u8]) -> Option<Response> {
    let text = std::str::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Some(Response { status, body })
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        let r = parse(plain).expect("plain");
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
        let chunked =
            b"HTTP/1.1 503 x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        let r = parse(chunked).expect("chunked");
        assert_eq!((r.status, r.body.as_str()), (503, "{\"a\":1}"));
        assert!(parse(b"garbage").is_none());
    }
}
