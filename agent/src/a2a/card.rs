//! The agent card: how another agent discovers what this one does and how
//! to call it (A2A protocol 0.3).

use serde_json::{Value, json};

/// The card for an agent named `name`, reachable at `url`.
pub fn agent_card(name: &str, url: &str, model: &str, requires_token: bool) -> Value {
    let mut card = json!({
        "protocolVersion": "0.3.0",
        "name": name,
        "description": format!(
            "Orchestrator agent: stores, fetches and lists research plans for other agents, \
             answers questions, and publishes every step it takes (reasoning, tool calls, \
             replies) to Redis so it can be watched live. Model: {model}."
        ),
        "url": url,
        "preferredTransport": "JSONRPC",
        "version": env!("CARGO_PKG_VERSION"),
        "capabilities": {
            "streaming": true,
            "pushNotifications": false,
            "stateTransitionHistory": false
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": "research-plans",
                "name": "Research plan store",
                "description": "Stores a research plan sent by another agent and returns its id; fetches a plan by id; lists stored plans.",
                "tags": ["research", "plans", "storage"],
                "examples": [
                    "Please store this research plan: 1. Survey prior work 2. Design the benchmark 3. Run it",
                    "Fetch research plan plan-1a2b3c4d",
                    "List the stored research plans"
                ]
            },
            {
                "id": "explain",
                "name": "Explain",
                "description": "Answers questions and explains how the event pipeline works, at length when asked.",
                "tags": ["questions", "explanations"],
                "examples": ["Explain how an event travels from the agent to the terminal"]
            }
        ]
    });
    if requires_token {
        card["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer"}});
        card["security"] = json!([{"bearer": []}]);
    }
    card
}
