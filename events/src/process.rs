//! What every binary does at start and at stop, written once: the log
//! subscriber and the signals that end a service.
//!
//! Each binary used to set up `tracing_subscriber` and watch SIGTERM on its
//! own, with small differences (one stopped on SIGHUP, another died of it;
//! one coloured its logs when piped). Here they are one behaviour: logs go to
//! stderr, coloured only on a terminal, filtered by `RUST_LOG` or the
//! binary's default; SIGINT, SIGTERM and SIGHUP each ask for a graceful stop
//! (SIGHUP's default action would kill the process without one, which a
//! closed SSH session or terminal sends).

use std::fmt::Display;
use std::future::Future;
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Installs the one log subscriber: stderr, `RUST_LOG` when set (else
/// `default`, e.g. `"info,warp=warn"`), ANSI colours only when stderr is a
/// terminal. A second call is a no-op (a test may call it per binary).
pub fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .try_init();
}

/// Which signal asked the process to stop (for the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT: Ctrl-C outside raw mode.
    Interrupt,
    /// SIGTERM: a supervisor (systemd, `kill`).
    Terminate,
    /// SIGHUP: the controlling terminal or SSH session went away.
    Hangup,
}

impl Stop {
    /// The signal's name, `SIGINT` and so on.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }
}

/// The stop signals as one stream: [`StopSignals::recv`] returns at each one.
/// Registered when created, so a signal that arrives before the first `recv`
/// is not lost (and no longer kills the process by default).
pub struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Registers SIGTERM and SIGHUP (SIGINT through `ctrl_c`). A signal that
    /// cannot be watched is logged and left out; SIGINT always works.
    pub fn new() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let watch = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch {name}; it will not stop gracefully");
                    None
                }
            };
            StopSignals {
                term: watch(SignalKind::terminate(), "SIGTERM"),
                hup: watch(SignalKind::hangup(), "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for the next stop signal.
    pub async fn recv(&mut self) -> Stop {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = recv_opt(&mut self.term) => Stop::Terminate,
                Some(()) = recv_opt(&mut self.hup) => Stop::Hangup,
                _ = tokio::signal::ctrl_c() => Stop::Interrupt,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Stop::Interrupt
        }
    }
}

impl Default for StopSignals {
    fn default() -> Self {
        StopSignals::new()
    }
}

/// One signal, or never when it is not watched.
#[cfg(unix)]
async fn recv_opt(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Waits for the first stop signal and logs which one it was. The usual
/// body of a service's `main`: `stop_signal().await; shutdown.cancel();`.
pub async fn stop_signal() -> Stop {
    let stop = StopSignals::new().recv().await;
    tracing::info!(signal = stop.name(), "stop signal received; shutting down");
    stop
}

/// A network service's whole life, the same for every daemon: a runtime,
/// the listener bound on `listen`, `service` run until a stop signal cancels
/// its token, and the exit code. 0 after a clean stop; 1 when the runtime
/// cannot start, the port cannot be bound or the service fails, each with
/// one line `<program>: <why>` on stderr. Stray blocking tasks are given
/// 100 ms, so a stop is prompt.
pub fn serve<F, Fut, E>(program: &str, listen: SocketAddr, service: F) -> i32
where
    F: FnOnce(tokio::net::TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{program}: cannot listen on {listen}: {e}");
                return 1;
            }
        };
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            stop_signal().await;
            on_signal.cancel();
        });
        match service(listener, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{program}: {e}");
                1
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sighup_and_sigterm_are_graceful_stops_not_deaths() {
        let mut signals = StopSignals::new();
        let me = std::process::id() as i32;
        for (sig, want) in [("HUP", Stop::Hangup), ("TERM", Stop::Terminate)] {
            // `kill` the test process itself: without a handler the default
            // action of either signal would end the test run.
            let status = std::process::Command::new("kill")
                .args([format!("-{sig}"), me.to_string()])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "kill -{sig}");
            let got = tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv()).await;
            assert_eq!(got, Ok(want));
        }
    }
}
