//! Turning a command-line error into one line, the same way in every binary.
//!
//! clap's own rendering of a usage error is several lines (usage, a tip) on
//! stderr; under a supervisor or in a script one line is what gets read. So a
//! usage error is `<program>: <clap's first line> (see --help)` and exit code
//! 2, while `--help` and `--version` still print in full and exit 0.

use clap::Parser;
use clap::error::ErrorKind;

/// Exit code of a usage error (the BSD `EX_USAGE` convention clap uses too).
pub const USAGE_EXIT: i32 = 2;

/// Parses the command line of `program`. `--help` and `--version` print and
/// exit 0; any other problem prints [`usage_line`] on stderr and exits 2.
pub fn parse_or_exit<T: Parser>(program: &str) -> T {
    match T::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
            _ => {
                eprintln!("{}", usage_line(program, &e));
                std::process::exit(USAGE_EXIT)
            }
        },
    }
}

/// Prints `<program>: <message>` on stderr and exits with `code`: the one
/// way a binary ends on an error it cannot recover from (a taken port, a
/// bad URL), with no backtrace.
pub fn exit_with(program: &str, code: i32, message: impl std::fmt::Display) -> ! {
    eprintln!("{program}: {message}");
    std::process::exit(code)
}

/// The one line for a usage error: `<program>: <first line> (see --help)`.
pub fn usage_line(program: &str, error: &clap::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{program}: {first} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    #[command(name = "t")]
    struct Cli {
        #[arg(long)]
        count: u32,
    }

    #[test]
    fn a_usage_error_is_one_line_with_a_hint() {
        let Err(e) = Cli::try_parse_from(["t", "--count", "x"]) else {
            panic!("`x` is not a number");
        };
        let line = usage_line("t", &e);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("t: invalid value 'x'"), "{line}");
        assert!(line.ends_with("(see --help)"), "{line}");
    }
}
