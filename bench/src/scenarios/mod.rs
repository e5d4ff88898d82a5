//! `just bench`: every benchmark, run in one process against one private
//! Redis and the release bridge, with their figures collected in a [`Report`].
//!
//! - [`ceiling`]: Redis's own delivery rate to one subscriber (the reference).
//! - [`fanout`]: sustained zero-loss rate and bridge CPU per frame, 1–1,000 clients.
//! - [`latency`]: publish-to-receipt percentiles at 100 clients.
//! - [`memory`]: bridge RSS per idle connection.
//! - [`tui_cost`]: the monitor's ingest, draw and memory.
//! - [`tui_views`]: the dashboard's runs and tools views at 10,000 runs, and the aggregation's cost.
//! - [`agent_publisher`]: the agent publisher's throughput and cost per event.
//! - [`ingest`]: the OTLP ingest's spans per second and CPU per span, beside the publish script's ceiling.
//! - [`otlp_export`]: the agent's run latency with its trace export on and off.
//! - [`ssh_cost`]: the built-in SSH server's memory, CPU and bytes per session
//!   with real `ssh` clients ([`ssh_rows`]: its rows).
//! - [`replicas`]: the publisher's batch latency and rate with `--min-replicas` 0 and 1.
//! - [`rows`]: the table rows, with methods and targets.
//!
//! Order matters only for fairness: CPU-only parts run first, then the
//! network parts that share one bridge, then the memory runs with fresh
//! bridges, then the SSH server with its own Redis and bridge. A part that fails is reported and the rest still run.

pub mod agent_publisher;
pub mod ceiling;
pub mod fanout;
pub mod ingest;
pub mod latency;
pub mod memory;
pub mod otlp_export;
pub mod replicas;
pub mod rows;
pub mod ssh_cost;
pub mod ssh_rows;
pub mod tui_cost;
pub mod tui_views;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use orchestrator_events::publish::Target;

use crate::error::BenchError;
use crate::harness::{Kind, Redis, Service, bridge_args};
use crate::loadgen::Generator;
use crate::measure::Machine;
use crate::report::Report;

/// The parts of the benchmark, by name (for `--only`).
pub const PARTS: [&str; 10] = [
    "tui", "agent", "replicas", "ingest", "otlp", "ceiling", "fanout", "latency", "memory", "ssh",
];

/// What to run and how much.
#[derive(Debug, Clone)]
pub struct BenchOpts {
    /// Parts to run (from [`PARTS`]).
    pub only: BTreeSet<String>,
    /// Ceilings.
    pub ceiling: ceiling::CeilingOpts,
    /// Fan-out.
    pub fanout: fanout::FanoutOpts,
    /// Latency.
    pub latency: latency::LatencyOpts,
    /// Memory.
    pub memory: memory::MemoryOpts,
    /// TUI.
    pub tui: tui_cost::TuiOpts,
    /// The TUI's runs and tools views.
    pub tui_views: tui_views::ViewsOpts,
    /// Agent publisher.
    pub agent: agent_publisher::AgentOpts,
    /// OTLP ingest.
    pub ingest: ingest::IngestOpts,
    /// The agent's latency with its OTLP export on and off.
    pub otlp: otlp_export::OtlpOpts,
    /// The built-in SSH server.
    pub ssh: ssh_cost::SshOpts,
    /// The publisher with `--min-replicas` 0 and 1.
    pub replicas: replicas::ReplicasOpts,
}

impl BenchOpts {
    /// The full benchmark (`just bench`), sized to finish in well under 10
    /// minutes on 2 cores.
    pub fn full() -> BenchOpts {
        BenchOpts {
            only: PARTS.iter().map(|s| s.to_string()).collect(),
            ceiling: ceiling::CeilingOpts::default(),
            fanout: fanout::FanoutOpts::default(),
            latency: latency::LatencyOpts::default(),
            memory: memory::MemoryOpts::default(),
            tui: tui_cost::TuiOpts::default(),
            tui_views: tui_views::ViewsOpts::default(),
            agent: agent_publisher::AgentOpts::default(),
            ingest: ingest::IngestOpts::default(),
            otlp: otlp_export::OtlpOpts::default(),
            ssh: ssh_cost::SshOpts::default(),
            replicas: replicas::ReplicasOpts::default(),
        }
    }

    /// A smoke run (seconds, not minutes): same code paths, small counts,
    /// figures not meant to be quoted.
    pub fn quick() -> BenchOpts {
        BenchOpts {
            only: PARTS.iter().map(|s| s.to_string()).collect(),
            ceiling: ceiling::CeilingOpts {
                runs: 1,
                publish_count: 20_000,
                script_count: 10_000,
                pipeline: 500,
            },
            fanout: fanout::FanoutOpts {
                clients: vec![1, 10],
                search_secs: 0.5,
                confirm_secs: 0.5,
                confirm_runs: 1,
                confirm_runs_large: 1,
                max_trials: 3,
                start_rate: 2_000.0,
                max_rate: 50_000.0,
            },
            latency: latency::LatencyOpts {
                clients: 10,
                rates: vec![1_000.0],
                runs: 1,
                secs: 0.5,
            },
            memory: memory::MemoryOpts {
                clients: vec![100],
                runs: 1,
            },
            tui: tui_cost::TuiOpts {
                events: 10_000,
                runs: 1,
                draws: 20,
                size: (120, 40),
            },
            tui_views: tui_views::ViewsOpts {
                runs: 10_000,
                repeats: 1,
                draws: 20,
                size: (120, 40),
            },
            agent: agent_publisher::AgentOpts {
                events: 10_000,
                runs: 1,
            },
            ingest: ingest::IngestOpts {
                spans: 20_480,
                runs: 1,
            },
            otlp: otlp_export::OtlpOpts {
                requests: 20,
                runs: 1,
            },
            ssh: ssh_cost::SshOpts {
                events: 5_000,
                sessions: vec![1, 3, 6],
                rate: 100.0,
                paced_secs: 2.0,
                idle_secs: 2.0,
                idle_after_secs: 13.0,
                size: (120, 40),
            },
            replicas: replicas::ReplicasOpts {
                batches: 50,
                batch_events: 50,
                events: 5_000,
                runs: 1,
            },
        }
    }

    fn wants(&self, part: &str) -> bool {
        self.only.contains(part)
    }
}

fn record<T>(report: &mut Report, part: &str, r: Result<T, BenchError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(part, error = %e, "benchmark part failed");
            report.errors.push(format!("{part}: {e}"));
            None
        }
    }
}

/// Runs the parts in `opts` and returns the report.
pub async fn run_all(opts: &BenchOpts) -> Report {
    let started = Instant::now();
    let mut report = Report {
        machine: Some(Machine::detect()),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        ..Report::default()
    };

    if opts.wants("tui") {
        tracing::info!("TUI: ingest and draw");
        let cost = record(&mut report, "tui", tui_cost::run(&opts.tui));
        if let Some(r) = &cost {
            rows::tui(&mut report, r);
            report.detail("tui", r);
        }
        tracing::info!("TUI: runs and tools views");
        let agent = tui_cost::agent_events(opts.tui.events);
        if let Some(r) = record(&mut report, "tui", tui_views::run(&opts.tui_views, &agent)) {
            rows::tui_views(&mut report, &r, cost.as_ref());
            report.detail("tui_views", &r);
        }
    }
    if opts.wants("agent") {
        tracing::info!("agent publisher");
        if let Some(r) = record(
            &mut report,
            "agent",
            agent_publisher::run(&opts.agent).await,
        ) {
            rows::agent(&mut report, &r, &opts.agent);
            report.detail("agent_publisher", &r);
        }
    }
    if opts.wants("replicas") {
        tracing::info!("agent publisher, --min-replicas 0 and 1");
        if let Some(r) = record(&mut report, "replicas", replicas::run(&opts.replicas).await) {
            rows::replicas(&mut report, &r, &opts.replicas);
            report.detail("replicas", &r);
        }
    }
    if opts.wants("ingest") {
        tracing::info!("OTLP ingest");
        if let Some(r) = record(&mut report, "ingest", ingest::run(&opts.ingest).await) {
            rows::ingest(&mut report, &r, &opts.ingest);
            report.detail("ingest", &r);
        }
    }
    if opts.wants("otlp") {
        tracing::info!("agent latency, OTLP export off and on");
        if let Some(r) = record(&mut report, "otlp", otlp_export::run(&opts.otlp).await) {
            rows::otlp(&mut report, &r, &opts.otlp);
            report.detail("otlp_export", &r);
        }
    }

    let network = ["ceiling", "fanout", "latency", "memory"];
    if network.iter().any(|p| opts.wants(p)) {
        let r = network_parts(opts, &mut report).await;
        record(&mut report, "setup", r);
    }
    if opts.wants("ssh") {
        tracing::info!("the built-in SSH server with real ssh clients");
        if let Some(r) = record(&mut report, "ssh", ssh_cost::run(&opts.ssh).await) {
            ssh_rows::rows(&mut report, &r, &opts.ssh);
            report.detail("ssh", &r);
        }
    }
    report.wall_secs = started.elapsed().as_secs_f64();
    report
}

async fn network_parts(opts: &BenchOpts, report: &mut Report) -> Result<(), BenchError> {
    let redis = Redis::start()?;
    let mut seq_base: u64 = 1_000_000_000;
    let mut ceiling_result = None;
    if opts.wants("ceiling") || opts.wants("fanout") || opts.wants("latency") {
        let bridge = Service::start(Kind::Bridge, &bridge_args(&redis.url(), &[])).await?;
        if opts.wants("ceiling") {
            tracing::info!("reference ceilings");
            let r = ceiling::run(&redis, &bridge, &opts.ceiling, &mut seq_base).await;
            if let Some(r) = record(report, "ceiling", r) {
                report.detail("ceiling", &r);
                ceiling_result = Some(r);
            }
        }
        let mut generator = Generator::connect(&redis.url(), Target::default(), "bench").await?;
        if opts.wants("fanout") {
            tracing::info!("fan-out");
            let r = fanout::run(&bridge, &mut generator, &opts.fanout).await;
            if let Some(r) = record(report, "fanout", r) {
                rows::fanout(report, &r, &opts.fanout);
                rows::ceiling(report, ceiling_result.as_ref(), r.first());
                report.detail("fanout", &r);
            }
        } else if let Some(c) = &ceiling_result {
            rows::ceiling(report, Some(c), None);
        }
        if opts.wants("latency") {
            tracing::info!("latency");
            let r = latency::run(&bridge, &mut generator, &opts.latency).await;
            if let Some(r) = record(report, "latency", r) {
                rows::latency(report, &r, &opts.latency);
                report.detail("latency", &r);
            }
        }
        let mut bridge = bridge;
        bridge.terminate(Duration::from_secs(3));
    }
    if opts.wants("memory") {
        tracing::info!("memory");
        let r = memory::run(&redis, &opts.memory).await;
        if let Some(r) = record(report, "memory", r) {
            rows::memory(report, &r, &opts.memory);
            report.detail("memory", &r);
        }
    }
    Ok(())
}
