//! `orchestrator-send`: send a varied set of sample messages to a running
//! agent over `/chat` and A2A, and print what came back, one line each.
//!
//! `--loop` keeps sending rounds (different wording each round) every
//! `--interval` seconds until Ctrl-C: the demo's scripted planner.

use std::time::Duration;

use clap::Parser;
use orchestrator_agent::samples::{self, Target};

/// Send sample messages to the orchestrator agent (research plan, question,
/// failing tool, long streamed answer, cancelled task, listing).
#[derive(Debug, Parser)]
#[command(name = "orchestrator-send", version)]
struct Cli {
    /// The agent's base URL.
    #[arg(long, env = "ORCH_AGENT_URL", default_value = "http://127.0.0.1:9001")]
    url: String,
    /// Bearer token, when the agent requires one.
    #[arg(long, env = "ORCH_AGENT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Keep sending rounds until interrupted.
    #[arg(long = "loop")]
    repeat: bool,
    /// Seconds between rounds with --loop.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Seconds allowed for one request.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Send every message as a child of this run (`parent_run_id` in the
    /// `/chat` body and the A2A message metadata).
    #[arg(long, value_name = "RUN_ID")]
    parent_run_id: Option<String>,
}

fn main() {
    let cli: Cli = orchestrator_agent::cli::parse_or_exit("orchestrator-send");
    match reqwest::Url::parse(&cli.url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        _ => fail(&format!(
            "invalid agent URL {:?}: expected http://host:port",
            cli.url
        )),
    }
    if !(cli.interval.is_finite() && cli.interval >= 0.0) {
        fail("--interval must be a non-negative number of seconds");
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(cli.timeout.max(1)))
        .build()
    {
        Ok(c) => c,
        Err(e) => fail(&format!("cannot build the HTTP client: {e}")),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    let target = Target {
        base_url: cli.url.clone(),
        token: cli.token.clone().filter(|t| !t.is_empty()),
        parent_run_id: cli.parent_run_id.clone().filter(|p| !p.is_empty()),
    };
    let failures = runtime.block_on(async {
        tokio::select! {
            n = rounds(&client, &target, &cli) => n,
            _ = orchestrator_events::process::stop_signal() => 0,
        }
    });
    if failures > 0 && !cli.repeat {
        std::process::exit(1);
    }
}

async fn rounds(client: &reqwest::Client, target: &Target, cli: &Cli) -> usize {
    let mut failures = 0;
    for round in 0.. {
        if cli.repeat {
            println!("— round {} —", round + 1);
        }
        for outcome in samples::send_round(client, target, round).await {
            let mark = if outcome.ok { "ok  " } else { "FAIL" };
            println!(
                "{mark} {:<34} {:<20} {}",
                outcome.name, outcome.via, outcome.detail
            );
            failures += usize::from(!outcome.ok);
        }
        if !cli.repeat {
            break;
        }
        tokio::time::sleep(Duration::from_secs_f64(cli.interval)).await;
    }
    failures
}

fn fail(message: &str) -> ! {
    orchestrator_agent::cli::fail("orchestrator-send", message)
}
