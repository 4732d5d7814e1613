//! The HTTP service (`askdesk serve`): the chat API, handoff and feedback, the public tenant
//! config, the OpenAI-compatible API, the admin API, health checks and metrics, and the static
//! files of `web/`. Handlers translate HTTP to library calls and back; the answer pipeline, store
//! and outbox know nothing of HTTP.

mod admin;
mod auth;
mod chat;
mod cors;
mod error;
mod handoff;
mod metrics;
mod openai_compat;
mod rate_limit;
mod screenshots;

pub use crate::config::Secret;
pub use auth::{AccessKeys, RequireAdmin, RequireApiKey};
pub use cors::CorsPolicy;
pub use error::ApiError;
pub use metrics::Metrics;
pub use rate_limit::RateLimits;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::answer::Pipeline;
use crate::escalate::Outbox;
use crate::store::Store;

/// The public, browser-facing API: CORS and the per-IP limit apply here only.
const PUBLIC_API_PREFIX: &str = "/api/v1/";

fn is_public_api(path: &str) -> bool {
    path.starts_with(PUBLIC_API_PREFIX)
}

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
    /// Which browser origins may call the public API, per tenant.
    pub cors: CorsPolicy,
    /// Per client IP and per tenant.
    pub limits: Arc<RateLimits>,
    /// Static files served at `/` (the widget and demo pages).
    pub web_dir: PathBuf,
    /// The knowledge folder the admin API re-indexes from.
    pub knowledge_dir: PathBuf,
    /// The data folder: indexes, the store, `eval-report.json`.
    pub data_dir: PathBuf,
    /// Held while a re-index runs, so only one runs at a time.
    pub reindexing: Arc<tokio::sync::Mutex<()>>,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/chat", post(chat::chat))
        .route("/api/v1/feedback", post(handoff::feedback))
        .route("/api/v1/tenants/{id}", get(handoff::tenant_config))
        .route(
            "/v1/chat/completions",
            post(openai_compat::chat_completions),
        )
        .route("/v1/models", get(openai_compat::models))
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
        .route("/metrics", get(metrics::export))
        .fallback_service(ServeDir::new(&state.web_dir))
        // Innermost first: the per-IP limit, CORS around it (so a 429 can be read by the page
        // and preflights are never limited), the metrics around both.
        .layer(from_fn_with_state(state.clone(), rate_limit::per_client_ip))
        .layer(from_fn_with_state(state.clone(), cors::layer))
        .layer(from_fn_with_state(state.clone(), metrics::track))
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

/// Serves on `listener` until `shutdown` completes, then finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is the client IP of the per-IP rate limit.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
