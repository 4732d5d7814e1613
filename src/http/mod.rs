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
mod openapi;
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
use axum::Extension;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::desk::Desk;

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
    /// The turn and hand-over use cases, with the pipeline, store and outbox they run on.
    pub desk: Desk,
    pub metrics: Arc<Metrics>,
    /// Admin and server-to-server API keys.
    pub keys: Arc<AccessKeys>,
    /// Which browser origins may call the public API, per tenant.
    pub cors: CorsPolicy,
    /// Per client IP and per tenant.
    pub limits: Arc<RateLimits>,
    /// Static files served at `/` (the widget and demo pages).
    pub web_dir: PathBuf,
    /// The admin API's re-index, announced to the other replicas.
    pub reindexer: Arc<crate::desk::Reindexer>,
    /// The brands' website syncs (the admin API's and the schedule's).
    pub syncer: Arc<crate::desk::Syncer>,
    /// The data folder: where `eval-report.json` is read from.
    pub data_dir: PathBuf,
}

impl AppState {
    /// The tenant's configuration, or 404 `not_found`.
    fn tenant(&self, id: &str) -> Result<Arc<crate::knowledge::TenantConfig>, ApiError> {
        Ok(self.desk.tenant(id)?)
    }
}

/// The application's routes and their OpenAPI document, built from one list: each handler's
/// `#[utoipa::path]` names its method and path, so an endpoint cannot be served undocumented.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(chat::chat))
        .routes(routes!(handoff::feedback))
        .routes(routes!(handoff::tenant_config))
        .routes(routes!(openai_compat::chat_completions))
        .routes(routes!(openai_compat::models))
        .routes(routes!(admin::tickets))
        .routes(routes!(admin::retry_ticket))
        .routes(routes!(admin::feedback))
        .routes(routes!(admin::gaps))
        .routes(routes!(admin::reindex))
        .routes(routes!(admin::syncs, admin::sync))
        .routes(routes!(admin::delete_customer))
        .routes(routes!(admin::eval_report))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    // The handoff form may carry screenshots: it has its own, larger limit.
    let handoff = OpenApiRouter::new()
        .routes(routes!(handoff::escalate))
        .layer(DefaultBodyLimit::max(screenshots::MAX_HANDOFF_BODY_BYTES));
    let operations = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(ready))
        .routes(routes!(metrics::export))
        .routes(routes!(openapi_json));
    api.merge(handoff).merge(operations).split_for_parts()
}

/// The application: routes, static files and the layers every request goes through.
pub fn router(state: AppState) -> Router {
    let (routes, document) = routes();
    let document = OpenApiJson(
        document
            .to_json()
            .expect("the OpenAPI document serialises")
            .into(),
    );
    routes
        .layer(Extension(document))
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

/// The OpenAPI document, serialised once at start-up.
#[derive(Clone)]
struct OpenApiJson(axum::body::Bytes);

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"))
)]
async fn openapi_json(Extension(document): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document.0,
    )
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health))
)]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Readiness {
    /// The tenants whose index is loaded.
    tenants: Vec<String>,
    /// Whether the store answers.
    store: bool,
}

/// Readiness: at least one tenant's index is loaded and the store answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready (no index loaded, or the store fails)", body = Readiness),
    )
)]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let tenants = state.desk.pipeline.retriever().tenant_ids();
    let store_ok = state.desk.store.tickets(None, None, 1).await.is_ok();
    let status = if !tenants.is_empty() && store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(Readiness {
            tenants,
            store: store_ok,
        }),
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
