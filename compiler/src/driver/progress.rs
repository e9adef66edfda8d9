//! Progress lines on stderr for steps that may take a while.

use std::io::Write;
use std::time::Instant;

/// Prints `▸ what…` when a step starts and its duration when it ends (if it took
/// more than a second), unless quiet.
pub struct Step {
    what: String,
    start: Instant,
    quiet: bool,
}

impl Step {
    /// Starts a step.
    pub fn start(what: impl Into<String>, quiet: bool) -> Step {
        let what = what.into();
        if !quiet {
            eprintln!("▸ {what}…");
            let _ = std::io::stderr().flush();
        }
        Step { what, start: Instant::now(), quiet }
    }

    /// Ends the step, returning its duration in seconds.
    pub fn done(self) -> f64 {
        let s = self.start.elapsed().as_secs_f64();
        if !self.quiet && s >= 1.0 {
            eprintln!("  {} took {s:.1} s", self.what);
        }
        s
    }
}

/// A progress bar on stderr for a known number of jobs that finish in any order (on
/// several threads): one line per finished job, `[####······] 3/8 what (12.3 s)`.
pub struct Bar {
    total: usize,
    done: std::sync::Mutex<usize>,
    start: Instant,
    quiet: bool,
}

impl Bar {
    /// A bar for `total` jobs.
    pub fn new(total: usize, quiet: bool) -> Bar {
        Bar { total, done: std::sync::Mutex::new(0), start: Instant::now(), quiet }
    }

    /// Marks one job finished, saying which.
    pub fn tick(&self, what: &str) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        if self.quiet {
            return;
        }
        const WIDTH: usize = 20;
        let filled = WIDTH * *done / self.total.max(1);
        eprintln!(
            "[{}{}] {}/{} {what} ({:.1} s)",
            "#".repeat(filled),
            "·".repeat(WIDTH - filled),
            *done,
            self.total,
            self.start.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }
}
