//! Counters of one server's connection guard, and their Prometheus text.
//!
//! The server creates one [`ConnStats`], hands it to [`crate::serve`] and
//! appends [`ConnStats::render`] to its own `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why the guard closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The request head did not arrive within `header_timeout`.
    HeaderTimeout,
    /// The request body did not arrive within `body_timeout`.
    BodyTimeout,
    /// A keep-alive connection stayed without a request for `idle_timeout`.
    Idle,
    /// Refused at once: too many pending connections (in total or from its IP).
    PendingLimit,
}

impl CloseReason {
    /// Every reason, in the order of the metric's rows.
    pub const ALL: [CloseReason; 4] = [
        CloseReason::HeaderTimeout,
        CloseReason::BodyTimeout,
        CloseReason::Idle,
        CloseReason::PendingLimit,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::BodyTimeout => "body_timeout",
            CloseReason::Idle => "idle",
            CloseReason::PendingLimit => "pending_limit",
        }
    }
}

/// Counters shared between [`crate::serve`] and the server's `/metrics`.
#[derive(Debug, Default)]
pub struct ConnStats {
    accepted: AtomicU64,
    pending: AtomicU64,
    closed: [AtomicU64; 4],
}

impl ConnStats {
    /// Fresh counters.
    pub fn new() -> Self {
        ConnStats::default()
    }

    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed_by(&self, why: CloseReason) {
        self.closed[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn pending_add(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn pending_sub(&self) {
        self.pending.fetch_sub(1, Ordering::Relaxed);
    }

    /// Connections closed (or refused) for `why` so far.
    pub fn closed(&self, why: CloseReason) -> u64 {
        self.closed[why as usize].load(Ordering::Relaxed)
    }

    /// Connections pending now (accepted, not yet upgraded or closed).
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far, refused ones included.
    pub fn accepted_total(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The Prometheus text of these counters, each metric named `<prefix>_…`.
    pub fn render(&self, prefix: &str) -> String {
        let mut out = String::with_capacity(1024);
        let _ = write!(
            out,
            "# HELP {prefix}_http_connections_accepted_total TCP connections accepted (refused ones included).\n\
             # TYPE {prefix}_http_connections_accepted_total counter\n\
             {prefix}_http_connections_accepted_total {}\n\
             # HELP {prefix}_http_connections_pending TCP connections not yet upgraded or closed (bounded by --max-pending).\n\
             # TYPE {prefix}_http_connections_pending gauge\n\
             {prefix}_http_connections_pending {}\n\
             # HELP {prefix}_http_connections_closed_total Connections the server closed before the peer was done, by reason.\n\
             # TYPE {prefix}_http_connections_closed_total counter\n",
            self.accepted_total(),
            self.pending(),
        );
        for why in CloseReason::ALL {
            let _ = writeln!(
                out,
                "{prefix}_http_connections_closed_total{{reason=\"{}\"}} {}",
                why.label(),
                self.closed(why)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_reason() {
        let s = ConnStats::new();
        s.closed_by(CloseReason::Idle);
        s.closed_by(CloseReason::Idle);
        s.closed_by(CloseReason::PendingLimit);
        let text = s.render("bridge");
        assert!(
            text.contains("bridge_http_connections_closed_total{reason=\"idle\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("bridge_http_connections_closed_total{reason=\"pending_limit\"} 1\n")
        );
        assert!(
            text.contains("bridge_http_connections_closed_total{reason=\"header_timeout\"} 0\n")
        );
        assert!(text.contains("bridge_http_connections_pending 0\n"));
    }
}
