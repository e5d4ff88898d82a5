//! Redis behind TLS (`rediss://`) and behind a password, end to end.
//!
//! - In process: the agent (`orchestrator_agent::run`) publishes and the bridge
//!   (`orchestrator_bridge::run`) delivers, live and replayed, to a WebSocket
//!   client, both over `rediss://…/#insecure` (a process cannot hand its own
//!   test CA to the redis crate through a URL).
//! - As binaries: the same over *verified* TLS with a password, the test CA
//!   trusted through `SSL_CERT_FILE`; a bridge that does not trust the CA
//!   refuses the server and says why; no log or `/healthz` shows the password.
//! - The bridge with a password-protected (plain) Redis: right password
//!   delivers, wrong password is "down" with the password hidden.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orchestrator_events::publish::{Target, publish_batch, script};
use serde_json::{Value, json};
use testkit::{ChildGuard, RedisServer, TlsFiles, free_port, wait_for_port, workspace_bin};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A service running in this process on 127.0.0.1:<port>.
struct InProcess<E> {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<Result<(), E>>,
}

impl<E> InProcess<E> {
    async fn shutdown(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn bridge_in_process(redis_url: &str) -> InProcess<orchestrator_bridge::BridgeError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = orchestrator_bridge::Config {
        redis_url: redis_url.to_string(),
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(orchestrator_bridge::run(listener, config, stop.clone()));
    InProcess { addr, stop, task }
}

async fn agent_in_process(redis_url: &str) -> InProcess<orchestrator_agent::AgentError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = orchestrator_agent::Config {
        redis_url: redis_url.to_string(),
        pace: Duration::ZERO,
        shutdown_grace: Duration::from_secs(2),
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(orchestrator_agent::run(listener, config, stop.clone()));
    InProcess { addr, stop, task }
}

/// `GET http://addr/healthz` as JSON (or `null` while it does not answer).
async fn healthz(addr: SocketAddr) -> Value {
    let Ok(resp) = reqwest::get(format!("http://{addr}/healthz")).await else {
        return Value::Null;
    };
    resp.json().await.unwrap_or(Value::Null)
}

/// Polls the bridge's `/healthz` until Redis is up; returns the body.
async fn bridge_redis_up(addr: SocketAddr) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let health = healthz(addr).await;
        if health["redis"] == "up" {
            return health;
        }
        assert!(
            Instant::now() < deadline,
            "the bridge never reached Redis: {health}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens `/ws/orchestrator?query` and reads the `bridge_hello`.
async fn connect_ws(addr: SocketAddr, query: &str) -> Ws {
    let url = format!("ws://{addr}/ws/orchestrator?{query}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("WebSocket connects");
    let hello = next_frame(&mut ws).await;
    assert_eq!(hello["type"], "bridge_hello", "{hello}");
    ws
}

/// The next text frame as JSON (control frames are skipped); 20 s at most.
async fn next_frame(ws: &mut Ws) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a frame within 20 s")
            .expect("the connection stays open")
            .expect("a valid frame");
        if let Message::Text(text) = msg {
            return serde_json::from_str(text.as_str()).expect("frames are JSON");
        }
    }
}

/// Frames until `run_id`'s `run_finished`; returns that run's events.
async fn read_run(ws: &mut Ws, run_id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let frame = next_frame(ws).await;
        if frame["run_id"] != run_id {
            continue;
        }
        let done = frame["type"] == "run_finished";
        events.push(frame);
        if done {
            return events;
        }
    }
}

/// Checks one whole, ordered run that completed.
fn assert_complete_run(events: &[Value], input: &str) {
    assert_eq!(events[0]["type"], "run_started", "{events:?}");
    assert_eq!(events[0]["input"], input);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "run_finished");
    assert_eq!(last["status"], "completed", "{last}");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i, "seq in order, none missing: {events:?}");
        assert!(e["id"].is_string(), "every event has its stream id: {e}");
    }
}

/// `POST /chat` (with a bearer token when given); returns the run id once
/// the reply is complete.
async fn chat(agent: SocketAddr, message: &str, token: Option<&str>) -> String {
    let mut request = reqwest::Client::new()
        .post(format!("http://{agent}/chat"))
        .json(&json!({"message": message, "source_agent": "tls-test"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply: Value = request
        .send()
        .await
        .expect("agent answers")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("JSON reply");
    reply["run_id"].as_str().expect("run_id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_publishes_and_bridge_delivers_over_rediss_in_process() {
    let redis = RedisServer::start_tls().expect("TLS redis-server");
    let url = redis.insecure_url();
    assert!(url.starts_with("rediss://"));

    let bridge = bridge_in_process(&url).await;
    let health = bridge_redis_up(bridge.addr).await;
    assert_eq!(health["redis_url"], url, "nothing to hide in this URL");
    let mut live = connect_ws(bridge.addr, "").await;

    let agent = agent_in_process(&url).await;
    let input = "Please store this plan over TLS: 1. encrypt 2. deliver";
    let run_id = chat(agent.addr, input, None).await;

    let live_run = read_run(&mut live, &run_id).await;
    assert_complete_run(&live_run, input);

    // The agent wrote the stream over TLS too: a late client replays the run,
    // byte for byte the frames that went out live.
    let mut late = connect_ws(bridge.addr, &format!("run_id={run_id}&last=1000")).await;
    let replayed = read_run(&mut late, &run_id).await;
    assert_eq!(replayed, live_run);

    let agent_health = healthz(agent.addr).await;
    assert_eq!(agent_health["redis"]["connected"], true, "{agent_health}");
    agent.shutdown().await;
    bridge.shutdown().await;
}

/// A service binary with its own environment; log in `dir`, killed on drop.
struct Binary {
    _child: ChildGuard,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Binary {
    fn start(package: &str, bin: &str, env: &[(&str, &str)], dir: &Path) -> Binary {
        let path = workspace_bin(package, bin).expect("binary available");
        let port = free_port().expect("port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = dir.join(format!("{bin}-{port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(path)
            .arg("--listen")
            .arg(addr.to_string())
            .env_remove("REDIS_URL")
            .envs(env.iter().copied())
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("spawn");
        let service = Binary {
            _child: ChildGuard(child),
            addr,
            log,
        };
        assert!(
            wait_for_port(addr, Duration::from_secs(20)),
            "{bin} did not listen; log:\n{}",
            service.log_text()
        );
        service
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls the log until it contains `needle` (20 s at most); returns it.
    async fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log_text();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < deadline, "{needle:?} never logged:\n{log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binaries_verify_the_certificate_and_never_show_a_secret() {
    let password = "tls-pass-5b2e";
    let agent_token = "agent-token-81c4";
    let bridge_token = "bridge-token-0d97";
    let redis = RedisServer::start_tls_with_password(password).expect("TLS redis-server");
    let tls = redis.tls().expect("TLS files");
    let ca = tls.ca_cert.to_str().expect("utf-8 path");
    let url = redis.url();
    assert!(url.starts_with("rediss://") && !url.contains("#insecure"));
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("REDIS_URL", url.as_str()), ("SSL_CERT_FILE", ca)];

    let bridge = Binary::start(
        "orchestrator-bridge",
        "orchestrator-bridge",
        &[env[0], env[1], ("ORCH_BRIDGE_TOKEN", bridge_token)],
        dir.path(),
    );
    let agent = Binary::start(
        "orchestrator-agent",
        "orchestrator-agent",
        &[
            env[0],
            env[1],
            ("ORCH_PACE_MS", "0"),
            ("ORCH_AGENT_TOKEN", agent_token),
        ],
        dir.path(),
    );
    let bridge_health = bridge_redis_up(bridge.addr).await;
    let mut ws = connect_ws(bridge.addr, &format!("token={bridge_token}")).await;
    let input = "Store the verified plan, then list it";
    let run_id = chat(agent.addr, input, Some(agent_token)).await;
    assert_complete_run(&read_run(&mut ws, &run_id).await, input);
    let agent_health = healthz(agent.addr).await;
    assert_eq!(agent_health["redis"]["connected"], true, "{agent_health}");

    // A bridge that trusts another CA must refuse this server, and say why.
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).expect("dir");
    let other = TlsFiles::generate(&other_dir).expect("second CA");
    let other_ca = other.ca_cert.to_str().expect("utf-8 path");
    let doubter = Binary::start(
        "orchestrator-bridge",
        "orchestrator-bridge",
        &[env[0], ("SSL_CERT_FILE", other_ca)],
        dir.path(),
    );
    let refused = doubter.wait_log("cannot reach Redis").await;
    assert!(
        refused.to_lowercase().contains("certificate"),
        "the reason names the certificate:\n{refused}"
    );
    assert_eq!(healthz(doubter.addr).await["redis"], "down");

    // No secret shows anywhere: not in /healthz, not in any log line (trace).
    let shown = [
        bridge_health.to_string(),
        agent_health.to_string(),
        healthz(doubter.addr).await.to_string(),
    ];
    for text in &shown {
        for secret in [password, agent_token, bridge_token] {
            assert!(!text.contains(secret), "{secret} in /healthz: {text}");
        }
    }
    assert!(
        bridge_health["redis_url"]
            .as_str()
            .is_some_and(|u| u.contains("***"))
    );
    for service in [&bridge, &agent, &doubter] {
        let log = service.log_text();
        assert!(!log.is_empty(), "the log was captured");
        for secret in [password, agent_token, bridge_token] {
            assert!(!log.contains(secret), "{secret} in a log:\n{log}");
        }
    }
}

/// Starts the bridge binary on `url`, which Redis refuses (a wrong password):
/// it says it cannot reach Redis, `/healthz` says down, and `secret` shows
/// in neither.
async fn bridge_refused_without_showing(url: &str, secret: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = Binary::start(
        "orchestrator-bridge",
        "orchestrator-bridge",
        &[("REDIS_URL", url)],
        dir.path(),
    );
    let log = refused.wait_log("cannot reach Redis").await;
    assert!(!log.contains(secret), "password in the log:\n{log}");
    let health = healthz(refused.addr).await;
    assert_eq!(health["redis"], "down", "{health}");
    assert!(!health.to_string().contains(secret), "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_delivers_from_a_password_protected_redis_and_hides_the_password() {
    let password = "bridge-redis-pw-e41";
    let redis = RedisServer::start_with_password(password).expect("redis-server");
    let bridge = bridge_in_process(&redis.url()).await;
    let health = bridge_redis_up(bridge.addr).await;
    assert!(!health.to_string().contains(password), "{health}");
    let mut ws = connect_ws(bridge.addr, "types=text_generation").await;

    let client = redis::Client::open(redis.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let events = [
        json!({"type": "reasoning", "content": "filtered out", "run_id": "pw-run", "seq": 0}),
        json!({"type": "text_generation", "data": "behind a password", "run_id": "pw-run", "seq": 1}),
    ]
    .map(|e| e.to_string());
    let ids = publish_batch(&mut conn, &script(), &Target::default(), &events)
        .await
        .expect("published");
    let frame = next_frame(&mut ws).await;
    assert_eq!(frame["data"], "behind a password", "{frame}");
    assert_eq!(frame["id"], ids[1].to_string());

    // The wrong password: refused, Redis "down", and still nothing shows it.
    let wrong = format!("redis://:wrong-{password}@127.0.0.1:{}", redis.port());
    bridge_refused_without_showing(&wrong, password).await;
    bridge.shutdown().await;
}

/// A Redis ACL user (`redis://user:password@…`): the agent's path (publishing
/// through the script) and the bridge both authenticate as that user, and
/// neither shows the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_acl_user_in_the_url_works_and_stays_hidden() {
    let admin_pw = "admin-pw-77";
    let user_pw = "alice-pw-3c9";
    let redis = RedisServer::start_with_password(admin_pw).expect("redis-server");
    let admin = redis::Client::open(redis.url()).expect("url");
    let mut conn = admin
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("alice")
        .arg("on")
        .arg(format!(">{user_pw}"))
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .query_async(&mut conn)
        .await
        .expect("ACL SETUSER");
    let alice_url = format!("redis://alice:{user_pw}@127.0.0.1:{}", redis.port());

    let bridge = bridge_in_process(&alice_url).await;
    let health = bridge_redis_up(bridge.addr).await;
    assert!(!health.to_string().contains(user_pw), "{health}");
    assert!(
        health.to_string().contains("alice"),
        "the user is shown: {health}"
    );
    let mut ws = connect_ws(bridge.addr, "").await;

    let alice = redis::Client::open(alice_url.as_str()).expect("url");
    let mut as_alice = alice
        .get_multiplexed_async_connection()
        .await
        .expect("alice connects");
    let events = [
        json!({"type": "text_generation", "data": "as alice", "run_id": "acl", "seq": 0})
            .to_string(),
    ];
    let ids = publish_batch(&mut as_alice, &script(), &Target::default(), &events)
        .await
        .expect("published as alice");
    let frame = next_frame(&mut ws).await;
    assert_eq!(frame["data"], "as alice", "{frame}");
    assert_eq!(frame["id"], ids[0].to_string());

    // A wrong password for the user is refused, and still never shown.
    let wrong = format!("redis://alice:not-{user_pw}@127.0.0.1:{}", redis.port());
    bridge_refused_without_showing(&wrong, user_pw).await;
    bridge.shutdown().await;
}
