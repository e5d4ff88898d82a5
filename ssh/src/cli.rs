//! Flags and environment variables of `orchestrator-ssh`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use orchestrator_events::config::DEFAULT_WS_URL;
use orchestrator_tui::app::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY};
use orchestrator_tui::cli::parse_size;

/// Serve the orchestrator monitor over SSH: `ssh -p 2222 host` and the live
/// dashboard is there — no account, no shell, only the view.
///
/// Every viewer authenticates with a public key listed in the authorized-keys
/// file (read again at each login, so adding a key needs no restart). All
/// sessions share one WebSocket to the bridge and one event store.
#[derive(Debug, Clone, Parser)]
#[command(name = "orchestrator-ssh", version, about, long_about = None)]
pub struct Cli {
    /// The bridge's WebSocket URL.
    #[arg(env = "ORCH_WS_URL", default_value = DEFAULT_WS_URL)]
    pub url: String,

    /// Access token, when the bridge requires one.
    #[arg(long, env = "ORCH_BRIDGE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Address the SSH server listens on.
    #[arg(long, env = "ORCH_SSH_LISTEN", default_value = "127.0.0.1:2222")]
    pub listen: SocketAddr,

    /// Viewers' public keys, OpenSSH authorized_keys format (default ~/.ssh/authorized_keys).
    #[arg(long, env = "ORCH_SSH_AUTHORIZED_KEYS", value_name = "FILE")]
    pub authorized_keys: Option<PathBuf>,

    /// The server's ed25519 host key; created (mode 0600) when absent.
    #[arg(
        long,
        env = "ORCH_SSH_HOST_KEY",
        value_name = "FILE",
        default_value = "orchestrator-ssh_host_ed25519_key"
    )]
    pub host_key: PathBuf,

    /// Most sessions at once; more are refused.
    #[arg(long, env = "ORCH_SSH_MAX_SESSIONS", value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_sessions: u32,

    /// Close a connection after this long without input from the viewer, e.g. 30m (default: never).
    #[arg(long, env = "ORCH_SSH_IDLE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// New connections accepted per client IP per second; more are closed at once.
    #[arg(long, env = "ORCH_SSH_CONNECT_RATE", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub connect_rate: u32,

    /// Events kept in the shared store; the oldest are dropped beyond this.
    #[arg(long, env = "ORCH_SSH_MAX_EVENTS", value_name = "N", default_value_t = DEFAULT_MAX_EVENTS)]
    pub max_events: usize,

    /// Start the shared store with the newest N events of the stream (first connection only); 0 = live only.
    #[arg(
        long,
        value_name = "N",
        env = "ORCH_SSH_HISTORY",
        default_value_t = 2000
    )]
    pub history: u32,

    /// Model prices for the runs view's cost column: JSON, model -> {"input": USD, "output": USD} per million tokens.
    #[arg(long, value_name = "FILE", env = "ORCH_SSH_PRICES")]
    pub prices: Option<PathBuf>,

    /// Time a connection has to authenticate (OpenSSH's LoginGraceTime), e.g. 30s.
    #[arg(long, env = "ORCH_SSH_LOGIN_GRACE", value_name = "DURATION",
          default_value = "30s", value_parser = parse_duration, hide = true)]
    pub login_grace: Duration,

    /// Memory the shared store's events may take (e.g. 32MiB, 1GiB, or bytes); the oldest are dropped beyond this.
    #[arg(long, env = "ORCH_SSH_MAX_MEMORY", value_name = "SIZE",
          default_value_t = DEFAULT_MAX_MEMORY, value_parser = parse_size)]
    pub max_memory: usize,
}

/// A duration such as `90s`, `30m`, `2h` or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("expected a duration like 90s, 30m or 2h, got {s:?}"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("unknown unit {unit:?}: use s, m or h")),
    };
    if secs == 0 {
        return Err("a duration must be more than 0".into());
    }
    Ok(Duration::from_secs(secs))
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
        let cli = Cli::try_parse_from(["s", "--listen", "0.0.0.0:22", "--idle-timeout", "30m"])
            .expect("valid");
        assert_eq!(cli.listen.port(), 22);
        assert_eq!(cli.idle_timeout, Some(Duration::from_secs(1800)));
        assert_eq!(cli.login_grace, Duration::from_secs(30));
        assert_eq!((cli.history, cli.prices.as_deref()), (2000, None));
        let cli = Cli::try_parse_from([
            "s",
            "--login-grace",
            "2",
            "--history",
            "0",
            "--prices",
            "p.json",
        ])
        .expect("valid");
        assert_eq!(cli.login_grace, Duration::from_secs(2));
        assert_eq!(cli.history, 0);
        assert_eq!(cli.prices, Some(PathBuf::from("p.json")));
        assert!(Cli::try_parse_from(["s", "--idle-timeout", "0"]).is_err());
        assert!(Cli::try_parse_from(["s", "--idle-timeout", "3d"]).is_err());
        assert!(Cli::try_parse_from(["s", "--max-sessions", "0"]).is_err());
        assert!(Cli::try_parse_from(["s", "--listen", "nope"]).is_err());
    }
}
