//! The SSH server: accepting connections, public-key authentication, and the
//! protocol's own refusal of everything that is not the monitor.
//!
//! Limits (after OpenSSH): 6 authentication attempts per connection
//! (MaxAuthTries), 30 s to authenticate (LoginGraceTime, `--login-grace`),
//! and a per-IP rate of new connections, checked before any SSH work is done.
//! The grace runs from the TCP accept, so it also covers a client that never
//! sends its SSH version line (russh waits for it without a deadline).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::keys::PrivateKey;
use russh::server::{Auth, Config, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use orchestrator_tui::app::prices::Prices;

use crate::guard::Guarded;
use crate::keys::{AuthorizedFile, Viewer, fingerprint};
use crate::session::{self, COMMANDS, Peer, Slot};
use crate::upstream::Upstream;

/// Authentication attempts per connection (OpenSSH's MaxAuthTries).
pub const MAX_AUTH_ATTEMPTS: usize = 6;

/// How long a disconnect may take before the socket is cut.
const CUT_AFTER: Duration = Duration::from_secs(1);

/// Everything connections share.
#[derive(Debug)]
pub struct Shared {
    /// The one upstream.
    pub upstream: Upstream,
    /// The viewers' keys.
    pub authorized: AuthorizedFile,
    /// Live sessions.
    pub sessions: Arc<AtomicUsize>,
    /// Most sessions at once.
    pub max_sessions: usize,
    /// Time from the TCP accept to a successful authentication.
    pub login_grace: Duration,
    /// `--prices`: the runs view's cost column, for every session.
    pub prices: Option<Arc<Prices>>,
}

/// The russh configuration: public key only, the limits above.
pub fn config(host_key: PrivateKey, idle_timeout: Option<Duration>) -> Config {
    Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        max_auth_attempts: MAX_AUTH_ATTEMPTS,
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        inactivity_timeout: idle_timeout,
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        nodelay: true,
        ..Config::default()
    }
}

/// New connections per IP per second; the table is pruned so it stays small.
#[derive(Debug)]
pub struct ConnectRate {
    per_second: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl ConnectRate {
    /// At most `per_second` new connections per IP per second.
    pub fn new(per_second: u32) -> ConnectRate {
        ConnectRate {
            per_second,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a new connection from `ip` is allowed now.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 4096 {
            seen.retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(1));
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(1) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_second
    }
}

/// Accepts connections until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    config: Arc<Config>,
    shared: Arc<Shared>,
    rate: ConnectRate,
    cancel: CancellationToken,
) {
    loop {
        let (stream, addr) = tokio::select! {
            () = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if !rate.allow(addr.ip(), Instant::now()) {
            tracing::warn!(peer = %addr, "connection refused: too many new connections from this address");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let authed = Arc::new(AtomicBool::new(false));
        let handler = Conn {
            shared: shared.clone(),
            addr,
            viewer: None,
            authed: authed.clone(),
        };
        let config = config.clone();
        let cancel = cancel.clone();
        let grace = tokio::time::Instant::now() + shared.login_grace;
        let cut = CancellationToken::new();
        let stream = Guarded::new(stream, cut.clone());
        tokio::spawn(async move {
            tracing::debug!(peer = %addr, "connection");
            let start = russh::server::run_stream(config, stream, handler);
            let running = match tokio::time::timeout_at(grace, start).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::info!(peer = %addr, error = %e, "connection ended before SSH started");
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %addr, "disconnected: not authenticated in time (no SSH version line)");
                    return;
                }
            };
            let handle = running.handle();
            tokio::pin!(running);
            let grace = tokio::time::sleep_until(grace);
            tokio::pin!(grace);
            let mut timed = false;
            let result = loop {
                tokio::select! {
                    r = &mut running => break r,
                    () = &mut grace, if !timed => {
                        timed = true;
                        if !authed.load(Ordering::SeqCst) {
                            tracing::info!(peer = %addr, "disconnected: not authenticated in time");
                            let _ = handle.disconnect(russh::Disconnect::ByApplication,
                                "authentication timeout".into(), "en".into()).await;
                            // A client stuck in key exchange never lets russh
                            // send that: then the socket is cut.
                            match tokio::time::timeout(CUT_AFTER, &mut running).await {
                                Ok(r) => break r,
                                Err(_) => {
                                    cut.cancel();
                                    break (&mut running).await;
                                }
                            }
                        }
                    }
                    () = cancel.cancelled() => {
                        let _ = handle.disconnect(russh::Disconnect::ByApplication,
                            "server shutting down".into(), "en".into()).await;
                        match tokio::time::timeout(CUT_AFTER, &mut running).await {
                            Ok(r) => break r,
                            Err(_) => {
                                cut.cancel();
                                break (&mut running).await;
                            }
                        }
                    }
                }
            };
            match result {
                Ok(()) => tracing::debug!(peer = %addr, "connection closed"),
                Err(e) => tracing::info!(peer = %addr, error = %e, "connection ended"),
            }
        });
    }
}

/// One connection's handler.
struct Conn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    viewer: Option<Viewer>,
    authed: Arc<AtomicBool>,
}

impl Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        })
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        tracing::info!(peer = %self.addr, user, "password refused: public keys only");
        Ok(Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        })
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.shared.authorized.find(offer.public_key).is_some() {
            Ok(Auth::Accept)
        } else {
            tracing::info!(peer = %self.addr, key = %fingerprint(offer.public_key), "unknown key refused");
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match self.shared.authorized.find(key.public_key) {
            Some(viewer) => {
                tracing::info!(peer = %self.addr, user, key = %viewer.fingerprint,
                    comment = %viewer.comment, "authenticated");
                self.viewer = Some(viewer);
                self.authed.store(true, Ordering::SeqCst);
                Ok(Auth::Accept)
            }
            None => Ok(Auth::reject()),
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(viewer) = self.viewer.clone() else {
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        let sessions = &self.shared.sessions;
        let count = sessions.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = Slot::held(sessions.clone());
        if count > self.shared.max_sessions {
            tracing::warn!(peer = %self.addr, max = self.shared.max_sessions, "session refused: at the session limit");
            drop(slot);
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        }
        reply.accept().await;
        let peer = Peer {
            addr: self.addr.to_string(),
            viewer,
        };
        tokio::spawn(session::run(
            channel,
            self.shared.upstream.clone(),
            self.shared.prices.clone(),
            peer,
            slot,
        ));
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if COMMANDS.iter().any(|c| c.as_bytes() == data) {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(peer = %self.addr, subsystem = name, "subsystem refused");
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(peer = %self.addr, "X11 forwarding refused");
        session.channel_failure(channel)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::info!(peer = %self.addr, "agent forwarding refused");
        Ok(false)
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::info!(peer = %self.addr, address, port = *port, "remote forwarding refused");
        Ok(false)
    }
}
