//! The bound on pending connections, in total and per IP.
//!
//! One std mutex guards the table; it is taken once when a connection is
//! accepted and once when it is upgraded or closed, never across an await.
//! Entries are removed when their count reaches zero, so the table holds only
//! addresses with a connection open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::stats::ConnStats;

/// Which bound refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// `max_pending`.
    Total,
    /// `max_pending_per_ip`.
    PerIp,
}

#[derive(Debug)]
pub(crate) struct Pending {
    table: Mutex<Table>,
    max_total: usize,
    max_per_ip: usize,
    stats: Arc<ConnStats>,
}

#[derive(Debug, Default)]
struct Table {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One pending connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Slot {
    pending: Arc<Pending>,
    ip: IpAddr,
}

impl Pending {
    pub(crate) fn new(max_total: usize, max_per_ip: usize, stats: Arc<ConnStats>) -> Self {
        Pending {
            table: Mutex::new(Table::default()),
            max_total,
            max_per_ip,
            stats,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection from `ip`, or which bound is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Full> {
        // An IPv4 peer on a dual-stack socket is one address, however it arrives.
        let ip = ip.to_canonical();
        let mut table = self.lock();
        if table.total >= self.max_total {
            return Err(Full::Total);
        }
        let open = table.per_ip.entry(ip).or_insert(0);
        if *open >= self.max_per_ip {
            return Err(Full::PerIp);
        }
        *open += 1;
        table.total += 1;
        self.stats.pending_add();
        Ok(Slot {
            pending: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.pending.lock();
        table.total = table.total.saturating_sub(1);
        if let Some(open) = table.per_ip.get_mut(&self.ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                table.per_ip.remove(&self.ip);
            }
        }
        self.pending.stats.pending_sub();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn bounds_total_and_per_ip_and_frees_on_drop() {
        let stats = Arc::new(ConnStats::new());
        let p = Arc::new(Pending::new(3, 2, stats.clone()));
        let a = p.admit(ip(1)).expect("first");
        let _b = p.admit(ip(1)).expect("second");
        assert_eq!(p.admit(ip(1)).err(), Some(Full::PerIp));
        let _c = p.admit(ip(2)).expect("another address");
        assert_eq!(p.admit(ip(3)).err(), Some(Full::Total));
        assert_eq!(stats.pending(), 3);
        drop(a);
        assert_eq!(stats.pending(), 2);
        assert!(p.admit(ip(1)).is_ok());
    }

    #[test]
    fn mapped_ipv4_counts_as_the_same_address() {
        let p = Arc::new(Pending::new(10, 1, Arc::new(ConnStats::new())));
        let _v4 = p.admit(ip(7)).expect("v4");
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped());
        assert_eq!(p.admit(mapped).err(), Some(Full::PerIp));
    }

    #[test]
    fn empty_entries_are_removed() {
        let p = Arc::new(Pending::new(10, 10, Arc::new(ConnStats::new())));
        drop(p.admit(ip(1)).expect("one"));
        assert!(p.lock().per_ip.is_empty());
    }
}
