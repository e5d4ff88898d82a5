//! `--replay FILE`: a recorded JSONL file read back as if it came live.
//!
//! The file is read by a task that sends the same [`ClientEvent`]s the live
//! client sends (one frame per non-empty line, deduplicated by id), so the
//! monitor and `--plain`/`--json` need no second code path. A line that is not
//! an event shows up as a malformed row, exactly as it would live.

use orchestrator_events::resume::SeenIds;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::{ClientEvent, ConnState, Frame};

/// A recorded file that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReplayError {
    /// The file.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Opens `path` (so a missing file is reported before anything starts) and
/// starts a task that sends its lines as frames.
pub async fn spawn_replay(
    path: PathBuf,
    cancel: CancellationToken,
) -> Result<mpsc::Receiver<ClientEvent>, ReplayError> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|source| ReplayError {
            path: path.display().to_string(),
            source,
        })?;
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        if tx
            .send(ClientEvent::State(ConnState::Replaying))
            .await
            .is_err()
        {
            return;
        }
        let mut lines = BufReader::new(file).lines();
        let mut dedup = SeenIds::default();
        let mut count = 0u64;
        loop {
            let line = tokio::select! {
                () = cancel.cancelled() => return,
                line = lines.next_line() => line,
            };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(err) => {
                    // Not UTF-8 or unreadable: say so and stop here.
                    let reason = format!("read error after {count} lines: {err}");
                    let _ = tx
                        .send(ClientEvent::State(ConnState::Failed { reason }))
                        .await;
                    return;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            count += 1;
            let frame = Frame::parse(line);
            if let Ok(event) = &frame.event
                && let Some(id) = event.id
                && !dedup.insert(id)
            {
                continue;
            }
            if tx.send(ClientEvent::Frame(frame)).await.is_err() {
                return;
            }
        }
        let _ = tx
            .send(ClientEvent::State(ConnState::ReplayDone { lines: count }))
            .await;
    });
    Ok(rx)
}
