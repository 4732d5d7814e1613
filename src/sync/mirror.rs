//! The synced copy of a brand's website: `synced/` inside the tenant folder, one HTML file per
//! page (its article, title and canonical address) and `manifest.json` with what each page was
//! fetched from. The folder is read like every other document of the tenant, so a synced page
//! goes through the same ingestion as a file.

use scraper::{Html, Selector};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use url::Url;

use super::fetch::Validators;

/// The folder of synced pages inside a tenant folder.
pub const SYNCED_DIR: &str = "synced";

const MANIFEST_FILE: &str = "manifest.json";

/// Every synced page, by address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub pages: BTreeMap<String, Entry>,
}

/// One synced page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The file under `synced/`.
    pub file: String,
    /// The `url` of the source that lists it.
    pub source: String,
    /// SHA-256 of the stored file, hex: a page is changed when this is.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The page's links to the site, for crawl sources: a page that has not changed (304)
    /// still leads to the pages it links to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

impl Entry {
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

impl Manifest {
    /// The manifest of `synced_dir`; an empty one when the folder has never been synced.
    pub fn load(synced_dir: &Path) -> Result<Self, String> {
        let path = synced_dir.join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: broken manifest ({e}); remove the folder to sync anew",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the manifest (a whole new file, renamed into place).
    pub fn save(&self, synced_dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomically(&synced_dir.join(MANIFEST_FILE), &text)
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so a reader
/// sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// The file a page is kept in: `<host>/<path>.html`, each path segment reduced to letters,
/// digits, `-` and `_`; a path ending in `/` is its folder's `index`.
pub fn file_for(url: &Url) -> String {
    let host = url.host_str().unwrap_or("site").to_ascii_lowercase();
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.map(clean_segment).collect())
        .unwrap_or_default();
    match segments.last_mut() {
        Some(last) if last.is_empty() => *last = "index".to_string(),
        None => segments.push("index".to_string()),
        Some(_) => {}
    }
    segments.retain(|s| !s.is_empty());
    let port = url.port().map(|p| format!("-{p}")).unwrap_or_default();
    format!("{host}{port}/{}.html", segments.join("/"))
}

fn clean_segment(segment: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    let stem = decoded
        .strip_suffix(".html")
        .or_else(|| decoded.strip_suffix(".htm"))
        .unwrap_or(&decoded);
    let cleaned: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    cleaned.trim_matches('-').chars().take(100).collect()
}

/// SHA-256 in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fetched page as kept in the mirror: its article (the element the knowledge loader would
/// take: `<main>`, else `<article>`, else the body), its title, and its canonical address when
/// that is on the same site (else the address it was fetched from). Reading the kept file gives
/// the same passages as reading the page itself, without the site's furniture.
pub fn kept_document(document: &Html, page: &Url) -> String {
    let first = |selector: &str| {
        Selector::parse(selector)
            .ok()
            .and_then(|s| document.select(&s).next())
    };
    let title = first("title")
        .map(|t| t.text().collect::<String>())
        .unwrap_or_default();
    let canonical = first("link[rel~=canonical][href]")
        .and_then(|l| l.value().attr("href"))
        .and_then(|href| page.join(href.trim()).ok())
        .filter(|c| c.origin() == page.origin())
        .unwrap_or_else(|| page.clone());
    let body = match crate::knowledge::html_article(document) {
        Some(article) => article.html(),
        None => first("body").map(|b| b.inner_html()).unwrap_or_default(),
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\
         <link rel=\"canonical\" href=\"{}\"></head>\n<body>{body}</body></html>\n",
        escape(title.trim()),
        escape(canonical.as_str())
    )
}

/// Text for an HTML text node or attribute value.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_files_follow_the_address() {
        let file = |u: &str| file_for(&Url::parse(u).unwrap());
        assert_eq!(
            file("https://Help.Example.com/docs/Billing"),
            "help.example.com/docs/billing.html"
        );
        assert_eq!(
            file("https://help.example.com/"),
            "help.example.com/index.html"
        );
        assert_eq!(
            file("https://help.example.com/docs/"),
            "help.example.com/docs/index.html"
        );
        assert_eq!(
            file("http://127.0.0.1:8080/a/b.html"),
            "127.0.0.1-8080/a/b.html"
        );
        assert_eq!(
            file("https://h.example/r%C3%A9sum%C3%A9%20page"),
            "h.example/résumé-page.html"
        );
        assert_eq!(
            file("https://h.example/../../etc/passwd"),
            "h.example/etc/passwd.html"
        );
        // encoded dots are dot segments too (the URL standard): they never climb out
        assert_eq!(
            file("https://h.example/a/%2e%2e/%2E%2E/x"),
            "h.example/x.html"
        );
        assert_eq!(file("https://h.example/a/%2e%2e%2fb"), "h.example/a/b.html");
    }

    #[test]
    fn the_kept_file_is_the_article_with_its_title_and_address() {
        let page = Url::parse("https://help.example.com/refunds?utm=x").unwrap();
        let html = r#"<html><head><title>Refunds &amp; returns</title>
<link rel="canonical" href="/refunds"></head><body><nav>Home</nav>
<main><h1>Refunds</h1><p>Within 7 days.</p></main><footer>©</footer></body></html>"#;
        let kept = kept_document(&Html::parse_document(html), &page);
        assert!(
            kept.contains("<title>Refunds &amp; returns</title>"),
            "{kept}"
        );
        assert!(
            kept.contains(r#"href="https://help.example.com/refunds""#),
            "{kept}"
        );
        assert!(!kept.contains("Home") && !kept.contains('©'), "{kept}");
        let original = crate::knowledge::html_page(html);
        let reread = crate::knowledge::html_page(&kept);
        assert_eq!(original.blocks, reread.blocks);
        assert_eq!(
            reread.canonical.as_deref(),
            Some("https://help.example.com/refunds")
        );
        // a canonical address on another site is not trusted: the page's own is kept
        let away =
            r#"<head><link rel="canonical" href="https://elsewhere.example/x"></head><p>x</p>"#;
        assert!(kept_document(&Html::parse_document(away), &page)
            .contains(r#"href="https://help.example.com/refunds?utm=x""#));
    }

    #[test]
    fn manifests_round_trip_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Manifest::default());
        let mut manifest = Manifest::default();
        manifest.pages.insert(
            "https://h.example/a".into(),
            Entry {
                file: "h.example/a.html".into(),
                source: "https://h.example/sitemap.xml".into(),
                sha256: sha256_hex(b"x"),
                etag: Some("\"1\"".into()),
                last_modified: None,
                links: vec![],
            },
        );
        manifest.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), manifest);
        std::fs::write(dir.path().join(MANIFEST_FILE), "{").unwrap();
        assert!(Manifest::load(dir.path())
            .unwrap_err()
            .contains("broken manifest"));
    }
}
