//! The A2A tasks this agent knows: created by `message/send` or
//! `message/stream`, read by `tasks/get`, stopped by `tasks/cancel`.
//!
//! Kept in memory and bounded: past [`TaskStore::new`]'s capacity the oldest
//! finished tasks are forgotten (`tasks/get` then answers "task not found").
//! Each task has a `watch` of its state so a blocking `message/send` and
//! `tasks/cancel` can wait for the end without polling.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use orchestrator_events::event::RunStatus;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::types::{Artifact, Message, Part, Task, TaskState, TaskStatus};
use crate::run_outcome::RunOutcome;
use crate::timefmt::now_rfc3339;

/// Why a task cannot be cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelError {
    /// No such task (or forgotten).
    NotFound,
    /// Already finished, in this state.
    NotCancelable(TaskState),
}

struct Entry {
    task: Task,
    cancel: CancellationToken,
    state: watch::Sender<TaskState>,
}

/// All known tasks.
pub struct TaskStore {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    order: VecDeque<String>,
}

impl std::fmt::Debug for TaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The id of the reply artifact of a task.
pub fn reply_artifact_id(task_id: &str) -> String {
    format!("{task_id}-reply")
}

impl TaskStore {
    /// A store that remembers up to `capacity` tasks.
    pub fn new(capacity: usize) -> Self {
        TaskStore {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a working task for a started run; returns the task and a
    /// watch of its state.
    pub fn create(
        &self,
        id: String,
        user_message: Message,
        context_id: String,
        run_id: &str,
        agent: &str,
        cancel: CancellationToken,
    ) -> (Task, watch::Receiver<TaskState>) {
        let mut user_message = user_message;
        user_message.task_id = Some(id.clone());
        user_message.context_id = Some(context_id.clone());
        let task = Task {
            kind: "task",
            id: id.clone(),
            context_id,
            status: TaskStatus {
                state: TaskState::Working,
                message: None,
                timestamp: now_rfc3339(),
            },
            artifacts: Vec::new(),
            history: vec![user_message],
            metadata: json!({"run_id": run_id, "agent": agent}),
        };
        let (tx, rx) = watch::channel(TaskState::Working);
        let mut inner = self.lock();
        inner.order.push_back(id.clone());
        inner.tasks.insert(
            id,
            Entry {
                task: task.clone(),
                cancel,
                state: tx,
            },
        );
        self.evict(&mut inner);
        (task, rx)
    }

    fn evict(&self, inner: &mut Inner) {
        while inner.tasks.len() > self.capacity {
            // The oldest finished task goes first; a running one only if all run.
            let victim = inner
                .order
                .iter()
                .position(|id| {
                    inner
                        .tasks
                        .get(id)
                        .is_none_or(|e| e.task.status.state.is_terminal())
                })
                .unwrap_or(0);
            match inner.order.remove(victim) {
                Some(id) => {
                    inner.tasks.remove(&id);
                }
                None => break,
            }
        }
    }

    /// Records how the task's run ended.
    pub fn finish(&self, id: &str, outcome: &RunOutcome) {
        let mut inner = self.lock();
        let Some(entry) = inner.tasks.get_mut(id) else {
            return;
        };
        let task = &mut entry.task;
        let state = match outcome.status {
            RunStatus::Completed => TaskState::Completed,
            RunStatus::Failed => TaskState::Failed,
            RunStatus::Cancelled => TaskState::Canceled,
        };
        let text = match (&outcome.error, outcome.status) {
            (Some(e), _) => e.clone(),
            (None, RunStatus::Cancelled) => "The task was cancelled.".into(),
            (None, _) => outcome.reply.clone(),
        };
        let message = Message::agent(text, &task.id, &task.context_id);
        if !outcome.reply.is_empty() {
            task.artifacts = vec![Artifact {
                artifact_id: reply_artifact_id(&task.id),
                name: "reply".into(),
                parts: vec![Part::text(outcome.reply.clone())],
            }];
        }
        task.history.push(message.clone());
        task.status = TaskStatus {
            state,
            message: Some(message),
            timestamp: now_rfc3339(),
        };
        if let Some(obj) = task.metadata.as_object_mut() {
            obj.insert("duration_ms".into(), outcome.duration_ms.into());
        }
        entry.state.send_replace(state);
    }

    /// Forgets a task (its run could not start).
    pub fn remove(&self, id: &str) {
        let mut inner = self.lock();
        inner.tasks.remove(id);
        inner.order.retain(|t| t != id);
    }

    /// The task, with at most `history_length` most recent messages.
    pub fn get(&self, id: &str, history_length: Option<usize>) -> Option<Task> {
        let inner = self.lock();
        let mut task = inner.tasks.get(id)?.task.clone();
        if let Some(n) = history_length {
            let skip = task.history.len().saturating_sub(n);
            task.history.drain(..skip);
        }
        Some(task)
    }

    /// Asks the task's run to stop; returns a watch to await the end.
    pub fn cancel(&self, id: &str) -> Result<watch::Receiver<TaskState>, CancelError> {
        let inner = self.lock();
        let entry = inner.tasks.get(id).ok_or(CancelError::NotFound)?;
        let state = entry.task.status.state;
        if state.is_terminal() {
            return Err(CancelError::NotCancelable(state));
        }
        entry.cancel.cancel();
        Ok(entry.state.subscribe())
    }
}

/// Waits until `state` is terminal (or its task was forgotten).
pub async fn wait_terminal(mut state: watch::Receiver<TaskState>) {
    let _ = state.wait_for(|s| s.is_terminal()).await;
}
