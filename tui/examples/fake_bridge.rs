//! A stand-in bridge for trying the monitor without Redis or an agent:
//! serves `/ws/orchestrator` on the given port and plays an endless series of
//! runs (reasoning, tool calls with results, streamed text, run ends, the odd
//! error and malformed frame), about ten events a second per client. It
//! honours `since=` by skipping ids at or below it.
//!
//! ```sh
//! cargo run -p orchestrator-tui --example fake_bridge -- 8123
//! cargo run -p orchestrator-tui -- ws://127.0.0.1:8123/ws/orchestrator
//! ```

#![allow(clippy::result_large_err)] // tungstenite's handshake callback type

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The scripted events of run `n`, without envelope.
fn run(n: u64) -> Vec<(u64, String)> {
    let tool = ["web_search", "store_research_plan", "fetch_page"][(n % 3) as usize];
    let ok = n % 4 != 3;
    let mut out = vec![
        (
            0,
            format!(
                r#""type":"run_started","input":"Question number {n}: plan a trip","source":"chat""#
            ),
        ),
        (
            150,
            r#""type":"reasoning","content":"The user wants a plan. ""#.to_string(),
        ),
        (
            150,
            r#""type":"reasoning","content":"I should search first.""#.to_string(),
        ),
        (
            100,
            format!(
                r#""type":"tool_use","tool_name":"{tool}","tool_input":{{"q":"Lisbon {n}"}},"tool_use_id":"tu_{n}""#
            ),
        ),
        (
            1200,
            format!(
                r#""type":"tool_result","tool_use_id":"tu_{n}","tool_name":"{tool}","status":"{}","output":"{}","duration_ms":1200"#,
                if ok { "success" } else { "error" },
                if ok { "3 results" } else { "timeout" }
            ),
        ),
    ];
    for word in
        "Here is the plan: fly on Monday, stay near the old town, and visit the museums on Tuesday."
            .split_inclusive(' ')
    {
        out.push((80, format!(r#""type":"text_generation","data":"{word}""#)));
    }
    out.push((50, r#""type":"run_finished","status":"completed","duration_ms":4200,"usage":{"input_tokens":812,"output_tokens":95}"#.to_string()));
    if n % 5 == 4 {
        out.push((
            100,
            r#""type":"error","message":"rate limited, retrying","kind":"model""#.to_string(),
        ));
    }
    out
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8123);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("fake bridge on ws://127.0.0.1:{port}/ws/orchestrator");
    let seq = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, _) = listener.accept().await?;
        let seq = seq.clone();
        tokio::spawn(async move {
            let mut since = 0u64;
            let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                if let Some(q) = req.uri().query() {
                    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                        if k == "since" {
                            since = v
                                .split('-')
                                .next()
                                .and_then(|m| m.parse().ok())
                                .unwrap_or(0);
                        }
                    }
                }
                Ok(resp)
            };
            let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                return;
            };
            let (mut tx, mut rx) = ws.split();
            tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
            let hello = format!(
                r#"{{"type":"bridge_hello","version":"fake","newest_id":null,"epoch":"fake-epoch","filter":{{}},"redis":true,"server_time":{}}}"#,
                now()
            );
            if tx.send(Message::text(hello)).await.is_err() {
                return;
            }
            for n in 0.. {
                for (i, (delay, body)) in run(n).into_iter().enumerate() {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let id = seq.fetch_add(1, Ordering::Relaxed);
                    if id <= since {
                        continue;
                    }
                    let agent = if n % 2 == 0 {
                        "orchestrator"
                    } else {
                        "planner"
                    };
                    let text = format!(
                        r#"{{{body},"id":"{id}-0","agent":"{agent}","run_id":"run-{:012x}","seq":{i},"timestamp":{}}}"#,
                        (n + 1).wrapping_mul(0x9e37_79b9_7f4a),
                        now()
                    );
                    if tx.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                if n % 7 == 6 && tx.send(Message::text("{this is not json")).await.is_err() {
                    return;
                }
            }
        });
    }
}
