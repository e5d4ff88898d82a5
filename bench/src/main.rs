//! `orchestrator-bench` (`just bench`): fan-out, latency, memory, TUI and agent
//! publisher figures against a private Redis and the release bridge, printed
//! as a table (each figure with its method and target) and saved as JSON and
//! Markdown under `target/bench/`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Parser;
use orchestrator_bench::measure::raise_nofile;
use orchestrator_bench::say;
use orchestrator_bench::scenarios::{BenchOpts, PARTS, run_all};

#[global_allocator]
static ALLOC: orchestrator_bench::alloc::Counting = orchestrator_bench::alloc::Counting;

/// Measures the orchestrator pipeline: bridge fan-out and latency, Redis's own
/// ceiling, bridge memory per connection, TUI ingest/draw, agent publisher.
/// Run the release build (`just bench`); debug figures mean nothing.
#[derive(Debug, Parser)]
#[command(name = "orchestrator-bench", version)]
struct Cli {
    /// Parts to run, comma-separated: tui, agent, replicas, ingest, otlp, ceiling, fanout, latency, memory, ssh.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,

    /// A smoke run with small counts (seconds, not minutes); figures not for quoting.
    #[arg(long)]
    quick: bool,

    /// Where the JSON and Markdown go (default: target/bench).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn fail(code: i32, message: impl std::fmt::Display) -> ! {
    orchestrator_bench::cli::fail("orchestrator-bench", code, message)
}

#[tokio::main]
async fn main() {
    let cli: Cli = orchestrator_bench::cli::parse_or_exit("orchestrator-bench");
    orchestrator_bench::cli::init_tracing();

    if cfg!(debug_assertions) {
        tracing::warn!(
            "this is a debug build: figures are not meaningful (use --release / just bench)"
        );
    }
    let mut opts = if cli.quick {
        BenchOpts::quick()
    } else {
        BenchOpts::full()
    };
    if !cli.only.is_empty() {
        let only: BTreeSet<String> = cli.only.iter().map(|s| s.trim().to_string()).collect();
        if let Some(bad) = only.iter().find(|p| !PARTS.contains(&p.as_str())) {
            fail(
                2,
                format_args!("--only: unknown part {bad:?} (parts: {})", PARTS.join(", ")),
            );
        }
        opts.only = only;
    }
    let want = 2 * opts.memory.clients.iter().max().copied().unwrap_or(0) as u64 + 1024;
    match raise_nofile(want) {
        Ok(n) if n < want => tracing::warn!(
            limit = n,
            wanted = want,
            "open-files limit is below what the memory test needs; it may fail (raise the hard limit: ulimit -Hn)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }

    let report = run_all(&opts).await;
    say!("{}", report.text_table());
    if let Some(m) = &report.machine {
        say!(
            "\nmachine: {} cores, {}, kernel {}, {} MiB RAM; load average at start {}; wall time {:.0} s",
            m.cores,
            m.cpu,
            m.kernel,
            m.mem_mib,
            m.loadavg,
            report.wall_secs
        );
    }
    for e in &report.errors {
        say!("error: {e}");
    }
    let dir = cli
        .out
        .unwrap_or_else(orchestrator_bench::report::default_out_dir);
    // Smoke runs never replace the figures of a real run.
    let prefix = if cli.quick { "quick" } else { "bench" };
    let latest = if cli.quick { "quick-latest" } else { "latest" };
    let name = format!("{prefix}-{}", report.started_unix);
    match report.save(&dir, &name) {
        Ok((json, md)) => {
            let _ = report.save(&dir, latest);
            say!("saved {} and {}", json.display(), md.display());
        }
        Err(e) => fail(
            1,
            format_args!("cannot write results to {}: {e}", dir.display()),
        ),
    }
    if !report.errors.is_empty() {
        std::process::exit(1);
    }
}
