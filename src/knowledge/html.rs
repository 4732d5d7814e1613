//! HTML help-centre pages to [`Block`]s, through a real HTML5 parser (scraper, on html5ever):
//! malformed markup, entities and unclosed tags are handled as a browser would.
//!
//! The article is the page's `<main>`, else its `<article>`, else `<body>`; inside `<body>` the
//! site's furniture (`<nav>`, `<header>`, `<footer>`, `<aside>`) is left out. Scripts, styles,
//! forms and other non-text elements never reach a passage.

use scraper::{ElementRef, Html, Node, Selector};

use super::chunk::Block;
use super::markdown::{collapse, table_row, text_block, OpenItem};

/// Elements whose content is never text a customer reads.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "head", "title", "form", "button", "iframe",
    "select", "canvas", "object",
];

/// Site furniture, left out when the article is the whole `<body>`.
const FURNITURE: &[&str] = &["nav", "header", "footer", "aside"];

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

/// Converts a page to (title, blocks). The title is the `<title>` element, when present.
pub fn to_blocks(html: &str) -> (Option<String>, Vec<Block>) {
    let document = Html::parse_document(html);
    let title = select_first(&document, "title")
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let (root, in_body) =
        match select_first(&document, "main").or_else(|| select_first(&document, "article")) {
            Some(article) => (article, false),
            None => match select_first(&document, "body") {
                Some(body) => (body, true),
                None => (document.root_element(), true),
            },
        };
    let mut walker = Walker {
        skip_furniture: in_body,
        ..Walker::default()
    };
    walker.children(root);
    walker.flush();
    (title, walker.out)
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
    /// Open lists: the next item number (None for bullets).
    lists: Vec<Option<u64>>,
    /// The list item being read.
    item: Option<OpenItem>,
}

impl Walker {
    fn children(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text.push_str(text),
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
        if SKIPPED.contains(&name) || (self.skip_furniture && FURNITURE.contains(&name)) {
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
        if let Some(block) = text_block(&text, self.item.as_mut()) {
            self.out.push(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(html: &str) -> Vec<String> {
        to_blocks(html).1.iter().map(Block::display).collect()
    }

    #[test]
    fn converts_headings_lists_and_drops_scripts() {
        let html = r#"<html><head><title>Help &amp; FAQ</title><style>h2{color:red}</style></head>
<body><script>alert("x")</script><!-- hidden -->
<h2>Can I get a refund?</h2><p>Yes &ndash; within <b>7&nbsp;days</b>.</p>
<ul><li>PNG</li><li>JPG</li></ul><SCRIPT type="x">evil()</SCRIPT></body></html>"#;
        let (title, blocks) = to_blocks(html);
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
