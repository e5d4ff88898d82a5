//! Benchmarks (`just bench`) and the fault suite (`just chaos`) of the
//! orchestrator pipeline, measured against real processes on loopback: a
//! private `redis-server`, the bridge and agent binaries, and WebSocket
//! clients in this process.
//!
//! Layout, one concept per module:
//!
//! - [`harness`]: start, probe, kill and restart Redis, the bridge and the agent.
//! - [`loadgen`]: publish bench events the way the agent does, paced or flat out.
//! - [`payload`]: the bench event (~200 B, with `seq` and a timestamp) and reading it back.
//! - [`ws_clients`]: many counting WebSocket clients (fan-out, latency).
//! - [`ssh_clients`]: real `ssh -tt` clients under ptys, counting what they receive.
//! - [`resume_client`]: one client that resumes with `since`/`epoch` and counts by id (chaos).
//! - [`measure`]: medians, percentiles, `/proc` CPU time and RSS, rlimits.
//! - [`http`]: tiny loopback HTTP probes (`/healthz`, `POST /chat`).
//! - [`alloc`]: a counting allocator for exact heap figures.
//! - [`report`]: the table (figure, value, target, method), Markdown and JSON.
//! - [`scenarios`]: the benchmarks; [`chaos`]: the fault scenarios.
//! - [`error`]: what stops a scenario; [`cli`]: usage errors, logging and output shared by the two binaries.

pub mod alloc;
pub mod chaos;
pub mod cli;
pub mod error;
pub mod harness;
pub mod http;
pub mod loadgen;
pub mod measure;
pub mod payload;
pub mod report;
pub mod resume_client;
pub mod scenarios;
pub mod ssh_clients;
pub mod ws_clients;

pub use error::BenchError;
