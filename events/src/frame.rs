//! Frames the bridge itself sends to a WebSocket client.
//!
//! They use types no agent uses (`bridge_hello`, `bridge_status`), so a client
//! can tell the bridge's own news from the agents' events in one stream.

use serde::{Deserialize, Serialize};

use crate::filter::Filter;
use crate::id::StreamId;

/// First frame on every connection: who is talking and from where replay starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeHello {
    /// The bridge's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The newest id in the stream when the client connected (`None`: empty stream
    /// or Redis unreachable).
    #[serde(default)]
    pub newest_id: Option<StreamId>,
    /// The stream's epoch. A client resuming later sends it back as `epoch=`; if
    /// it no longer matches, Redis lost its history.
    #[serde(default)]
    pub epoch: Option<String>,
    /// The filter in force for this connection.
    #[serde(default)]
    pub filter: Filter,
    /// Whether the bridge is connected to Redis right now.
    #[serde(default)]
    pub redis: Option<bool>,
    /// The bridge's clock, seconds since the Unix epoch.
    pub server_time: f64,
}

/// What a `bridge_status` frame reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// The bridge lost its Redis connection; live events pause.
    RedisDown,
    /// The bridge is connected to Redis again (and has caught the client up).
    RedisUp,
    /// This client was too slow: `dropped` frames were not sent; resume from `resume_from`.
    Dropped,
    /// A replay could not be completed: events between `from` and `to` are gone
    /// (older than the stream's oldest entry).
    Gap,
    /// The client's `epoch` is not the stream's: Redis lost its history.
    HistoryReset,
    /// Replay finished; everything after this is live.
    ReplayDone,
    /// A status this build does not know.
    #[serde(other)]
    Unknown,
}

/// A change in the bridge's state that a client should see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeStatus {
    /// What happened.
    pub status: StatusKind,
    /// One human-readable line.
    #[serde(default)]
    pub message: String,
    /// Frames dropped for this client (`Dropped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<u64>,
    /// Where to resume to fill what was dropped (`Dropped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<StreamId>,
    /// First id that could not be replayed (`Gap`, exclusive lower bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<StreamId>,
    /// Oldest id still available (`Gap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<StreamId>,
    /// Events replayed (`ReplayDone`, `RedisUp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<u64>,
    /// The stream's epoch now (`HistoryReset`, `RedisUp`): a client resuming
    /// later sends this one back as `epoch=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

impl BridgeStatus {
    /// A status with only a kind and a message.
    pub fn new(status: StatusKind, message: impl Into<String>) -> Self {
        BridgeStatus {
            status,
            message: message.into(),
            dropped: None,
            resume_from: None,
            from: None,
            to: None,
            replayed: None,
            epoch: None,
        }
    }

    /// The same status naming the stream's current epoch.
    pub fn with_epoch(mut self, epoch: Option<String>) -> Self {
        self.epoch = epoch;
        self
    }
}
