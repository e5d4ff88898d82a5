//! Runs in flight: starting one (or refusing, when at the limit), cancelling
//! one, cancelling all on shutdown.
//!
//! A run is a spawned task, not part of the HTTP request: a client that hangs
//! up does not stop it, so its events still reach everyone watching. The
//! limit is a semaphore taken with `try_acquire`: one request too many is
//! told "busy" at once instead of waiting in an invisible queue.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;

use crate::agent_loop::{LoopLimits, RunInput, run_loop};
use crate::callback::{CallbackHandler, Fanout, RunEvents};
use crate::model::Model;
use crate::publisher::PublisherHandle;
use crate::run_outcome::RunOutcome;
use crate::tools::Toolbox;

/// Refused because `max_runs` runs are in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("busy: {in_flight} runs in flight (limit {limit}); retry shortly")]
pub struct Busy {
    /// Runs in flight when refused.
    pub in_flight: usize,
    /// The limit.
    pub limit: usize,
}

/// A run that was started.
#[derive(Debug)]
pub struct StartedRun {
    /// The `run_id` of its events.
    pub run_id: String,
    /// Cancels it (`run_finished` `cancelled`).
    pub cancel: CancellationToken,
    /// Its outcome, once it ends.
    pub done: oneshot::Receiver<RunOutcome>,
}

/// Called once with a run's outcome.
pub type OnDone = Box<dyn FnOnce(&RunOutcome) + Send>;

/// Optional parts of starting a run.
#[derive(Default)]
pub struct RunHooks {
    /// Use this run id (default: a new one).
    pub run_id: Option<String>,
    /// Use this token (from [`Runner::child_token`]; default: a new one).
    pub cancel: Option<CancellationToken>,
    /// Sees every step too (e.g. an SSE stream).
    pub observer: Option<Arc<dyn CallbackHandler>>,
    /// Called with the outcome, before the observer's `on_run_end`.
    pub on_done: Option<OnDone>,
}

/// Everything a run needs, shared by all runs.
#[derive(Clone)]
pub struct Runner {
    agent: String,
    model: Arc<dyn Model>,
    tools: Toolbox,
    publisher: PublisherHandle,
    limits: LoopLimits,
    permits: Arc<Semaphore>,
    limit: usize,
    /// Parent of every run's token: cancelled on shutdown.
    all: CancellationToken,
    /// The OTLP trace export, when configured.
    trace: Option<crate::otlp::TraceExport>,
}

impl Runner {
    /// A runner that allows `max_runs` runs at once.
    pub fn new(
        agent: String,
        model: Arc<dyn Model>,
        tools: Toolbox,
        publisher: PublisherHandle,
        limits: LoopLimits,
        max_runs: usize,
    ) -> Self {
        let limit = max_runs.max(1);
        Runner {
            agent,
            model,
            tools,
            publisher,
            limits,
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            all: CancellationToken::new(),
            trace: None,
        }
    }

    /// Exports every run as GenAI spans too.
    pub fn with_trace(mut self, trace: Option<crate::otlp::TraceExport>) -> Self {
        self.trace = trace;
        self
    }

    /// A token for a run that is about to start: cancelled on shutdown too.
    pub fn child_token(&self) -> CancellationToken {
        self.all.child_token()
    }

    /// Starts a run. Refused at once when `max_runs` runs are in flight.
    pub fn start(&self, input: RunInput, hooks: RunHooks) -> Result<StartedRun, Busy> {
        let permit: OwnedSemaphorePermit =
            self.permits.clone().try_acquire_owned().map_err(|_| Busy {
                in_flight: self.in_flight(),
                limit: self.limit,
            })?;
        let run_id = hooks.run_id.unwrap_or_else(new_run_id);
        let cancel = hooks.cancel.unwrap_or_else(|| self.all.child_token());
        let (tx, done) = oneshot::channel();
        let mut handlers: Vec<Arc<dyn CallbackHandler>> = vec![Arc::new(
            RunEvents::new(self.agent.clone(), run_id.clone(), self.publisher.clone())
                .with_parent(input.parent_run_id.clone()),
        )];
        if let Some(trace) = &self.trace {
            handlers.push(Arc::new(trace.run(
                &self.agent,
                &run_id,
                &self.model.name(),
            )));
        }
        handlers.extend(hooks.observer);
        let handler = Fanout(handlers);
        let on_done = hooks.on_done;
        let runner = self.clone();
        let token = cancel.clone();
        let id = run_id.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tracing::info!(run_id = %id, source = %input.source, "run started");
            let outcome = run_loop(
                runner.model.as_ref(),
                &runner.tools,
                input,
                runner.limits,
                &handler,
                &token,
            )
            .await;
            tracing::info!(
                run_id = %id,
                status = ?outcome.status,
                duration_ms = outcome.duration_ms,
                "run finished"
            );
            // Record the end (e.g. the A2A task's state) before observers
            // announce it, so whoever hears "finished" can read the result.
            if let Some(on_done) = on_done {
                on_done(&outcome);
            }
            handler.on_run_end(&outcome);
            drop(handler);
            let _ = tx.send(outcome);
        });
        Ok(StartedRun {
            run_id,
            cancel,
            done,
        })
    }

    /// Runs in flight right now.
    pub fn in_flight(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// The concurrency limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Cancels every run (shutdown).
    pub fn cancel_all(&self) {
        self.all.cancel();
    }

    /// The model's one-line description.
    pub fn model_description(&self) -> String {
        self.model.describe()
    }
}

/// `run-` and 12 hex digits: unique enough, short enough to read in a terminal.
pub fn new_run_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("run-{}", &hex[..12])
}
