//! Turning one document into passages.
//!
//! Every format is first parsed into [`Block`]s by a real parser (Markdown and MDX by
//! pulldown-cmark in `markdown.rs`, HTML by html5ever in `html.rs`, plain text as paragraphs),
//! so there is one sectioner. Every heading level is a boundary and lands in the passage's
//! heading path; a heading phrased as a question makes an FAQ passage of what follows it. A
//! paragraph written wholly in bold (the "**Q. …?**" of many FAQ pages) is a heading too, below
//! the current one. Lists, steps and table rows stay one item a line. Sections longer than
//! [`ChunkOptions::max_chars`] are split between blocks (a long block between sentences, with a
//! sentence of overlap), and a part that continues a list opens with the list's lead-in, so each
//! part reads on its own.

/// Limits for splitting long sections.
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// A section longer than this (in characters) is split. ~1,000 characters stays well inside
    /// the 256-token window of MiniLM-class embedders.
    pub max_chars: usize,
    /// How many trailing sentences of one part open the next when a block is split.
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

/// One structural unit of a document, as its parser read it (markup removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A heading of level 1–6; level [`BOLD_HEADING_LEVEL`] for a paragraph wholly in bold.
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(String),
    /// A list item: `marker` is "-" or "3." ("" for a later paragraph of the same item).
    Item {
        marker: String,
        depth: usize,
        text: String,
    },
    /// A table row as one line (see `markdown::table_row`).
    Row(String),
    Code(String),
}

/// The level of a bold paragraph used as a heading: below every real heading.
pub const BOLD_HEADING_LEVEL: u8 = 7;

impl Block {
    /// The block as a passage shows it.
    pub fn display(&self) -> String {
        match self {
            Block::Heading { text, .. } | Block::Paragraph(text) | Block::Row(text) => text.clone(),
            Block::Code(code) => code.clone(),
            Block::Item { marker, text, .. } if marker.is_empty() => text.clone(),
            Block::Item { marker, text, .. } => format!("{marker} {text}"),
        }
    }

    fn is_line_item(&self) -> bool {
        matches!(self, Block::Item { .. } | Block::Row(_))
    }
}

/// A piece of a document before it gets its tenant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Headings from the document title down to this section's own heading.
    pub heading_path: Vec<String>,
    /// The question heading when this is an FAQ passage.
    pub question: Option<String>,
    /// Slug used in the passage id (unique within the document).
    pub slug: String,
    /// Body text: paragraphs separated by a blank line, list items and table rows one a line.
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

/// Splits a Markdown (or MDX) body into sections. `title` is the document title (front matter
/// or file name); a leading `# ` heading replaces it.
pub fn split_markdown(title: &str, body: &str, options: ChunkOptions) -> Vec<Section> {
    sections(title, super::markdown::blocks(body), options)
}

/// Plain text: paragraphs separated by blank lines, nothing else is markup.
pub fn text_blocks(text: &str) -> Vec<Block> {
    text.split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|p| !p.is_empty())
        .map(Block::Paragraph)
        .collect()
}

/// A heading's text without an FAQ's "Q." marker.
fn heading_text(text: &str) -> String {
    strip_marker(text, 'Q').to_string()
}

/// `text` without a leading "Q." / "Q:" (or "A." / "A:") marker of FAQ pages.
fn strip_marker(text: &str, letter: char) -> &str {
    let mut chars = text.chars();
    match (chars.next(), chars.next(), chars.next()) {
        (Some(l), Some('.' | ':'), Some(' ')) if l == letter => text[3..].trim_start(),
        _ => text,
    }
}

struct OpenSection {
    /// (level, heading) from the outermost heading down.
    path: Vec<(u8, String)>,
    question: Option<String>,
    blocks: Vec<Block>,
}

/// Groups blocks into sections at every heading and sizes them for the embedder.
pub fn sections(title: &str, blocks: Vec<Block>, options: ChunkOptions) -> Vec<Section> {
    let mut title = title.to_string();
    let mut open: Vec<OpenSection> = Vec::new();
    let mut current = OpenSection {
        path: vec![],
        question: None,
        blocks: vec![],
    };
    for block in blocks {
        match block {
            Block::Heading { level: 1, text }
                if open.is_empty() && current.blocks.is_empty() && current.path.is_empty() =>
            {
                title = text;
            }
            Block::Heading { level, text } => {
                let text = heading_text(&text);
                let mut path = current.path.clone();
                path.retain(|(l, _)| *l < level);
                let question = is_question(&text).then(|| text.clone());
                path.push((level, text));
                open.push(std::mem::replace(
                    &mut current,
                    OpenSection {
                        path,
                        question,
                        blocks: vec![],
                    },
                ));
            }
            block => current.blocks.push(block),
        }
    }
    open.push(current);

    let mut used_slugs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for mut section in open {
        if section.blocks.is_empty() {
            continue;
        }
        if section.question.is_some() {
            if let Some(Block::Paragraph(first)) = section.blocks.first_mut() {
                *first = strip_marker(first, 'A').to_string();
            }
        }
        let own = section
            .path
            .last()
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| title.clone());
        let base = match slugify(&own) {
            s if s.is_empty() => "intro".to_string(),
            s => s,
        };
        let mut heading_path = vec![title.clone()];
        heading_path.extend(section.path.iter().map(|(_, h)| h.clone()));
        for (i, part) in split_blocks(&section.blocks, options)
            .into_iter()
            .enumerate()
        {
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

/// Blocks joined as a passage shows them: list items and rows one a line, other blocks
/// separated by a blank line.
fn join_blocks(blocks: &[&Block]) -> String {
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            let tight = block.is_line_item() && blocks[i - 1].is_line_item();
            out.push_str(if tight { "\n" } else { "\n\n" });
        }
        out.push_str(&block.display());
    }
    out
}

/// A section's blocks in parts of at most `max_chars`, cut between blocks; a block longer than
/// that is cut between sentences ([`split_long`]). A part cut inside a list opens with the
/// paragraph that introduced the list, when both fit.
fn split_blocks(blocks: &[Block], options: ChunkOptions) -> Vec<String> {
    let all: Vec<&Block> = blocks.iter().collect();
    let whole = join_blocks(&all);
    if whole.chars().count() <= options.max_chars {
        return vec![whole];
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current: Vec<&Block> = Vec::new();
    // blocks at the start of `current` carried over from the previous part (a list's lead-in)
    let mut carried = 0;
    // the paragraph ending in ':' that introduced the list being read
    let mut lead_in: Option<&Block> = None;
    for block in blocks {
        let text = block.display();
        if text.chars().count() > options.max_chars {
            if current.len() > carried {
                parts.push(join_blocks(&current));
            }
            current.clear();
            carried = 0;
            lead_in = None;
            parts.extend(split_long(&text, options));
            continue;
        }
        let mut candidate = current.clone();
        candidate.push(block);
        if current.len() > carried && join_blocks(&candidate).chars().count() > options.max_chars {
            parts.push(join_blocks(&current));
            current.clear();
            carried = 0;
            if let (Some(intro), true) = (lead_in, block.is_line_item()) {
                if join_blocks(&[intro, block]).chars().count() <= options.max_chars {
                    current.push(intro);
                    carried = 1;
                }
            }
        }
        current.push(block);
        match block {
            Block::Paragraph(p) => lead_in = p.trim_end().ends_with(':').then_some(block),
            b if b.is_line_item() => {}
            _ => lead_in = None,
        }
    }
    if current.len() > carried {
        parts.push(join_blocks(&current));
    }
    parts
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
    fn question_headings_become_faq_passages_and_sub_headings_are_sections() {
        let s = split("# Billing FAQ\n\n## Can I get a refund?\nYes, within 14 days.\n\n### Details\nOnly if usage was minimal.\n\n## How do I pay?\nBy card.\n");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].question.as_deref(), Some("Can I get a refund?"));
        assert_eq!(s[0].slug, "can-i-get-a-refund");
        assert_eq!(s[0].text, "Yes, within 14 days.");
        assert_eq!(
            s[0].heading_path,
            vec!["Billing FAQ", "Can I get a refund?"]
        );
        assert_eq!(
            s[1].heading_path,
            vec!["Billing FAQ", "Can I get a refund?", "Details"]
        );
        assert_eq!(s[1].text, "Only if usage was minimal.");
        assert_eq!(s[2].text, "By card.");
    }

    #[test]
    fn bold_questions_are_faq_headings_without_their_markers() {
        let s = split("## FAQ\n\n**Billing**\n\n**Q. Can I pause my plan?**\n\nA. No, but you can cancel.\n\n**Q. Where are invoices?**\n\nA. In **Settings**.");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].question.as_deref(), Some("Can I pause my plan?"));
        assert_eq!(
            s[0].heading_path,
            vec!["Doc", "FAQ", "Can I pause my plan?"]
        );
        assert_eq!(s[0].text, "No, but you can cancel.");
        assert_eq!(s[1].text, "In Settings.");
    }

    #[test]
    fn long_lists_are_cut_between_items_and_keep_their_lead_in() {
        let items: String = (1..=30)
            .map(|i| format!("- Option number {i} is described here in a few words\n"))
            .collect();
        let s = split(&format!("## Options\n\nYou can choose:\n\n{items}"));
        assert!(s.len() > 1);
        for part in &s {
            assert!(part.text.chars().count() <= 1000, "{}", part.text);
            assert!(part.text.starts_with("You can choose:"), "{}", part.text);
            assert!(part.text.lines().skip(2).all(|l| l.starts_with("- Option")));
        }
        let total: usize = s.iter().map(|p| p.text.matches("- Option").count()).sum();
        assert_eq!(total, 30, "every item once");
    }

    #[test]
    fn passages_show_no_markup() {
        let s = split("## Plans\n\n| Plan | Price |\n|---|---|\n| *Pro* | $9 |\n\n> **Note:** see [pricing](https://x.test).\n\n<Callout>\n\nCheck `settings`.\n\n</Callout>");
        assert_eq!(
            s[0].text,
            "Pro — Price: $9\n\nNote: see pricing.\n\nCheck settings."
        );
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
        assert!(s[0].text.ends_with("done"));
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
