//! The built-in model's words: reasoning and replies around tool calls, and
//! cutting text into word-ish chunks.
//!
//! Variety without randomness: every choice is picked by a hash of the
//! message, so the same message always gets the same answer (tests, demos)
//! while different messages read differently.

use serde_json::Value;

use super::intent::plan_steps;

/// FNV-1a: a stable hash of the message, the seed of every choice.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One of `options`, chosen by `seed` and a per-call-site `salt`.
pub fn pick<'a>(seed: u64, salt: u64, options: &[&'a str]) -> &'a str {
    if options.is_empty() {
        return "";
    }
    let mixed = seed_of(&format!("{seed}:{salt}"));
    options[(mixed % options.len() as u64) as usize]
}

/// Cuts `text` into chunks of 1–`max_words` words, each keeping the
/// whitespace that follows it, so the chunks concatenate back to `text`.
pub fn chunks(text: &str, max_words: usize, seed: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    let mut target = chunk_len(seed, 0, max_words);
    let mut in_space = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        if !space && in_space {
            words += 1;
            if words >= target {
                out.push(std::mem::take(&mut current));
                words = 0;
                target = chunk_len(seed, out.len() as u64, max_words);
            }
        }
        in_space = space;
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn chunk_len(seed: u64, i: u64, max_words: usize) -> usize {
    1 + (seed_of(&format!("{seed}/{i}")) % max_words.max(1) as u64) as usize
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Reasoning before storing a plan.
pub fn reasoning_store(plan: &str, sender: Option<&str>, seed: u64) -> String {
    let steps = plan_steps(plan).len();
    let who = sender.unwrap_or("the sender");
    let shape = if steps >= 2 {
        format!("a research plan with {steps} steps")
    } else {
        "a research plan".to_string()
    };
    let first = pick(
        seed,
        10,
        &[
            "{who} is handing me {shape}.",
            "This message from {who} contains {shape}.",
            "I've received {shape} from {who}.",
        ],
    );
    let why = pick(
        seed,
        11,
        &[
            "Plans are meant to be picked up by other agents later, so acknowledging it is not enough — it has to be persisted.",
            "Other agents will need to retrieve this, so the right move is to store it rather than just summarise it.",
            "The useful thing here is to make it durable and give back an id the other agents can reference.",
        ],
    );
    let how = pick(
        seed,
        12,
        &[
            "I'll call store_research_plan with the full text and record {who} as the author.",
            "I'll store the full text with store_research_plan, attributing it to {who}, then confirm the id.",
        ],
    );
    capitalize(
        &format!("{first} {why} {how}")
            .replace("{who}", who)
            .replace("{shape}", &shape),
    )
}

/// Upper-cases the first letter (agent names are often lower-case).
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The reply after a plan was stored.
pub fn reply_stored(result: &Value, plan: &str, seed: u64) -> String {
    let id = str_field(result, "plan_id").unwrap_or("(unknown id)");
    let title = str_field(result, "title").unwrap_or("your plan");
    let steps = plan_steps(plan);
    let opener = pick(
        seed,
        13,
        &[
            "I have received your comprehensive research plan and stored it as **{id}**.",
            "Done — the plan \"{title}\" is stored as **{id}**.",
            "Your research plan is safely stored under **{id}**.",
        ],
    )
    .replace("{id}", id)
    .replace("{title}", title);
    let mut out = opener;
    if steps.len() >= 2 {
        if steps.len() > 3 {
            out.push_str(&format!(
                " It has {} steps; the first three are:\n",
                steps.len()
            ));
        } else {
            out.push_str(&format!(" It has {} steps:\n", steps.len()));
        }
        for (i, step) in steps.iter().take(3).enumerate() {
            out.push_str(&format!("{}. {}\n", i + 1, step));
        }
    } else {
        out.push('\n');
    }
    out.push_str(pick(
        seed,
        14,
        &[
            "Any agent on this channel can fetch it with get_research_plan and that id.",
            "Ask me for it by id whenever you need it, or ask me to list the stored plans.",
            "I'll keep it until someone removes it; just mention the id to get it back.",
        ],
    ));
    out
}

/// Reasoning before fetching a plan.
pub fn reasoning_get(id: &str, seed: u64) -> String {
    pick(
        seed,
        15,
        &[
            "The message asks for plan {id}. I'll fetch it with get_research_plan and summarise what it contains.",
            "They want the contents of {id}. Fetching it is a single tool call; then I can walk through its steps.",
        ],
    )
    .replace("{id}", id)
}

/// The reply presenting a fetched plan.
pub fn reply_plan(plan: &Value, seed: u64) -> String {
    let id = str_field(plan, "plan_id").unwrap_or("?");
    let title = str_field(plan, "title").unwrap_or("Untitled plan");
    let author = str_field(plan, "source_agent").unwrap_or("an unknown agent");
    let text = str_field(plan, "plan_data").unwrap_or("");
    let steps = plan_steps(text);
    let mut out = pick(
        seed,
        16,
        &[
            "Here is **{id}** — \"{title}\", written by {author}.",
            "Found it: **{id}**, \"{title}\" from {author}.",
        ],
    )
    .replace("{id}", id)
    .replace("{title}", title)
    .replace("{author}", author);
    if steps.is_empty() {
        out.push_str(" It is empty.");
        return out;
    }
    out.push_str(&format!(" It has {} steps:\n", steps.len()));
    for (i, step) in steps.iter().take(8).enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, step));
    }
    if steps.len() > 8 {
        out.push_str(&format!("…and {} more.\n", steps.len() - 8));
    }
    out.push_str("Tell me if you want me to change or extend it.");
    out
}

/// Reasoning after `get_research_plan` failed with "not found".
pub fn reasoning_not_found(id: &str, seed: u64) -> String {
    pick(
        seed,
        17,
        &[
            "There is no plan with id {id}. Rather than just report the failure, I'll list the plans that do exist so the caller can pick the right one.",
            "{id} doesn't exist — probably a typo or an id from an older store. Listing the recent plans will give them something to choose from.",
        ],
    )
    .replace("{id}", id)
}

/// Reasoning before listing plans.
pub fn reasoning_list(seed: u64) -> String {
    pick(
        seed,
        18,
        &[
            "They want to know which research plans are stored. list_research_plans gives me the most recent ones with their authors.",
            "A listing answers this directly; I'll call list_research_plans and present ids and titles.",
        ],
    )
    .to_string()
}

/// The reply presenting a listing, after a failed fetch when `missing` is set.
pub fn reply_list(list: &Value, missing: Option<&str>, seed: u64) -> String {
    let plans = list
        .get("plans")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = list
        .get("total")
        .and_then(Value::as_u64)
        .unwrap_or(plans.len() as u64);
    let mut out = match missing {
        Some(id) => format!("I couldn't find a research plan with id **{id}**. "),
        None => String::new(),
    };
    if plans.is_empty() {
        out.push_str("No research plans are stored yet — send me one and I'll keep it.");
        return out;
    }
    out.push_str(&match (missing.is_some(), total) {
        (true, _) if plans.len() == 1 => "The only plan I have is:\n".to_string(),
        (true, _) => format!(
            "These are the {} most recent plans I do have:\n",
            plans.len()
        ),
        (false, 1) => "There is one stored plan:\n".to_string(),
        (false, n) if n as usize > plans.len() => {
            format!(
                "There are {n} stored plans; the {} most recent:\n",
                plans.len()
            )
        }
        (false, n) => format!("There are {n} stored plans:\n"),
    });
    for plan in &plans {
        let id = str_field(plan, "plan_id").unwrap_or("?");
        let title = str_field(plan, "title").unwrap_or("Untitled");
        match str_field(plan, "source_agent") {
            Some(author) => out.push_str(&format!("- {id} — {title} (from {author})\n")),
            None => out.push_str(&format!("- {id} — {title}\n")),
        }
    }
    out.push_str(pick(
        seed,
        19,
        &[
            "Ask for any of them by id.",
            "Mention an id and I'll fetch the full plan.",
        ],
    ));
    out
}

/// The reply when a tool failed and nothing better can be done.
pub fn reply_tool_failed(tool: &str, error: &str, seed: u64) -> String {
    let lead = pick(
        seed,
        20,
        &[
            "I tried {tool}, but it failed: {error}.",
            "Sorry — {tool} did not work: {error}.",
        ],
    )
    .replace("{tool}", tool)
    .replace("{error}", error);
    let hint = if error.contains("Redis") || error.contains("unavailable") {
        " The plan store is unreachable right now; I'll be able to do this once Redis is back."
    } else if error.contains("invalid input") {
        " If you rephrase the request with the details fixed, I'll try again."
    } else {
        ""
    };
    format!("{lead}{hint}")
}

/// Reasoning before a long explanation.
pub fn reasoning_explain(subject: &str, seed: u64) -> String {
    let first = pick(
        seed,
        21,
        &[
            "This calls for a proper explanation, not a one-liner.",
            "They want the mechanism, so a structured walkthrough is better than a summary.",
            "A step-by-step answer will be clearer here than a single paragraph.",
        ],
    );
    let second = pick(
        seed,
        22,
        &[
            "I'll follow the path in the order things actually happen and say why each stage is built the way it is.",
            "Numbered stages, each with what happens and what could go wrong, should make it easy to follow.",
        ],
    );
    format!("{first} The subject: {subject}. {second} No tools needed.")
}

/// Reasoning before a short answer.
pub fn reasoning_answer(subject: &str, seed: u64) -> String {
    pick(
        seed,
        23,
        &[
            "A direct question about {subject}. I know this without any tool; a short, concrete answer is best.",
            "Nothing to store or fetch here — just answer about {subject} clearly.",
            "This is about {subject}. I'll answer from what I know and keep it brief.",
        ],
    )
    .replace("{subject}", subject)
}

/// A greeting.
pub fn greeting(sender: Option<&str>, seed: u64) -> String {
    let hello = match sender {
        Some(who) => format!("Hello, {who}!"),
        None => "Hello!".to_string(),
    };
    let rest = pick(
        seed,
        24,
        &[
            "I'm the orchestrator. Send me a research plan and I'll store it, ask me for a plan by id, or ask me to explain how this system works.",
            "I'm listening. I can store research plans, fetch them by id, list what's stored, and explain what happens behind the scenes.",
        ],
    );
    format!("{hello} {rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_concatenate_back() {
        let text = "One two  three\nfour, five six seven eight nine ten.";
        for seed in 0..20 {
            let parts = chunks(text, 3, seed);
            assert_eq!(parts.concat(), text);
            assert!(parts.len() >= 4);
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
    }

    #[test]
    fn choices_are_stable() {
        assert_eq!(seed_of("abc"), seed_of("abc"));
        assert_ne!(seed_of("abc"), seed_of("abd"));
        assert_eq!(pick(7, 1, &["a", "b", "c"]), pick(7, 1, &["a", "b", "c"]));
    }
}
