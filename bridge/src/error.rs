//! The one error type [`crate::run`] returns.
//!
//! Only problems that stop the bridge from starting are errors. Redis being down
//! is not one of them: it is a state, shown in `/healthz` and to clients.

use crate::config::ConfigError;

/// Why the bridge could not run.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A setting cannot work (bad Redis URL, zero limit).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener is unusable.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}
