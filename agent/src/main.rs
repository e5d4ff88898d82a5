//! `orchestrator-agent`: parse flags, bind, serve until Ctrl-C or SIGTERM.
//!
//! User errors (a wrong flag, a taken port, a malformed URL, a master name no
//! Sentinel monitors) end with one line on stderr and exit code 2 — no backtrace.

use orchestrator_agent::cli::Cli;
use tokio_util::sync::CancellationToken;

fn main() {
    let cli: Cli = orchestrator_agent::cli::parse_or_exit("orchestrator-agent");
    orchestrator_events::process::init_logging("info,warp=warn");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    if let Err(message) = runtime.block_on(serve(cli)) {
        fail(&message);
    }
}

async fn serve(cli: Cli) -> Result<(), String> {
    let listen = cli.listen.clone();
    let config = cli.into_config().map_err(|e| e.to_string())?;
    // Check the URL before binding, so a typo is reported as such; and a
    // master name no Sentinel knows, which retrying can never fix (an
    // unreachable Sentinel is an outage: the agent starts and retries).
    orchestrator_events::source::RedisSource::parse(&config.redis_url)
        .map_err(|e| e.to_string())?
        .check_at_start(std::time::Duration::from_secs(5))
        .await
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    orchestrator_agent::run(listener, config, shutdown)
        .await
        .map_err(|e| e.to_string())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    orchestrator_events::process::stop_signal().await;
    shutdown.cancel();
}

fn fail(message: &str) -> ! {
    orchestrator_agent::cli::fail("orchestrator-agent", message)
}
