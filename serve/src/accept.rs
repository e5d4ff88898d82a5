//! [`serve`]: the accept loop and one task per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body::Body;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::body::RequestBody;
use crate::io::WatchedStream;
use crate::limits::Limits;
use crate::pending::{Full, Pending, Slot};
use crate::service::Guarded;
use crate::stats::{CloseReason, ConnStats};
use crate::watch::Watch;

/// A pause after an accept error that is not the peer's (out of descriptors):
/// retrying at once would spin; the connections that end meanwhile free some.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves HTTP/1.1 (with upgrades) on `listener` until `shutdown` is
/// cancelled, holding every connection to `limits` and counting in `stats`.
///
/// `service` is a tower service (e.g. `warp::service(routes)`), cloned per
/// connection; each request carries the peer's [`crate::PeerAddr`].
///
/// On shutdown: the listener is closed, connections with no request in
/// progress are closed at once, the others finish their request (still under
/// the body deadline) and close. Returns when all are closed; dropping the
/// future instead aborts them (the caller's drain timeout).
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: CancellationToken,
) where
    S: tower_service::Service<Request<RequestBody>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let pending = Arc::new(Pending::new(
        limits.max_pending,
        limits.max_pending_per_ip,
        stats.clone(),
    ));
    let mut refusals = Refusals::default();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    stats.accepted();
                    match pending.admit(peer.ip()) {
                        Ok(slot) => {
                            connections.spawn(connection(
                                stream,
                                peer,
                                slot,
                                service.clone(),
                                limits,
                                stats.clone(),
                                shutdown.clone(),
                            ));
                        }
                        Err(full) => {
                            stats.closed_by(CloseReason::PendingLimit);
                            refusals.log(full, peer, &limits);
                            drop(stream);
                        }
                    }
                }
                Err(e) => accept_error(e).await,
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// At most one log line per [`REFUSAL_LOG_EVERY`] about refused connections:
/// a flood must not become a flood of log lines (the count is in `/metrics`).
#[derive(Default)]
struct Refusals {
    last_logged: Option<Instant>,
    since_logged: u64,
}

const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

impl Refusals {
    fn log(&mut self, full: Full, peer: SocketAddr, limits: &Limits) {
        self.since_logged += 1;
        if self
            .last_logged
            .is_some_and(|t| t.elapsed() < REFUSAL_LOG_EVERY)
        {
            return;
        }
        let (bound, limit) = match full {
            Full::Total => ("max_pending", limits.max_pending),
            Full::PerIp => ("max_pending_per_ip", limits.max_pending_per_ip),
        };
        tracing::warn!(
            %peer,
            bound,
            limit,
            refused = self.since_logged,
            "too many connections waiting for a request or an upgrade: new ones closed at once (pending_limit in /metrics)"
        );
        self.last_logged = Some(Instant::now());
        self.since_logged = 0;
    }
}

async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind;
    // The peer gave up before accept(): nothing to do.
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
        tracing::error!(error = %e, "out of file descriptors: cannot accept (lower --max-pending or raise the open-files limit, see README)");
    } else {
        tracing::warn!(error = %e, "accept failed");
    }
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

/// One connection, from accept to close or upgrade, racing its deadlines.
async fn connection<S, B>(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    service: S,
    limits: Limits,
    stats: Arc<ConnStats>,
    shutdown: CancellationToken,
) where
    S: tower_service::Service<Request<RequestBody>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(WatchedStream::new(stream, watch.clone()));
    let conn = http1::Builder::new()
        .serve_connection(io, Guarded::new(service, watch.clone(), peer))
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let deadline = watch.deadline(&limits);
        let expiry = async move {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = watch.changed() => {}
            () = expiry => {
                if let Some((at, why)) = watch.deadline(&limits)
                    && at <= tokio::time::Instant::now().into_std()
                {
                    stats.closed_by(why);
                    tracing::debug!(%peer, reason = why.label(), "closing a connection past its deadline");
                    break;
                }
            }
            () = shutdown.cancelled(), if !stopping => {
                stopping = true;
                if watch.phase().awaits_request() {
                    break;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}
