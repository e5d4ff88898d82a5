//! What a message asks for, read the way a careful person would skim it.
//!
//! Plain keyword rules, deliberately simple and predictable: the demo and the
//! tests rely on "a message with a plan gets stored", "a message naming a
//! plan id gets it fetched", "explain …" gets a long answer.

/// What the user wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Store the plan in the message.
    StorePlan {
        /// The plan text (the part after "plan:" when there is one).
        plan: String,
    },
    /// Fetch one plan.
    GetPlan {
        /// The id as written.
        id: String,
    },
    /// List stored plans (also used when a plan is asked for without an id).
    ListPlans,
    /// A long, structured explanation.
    Explain(Topic),
    /// A short answer.
    Question(Topic),
    /// Hello.
    Greeting,
}

/// What the message is about, for choosing what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// Events, Redis stream and channel, ids, replay.
    Pipeline,
    /// The agent loop, the model, tools.
    Agent,
    /// Watching from the terminal.
    Terminal,
    /// Failures: Redis down, restarts, slow clients, drops.
    Resilience,
    /// Research plans and how to use them.
    Plans,
    /// Anything else; the subject phrase as the user wrote it.
    General(String),
}

/// Reads the intent of `message`.
pub fn classify(message: &str) -> Intent {
    let lower = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));

    let mentions_plan = lower.contains("plan");
    if let Some(id) = find_plan_id(message)
        && has(&[
            "get", "fetch", "show", "retrieve", "read", "open", "look up", "load", "find",
        ])
    {
        return Intent::GetPlan { id };
    }
    // A plan is recognised before any listing words: its own steps may say
    // "list" ("4. List open questions") without asking for a listing.
    let numbered_steps = message
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with(|c: char| c.is_ascii_digit())
                || t.starts_with("- ")
                || t.starts_with("* ")
        })
        .count()
        >= 2;
    // "How do you store plans?" is a question about storing, not a plan.
    let is_question = lower.trim_end().ends_with('?');
    let asks_to_keep = has(&[
        "store",
        "save",
        "keep",
        "record",
        "persist",
        "file this",
        "here is",
        "here's",
    ]);
    if mentions_plan && (numbered_steps || lower.contains("plan:")) {
        return Intent::StorePlan {
            plan: plan_text(message),
        };
    }
    if mentions_plan
        && has(&[
            "list",
            "which plans",
            "what plans",
            "all plans",
            "stored plans",
            "plans do you",
            "plans are stored",
            "how many plans",
            "how many research plans",
            "plans you have",
        ])
    {
        return Intent::ListPlans;
    }
    if mentions_plan && asks_to_keep && !is_question {
        return Intent::StorePlan {
            plan: plan_text(message),
        };
    }
    if mentions_plan
        && has(&[
            "get",
            "fetch",
            "retrieve",
            "latest plan",
            "show me the plan",
        ])
    {
        return Intent::ListPlans;
    }
    let topic = topic_of(&lower, message);
    if has(&[
        "explain",
        "walk me through",
        "describe",
        "in detail",
        "tell me about",
        "step by step",
    ]) {
        return Intent::Explain(topic);
    }
    let trimmed = lower.trim().trim_end_matches(['!', '.', '?']);
    if [
        "hi",
        "hello",
        "hey",
        "good morning",
        "hello there",
        "hi there",
        "ping",
    ]
    .contains(&trimmed)
    {
        return Intent::Greeting;
    }
    Intent::Question(topic)
}

/// The first token that looks like a plan id (`plan-…`), trimmed of punctuation.
pub fn find_plan_id(message: &str) -> Option<String> {
    message
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '`' | '(' | ')'))
        .map(|w| w.trim_end_matches(['.', ':', '!', '?']))
        .find(|w| {
            w.len() > 5
                && w.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("plan-"))
                && w[5..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
}

/// The plan itself: what follows the first "plan:" (or the whole message).
pub fn plan_text(message: &str) -> String {
    let lower = message.to_lowercase();
    match lower.find("plan:") {
        Some(at) => {
            let rest = message[at + 5..].trim();
            if rest.is_empty() {
                message.trim().to_string()
            } else {
                rest.to_string()
            }
        }
        None => message.trim().to_string(),
    }
}

/// The steps of a plan: numbered or bulleted lines, else its sentences.
pub fn plan_steps(plan: &str) -> Vec<String> {
    let bullets: Vec<String> = plan
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            let stripped = l
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches(['.', ')', '-', '*', ':'])
                .trim();
            (stripped.len() < l.len() && !stripped.is_empty()).then(|| stripped.to_string())
        })
        .collect();
    if bullets.len() >= 2 {
        return bullets;
    }
    if let Some((_, steps)) = crate::tools::plans::inline_steps(plan) {
        return steps.into_iter().map(str::to_string).collect();
    }
    plan.split(['.', ';', '\n'])
        .map(str::trim)
        .filter(|s| s.len() > 3)
        .map(str::to_string)
        .collect()
}

fn topic_of(lower: &str, original: &str) -> Topic {
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&[
        "down",
        "outage",
        "restart",
        "crash",
        "fail",
        "slow",
        "backpressure",
        "drop",
        "lost",
        "kill",
    ]) {
        Topic::Resilience
    } else if has(&[
        "redis",
        "stream",
        "channel",
        "pub/sub",
        "pubsub",
        "replay",
        "event",
        " id",
        "seq",
        "bridge",
        "websocket",
    ]) {
        Topic::Pipeline
    } else if has(&["terminal", "tui", "screen", "watch", "monitor"]) {
        Topic::Terminal
    } else if has(&["plan", "research"]) {
        Topic::Plans
    } else if has(&["agent", "tool", "model", "loop", "reason"]) {
        Topic::Agent
    } else {
        Topic::General(subject_of(original))
    }
}

/// The subject phrase of a question: the message minus its question words.
fn subject_of(message: &str) -> String {
    let mut s = message.trim().trim_end_matches(['?', '.', '!']).to_string();
    let lower = s.to_lowercase();
    for lead in [
        "can you explain ",
        "please explain ",
        "explain ",
        "tell me about ",
        "describe ",
        "walk me through ",
        "what is ",
        "what are ",
        "what's ",
        "why is ",
        "why do ",
        "how does ",
        "how do ",
    ] {
        if lower.starts_with(lead) {
            s = s[lead.len()..].to_string();
            break;
        }
    }
    let s = s.trim();
    if s.is_empty() {
        "your question".into()
    } else {
        s.chars().take(120).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_whose_steps_say_list_is_still_a_plan() {
        let message = "Please store this research plan.\nPlan: Literature review\n1. Collect papers\n4. List open questions for the team";
        assert!(matches!(classify(message), Intent::StorePlan { .. }));
    }

    #[test]
    fn reads_the_demo_messages() {
        assert!(matches!(
            classify("Please store this research plan: 1. read papers\n2. write summary"),
            Intent::StorePlan { .. }
        ));
        assert_eq!(
            classify("Fetch research plan plan-doesnotexist please"),
            Intent::GetPlan {
                id: "plan-doesnotexist".into()
            }
        );
        assert_eq!(
            classify("List the stored research plans"),
            Intent::ListPlans
        );
        assert!(matches!(
            classify("Explain how an event travels from the agent to the terminal"),
            Intent::Explain(Topic::Pipeline)
        ));
        assert!(matches!(
            classify("What happens when Redis goes down?"),
            Intent::Question(Topic::Resilience)
        ));
        assert_eq!(classify("hello!"), Intent::Greeting);
        assert!(matches!(
            classify("How do you store research plans?"),
            Intent::Question(Topic::Plans)
        ));
        assert!(matches!(
            classify("Why is the sky blue?"),
            Intent::Question(Topic::General(s)) if s == "the sky blue"
        ));
    }

    #[test]
    fn finds_steps_and_ids() {
        assert_eq!(
            plan_steps("Plan\n1. Survey caches\n2) Benchmark\n- Write up"),
            vec!["Survey caches", "Benchmark", "Write up"]
        );
        assert_eq!(plan_steps("Read. Then write; then ship").len(), 3);
        assert_eq!(
            plan_steps(
                "Please store this research plan: 1. Survey prior work 2. Design the benchmark 3. Run it"
            ),
            ["Survey prior work", "Design the benchmark", "Run it"]
        );
        assert_eq!(plan_steps("Caching 1) measure 2) fix"), ["measure", "fix"]);
        assert_eq!(
            find_plan_id("get plan-ab12, now").as_deref(),
            Some("plan-ab12")
        );
        assert_eq!(find_plan_id("no plan here"), None);
    }
}
