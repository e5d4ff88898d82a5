//! Command-line flags and environment variables (see the contract in
//! `docs/protocol.md`: `[URL]` / `ORCH_WS_URL`, `--token` / `ORCH_BRIDGE_TOKEN`).

use std::path::PathBuf;

use clap::Parser;
use orchestrator_events::StreamId;
use orchestrator_events::config::DEFAULT_WS_URL;

use crate::app::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY};

/// Watch orchestrator agents think and act, live, from a terminal.
///
/// Connects to the bridge's WebSocket, shows every event as an icon-tagged,
/// filterable log, reconnects on its own and resumes where it left off.
/// Without a terminal (or with --plain / --json) it prints one line per event.
#[derive(Debug, Clone, Parser)]
#[command(name = "orchestrator-tui", version, about, long_about = None)]
pub struct Cli {
    /// The bridge's WebSocket URL.
    #[arg(env = "ORCH_WS_URL", default_value = DEFAULT_WS_URL)]
    pub url: String,

    /// No screen: one human-readable line per event on stdout.
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,

    /// No screen: each event's raw JSON on one line on stdout.
    #[arg(long)]
    pub json: bool,

    /// Only these event types, filtered by the bridge (comma list, e.g. tool_use,tool_result).
    #[arg(long, value_name = "LIST")]
    pub types: Option<String>,

    /// Access token, when the bridge requires one.
    #[arg(long, env = "ORCH_BRIDGE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// ASCII icons and borders instead of emoji (automatic when the locale is not UTF-8).
    #[arg(long)]
    pub ascii: bool,

    /// Events kept in memory; the oldest are dropped beyond this.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_EVENTS,
          value_parser = parse_max_events)]
    pub max_events: usize,

    /// Memory the kept events may take (e.g. 32MiB, 1GiB, or bytes); the oldest are dropped beyond this.
    #[arg(long, value_name = "SIZE", env = "ORCH_TUI_MAX_MEMORY",
          default_value_t = DEFAULT_MAX_MEMORY, value_parser = parse_size)]
    pub max_memory: usize,

    /// Append every received frame to this JSONL file.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Open a recorded JSONL file offline instead of connecting.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Start by replaying everything after this event id (e.g. the last id of an earlier session).
    #[arg(long, value_name = "ID")]
    pub since: Option<StreamId>,

    /// Show times in UTC instead of the local zone.
    #[arg(long)]
    pub utc: bool,

    /// Start with the newest N events of the stream (first connection only, without --since); 0 = live only.
    #[arg(
        long,
        value_name = "N",
        env = "ORCH_TUI_HISTORY",
        default_value_t = 2000
    )]
    pub history: u32,

    /// Model prices for the runs view's cost column: JSON, model -> {"input": USD, "output": USD} per million tokens.
    #[arg(long, value_name = "FILE", env = "ORCH_TUI_PRICES")]
    pub prices: Option<PathBuf>,

    /// Where `e` in a transcript writes the run's events (JSON Lines).
    #[arg(
        long,
        value_name = "DIR",
        env = "ORCH_TUI_EXPORT_DIR",
        default_value = "."
    )]
    pub export_dir: PathBuf,

    /// No screen: one line per finished run (with --json, one JSON object per run).
    #[arg(long)]
    pub runs: bool,
}

/// `--max-events`: a count from 1 to 10,000,000.
fn parse_max_events(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=10_000_000).contains(&n) => Ok(n),
        _ => Err("expected a number from 1 to 10000000".into()),
    }
}

/// `--max-memory`: a size of at least 1 MiB, as bytes (`1048576`) or with a
/// unit: `KiB`, `MiB`, `GiB` (powers of 1024) or `kB`, `MB`, `GB` (of 1000),
/// case-insensitive. Why the floor: the ring always keeps its newest event,
/// and the bridge lets one through up to 1 MiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
    const ERR: &str = "expected a size such as 32MiB, 256MiB or 1048576 (bytes), at least 1MiB";
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| ERR.to_string())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(ERR.into()),
    };
    n.checked_mul(mult)
        .filter(|b| *b >= 1 << 20)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| ERR.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_flags() {
        let cli = Cli::try_parse_from([
            "t",
            "ws://h/ws",
            "--plain",
            "--types",
            "tool_use",
            "--max-events",
            "10",
        ])
        .expect("valid");
        assert!(cli.plain && cli.max_events == 10);
        assert!(Cli::try_parse_from(["t", "--plain", "--json"]).is_err());
        assert!(Cli::try_parse_from(["t", "--max-events", "0"]).is_err());
        assert!(Cli::try_parse_from(["t", "--since", "nope"]).is_err());
        let cli = Cli::try_parse_from(["t", "--runs", "--json", "--history", "0"]).expect("valid");
        assert!(cli.runs && cli.json && cli.history == 0);
        let cli = Cli::try_parse_from(["t"]).expect("valid");
        assert_eq!(cli.history, 2000);
        assert!(Cli::try_parse_from(["t", "--history", "-1"]).is_err());
        assert_eq!(cli.max_memory, 256 << 20);
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("256mib"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for bad in [
            "",
            "MiB",
            "32 lots",
            "-1MiB",
            "1000",
            "1.5MiB",
            "99999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from(["t", "--max-memory", "32MiB"]).expect("valid");
        assert_eq!(cli.max_memory, 32 << 20);
        assert!(Cli::try_parse_from(["t", "--max-memory", "lots"]).is_err());
    }
}
