//! Progress bars for long work: shown on a terminal only, so JSON output and CI logs stay clean.

use std::io::IsTerminal;

/// A bar of `len` steps with `template` (indicatif syntax), or a hidden one when `visible` is
/// false or stderr is not a terminal.
pub fn bar(visible: bool, len: u64, template: &str) -> indicatif::ProgressBar {
    if !visible || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
