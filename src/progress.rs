//! The progress bar: a sink that reads finished records, on stderr, only when stderr is a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::{EndpointRecord, Reachability};

/// Done/total, rate, ETA and Redis endpoints found.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    /// `-v`: one line per finished (open) endpoint above the bar.
    endpoint_lines: bool,
}

impl Progress {
    /// A bar for `total` endpoints; hidden unless `visible`.
    pub fn new(total: u64, visible: bool) -> Self {
        if !visible {
            return Self { bar: ProgressBar::hidden(), endpoint_lines: false };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
        let style =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {human_pos}/{human_len} {rate} ETA {eta} {msg}")
                .map(|s| {
                    s.progress_chars("=> ").with_key(
                        "rate",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        },
                    )
                })
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Self { bar, endpoint_lines: false }
    }

    /// With `on` (`-v`), [`Progress::endpoint`] prints one line per finished endpoint.
    #[must_use]
    pub fn with_endpoint_lines(mut self, on: bool) -> Self {
        self.endpoint_lines = on;
        self
    }

    /// One line for a finished endpoint (with `-v`; closed and filtered ones only with `-vv`'s logs).
    pub fn endpoint(&self, r: &EndpointRecord) {
        if self.endpoint_lines && r.reachability == Reachability::Open {
            self.println(&format!("done {}", crate::report::summary::plain_endpoint_line(r)));
        }
    }

    /// `n` more endpoints done; `redis` is the running count of Redis endpoints.
    pub fn tick(&self, n: u64, redis: u64) {
        self.bar.inc(n);
        self.bar.set_message(format!("Redis: {redis}"));
    }

    /// Prints a line above the bar without tearing it.
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
