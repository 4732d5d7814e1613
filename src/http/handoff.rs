//! The customer-facing handoff and feedback endpoints, and the public tenant config the widget
//! reads (brand, greeting, colour, handoff fields).

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::chat::{history, open_conversation};
use super::error::{ApiError, ApiJson, ErrorBody};
use super::AppState;
use crate::answer::{has_control_characters, EscalationReason, Role};
use crate::knowledge::is_plausible_email;
use crate::store::{Attachment, HandoffValue, NewTicket, Rating, StoredMessage};

/// Longest note or handoff field value accepted.
const MAX_FIELD_CHARS: usize = 4000;

/// A note or field value goes into the team's email as it is: at most [`MAX_FIELD_CHARS`]
/// characters, and no control characters (as chat refuses them).
fn check_text(name: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(ApiError::Invalid(format!(
            "{name} is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    if has_control_characters(value) {
        return Err(ApiError::Invalid(format!(
            "{name} contains control characters"
        )));
    }
    Ok(())
}

/// The bot's reason and reply when its last reply was a hand-over. A customer who fills in the
/// form after it is following that hand-over: the ticket keeps the bot's reason and decision,
/// so the team sees why the bot did not answer. After an answer (or with no chat), the customer
/// is the one asking for a person.
fn last_hand_over(messages: &[StoredMessage]) -> Option<(&str, &StoredMessage)> {
    let last = messages.iter().rev().find(|m| m.role == Role::Assistant)?;
    let reason = last.reason.as_deref()?;
    (last.outcome.as_deref() == Some("escalate")).then_some((reason, last))
}

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
    let config = state
        .pipeline
        .tenant(&req.tenant)
        .ok_or_else(|| ApiError::NotFound(format!("unknown tenant {:?}", req.tenant)))?;
    state.cors.check(&headers, &config)?;
    state.limits.check_tenant(&req.tenant)?;
    if !is_plausible_email(&req.contact_email) {
        return Err(ApiError::Invalid(
            "contact_email is not a valid email address".into(),
        ));
    }
    if let Some(note) = &req.note {
        check_text("note", note)?;
    }
    let mut fields = Vec::new();
    for (name, value) in &req.fields {
        let field = config
            .handoff_fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| ApiError::Invalid(format!("unknown handoff field {name:?}")))?;
        check_text(name, value)?;
        if !value.trim().is_empty() {
            fields.push(HandoffValue {
                label: field.label.clone(),
                value: value.trim().to_string(),
            });
        }
    }
    let given = |name: &str| req.fields.get(name).is_some_and(|v| !v.trim().is_empty());
    if let Some(missing) = config
        .handoff_fields
        .iter()
        .find(|f| f.required && !given(&f.name))
    {
        return Err(ApiError::Invalid(format!("{} is required", missing.name)));
    }
    let messages = match &req.conversation_id {
        Some(id) => {
            open_conversation(&state, &req.tenant, id, req.conversation_token.as_deref()).await?
        }
        None => Vec::new(),
    };
    let (reason, confidence, decision) = match last_hand_over(&messages) {
        Some((reason, bot)) => (
            reason.to_string(),
            bot.confidence.unwrap_or(0.0),
            bot.decision.clone(),
        ),
        None => (
            EscalationReason::RequestedHuman.as_str().to_string(),
            0.0,
            None,
        ),
    };
    let transcript = history(messages);
    let question = transcript
        .iter()
        .rev()
        .find(|t| t.role == Role::User)
        .map(|t| t.content.clone())
        .or_else(|| req.note.clone())
        .unwrap_or_else(|| "The customer asked to talk to a person.".into());
    let ticket = NewTicket {
        tenant: req.tenant.clone(),
        brand: config.name.clone(),
        support_email: config.support_email.clone(),
        conversation_id: req.conversation_id.clone(),
        question,
        transcript,
        passages: Vec::new(),
        reason,
        confidence,
        decision,
        contact_email: Some(req.contact_email.clone()),
        note: req.note.clone(),
        fields,
    };
    let ticket = state.store.create_ticket(ticket, screenshots).await?;
    state.outbox.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(EscalationAccepted {
            ticket_id: ticket.id,
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
    let c = state
        .pipeline
        .tenant(&id)
        .ok_or_else(|| ApiError::NotFound(format!("unknown tenant {id:?}")))?;
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
