//! The built-in model's long and medium answers, by topic.
//!
//! Written for the demo: each is true of this system, so what scrolls past in
//! the terminal reads like a competent agent explaining its own plumbing.

use super::intent::Topic;
use super::writing::pick;

/// A long, multi-paragraph explanation (several hundred words).
pub fn essay(topic: &Topic, seed: u64) -> String {
    let opener = pick(
        seed,
        1,
        &[
            "Good question — it is easiest to follow one piece of work from start to finish.",
            "Let me take this in order, from the moment something happens to the moment you see it.",
            "Here is the full picture, one stage at a time.",
        ],
    );
    let body = match topic {
        Topic::Pipeline => PIPELINE,
        Topic::Resilience => RESILIENCE,
        Topic::Agent | Topic::Plans => AGENT,
        Topic::Terminal => TERMINAL,
        Topic::General(subject) => return general_essay(subject, seed),
    };
    let closer = pick(
        seed,
        2,
        &[
            "If you want to see it happen, run `scripts/listen` in one terminal and send me a message from another: every line it prints is one of the steps above.",
            "The quickest way to convince yourself is to watch it live: each event I publish while answering you is exactly one of these steps.",
            "You are, in fact, watching this answer travel that way right now, one chunk per event.",
        ],
    );
    format!("{opener}\n\n{body}\n\n{closer}")
}

/// A short answer (a paragraph or two).
pub fn answer(topic: &Topic, seed: u64) -> String {
    match topic {
        Topic::Pipeline => pick(
            seed,
            3,
            &[
                "Every event I publish goes to Redis twice in one atomic step: it is appended to the capped stream `orchestrator_events:log` and published on the channel `orchestrator_events`, carrying the stream id it was given. The channel is for live watchers; the stream is for anyone who missed something and wants to catch up. Because one script does both, the two always agree on order, and a replayed event is byte-for-byte the live one.",
                "The stream and the channel carry the same events in the same order. The channel is fire-and-forget — if nobody is subscribed, the message is gone — while the stream keeps roughly the last ten thousand events with strictly increasing ids. A client that reconnects asks for everything after the last id it saw and then switches to live, with no gap and no duplicate.",
            ],
        )
        .to_string(),
        Topic::Resilience => pick(
            seed,
            4,
            &[
                "If Redis goes away I keep answering. Events queue up in memory, in order, up to a bound; I reconnect with backoff and flush them in the order they happened once Redis is back. If the bound is ever exceeded, the oldest events are dropped and I publish an `events_dropped` error saying how many, so the gap is visible rather than silent.",
                "Nothing I do waits on Redis: publishing is a hand-off to a background task. When Redis is down that task buffers, retries with growing delays, and on reconnection checks what already landed so nothing is sent twice. Watchers see the run complete a little late, but complete and in order.",
            ],
        )
        .to_string(),
        Topic::Agent | Topic::Plans => pick(
            seed,
            5,
            &[
                "I work in turns. Each turn I think (you see that as reasoning events), then either answer or call one of my tools — storing a research plan, fetching one by id, or listing what is stored. Tool results go back into the conversation and I take another turn, up to a fixed number of steps. Every one of those moves is published as it happens.",
                "My tools have real effects: `store_research_plan` writes the plan to Redis and returns its id, `get_research_plan` reads one back, and `list_research_plans` shows the most recent ones. When a tool fails, the failure is reported as a tool result with status error, and I carry on with what I know.",
            ],
        )
        .to_string(),
        Topic::Terminal => pick(
            seed,
            6,
            &[
                "The terminal monitor connects to the bridge over a WebSocket and draws one line per event: reasoning, tool calls and their results, and my reply as it streams. If the connection drops it resumes from the last event id it saw, so nothing goes missing in between.",
                "You can watch me from a terminal in two ways: the full-screen monitor, or `scripts/listen`, which subscribes to the Redis channel directly and prints one line per event with its time, type, agent and run.",
            ],
        )
        .to_string(),
        Topic::General(subject) => {
            let lead = pick(
                seed,
                7,
                &[
                    "Short answer: it depends on what you need from it, but I can give you a useful frame.",
                    "I'm running on the built-in offline model, so I can't look anything up — but I can reason about it.",
                    "Here's how I would approach it.",
                ],
            );
            format!(
                "{lead} On {subject}: start by pinning down the question you actually need answered, \
                 separate what is known from what is assumed, and look for the one observation that \
                 would change your mind. If you send me a research plan for it, I'll store it so the \
                 other agents can pick it up."
            )
        }
    }
}

fn general_essay(subject: &str, seed: u64) -> String {
    let intro = pick(
        seed,
        8,
        &[
            "I'm the built-in offline model, so I won't pretend to quote sources — but I can lay out a sound way to think about",
            "Without looking anything up, here is a structured way to approach",
        ],
    );
    format!(
        "{intro} {subject}.\n\n\
         **1. Frame it.** Most confusion comes from answering a slightly different question than \
         the one asked. Write the question down in one sentence, then list what a good answer would \
         let you do. That list is your acceptance test.\n\n\
         **2. Separate the moving parts.** Break {subject} into the pieces that can change \
         independently. For each piece, note what drives it, what it affects, and how you could \
         observe it directly rather than infer it.\n\n\
         **3. Look for the mechanism.** A good explanation says *why*, not only *what*. For each \
         claim, ask what would have to be true for it to hold, and what you would expect to see if \
         it were false. Prefer the explanation that predicts something you have not looked at yet.\n\n\
         **4. Check against reality.** Pick the cheapest observation that could prove the \
         explanation wrong and make it. If it survives, widen the test; if it does not, you have \
         learned which assumption was carrying the weight.\n\n\
         **5. Write it down.** A short plan — question, hypotheses, observations, decision — is \
         worth more than a long discussion. Send it to me as a research plan and I will store it \
         so any agent on this channel can retrieve it later by its id."
    )
}

const PIPELINE: &str = "**1. Something happens in the agent.** While I handle your message, every \
step — the run starting, each chunk of reasoning, each tool call and its result, each chunk of my \
reply, the run finishing — is reported to a callback handler. The handler stamps it with my name, \
the run id and a sequence number that counts up from zero within the run, and hands it to a \
publisher. That hand-off never waits: the publisher has its own queue and task.\n\n\
**2. One atomic step in Redis.** The publisher sends whatever is queued in one call to a small Lua \
script. For each event the script picks the next stream id, splices it into the JSON as the first \
field, appends the event to the capped stream `orchestrator_events:log` and publishes the very same \
bytes on the channel `orchestrator_events`. Because both happen in one server-side step, the \
stream's order is the channel's order, and every live event carries the id it has in the stream.\n\n\
**3. The bridge fans out.** The bridge holds one subscription to the channel and forwards each \
event to every connected WebSocket client whose filter matches — by type, by agent, or by run. \
Each client has its own bounded queue, so one slow client cannot hold up the others.\n\n\
**4. Catching up without gaps.** A client that connects late or reconnects says which id it saw \
last. The bridge first replays everything after that id from the stream, then switches to live \
events, skipping anything it has already sent. Ids only ever increase, so the seam is exact: no \
gap, no duplicate.\n\n\
**5. The terminal draws it.** The terminal monitor turns each event into one line — a reasoning \
chunk, a tool call with its input, a result with its status and duration — and joins my reply's \
chunks back into one message as they arrive.";

const RESILIENCE: &str = "**1. Publishing never blocks the work.** The loop that talks to the \
model hands each event to a bounded in-memory queue and moves on. A background task drains the \
queue into Redis in batches. If Redis is slow or gone, only that task notices.\n\n\
**2. Redis goes down.** The publisher's next batch fails. It keeps the batch, marks Redis as \
unreachable (you can see that in `/healthz`), and retries with exponential backoff and a little \
jitter, so several agents do not hammer a recovering server in lockstep. Meanwhile new events keep \
queuing, in order.\n\n\
**3. The bound.** Memory is finite, so the queue has a limit. Past it, the oldest queued events \
are dropped — the stream is a capped log anyway, and the newest events describe what is happening \
now. The drop is never silent: once Redis is back, an `error` event of kind `events_dropped` is \
published exactly where the gap is, saying how many were lost and what the bound is.\n\n\
**4. Coming back without duplicates.** If a batch was sent but the answer never came back, it \
may or may not have landed. Before re-sending, the publisher reads the tail of the stream and \
skips whatever is already there. Then it flushes the rest in order.\n\n\
**5. Downstream.** The bridge notices the lost subscription too, tells its clients, reconnects, \
and uses the stream to fill in what happened while it was away. Clients resume from their last id. \
The net effect for someone watching: a pause, then the run's events arrive complete and in order.";

const AGENT: &str = "**1. A run begins.** Each message — from a person over `/chat` or from \
another agent over A2A — starts a run with its own id. The first event says what came in and from \
where.\n\n\
**2. Turns.** I work in turns. In each turn the model streams back a mix of reasoning chunks, \
reply chunks and tool calls. Reasoning and reply chunks are published the moment they arrive; tool \
calls are collected until the turn ends.\n\n\
**3. Tools.** Each tool call is published with its input, run, and published again with its \
result, its status and how long it took. My tools have real effects in Redis: storing a research \
plan, fetching one by id, listing the recent ones. Arguments are validated first, and a call that \
fails — bad arguments, an unknown plan id, Redis unavailable — becomes a result with status \
`error`. The model sees that error and can recover, for instance by listing what exists instead.\n\n\
**4. The loop closes.** Tool results go back into the conversation and the model takes another \
turn. When it answers without calling a tool, the run is complete. A run that keeps calling tools \
past the step limit is stopped and marked failed, so a confused model cannot loop forever.\n\n\
**5. The end is always reported.** Every run ends with exactly one `run_finished`: completed, \
failed (with an `error` event saying why) or cancelled, for instance by an A2A `tasks/cancel`. \
Token usage is summed across turns when the model reports it.";

const TERMINAL: &str = "**1. Connecting.** The terminal monitor opens a WebSocket to the \
bridge. The bridge's first frame says hello: its version, the newest event id it knows, and the \
filter in force.\n\n\
**2. One line per event.** Each event becomes a line with its time, a symbol for its kind, the \
agent and run it belongs to, and a summary: the first words of a reasoning chunk, a tool's name \
and input, a result's status and duration. Reply chunks from the same run are joined into one \
growing message.\n\n\
**3. Filtering.** You can narrow the view by event type, by agent, or to a single run, and the \
bridge does the filtering server-side so a busy channel costs the terminal nothing.\n\n\
**4. Staying in sync.** If the connection drops, the monitor reconnects and asks for everything \
after the last id it drew. If Redis lost its history meanwhile, the bridge says so instead of \
pretending nothing happened.\n\n\
**5. Without a screen.** The same events can be printed as plain lines or raw JSON for pipes and \
scripts — which is also what `scripts/listen` does, straight from Redis.";
