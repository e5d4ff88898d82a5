//! Starting and stopping a bridge: [`run`].
//!
//! `run` takes an already-bound listener (tests bind port 0; the binary binds
//! the configured address and reports a taken port itself) and a
//! [`CancellationToken`]. Cancelling it stops accepting, sends every client a
//! close frame (1001) and returns within about 1.5 s.

use std::sync::Arc;
use std::time::Duration;

use orchestrator_events::config::redact_url;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ConfigError};
use crate::error::BridgeError;
use crate::hub::Hub;
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::state::{RedisState, Shared};
use crate::store::Store;
use crate::{routes, subscriber};

/// How long connections get to close after the stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// Serves the bridge on `listener` until `shutdown` is cancelled.
///
/// Redis being unreachable is not an error: the bridge serves, reports
/// `"redis": "down"` and reconnects in the background. Errors are settings
/// that cannot work and an unusable listener.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), BridgeError> {
    config.validate()?;
    // Before any connection: `rediss://` needs a rustls crypto provider.
    orchestrator_events::tls::install_crypto_provider();
    let addr = listener.local_addr()?;
    disable_nagle(&listener);
    bound_send_buffer(&listener);
    let source = config.redis_source()?;
    let store = Store::new(&source, &config.stream).map_err(|e| ConfigError::RedisUrl {
        url: redact_url(&config.redis_url),
        reason: e.to_string(),
    })?;
    let metrics = Arc::new(Metrics::new());
    let shared = Arc::new(Shared {
        hub: Arc::new(Hub::new(metrics.clone())),
        limiter: Limiter::new(
            config.max_connections,
            config.max_connections_per_ip,
            config.new_connections_per_ip_per_sec,
        ),
        metrics,
        store,
        stream_usage: Default::default(),
        redis: RedisState::default(),
        shutdown: shutdown.clone(),
        tracker: TaskTracker::new(),
        http: Arc::new(orchestrator_serve::ConnStats::new()),
        config,
    });
    // Every connection holds a descriptor: WebSockets plus pending ones.
    let needed = (shared.config.max_connections + shared.config.http.max_pending) as u64 + 64;
    orchestrator_serve::fdlimit::raise_and_log("bridge", needed);
    tracing::info!(
        listen = %addr,
        redis = %redact_url(&shared.config.redis_url),
        channel = %shared.config.channel,
        stream = %shared.config.stream,
        auth = shared.config.token.is_some(),
        "bridge listening"
    );

    let subscriber = tokio::spawn(subscriber::run(shared.clone(), source));
    let server = orchestrator_serve::serve(
        listener,
        warp::service(routes::routes(shared.clone())),
        shared.config.http,
        shared.http.clone(),
        shutdown.clone(),
    );
    tokio::pin!(server);
    tokio::select! {
        _ = &mut server => {}
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {}
    }

    // Connection tasks see the same token and send their close frames.
    shared.tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, shared.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = shared.tracker.len(),
            "some connections did not close in time"
        );
    }
    subscriber.abort();
    tracing::info!("bridge stopped");
    Ok(())
}

/// Turns Nagle's algorithm off for every connection the listener accepts
/// (Linux copies `TCP_NODELAY` from the listening socket to accepted ones;
/// warp's acceptor offers no hook to set it per connection). Frames are small
/// and already batched per flush, so waiting for an ACK before sending the next
/// one only adds latency (measured with `bench/examples/nodelay_ab.rs`; the
/// numbers are in BENCHMARKS.md). Failing to set it costs
/// latency, not correctness, so it is logged, not fatal.
fn disable_nagle(listener: &TcpListener) {
    if let Err(e) = socket2::SockRef::from(listener).set_tcp_nodelay(true) {
        tracing::warn!(error = %e, "cannot set TCP_NODELAY on the listener; frames may be delayed");
    }
}

/// Kernel send buffer of each WebSocket connection. Linux grows it up to
/// `tcp_wmem`'s max (4 MiB here) for a peer that stops reading, so a stalled
/// client could pin megabytes of kernel memory before the bridge's own bounded
/// queue and write timeout notice. 256 KiB still holds over a thousand ~200 B
/// frames in flight per client. Set on the listener; accepted sockets inherit it.
pub const SEND_BUFFER_BYTES: usize = 256 * 1024;

fn bound_send_buffer(listener: &TcpListener) {
    if let Err(e) = socket2::SockRef::from(listener).set_send_buffer_size(SEND_BUFFER_BYTES) {
        tracing::warn!(error = %e, "cannot bound the send buffer; a stalled client may hold more kernel memory");
    }
}

#[cfg(test)]
mod nagle_tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_inherit_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        disable_nagle(&listener);
        let addr = listener.local_addr().expect("addr");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        assert!(
            accepted.nodelay().expect("getsockopt"),
            "TCP_NODELAY not inherited"
        );
    }

    #[tokio::test]
    async fn accepted_connections_inherit_the_bounded_send_buffer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        bound_send_buffer(&listener);
        let addr = listener.local_addr().expect("addr");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let size = socket2::SockRef::from(&accepted)
            .send_buffer_size()
            .expect("getsockopt");
        // Linux reports twice the value set (bookkeeping overhead), and keeps it
        // fixed: no auto-tuning up to tcp_wmem's max.
        assert!(
            (SEND_BUFFER_BYTES..=2 * SEND_BUFFER_BYTES).contains(&size),
            "send buffer {size}"
        );
    }
}
