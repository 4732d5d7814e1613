//! The admin API under `/api/admin/`: what the bot escalated, what customers disliked, where the
//! knowledge base has gaps, re-indexing without downtime, and the latest eval report. Every
//! handler takes [`RequireAdmin`], so without the admin key (or with none configured) it is 401.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::RequireAdmin;
use super::error::ApiError;
use super::AppState;
use crate::engine::ReindexError;
use crate::gaps::{group_by_similarity, SIMILARITY_THRESHOLD};
use crate::knowledge::{is_valid_tenant_id, without_brand};
use crate::store::{now_ms, Rating, StoreError, Ticket, TicketStatus, UnansweredQuestion};

/// Rows listed when the request gives no `limit`.
const DEFAULT_LIMIT: u32 = 100;
/// Most rows one request lists; a larger `limit` is capped to it.
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
                Ok(n) if n > 0 => Ok(n.min(MAX_LIMIT)),
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
        let statuses = [
            TicketStatus::Pending,
            TicketStatus::Sent,
            TicketStatus::Failed,
        ];
        self.status
            .as_deref()
            .map(|raw| {
                statuses
                    .into_iter()
                    .find(|s| s.as_str() == raw)
                    .ok_or_else(|| {
                        ApiError::Invalid("status must be pending, sent or failed".into())
                    })
            })
            .transpose()
    }

    fn rating(&self) -> Result<Option<Rating>, ApiError> {
        self.rating
            .as_deref()
            .map(|raw| {
                [Rating::Up, Rating::Down]
                    .into_iter()
                    .find(|r| r.as_str() == raw)
                    .ok_or_else(|| ApiError::Invalid("rating must be up or down".into()))
            })
            .transpose()
    }
}

fn store_error(e: StoreError) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// A ticket as the console lists it (no transcript or passages: those are in the email).
#[derive(Debug, Serialize)]
struct TicketSummary<'a> {
    id: &'a str,
    tenant: &'a str,
    brand: &'a str,
    status: TicketStatus,
    attempts: u32,
    last_error: Option<&'a str>,
    reason: &'a str,
    confidence: f32,
    question: &'a str,
    contact_email: Option<&'a str>,
    created_at: i64,
    sent_at: Option<i64>,
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
            question: &t.content.question,
            contact_email: t.content.contact_email.as_deref(),
            created_at: t.created_at,
            sent_at: t.sent_at,
        }
    }
}

/// `GET /api/admin/tickets?status=&tenant=&limit=`: newest first.
pub async fn tickets(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let tickets = state
        .store
        .tickets(query.status()?, query.tenant.as_deref(), query.limit()?)
        .await
        .map_err(store_error)?;
    let tickets: Vec<TicketSummary> = tickets.iter().map(TicketSummary::from).collect();
    Ok(Json(json!({ "tickets": tickets })))
}

/// `POST /api/admin/tickets/{id}/retry`: puts a failed ticket back in the outbox and wakes it.
pub async fn retry_ticket(
    _: RequireAdmin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let ticket = state
        .store
        .ticket(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::NotFound(format!("unknown ticket {id:?}")))?;
    if !state
        .store
        .retry_ticket(&id, now_ms())
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::Conflict(format!(
            "ticket {id} is {}; only failed tickets can be retried",
            ticket.status.as_str()
        )));
    }
    state.outbox.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "status": TicketStatus::Pending})),
    ))
}

/// `GET /api/admin/feedback?rating=&tenant=&limit=`: newest first, with the rated answer and
/// the question it answered.
pub async fn feedback(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let feedback = state
        .store
        .feedback(
            query.rating()?,
            query.tenant.as_deref(),
            None,
            query.limit()?,
        )
        .await
        .map_err(store_error)?;
    Ok(Json(json!({ "feedback": feedback })))
}

/// `GET /api/admin/gaps?tenant=&since=&limit=`: the latest `limit` low-confidence questions,
/// grouped by meaning (see [`crate::gaps`]), biggest group first.
pub async fn gaps(
    _: RequireAdmin,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = ListQuery::from_request(query)?;
    let questions = state
        .store
        .low_confidence_questions(query.tenant.as_deref(), query.since()?, query.limit()?)
        .await
        .map_err(store_error)?;
    let pipeline = state.pipeline.clone();
    let groups = tokio::task::spawn_blocking(move || group_questions(&pipeline, &questions))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(json!({ "groups": groups })))
}

/// Embeds the questions as retrieval does (brand name left out) and groups them. Blocking.
fn group_questions(
    pipeline: &crate::answer::Pipeline,
    questions: &[UnansweredQuestion],
) -> Result<Vec<Value>, ApiError> {
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
            let members: Vec<Value> = group
                .members
                .iter()
                .map(|&m| {
                    let q = &questions[m];
                    json!({"question": q.question, "confidence": q.confidence, "created_at": q.created_at})
                })
                .collect();
            json!({
                "tenant": group.tenant,
                "count": members.len(),
                "representative": questions[group.representative].question,
                "questions": members,
            })
        })
        .collect())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReindexRequest {
    tenant: Option<String>,
}

/// `POST /api/admin/reindex` with an optional `{"tenant": "ID"}` (no body: every tenant).
/// Builds the new indexes on a blocking thread and swaps them in; one re-index at a time.
pub async fn reindex(
    _: RequireAdmin,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: ReindexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReindexRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ApiError::Invalid(format!(
                "the body must be {{\"tenant\": \"ID\"}} or empty: {e}"
            )),
            _ => ApiError::BadRequest("the request body is not valid JSON".into()),
        })?
    };
    if let Some(id) = &request.tenant {
        if !is_valid_tenant_id(id) {
            return Err(ApiError::Invalid(
                "tenant ids use only a-z, 0-9, '-' and '_'".into(),
            ));
        }
    }
    // The guard moves into the blocking task: a client that hangs up does not let a second
    // re-index start while the first is still writing.
    let guard = state.reindexing.clone().lock_owned().await;
    let reports = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        crate::engine::reindex(
            &state.pipeline,
            &state.knowledge_dir,
            &state.data_dir,
            request.tenant.as_deref(),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| match e {
        ReindexError::UnknownTenant(id) => ApiError::NotFound(format!("unknown tenant {id:?}")),
        ReindexError::Knowledge(problem) => ApiError::Invalid(format!(
            "{problem} (nothing was re-indexed; the previous index is still in use)"
        )),
        ReindexError::Index(e) => ApiError::Internal(e.to_string()),
    })?;
    Ok(Json(json!({ "tenants": reports })))
}

/// Where `askdesk eval --json` is expected to have written its report.
const EVAL_REPORT: &str = "eval-report.json";

/// `GET /api/admin/eval-report`: `<data>/eval-report.json` as written, or 404.
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
