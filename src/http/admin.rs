//! The admin API under `/api/admin/`: what the bot escalated, what customers disliked, where the
//! knowledge base has gaps, re-indexing without downtime, and the latest eval report. Every
//! handler takes [`RequireAdmin`], so without the admin key (or with none configured) it is 401.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::RequireAdmin;
use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::answer::Decision;
use crate::engine::{ReindexError, ReindexReport};
use crate::gaps::{group_by_similarity, SIMILARITY_THRESHOLD};
use crate::knowledge::{is_valid_tenant_id, without_brand};
use crate::store::{
    now_ms, FeedbackRecord, Rating, SyncRecord, Ticket, TicketStatus, UnansweredQuestion,
};
use crate::sync::{SyncError, SyncOptions, SyncReport};

/// Rows listed when the request gives no `limit`.
const DEFAULT_LIMIT: u32 = 100;
/// Most rows one request lists; a larger `limit` is refused, as the OpenAPI document says.
const MAX_LIMIT: u32 = 500;

/// The query parameters of the list endpoints, all optional, validated by hand so every
/// problem gets a clear `invalid_input` message.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    rating: Option<String>,
    tenant: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    fn from_request(query: Result<Query<ListQuery>, QueryRejection>) -> Result<Self, ApiError> {
        query
            .map(|Query(q)| q)
            .map_err(|e| ApiError::Invalid(e.body_text()))
    }

    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(ApiError::Invalid(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))),
            },
        }
    }

    fn since(&self) -> Result<Option<i64>, ApiError> {
        self.since
            .as_deref()
            .map(|raw| {
                raw.parse::<i64>().map_err(|_| {
                    ApiError::Invalid("since must be a Unix time in milliseconds".into())
                })
            })
            .transpose()
    }

    fn status(&self) -> Result<Option<TicketStatus>, ApiError> {
        self.status
            .as_deref()
            .map(|raw| {
                TicketStatus::parse(raw).ok_or_else(|| {
                    ApiError::Invalid("status must be pending, sent or failed".into())
                })
            })
            .transpose()
    }

    fn rating(&self) -> Result<Option<Rating>, ApiError> {
        self.rating
            .as_deref()
            .map(|raw| {
                Rating::parse(raw)
                    .ok_or_else(|| ApiError::Invalid("rating must be up or down".into()))
            })
            .transpose()
    }
}

/// A ticket as the console lists it (no transcript or passages: those are in the email).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketSummary<'a> {
    id: &'a str,
    tenant: &'a str,
    brand: &'a str,
    status: TicketStatus,
    /// Delivery attempts so far.
    attempts: u32,
    /// The last delivery error, when an attempt failed.
    last_error: Option<&'a str>,
    /// Why the bot handed over (`requested_human` for the handoff form).
    reason: &'a str,
    confidence: f32,
    /// The check that decided to hand over and the signals it read (null for the handoff
    /// form, where the customer decided).
    decision: Option<&'a Decision>,
    question: &'a str,
    contact_email: Option<&'a str>,
    /// Unix ms.
    created_at: i64,
    /// Unix ms.
    sent_at: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketList<'a> {
    tickets: Vec<TicketSummary<'a>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketRetried {
    id: String,
    status: TicketStatus,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedbackList {
    feedback: Vec<FeedbackRecord>,
}

/// Low-confidence questions that mean the same thing, biggest group first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GapList {
    groups: Vec<Gap>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Gap {
    tenant: String,
    count: usize,
    /// The question closest to the others in the group.
    representative: String,
    questions: Vec<GapQuestion>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GapQuestion {
    question: String,
    confidence: f32,
    /// Unix ms.
    created_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reindexed {
    tenants: Vec<ReindexReport>,
    /// Whether the other replicas were told (they re-index within `replicas.follow_interval_ms`);
    /// false when the database could not record it.
    replicas_notified: bool,
}

impl<'a> From<&'a Ticket> for TicketSummary<'a> {
    fn from(t: &'a Ticket) -> Self {
        Self {
            id: &t.id,
            tenant: &t.content.tenant,
            brand: &t.content.brand,
            status: t.status,
            attempts: t.attempts,
            last_error: t.last_error.as_deref(),
            reason: &t.content.reason,
            confidence: t.content.confidence,
            decision: t.content.decision.as_ref(),
            question: &t.content.question,
            contact_email: t.content.contact_email.as_deref(),
            created_at: t.created_at,
            sent_at: t.sent_at,
        }
    }
}

/// Escalation tickets, newest first.
#[utoipa::path(
    get,
    path = "/api/admin/tickets",
    tag = "admin",
    security(("admin_key" = [])),
    params(
        ("status" = Option<TicketStatus>, Query, description = "Only tickets in this state"),
        ("tenant" = Option<String>, Query, description = "Only this brand's"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, description = "The tickets", body = TicketList),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Invalid query parameter", body = ErrorBody),
    )
)]
pub async fn tickets(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = ListQuery::from_request(query)?;
    let tickets = state
        .desk
        .store
        .tickets(query.status()?, query.tenant.as_deref(), query.limit()?)
        .await?;
    let list = TicketList {
        tickets: tickets.iter().map(TicketSummary::from).collect(),
    };
    // serialised here, while the tickets it borrows from are alive
    Ok(Json(list).into_response())
}

/// Puts a failed ticket back in the outbox and wakes it.
#[utoipa::path(
    post,
    path = "/api/admin/tickets/{id}/retry",
    tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The ticket id")),
    responses(
        (status = 202, description = "Queued again", body = TicketRetried),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "Unknown ticket", body = ErrorBody),
        (status = 409, description = "The ticket did not fail", body = ErrorBody),
    )
)]
pub async fn retry_ticket(
    _: RequireAdmin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let ticket = state
        .desk
        .store
        .ticket(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("unknown ticket {id:?}")))?;
    if !state.desk.store.retry_ticket(&id, now_ms()).await? {
        return Err(ApiError::Conflict(format!(
            "ticket {id} is {}; only failed tickets can be retried",
            ticket.status.as_str()
        )));
    }
    state.desk.outbox.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(TicketRetried {
            id,
            status: TicketStatus::Pending,
        }),
    ))
}

/// Customers' ratings, newest first, with the rated answer and the question it answered.
#[utoipa::path(
    get,
    path = "/api/admin/feedback",
    operation_id = "list_feedback",
    tag = "admin",
    security(("admin_key" = [])),
    params(
        ("rating" = Option<Rating>, Query, description = "Only this rating"),
        ("tenant" = Option<String>, Query, description = "Only this brand's"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, description = "The ratings", body = FeedbackList),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Invalid query parameter", body = ErrorBody),
    )
)]
pub async fn feedback(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<FeedbackList>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let feedback = state
        .desk
        .store
        .feedback(
            query.rating()?,
            query.tenant.as_deref(),
            None,
            query.limit()?,
        )
        .await?;
    Ok(Json(FeedbackList { feedback }))
}

/// The knowledge gaps: the latest `limit` questions that escalated for low confidence, grouped
/// by meaning (see [`crate::gaps`]), biggest group first.
#[utoipa::path(
    get,
    path = "/api/admin/gaps",
    tag = "admin",
    security(("admin_key" = [])),
    params(
        ("tenant" = Option<String>, Query, description = "Only this brand's"),
        ("since" = Option<i64>, Query, description = "Only questions from this Unix time (ms) on"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, description = "The groups", body = GapList),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Invalid query parameter", body = ErrorBody),
    )
)]
pub async fn gaps(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<GapList>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let questions = state
        .desk
        .store
        .low_confidence_questions(query.tenant.as_deref(), query.since()?, query.limit()?)
        .await?;
    let pipeline = state.desk.pipeline.clone();
    let groups = tokio::task::spawn_blocking(move || group_questions(&pipeline, &questions))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(GapList { groups }))
}

/// Embeds the questions as retrieval does (brand name left out) and groups them. Blocking.
fn group_questions(
    pipeline: &crate::answer::Pipeline,
    questions: &[UnansweredQuestion],
) -> Result<Vec<Gap>, ApiError> {
    let vectors = questions
        .iter()
        .map(|q| {
            let text = match pipeline.tenant(&q.tenant) {
                Some(config) => without_brand(&q.question, &config.name),
                None => q.question.clone(),
            };
            pipeline.retriever().query_vector(&text)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let items: Vec<(&str, &[f32])> = questions
        .iter()
        .zip(&vectors)
        .map(|(q, v)| (q.tenant.as_str(), v.as_slice()))
        .collect();
    Ok(group_by_similarity(&items, SIMILARITY_THRESHOLD)
        .into_iter()
        .map(|group| {
            let members: Vec<GapQuestion> = group
                .members
                .iter()
                .map(|&m| {
                    let q = &questions[m];
                    GapQuestion {
                        question: q.question.clone(),
                        confidence: q.confidence,
                        created_at: q.created_at,
                    }
                })
                .collect();
            Gap {
                tenant: group.tenant.to_string(),
                count: members.len(),
                representative: questions[group.representative].question.clone(),
                questions: members,
            }
        })
        .collect())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReindexRequest {
    /// Only this tenant (absent: every tenant).
    tenant: Option<String>,
}

/// Re-reads the knowledge folder and swaps the new indexes in without dropping requests; one
/// re-index at a time. An empty body re-indexes every tenant. The other replicas on the same
/// database follow within `replicas.follow_interval_ms`, each from its own knowledge folder.
#[utoipa::path(
    post,
    path = "/api/admin/reindex",
    tag = "admin",
    security(("admin_key" = [])),
    request_body(content = Option<ReindexRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "What changed per tenant", body = Reindexed),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 409, description = "Another index run holds the data folder (the previous index stays in use)", body = ErrorBody),
        (status = 422, description = "Unusable knowledge (the previous index stays in use)", body = ErrorBody),
    )
)]
pub async fn reindex(
    _: RequireAdmin,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Reindexed>, ApiError> {
    let request: ReindexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReindexRequest::default()
    } else {
        // `null` is "no body", as the OpenAPI document allows
        serde_json::from_slice::<Option<ReindexRequest>>(&body)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::Invalid(format!(
                    "the body must be {{\"tenant\": \"ID\"}}, null or empty: {e}"
                )),
                _ => ApiError::BadRequest("the request body is not valid JSON".into()),
            })?
            .unwrap_or_default()
    };
    if let Some(id) = &request.tenant {
        if !is_valid_tenant_id(id) {
            return Err(ApiError::Invalid(
                "tenant ids use only a-z, 0-9, '-' and '_'".into(),
            ));
        }
    }
    let reindexed = state
        .reindexer
        .reindex(request.tenant)
        .await
        .map_err(|e| match e {
            ReindexError::UnknownTenant(id) => ApiError::NotFound(format!("unknown tenant {id:?}")),
            ReindexError::Knowledge(problem) => ApiError::Invalid(format!(
                "{problem} (nothing was re-indexed; the previous index is still in use)"
            )),
            ReindexError::Index(e @ crate::index::IndexError::Locked { .. }) => {
                ApiError::Conflict(format!("{e} (the previous index is still in use)"))
            }
            ReindexError::Index(e) => ApiError::Internal(e.to_string()),
            ReindexError::Interrupted(e) => ApiError::Internal(e),
        })?;
    Ok(Json(Reindexed {
        tenants: reindexed.reports,
        replicas_notified: reindexed.announced,
    }))
}

/// Recorded website syncs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncList {
    syncs: Vec<SyncRecord>,
}

/// The brands' website syncs (`askdesk sync`, the schedule, `POST /api/admin/syncs`), newest
/// first.
#[utoipa::path(
    get,
    path = "/api/admin/syncs",
    tag = "admin",
    security(("admin_key" = [])),
    params(
        ("tenant" = Option<String>, Query, description = "Only this brand's"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (default 100)"),
    ),
    responses(
        (status = 200, description = "The syncs", body = SyncList),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Invalid query parameter", body = ErrorBody),
    )
)]
pub async fn syncs(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SyncList>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let syncs = state
        .desk
        .store
        .syncs(query.tenant.as_deref(), query.limit()?)
        .await?;
    Ok(Json(SyncList { syncs }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The tenant whose `[[sources]]` to sync.
    tenant: String,
    /// Only report what would change.
    #[serde(default)]
    dry_run: bool,
}

/// Syncs one brand's website sources now and re-indexes it when pages changed (the other
/// replicas follow). Answers when the sync is done; a refused sync (too many pages would go)
/// is a 200 whose `refused` says why.
#[utoipa::path(
    post,
    path = "/api/admin/syncs",
    tag = "admin",
    security(("admin_key" = [])),
    request_body(content = SyncRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What the sync found and did", body = SyncReport),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 409, description = "Another sync of the tenant is running", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid request, or the tenant has no sources", body = ErrorBody),
    )
)]
pub async fn sync(
    _: RequireAdmin,
    State(state): State<AppState>,
    request: Result<Json<SyncRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SyncReport>, ApiError> {
    let Json(request) = request?;
    if !is_valid_tenant_id(&request.tenant) {
        return Err(ApiError::Invalid(
            "tenant ids use only a-z, 0-9, '-' and '_'".into(),
        ));
    }
    let options = SyncOptions {
        dry_run: request.dry_run,
        ..SyncOptions::default()
    };
    let report = state
        .syncer
        .sync(&request.tenant, options)
        .await
        .map_err(|e| match e {
            SyncError::UnknownTenant(_) => ApiError::NotFound(e.to_string()),
            SyncError::Busy(_) => {
                ApiError::Conflict("another sync of this tenant is running".into())
            }
            SyncError::NoSources(_) | SyncError::Knowledge(_) => ApiError::Invalid(e.to_string()),
            SyncError::Write(..) => ApiError::Internal(e.to_string()),
        })?;
    Ok(Json(report))
}

/// Whose data to delete.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// The customer's contact address (any case).
    email: String,
    /// Only this brand's (absent: every brand's).
    tenant: Option<String>,
}

/// Deletes a customer's conversations (those they gave the address in or handed over from,
/// with their messages and ratings) and tickets (with screenshots), and says how many.
#[utoipa::path(
    delete,
    path = "/api/admin/customers",
    tag = "admin",
    security(("admin_key" = [])),
    params(CustomerQuery),
    responses(
        (status = 200, description = "What was deleted", body = crate::store::Removed),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 422, description = "Missing or invalid email", body = ErrorBody),
    )
)]
pub async fn delete_customer(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<CustomerQuery>, QueryRejection>,
) -> Result<Json<crate::store::Removed>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let removed = state
        .desk
        .delete_customer(&query.email, query.tenant.as_deref())
        .await?;
    Ok(Json(removed))
}

/// Where `askdesk eval --json` is expected to have written its report.
const EVAL_REPORT: &str = "eval-report.json";

/// The latest `askdesk eval --json` report (`<data>/eval-report.json`) as written.
#[utoipa::path(
    get,
    path = "/api/admin/eval-report",
    tag = "admin",
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The report: `summary` and `cases`, as `askdesk eval --json` writes it", body = Object, content_type = "application/json"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No report yet", body = ErrorBody),
    )
)]
pub async fn eval_report(
    _: RequireAdmin,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    match tokio::fs::read(state.data_dir.join(EVAL_REPORT)).await {
        Ok(report) => Ok(([(header::CONTENT_TYPE, "application/json")], report)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::NotFound(format!(
            "no eval report yet: run `askdesk eval --json <data>/{EVAL_REPORT} SUITE...`"
        ))),
        Err(e) => Err(ApiError::Internal(format!("{EVAL_REPORT}: {e}"))),
    }
}
