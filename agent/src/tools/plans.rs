//! Research plans in Redis: `store_research_plan`, `get_research_plan`,
//! `list_research_plans` — the original Python system's tools, with real effects.
//!
//! A plan is a hash at `<prefix>:<plan_id>` (`plan_data`, `title`,
//! `source_agent`, `created_at`), indexed by creation time in the sorted set
//! `<prefix>:index`. Ids are `plan-` and 8 hex digits.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;
use serde_json::{Value, json};

use super::args::Args;
use super::{Tool, ToolError};
use crate::model::ToolSpec;
use crate::redis_conn::SharedConn;

/// Longest plan accepted, in characters.
pub const MAX_PLAN_CHARS: usize = 64_000;
const MAX_NAME_CHARS: usize = 128;
const MAX_TITLE_CHARS: usize = 200;

/// Where plans live; shared by the three tools.
#[derive(Debug, Clone)]
pub struct PlanStore {
    conn: Arc<SharedConn>,
    prefix: String,
}

impl PlanStore {
    /// Plans under `prefix` (e.g. `orchestrator:plans`).
    pub fn new(conn: Arc<SharedConn>, prefix: impl Into<String>) -> Self {
        PlanStore {
            conn,
            prefix: prefix.into(),
        }
    }

    /// The three tools over this store.
    pub fn tools(&self) -> [Arc<dyn Tool>; 3] {
        [
            Arc::new(StorePlan(self.clone())),
            Arc::new(GetPlan(self.clone())),
            Arc::new(ListPlans(self.clone())),
        ]
    }

    /// The Redis key of one plan.
    pub fn plan_key(&self, id: &str) -> String {
        format!("{}:{id}", self.prefix)
    }

    /// The Redis key of the index.
    pub fn index_key(&self) -> String {
        format!("{}:index", self.prefix)
    }

    async fn store(
        &self,
        plan: &str,
        source: Option<&str>,
        title: &str,
    ) -> Result<Value, ToolError> {
        let id = format!("plan-{:08x}", rand::random::<u32>());
        let now = orchestrator_events::clock::now_secs();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                self.plan_key(&id),
                &[
                    ("plan_data", plan),
                    ("title", title),
                    ("source_agent", source.unwrap_or("")),
                    ("created_at", &now.to_string()),
                ],
            )
            .ignore()
            .zadd(self.index_key(), &id, (now * 1000.0) as i64)
            .ignore();
        // Sent twice at worst (same id, same fields): safe to retry.
        self.conn
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async::<()>(&mut conn).await }
            })
            .await
            .map_err(unavailable)?;
        Ok(json!({
            "plan_id": id,
            "title": title,
            "source_agent": source,
            "stored_at": now,
            "characters": plan.chars().count(),
        }))
    }

    async fn get(&self, id: &str) -> Result<Value, ToolError> {
        let key = self.plan_key(id);
        let fields: Vec<(String, String)> = self
            .conn
            .run(|mut conn| {
                let key = &key;
                async move { conn.hgetall(key).await }
            })
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Err(ToolError::NotFound(format!(
                "no research plan with id {id}"
            )));
        }
        let mut out = json!({"plan_id": id});
        for (k, v) in fields {
            let value = match k.as_str() {
                "created_at" => v
                    .parse::<f64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(v)),
                "source_agent" if v.is_empty() => Value::Null,
                _ => Value::String(v),
            };
            out[k] = value;
        }
        Ok(out)
    }

    async fn list(&self, limit: u64) -> Result<Value, ToolError> {
        let mut index = redis::pipe();
        index
            .zrevrange(self.index_key(), 0, limit as isize - 1)
            .zcard(self.index_key());
        let (ids, total): (Vec<String>, u64) = self
            .conn
            .run(|mut conn| {
                let index = &index;
                async move { index.query_async(&mut conn).await }
            })
            .await
            .map_err(unavailable)?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET")
                .arg(self.plan_key(id))
                .arg(&["title", "source_agent", "created_at"]);
        }
        let rows: Vec<PlanRow> = if ids.is_empty() {
            Vec::new()
        } else {
            self.conn
                .run(|mut conn| {
                    let pipe = &pipe;
                    async move { pipe.query_async(&mut conn).await }
                })
                .await
                .map_err(unavailable)?
        };
        let plans: Vec<Value> = ids
            .iter()
            .zip(rows)
            // A plan whose hash vanished (deleted by hand) is skipped, not shown empty.
            .filter(|(_, (title, _, _))| title.is_some())
            .map(|(id, (title, source, created))| {
                json!({
                    "plan_id": id,
                    "title": title,
                    "source_agent": source.filter(|s| !s.is_empty()),
                    "created_at": created.and_then(|c| c.parse::<f64>().ok()),
                })
            })
            .collect();
        Ok(json!({"count": plans.len(), "total": total, "plans": plans}))
    }
}

/// Title, author and creation time of one listed plan.
type PlanRow = (Option<String>, Option<String>, Option<String>);

fn unavailable(e: redis::RedisError) -> ToolError {
    ToolError::Unavailable(format!("Redis: {e}"))
}

/// Whether `id` has the shape of a plan id (`plan-` + 1–64 of `[a-z0-9-]`).
pub fn is_plan_id(id: &str) -> bool {
    id.strip_prefix("plan-").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// A plan written on one line as `intro 1. step 2. step …` (or `1) … 2) …`):
/// the intro (maybe empty) and the steps, when at least two numbers follow in
/// order. `None` for anything else, so "version 2. something" is not a plan.
pub fn inline_steps(text: &str) -> Option<(&str, Vec<&str>)> {
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    for k in 1u32.. {
        match find_marker(text, k, from) {
            Some(m) => {
                from = m.1;
                marks.push(m);
            }
            None => break,
        }
    }
    if marks.len() < 2 {
        return None;
    }
    let intro = text[..marks[0].0].trim().trim_end_matches(':').trim();
    let steps = marks
        .iter()
        .enumerate()
        .map(|(i, &(_, end))| {
            let stop = marks.get(i + 1).map_or(text.len(), |m| m.0);
            text[end..stop].trim()
        })
        .collect::<Vec<_>>();
    steps
        .iter()
        .all(|s| !s.is_empty())
        .then_some((intro, steps))
}

/// Where the number `k` stands as a list marker (`k.` or `k)` after the start,
/// a space or a colon, before a space) at or after `from`: (start, end).
fn find_marker(text: &str, k: u32, from: usize) -> Option<(usize, usize)> {
    let number = k.to_string();
    let bytes = text.as_bytes();
    text[from..]
        .match_indices(&number)
        .map(|(i, _)| from + i)
        .find(|&start| {
            let before_ok =
                start == 0 || matches!(bytes[start - 1], b' ' | b'\t' | b'\n' | b':' | b'(');
            let after = start + number.len();
            before_ok
                && matches!(bytes.get(after), Some(b'.' | b')'))
                && bytes.get(after + 1).is_none_or(|b| b.is_ascii_whitespace())
        })
        .map(|start| (start, start + number.len() + 1))
}

/// A title from the first non-empty line, cut at 80 characters.
fn default_title(plan: &str) -> String {
    let line = plan
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Research plan");
    // "Plan: 1. a 2. b" → "Plan"; "1. a 2. b" → "a".
    let line = match inline_steps(line) {
        Some(("" | "Plan" | "plan", steps)) => steps[0],
        Some((intro, _)) => intro,
        None => line,
    };
    // "# Title", "- step", "1. step", "2) step" → the words only.
    let line = line
        .trim_start_matches(['#', '-', '*', ' '])
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches(['.', ')', ' ']);
    let line = if line.is_empty() {
        "Research plan"
    } else {
        line
    };
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
}

/// `store_research_plan`.
struct StorePlan(PlanStore);
/// `get_research_plan`.
struct GetPlan(PlanStore);
/// `list_research_plans`.
struct ListPlans(PlanStore);

impl Tool for StorePlan {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "store_research_plan".into(),
            description: "Store a research plan so that other agents can retrieve it later. \
                          Returns the new plan's id."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "plan_data": {"type": "string", "description": "The full text of the plan."},
                    "source_agent": {"type": "string", "description": "The agent that wrote the plan."},
                    "title": {"type": "string", "description": "A short title (default: the plan's first line)."}
                },
                "required": ["plan_data"],
                "additionalProperties": false
            }),
        }
    }

    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>> {
        let store = self.0.clone();
        async move {
            let args = Args::new(&args, &["plan_data", "source_agent", "title"])?;
            let plan = args.required_str("plan_data", MAX_PLAN_CHARS)?;
            let source = args.optional_str("source_agent", MAX_NAME_CHARS)?;
            let title = args
                .optional_str("title", MAX_TITLE_CHARS)?
                .unwrap_or_else(|| default_title(&plan));
            store.store(&plan, source.as_deref(), &title).await
        }
        .boxed()
    }
}

impl Tool for GetPlan {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_research_plan".into(),
            description: "Fetch a stored research plan by its id (plan-…).".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "plan_id": {"type": "string", "description": "The id returned by store_research_plan."}
                },
                "required": ["plan_id"],
                "additionalProperties": false
            }),
        }
    }

    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>> {
        let store = self.0.clone();
        async move {
            let args = Args::new(&args, &["plan_id"])?;
            let id = args.required_str("plan_id", 80)?;
            if !is_plan_id(&id) {
                return Err(ToolError::InvalidInput(format!(
                    "plan_id: must look like plan-1a2b3c4d (plan- then lowercase letters, digits or -), got {id:?}"
                )));
            }
            store.get(&id).await
        }
        .boxed()
    }
}

impl Tool for ListPlans {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "list_research_plans".into(),
            description: "List the most recently stored research plans (id, title, author).".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "How many (default 10)."}
                },
                "additionalProperties": false
            }),
        }
    }

    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>> {
        let store = self.0.clone();
        async move {
            let args = Args::new(&args, &["limit"])?;
            let limit = args.optional_int("limit", 1, 100)?.unwrap_or(10);
            store.list(limit).await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_ids_and_titles() {
        assert!(is_plan_id("plan-1a2b3c4d"));
        assert!(is_plan_id("plan-does-not-exist"));
        assert!(!is_plan_id("plan-"));
        assert!(!is_plan_id("plan-ABC"));
        assert!(!is_plan_id("x:plan-1"));
        assert_eq!(default_title("\n# Study caching\n1. read"), "Study caching");
        assert_eq!(default_title("").as_str(), "Research plan");
        assert_eq!(default_title("1. Read papers\n2. Write"), "Read papers");
        assert_eq!(
            default_title("1. Survey prior work 2. Design the benchmark 3. Run it"),
            "Survey prior work"
        );
        assert_eq!(
            default_title("Cache study: 1. measure 2. fix"),
            "Cache study"
        );
    }

    #[test]
    fn inline_numbered_steps() {
        assert_eq!(
            inline_steps("Plan: 1. a b 2. c 3) d"),
            Some(("Plan", vec!["a b", "c", "d"]))
        );
        // Numbers that are not a list: not in order, not markers, or one alone.
        assert_eq!(inline_steps("version 2. then 3. more"), None);
        assert_eq!(inline_steps("1. only one step"), None);
        assert_eq!(inline_steps("costs 1.5 and 2.5 units"), None);
        assert_eq!(inline_steps("item1. x item2. y"), None);
        assert_eq!(inline_steps("1. 2. 3."), None, "empty steps");
        assert_eq!(inline_steps(""), None);
    }
}
