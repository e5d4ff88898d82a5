//! What the two binaries (`orchestrator-bench`, `orchestrator-chaos`) share
//! around their own flags: one-line usage errors, logging to stderr, and
//! printing that survives a closed pipe.

/// Prints a line to stdout; a closed pipe (`| head`) ends output quietly
/// instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints `<program>: <message>` on stderr and exits with `code`.
pub use orchestrator_events::cli::exit_with as fail;

/// Parses the command line: the one usage-error handling every binary shares
/// (see [`orchestrator_events::cli`]).
pub use orchestrator_events::cli::parse_or_exit;

/// Logs to stderr (`RUST_LOG`, default `info`), so stdout carries only results.
pub fn init_tracing() {
    orchestrator_events::process::init_logging("info");
}
