//! The `ssh` part's table rows: the built-in SSH server's memory, CPU and
//! bytes, each with its method and, where the issue sets one, its target.

use crate::report::{Report, Verdict, thousands};
use crate::scenarios::ssh_cost::{SshOpts, SshResult};

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// The rows.
pub fn rows(report: &mut Report, r: &SshResult, opts: &SshOpts) {
    let events = thousands(r.events as f64);
    report.row(
        "ssh",
        format!("server RSS, {events} events buffered, no session"),
        format!("{} (empty store {})", mib(r.full_kib as f64), mib(r.empty_kib as f64)),
        None,
        "release orchestrator-ssh in front of the release bridge; VmRSS once the bridge's frames_out counts every event and two reads 300 ms apart agree within 1 %",
    );
    for &(n, kib) in &r.rss_kib {
        report.row(
            "ssh",
            format!("server RSS, {n} monitor session(s), {events} events"),
            mib(kib as f64),
            None,
            format!(
                "ssh -tt clients under {}×{} ptys on loopback, each open at its first screen, +1.5 s, settled VmRSS",
                opts.size.0, opts.size.1
            ),
        );
    }
    if let (Some(view), Some(&(n1, r1)), Some(&(n2, r2))) =
        (r.per_view_kib(), r.rss_kib.first(), r.rss_kib.last())
    {
        let bound = 2.0 * r1 as f64 + n2 as f64 * view;
        report.row(
            "ssh",
            format!("per-view cost (RSS{n2} − RSS{n1}) / {}", n2 - n1),
            format!(
                "{:.0} KiB a session ({:.1} % of the store's {})",
                view,
                100.0 * view / (r.full_kib.saturating_sub(r.empty_kib)).max(1) as f64,
                mib(r.full_kib.saturating_sub(r.empty_kib) as f64)
            ),
            Some((
                format!("RSS{n2} < 2×RSS{n1} + {n2}×view = {}", mib(bound)),
                Verdict::from(view >= 0.0 && (r2 as f64) < bound),
            )),
            "the store is shared: a session should cost a view (its state, two screen buffers, its SSH channel), not a copy of the events",
        );
    }
    let rate = opts.rate;
    let base = r.paced_at(0);
    for w in r.paced.iter().filter(|w| w.sessions > 0) {
        let per = base.map(|b| (w.cpu_share() - b.cpu_share()) / w.sessions as f64);
        report.row(
            "ssh",
            format!("server CPU at {rate:.0} ev/s, {} session(s)", w.sessions),
            format!(
                "{:.1} % of a core in all; {} per session (upstream alone: {})",
                100.0 * w.cpu_share(),
                per.map_or("?".into(), |p| format!("{:.2} %", 100.0 * p)),
                base.map_or("?".into(), |b| format!("{:.1} %", 100.0 * b.cpu_share())),
            ),
            None,
            format!(
                "utime+stime (/proc/<pid>/stat) over {:.0} s of agent events published at {rate:.0}/s; per session = (CPU − CPU with no session) ÷ sessions",
                w.secs
            ),
        );
        report.row(
            "ssh",
            format!("bytes per event per session, {} session(s)", w.sessions),
            format!(
                "{:.0} B to the terminal, {} on the wire",
                w.client_per_event(),
                w.wire_per_event()
                    .map_or("?".into(), |b| format!("{b:.0} B"))
            ),
            None,
            "terminal: bytes read from the clients' pty masters over the window (+0.5 s); wire: bytes_sent of the server's SSH sockets (ss -ti), SSH framing and MAC included; ÷ events ÷ sessions",
        );
    }
    if let Some(w) = &r.idle {
        report.row(
            "ssh",
            format!("idle screen, {} session(s)", w.sessions),
            format!(
                "{:.1} B/s per session to the terminal, {} on the wire",
                w.client_per_sec(),
                w.wire_per_sec().map_or("?".into(), |b| format!("{b:.1} B/s"))
            ),
            Some(("≈ 0 B/s".into(), Verdict::from(w.client_per_sec() < 1.0))),
            format!(
                "{:.0} s with no event, from {:.0} s after the last (the status bar's 12 s rate graph has emptied); ≈ 0 taken as < 1 B/s: the 500 ms tick redraws, and sends only what changed",
                w.secs, opts.idle_after_secs
            ),
        );
    }
    let (clean, all) = r.clean_exits;
    report.row(
        "ssh",
        "sessions ended by q with exit status 0",
        format!("{clean} of {all}"),
        Some(("all".into(), Verdict::from(clean == all))),
        "q typed into every pty at the end; ssh's exit status read within 10 s",
    );
}
