//! Test helpers shared by every crate's tests, benchmarks and the fault suite.
//!
//! - [`RedisServer`]: a private `redis-server` on a free port in a temp dir,
//!   killed on drop. Tests never touch the shared Redis on 6379. It can also
//!   serve TLS only ([`RedisServer::start_tls`], certificates in [`TlsFiles`]).
//! - [`free_port`]: a port nobody listens on right now.
//! - [`ChildGuard`]: a spawned process that is killed when the test ends, pass or fail.
//! - [`workspace_bin`]: the path of one of the workspace's binaries, built if missing.
//! - [`peer`]: a raw-socket peer for the services' slow-peer tests.

pub mod peer;
mod process;
mod redis_server;
mod sentinel;
mod tls;

pub use process::{ChildGuard, free_port, wait_for_port, workspace_bin};
pub use redis_server::{RedisServer, RedisServerError};
pub use sentinel::{MASTER_NAME, SentinelGroup};
pub use tls::TlsFiles;
