//! Progress of long work: a bar on a terminal; where stderr is not one (a service's log, CI),
//! a line at each tenth of long work, so that a run of minutes is not silent. JSON output on
//! stdout is never touched.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

/// Work of fewer steps than this reports nothing off a terminal: it is over in moments.
const LINES_FROM_STEPS: u64 = 1000;

/// Progress over `len` steps.
pub struct Progress {
    bar: indicatif::ProgressBar,
    /// Off a terminal: what is counted ("embedding", "texts"), steps done, and total.
    lines: Option<(&'static str, &'static str, AtomicU64, u64)>,
}

impl Progress {
    /// A bar with `template` (indicatif syntax) on a terminal, else lines naming `task` and
    /// `unit` for work of at least [`LINES_FROM_STEPS`] steps; nothing when `visible` is false.
    pub fn new(
        visible: bool,
        len: u64,
        template: &str,
        task: &'static str,
        unit: &'static str,
    ) -> Self {
        let hidden = Self {
            bar: indicatif::ProgressBar::hidden(),
            lines: None,
        };
        if !visible {
            return hidden;
        }
        if !std::io::stderr().is_terminal() {
            return Self {
                lines: (len >= LINES_FROM_STEPS).then(|| (task, unit, AtomicU64::new(0), len)),
                ..hidden
            };
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Self { bar, lines: None }
    }

    /// `steps` more are done.
    pub fn inc(&self, steps: u64) {
        self.bar.inc(steps);
        if let Some((task, unit, done, total)) = &self.lines {
            let before = done.fetch_add(steps, Ordering::Relaxed);
            let tenth = |n: u64| n.min(*total) * 10 / (*total).max(1);
            if tenth(before + steps) > tenth(before) {
                let now = (before + steps).min(*total);
                eprintln!(
                    "{task}: {now} of {total} {unit} ({}%)",
                    now * 100 / (*total).max(1)
                );
            }
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_long_work_counts_and_short_work_stays_quiet() {
        let long = Progress {
            bar: indicatif::ProgressBar::hidden(),
            lines: Some(("embedding", "texts", AtomicU64::new(0), 2000)),
        };
        for _ in 0..25 {
            long.inc(100);
        }
        let Some((_, _, done, _)) = &long.lines else {
            unreachable!()
        };
        assert_eq!(done.load(Ordering::Relaxed), 2500);
        let short = Progress::new(true, 10, "{bar}", "eval", "cases");
        assert!(short.lines.is_none(), "short work gets no lines");
        let hidden = Progress::new(false, 5000, "{bar}", "eval", "cases");
        assert!(hidden.lines.is_none());
    }
}
