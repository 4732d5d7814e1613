//! Where a brand's help center lives: the `[[sources]]` of `tenant.toml`.
//!
//! The tenant folder itself is always read; a source adds the pages of a website (or the
//! documents of a folder elsewhere) to it, kept in `synced/` inside the tenant folder by
//! `askdesk sync` and the service's schedule.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use url::Url;

/// How a source lists its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// `url` is a sitemap.xml (or a sitemap index): its pages on the same site.
    Sitemap,
    /// `url` is a start page: the pages it links to on the same site, and theirs, up to
    /// `max_pages`.
    Crawl,
    /// `path` is a folder of documents elsewhere (a docs repository's checkout, a mounted
    /// export): its Markdown, HTML and text files.
    Folder,
}

/// One website source of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub kind: SourceKind,
    /// The sitemap or the start page (`http://` or `https://`); sitemap and crawl sources.
    #[serde(default)]
    pub url: String,
    /// The folder, absolute or relative to the tenant folder; folder sources.
    #[serde(default)]
    pub path: Option<std::path::PathBuf>,
    /// Path patterns a page must match one of (`*` is any text; a pattern without `*` is a
    /// prefix). Empty: every page of the site.
    #[serde(default)]
    pub include: Vec<String>,
    /// Path patterns of pages left out, as `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// At most this many pages are kept.
    #[serde(default = "default_max_pages")]
    pub max_pages: usize,
    /// How often the service syncs it (`"30m"`, `"6h"`, `"1d"`); unset: only on demand.
    #[serde(default)]
    pub every: Option<String>,
    /// A sync that would remove more than this share of the source's pages stops and reports
    /// instead of applying: a site that lost its sitemap should not empty the knowledge base.
    #[serde(default = "default_max_removed_share")]
    pub max_removed_share: f32,
    /// Requests in flight at once to the site.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Milliseconds between two requests to the site (robots.txt's `Crawl-delay` can make it
    /// longer).
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
}

fn default_max_pages() -> usize {
    500
}

fn default_max_removed_share() -> f32 {
    0.3
}

fn default_concurrency() -> usize {
    2
}

fn default_delay_ms() -> u64 {
    100
}

/// The most pages one source may keep.
const MAX_PAGES: usize = 10_000;

/// The shortest schedule: a help center does not change by the minute, and a site should not
/// be fetched that often.
const SHORTEST_EVERY: Duration = Duration::from_secs(60);

impl Source {
    /// The source's address, checked: `http(s)` with a host.
    pub fn address(&self) -> Result<Url, String> {
        let url = Url::parse(&self.url).map_err(|e| format!("source url {:?}: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "source url {:?} is not an http(s) address",
                self.url
            ));
        }
        Ok(url)
    }

    /// The schedule, when the source has one.
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        self.every.as_deref().map(parse_every).transpose()
    }

    /// What the synced pages record as their source: the address, or `folder:<path>`.
    pub fn key(&self) -> String {
        match (&self.kind, &self.path) {
            (SourceKind::Folder, Some(path)) => format!("folder:{}", path.display()),
            _ => self.url.clone(),
        }
    }

    /// Checks every setting; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        match (self.kind, &self.path) {
            (SourceKind::Folder, None) => return Err("a folder source needs `path`".into()),
            (SourceKind::Folder, Some(_)) if !self.url.is_empty() => {
                return Err("a folder source takes `path`, not `url`".into())
            }
            (SourceKind::Folder, Some(_)) => {}
            (_, Some(_)) => return Err("`path` is for folder sources; this one takes `url`".into()),
            (_, None) => {
                self.address()?;
            }
        }
        self.interval()?;
        if !(1..=MAX_PAGES).contains(&self.max_pages) {
            return Err(format!("`max_pages` must be 1 to {MAX_PAGES}"));
        }
        if !(0.0..=1.0).contains(&self.max_removed_share) {
            return Err("`max_removed_share` must be 0 to 1".into());
        }
        if !(1..=16).contains(&self.concurrency) {
            return Err("`concurrency` must be 1 to 16".into());
        }
        if let Some(bad) = self
            .include
            .iter()
            .chain(&self.exclude)
            .find(|p| !p.starts_with('/') && !p.starts_with('*'))
        {
            return Err(format!(
                "path pattern {bad:?} must start with '/' or '*' (it is matched against the page's path)"
            ));
        }
        Ok(())
    }

    /// Whether a page's path passes `include` and `exclude`.
    pub fn wants(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| matches_pattern(p, path)))
            && !self.exclude.iter().any(|p| matches_pattern(p, path))
    }
}

/// `"90s"`, `"30m"`, `"6h"`, `"1d"`: a whole number and a unit, at least a minute.
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("`every` {text:?} is not a duration like \"30m\", \"6h\" or \"1d\"");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let every = Duration::from_secs(number.checked_mul(seconds).ok_or_else(bad)?);
    if every < SHORTEST_EVERY {
        return Err(format!("`every` {text:?} is shorter than a minute"));
    }
    Ok(every)
}

/// `*` matches any text (`/` included); a pattern without `*` matches as a prefix.
fn matches_pattern(pattern: &str, path: &str) -> bool {
    if !pattern.contains('*') {
        return path.starts_with(pattern);
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return part.is_empty() || rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> Source {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_and_validation() {
        let s = source("kind = \"sitemap\"\nurl = \"https://help.example.com/sitemap.xml\"");
        assert_eq!(s.max_pages, 500);
        assert_eq!(s.max_removed_share, 0.3);
        assert_eq!(s.interval().unwrap(), None);
        s.validate().unwrap();
        for (toml_text, complaint) in [
            (
                "kind = \"crawl\"\nurl = \"ftp://example.com/\"",
                "not an http(s)",
            ),
            ("kind = \"crawl\"\nurl = \"not a url\"", "source url"),
            (
                "kind = \"crawl\"\nurl = \"https://a.example\"\nmax_pages = 0",
                "max_pages",
            ),
            (
                "kind = \"crawl\"\nurl = \"https://a.example\"\nevery = \"10s\"",
                "shorter",
            ),
            (
                "kind = \"crawl\"\nurl = \"https://a.example\"\nevery = \"often\"",
                "duration",
            ),
            (
                "kind = \"crawl\"\nurl = \"https://a.example\"\ninclude = [\"docs\"]",
                "start with",
            ),
        ] {
            let e = source(toml_text).validate().unwrap_err();
            assert!(e.contains(complaint), "{toml_text}: {e}");
        }
        assert!(toml::from_str::<Source>("kind = \"ftp\"\nurl = \"x\"").is_err());
        source("kind = \"folder\"\npath = \"../docs\"")
            .validate()
            .unwrap();
        for (toml_text, complaint) in [
            ("kind = \"folder\"", "needs `path`"),
            (
                "kind = \"folder\"\npath = \"d\"\nurl = \"https://a.example\"",
                "not `url`",
            ),
            ("kind = \"sitemap\"\npath = \"d\"", "for folder sources"),
        ] {
            let e = source(toml_text).validate().unwrap_err();
            assert!(e.contains(complaint), "{toml_text}: {e}");
        }
    }

    #[test]
    fn schedules() {
        assert_eq!(parse_every("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_every("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_every("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_every("90s").unwrap(), Duration::from_secs(90));
        for bad in ["", "h", "6", "6 weeks", "-1h", "99999999999999999999d"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_patterns() {
        let mut s = source("kind = \"crawl\"\nurl = \"https://a.example/\"");
        assert!(s.wants("/anything"));
        s.include = vec!["/docs/".into(), "*/faq".into()];
        s.exclude = vec!["/docs/internal*".into(), "*.pdf".into()];
        assert!(s.wants("/docs/billing"));
        assert!(s.wants("/help/faq"));
        assert!(!s.wants("/blog/post"));
        assert!(!s.wants("/docs/internal/keys"));
        assert!(!s.wants("/docs/terms.pdf"));
        assert!(matches_pattern("/a*b*c", "/a-x-b-y-c"));
        assert!(!matches_pattern("/a*b*c", "/a-x-c-y-b"));
    }
}
