//! Events per second over the last minute, for the status bar's sparkline.
//!
//! Counts go into one-second buckets keyed by the monotonic clock the app is
//! given, so the meter is exact in tests and costs O(1) per event.

use std::collections::VecDeque;
use std::time::Duration;

/// Seconds of history kept.
pub const WINDOW_SECS: u64 = 60;

/// A per-second event counter.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// (second, count), oldest first, at most [`WINDOW_SECS`] buckets.
    buckets: VecDeque<(u64, u64)>,
}

impl RateMeter {
    /// Counts one event at monotonic time `now`.
    pub fn record(&mut self, now: Duration) {
        let sec = now.as_secs();
        match self.buckets.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => {
                self.buckets.push_back((sec, 1));
                while self
                    .buckets
                    .front()
                    .is_some_and(|(s, _)| s + WINDOW_SECS <= sec)
                {
                    self.buckets.pop_front();
                }
            }
        }
    }

    /// Counts for the `n` whole seconds before `now`'s second, oldest first.
    pub fn history(&self, now: Duration, n: usize) -> Vec<u64> {
        let cur = now.as_secs();
        let mut out = vec![0u64; n];
        for &(sec, count) in &self.buckets {
            if sec < cur && cur - sec <= n as u64 {
                out[n - (cur - sec) as usize] = count;
            }
        }
        out
    }

    /// Mean events per second over the last five whole seconds.
    pub fn per_second(&self, now: Duration) -> f64 {
        self.history(now, 5).iter().sum::<u64>() as f64 / 5.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_second_and_forgets_old_buckets() {
        let mut m = RateMeter::default();
        for ms in [0, 100, 900, 1000, 1500, 3000] {
            m.record(Duration::from_millis(ms));
        }
        let now = Duration::from_millis(4200);
        assert_eq!(m.history(now, 4), vec![3, 2, 0, 1]);
        assert!((m.per_second(now) - 6.0 / 5.0).abs() < 1e-9);
        m.record(Duration::from_secs(200));
        assert_eq!(m.buckets.len(), 1);
    }
}
