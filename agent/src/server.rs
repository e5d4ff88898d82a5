//! Starting and stopping the agent: wires the model, tools, publisher and
//! HTTP routes together around a listener the caller bound.
//!
//! Taking the listener (not an address) lets tests and benchmarks bind port 0
//! and read the port back; taking a [`CancellationToken`] makes stopping
//! explicit. On stop: runs are cancelled (each ends with `run_finished`
//! `cancelled`), the HTTP server drains, and queued events are flushed to
//! Redis for up to [`Config::shutdown_grace`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator_events::config::redact_url;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::a2a::tasks::TaskStore;
use crate::agent_loop::LoopLimits;
use crate::app::App;
use crate::config::{Config, ModelChoice};
use crate::model::Model;
use crate::model::builtin::BuiltinModel;
use crate::model::openai::OpenAiModel;
use crate::publisher::{Publisher, PublisherOptions};
use crate::redis_conn::SharedConn;
use crate::runs::Runner;
use crate::tools::Toolbox;
use crate::tools::plans::PlanStore;
use orchestrator_events::source::RedisSource;

/// Why the agent could not start. Each is a configuration problem, reported
/// as one line by the binary.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The Redis URL does not parse (shown with its password hidden).
    #[error("invalid Redis URL {url}: {reason}")]
    RedisUrl {
        /// The URL, redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The model backend rejected its configuration.
    #[error("model configuration: {0}")]
    Model(#[from] crate::model::ModelError),
    /// The OTLP exporter could not be set up.
    #[error("{0}")]
    Otlp(#[from] crate::otlp::OtlpError),
    /// The listener is unusable.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A task store this size keeps the last few thousand A2A tasks readable.
const TASKS_REMEMBERED: usize = 4096;

/// Serves until `shutdown` is cancelled. Redis being down is not an error:
/// the agent serves, reports it in `/healthz`, and keeps retrying.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    let redacted = redact_url(&config.redis_url);
    // Before any connection: `rediss://` needs a rustls crypto provider.
    orchestrator_events::tls::install_crypto_provider();
    let source = RedisSource::parse(&config.redis_url).map_err(|e| AgentError::RedisUrl {
        url: e.url,
        reason: e.reason,
    })?;
    let model: Arc<dyn Model> = match &config.model {
        ModelChoice::Builtin => Arc::new(BuiltinModel::new(config.pace)),
        ModelChoice::OpenAi(c) => Arc::new(OpenAiModel::new(c.clone())?),
        ModelChoice::Custom(m) => m.clone(),
    };
    let addr = listener.local_addr()?;

    let mut options = PublisherOptions::new(config.target(), config.name.clone());
    options.buffer_limit = config.event_buffer;
    options.max_field_bytes = config.max_field_bytes;
    options.min_replicas = config.min_replicas;
    orchestrator_events::stream_memory::warn_if_over(
        config.stream_maxlen,
        config.max_field_bytes,
        config.stream_memory_warn,
    );
    let publisher = Publisher::start(source.clone(), options);

    // Before serving (so none of this process's runs exist yet): close the runs
    // a killed predecessor under the same name left open.
    let scan = config.stream_maxlen.clamp(1, 20_000);
    let handle = publisher.handle();
    let orphans =
        crate::orphans::close_orphaned_runs(&source, &config.stream, &config.name, scan, &handle);
    match tokio::time::timeout(Duration::from_secs(3), orphans).await {
        Ok(Ok(0)) => {}
        Ok(Ok(closed)) => tracing::warn!(closed, "closed runs left open by a previous process"),
        Ok(Err(e)) => tracing::warn!(
            kind = ?e.kind(),
            "could not look for runs left open by a previous process (Redis unreachable?); skipped"
        ),
        Err(_) => tracing::warn!("looking for runs left open timed out; skipped"),
    }

    let exporter = match &config.otlp {
        Some(c) => Some(crate::otlp::Exporter::start(c, config.max_field_bytes)?),
        None => None,
    };
    let trace = exporter.as_ref().map(|e| e.handle());
    let conn = Arc::new(SharedConn::new(source.clone(), Duration::from_secs(3)));
    let tools = PlanStore::new(conn, config.plans_prefix.clone())
        .tools()
        .into_iter()
        .fold(Toolbox::new(), Toolbox::with);
    let runner = Runner::new(
        config.name.clone(),
        model,
        tools,
        publisher.handle(),
        LoopLimits {
            max_steps: config.max_steps,
        },
        config.max_runs,
    )
    .with_trace(trace.clone());
    let app = Arc::new(App {
        name: config.name.clone(),
        runner: runner.clone(),
        tasks: Arc::new(TaskStore::new(TASKS_REMEMBERED)),
        publisher: publisher.handle(),
        redis_url_redacted: redacted.clone(),
        redis: source.clone(),
        token: config.token.clone(),
        body_limit: config.body_limit,
        base_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/")),
        started: Instant::now(),
        http: Arc::new(orchestrator_serve::ConnStats::new()),
        otlp: trace,
    });
    orchestrator_serve::fdlimit::raise_and_log("agent", config.http.max_pending as u64 + 64);

    tracing::info!(
        listen = %addr,
        agent = %config.name,
        model = %runner.model_description(),
        redis = %redacted,
        channel = %config.channel,
        stream = %config.stream,
        auth = config.token.is_some(),
        "orchestrator agent listening"
    );

    // Stop order: cancel runs first (their last events are queued), then let
    // the HTTP server finish the requests waiting on those runs.
    let stop_runs = {
        let shutdown = shutdown.clone();
        let runner = runner.clone();
        async move {
            shutdown.cancelled().await;
            tracing::info!("shutting down: cancelling runs in flight");
            runner.cancel_all();
        }
    };
    tokio::spawn(stop_runs);
    let server = orchestrator_serve::serve(
        listener,
        warp::service(crate::http::routes(app.clone())),
        config.http,
        app.http.clone(),
        shutdown.clone(),
    );
    tokio::select! {
        _ = server => {}
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(config.shutdown_grace).await;
        } => tracing::warn!("some connections were still open after the grace period; closing"),
    }

    let status = publisher.shutdown(config.shutdown_grace).await;
    if status.queued > 0 {
        tracing::warn!(
            undelivered = status.queued,
            "stopped with events that never reached Redis"
        );
    }
    if let Some(exporter) = exporter {
        let s = exporter.shutdown(config.shutdown_grace).await;
        tracing::info!(
            exported = s.exported,
            dropped = s.dropped,
            failed = s.failed,
            unsent = s.queued,
            "OTLP trace export stopped"
        );
    }
    tracing::info!(published = status.published, "orchestrator agent stopped");
    Ok(())
}
