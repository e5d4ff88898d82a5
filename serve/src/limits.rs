//! The deadlines and bounds of [`crate::serve`].

use std::time::Duration;

/// How long a connection may take for each thing the server waits for, and
/// how many connections may be waiting at once.
///
/// A connection is *pending* from the moment it is accepted until it is
/// upgraded (WebSocket) or closed: while its request head or body arrives,
/// while it is answered, and while it idles in keep-alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From accepting a connection (or from the first byte of a later request
    /// on it) to the end of the request head.
    pub header_timeout: Duration,
    /// From the end of the head to the end of the request body.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// Pending connections, all peers together; beyond, new ones are closed at once.
    pub max_pending: usize,
    /// Pending connections from one IP address; beyond, new ones are closed at once.
    pub max_pending_per_ip: usize,
}

/// Default `--header-timeout` (nginx's `client_header_timeout` is 60 s; a
/// request head is one packet from any client this project has).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--body-timeout`: a whole body (at most the agent's 1 MiB limit).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--idle-timeout`, as nginx's `keepalive_timeout` order of magnitude.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `--max-pending`: far above what legitimate clients keep in
/// handshakes at once, far below any descriptor limit worth running with.
pub const DEFAULT_MAX_PENDING: usize = 1024;
/// Default `--max-pending-per-ip`: a benchmark opening 64 WebSockets at once
/// from one address stays well inside.
pub const DEFAULT_MAX_PENDING_PER_IP: usize = 256;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_per_ip: DEFAULT_MAX_PENDING_PER_IP,
        }
    }
}

/// A limit that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct LimitsError {
    /// The setting (field name, as the servers' configs name it).
    pub name: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl Limits {
    /// Refuses a zero deadline or bound (it would close or refuse everything).
    pub fn validate(&self) -> Result<(), LimitsError> {
        for (name, d) in [
            ("header_timeout", self.header_timeout),
            ("body_timeout", self.body_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if d.is_zero() {
                return Err(LimitsError {
                    name,
                    reason: "must be longer than zero",
                });
            }
        }
        for (name, n) in [
            ("max_pending", self.max_pending),
            ("max_pending_per_ip", self.max_pending_per_ip),
        ] {
            if n == 0 {
                return Err(LimitsError {
                    name,
                    reason: "must not be zero",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_zero_is_refused() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let zero = Limits {
            body_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert_eq!(zero.validate().map_err(|e| e.name), Err("body_timeout"));
        let zero = Limits {
            max_pending_per_ip: 0,
            ..Limits::default()
        };
        assert_eq!(
            zero.validate().map_err(|e| e.name),
            Err("max_pending_per_ip")
        );
    }
}
