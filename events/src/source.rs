//! Where Redis is: one `REDIS_URL`, plain or through Sentinel, and the client
//! for the node that is master NOW.
//!
//! Every service (agent and its tools, bridge, ingest, `orchestrator-listen`)
//! parses `REDIS_URL` here, once, and asks [`RedisSource::client`] for a
//! client on every (re)connection. A plain `redis://` / `rediss://` URL always
//! gives the same client, so nothing changes for it. A Sentinel URL
//!
//! ```text
//! redis+sentinel://[user:password@]host1:26379,host2:26379/MASTER_NAME[?sentinel_password=…]
//! rediss+sentinel://…   (TLS to the Sentinels and to the data nodes)
//! ```
//!
//! asks the Sentinels, each in turn, for the master's address and checks with
//! `ROLE` that the node really is master before handing out a client (the
//! redis crate's `Sentinel::async_master_for`), so a service never writes to a
//! replica. Why on every reconnection: after a failover the old address is
//! dead (or a replica answering `-READONLY`), and only the Sentinels know the
//! new one — so a dropped connection or a `READONLY` error
//! ([`is_connection_lost`]) sends the caller back here.
//!
//! The source also remembers the master it last handed out (for `/healthz`)
//! and counts how often that changed (failovers followed, for `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisConnectionInfo, RedisError,
    ServerErrorKind, TlsMode,
};

use crate::config::redact_url;

/// The Sentinel port used when a host of a Sentinel URL has none.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// How long one resolution (asking the Sentinels and checking the master) may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A `REDIS_URL` that cannot be used. Never contains a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Redis URL {url}: {reason}")]
pub struct UrlError {
    /// The URL with its passwords replaced by `***`.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why no master client could be had right now. Never contains a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The Sentinels answer but none knows the name: a configuration error.
    #[error(
        "no Sentinel ({sentinels}) monitors a master named {name:?}: check the name at the end of REDIS_URL"
    )]
    UnknownMaster {
        /// The master name from the URL.
        name: String,
        /// The Sentinels asked.
        sentinels: String,
    },
    /// Not one Sentinel could be reached.
    #[error("cannot reach any Sentinel ({sentinels}): {reason}")]
    SentinelsUnreachable {
        /// The Sentinels asked.
        sentinels: String,
        /// The last error.
        reason: String,
    },
    /// The Sentinels know the name, but have no usable master now (failover
    /// in progress, or the named node refuses connections or is not master).
    #[error("no usable master for {name:?} yet ({reason}); failover in progress?")]
    NoMaster {
        /// The master name from the URL.
        name: String,
        /// What the Sentinels or the named node said.
        reason: String,
    },
    /// Asking the Sentinels took too long.
    #[error("timed out asking the Sentinels ({sentinels}) for {name:?}")]
    Timeout {
        /// The master name from the URL.
        name: String,
        /// The Sentinels asked.
        sentinels: String,
    },
}

/// Whether `e` means the connection can no longer be used: the socket is
/// gone or timed out, or the node answered `-READONLY` (it was demoted to a
/// replica by a failover). Either way the caller drops the connection and asks
/// [`RedisSource::client`] again.
pub fn is_connection_lost(e: &RedisError) -> bool {
    if is_readonly(e) {
        return true;
    }
    !matches!(e.kind(), ErrorKind::Server(_) | ErrorKind::Extension)
}

/// Whether `e` is a `-READONLY` reply (also when raised inside a script).
pub fn is_readonly(e: &RedisError) -> bool {
    matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ReadOnly))
        || e.code() == Some("READONLY")
        || e.to_string().contains("READONLY")
}

/// The parsed `REDIS_URL`: cheap to clone, shared by every part of a service.
#[derive(Clone)]
pub struct RedisSource {
    inner: Arc<Inner>,
}

struct Inner {
    kind: Kind,
    /// The URL with passwords hidden, for logs and errors.
    redacted: String,
    /// `host:port` of the master last handed out.
    master: Mutex<Option<String>>,
    /// How often the master handed out changed.
    failovers: AtomicU64,
}

enum Kind {
    Direct(redis::Client),
    Sentinel(SentinelTarget),
}

struct SentinelTarget {
    name: String,
    /// `host:port,…` of the Sentinels, for messages.
    hosts: String,
    sentinels: Vec<ConnectionInfo>,
    node: SentinelNodeConnectionInfo,
    /// The crate's Sentinel keeps one connection per Sentinel; `&mut` to use.
    sentinel: tokio::sync::Mutex<Sentinel>,
}

impl std::fmt::Debug for RedisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSource")
            .field("url", &self.inner.redacted)
            .field("master", &self.master())
            .finish_non_exhaustive()
    }
}

impl From<redis::Client> for RedisSource {
    /// A direct source over an already opened client (tests, benchmarks).
    fn from(client: redis::Client) -> Self {
        let addr = client.get_connection_info().addr().to_string();
        RedisSource {
            inner: Arc::new(Inner {
                kind: Kind::Direct(client),
                redacted: format!("redis://{addr}"),
                master: Mutex::new(Some(addr)),
                failovers: AtomicU64::new(0),
            }),
        }
    }
}

impl From<ResolveError> for RedisError {
    /// For callers that treat "no master now" like "Redis unreachable": an
    /// I/O-kind error, so it counts as a lost connection and is retried.
    fn from(e: ResolveError) -> Self {
        RedisError::from((ErrorKind::Io, "no Redis master", e.to_string()))
    }
}

impl RedisSource {
    /// Parses `url`; connects to nothing.
    pub fn parse(url: &str) -> Result<RedisSource, UrlError> {
        let redacted = redact_url(url);
        let error = |reason: String| UrlError {
            url: redacted.clone(),
            reason,
        };
        let (kind, master) = if let Some((tls, rest)) = sentinel_scheme(url) {
            let target = parse_sentinel(tls, rest).map_err(error)?;
            (Kind::Sentinel(target), None)
        } else {
            let client = redis::Client::open(url)
                .map_err(|e| error(hide(&e.to_string(), url, &redacted)))?;
            let addr = client.get_connection_info().addr().to_string();
            (Kind::Direct(client), Some(addr))
        };
        Ok(RedisSource {
            inner: Arc::new(Inner {
                kind,
                redacted,
                master: Mutex::new(master),
                failovers: AtomicU64::new(0),
            }),
        })
    }

    /// The one client of a plain URL (`None` for a Sentinel URL), for callers
    /// that build a self-reconnecting `ConnectionManager` over it.
    pub fn direct_client(&self) -> Option<redis::Client> {
        match &self.inner.kind {
            Kind::Direct(client) => Some(client.clone()),
            Kind::Sentinel(_) => None,
        }
    }

    /// Whether the URL names Sentinels (rather than one Redis).
    pub fn is_sentinel(&self) -> bool {
        matches!(self.inner.kind, Kind::Sentinel(_))
    }

    /// The URL with passwords hidden.
    pub fn redacted(&self) -> &str {
        &self.inner.redacted
    }

    /// `host:port` of the master last handed out (for a plain URL: its
    /// address), `None` before the Sentinels first answered.
    pub fn master(&self) -> Option<String> {
        lock(&self.inner.master).clone()
    }

    /// How many times the master changed since start: failovers followed.
    pub fn failovers(&self) -> u64 {
        self.inner.failovers.load(Ordering::Relaxed)
    }

    /// A multiplexed connection to the CURRENT master (asking the Sentinels
    /// first for a Sentinel URL) with `timeout` to connect and to answer each
    /// command, so a hung Redis is an error, never a hang. The redis crate's
    /// own default answer timeout (500 ms) would cut a `WAIT` for replicas
    /// short, so every service connects through here with its own bound.
    pub async fn connect(
        &self,
        timeout: Duration,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let client = self.client().await?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// A client for the current master. Plain URL: always the same client,
    /// at once. Sentinel URL: asks the Sentinels (each in turn) and checks the
    /// node's `ROLE`; call it again after every lost connection.
    pub async fn client(&self) -> Result<redis::Client, ResolveError> {
        let target = match &self.inner.kind {
            Kind::Direct(client) => return Ok(client.clone()),
            Kind::Sentinel(target) => target,
        };
        let lookup = async {
            let mut sentinel = target.sentinel.lock().await;
            sentinel
                .async_master_for(&target.name, Some(&target.node))
                .await
        };
        let client = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(self.classify(target, &e).await),
            Err(_) => {
                return Err(ResolveError::Timeout {
                    name: target.name.clone(),
                    sentinels: target.hosts.clone(),
                });
            }
        };
        let addr = client.get_connection_info().addr().to_string();
        let previous = lock(&self.inner.master).replace(addr.clone());
        match previous {
            Some(old) if old != addr => {
                self.inner.failovers.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    master = %target.name,
                    from = %old,
                    to = %addr,
                    "followed a Redis failover: the Sentinels name a new master"
                );
            }
            None => {
                tracing::info!(master = %target.name, at = %addr, "the Sentinels name the master")
            }
            _ => {}
        }
        Ok(client)
    }

    /// The one check a service makes at start, before it serves: a master
    /// name no Sentinel monitors is a configuration error that retrying can
    /// never fix, so it is returned ([`ResolveError::UnknownMaster`]) for the
    /// binary to exit with. Anything else (Sentinels unreachable, a failover
    /// in progress, no answer within `within`) is an outage: logged, `Ok`,
    /// and the service starts and retries as it does for a Redis that is
    /// down. A plain URL connects to nothing here.
    pub async fn check_at_start(&self, within: Duration) -> Result<(), ResolveError> {
        if !self.is_sentinel() {
            return Ok(());
        }
        crate::tls::install_crypto_provider();
        match tokio::time::timeout(within, self.client()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e @ ResolveError::UnknownMaster { .. })) => Err(e),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no Redis master at start; starting anyway and retrying");
                Ok(())
            }
            Err(_) => {
                tracing::warn!(
                    sentinels = %self.inner.redacted,
                    "the Sentinels did not answer at start; starting anyway and retrying"
                );
                Ok(())
            }
        }
    }

    /// [`RedisSource::check_at_start`] for a binary's `main` before its
    /// runtime exists (on a runtime of its own, dropped after). A URL that
    /// does not parse is left to the caller's own validation.
    pub fn check_url_at_start(url: &str, within: Duration) -> Result<(), ResolveError> {
        let Ok(source) = RedisSource::parse(url) else {
            return Ok(());
        };
        if !source.is_sentinel() {
            return Ok(());
        }
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(source.check_at_start(within)),
            // Without a runtime there is no check; the service's own start says why.
            Err(_) => Ok(()),
        }
    }

    /// Turns the crate's error into one a user can act on. "Not found" from
    /// the crate also covers a master flagged down during a failover, so the
    /// Sentinels are asked directly whether they know the name at all.
    async fn classify(&self, target: &SentinelTarget, e: &RedisError) -> ResolveError {
        let reason = hide(&e.to_string(), "", "");
        if e.kind() != ErrorKind::MasterNameNotFoundBySentinel {
            if e.is_io_error() || e.kind() == ErrorKind::InvalidClientConfig {
                // Could be the Sentinels or the named master: tell which.
                if !self.any_sentinel_answers(target).await {
                    return ResolveError::SentinelsUnreachable {
                        sentinels: target.hosts.clone(),
                        reason,
                    };
                }
            }
            return ResolveError::NoMaster {
                name: target.name.clone(),
                reason,
            };
        }
        match self.name_known(target).await {
            Some(false) => ResolveError::UnknownMaster {
                name: target.name.clone(),
                sentinels: target.hosts.clone(),
            },
            Some(true) => ResolveError::NoMaster {
                name: target.name.clone(),
                reason: "the Sentinels flag the master down".into(),
            },
            None => ResolveError::SentinelsUnreachable {
                sentinels: target.hosts.clone(),
                reason,
            },
        }
    }

    async fn any_sentinel_answers(&self, target: &SentinelTarget) -> bool {
        for info in &target.sentinels {
            let ping = async {
                let client = redis::Client::open(info.clone())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), ping).await {
                return true;
            }
        }
        false
    }

    /// Whether any Sentinel knows the master name (`None`: none answered).
    async fn name_known(&self, target: &SentinelTarget) -> Option<bool> {
        let mut answered = false;
        for info in &target.sentinels {
            let ask = async {
                let client = redis::Client::open(info.clone())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&target.name)
                    .query_async::<Option<(String, u16)>>(&mut conn)
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(1), ask).await {
                Ok(Ok(Some(_))) => return Some(true),
                Ok(Ok(None)) => answered = true,
                _ => {}
            }
        }
        answered.then_some(false)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes `url` (and so its password) from an error text of the redis crate.
fn hide(text: &str, url: &str, redacted: &str) -> String {
    if url.is_empty() {
        text.to_string()
    } else {
        text.replace(url, redacted)
    }
}

/// `Some((tls, rest after "://"))` for the two Sentinel schemes.
fn sentinel_scheme(url: &str) -> Option<(bool, &str)> {
    if let Some(rest) = url.strip_prefix("redis+sentinel://") {
        Some((false, rest))
    } else {
        url.strip_prefix("rediss+sentinel://")
            .map(|rest| (true, rest))
    }
}

/// The parts of a Sentinel URL, before any redis type is built.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SentinelUrl {
    tls: bool,
    insecure: bool,
    username: Option<String>,
    password: Option<String>,
    hosts: Vec<(String, u16)>,
    name: String,
    db: i64,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
}

fn parse_sentinel_url(tls: bool, rest: &str) -> Result<SentinelUrl, String> {
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let insecure = match fragment {
        None | Some("") => false,
        Some("insecure") => true,
        Some(other) => return Err(format!("unknown fragment #{other} (only #insecure)")),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (authority, path) = rest
        .split_once('/')
        .ok_or("no master name: expected …/MASTER_NAME after the Sentinel hosts")?;
    let name = decode(path.trim_end_matches('/'))?;
    if name.is_empty() || name.contains('/') {
        return Err("the path must be exactly the master name, e.g. /mymaster".into());
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pw)) => (non_empty(decode(user)?), Some(decode(pw)?)),
            None => (non_empty(decode(u)?), None),
        },
    };
    if hosts.is_empty() {
        return Err("no Sentinel host".into());
    }
    let hosts = hosts
        .split(',')
        .map(parse_host)
        .collect::<Result<Vec<_>, _>>()?;
    let mut url = SentinelUrl {
        tls,
        insecure,
        username,
        password,
        hosts,
        name,
        db: 0,
        sentinel_username: None,
        sentinel_password: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value)?;
        match key {
            "sentinel_password" => url.sentinel_password = Some(value),
            "sentinel_username" => url.sentinel_username = non_empty(value),
            "db" => {
                url.db = value
                    .parse()
                    .map_err(|_| format!("db must be a number, not {value:?}"))?
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (sentinel_password, sentinel_username, db)"
                ));
            }
        }
    }
    Ok(url)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// `host`, `host:port` or `[v6]:port`.
fn parse_host(text: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("unclosed [ in host {text:?}"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("bad host {text:?}")),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!("empty host in {text:?}"));
    }
    let port = match port {
        None => DEFAULT_SENTINEL_PORT,
        Some(p) => p
            .parse()
            .map_err(|_| format!("bad port {p:?} for Sentinel host {host:?}"))?,
    };
    Ok((host.to_string(), port))
}

/// Percent-decoding of one URL component.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad percent-escape in URL")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "URL component is not UTF-8".to_string())
}

fn parse_sentinel(tls: bool, rest: &str) -> Result<SentinelTarget, String> {
    let url = parse_sentinel_url(tls, rest)?;
    let addr = |host: &str, port: u16| {
        if url.tls {
            ConnectionAddr::TcpTls {
                host: host.to_string(),
                port,
                insecure: url.insecure,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.to_string(), port)
        }
    };
    let mut sentinel_auth = RedisConnectionInfo::default();
    if let Some(user) = &url.sentinel_username {
        sentinel_auth = sentinel_auth.set_username(user);
    }
    if let Some(pw) = &url.sentinel_password {
        sentinel_auth = sentinel_auth.set_password(pw);
    }
    let sentinels = url
        .hosts
        .iter()
        .map(|(h, p)| {
            addr(h, *p)
                .into_connection_info()
                .map(|info| info.set_redis_settings(sentinel_auth.clone()))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut node_auth = RedisConnectionInfo::default().set_db(url.db);
    if let Some(user) = &url.username {
        node_auth = node_auth.set_username(user);
    }
    if let Some(pw) = &url.password {
        node_auth = node_auth.set_password(pw);
    }
    let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(node_auth);
    if url.tls {
        node = node.set_tls_mode(if url.insecure {
            TlsMode::Insecure
        } else {
            TlsMode::Secure
        });
    }
    let sentinel = Sentinel::build(sentinels.clone()).map_err(|e| e.to_string())?;
    let hosts = url
        .hosts
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    Ok(SentinelTarget {
        name: url.name,
        hosts,
        sentinels,
        node,
        sentinel: tokio::sync::Mutex::new(sentinel),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SentinelUrl, String> {
        let (tls, rest) = sentinel_scheme(url).ok_or("not sentinel")?;
        parse_sentinel_url(tls, rest)
    }

    #[test]
    fn parses_hosts_name_and_credentials() {
        let u = parse("redis+sentinel://user:p%40ss@h1:26379,h2:26380,h3/mymaster").expect("ok");
        assert!(!u.tls && !u.insecure);
        assert_eq!(u.username.as_deref(), Some("user"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(
            u.hosts,
            vec![
                ("h1".to_string(), 26379),
                ("h2".to_string(), 26380),
                ("h3".to_string(), DEFAULT_SENTINEL_PORT)
            ]
        );
        assert_eq!(u.name, "mymaster");
        assert_eq!(u.sentinel_password, None);
    }

    #[test]
    fn parses_tls_query_and_ipv6() {
        let u =
            parse("rediss+sentinel://:pw@[::1]:5000/m?sentinel_password=s%26cret&db=2#insecure")
                .expect("ok");
        assert!(u.tls && u.insecure);
        assert_eq!(u.username, None);
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.hosts, vec![("::1".to_string(), 5000)]);
        assert_eq!(u.sentinel_password.as_deref(), Some("s&cret"));
        assert_eq!(u.db, 2);
    }

    #[test]
    fn refuses_malformed_urls_without_leaking_passwords() {
        for bad in [
            "redis+sentinel://:hunter2@h1:26379",
            "redis+sentinel://:hunter2@h1:26379/",
            "redis+sentinel://:hunter2@h1:port/m",
            "redis+sentinel://:hunter2@/m",
            "redis+sentinel://:hunter2@h1,,h2/m",
            "redis+sentinel://:hunter2@h1/m?sentinel_password=hunter2&color=red",
            "redis+sentinel://:hunter2@h1/m#secure",
            "redis+sentinel://:hunter2@h1/a/b",
            "redis+sentinel://:hunter2@h1/m%zz",
            "http://:hunter2@host/",
            "redis://:hunter2@host:notaport",
        ] {
            let err = RedisSource::parse(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid Redis URL"), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
    }

    #[test]
    fn plain_urls_are_direct_and_know_their_address() {
        let s = RedisSource::parse("redis://:pw@127.0.0.1:6390/0").expect("ok");
        assert!(!s.is_sentinel());
        assert_eq!(s.master().as_deref(), Some("127.0.0.1:6390"));
        assert_eq!(s.redacted(), "redis://:***@127.0.0.1:6390/0");
        assert_eq!(s.failovers(), 0);
        let s = RedisSource::parse("redis+sentinel://h:1/m?sentinel_password=x").expect("ok");
        assert!(s.is_sentinel());
        assert_eq!(s.master(), None);
        assert!(!format!("{s:?}").contains("=x"), "{s:?}");
    }

    #[test]
    fn readonly_is_a_lost_connection() {
        let ro = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ReadOnly),
            "You can't write against a read only replica.",
        ));
        assert!(is_connection_lost(&ro));
        let wrong = RedisError::from((ErrorKind::Server(ServerErrorKind::ResponseError), "ERR x"));
        assert!(!is_connection_lost(&wrong));
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(is_connection_lost(&io));
    }

    #[tokio::test]
    async fn unreachable_sentinels_are_said_so() {
        let s = RedisSource::parse("redis+sentinel://127.0.0.1:1,127.0.0.1:2/m").expect("ok");
        let err = s.client().await.expect_err("nobody listens");
        assert!(
            matches!(err, ResolveError::SentinelsUnreachable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("127.0.0.1:1,127.0.0.1:2"), "{err}");
    }
}
