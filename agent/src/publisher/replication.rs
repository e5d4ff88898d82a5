//! The publisher's `--min-replicas` step: `WAIT` for the batch the master
//! already holds, and what a shortfall or an error means for it.

use std::sync::atomic::Ordering;

use super::{Worker, lock};

impl Worker {
    /// `WAIT min_replicas` for the batch on the master. Enough replicas:
    /// the batch is confirmed. Too few: it stays (a shortfall, counted and
    /// shown) and only `WAIT` is retried. The connection lost: the batch is in
    /// doubt again, to be checked on whichever master comes next.
    pub(super) async fn await_replicas(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            self.unreplicated = false;
            self.in_doubt = true;
            return false;
        };
        let want = self.options.min_replicas;
        let wait = self.options.io_timeout / 2;
        let reply = tokio::time::timeout(
            self.options.io_timeout,
            orchestrator_events::publish::wait_replicas(conn, want, wait),
        )
        .await;
        let error = match reply {
            Ok(Ok(acked)) => {
                self.shared
                    .replicas_acked
                    .store(acked as u64, Ordering::Relaxed);
                if acked >= want {
                    *lock(&self.shared.replication_error) = None;
                    let n = self.in_flight.len() as u64;
                    self.in_flight.clear();
                    self.landed = 0;
                    self.unreplicated = false;
                    self.confirm(n, true);
                    return true;
                }
                // Redis itself answers (`connected`); the replicas lag.
                self.mark_up();
                self.shared.shortfalls.fetch_add(1, Ordering::Relaxed);
                let why = format!(
                    "{acked} of {want} replicas acknowledged the batch within {} ms; \
                     keeping {} events and waiting",
                    wait.as_millis(),
                    self.in_flight.len()
                );
                let mut slot = lock(&self.shared.replication_error);
                if slot.is_none() {
                    tracing::warn!(
                        acked,
                        want,
                        "too few replicas; events kept until they catch up"
                    );
                }
                *slot = Some(why);
                return false;
            }
            Ok(Err(e)) => {
                // Any error (a lost socket, or `-ERR` from a node demoted to
                // replica) means this node cannot vouch for the batch.
                self.fail(&e.to_string(), true);
                true
            }
            Err(_) => {
                self.fail("timed out waiting for replicas (WAIT)", true);
                true
            }
        };
        if error {
            // Maybe a failover: the next master may lack the batch.
            self.unreplicated = false;
            self.in_doubt = true;
        }
        false
    }
}
