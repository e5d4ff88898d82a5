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
pub fn fail(program: &str, code: i32, message: impl std::fmt::Display) -> ! {
    eprintln!("{program}: {message}");
    std::process::exit(code)
}

/// Parses the command line; a usage error is one line and exit code 2
/// (`--help` and `--version` print and exit 0 as usual).
pub fn parse_or_exit<T: clap::Parser>(program: &str) -> T {
    match T::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            fail(
                program,
                2,
                format_args!("{} (see --help)", first.trim_start_matches("error: ")),
            )
        }
        Err(e) => e.exit(),
    }
}

/// Logs to stderr (`RUST_LOG`, default `info`), so stdout carries only results.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
