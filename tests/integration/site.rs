//! A help-center website on loopback for the sync tests: a real HTTP server (axum) serving the
//! dev help center's pages (`../shared/data/devdesk/knowledge/`) rendered as web pages with a
//! site's furniture (header, cookie banner, navigation, footer), a sitemap, a robots.txt with a
//! disallowed path, and pages that misbehave. Pages can be changed and removed between syncs,
//! and the server can be stopped (the site is down).

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "../../examples/help_site/render.rs"]
mod render;
pub use render::page_html;

/// What the site answers at one path.
#[derive(Clone, Debug)]
pub enum Route {
    /// A page, with an ETag (conditional requests get 304 when it has not changed).
    Page(String),
    /// 301 to this path or address.
    Redirect(String),
    /// An empty answer with this status.
    Status(u16),
    /// A page sent after a delay.
    Slow(Duration, String),
    /// These bytes with this content type.
    Raw(&'static str, Vec<u8>),
    /// A body of this many bytes, streamed without a length.
    Huge(usize),
}

#[derive(Default)]
struct SiteState {
    routes: BTreeMap<String, Route>,
    requests: HashMap<String, usize>,
    not_modified: usize,
}

pub struct TestSite {
    pub base: String,
    state: Arc<Mutex<SiteState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: tokio::runtime::Runtime,
}

impl TestSite {
    /// Serves `routes` (path → answer) on a loopback port.
    pub fn start(routes: BTreeMap<String, Route>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(SiteState {
            routes,
            ..SiteState::default()
        }));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let state = Arc::clone(&shared);
            async move { answer(&state, uri.path(), &headers).await }
        });
        runtime.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            base,
            state,
            stop: Some(stop),
            runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, route: Route) {
        self.state.lock().unwrap().routes.insert(path.into(), route);
    }

    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().routes.remove(path);
    }

    pub fn route(&self, path: &str) -> Option<Route> {
        self.state.lock().unwrap().routes.get(path).cloned()
    }

    /// Requests made for `path` so far.
    pub fn requests(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// 304 answers so far.
    pub fn not_modified(&self) -> usize {
        self.state.lock().unwrap().not_modified
    }

    /// Takes the site down: the port refuses connections from now on.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // wait until the listener is closed
        let address = self.base.trim_start_matches("http://").to_string();
        for _ in 0..100 {
            if std::net::TcpStream::connect(&address).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = &self.runtime;
    }
}

fn etag(html: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    html.hash(&mut hasher);
    format!("\"{:x}\"", hasher.finish())
}

async fn answer(state: &Mutex<SiteState>, path: &str, headers: &HeaderMap) -> Response {
    let route = {
        let mut state = state.lock().unwrap();
        *state.requests.entry(path.to_string()).or_default() += 1;
        state.routes.get(path).cloned()
    };
    let html =
        |body: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    match route {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Route::Page(body)) => {
            let tag = etag(&body);
            let asked = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            if asked == Some(tag.as_str()) {
                state.lock().unwrap().not_modified += 1;
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
            }
            let mut response = html(body);
            response
                .headers_mut()
                .insert(header::ETAG, tag.parse().unwrap());
            response
        }
        Some(Route::Redirect(to)) => {
            (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
        }
        Some(Route::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Route::Slow(delay, body)) => {
            tokio::time::sleep(delay).await;
            html(body)
        }
        Some(Route::Raw(content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Some(Route::Huge(size)) => {
            let chunk = bytes_of("<p>filler text </p>", 64 * 1024);
            let chunks = size.div_ceil(chunk.len());
            let stream = futures_util::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            (
                [(header::CONTENT_TYPE, "text/html")],
                Body::from_stream(stream),
            )
                .into_response()
        }
    }
}

fn bytes_of(unit: &str, size: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(unit.repeat(size / unit.len()))
}

/// The dev help center as a website under `/docs/hub/`: one page per Markdown file of `dir`
/// (the first `pages` of them), each linking to every other, plus `robots.txt` (which
/// disallows `/internal/`). Returns the routes and the page paths.
pub fn help_center(base: &str, dir: &Path, pages: usize) -> (BTreeMap<String, Route>, Vec<String>) {
    let mut files = render::markdown_pages(dir);
    files.truncate(pages);
    let paths: Vec<String> = files.iter().map(|(_, path)| path.clone()).collect();
    let mut nav = paths.clone();
    nav.push("/internal/admin-notes".into());
    let mut routes = BTreeMap::new();
    for (file, path) in &files {
        let (title, article) = render::render_markdown(&std::fs::read_to_string(file).unwrap());
        let title = title.unwrap_or_else(|| path.rsplit('/').next().unwrap().to_string());
        let html = page_html(&title, &format!("{base}{path}"), &article, &nav);
        routes.insert(path.clone(), Route::Page(html));
    }
    routes.insert(
        "/internal/admin-notes".into(),
        Route::Page(page_html(
            "Admin notes",
            &format!("{base}/internal/admin-notes"),
            "<p>Internal notes that robots.txt keeps out.</p>",
            &[],
        )),
    );
    routes.insert(
        "/robots.txt".into(),
        Route::Raw("text/plain", render::ROBOTS_TXT.as_bytes().to_vec()),
    );
    (routes, paths)
}

/// A sitemap listing `paths` of `base`.
pub fn sitemap(base: &str, paths: &[String]) -> Route {
    Route::Raw(
        "application/xml",
        render::sitemap_xml(base, paths).into_bytes(),
    )
}
