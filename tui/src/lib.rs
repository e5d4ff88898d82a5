//! The orchestrator's terminal monitor: a live, icon-tagged, filterable log of
//! what agents do, fed by the bridge's WebSocket.
//!
//! Layout, one concept per module:
//!
//! - [`client`]: the headless WebSocket client (connect, back off with jitter,
//!   and resume with `orchestrator_events::Resumer`, which deduplicates) that
//!   everything else uses; the protocol is `docs/protocol.md`.
//! - [`backoff`]: its reconnect delays.
//! - [`replay`], [`record`]: `--replay FILE` and `--record FILE` (JSON Lines).
//! - [`plain`]: `--plain` / `--json` output without a screen.
//! - [`app`]: the monitor's state: a shared [`app::Feed`] (store, connection,
//!   rate; [`app::SharedFeed`] serves many viewers) and a per-viewer
//!   [`app::View`] (filter, search, selection, panes), driven by [`action`]s
//!   from the [`keymap`]; [`layout`] is the screen layout both it and [`ui`] use.
//! - [`ui`]: drawing, a pure function of the app; [`theme`] (colours, Unicode and
//!   ASCII icons, `NO_COLOR`), [`kind`] (what a row is), [`summary`] (one-line
//!   summaries), [`clock`] (time zone for the time column).
//! - [`tui`]: terminal setup and restore, and the one event loop.
//! - [`cli`]: flags and environment variables.
//!
//! For benchmarks and tests: build an [`app::App`] with [`app::App::new`], feed
//! it [`client::Frame`]s with [`app::App::ingest`], and draw it with
//! [`ui::draw`] into a terminal frame or render `&App` (a ratatui `Widget`)
//! into any `Buffer`. For many viewers of one stream: one [`app::SharedFeed`],
//! one [`app::View`] each, [`app::View::sync`] then [`ui::draw_view`].

pub mod action;
pub mod app;
pub mod backoff;
pub mod cli;
pub mod client;
pub mod clock;
pub mod keymap;
pub mod kind;
pub mod layout;
pub mod plain;
pub mod record;
pub mod replay;
pub mod summary;
pub mod theme;
pub mod tui;
pub mod ui;

pub use app::{App, AppConfig};
pub use client::{ClientConfig, ClientEvent, ConnState, Frame, spawn_client};
