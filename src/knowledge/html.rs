//! HTML help-centre pages to the Markdown shape the chunker reads.
//!
//! A deliberately small converter: headings become `#` lines, block elements become line breaks,
//! list items become `- ` lines, `<script>`, `<style>`, `<noscript>`, `<template>` and comments are
//! dropped, and the common character entities are decoded. Help-centre pages are simple; a full
//! HTML5 parser would add a large dependency for no better passages.

/// Elements whose content is never text a customer reads.
const SKIPPED: [&str; 7] = [
    "script", "style", "noscript", "template", "svg", "head", "title",
];

/// Converts HTML to (title, markdown body). The title is the `<title>` element, when present.
pub fn to_markdown(html: &str) -> (Option<String>, String) {
    let title = element_text(html, "title").map(|t| collapse_spaces(&decode_entities(&t)));
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !closing && SKIPPED.contains(&name.as_str()) {
            let close = format!("</{name}");
            rest = find_ci(rest, &close)
                .and_then(|at| rest[at..].find('>').map(|e| &rest[at + e + 1..]))
                .unwrap_or("");
            continue;
        }
        match (name.as_str(), closing) {
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", false) => {
                let level = name[1..].parse::<usize>().unwrap_or(2);
                out.push_str("\n\n");
                out.push_str(&"#".repeat(level));
                out.push(' ');
            }
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) => out.push_str("\n\n"),
            ("li", false) => out.push_str("\n- "),
            ("br", _) => out.push('\n'),
            (
                "p" | "div" | "section" | "article" | "ul" | "ol" | "tr" | "table" | "main"
                | "header" | "footer" | "nav" | "blockquote" | "pre" | "dd" | "dt",
                _,
            ) => out.push_str("\n\n"),
            ("td" | "th", _) => out.push(' '),
            _ => {}
        }
    }
    push_text(&mut out, rest);
    let body = out
        .lines()
        .map(collapse_spaces)
        .collect::<Vec<_>>()
        .join("\n");
    (title, body)
}

fn push_text(out: &mut String, text: &str) {
    if !text.is_empty() {
        out.push_str(&decode_entities(&text.replace(['\n', '\r', '\t'], " ")));
    }
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Case-insensitive `find` for ASCII needles.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    (0..hay.len().saturating_sub(needle.len() - 1))
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

fn element_text(html: &str, name: &str) -> Option<String> {
    let start = find_ci(html, &format!("<{name}"))?;
    let open_end = html[start..].find('>')? + start + 1;
    let close = find_ci(&html[open_end..], &format!("</{name}"))? + open_end;
    Some(html[open_end..close].to_string())
}

/// Decodes named entities a help page typically uses, and numeric ones.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..].find(';').filter(|&e| e <= 10).and_then(|end| {
            let entity = &rest[1..end + 1];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                "rarr" => Some('→'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "ldquo" => Some('“'),
                "rdquo" => Some('”'),
                "hellip" => Some('…'),
                _ => entity.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_headings_lists_and_drops_scripts() {
        let html = r#"<html><head><title>Help &amp; FAQ</title><style>h2{color:red}</style></head>
<body><script>alert("x")</script><!-- hidden -->
<h2>Can I get a refund?</h2><p>Yes &ndash; within <b>7&nbsp;days</b>.</p>
<ul><li>PNG</li><li>JPG</li></ul><SCRIPT type="x">evil()</SCRIPT></body></html>"#;
        let (title, body) = to_markdown(html);
        assert_eq!(title.as_deref(), Some("Help & FAQ"));
        assert!(body.contains("## Can I get a refund?"), "{body}");
        assert!(body.contains("Yes – within 7 days."), "{body}");
        assert!(body.contains("- PNG\n- JPG"), "{body}");
        for gone in ["alert", "evil", "hidden", "color:red"] {
            assert!(!body.contains(gone), "{gone} leaked: {body}");
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &lt;b&gt; &#233; &#x41; &bogus; &"),
            "a <b> é A &bogus; &"
        );
    }

    #[test]
    fn unclosed_tags_do_not_panic() {
        let (_, body) = to_markdown("<p>text <script>never closed");
        assert_eq!(body.trim(), "text");
        let (_, body) = to_markdown("<p>cut <a href");
        assert_eq!(body.trim(), "cut");
    }
}
