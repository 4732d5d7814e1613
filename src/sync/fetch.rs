//! Fetching a site's pages politely: robots.txt honoured, a few requests at a time with a delay
//! between them, conditional requests, timeouts, a size limit read as the body arrives, and
//! redirects only within the site. Every failure is a one-line message naming the address.

use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

/// The user agent askdesk fetches with, and the name robots.txt rules are matched against.
pub const USER_AGENT: &str = concat!("askdesk/", env!("CARGO_PKG_VERSION"), " (help-center sync)");

/// The robots.txt token askdesk's rules are read under.
const ROBOTS_AGENT: &str = "askdesk";

/// Redirects followed for one page.
const MAX_REDIRECTS: usize = 5;

/// The longest `Crawl-delay` honoured; a longer one is read as this.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);

/// Limits of one fetch.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// A page larger than this is refused (read as it arrives, so memory stays bounded).
    pub max_bytes: usize,
    /// The whole request, from connect to the last byte.
    pub timeout: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            max_bytes: 8 * 1024 * 1024,
            timeout: Duration::from_secs(20),
        }
    }
}

/// What the site said last time, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A page as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where the page was in the end (after redirects within the site).
    pub url: Url,
    /// The body, decoded from its declared charset.
    pub text: String,
    pub validators: Validators,
}

/// The outcome of one request.
#[derive(Debug)]
pub enum Outcome {
    Page(Fetched),
    /// 304: the copy from last time is current.
    NotModified,
    /// 404 or 410: the page is gone.
    Gone,
    /// Anything else; the message names what went wrong.
    Failed(String),
}

/// One answer as received: where it came from in the end (after redirects within the site),
/// its status, headers and body.
struct Received {
    url: Url,
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

/// A polite HTTP client for one site.
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
    /// Time between two request starts: the setting, or robots.txt's longer `Crawl-delay`.
    crawl_delay: Mutex<Duration>,
    /// When the next request may start.
    next_start: Mutex<Instant>,
    robots: Mutex<HashMap<String, Robots>>,
}

/// What a site's robots.txt allows.
enum Robots {
    AllowAll,
    Rules(Box<texting_robots::Robot>),
}

impl Fetcher {
    /// A client that waits `delay` between two requests.
    pub fn new(limits: FetchLimits, delay: Duration) -> Result<Self, String> {
        crate::llm::install_tls_provider();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .redirect(same_site_redirects())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            limits,
            crawl_delay: Mutex::new(delay),
            next_start: Mutex::new(Instant::now()),
            robots: Mutex::new(HashMap::new()),
        })
    }

    /// Reads the site's robots.txt (once per site). A missing one (4xx) allows everything; one
    /// that cannot be read (5xx, no connection) is an error, as RFC 9309 asks: the site may be
    /// down, and its rules are unknown.
    pub async fn load_robots(&self, site: &Url) -> Result<(), String> {
        let origin = origin(site);
        if self.robots.lock().await.contains_key(&origin) {
            return Ok(());
        }
        let address = format!("{origin}/robots.txt");
        let robots = match self.get_raw(&address, &Validators::default()).await {
            Ok(got) if got.status.is_success() => {
                match texting_robots::Robot::new(ROBOTS_AGENT, &got.body) {
                    Ok(robot) => Robots::Rules(Box::new(robot)),
                    // an unparsable file states no rule askdesk can follow
                    Err(_) => Robots::AllowAll,
                }
            }
            Ok(got) if got.status.is_client_error() => Robots::AllowAll,
            Ok(got) => return Err(format!("{address}: HTTP {}", got.status.as_u16())),
            Err(e) => return Err(format!("{address}: {e}")),
        };
        if let Robots::Rules(robot) = &robots {
            if let Some(seconds) = robot.delay.filter(|s| s.is_finite() && *s > 0.0) {
                // the site's wish wins over a shorter setting, never over a longer one
                let asked = Duration::from_secs_f32(seconds).min(MAX_CRAWL_DELAY);
                let mut delay = self.crawl_delay.lock().await;
                *delay = (*delay).max(asked);
            }
        }
        self.robots.lock().await.insert(origin, robots);
        Ok(())
    }

    /// Whether robots.txt allows fetching `url` (true until the site's file is loaded).
    pub async fn allowed(&self, url: &Url) -> bool {
        match self.robots.lock().await.get(&origin(url)) {
            Some(Robots::Rules(robot)) => robot.allowed(url.as_str()),
            _ => true,
        }
    }

    /// Waits until this request may start, keeping `delay` between two starts.
    async fn wait_turn(&self) {
        let spacing = *self.crawl_delay.lock().await;
        let start = {
            let mut next = self.next_start.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + spacing;
            start
        };
        tokio::time::sleep_until(start).await;
    }

    /// Fetches a page, conditionally when `validators` has something.
    pub async fn page(&self, url: &Url, validators: &Validators) -> Outcome {
        let got = match self.get_raw(url.as_str(), validators).await {
            Ok(got) => got,
            Err(e) => return Outcome::Failed(format!("{url}: {e}")),
        };
        let headers = &got.headers;
        match got.status.as_u16() {
            304 => return Outcome::NotModified,
            404 | 410 => return Outcome::Gone,
            200..=299 => {}
            300..=399 => {
                let to = headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?");
                return Outcome::Failed(format!("{url}: redirects off the site (to {to})"));
            }
            code => return Outcome::Failed(format!("{url}: HTTP {code}")),
        }
        let content_type = header(headers, reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let text = match decode(&content_type, &got.body) {
            Ok(text) => text,
            Err(e) => return Outcome::Failed(format!("{url}: {e}")),
        };
        Outcome::Page(Fetched {
            validators: Validators {
                etag: header(headers, reqwest::header::ETAG),
                last_modified: header(headers, reqwest::header::LAST_MODIFIED),
            },
            url: got.url,
            text,
        })
    }

    /// One GET, its body read up to the size limit.
    async fn get_raw(&self, url: &str, validators: &Validators) -> Result<Received, String> {
        self.wait_turn().await;
        let mut request = self.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(describe)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let final_url = response.url().clone();
        let limit = self.limits.max_bytes;
        let too_big = || {
            format!(
                "larger than the {} MiB a page may have",
                limit / (1024 * 1024)
            )
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > limit {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Received {
            url: final_url,
            status,
            headers,
            body,
        })
    }
}

/// Follows redirects within the site only (same scheme family and host), at most
/// [`MAX_REDIRECTS`], and refuses a loop.
fn same_site_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = &attempt.previous()[0];
        if attempt.previous().iter().any(|u| u == attempt.url()) {
            attempt.error("a redirect loop")
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if attempt.url().host_str() != first.host_str() {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// `scheme://host[:port]`.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn header(
    headers: &reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A transport error in one line, its cause included (reqwest's own text stops at "error
/// sending request").
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".into();
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Content types a page may have.
fn is_page_type(mime: &str) -> bool {
    mime.is_empty()
        || mime == "text/html"
        || mime == "application/xhtml+xml"
        || mime == "text/plain"
        || mime.ends_with("/xml")
        || mime.ends_with("+xml")
}

/// Decodes a body from the charset of its `Content-Type` (or of a `<meta charset>` near the
/// top), UTF-8 when none is named. Binary content is refused, whatever it is labelled.
pub fn decode(content_type: &str, body: &[u8]) -> Result<String, String> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !is_page_type(&mime) {
        return Err(format!("not a page (content type {mime})"));
    }
    let head = &body[..body.len().min(8192)];
    if head.contains(&0) {
        return Err("binary content, not a page".into());
    }
    let label = charset_label(content_type).or_else(|| meta_charset(head));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    let control = text
        .chars()
        .take(8192)
        .filter(|c| c.is_control() && !c.is_whitespace())
        .count();
    if control > 64 {
        return Err("binary content, not a page".into());
    }
    Ok(text.into_owned())
}

/// `charset=…` of a Content-Type value.
fn charset_label(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("charset"))
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The charset a page's `<meta charset=…>` or `<meta http-equiv … content="…; charset=…">`
/// names in its first bytes.
fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = text.find("charset=")? + "charset=".len();
    let value: String = text[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_decoded_from_their_charset() {
        let latin1 = b"<p>Caf\xe9 cr\xe8me</p>";
        assert_eq!(
            decode("text/html; charset=ISO-8859-1", latin1).unwrap(),
            "<p>Café crème</p>"
        );
        let meta = b"<html><head><meta charset=\"windows-1252\"></head><p>\x93quoted\x94</p>";
        assert!(decode("text/html", meta)
            .unwrap()
            .contains("\u{201c}quoted\u{201d}"));
        assert_eq!(decode("", "<p>ünï</p>".as_bytes()).unwrap(), "<p>ünï</p>");
        // invalid UTF-8 is replaced, not refused
        assert!(decode("text/html", b"<p>bad \xff byte</p>")
            .unwrap()
            .contains('\u{fffd}'));
    }

    #[test]
    fn binary_content_is_refused_whatever_its_label() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(decode("text/html", png).unwrap_err().contains("binary"));
        assert!(decode("image/png", b"x")
            .unwrap_err()
            .contains("not a page"));
        assert!(decode("application/pdf", b"%PDF")
            .unwrap_err()
            .contains("not a page"));
        let noise: Vec<u8> = (0..4096u32).map(|i| (i % 31 + 1) as u8).collect();
        assert!(decode("text/html", &noise).unwrap_err().contains("binary"));
    }

    #[test]
    fn charsets_are_read_from_headers_and_meta() {
        assert_eq!(
            charset_label("text/html; charset=\"utf-8\"").as_deref(),
            Some("utf-8")
        );
        assert_eq!(charset_label("text/html"), None);
        assert_eq!(
            meta_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">"
            )
            .as_deref(),
            Some("iso-8859-1")
        );
    }
}
