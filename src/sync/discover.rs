//! Finding a site's pages: the addresses a sitemap lists, and the links of a page.

use quick_xml::events::Event;
use scraper::{Html, Selector};
use url::Url;

/// What a sitemap lists: pages, and further sitemaps (of a sitemap index).
#[derive(Debug, Default, PartialEq)]
pub struct Sitemap {
    pub pages: Vec<String>,
    pub sitemaps: Vec<String>,
}

/// Reads a sitemap or a sitemap index (sitemaps.org): the text of each `<loc>`, under `<url>`
/// (a page) or under `<sitemap>` (another sitemap). The error names what is wrong.
pub fn parse_sitemap(xml: &str) -> Result<Sitemap, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut sitemap = Sitemap::default();
    let mut parents: Vec<Vec<u8>> = Vec::new();
    let mut loc: Option<String> = None;
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a sitemap: {e} (byte {})", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if parents.is_empty() {
                    if name != b"urlset" && name != b"sitemapindex" {
                        return Err(format!(
                            "not a sitemap: the root element is <{}>, not <urlset> or <sitemapindex>",
                            String::from_utf8_lossy(&name)
                        ));
                    }
                    saw_root = true;
                }
                if name == b"loc" {
                    loc = Some(String::new());
                }
                parents.push(name);
            }
            Event::Text(text) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&text.decode().map_err(|e| format!("not a sitemap: {e}"))?);
                }
            }
            Event::CData(text) => {
                if let Some(loc) = loc.as_mut() {
                    loc.push_str(&String::from_utf8_lossy(&text));
                }
            }
            Event::GeneralRef(entity) => {
                if let Some(loc) = loc.as_mut() {
                    let resolved = match entity.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => entity
                            .decode()
                            .ok()
                            .and_then(|name| quick_xml::escape::resolve_predefined_entity(&name))
                            .map(str::to_string),
                    };
                    loc.push_str(&resolved.unwrap_or_default());
                }
            }
            Event::End(_) => {
                let name = parents.pop().unwrap_or_default();
                if name == b"loc" {
                    let text = loc.take().unwrap_or_default().trim().to_string();
                    match parents.last().map(Vec::as_slice) {
                        Some(b"url") if !text.is_empty() => sitemap.pages.push(text),
                        Some(b"sitemap") if !text.is_empty() => sitemap.sitemaps.push(text),
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err("not a sitemap: no <urlset> or <sitemapindex>".into());
    }
    Ok(sitemap)
}

/// File endings of links that are never pages.
const NOT_PAGES: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".pdf", ".zip", ".gz", ".tar",
    ".mp4", ".webm", ".mp3", ".css", ".js", ".json", ".xml", ".txt", ".woff", ".woff2", ".dmg",
    ".exe",
];

/// The links of a parsed page to other pages of the same site (`site`'s origin), resolved
/// against the page's address, without fragment or query, in the order they appear, each once.
pub fn page_links(document: &Html, page: &Url, site: &Url) -> Vec<Url> {
    let Ok(anchors) = Selector::parse("a[href]") else {
        return Vec::new();
    };
    let base = select_base(document, page).unwrap_or_else(|| page.clone());
    let mut seen = std::collections::HashSet::new();
    document
        .select(&anchors)
        .filter_map(|a| a.value().attr("href"))
        .filter_map(|href| base.join(href.trim()).ok())
        .filter_map(|url| page_address(&url, site))
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

/// `url` as a page of `site` (same origin, fragment and query dropped), or None when it is on
/// another site or is a file that is not a page.
pub fn page_address(url: &Url, site: &Url) -> Option<Url> {
    if url.origin() != site.origin() {
        return None;
    }
    let path = url.path().to_ascii_lowercase();
    if NOT_PAGES.iter().any(|ending| path.ends_with(ending)) {
        return None;
    }
    let mut url = url.clone();
    url.set_fragment(None);
    url.set_query(None);
    Some(url)
}

fn select_base(document: &Html, page: &Url) -> Option<Url> {
    let selector = Selector::parse("base[href]").ok()?;
    let href = document.select(&selector).next()?.value().attr("href")?;
    page.join(href).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemaps_and_sitemap_indexes() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://help.example.com/a?x=1&amp;y=2</loc><lastmod>2026-01-01</lastmod></url>
  <url><loc> https://help.example.com/b </loc></url>
  <url><loc><![CDATA[https://help.example.com/c]]></loc></url>
</urlset>"#;
        let sitemap = parse_sitemap(xml).unwrap();
        assert_eq!(
            sitemap.pages,
            [
                "https://help.example.com/a?x=1&y=2",
                "https://help.example.com/b",
                "https://help.example.com/c"
            ]
        );
        let index = r#"<sitemapindex><sitemap><loc>https://help.example.com/s1.xml</loc></sitemap></sitemapindex>"#;
        assert_eq!(
            parse_sitemap(index).unwrap().sitemaps,
            ["https://help.example.com/s1.xml"]
        );
    }

    #[test]
    fn what_is_not_a_sitemap_is_refused() {
        assert!(parse_sitemap("<html><body>Not found</body></html>")
            .unwrap_err()
            .contains("<html>"));
        assert!(parse_sitemap("").is_err());
        assert!(parse_sitemap("<urlset><url><loc>x</url>").is_err());
    }

    #[test]
    fn links_stay_on_the_site() {
        let page = Url::parse("https://help.example.com/docs/start").unwrap();
        let html = r##"<a href="billing">Billing</a><a href="/docs/billing#refunds">again</a>
<a href="https://other.example.com/x">away</a><a href="/logo.png">logo</a>
<a href="mailto:help@example.com">mail</a><a href="?page=2">next</a><a href="#top">top</a>"##;
        let links: Vec<String> = page_links(&Html::parse_document(html), &page, &page)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            links,
            [
                "https://help.example.com/docs/billing",
                "https://help.example.com/docs/start"
            ]
        );
    }
}
