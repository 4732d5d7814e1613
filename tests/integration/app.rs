//! The test app: the real service on a loopback port 0 with a real SQLite file, the real model,
//! a real SMTP server receiving the handoff, and known admin and API keys. Shared by every test
//! module that talks HTTP to the service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use askdesk::answer::Pipeline;
use askdesk::config::{RateLimitConfig, ServiceConfig};
use askdesk::http::Secret;
use askdesk::startup::Application;
use askdesk::store::Store;
use serde_json::Value;

use crate::answers::pipeline;
use crate::smtp::{free_port, SmtpServer};

/// Keys the test app accepts.
pub const ADMIN_KEY: &str = "test-admin-key";
pub const API_KEY: &str = "test-api-key";

pub struct App {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub smtp: SmtpServer,
    dir: tempfile::TempDir,
    pub runtime: tokio::runtime::Runtime,
}

pub fn spawn_app() -> App {
    spawn_app_with(pipeline())
}

/// The test app answering with `pipeline` (e.g. one in LLM mode).
pub fn spawn_app_with(pipeline: Arc<Pipeline>) -> App {
    spawn_app_limited(pipeline, RateLimitConfig::off())
}

/// The test app with these rate limits (every other variant has none, so that tests sending
/// many requests are not refused).
pub fn spawn_app_limited(pipeline: Arc<Pipeline>, rate_limit: RateLimitConfig) -> App {
    spawn(
        pipeline,
        crate::helpers::repo_root().join("knowledge"),
        rate_limit,
        std::future::pending(),
    )
    .0
}

/// The test app, shut down gracefully when `stop` fires (as Ctrl-C does for `askdesk serve`);
/// the handle ends when the server has finished.
pub fn spawn_app_stoppable(
    pipeline: Arc<Pipeline>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (App, tokio::task::JoinHandle<std::io::Result<()>>) {
    spawn(
        pipeline,
        crate::helpers::repo_root().join("knowledge"),
        RateLimitConfig::off(),
        async {
            let _ = stop.await;
        },
    )
}

/// The test app serving (and re-indexing from) the knowledge folder `knowledge`, with a
/// pipeline (and so indexes) of its own.
pub fn spawn_app_on(knowledge: &Path) -> App {
    spawn_with(
        Arc::new(own_pipeline(knowledge)),
        knowledge.to_path_buf(),
        RateLimitConfig::off(),
        None,
        std::future::pending(),
    )
    .0
}

/// One replica of several on the database `database_url`: its own pipeline, indexes, data
/// folder and SMTP server, serving (and re-indexing from) `knowledge`.
pub fn spawn_replica(knowledge: &Path, database_url: &str) -> App {
    spawn_with(
        Arc::new(own_pipeline(knowledge)),
        knowledge.to_path_buf(),
        RateLimitConfig::off(),
        Some(database_url),
        std::future::pending(),
    )
    .0
}

/// A pipeline of its own over `knowledge` (indexes not shared with other tests' apps).
pub fn own_pipeline(knowledge: &Path) -> Pipeline {
    let options = askdesk::engine::EngineOptions::new(knowledge, None);
    let engine = askdesk::engine::open(&options, crate::helpers::embedder(), None).unwrap();
    engine.pipeline()
}

/// The test service's configuration: port 0 on loopback, a data folder of its own (its SQLite
/// store, indexes built by re-indexing), the test SMTP server, known keys, and an outbox that
/// looks for due tickets every 20 ms and for other replicas' re-indexes every 50 ms.
fn test_config(
    data: &Path,
    knowledge: PathBuf,
    smtp: &SmtpServer,
    rate_limit: RateLimitConfig,
) -> ServiceConfig {
    let mut config = ServiceConfig {
        bind: "127.0.0.1:0".into(),
        knowledge,
        data: data.to_path_buf(),
        web: crate::helpers::repo_root().join("web"),
        rate_limit,
        ..ServiceConfig::default()
    };
    config.keys.admin = Some(Secret::new(ADMIN_KEY));
    config.keys.api = vec![Secret::new(API_KEY)];
    config.smtp.url = Some(Secret::new(smtp.url()));
    config.smtp.from = "askdesk <askdesk@askdesk.test>".into();
    config.outbox.poll_interval_ms = 20;
    config.replicas.follow_interval_ms = 50;
    config.retention.interval_ms = 50;
    config
}

fn spawn(
    pipeline: Arc<Pipeline>,
    knowledge_dir: PathBuf,
    rate_limit: RateLimitConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (App, tokio::task::JoinHandle<std::io::Result<()>>) {
    spawn_with(pipeline, knowledge_dir, rate_limit, None, shutdown)
}

/// The test app; its store is a SQLite file in its data folder unless `database_url` names one.
fn spawn_with(
    pipeline: Arc<Pipeline>,
    knowledge_dir: PathBuf,
    rate_limit: RateLimitConfig,
    database_url: Option<&str>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (App, tokio::task::JoinHandle<std::io::Result<()>>) {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(free_port(), dir.path());
    let mut config = test_config(dir.path(), knowledge_dir, &smtp, rate_limit);
    config.database_url = database_url.map(Secret::new);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base, store, served) = runtime.block_on(async {
        let app = Application::build_with_pipeline(&config, pipeline)
            .await
            .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let store = Arc::clone(&app.state().desk.store);
        let served = tokio::spawn(app.run_until_stopped(shutdown));
        (base, store, served)
    });
    let app = App {
        base,
        store,
        smtp,
        dir,
        runtime,
    };
    (app, served)
}

/// A response with its headers, for tests that look at more than the body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON body, or the text as a JSON string, or null when empty.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl App {
    /// The app's data folder (store, indexes built by re-indexing, `eval-report.json`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Any request: `method` and `path`, extra `headers`, and a JSON `body` when given.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        self.runtime.block_on(async {
            let mut request = crate::helpers::http_client()
                .request(method.parse().unwrap(), format!("{}{path}", self.base));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let r = request.send().await.unwrap();
            let (status, headers) = (r.status().as_u16(), r.headers().clone());
            let text = r.text().await.unwrap();
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            Reply {
                status,
                headers,
                body,
            }
        })
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.runtime.block_on(async {
            let r = crate::helpers::http_client()
                .post(format!("{}{path}", self.base))
                .json(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        self.runtime.block_on(async {
            let r = crate::helpers::http_client()
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
        })
    }

    pub fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> (u16, Value) {
        self.runtime.block_on(async {
            let r = crate::helpers::http_client()
                .post(format!("{}{path}", self.base))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
        })
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        self.runtime.block_on(async {
            let r = crate::helpers::http_client()
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    pub fn stream(&self, body: &Value) -> String {
        self.runtime.block_on(async {
            let r = crate::helpers::http_client()
                .post(format!("{}/api/v1/chat", self.base))
                .header("accept", "text/event-stream")
                .json(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"));
            r.text().await.unwrap()
        })
    }
}

impl SmtpServer {
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }
}
