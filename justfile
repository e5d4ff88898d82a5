# Orchestrator events — every recipe calls a script or cargo, so CI and people run the same thing.

default:
    @just --list

# Build and run the whole pipeline with a live terminal monitor.
demo *ARGS:
    ./scripts/demo {{ARGS}}

# Format check, lints, and every test (starts private redis-servers itself).
test:
    ./scripts/test

# Benchmarks: fan-out, latency, memory, TUI cost (release build).
bench:
    ./scripts/bench

# Fault suite: kills Redis/bridge/agent mid-stream and counts lost events.
chaos:
    ./scripts/chaos

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings
