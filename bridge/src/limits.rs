//! Connection limits: how many at once (in total and per IP) and how fast one
//! IP may open new ones.
//!
//! Checked before the upgrade, so a refused peer costs one small HTTP response.
//! A [`Permit`] is held by the connection's task; dropping it gives the slot
//! back. The per-IP rate is a token bucket (`rate` tokens per second, burst of
//! `rate`). One std mutex guards the table; it is taken once per connection
//! attempt and never across an await.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::metrics::Refused;

/// Table size above which idle entries are swept.
const SWEEP_AT: usize = 1024;

/// The limits and the live counts.
#[derive(Debug, Clone)]
pub struct Limiter {
    table: Arc<Mutex<Table>>,
    max_total: usize,
    max_per_ip: usize,
    rate_per_ip: f64,
}

#[derive(Debug, Default)]
struct Table {
    total: usize,
    per_ip: HashMap<Option<IpAddr>, PerIp>,
}

#[derive(Debug)]
struct PerIp {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

/// One admitted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct Permit {
    table: Arc<Mutex<Table>>,
    ip: Option<IpAddr>,
}

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Limiter {
    /// Limits: `max_total` open, `max_per_ip` open per IP, `rate_per_ip` new per second per IP.
    pub fn new(max_total: usize, max_per_ip: usize, rate_per_ip: u32) -> Self {
        Limiter {
            table: Arc::new(Mutex::new(Table::default())),
            max_total,
            max_per_ip,
            rate_per_ip: f64::from(rate_per_ip),
        }
    }

    /// Admits a new connection from `ip`, or says which limit refuses it.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<Permit, Refused> {
        let now = Instant::now();
        let mut table = lock(&self.table);
        if table.per_ip.len() > SWEEP_AT {
            let rate = self.rate_per_ip;
            table.per_ip.retain(|_, e| {
                e.open > 0 || e.tokens + now.duration_since(e.refilled).as_secs_f64() * rate < rate
            });
        }
        if table.total >= self.max_total {
            return Err(Refused::TooMany);
        }
        let entry = table.per_ip.entry(ip).or_insert(PerIp {
            open: 0,
            tokens: self.rate_per_ip,
            refilled: now,
        });
        let elapsed = now.duration_since(entry.refilled).as_secs_f64();
        entry.tokens = (entry.tokens + elapsed * self.rate_per_ip).min(self.rate_per_ip);
        entry.refilled = now;
        if entry.open >= self.max_per_ip {
            return Err(Refused::TooManyPerIp);
        }
        if entry.tokens < 1.0 {
            return Err(Refused::RateLimited);
        }
        entry.tokens -= 1.0;
        entry.open += 1;
        table.total += 1;
        Ok(Permit {
            table: self.table.clone(),
            ip,
        })
    }

    /// Open connections now (all IPs).
    #[cfg(test)]
    pub fn open(&self) -> usize {
        lock(&self.table).total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        table.total = table.total.saturating_sub(1);
        if let Some(entry) = table.per_ip.get_mut(&self.ip) {
            entry.open = entry.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn counts_total_and_per_ip_and_frees_on_drop() {
        let l = Limiter::new(3, 2, 100);
        let a = l.admit(ip(1)).expect("first");
        let _b = l.admit(ip(1)).expect("second");
        assert_eq!(l.admit(ip(1)).err(), Some(Refused::TooManyPerIp));
        let _c = l.admit(ip(2)).expect("other ip");
        assert_eq!(l.admit(ip(3)).err(), Some(Refused::TooMany));
        drop(a);
        assert_eq!(l.open(), 2);
        assert!(l.admit(ip(1)).is_ok());
    }

    #[test]
    fn rate_limits_bursts_per_ip() {
        let l = Limiter::new(100, 100, 3);
        let permits: Vec<_> = (0..3).map(|_| l.admit(ip(1)).expect("burst")).collect();
        assert_eq!(l.admit(ip(1)).err(), Some(Refused::RateLimited));
        assert!(l.admit(ip(2)).is_ok(), "other IPs have their own bucket");
        drop(permits);
        // Closing does not refill the bucket: only time does.
        assert_eq!(l.admit(ip(1)).err(), Some(Refused::RateLimited));
    }
}
