//! Which phase a connection is in, and since when: what its deadline is.
//!
//! The phase moves forward through one request and back to `Idle` after its
//! response; the changes are seen where they happen (`io`: first byte;
//! `service`: head complete, `101`; `body`: request body complete, response
//! done). Each change wakes the connection's task, which sleeps until the
//! current phase's deadline. Only the connection's own task changes the phase
//! before an upgrade, so two atomics (phase, then its start) are enough.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::limits::Limits;
use crate::stats::CloseReason;

/// What a connection is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// The request head (from accept, or from the first byte of a later request).
    Head = 0,
    /// The request body.
    Body = 1,
    /// The server's answer: no deadline (a chat run or an event stream may be long).
    Responding = 2,
    /// Keep-alive, between requests.
    Idle = 3,
    /// A WebSocket now: none of these deadlines apply.
    Upgraded = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Head,
            1 => Phase::Body,
            2 => Phase::Responding,
            3 => Phase::Idle,
            _ => Phase::Upgraded,
        }
    }

    /// No request is in progress: on shutdown the connection can just close.
    pub(crate) fn awaits_request(self) -> bool {
        matches!(self, Phase::Head | Phase::Idle)
    }
}

#[derive(Debug)]
pub(crate) struct Watch {
    phase: AtomicU8,
    /// When the phase began, in nanoseconds after `origin`.
    since_ns: AtomicU64,
    origin: Instant,
    changed: Notify,
}

impl Watch {
    /// A connection just accepted: waiting for its first request head.
    pub(crate) fn new() -> Self {
        Watch {
            phase: AtomicU8::new(Phase::Head as u8),
            since_ns: AtomicU64::new(0),
            origin: Instant::now(),
            changed: Notify::new(),
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Moves to `to` unless the connection has been upgraded (that is final).
    pub(crate) fn enter(&self, to: Phase) {
        if self.phase() == Phase::Upgraded {
            return;
        }
        self.set(to);
    }

    /// Moves from `from` to `to`; does nothing in any other phase.
    pub(crate) fn advance(&self, from: Phase, to: Phase) {
        if self.phase() == from {
            self.set(to);
        }
    }

    fn set(&self, to: Phase) {
        let ns = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.since_ns.store(ns, Ordering::Relaxed);
        self.phase.store(to as u8, Ordering::Release);
        self.changed.notify_one();
    }

    /// Resolves after the next phase change (at once if one happened since
    /// the last call).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// When the current phase runs out, and what to count then; `None` when
    /// the phase has no deadline.
    pub(crate) fn deadline(&self, limits: &Limits) -> Option<(Instant, CloseReason)> {
        let (limit, why) = match self.phase() {
            Phase::Head => (limits.header_timeout, CloseReason::HeaderTimeout),
            Phase::Body => (limits.body_timeout, CloseReason::BodyTimeout),
            Phase::Idle => (limits.idle_timeout, CloseReason::Idle),
            Phase::Responding | Phase::Upgraded => return None,
        };
        let since = self.origin + Duration::from_nanos(self.since_ns.load(Ordering::Relaxed));
        Some((since + limit, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_phase_has_its_deadline_and_upgrade_is_final() {
        let limits = Limits::default();
        let w = Watch::new();
        let (at, why) = w.deadline(&limits).expect("head has a deadline");
        assert_eq!(why, CloseReason::HeaderTimeout);
        assert!(at <= Instant::now() + limits.header_timeout);
        w.enter(Phase::Body);
        assert_eq!(
            w.deadline(&limits).map(|d| d.1),
            Some(CloseReason::BodyTimeout)
        );
        w.advance(Phase::Body, Phase::Responding);
        assert_eq!(w.deadline(&limits), None);
        w.advance(Phase::Body, Phase::Idle);
        assert_eq!(
            w.phase(),
            Phase::Responding,
            "advance only from the named phase"
        );
        w.advance(Phase::Responding, Phase::Idle);
        assert_eq!(w.deadline(&limits).map(|d| d.1), Some(CloseReason::Idle));
        w.enter(Phase::Upgraded);
        w.enter(Phase::Head);
        assert_eq!(w.phase(), Phase::Upgraded);
        assert_eq!(w.deadline(&limits), None);
    }
}
