//! The customer-facing handoff and feedback endpoints, and the public tenant config the widget
//! reads (brand, greeting, colour, handoff fields).

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::{ApiError, ApiJson, ErrorBody};
use super::AppState;
use crate::desk::{HandoffRequest, MAX_FIELD_CHARS};
use crate::store::{Attachment, Rating};

/// A customer's request for a person.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EscalationRequest {
    pub tenant: String,
    /// Where the support team replies.
    pub contact_email: String,
    /// The chat to attach as the transcript (with its token).
    pub conversation_id: Option<String>,
    pub conversation_token: Option<String>,
    /// Up to 4,000 characters.
    pub note: Option<String>,
    /// The brand's `handoff_fields` by name (see `GET /api/v1/tenants/{id}`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// The handoff form with screenshots.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the multipart form for the OpenAPI document only
pub struct EscalationForm {
    /// The same JSON as the JSON body.
    #[schema(value_type = EscalationRequest, content_media_type = "application/json")]
    payload: String,
    /// Up to 3 PNG, JPEG or WebP images of at most 5 MiB each.
    #[schema(value_type = Vec<String>, format = Binary, content_media_type = "application/octet-stream")]
    screenshot: Vec<Vec<u8>>,
}

/// A stored escalation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EscalationAccepted {
    pub ticket_id: String,
    /// Always `pending`: the outbox sends it.
    pub status: crate::store::TicketStatus,
    /// The brand's words on when the team replies.
    pub reply_promise: String,
    pub support_email: String,
}

/// Hands the customer to the brand's support team: the ticket (transcript, handoff fields,
/// screenshots) is stored, then emailed by the outbox. JSON, or `multipart/form-data` with a
/// `payload` part and up to 3 `screenshot` files; 16 MiB in all.
#[utoipa::path(
    post,
    path = "/api/v1/escalations",
    tag = "chat",
    request_body(content(
        (EscalationRequest = "application/json"),
        (EscalationForm = "multipart/form-data"),
    )),
    responses(
        (status = 202, description = "Stored; the email follows", body = EscalationAccepted),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 403, description = "Wrong conversation token, or an origin the brand does not allow", body = ErrorBody),
        (status = 404, description = "Unknown tenant or conversation", body = ErrorBody),
        (status = 413, description = "A screenshot over 5 MiB, or the body over 16 MiB", body = ErrorBody),
        (status = 415, description = "Neither JSON nor a form, or a file that is not a PNG, JPEG or WebP image", body = ErrorBody),
        (status = 422, description = "Invalid email, unknown or missing handoff field, too many screenshots", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub async fn escalate(
    State(state): State<AppState>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let headers = request.headers().clone();
    let (req, screenshots) = read_escalation(&state, request).await?;
    let config = state.tenant(&req.tenant)?;
    state.cors.check(&headers, &config)?;
    state.limits.check_tenant(&req.tenant)?;
    let conversation = req.conversation_id.map(|id| (id, req.conversation_token));
    let handed_over = state
        .desk
        .hand_over(HandoffRequest {
            tenant: req.tenant,
            contact_email: req.contact_email,
            conversation,
            note: req.note,
            fields: req.fields,
            screenshots,
        })
        .await?;
    let config = handed_over.config;
    Ok((
        StatusCode::ACCEPTED,
        Json(EscalationAccepted {
            ticket_id: handed_over.ticket_id,
            status: crate::store::TicketStatus::Pending,
            reply_promise: config.reply_promise.clone(),
            support_email: config.support_email.clone(),
        }),
    ))
}

async fn read_escalation(
    state: &AppState,
    request: Request,
) -> Result<(EscalationRequest, Vec<Attachment>), ApiError> {
    let is_form = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_form {
        let form = Multipart::from_request(request, state)
            .await
            .map_err(|_| ApiError::BadRequest("the multipart form could not be read".into()))?;
        super::screenshots::read_form(form).await
    } else {
        let ApiJson(req) = ApiJson::from_request(request, state).await?;
        Ok((req, Vec::new()))
    }
}

/// A customer's rating of one answer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeedbackRequest {
    /// The `message_id` of a chat answer (or the `id` of a completion).
    pub message_id: String,
    pub rating: Rating,
    /// Up to 4,000 characters.
    pub comment: Option<String>,
}

/// Rates an answer (the support lead sees it in the console).
#[utoipa::path(
    post,
    path = "/api/v1/feedback",
    operation_id = "rate_answer",
    tag = "chat",
    request_body = FeedbackRequest,
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "Unknown message", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 422, description = "Invalid rating or comment", body = ErrorBody),
    )
)]
pub async fn feedback(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<StatusCode, ApiError> {
    if req
        .comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_FIELD_CHARS)
    {
        return Err(ApiError::Invalid(format!(
            "comment is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    state
        .desk
        .store
        .add_feedback(&req.message_id, req.rating, req.comment.as_deref())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => ApiError::NotFound("unknown message".into()),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the widget needs to present a brand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicTenant {
    pub id: String,
    pub name: String,
    pub greeting: Option<String>,
    pub brand_color: String,
    pub support_email: String,
    pub reply_promise: String,
    pub support_hours: Option<String>,
    /// What the handoff form asks for.
    pub handoff_fields: Vec<crate::knowledge::HandoffField>,
}

/// A brand's public settings: name, greeting, colour, support address and handoff fields.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "chat",
    params(("id" = String, Path, description = "The tenant id")),
    responses(
        (status = 200, description = "The brand's public settings", body = PublicTenant),
        (status = 403, description = "An origin the brand does not allow", body = ErrorBody),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
    )
)]
pub async fn tenant_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let c = state.tenant(&id)?;
    state.cors.check(&headers, &c)?;
    Ok(Json(PublicTenant {
        id,
        name: c.name.clone(),
        greeting: c.greeting.clone(),
        brand_color: c.brand_color.clone(),
        support_email: c.support_email.clone(),
        reply_promise: c.reply_promise.clone(),
        support_hours: c.support_hours.clone(),
        handoff_fields: c.handoff_fields.clone(),
    }))
}
