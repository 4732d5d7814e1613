//! The matching rules of `facts`, `context` and `forbid`: case-insensitive, white space folded,
//! and Unicode dashes, quotes and arrows treated like their ASCII forms, so a suite written with
//! "24-48 hours" matches a document that says "24–48 hours".

/// Folds text for comparison.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' | '\u{ff0d}' => {
                out.push('-')
            }
            '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}' | '\u{2032}' | '\u{ff07}' => {
                out.push('\'')
            }
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{201f}' | '\u{2033}' | '\u{ff02}' => {
                out.push('"')
            }
            '\u{2192}' | '\u{21d2}' | '\u{27f6}' | '\u{2794}' | '\u{279c}' | '\u{27a1}' => {
                out.push_str("->")
            }
            '\u{2026}' => out.push_str("..."),
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    out.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `needle` occurs in `haystack` under the matching rules.
pub fn contains(haystack: &str, needle: &str) -> bool {
    normalize(haystack).contains(&normalize(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_space_dashes_quotes_and_arrows() {
        assert!(contains("Typically within 24–48 hours", "24-48 HOURS"));
        assert!(contains("Open Settings → Credits", "settings -> credits"));
        assert!(contains("you’re  set\n", "You're set"));
        assert!(contains("“quoted”", "\"quoted\""));
        assert!(contains("9:00 AM — 6:00 PM", "9:00 am - 6:00 pm"));
        assert!(!contains("14 days", "7 days"));
        assert_eq!(normalize("  A\u{a0}B\tC  "), "a b c");
    }
}
