//! HTML help-centre pages to [`Block`]s, through a real HTML5 parser (scraper, on html5ever):
//! malformed markup, entities and unclosed tags are handled as a browser would.
//!
//! The article is the page's `<main>` (or `role="main"`), else its `<article>`, else `<body>`;
//! inside `<body>` the site's furniture is left out: `<nav>`, `<header>`, `<footer>`, `<aside>`,
//! landmark roles that are not content, and elements whose class or id names furniture (cookie
//! banners, menus, breadcrumbs), as readability-style extractors do. Scripts, styles, forms and
//! other non-text elements never reach a passage.

use scraper::{ElementRef, Html, Node, Selector};

use super::chunk::Block;
use super::markdown::{bold_as_heading, collapse, table_row, text_block, OpenItem};

/// Elements whose content is never text a customer reads.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "title", "form", "button", "iframe",
    "select", "canvas", "object",
];

/// Site furniture, left out when the article is the whole `<body>`.
const FURNITURE: &[&str] = &["nav", "header", "footer", "aside"];

/// Landmark roles of site furniture, left out when the article is the whole `<body>`.
const FURNITURE_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
];

/// Words of a class or id (split at anything not a letter or digit) that mark site furniture,
/// left out when the article is the whole `<body>`. "header" is not among them: article
/// headers often carry the title.
const FURNITURE_NAMES: &[&str] = &[
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "banner",
    "breadcrumb",
    "breadcrumbs",
    "sidebar",
    "menu",
    "navbar",
    "nav",
    "navigation",
    "footer",
    "pagination",
    "pager",
    "popup",
    "modal",
    "share",
    "social",
    "skip",
];

/// Pages nested deeper than this are not read: the HTML parser's work grows with the square of
/// the depth (100,000 nested elements take it 20 seconds), and no help page is nested so deep.
pub const MAX_NESTING: usize = 1_000;

/// Elements that never have content (no end tag) or whose end tag may be left out: a page that
/// never closes its paragraphs or list items is not deep.
const UNCOUNTED: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "caption", "rp", "rt", "html", "head", "body",
];

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];

/// How deep a page's elements nest, read from its tags without building the tree (linear in the
/// page's length): start tags open, end tags close, comments and script or style content are
/// skipped. Checked before parsing, against [`MAX_NESTING`].
pub fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'<') {
        at += offset + 1;
        if bytes[at..].starts_with(b"!--") {
            at = find(bytes, at, b"-->").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        let closing = bytes.get(at) == Some(&b'/');
        let start = at + usize::from(closing);
        let name_len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if name_len == 0 || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[start..start + name_len].to_ascii_lowercase();
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(bytes.len(), |i| start + i);
        let self_closing = end > 0 && bytes.get(end - 1) == Some(&b'/');
        at = end.min(bytes.len());
        if UNCOUNTED.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if RAW_TEXT.contains(&name.as_str()) {
            let close = format!("</{name}");
            at = find_ignoring_case(bytes, at, close.as_bytes()).unwrap_or(bytes.len());
        } else if !self_closing {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Refuses a page nested deeper than [`MAX_NESTING`], before anything parses it.
pub fn check_nesting(html: &str) -> Result<(), String> {
    match nesting_depth(html) {
        depth if depth > MAX_NESTING => Err(format!(
            "elements nested {depth} deep, over the {MAX_NESTING} a page may have"
        )),
        _ => Ok(()),
    }
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from.min(bytes.len())..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

fn find_ignoring_case(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes[from.min(bytes.len())..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| from + i)
}

/// Element nesting below this depth is read as plain text: the walk recurses, and a page of
/// 100,000 nested elements must not exhaust a thread's stack.
const MAX_DEPTH: usize = 256;

/// Elements that end the paragraph before them and start a new one.
const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "details",
    "summary",
    "address",
    "center",
    "hr",
];

/// What a page holds for the knowledge base.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The `<title>` element, when present.
    pub title: Option<String>,
    /// The absolute `http(s)` address of `<link rel="canonical">`, when present: citations link
    /// to it.
    pub canonical: Option<String>,
    pub blocks: Vec<Block>,
}

/// Converts a page to its title, canonical address and article blocks.
pub fn to_blocks(html: &str) -> Page {
    let document = Html::parse_document(html);
    let title = select_first(&document, "title")
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let canonical = select_first(&document, "link[rel~=canonical][href]")
        .and_then(|link| link.value().attr("href"))
        .map(str::trim)
        .filter(|href| href.starts_with("https://") || href.starts_with("http://"))
        .map(str::to_string);
    let root = article(&document);
    let mut walker = Walker {
        skip_furniture: root.is_none(),
        ..Walker::default()
    };
    let root = root
        .or_else(|| select_first(&document, "body"))
        .unwrap_or_else(|| document.root_element());
    walker.children(root);
    walker.flush();
    Page {
        title,
        canonical,
        blocks: walker.out,
    }
}

/// The page's article element, when it marks one: `<main>` or `role="main"`, else `<article>`.
pub fn article(document: &Html) -> Option<ElementRef<'_>> {
    select_first(document, "main, [role=main]").or_else(|| select_first(document, "article"))
}

/// Whether an element inside `<body>` is site furniture rather than the article.
fn is_furniture(element: ElementRef<'_>) -> bool {
    let value = element.value();
    if FURNITURE.contains(&value.name()) {
        return true;
    }
    if value
        .attr("role")
        .is_some_and(|role| FURNITURE_ROLES.contains(&role.trim().to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let names = value.attr("class").into_iter().chain(value.attr("id"));
    names
        .flat_map(|n| n.split(|c: char| !c.is_ascii_alphanumeric()))
        .any(|word| FURNITURE_NAMES.contains(&word.to_ascii_lowercase().as_str()))
}

/// The text of an HTML fragment (tags dropped, entities decoded).
pub fn fragment_text(fragment: &str) -> String {
    Html::parse_fragment(fragment)
        .root_element()
        .text()
        .collect()
}

fn select_first<'a>(document: &'a Html, selector: &str) -> Option<ElementRef<'a>> {
    let selector = Selector::parse(selector).ok()?;
    document.select(&selector).next()
}

#[derive(Default)]
struct Walker {
    out: Vec<Block>,
    text: String,
    skip_furniture: bool,
    /// How deep in the article the walk is.
    depth: usize,
    /// Nesting depth of bold text, and whether the paragraph being read has text outside it
    /// (a paragraph wholly in bold is a heading, as in Markdown).
    strong: usize,
    plain: bool,
    /// Open lists: the next item number (None for bullets).
    lists: Vec<Option<u64>>,
    /// The list item being read.
    item: Option<OpenItem>,
}

impl Walker {
    fn children(&mut self, element: ElementRef<'_>) {
        if self.depth >= MAX_DEPTH {
            self.text.extend(element.text());
            return;
        }
        self.depth += 1;
        self.each_child(element);
        self.depth -= 1;
    }

    fn each_child(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => {
                    if self.strong == 0 && !text.trim().is_empty() {
                        self.plain = true;
                    }
                    // a line break in the markup is a space; only <br> breaks a line
                    self.text.extend(
                        text.chars()
                            .map(|c| if c.is_whitespace() { ' ' } else { c }),
                    );
                }
                Node::Element(_) => {
                    if let Some(element) = ElementRef::wrap(child) {
                        self.element(element);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, element: ElementRef<'_>) {
        let name = element.value().name();
        if SKIPPED.contains(&name) || (self.skip_furniture && is_furniture(element)) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let text = collapse(&element.text().collect::<String>());
                if !text.is_empty() {
                    let level = name[1..].parse().unwrap_or(2);
                    self.out.push(Block::Heading { level, text });
                }
            }
            "br" => self.text.push('\n'),
            "strong" | "b" => {
                self.strong += 1;
                self.children(element);
                self.strong -= 1;
            }
            "pre" => {
                self.flush();
                let code = element.text().collect::<String>().trim_end().to_string();
                if !code.trim().is_empty() {
                    self.out.push(Block::Code(code));
                }
            }
            "ul" | "ol" => {
                self.flush();
                let start = element
                    .value()
                    .attr("start")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                self.lists.push((name == "ol").then_some(start));
                self.children(element);
                self.flush();
                self.lists.pop();
            }
            "li" => {
                self.flush();
                self.item = Some(OpenItem::next(&mut self.lists));
                self.children(element);
                self.flush();
                self.item = None;
            }
            "table" => {
                self.flush();
                self.table(element);
            }
            "img" => {}
            _ if BLOCK_ELEMENTS.contains(&name) => {
                self.flush();
                self.children(element);
                self.flush();
            }
            _ => self.children(element),
        }
    }

    /// Each row as one line, named by the header row (the first row of `th` cells).
    fn table(&mut self, table: ElementRef<'_>) {
        let (Ok(rows), Ok(cells)) = (Selector::parse("tr"), Selector::parse("th, td")) else {
            return;
        };
        let mut header: Vec<String> = Vec::new();
        for (i, row) in table.select(&rows).enumerate() {
            let texts: Vec<String> = row
                .select(&cells)
                .map(|c| collapse(&c.text().collect::<String>()))
                .collect();
            let all_th = row.select(&cells).all(|c| c.value().name() == "th");
            if i == 0 && all_th {
                header = texts;
            } else if let Some(line) = table_row(&header, &texts) {
                self.out.push(Block::Row(line));
            }
        }
    }

    /// Ends the paragraph or list item being read, if it has any text.
    fn flush(&mut self) {
        let text = std::mem::take(&mut self.text);
        let all_bold = !std::mem::take(&mut self.plain);
        if let Some(block) = text_block(&text, self.item.as_mut()) {
            self.out.push(bold_as_heading(block, all_bold));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(html: &str) -> Vec<String> {
        to_blocks(html).blocks.iter().map(Block::display).collect()
    }

    #[test]
    fn converts_headings_lists_and_drops_scripts() {
        let html = r#"<html><head><title>Help &amp; FAQ</title><style>h2{color:red}</style></head>
<body><script>alert("x")</script><!-- hidden -->
<h2>Can I get a refund?</h2><p>Yes &ndash; within <b>7&nbsp;days</b>.</p>
<ul><li>PNG</li><li>JPG</li></ul><SCRIPT type="x">evil()</SCRIPT></body></html>"#;
        let Page { title, blocks, .. } = to_blocks(html);
        assert_eq!(title.as_deref(), Some("Help & FAQ"));
        assert_eq!(
            blocks[0],
            Block::Heading {
                level: 2,
                text: "Can I get a refund?".into()
            }
        );
        let shown: Vec<String> = blocks.iter().skip(1).map(Block::display).collect();
        assert_eq!(shown, ["Yes – within 7 days.", "- PNG", "- JPG"]);
        let all = shown.join("\n");
        for gone in ["alert", "evil", "hidden", "color:red"] {
            assert!(!all.contains(gone), "{gone} leaked: {all}");
        }
    }

    #[test]
    fn the_article_is_taken_without_the_site_furniture() {
        let html = "<body><nav>Home · Pricing</nav><header>Acme</header><p>Intro.</p>\
                    <footer>© Acme</footer></body>";
        assert_eq!(texts(html), ["Intro."]);
        let html = "<body><nav>Menu</nav><main><h1>Refunds</h1><p>Within 7 days.</p></main>\
                    <aside>Related</aside></body>";
        assert_eq!(texts(html), ["Refunds", "Within 7 days."]);
    }

    #[test]
    fn banners_menus_and_landmarks_are_furniture_when_no_article_is_marked() {
        let html = r#"<body><div id="cookie-consent">We use cookies. Accept?</div>
<div class="site-menu">Docs · Blog</div><div role="navigation">Home</div>
<div class="content"><h1>Refunds</h1><p>Within 7 days.</p></div>
<div class="page-footer">© Acme</div></body>"#;
        assert_eq!(texts(html), ["Refunds", "Within 7 days."]);
        // inside a marked article the same names are content
        let html = r#"<main><p class="menu">Open the menu and pick Billing.</p></main>"#;
        assert_eq!(texts(html), ["Open the menu and pick Billing."]);
    }

    #[test]
    fn the_canonical_address_is_read_when_absolute() {
        let page = to_blocks(
            r#"<head><link rel="canonical" href="https://help.example.com/refunds"></head><p>x</p>"#,
        );
        assert_eq!(
            page.canonical.as_deref(),
            Some("https://help.example.com/refunds")
        );
        let page = to_blocks(r#"<head><link rel="canonical" href="/refunds"></head><p>x</p>"#);
        assert_eq!(page.canonical, None);
    }

    #[test]
    fn nesting_is_measured_from_the_tags() {
        assert_eq!(nesting_depth("<div><div><span>x</span></div></div>"), 3);
        // unclosed paragraphs and list items, void elements and self-closing tags add nothing
        let flat = "<body><p>a<p>b<ul><li>c<li>d</ul><br><img src=x><hr/><x-icon/></body>";
        assert_eq!(nesting_depth(flat), 1);
        // comments, scripts and styles are not tags
        let text = "<div><!-- <div><div> --><script>if (a<b && c<d) {}</script>                    <style>a<b{}</style></div>";
        assert_eq!(nesting_depth(text), 1);
        assert_eq!(nesting_depth(&"<div>".repeat(100_000)), 100_000);
        assert_eq!(nesting_depth("a < b <3 <"), 0);
    }

    #[test]
    fn deeply_nested_markup_is_read_without_exhausting_the_stack() {
        let depth = 5_000;
        let html = format!(
            "<body>{}deep text{}</body>",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        // a small stack, as a runtime's worker thread has, would overflow on a recursive walk
        let blocks = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || texts(&html))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(blocks, ["deep text"]);
    }

    #[test]
    fn a_paragraph_wholly_in_bold_is_a_heading_as_in_markdown() {
        let html = "<main><p><strong>Q. Can I pause my plan?</strong></p><p>A. No, cancel it.</p>\
                    <p><b>Note:</b> plans renew monthly.</p></main>";
        let markdown =
            "**Q. Can I pause my plan?**\n\nA. No, cancel it.\n\n**Note:** plans renew monthly.\n";
        assert_eq!(
            to_blocks(html).blocks,
            super::super::markdown::blocks(markdown)
        );
        assert!(matches!(to_blocks(html).blocks[0], Block::Heading { .. }));
    }

    #[test]
    fn tables_and_numbered_steps() {
        let html = "<main><ol start=\"3\"><li>Open <b>Settings</b></li><li>Save</li></ol>\
                    <table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>$9</td></tr></table></main>";
        assert_eq!(
            texts(html),
            ["3. Open Settings", "4. Save", "Pro — Price: $9"]
        );
    }

    #[test]
    fn broken_markup_does_not_panic() {
        assert_eq!(texts("<p>text <script>never closed"), ["text"]);
        assert_eq!(texts("<p>cut <a href"), ["cut"]);
        assert_eq!(
            fragment_text("<summary>Why &amp; how?</summary>"),
            "Why & how?"
        );
    }
}
