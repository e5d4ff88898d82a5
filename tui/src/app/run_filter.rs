//! The runs view's filter: the `&` language of the log, with terms that make
//! sense for a run.
//!
//! ```text
//! status:failed,cancelled -agent:noisy source:a2a model:gpt timeout "two words"
//! ```
//!
//! `status:` takes `running`, `completed`, `failed`, `cancelled` (a comma
//! list); `agent:` is exact, `source:` and `model:` match any part; words
//! match the input's first line, the agent, the run id and the model, smart
//! case as in the log. `-` or `!` before a term excludes; terms combine with
//! "and". A parent is listed when it or any of its children passes, so a
//! failed child is never hidden behind its completed parent.

use orchestrator_events::event::RunStatus;

use super::filter::{Pattern, excluding, quoted, split_terms};
use super::runs::{Run, RunState};

/// What the runs view lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    only_status: Vec<Status>,
    hide_status: Vec<Status>,
    only_agents: Vec<String>,
    hide_agents: Vec<String>,
    only_sources: Vec<Pattern>,
    hide_sources: Vec<Pattern>,
    only_models: Vec<Pattern>,
    hide_models: Vec<Pattern>,
    text: Vec<Pattern>,
    hide_text: Vec<Pattern>,
}

/// A run's status as the filter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    const ALL: [(&'static str, Status); 4] = [
        ("running", Status::Running),
        ("completed", Status::Completed),
        ("failed", Status::Failed),
        ("cancelled", Status::Cancelled),
    ];

    fn of(run: &Run) -> Status {
        match run.state {
            RunState::Running => Status::Running,
            RunState::Done(RunStatus::Completed) => Status::Completed,
            RunState::Done(RunStatus::Failed) => Status::Failed,
            RunState::Done(RunStatus::Cancelled) => Status::Cancelled,
        }
    }

    fn name(self) -> &'static str {
        Status::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("running", |(n, _)| n)
    }
}

impl RunFilter {
    /// Whether the filter lists every run.
    pub fn is_empty(&self) -> bool {
        *self == RunFilter::default()
    }

    /// Reads the text form; an unknown status is an error naming the valid ones.
    pub fn parse(input: &str) -> Result<RunFilter, String> {
        let mut f = RunFilter::default();
        for term in split_terms(input) {
            let (exclude, body) = excluding(&term);
            let keyed = body.split_once(':').filter(|(k, v)| {
                matches!(*k, "status" | "agent" | "source" | "model") && !v.is_empty()
            });
            match keyed {
                Some(("status", value)) => {
                    for name in value.split(',').filter(|s| !s.is_empty()) {
                        let status = Status::ALL
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, s)| *s)
                            .ok_or_else(|| {
                                format!(
                                    "unknown status {name:?} (one of running, completed, failed, cancelled)"
                                )
                            })?;
                        let list = if exclude {
                            &mut f.hide_status
                        } else {
                            &mut f.only_status
                        };
                        if !list.contains(&status) {
                            list.push(status);
                        }
                    }
                }
                Some(("agent", v)) if exclude => f.hide_agents.push(v.to_string()),
                Some(("agent", v)) => f.only_agents.push(v.to_string()),
                Some(("source", v)) if exclude => f.hide_sources.push(Pattern::new(v)),
                Some(("source", v)) => f.only_sources.push(Pattern::new(v)),
                Some((_, v)) if exclude => f.hide_models.push(Pattern::new(v)),
                Some((_, v)) => f.only_models.push(Pattern::new(v)),
                None if exclude => f.hide_text.push(Pattern::new(body)),
                None => f.text.push(Pattern::new(body)),
            }
        }
        Ok(f)
    }

    /// The text form, which [`RunFilter::parse`] reads back.
    pub fn describe(&self) -> String {
        let statuses = |v: &[Status]| v.iter().map(|s| s.name()).collect::<Vec<_>>().join(",");
        let mut out = Vec::new();
        if !self.only_status.is_empty() {
            out.push(format!("status:{}", statuses(&self.only_status)));
        }
        if !self.hide_status.is_empty() {
            out.push(format!("-status:{}", statuses(&self.hide_status)));
        }
        let mut keyed = |key: &str, only: &[String], hide: &[String]| {
            out.extend(only.iter().map(|v| format!("{key}:{}", quoted(v))));
            out.extend(hide.iter().map(|v| format!("-{key}:{}", quoted(v))));
        };
        let texts = |v: &[Pattern]| v.iter().map(|p| p.text.clone()).collect::<Vec<_>>();
        keyed("agent", &self.only_agents, &self.hide_agents);
        keyed(
            "source",
            &texts(&self.only_sources),
            &texts(&self.hide_sources),
        );
        keyed(
            "model",
            &texts(&self.only_models),
            &texts(&self.hide_models),
        );
        out.extend(self.text.iter().map(|p| quoted(&p.text)));
        out.extend(
            self.hide_text
                .iter()
                .map(|p| format!("-{}", quoted(&p.text))),
        );
        out.join(" ")
    }

    /// Whether one run passes (its children are not consulted).
    pub fn matches(&self, run: &Run) -> bool {
        let status = Status::of(run);
        if !self.only_status.is_empty() && !self.only_status.contains(&status) {
            return false;
        }
        if self.hide_status.contains(&status) {
            return false;
        }
        let agent = run.agent.as_deref().unwrap_or("");
        if !self.only_agents.is_empty() && !self.only_agents.iter().any(|a| a == agent) {
            return false;
        }
        if self.hide_agents.iter().any(|a| a == agent) {
            return false;
        }
        let source = run.source.as_deref().unwrap_or("");
        let model = run.model.as_deref().unwrap_or("");
        let any = |list: &[Pattern], hay: &str| list.iter().any(|p| p.matches(hay));
        if !self.only_sources.is_empty() && !any(&self.only_sources, source) {
            return false;
        }
        if any(&self.hide_sources, source) {
            return false;
        }
        if !self.only_models.is_empty() && !any(&self.only_models, model) {
            return false;
        }
        if any(&self.hide_models, model) {
            return false;
        }
        let shows = |p: &Pattern| {
            p.matches(&run.input) || p.matches(agent) || p.matches(&run.id) || p.matches(model)
        };
        self.text.iter().all(shows) && !self.hide_text.iter().any(shows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_describes_and_reads_back() {
        let f = RunFilter::parse(
            r#"status:failed,cancelled -agent:noisy source:a2a model:gpt "two words" -debug"#,
        )
        .expect("valid");
        assert_eq!(
            f.describe(),
            r#"status:failed,cancelled -agent:noisy source:a2a model:gpt "two words" -debug"#
        );
        assert_eq!(RunFilter::parse(&f.describe()), Ok(f));
        assert!(RunFilter::parse("").expect("empty").is_empty());
    }

    #[test]
    fn an_unknown_status_names_the_valid_ones() {
        let e = RunFilter::parse("status:broken").expect_err("invalid");
        assert!(e.contains("\"broken\"") && e.contains("cancelled"), "{e}");
    }
}
