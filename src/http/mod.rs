//! The HTTP service (`askdesk serve`): the chat API, handoff and feedback, the public tenant
//! config, the admin API, health checks and metrics, and the static files of `web/`. Handlers
//! translate HTTP to library calls and back; the answer pipeline, store and outbox know nothing
//! of HTTP.

mod admin;
mod auth;
mod chat;
mod error;
mod handoff;
mod screenshots;

pub use auth::{AccessKeys, RequireAdmin, RequireApiKey, Secret};
pub use error::ApiError;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::answer::{Outcome, Pipeline};
use crate::escalate::Outbox;
use crate::store::Store;

/// Largest JSON body accepted by the chat, feedback and handoff endpoints.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler needs, behind the library's seams.
#[derive(Clone)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<Outbox>,
    pub metrics: Arc<Metrics>,
    /// Admin and server-to-server API keys.
    pub keys: Arc<AccessKeys>,
    /// Static files served at `/` (the widget and demo pages).
    pub web_dir: PathBuf,
    /// The knowledge folder the admin API re-indexes from.
    pub knowledge_dir: PathBuf,
    /// The data folder: indexes, the store, `eval-report.json`.
    pub data_dir: PathBuf,
    /// Held while a re-index runs, so only one runs at a time.
    pub reindexing: Arc<tokio::sync::Mutex<()>>,
}

/// Counters exported at `/metrics` in the Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    answers: AtomicU64,
    escalations: AtomicU64,
}

impl Metrics {
    pub fn answered(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Answer => &self.answers,
            Outcome::Escalate => &self.escalations,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        format!(
            "# HELP askdesk_answers_total Chat turns by outcome.\n# TYPE askdesk_answers_total counter\naskdesk_answers_total{{outcome=\"answer\"}} {}\naskdesk_answers_total{{outcome=\"escalate\"}} {}\n",
            self.answers.load(Ordering::Relaxed),
            self.escalations.load(Ordering::Relaxed)
        )
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/chat", post(chat::chat))
        .route("/api/v1/feedback", post(handoff::feedback))
        .route("/api/v1/tenants/{id}", get(handoff::tenant_config))
        .route("/api/admin/tickets", get(admin::tickets))
        .route("/api/admin/tickets/{id}/retry", post(admin::retry_ticket))
        .route("/api/admin/feedback", get(admin::feedback))
        .route("/api/admin/gaps", get(admin::gaps))
        .route("/api/admin/reindex", post(admin::reindex))
        .route("/api/admin/eval-report", get(admin::eval_report))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    // The handoff form may carry screenshots: it has its own, larger limit.
    let handoff = Router::new()
        .route("/api/v1/escalations", post(handoff::escalate))
        .layer(DefaultBodyLimit::max(screenshots::MAX_HANDOFF_BODY_BYTES));
    Router::new()
        .merge(api)
        .merge(handoff)
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback_service(ServeDir::new(&state.web_dir))
        // Outermost first: give every request an id, log it in the request's span, return it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span of one request: method, path (never the query string or body) and request id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let tenants = state.pipeline.retriever().tenant_ids();
    let store_ok = state.store.tickets(None, None, 1).await.is_ok();
    let status = if !tenants.is_empty() && store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({"tenants": tenants, "store": store_ok})),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

/// Serves on `listener` until `shutdown` completes, then finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
