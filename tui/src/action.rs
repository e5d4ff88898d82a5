//! What a key, a click or the wheel asks the monitor to do.
//!
//! Input is turned into an [`Action`] by the keymap (or the mouse handler), and
//! only [`crate::app::App::act`] changes state in response, so the same action
//! behaves the same however it was triggered and tests can drive the app
//! without a terminal.

use crate::kind::Category;

/// One user intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the monitor.
    Quit,
    /// Move the selection (or scroll the focused detail pane) by rows; negative is up.
    Move(i32),
    /// Move by a page; negative is up.
    Page(i32),
    /// Go to the oldest row.
    Top,
    /// Go to the newest row and follow.
    Bottom,
    /// Toggle follow mode (auto-scroll to new rows).
    ToggleFollow,
    /// Open the search prompt.
    SearchPrompt,
    /// Next search match (downwards).
    SearchNext,
    /// Previous search match (upwards).
    SearchPrev,
    /// Open the filter prompt.
    FilterPrompt,
    /// Hide or show one type category.
    ToggleType(Category),
    /// Show only the selected row's run (toggle).
    OnlyRun,
    /// Show only the selected row's agent (toggle).
    OnlyAgent,
    /// Hide the selected row's agent (toggle).
    HideAgent,
    /// Remove every filter.
    ClearFilters,
    /// Open or close the detail pane.
    Detail,
    /// Move keyboard focus between the log and the detail pane.
    SwitchFocus,
    /// Close whatever is open (help, detail, search highlight).
    Escape,
    /// Toggle the raw chunk view (one row per event).
    ToggleRaw,
    /// Show or hide the key help.
    Help,
    /// Scroll the log by rows with the mouse wheel; negative is up.
    Wheel(i32),
    /// Select the row at this line of the log area (mouse click).
    Click(u16),
    /// Open a view: the log, the runs or the tools.
    Open(Page),
}

/// The views of the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// The event log (`L`, the default).
    #[default]
    Log,
    /// One row per run (`R`).
    Runs,
    /// One row per tool name (`T`).
    Tools,
    /// One run as a readable page (`Enter` on a run).
    Transcript,
}

impl Page {
    /// The word the status bar shows.
    pub fn name(self) -> &'static str {
        match self {
            Page::Log => "log",
            Page::Runs => "runs",
            Page::Tools => "tools",
            Page::Transcript => "transcript",
        }
    }
}
