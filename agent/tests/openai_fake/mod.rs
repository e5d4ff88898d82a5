//! A fake OpenAI-compatible endpoint for the tests: a plain tokio TCP server
//! that reads real HTTP/1.1 requests and answers with scripted replies —
//! server-sent events written in separate, delayed writes (so they arrive
//! split), error statuses, a server that never answers, a stream cut short.
//!
//! Each connection serves one request and then closes (`connection: close`),
//! and every request is captured (headers and JSON body) for assertions.

#![allow(dead_code)] // each test file uses a different part of the helper

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How a reply's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Properly: the last chunk, then close.
    Complete,
    /// Close the connection without ending the body (a crash, a cut cable).
    Cut,
    /// Keep the connection open and wait until the client closes it.
    Hang,
}

/// How the body of a streamed reply is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `transfer-encoding: chunked`, one HTTP chunk per piece.
    Chunked,
    /// No length: the body ends when the server closes the connection.
    Close,
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 text/event-stream`, the pieces written one by one, `delay` apart.
    Sse {
        pieces: Vec<String>,
        delay: Duration,
        framing: Framing,
        end: End,
    },
    /// Any status with a body (JSON error bodies, `application/json` answers).
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        content_type: String,
        body: String,
    },
    /// Read the request and never answer.
    Silent,
}

impl Reply {
    /// A complete, chunked event stream with a small delay between pieces.
    pub fn sse(pieces: Vec<String>) -> Reply {
        Reply::Sse {
            pieces,
            delay: Duration::from_millis(5),
            framing: Framing::Chunked,
            end: End::Complete,
        }
    }

    /// An error status with a JSON body.
    pub fn status(status: u16, body: Value) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: body.to_string(),
        }
    }

    /// Adds a response header to a [`Reply::Status`].
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// `data: {json}` plus the blank line that ends the event.
pub fn data(json: Value) -> String {
    format!("data: {json}\n\n")
}

/// The end-of-stream marker.
pub fn done() -> String {
    "data: [DONE]\n\n".into()
}

/// A chunk whose first choice has this delta.
pub fn delta(delta: Value) -> String {
    data(serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": null}],
    }))
}

/// The chunk that ends the choice.
pub fn finish(reason: &str) -> String {
    data(serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
    }))
}

/// The usage chunk sent with `stream_options.include_usage`.
pub fn usage(prompt: u64, completion: u64) -> String {
    data(serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }))
}

/// A tool-call fragment for `index`.
pub fn tool_fragment(index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) -> String {
    let mut call = serde_json::json!({"index": index, "function": {"arguments": arguments}});
    if let Some(id) = id {
        call["id"] = id.into();
        call["type"] = "function".into();
    }
    if let Some(name) = name {
        call["function"]["name"] = name.into();
    }
    delta(serde_json::json!({"tool_calls": [call]}))
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// `POST /v1/chat/completions`.
    pub request_line: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
}

/// A running fake endpoint; stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    captured: Arc<Mutex<Vec<Captured>>>,
    closed: tokio::sync::Mutex<mpsc::UnboundedReceiver<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts a server answering the requests with `replies`, in order; once
    /// they are used up it answers 500.
    pub async fn start(replies: Vec<Reply>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake endpoint");
        let addr = listener.local_addr().expect("fake endpoint address");
        let captured = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (closed_tx, closed_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn({
            let captured = Arc::clone(&captured);
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let captured = Arc::clone(&captured);
                    let script = Arc::clone(&script);
                    let closed_tx = closed_tx.clone();
                    tokio::spawn(async move {
                        serve(socket, captured, script, closed_tx).await;
                    });
                }
            }
        });
        FakeServer {
            addr,
            captured,
            closed: tokio::sync::Mutex::new(closed_rx),
            task,
        }
    }

    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Captured> {
        self.captured.lock().expect("captured requests").clone()
    }

    /// Waits (up to `within`) until a client closed a connection the server
    /// was holding open ([`End::Hang`]). True if it did.
    pub async fn client_closed(&self, within: Duration) -> bool {
        let mut closed = self.closed.lock().await;
        matches!(
            tokio::time::timeout(within, closed.recv()).await,
            Ok(Some(()))
        )
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: TcpStream,
    captured: Arc<Mutex<Vec<Captured>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    closed_tx: mpsc::UnboundedSender<()>,
) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    captured.lock().expect("captured requests").push(request);
    let reply = script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or_else(|| {
            Reply::status(
                500,
                serde_json::json!({"error": {"message": "fake endpoint: no reply scripted"}}),
            )
        });
    match reply {
        Reply::Silent => {
            let mut buf = [0u8; 64];
            while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
        }
        Reply::Status {
            status,
            headers,
            content_type,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Fake\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
        Reply::Sse {
            pieces,
            delay,
            framing,
            end,
        } => {
            let framing_header = match framing {
                Framing::Chunked => "transfer-encoding: chunked\r\n",
                Framing::Close => "",
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n{framing_header}connection: close\r\n\r\n"
            );
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for piece in pieces {
                tokio::time::sleep(delay).await;
                let bytes = match framing {
                    Framing::Chunked => format!("{:x}\r\n{piece}\r\n", piece.len()),
                    Framing::Close => piece,
                };
                if socket.write_all(bytes.as_bytes()).await.is_err()
                    || socket.flush().await.is_err()
                {
                    let _ = closed_tx.send(());
                    return;
                }
            }
            match end {
                End::Complete => {
                    if framing == Framing::Chunked {
                        let _ = socket.write_all(b"0\r\n\r\n").await;
                    }
                    let _ = socket.shutdown().await;
                }
                End::Cut => {
                    let _ = socket.shutdown().await;
                }
                End::Hang => {
                    let mut buf = [0u8; 64];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    let _ = closed_tx.send(());
                }
            }
        }
    }
}

/// Reads one HTTP/1.1 request with a `content-length` body.
async fn read_request(socket: &mut TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Captured {
        request_line,
        headers,
        body,
    })
}
