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
