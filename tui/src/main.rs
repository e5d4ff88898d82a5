//! `orchestrator-tui`: parse flags, pick the mode (screen, `--plain`, `--json`,
//! `--replay`), start the client and run. User errors are one line on stderr
//! and exit code 2; a client that gives up exits with 1.

use std::io::IsTerminal;
use std::process::ExitCode;

use orchestrator_tui::app::prices::Prices;
use orchestrator_tui::app::{App, AppConfig, Source};
use orchestrator_tui::cli::Cli;
use orchestrator_tui::client::{ClientConfig, ClientEvent};
use orchestrator_tui::clock::Zone;
use orchestrator_tui::plain::{self, Ended, Format};
use orchestrator_tui::record::Recorder;
use orchestrator_tui::replay::spawn_replay;
use orchestrator_tui::theme::Theme;
use orchestrator_tui::{spawn_client, tui};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("orchestrator-tui: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = orchestrator_events::cli::parse_or_exit("orchestrator-tui");

    let format = match (cli.plain, cli.json) {
        _ if cli.runs && cli.json => Some(Format::Json),
        _ if cli.runs => Some(Format::Plain),
        (true, _) => Some(Format::Plain),
        (_, true) => Some(Format::Json),
        _ if !std::io::stdout().is_terminal() => {
            eprintln!(
                "orchestrator-tui: stdout is not a terminal; printing plain lines (use --plain or --json to choose)"
            );
            Some(Format::Plain)
        }
        _ => None,
    };
    if format.is_some() {
        orchestrator_events::process::init_logging("warn");
    }

    let cancel = CancellationToken::new();
    let (rx, source): (mpsc::Receiver<ClientEvent>, Source) = match &cli.replay {
        Some(path) => match spawn_replay(path.clone(), cancel.clone()).await {
            Ok(rx) => (
                rx,
                Source::Replay {
                    path: path.display().to_string(),
                },
            ),
            Err(e) => return fail(e),
        },
        None => {
            let config = ClientConfig::new(&cli.url).and_then(|c| match &cli.types {
                Some(list) => c.with_types(list),
                None => Ok(c),
            });
            let mut config = match config {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            config.token = cli.token.clone().filter(|t| !t.is_empty());
            config.since = cli.since;
            // History is context for the screen; the line modes stay live
            // only, as they always were (a run log must not repeat old runs).
            config.last = (format.is_none() && cli.history > 0).then_some(cli.history as usize);
            let url = config.display_url();
            (spawn_client(config, cancel.clone()), Source::Live { url })
        }
    };
    let recorder = match &cli.record {
        Some(path) => match Recorder::open(path) {
            Ok(r) => Some(r),
            Err(e) => return fail(format!("cannot open --record file {}: {e}", path.display())),
        },
        None => None,
    };
    let prices = match &cli.prices {
        Some(path) => match Prices::load(path) {
            Ok(p) => Some(std::sync::Arc::new(p)),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let theme = Theme::detect(cli.ascii);
    let zone = if cli.utc { Zone::utc() } else { Zone::Local };

    if let Some(format) = format {
        let label = match &source {
            Source::Live { url } => url.clone(),
            Source::Replay { path } => path.clone(),
        };
        let stop = cancel.clone();
        tokio::spawn(async move {
            orchestrator_events::process::StopSignals::new()
                .recv()
                .await;
            stop.cancel();
        });
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr();
        let ended = plain::run(
            rx,
            cancel.clone(),
            plain::Options {
                format,
                theme,
                zone,
                label,
                runs: cli.runs.then(|| plain::RunLog::new(prices.clone())),
            },
            recorder,
            &mut out,
            &mut err,
        )
        .await;
        cancel.cancel();
        return match ended {
            Ok(Ended::Normally) => ExitCode::SUCCESS,
            Ok(Ended::Failed(_)) => ExitCode::from(1),
            Err(e) => fail(format!("writing output: {e}")),
        };
    }

    let mut config = AppConfig::new(source);
    config.max_events = cli.max_events;
    config.max_memory = cli.max_memory;
    config.theme = theme;
    config.zone = zone;
    config.recording = cli.record.as_ref().map(|p| p.display().to_string());
    config.prices = prices;
    config.export_dir = Some(cli.export_dir.clone());
    let app = App::new(config);
    let result = tui::run(app, rx, cancel.clone(), recorder).await;
    cancel.cancel();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("terminal: {e}")),
    }
}
