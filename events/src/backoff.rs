//! Retry delays: exponential backoff with jitter, the one formula every
//! reconnecting or retrying part uses (TUI → bridge, bridge → Redis, agent →
//! Redis, agent → model API), each with its own parameters.
//!
//! Why jitter: when a bridge restarts, every client it had notices at the same
//! moment. Without jitter they would all come back in lock-step, again and
//! again; "equal jitter" (half the delay fixed, half random) spreads them out
//! while keeping a floor, so a client never hammers a server that is down.

use std::time::Duration;

/// How long to wait before retry attempt `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failure (before jitter).
    pub initial: Duration,
    /// Cap of the exponential growth.
    pub max: Duration,
    /// Growth per failed attempt (2 doubles the delay).
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            factor: 2.0,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1 = first retry) without
    /// jitter: `initial * factor^(attempt-1)`, capped at `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(64) as i32;
        let secs = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exp);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// The delay with equal jitter: uniformly in `[ceiling/2, ceiling]`.
    /// `unit` is a random number in `[0, 1)` (injected so tests are exact).
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// [`Backoff::delay_with`] with a fresh random number.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// The delay with symmetric jitter: uniformly in
    /// `[ceiling·(1-spread), ceiling·(1+spread))`, for callers that want the
    /// mean at the ceiling rather than a floor at its half. `unit` as in
    /// [`Backoff::delay_with`]; `spread` is clamped to `[0, 1]`.
    pub fn spread_with(&self, attempt: u32, spread: f64, unit: f64) -> Duration {
        let spread = spread.clamp(0.0, 1.0);
        let factor = 1.0 - spread + 2.0 * spread * unit.clamp(0.0, 1.0);
        self.ceiling(attempt).mul_f64(factor)
    }

    /// [`Backoff::spread_with`] with a fresh random number.
    pub fn spread(&self, attempt: u32, spread: f64) -> Duration {
        self.spread_with(attempt, spread, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(1), Duration::from_millis(250));
        assert_eq!(b.ceiling(2), Duration::from_millis(500));
        assert_eq!(b.ceiling(4), Duration::from_secs(2));
        assert_eq!(b.ceiling(20), Duration::from_secs(30));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_between_half_and_full() {
        let b = Backoff::default();
        assert_eq!(b.delay_with(3, 0.0), Duration::from_millis(500));
        assert_eq!(b.delay_with(3, 1.0), Duration::from_secs(1));
        for _ in 0..100 {
            let d = b.delay(5);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(4),
                "{d:?}"
            );
        }
    }

    #[test]
    fn spread_stays_around_the_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.spread_with(3, 0.2, 0.0), Duration::from_millis(800));
        assert_eq!(b.spread_with(3, 0.2, 0.5), Duration::from_secs(1));
        assert_eq!(b.spread_with(3, 0.2, 1.0), Duration::from_millis(1200));
        for _ in 0..100 {
            let d = b.spread(1, 0.2);
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(300),
                "{d:?}"
            );
        }
    }
}
