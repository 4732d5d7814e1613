//! The customer-facing handoff and feedback endpoints, and the public tenant config the widget
//! reads (brand, greeting, colour, handoff fields).

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::chat::open_conversation;
use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::answer::{EscalationReason, Role};
use crate::knowledge::is_plausible_email;
use crate::store::{Attachment, HandoffValue, NewTicket, Rating};

/// Longest note or handoff field value accepted.
const MAX_FIELD_CHARS: usize = 4000;

#[derive(Debug, Deserialize)]
pub struct EscalationRequest {
    pub tenant: String,
    pub contact_email: String,
    pub conversation_id: Option<String>,
    pub conversation_token: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `POST /api/v1/escalations`: the form as JSON, or as `multipart/form-data` with screenshots
/// (see [`super::screenshots`]). Answers 202 once the ticket and its screenshots are stored.
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
    let too_long = |s: &str| s.chars().count() > MAX_FIELD_CHARS;
    if req.note.as_deref().is_some_and(too_long) {
        return Err(ApiError::Invalid(format!(
            "note is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    let mut fields = Vec::new();
    for (name, value) in &req.fields {
        let field = config
            .handoff_fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| ApiError::Invalid(format!("unknown handoff field {name:?}")))?;
        if too_long(value) {
            return Err(ApiError::Invalid(format!(
                "{name} is longer than {MAX_FIELD_CHARS} characters"
            )));
        }
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
    let transcript = match &req.conversation_id {
        Some(id) => {
            open_conversation(&state, &req.tenant, id, req.conversation_token.as_deref()).await?
        }
        None => Vec::new(),
    };
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
        reason: EscalationReason::RequestedHuman.as_str().to_string(),
        confidence: 0.0,
        contact_email: Some(req.contact_email.clone()),
        note: req.note.clone(),
        fields,
    };
    let ticket = state
        .store
        .create_ticket(ticket, screenshots)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.outbox.wake();
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "ticket_id": ticket.id,
            "status": "pending",
            "reply_promise": config.reply_promise,
            "support_email": config.support_email,
        })),
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

#[derive(Debug, Deserialize)]
pub struct FeedbackRequest {
    pub message_id: String,
    pub rating: Rating,
    pub comment: Option<String>,
}

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
            other => ApiError::Internal(other.to_string()),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tenants/{id}`: what the widget needs to present the brand.
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
    Ok(Json(serde_json::json!({
        "id": id,
        "name": c.name,
        "greeting": c.greeting,
        "brand_color": c.brand_color,
        "support_email": c.support_email,
        "reply_promise": c.reply_promise,
        "support_hours": c.support_hours,
        "handoff_fields": c.handoff_fields,
    })))
}
