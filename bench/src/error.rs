//! What can stop a benchmark or a fault scenario.

use crate::harness::HarnessError;
use crate::measure::ProcError;
use crate::ws_clients::PoolError;

/// Why a scenario could not produce its figures.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A process could not be started or probed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// A Redis command failed where it must not.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// WebSocket clients could not be connected.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// `/proc` could not be read.
    #[error(transparent)]
    Proc(#[from] ProcError),
    /// Local I/O failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The scenario ran but could not reach a state it needs.
    #[error("{0}")]
    Failed(String),
}
