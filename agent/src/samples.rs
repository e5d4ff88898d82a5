//! The sample traffic of `orchestrator-send` (the original Python system's "2: send test
//! messages"): a research plan from a "planner" agent, a question, a request
//! that makes a tool fail, a long answer streamed over A2A, a task cancelled
//! with `tasks/cancel`, and a listing — over both `/chat` and A2A.
//!
//! Each round varies the wording (round `n` picks different plans, questions
//! and topics), so a demo left running with `--loop` keeps showing new text.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// The agent's base URL, e.g. `http://127.0.0.1:9001`.
    pub base_url: String,
    /// Bearer token, when the agent requires one.
    pub token: Option<String>,
    /// Sent as `parent_run_id` (the `/chat` body, the A2A metadata): the
    /// runs started are children of that run.
    pub parent_run_id: Option<String>,
}

/// What one sample did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The sample's name.
    pub name: &'static str,
    /// `chat`, `a2a message/send`, …
    pub via: &'static str,
    /// Whether it behaved as expected.
    pub ok: bool,
    /// One line: run or task id, state, start of the reply.
    pub detail: String,
}

const PLANS: [(&str, &str); 4] = [
    (
        "Caching strategies for the event bridge",
        "1. Survey how pub/sub fan-out servers bound per-client queues\n2. Measure replay latency from the Redis stream at 1k, 10k and 100k entries\n3. Compare drop-oldest and disconnect-slow policies under a stalled client\n4. Write up a recommendation with the numbers",
    ),
    (
        "Evaluating small language models for tool use",
        "1. Pick five open models under 8B parameters\n2. Build 50 tool-calling prompts with known answers\n3. Score argument validity and task success\n4. Report cost per successful call",
    ),
    (
        "Literature review: exactly-once delivery",
        "1. Collect papers on idempotent producers and deduplication windows\n2. Summarise the guarantees each system actually gives\n3. Map them onto our publish script and its retry check\n4. List open questions for the team",
    ),
    (
        "Terminal UI usability study",
        "1. Recruit six engineers who watch logs daily\n2. Give them three debugging tasks with the TUI and with plain logs\n3. Record time to answer and errors\n4. Summarise what to change in the layout",
    ),
];

const QUESTIONS: [&str; 5] = [
    "What is the difference between the replay stream and the pub/sub channel?",
    "What happens to my events if Redis goes down for a minute?",
    "How many research plans are stored right now? List them.",
    "What tools do you have, and what do they do?",
    "How do I watch you work from a terminal?",
];

const EXPLAIN: [&str; 4] = [
    "Explain how an event travels from the agent to the terminal, step by step.",
    "Explain in detail what happens when Redis is restarted in the middle of a run.",
    "Walk me through how you handle a request, from message to reply.",
    "Describe how the terminal monitor stays in sync after a disconnect.",
];

/// Sends one round of samples, in order, and reports each.
pub async fn send_round(client: &reqwest::Client, target: &Target, round: u64) -> Vec<Outcome> {
    let i = round as usize;
    let (title, steps) = PLANS[i % PLANS.len()];
    let plan = format!("Please store this research plan.\nPlan: {title}\n{steps}");
    let question = QUESTIONS[i % QUESTIONS.len()];
    let explain = EXPLAIN[i % EXPLAIN.len()];
    let cancel_me = EXPLAIN[(i + 1) % EXPLAIN.len()];
    let missing = format!("plan-missing{:04x}", round % 0xffff);

    let mut out = Vec::new();
    out.push(
        chat(
            client,
            target,
            "research plan from planner",
            &plan,
            Some("planner"),
        )
        .await,
    );
    out.push(a2a_send(client, target, "question", question).await);
    out.push(
        chat(
            client,
            target,
            "tool that fails (unknown plan id)",
            &format!("Fetch research plan {missing} please."),
            Some("reviewer"),
        )
        .await,
    );
    out.push(a2a_stream(client, target, "long answer (streamed)", explain).await);
    out.push(
        a2a_cancel(
            client,
            target,
            "task cancelled with tasks/cancel",
            cancel_me,
        )
        .await,
    );
    out.push(
        chat(
            client,
            target,
            "list stored plans",
            "List the stored research plans.",
            None,
        )
        .await,
    );
    out
}

fn post(client: &reqwest::Client, target: &Target, path: &str) -> reqwest::RequestBuilder {
    let url = format!("{}{path}", target.base_url.trim_end_matches('/'));
    let request = client.post(url);
    match &target.token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

fn excerpt(text: &str) -> String {
    let flat = text.replace('\n', " ");
    let mut out: String = flat.chars().take(90).collect();
    if flat.chars().count() > 90 {
        out.push('…');
    }
    format!("\"{out}\"")
}

fn fail(name: &'static str, via: &'static str, detail: String) -> Outcome {
    Outcome {
        name,
        via,
        ok: false,
        detail,
    }
}

async fn chat(
    client: &reqwest::Client,
    target: &Target,
    name: &'static str,
    message: &str,
    source_agent: Option<&str>,
) -> Outcome {
    let via = "chat";
    let mut body = json!({"message": message, "source_agent": source_agent});
    if let Some(parent) = &target.parent_run_id {
        body["parent_run_id"] = json!(parent);
    }
    let response = match post(client, target, "/chat").json(&body).send().await {
        Ok(r) => r,
        Err(e) => return fail(name, via, format!("request failed: {e}")),
    };
    let status = response.status();
    let value: Value = match response.json().await {
        Ok(v) => v,
        Err(e) => return fail(name, via, format!("HTTP {status}, unreadable body: {e}")),
    };
    let run = value["run_id"].as_str().unwrap_or("-");
    let reply = value["reply"].as_str().unwrap_or("");
    Outcome {
        name,
        via,
        ok: status.is_success(),
        detail: match value["error"].as_str() {
            Some(err) if !status.is_success() => format!("HTTP {status} {run}: {err}"),
            _ => format!("{run} {}", excerpt(reply)),
        },
    }
}

fn a2a_message(text: &str) -> Value {
    json!({
        "kind": "message",
        "messageId": uuid::Uuid::new_v4().to_string(),
        "role": "user",
        "parts": [{"kind": "text", "text": text}],
    })
}

async fn rpc(
    client: &reqwest::Client,
    target: &Target,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": uuid::Uuid::new_v4().to_string(), "method": method, "params": params});
    let response = post(client, target, "/")
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let value: Value = response
        .json()
        .await
        .map_err(|e| format!("HTTP {status}, unreadable body: {e}"))?;
    match value.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(format!(
            "JSON-RPC error {}: {}",
            value["error"]["code"], value["error"]["message"]
        )),
    }
}

fn task_line(task: &Value) -> String {
    let reply = task["artifacts"][0]["parts"][0]["text"]
        .as_str()
        .or_else(|| task["status"]["message"]["parts"][0]["text"].as_str())
        .unwrap_or("");
    format!(
        "task {} {} {}",
        short(task["id"].as_str().unwrap_or("?")),
        task["status"]["state"].as_str().unwrap_or("?"),
        excerpt(reply)
    )
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

async fn a2a_send(
    client: &reqwest::Client,
    target: &Target,
    name: &'static str,
    text: &str,
) -> Outcome {
    let via = "a2a message/send";
    let mut params = json!({"message": a2a_message(text), "metadata": {"source_agent": "analyst"}});
    if let Some(parent) = &target.parent_run_id {
        params["metadata"]["parent_run_id"] = json!(parent);
    }
    match rpc(client, target, "message/send", params).await {
        Ok(task) => Outcome {
            name,
            via,
            ok: task["status"]["state"] == "completed",
            detail: task_line(&task),
        },
        Err(e) => fail(name, via, e),
    }
}

async fn a2a_stream(
    client: &reqwest::Client,
    target: &Target,
    name: &'static str,
    text: &str,
) -> Outcome {
    let via = "a2a message/stream";
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "message/stream",
        "params": {"message": a2a_message(text)},
    });
    let response = match post(client, target, "/").json(&body).send().await {
        Ok(r) => r,
        Err(e) => return fail(name, via, format!("request failed: {e}")),
    };
    let mut events = std::pin::pin!(sse_data(response.bytes_stream()));
    let (mut updates, mut state, mut text_chunks) = (0usize, String::from("?"), 0usize);
    while let Some(data) = events.next().await {
        updates += 1;
        let Ok(value) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        let result = &value["result"];
        match result["kind"].as_str() {
            Some("artifact-update") => text_chunks += 1,
            Some("status-update") if result["final"] == true => {
                state = result["status"]["state"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
            }
            _ => {}
        }
    }
    Outcome {
        name,
        via,
        ok: state == "completed",
        detail: format!("{updates} SSE updates ({text_chunks} reply chunks), final state {state}"),
    }
}

async fn a2a_cancel(
    client: &reqwest::Client,
    target: &Target,
    name: &'static str,
    text: &str,
) -> Outcome {
    let via = "a2a tasks/cancel";
    let params = json!({"message": a2a_message(text), "configuration": {"blocking": false}});
    let task = match rpc(client, target, "message/send", params).await {
        Ok(task) => task,
        Err(e) => return fail(name, via, e),
    };
    let Some(id) = task["id"].as_str() else {
        return fail(name, via, "no task id in the answer".into());
    };
    // Let it get going so there is something to watch being cut short.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    match rpc(client, target, "tasks/cancel", json!({"id": id})).await {
        Ok(task) => Outcome {
            name,
            via,
            ok: task["status"]["state"] == "canceled",
            detail: format!(
                "task {} {}",
                short(id),
                task["status"]["state"].as_str().unwrap_or("?")
            ),
        },
        // Finished before the cancel arrived: not wrong, just fast.
        Err(e) if e.contains("-32002") => Outcome {
            name,
            via,
            ok: true,
            detail: format!("task {} finished before it could be cancelled", short(id)),
        },
        Err(e) => fail(name, via, e),
    }
}

/// The `data:` payloads of a server-sent-events body, one item per event.
pub fn sse_data<S, B, E>(body: S) -> impl Stream<Item = String>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    futures_util::stream::unfold(
        (Box::pin(body), String::new(), false),
        |(mut body, mut buf, mut ended)| async move {
            loop {
                if let Some(at) = buf.find("\n\n") {
                    let block: String = buf.drain(..at + 2).collect();
                    let data: Vec<&str> = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                        .collect();
                    if data.is_empty() {
                        continue; // a comment (keep-alive) or an empty event
                    }
                    return Some((data.join("\n"), (body, buf, ended)));
                }
                if ended {
                    return None;
                }
                match body.next().await {
                    Some(Ok(bytes)) => {
                        buf.push_str(&String::from_utf8_lossy(bytes.as_ref()).replace("\r\n", "\n"))
                    }
                    Some(Err(_)) | None => {
                        ended = true;
                        buf.push_str("\n\n");
                    }
                }
            }
        },
    )
}
