//! A small local WebSocket server for tests: each accepted connection is handed
//! to the test with the request's URI, so the test plays the bridge's part
//! frame by frame (or refuses the upgrade with an HTTP status).

#![allow(dead_code)]
// The handshake callback's error type is tungstenite's, not ours to shrink.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// One accepted connection.
pub struct Conn {
    /// Path and query the client asked for.
    pub uri: String,
    /// The socket.
    pub ws: WebSocketStream<TcpStream>,
}

impl Conn {
    /// A query parameter of the request.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.uri.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Sends one text frame.
    pub async fn send(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send to client");
    }

    /// Sends an agent event with this id (a `tool_use`, so nothing coalesces).
    pub async fn send_event(&mut self, ms: u64) {
        self.send(event(ms)).await;
    }
}

/// An agent event with id `<ms>-0`.
pub fn event(ms: u64) -> String {
    format!(
        r#"{{"type":"error","message":"event {ms}","kind":"test","id":"{ms}-0","agent":"t","run_id":"r","seq":{ms}}}"#
    )
}

/// A `bridge_hello` with the given epoch.
pub fn hello(epoch: &str) -> String {
    format!(
        r#"{{"type":"bridge_hello","version":"test","newest_id":null,"epoch":"{epoch}","filter":{{}},"redis":true,"server_time":1.0}}"#
    )
}

/// The test server.
pub struct Server {
    /// `ws://127.0.0.1:<port>/ws/orchestrator`
    pub url: String,
    conns: mpsc::Receiver<Conn>,
    /// When set, upgrades are refused with this status.
    pub refuse: Arc<Mutex<Option<StatusCode>>>,
    /// Every request URI, refused ones included.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts accepting on a free loopback port.
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, conns) = mpsc::channel(16);
        let refuse: Arc<Mutex<Option<StatusCode>>> = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (refuse2, seen2) = (refuse.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                let refuse = refuse2.clone();
                let seen = seen2.clone();
                tokio::spawn(async move {
                    let uri = Arc::new(Mutex::new(String::new()));
                    let uri2 = uri.clone();
                    let callback =
                        move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                            let u = req.uri().to_string();
                            seen.lock().expect("lock").push(u.clone());
                            *uri2.lock().expect("lock") = u;
                            if let Some(status) = *refuse.lock().expect("lock") {
                                let mut r = ErrorResponse::new(Some("refused by test".into()));
                                *r.status_mut() = status;
                                return Err(r);
                            }
                            Ok(resp)
                        };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await {
                        let uri = uri.lock().expect("lock").clone();
                        let _ = tx.send(Conn { uri, ws }).await;
                    }
                });
            }
        });
        Server {
            url: format!("ws://{addr}/ws/orchestrator"),
            conns,
            refuse,
            seen,
        }
    }

    /// The next accepted connection (waits up to 10 s).
    pub async fn next(&mut self) -> Conn {
        tokio::time::timeout(Duration::from_secs(10), self.conns.recv())
            .await
            .expect("a connection within 10 s")
            .expect("server running")
    }

    /// Drains the client's side: reads until the client goes away.
    pub fn drain(conn: Conn) {
        tokio::spawn(async move {
            let mut ws = conn.ws;
            while let Some(Ok(_)) = ws.next().await {}
        });
    }
}
