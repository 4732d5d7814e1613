//! Turning one document's text into passages.
//!
//! Markdown is the one structured format: a `## ` heading that is a question starts an FAQ passage
//! holding everything up to the next `#`/`## ` heading; other sections are split at every heading.
//! HTML and plain text are first converted to this Markdown shape (see `html.rs`), so there is one
//! chunker. Sections longer than [`ChunkOptions::max_chars`] are split at sentence boundaries with
//! a sentence of overlap, so a fact near a cut still appears whole in one passage.

/// Limits for splitting long sections.
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// A section longer than this (in characters) is split. ~1,000 characters stays well inside
    /// the 256-token window of MiniLM-class embedders.
    pub max_chars: usize,
    /// How many trailing sentences of one part open the next.
    pub overlap_sentences: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_chars: 1000,
            overlap_sentences: 1,
        }
    }
}

/// A piece of a document before it gets its tenant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Headings from the document title down to this section's own heading.
    pub heading_path: Vec<String>,
    /// The `## ` question when this is an FAQ passage.
    pub question: Option<String>,
    /// Slug used in the passage id (unique within the document).
    pub slug: String,
    /// Body text, whitespace-normalised per line.
    pub text: String,
}

/// True for a heading phrased as a customer question.
pub fn is_question(heading: &str) -> bool {
    heading.trim_end().ends_with('?')
}

/// Lowercase ASCII-alphanumeric words joined by `-`; non-ASCII letters are kept as they are.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Parses a `#`-style ATX heading line into (level, text).
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&level) && line[level..].starts_with(' ') {
        Some((level, line[level..].trim().trim_end_matches('#').trim()))
    } else {
        None
    }
}

struct OpenSection {
    path: Vec<String>,
    question: Option<String>,
    lines: Vec<String>,
}

/// Splits a Markdown body into sections. `title` is the document title (front matter or file
/// name); a leading `# ` heading replaces it when the front matter gave none.
pub fn split_markdown(title: &str, body: &str, options: ChunkOptions) -> Vec<Section> {
    let mut title = title.to_string();
    let mut sections: Vec<OpenSection> = Vec::new();
    let mut current = OpenSection {
        path: vec![],
        question: None,
        lines: vec![],
    };
    // heading texts by level (index 0 = level 2), to build heading paths
    let mut stack: Vec<String> = Vec::new();
    let mut in_fence = false;
    for raw_line in body.lines() {
        let line = raw_line.trim_end();
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let parsed = if in_fence { None } else { heading(line) };
        match parsed {
            Some((1, text)) if sections.is_empty() && current.lines.is_empty() => {
                title = text.to_string();
            }
            Some((level, text)) if current.question.is_none() || level <= 2 => {
                sections.push(std::mem::replace(
                    &mut current,
                    OpenSection {
                        path: vec![],
                        question: None,
                        lines: vec![],
                    },
                ));
                let depth = level.saturating_sub(2);
                stack.truncate(depth);
                stack.push(text.to_string());
                current.path = stack.clone();
                current.question = (level == 2 && is_question(text)).then(|| text.to_string());
            }
            _ => current.lines.push(line.to_string()),
        }
    }
    sections.push(current);

    let mut used_slugs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for section in sections {
        let text = normalise_block(&section.lines);
        if text.is_empty() && section.question.is_none() {
            continue;
        }
        let own = section
            .path
            .last()
            .cloned()
            .unwrap_or_else(|| title.clone());
        let base = match slugify(&own) {
            s if s.is_empty() => "intro".to_string(),
            s => s,
        };
        let mut heading_path = vec![title.clone()];
        heading_path.extend(section.path.iter().cloned());
        if section.path.is_empty() {
            heading_path.truncate(1);
        }
        for (i, part) in split_long(&text, options).into_iter().enumerate() {
            let wanted = if i == 0 {
                base.clone()
            } else {
                format!("{base}-part-{}", i + 1)
            };
            let slug = unique_slug(&wanted, &mut used_slugs);
            out.push(Section {
                heading_path: heading_path.clone(),
                question: section.question.clone(),
                slug,
                text: part,
            });
        }
    }
    out
}

fn unique_slug(wanted: &str, used: &mut Vec<String>) -> String {
    let mut slug = wanted.to_string();
    let mut n = 2;
    while used.contains(&slug) {
        slug = format!("{wanted}-{n}");
        n += 1;
    }
    used.push(slug.clone());
    slug
}

/// Trims lines, drops leading/trailing blank lines and collapses runs of blank lines to one.
fn normalise_block(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Splits text into sentences, keeping the terminator and treating each line break as a boundary
/// (list items are sentences too).
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let mut start = 0;
        let bytes = line.as_bytes();
        for (i, c) in line.char_indices() {
            let end = i + c.len_utf8();
            let is_end = matches!(c, '.' | '!' | '?')
                && (end == bytes.len() || bytes[end] == b' ')
                && !ends_with_abbreviation(&line[start..end]);
            if is_end {
                let s = line[start..end].trim();
                if !s.is_empty() {
                    out.push(s);
                }
                start = end;
            }
        }
        let rest = line[start..].trim();
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// Avoids cutting after "e.g.", "i.e.", "etc." or a single initial / number ("9.", "U.S.").
fn ends_with_abbreviation(sentence: &str) -> bool {
    let last = sentence
        .split_whitespace()
        .last()
        .unwrap_or("")
        .to_lowercase();
    matches!(
        last.as_str(),
        "e.g." | "i.e." | "etc." | "vs." | "approx." | "no." | "mr." | "ms." | "dr."
    ) || (last.len() <= 2 && last.ends_with('.'))
}

/// Splits `text` into parts of at most `max_chars` at sentence boundaries, each part after the
/// first opening with the previous part's last `overlap_sentences` sentences.
pub fn split_long(text: &str, options: ChunkOptions) -> Vec<String> {
    if text.chars().count() <= options.max_chars {
        return vec![text.to_string()];
    }
    let sentences = sentences(text);
    let mut parts: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut len = 0;
    let mut fresh = 0; // sentences in `current` not carried over from the previous part
    for sentence in sentences {
        let n = sentence.chars().count() + 1;
        if fresh > 0 && len + n > options.max_chars {
            parts.push(current.join(" "));
            let keep = options.overlap_sentences.min(current.len());
            current = current.split_off(current.len() - keep);
            len = current.iter().map(|s| s.chars().count() + 1).sum();
            fresh = 0;
        }
        current.push(sentence);
        len += n;
        fresh += 1;
    }
    if fresh > 0 {
        parts.push(current.join(" "));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &str) -> Vec<Section> {
        split_markdown("Doc", body, ChunkOptions::default())
    }

    #[test]
    fn question_headings_become_faq_passages() {
        let s = split("# Billing FAQ\n\n## Can I get a refund?\nYes, within 14 days.\n\n### Details\nOnly if usage was minimal.\n\n## How do I pay?\nBy card.\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].question.as_deref(), Some("Can I get a refund?"));
        assert_eq!(s[0].slug, "can-i-get-a-refund");
        assert!(s[0].text.contains("### Details") && s[0].text.contains("minimal"));
        assert_eq!(
            s[0].heading_path,
            vec!["Billing FAQ", "Can I get a refund?"]
        );
        assert_eq!(s[1].text, "By card.");
    }

    #[test]
    fn other_sections_split_at_every_heading() {
        let s = split("Intro text.\n## Refunds\nRule one.\n### Credit packs\nNever refunded.\n## Plans\nChange any time.");
        let slugs: Vec<_> = s.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs, ["doc", "refunds", "credit-packs", "plans"]);
        assert_eq!(s[2].heading_path, vec!["Doc", "Refunds", "Credit packs"]);
        assert!(s.iter().all(|s| s.question.is_none()));
    }

    #[test]
    fn duplicate_headings_get_unique_slugs() {
        let s = split("## Notes\na\n## Notes\nb");
        assert_eq!(s[0].slug, "notes");
        assert_eq!(s[1].slug, "notes-2");
    }

    #[test]
    fn headings_inside_code_fences_are_text() {
        let s = split("## Setup\n```\n## not a heading\n```\ndone");
        assert_eq!(s.len(), 1);
        assert!(s[0].text.contains("## not a heading"));
    }

    #[test]
    fn long_sections_split_at_sentences_with_overlap() {
        let sentence = "This sentence is exactly forty chars ok.";
        let text = [sentence; 10].join(" ");
        let opts = ChunkOptions {
            max_chars: 130,
            overlap_sentences: 1,
        };
        let parts = split_long(&text, opts);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(p.chars().count() <= 130, "{p}");
            assert!(p.ends_with('.'));
        }
        // the last sentence of a part opens the next one
        let words: usize = parts.iter().map(|p| p.matches(sentence).count()).sum();
        assert_eq!(words, 10 + parts.len() - 1);
        let s = split_markdown("D", &format!("## Long\n{text}"), opts);
        assert_eq!(s[1].slug, "long-part-2");
    }

    #[test]
    fn sentences_respect_abbreviations_and_lines() {
        let s = sentences("Use PNG, e.g. a screenshot. Then retry!\n- item one\n- item two");
        assert_eq!(
            s,
            [
                "Use PNG, e.g. a screenshot.",
                "Then retry!",
                "- item one",
                "- item two"
            ]
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("How do I cancel or change my plan?"),
            "how-do-i-cancel-or-change-my-plan"
        );
        assert_eq!(slugify("Settings → Credits"), "settings-credits");
        assert_eq!(slugify("  ?? "), "");
    }
}
