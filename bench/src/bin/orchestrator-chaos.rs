//! `orchestrator-chaos` (`just chaos`): kills Redis, the bridge and the agent
//! mid-stream, stalls a client and floods the channel with garbage, and prints
//! for each scenario the events sent / received / lost / duplicated, counted
//! by id at a resuming client. Exits non-zero when a scenario misses the
//! target (0 lost, 0 duplicated, nothing undeliverable left unreported).

use std::path::PathBuf;

use clap::Parser;
use orchestrator_bench::chaos::{ChaosOpts, SCENARIOS, markdown, run_all, table};
use orchestrator_bench::say;

/// Fault suite for the orchestrator pipeline (private Redis, release binaries).
#[derive(Debug, Parser)]
#[command(name = "orchestrator-chaos", version)]
struct Cli {
    /// Scenarios to run, comma-separated: redis_kill, failover, bridge_kill, agent_restart, slow_client, malformed, slowloris.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,

    /// Small counts (what the test suite runs).
    #[arg(long)]
    fast: bool,

    /// Where the Markdown table goes (default: target/bench/chaos-latest.md,
    /// chaos-fast-latest.md with --fast).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn fail(code: i32, message: impl std::fmt::Display) -> ! {
    orchestrator_bench::cli::fail("orchestrator-chaos", code, message)
}

#[tokio::main]
async fn main() {
    let cli: Cli = orchestrator_bench::cli::parse_or_exit("orchestrator-chaos");
    orchestrator_bench::cli::init_tracing();
    let only: Vec<String> = cli.only.iter().map(|s| s.trim().to_string()).collect();
    if let Some(bad) = only.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
        fail(
            2,
            format_args!(
                "--only: unknown scenario {bad:?} (scenarios: {})",
                SCENARIOS.join(", ")
            ),
        );
    }
    let opts = if cli.fast {
        ChaosOpts::fast()
    } else {
        ChaosOpts::full()
    };
    // The slowloris holds thousands of sockets in this process; the bridge
    // started from here inherits the limit too.
    if let Err(e) =
        orchestrator_bench::measure::raise_nofile(4 * opts.slowloris.connections as u64 + 4096)
    {
        tracing::warn!(error = %e, "cannot raise the open-files limit");
    }
    let rows = run_all(&opts, &only).await;
    say!("{}", table(&rows));
    let path = cli.out.unwrap_or_else(|| {
        let name = if cli.fast {
            "chaos-fast-latest.md"
        } else {
            "chaos-latest.md"
        };
        orchestrator_bench::report::default_out_dir().join(name)
    });
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, markdown(&rows)) {
        Ok(()) => say!("saved {}", path.display()),
        Err(e) => eprintln!("orchestrator-chaos: cannot write {}: {e}", path.display()),
    }
    let failed = rows
        .iter()
        .filter(|r| !matches!(r, Ok(row) if row.ok()))
        .count();
    if failed > 0 {
        eprintln!("orchestrator-chaos: {failed} scenario(s) missed the target");
        std::process::exit(1);
    }
}
