//! `orchestrator-listen`: print every event arriving on the Redis channel, one
//! line each (time, type, agent, run, summary), or raw with `--json`.
//!
//! Survives Redis restarts: it says so on stderr and resubscribes with the
//! shared backoff.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use orchestrator_events::Backoff;
use orchestrator_events::config as defaults;
use orchestrator_events::source::RedisSource;

/// Resubscribing: quick after a blip, at most every 5 s while Redis is away.
const RESUBSCRIBE: Backoff = Backoff {
    initial: Duration::from_millis(200),
    max: Duration::from_secs(5),
    factor: 2.0,
};

/// Print the orchestrator events arriving on Redis, one line each.
#[derive(Debug, Parser)]
#[command(name = "orchestrator-listen", version)]
struct Cli {
    /// Redis URL.
    #[arg(long, env = "REDIS_URL", default_value = defaults::DEFAULT_REDIS_URL, hide_env_values = true)]
    redis_url: String,
    /// Channel to subscribe to.
    #[arg(long, env = "ORCH_CHANNEL", default_value = defaults::DEFAULT_CHANNEL)]
    channel: String,
    /// Print each event's raw JSON instead of a summary line.
    #[arg(long)]
    json: bool,
}

fn main() {
    let cli: Cli = orchestrator_agent::cli::parse_or_exit("orchestrator-listen");
    // Before any connection: `rediss://` needs a rustls crypto provider.
    orchestrator_events::tls::install_crypto_provider();
    let source = match RedisSource::parse(&cli.redis_url) {
        Ok(s) => s,
        Err(e) => fail(&e.to_string()),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        tokio::select! {
            _ = listen(source, &cli) => {}
            _ = orchestrator_events::process::stop_signal() => {}
        }
    });
}

/// Subscribes on the current master (asking the Sentinels again after every
/// lost connection, for a Sentinel URL) and prints until stdout closes.
async fn listen(source: RedisSource, cli: &Cli) {
    let url = source.redacted().to_string();
    let mut failures = 0u32;
    let mut was_connected = false;
    loop {
        let subscribed = async {
            let client = source.client().await?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&cli.channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        let mut pubsub = match subscribed {
            Ok(p) => p,
            Err(e) => {
                failures = failures.saturating_add(1);
                let delay = RESUBSCRIBE.delay(failures);
                eprintln!(
                    "orchestrator-listen: cannot subscribe on {url}: {e}; retrying in {} ms",
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        failures = 0;
        eprintln!(
            "orchestrator-listen: {} {} on {url} (Ctrl-C to stop)",
            if was_connected {
                "resubscribed to"
            } else {
                "listening on"
            },
            cli.channel
        );
        was_connected = true;
        let mut messages = pubsub.on_message();
        let mut stdout = std::io::stdout().lock();
        while let Some(msg) = messages.next().await {
            let payload: String = msg
                .get_payload()
                .unwrap_or_else(|_| "(binary payload)".into());
            let line = if cli.json {
                payload
            } else {
                orchestrator_agent::listen::line(&payload)
            };
            if writeln!(stdout, "{line}")
                .and_then(|_| stdout.flush())
                .is_err()
            {
                return; // stdout closed (e.g. piped into head)
            }
        }
        drop(stdout);
        eprintln!("orchestrator-listen: lost the connection to Redis; reconnecting");
    }
}

fn fail(message: &str) -> ! {
    orchestrator_agent::cli::fail("orchestrator-listen", message)
}
