//! The orchestrator agent: a model-and-tools loop whose every step is
//! published to Redis, served over HTTP (A2A JSON-RPC and `/chat`).
//!
//! Start one in-process with [`run`] on a listener you bound (port 0 in tests):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = orchestrator_agent::Config {
//!     redis_url: "redis://127.0.0.1:6390".into(),
//!     ..Default::default()
//! };
//! let stop = tokio_util::sync::CancellationToken::new();
//! orchestrator_agent::run(listener, config, stop).await?;
//! # Ok(()) }
//! ```
//!
//! Layout, one concept per module:
//!
//! - [`config`]: [`Config`], the settings; [`cli`]: flags and variables → `Config`.
//! - [`server`]: [`run`]: wiring and orderly shutdown.
//! - [`http`]: routes, guards (token, body limit), handlers, JSON errors.
//! - [`a2a`]: JSON-RPC dispatch, A2A types, task store, SSE streaming, agent card.
//! - [`runs`]: starting runs under a concurrency limit, cancelling them.
//! - [`agent_loop`]: the model-and-tools loop of one run; [`run_outcome`]: how a run ended.
//! - [`callback`]: steps of a run and the handlers that turn them into events.
//! - [`otlp`]: the OTLP trace export (runs as GenAI spans), off the run's path.
//! - [`orphans`]: at start, closing the runs a killed predecessor left open.
//! - [`publisher`]: bounded queue → one batched publish script call, buffering
//!   and reconnecting while Redis is down.
//! - [`tools`]: the research-plan tools and argument validation.
//! - [`model`]: the `Model` trait, the built-in offline model, the OpenAI backend.
//! - [`redis_conn`]: connections that survive Redis restarts.
//! - [`listen`] and [`samples`]: the `orchestrator-listen` / `orchestrator-send` commands' logic.
//! - [`timefmt`]: RFC 3339 and clock times without a date library.

pub mod a2a;
pub mod agent_loop;
pub mod app;
pub mod callback;
pub mod cli;
pub mod config;
pub mod http;
pub mod listen;
pub mod model;
pub mod orphans;
pub mod otlp;
pub mod publisher;
pub mod redis_conn;
pub mod run_outcome;
pub mod runs;
pub mod samples;
pub mod server;
pub mod timefmt;
pub mod tools;

pub use config::{Config, ModelChoice};
pub use publisher::{Publisher, PublisherHandle, PublisherOptions, PublisherStatus};
pub use server::{AgentError, run};
