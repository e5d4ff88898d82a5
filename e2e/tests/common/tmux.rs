//! A real terminal for the monitor: a private tmux server (its own socket),
//! one session named `tui`, and helpers to type into it and read its screen.

use std::process::Command;
use std::time::{Duration, Instant};

/// A private tmux server (its own socket), killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server on a socket named after this process and `tag`, so test
    /// files running at once never share one.
    pub fn new(tag: &str) -> Tmux {
        Tmux {
            socket: format!("orch-e2e-{tag}-{}", std::process::id()),
        }
    }

    /// Runs `tmux -L <socket> args…` and returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (apt-get install tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts the session `tui` of `width`×`height` running `command` in a
    /// UTF-8 locale and a 256-colour terminal.
    pub fn start(&self, width: u16, height: u16, command: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            &w,
            "-y",
            &h,
            "-e",
            "LANG=C.UTF-8",
            "-e",
            "TERM=xterm-256color",
            command,
        ]);
    }

    /// Types keys (tmux key names: `R`, `Enter`, `Escape`, `Space`, …).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tui"])
    }

    /// Whether the alternate screen is on.
    pub fn alternate_on(&self) -> bool {
        self.run(&["display", "-p", "-t", "tui", "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// Polls the screen until `pred` holds; panics with the last screen if not.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
