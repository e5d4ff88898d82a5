//! The results table: each figure with its value, its target and verdict,
//! and the method that produced it — printed for people, saved as Markdown
//! and JSON under `target/bench/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::measure::Machine;

/// Whether a figure meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Meets it.
    Met,
    /// Misses it.
    Missed,
    /// Could not be decided (the figure could not be measured).
    Unknown,
}

impl Verdict {
    /// `Met` when `ok`, else `Missed`.
    pub fn from(ok: bool) -> Verdict {
        if ok { Verdict::Met } else { Verdict::Missed }
    }

    fn mark(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Unknown => "?",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Which part of the benchmark (fan-out, latency, …).
    pub section: String,
    /// What is measured.
    pub figure: String,
    /// The value with its unit.
    pub value: String,
    /// The target, when the issue sets one, and whether it is met.
    pub target: Option<(String, Verdict)>,
    /// How the value was obtained.
    pub method: String,
}

/// The whole report.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The machine it ran on.
    pub machine: Option<Machine>,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// Wall time of the whole run, seconds.
    pub wall_secs: f64,
    /// Table rows, in order.
    pub rows: Vec<Row>,
    /// Every scenario's detailed results (runs, trials, samples counts).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Things that went wrong (a scenario that could not run).
    pub errors: Vec<String>,
}

impl Report {
    /// Adds a row.
    pub fn row(
        &mut self,
        section: &str,
        figure: impl Into<String>,
        value: impl Into<String>,
        target: Option<(String, Verdict)>,
        method: impl Into<String>,
    ) {
        self.rows.push(Row {
            section: section.to_string(),
            figure: figure.into(),
            value: value.into(),
            target,
            method: method.into(),
        });
    }

    /// Keeps a scenario's details for the JSON file.
    pub fn detail(&mut self, key: &str, value: impl Serialize) {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.details.insert(key.to_string(), v);
    }

    /// The table as plain text for a terminal: one line per figure, the method
    /// on the same line after the value and target.
    pub fn text_table(&self) -> String {
        let w_fig = self
            .rows
            .iter()
            .map(|r| r.figure.chars().count())
            .max()
            .unwrap_or(0);
        let w_val = self
            .rows
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(0);
        let target_text = |r: &Row| match &r.target {
            Some((t, v)) => format!("{t} {}", v.mark()),
            None => String::new(),
        };
        let w_tgt = self
            .rows
            .iter()
            .map(|r| target_text(r).chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let mut section = "";
        for r in &self.rows {
            if r.section != section {
                section = &r.section;
                let _ = writeln!(out, "\n== {section} ==");
            }
            let _ = writeln!(
                out,
                "{:<w_fig$}  {:<w_val$}  {:<w_tgt$}  | {}",
                r.figure,
                r.value,
                target_text(r),
                r.method
            );
        }
        out
    }

    /// The table as Markdown (for `BENCHMARKS.md`).
    pub fn markdown_table(&self) -> String {
        let mut out =
            String::from("| section | figure | value | target | method |\n|---|---|---|---|---|\n");
        for r in &self.rows {
            let target = match &r.target {
                Some((t, v)) => format!("{t} — **{}**", v.mark()),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.section,
                r.figure,
                r.value,
                target,
                r.method.replace('|', "/")
            );
        }
        out
    }

    /// Writes `<name>.json` and `<name>.md` into `dir`; returns their paths.
    pub fn save(&self, dir: &Path, name: &str) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let json = dir.join(format!("{name}.json"));
        let md = dir.join(format!("{name}.md"));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&json, text)?;
        let mut doc = String::new();
        if let Some(m) = &self.machine {
            let _ = writeln!(
                doc,
                "Machine: {} cores, {}, kernel {}, {} MiB RAM; load average at start {}. Run: {:.0} s wall.\n",
                m.cores, m.cpu, m.kernel, m.mem_mib, m.loadavg, self.wall_secs
            );
        }
        doc.push_str(&self.markdown_table());
        for e in &self.errors {
            let _ = writeln!(doc, "\n- error: {e}");
        }
        std::fs::write(&md, doc)?;
        Ok((json, md))
    }
}

/// `target/bench` next to the running binary (`target/<profile>/<exe>`), or
/// `$CARGO_TARGET_DIR/bench`.
pub fn default_out_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("bench");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let mut dir = exe.parent()?.to_path_buf();
            if dir.ends_with("deps") {
                dir.pop();
            }
            Some(dir.parent()?.join("bench"))
        })
        .unwrap_or_else(|| PathBuf::from("target/bench"))
}

/// A number with thousands separators: `1234567` → `1,234,567`.
pub fn thousands(n: f64) -> String {
    let rounded = n.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_and_tables() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1000.0), "-1,000");
        let mut r = Report::default();
        r.row(
            "fan-out",
            "rate",
            "5 ev/s",
            Some(("≥ 1".into(), Verdict::Met)),
            "paced",
        );
        assert!(r.text_table().contains("rate  5 ev/s  ≥ 1 met  | paced"));
        assert!(
            r.markdown_table()
                .contains("| fan-out | rate | 5 ev/s | ≥ 1 — **met** | paced |")
        );
    }
}
