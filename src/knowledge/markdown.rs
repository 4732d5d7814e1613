//! Markdown (CommonMark with tables, and the MDX that documentation sites write) to [`Block`]s,
//! through pulldown-cmark: no Markdown syntax survives into a passage.
//!
//! What MDX adds is unwrapped before parsing, outside code fences: `import`/`export` lines are
//! dropped, `:::` admonition fences are removed (their content stays), and JSX or HTML tags are
//! dropped where pulldown-cmark reports them, keeping any text between them (so a `<details>`
//! block's summary and body stay readable).

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::chunk::{Block, BOLD_HEADING_LEVEL};

/// A bold paragraph up to this long reads as a heading; a longer one is emphasised prose.
const MAX_BOLD_HEADING_CHARS: usize = 160;

/// The document's blocks in order.
pub fn blocks(body: &str) -> Vec<Block> {
    let source = without_mdx_syntax(body);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_FOOTNOTES;
    let mut walker = Walker::default();
    for event in Parser::new_ext(&source, options) {
        walker.event(event);
    }
    walker.flush_text();
    walker.out
}

/// `body` with MDX's module lines and admonition fences removed (code fences left alone).
fn without_mdx_syntax(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut fence: Option<&str> = None;
    for line in body.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m && trimmed.trim_end() == m => fence = None,
            _ => {}
        }
        if fence.is_none() && marker.is_none() && is_mdx_syntax(trimmed) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// An MDX module line or an admonition fence (`:::tip`, `:::`).
fn is_mdx_syntax(line: &str) -> bool {
    let module = (line.starts_with("import ") && (line.contains(" from ") || line.ends_with(';')))
        || (line.starts_with("export ")
            && ["const ", "default ", "function ", "let "]
                .iter()
                .any(|k| line["export ".len()..].starts_with(k)));
    module || line.starts_with(":::")
}

/// The list item being read: its marker ("-" or "3."), taken by its first paragraph; later
/// paragraphs of the same item continue it without a marker. Both parsers read lists with it.
pub(super) struct OpenItem {
    marker: String,
    depth: usize,
}

impl OpenItem {
    /// The next item of the innermost open list (each list: its next number, None for
    /// bullets), advancing a numbered list.
    pub(super) fn next(lists: &mut [Option<u64>]) -> Self {
        let depth = lists.len().saturating_sub(1);
        let marker = match lists.last_mut() {
            Some(Some(n)) => {
                *n += 1;
                format!("{}.", *n - 1)
            }
            _ => "-".to_string(),
        };
        Self { marker, depth }
    }
}

/// The block that a paragraph's or list item's text makes: each line whitespace-collapsed,
/// empty lines dropped; None when no text is left.
pub(super) fn text_block(text: &str, item: Option<&mut OpenItem>) -> Option<Block> {
    let lines: Vec<String> = text
        .split('\n')
        .map(collapse)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return None;
    }
    let text = lines.join("\n");
    Some(match item {
        Some(item) => Block::Item {
            marker: std::mem::take(&mut item.marker),
            depth: item.depth,
            text,
        },
        None => Block::Paragraph(text),
    })
}

/// Collects inline text into the block being read.
#[derive(Default)]
struct Walker {
    out: Vec<Block>,
    text: String,
    /// Open lists: the next item number (None for bullets).
    lists: Vec<Option<u64>>,
    item: Option<OpenItem>,
    /// Inside a table: the header cells, the row being read, and whether the header is read.
    header: Vec<String>,
    row: Vec<String>,
    in_table_head: bool,
    /// Inside a code block: its text, kept line by line.
    code: Option<String>,
    heading: Option<u8>,
    /// Nesting depth of images, whose alt text is not shown.
    image: usize,
    /// Nesting depth of bold text, and whether the paragraph being read has text outside it
    /// (a paragraph wholly in bold is a heading).
    strong: usize,
    plain: bool,
}

impl Walker {
    fn event(&mut self, event: Event) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) | Event::Code(t) => self.push_text(&t),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_text(&t),
            Event::Html(html) | Event::InlineHtml(html) => self.push_text(&text_of_html(&html)),
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.push_text("\n"),
            Event::TaskListMarker(done) => self.push_text(if done { "[x] " } else { "[ ] " }),
            Event::Rule | Event::FootnoteReference(_) => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush_text();
                self.heading = Some(heading_level(level));
            }
            Tag::Paragraph | Tag::BlockQuote(_) => self.flush_text(),
            Tag::CodeBlock(_) => {
                self.flush_text();
                self.code = Some(String::new());
            }
            Tag::List(start) => {
                self.flush_text();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush_text();
                self.item = Some(OpenItem::next(&mut self.lists));
            }
            Tag::Table(_) => {
                self.flush_text();
                self.header.clear();
            }
            Tag::TableHead => self.in_table_head = true,
            Tag::TableRow => self.row.clear(),
            Tag::TableCell => self.text.clear(),
            Tag::Image { .. } => self.image += 1,
            Tag::Strong => self.strong += 1,
            Tag::FootnoteDefinition(_) => self.flush_text(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                let text = collapse(&self.text);
                self.text.clear();
                if let Some(level) = self.heading.take() {
                    if !text.is_empty() {
                        self.out.push(Block::Heading { level, text });
                    }
                }
            }
            TagEnd::Paragraph
            | TagEnd::BlockQuote(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::HtmlBlock => self.flush_text(),
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    let code = code.trim_end().to_string();
                    if !code.trim().is_empty() {
                        self.out.push(Block::Code(code));
                    }
                }
            }
            TagEnd::Item => {
                self.flush_text();
                self.item = None;
            }
            TagEnd::List(_) => {
                self.flush_text();
                self.lists.pop();
            }
            TagEnd::TableCell => {
                let cell = collapse(&self.text);
                self.text.clear();
                if self.in_table_head {
                    self.header.push(cell);
                } else {
                    self.row.push(cell);
                }
            }
            TagEnd::TableHead => self.in_table_head = false,
            TagEnd::TableRow => {
                if let Some(row) = table_row(&self.header, &self.row) {
                    self.out.push(Block::Row(row));
                }
                self.row.clear();
            }
            TagEnd::Image => self.image = self.image.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            _ => {}
        }
    }

    fn push_text(&mut self, text: &str) {
        if self.image > 0 {
            return;
        }
        match &mut self.code {
            Some(code) => code.push_str(text),
            None => {
                if self.strong == 0 && !text.trim().is_empty() {
                    self.plain = true;
                }
                self.text.push_str(text);
            }
        }
    }

    /// Ends the paragraph or list item being read, if it has any text.
    fn flush_text(&mut self) {
        if self.heading.is_some() || self.code.is_some() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        let all_bold = !std::mem::take(&mut self.plain);
        if let Some(block) = text_block(&text, self.item.as_mut()) {
            self.out.push(bold_as_heading(block, all_bold));
        }
    }
}

/// A short one-line paragraph wholly in bold (`**Q. Can I pause my plan?**`) is a heading: help
/// centers write FAQ questions so. Markdown and HTML pages read it alike.
pub(super) fn bold_as_heading(block: Block, all_bold: bool) -> Block {
    match block {
        Block::Paragraph(p)
            if all_bold && !p.contains('\n') && p.chars().count() <= MAX_BOLD_HEADING_CHARS =>
        {
            Block::Heading {
                level: BOLD_HEADING_LEVEL,
                text: p,
            }
        }
        block => block,
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A table row as one readable line: "first cell — header: cell; header: cell". The first
/// column names what the row is about, so each row stands alone when it is quoted.
pub(super) fn table_row(header: &[String], cells: &[String]) -> Option<String> {
    let cells: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
    if cells.iter().all(|c| c.is_empty()) {
        return None;
    }
    let named = |i: usize, cell: &str| match header.get(i).map(|h| h.trim()) {
        Some(h) if !h.is_empty() => format!("{h}: {cell}"),
        _ => cell.to_string(),
    };
    let (first, rest) = cells.split_first()?;
    let rest: Vec<String> = rest
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(i, c)| named(i + 1, c))
        .collect();
    Some(match (first.is_empty(), rest.is_empty()) {
        (_, true) => named(0, first),
        (true, false) => rest.join("; "),
        (false, false) => format!("{first} — {}", rest.join("; ")),
    })
}

/// The text of an HTML or JSX fragment, tags removed (entities decoded by the HTML parser).
fn text_of_html(fragment: &str) -> String {
    if !fragment.contains('<') {
        return fragment.to_string();
    }
    super::html::fragment_text(fragment)
}

/// Whitespace runs collapsed to one space, trimmed.
pub(super) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<String> {
        blocks(body).iter().map(Block::display).collect()
    }

    #[test]
    fn inline_markup_and_links_become_plain_text() {
        assert_eq!(
            texts("Go to **Settings** → [Billing](https://x.test/billing) and press `Save`.\nThen wait."),
            ["Go to Settings → Billing and press Save. Then wait."]
        );
    }

    #[test]
    fn every_heading_level_is_a_heading() {
        let b = blocks("# T\n\n## A\n\ntext\n\n### B {#b}\n\nmore\n\n#### C\n\nend");
        let headings: Vec<(u8, &str)> = b
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level, text } => Some((*level, text.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(headings, [(1, "T"), (2, "A"), (3, "B"), (4, "C")]);
    }

    #[test]
    fn lists_and_numbered_steps_stay_items() {
        assert_eq!(
            texts("Steps:\n\n1. Open *Settings*\n2. Click **Save**\n\n- one\n  - nested\n- two"),
            [
                "Steps:",
                "1. Open Settings",
                "2. Click Save",
                "- one",
                "- nested",
                "- two"
            ]
        );
    }

    #[test]
    fn table_rows_read_as_lines() {
        assert_eq!(
            texts("| Plan | Storage | Price |\n|---|---|---|\n| Free | 100GB | $0 |\n| **Pro** | 1TB | |"),
            [
                "Free — Storage: 100GB; Price: $0",
                "Pro — Storage: 1TB"
            ]
        );
    }

    #[test]
    fn mdx_and_html_are_dropped_or_unwrapped() {
        let body = "import Tip from '@site/tip';\n\n:::tip Remember\nKeep your token secret.\n:::\n\n<Tip warning={true}>\n\nRotate it yearly.\n\n</Tip>\n\n<details>\n<summary>Why?</summary>\n\nBecause leaks happen.\n\n</details>\n\n```js\nimport x from 'y';\n```\n";
        let out = texts(body);
        assert!(
            out.contains(&"Keep your token secret.".to_string()),
            "{out:?}"
        );
        assert!(out.contains(&"Rotate it yearly.".to_string()), "{out:?}");
        assert!(out.iter().any(|t| t.contains("Why?")), "{out:?}");
        assert!(
            out.contains(&"Because leaks happen.".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"import x from 'y';".to_string()),
            "code is kept: {out:?}"
        );
        for t in &out {
            assert!(
                !t.contains('<') && !t.contains(":::") && !t.contains("@site"),
                "{t}"
            );
        }
    }

    #[test]
    fn images_leave_no_alt_text() {
        assert_eq!(
            texts("![screenshot of the page](a.png) Click it."),
            ["Click it."]
        );
    }
}
