//! `POST /api/v1/chat`: one customer turn, answered as JSON or streamed as Server-Sent Events.
//! The history comes from the store (never from the client); a later turn must present the
//! conversation's token. The exchange is stored in one transaction before anything is sent.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::convert::Infallible;

use super::error::{ApiError, ApiJson};
use super::AppState;
use crate::answer::{Answer, AnswerError, Citation, Outcome, Role, Turn};
use crate::knowledge::is_plausible_email;
use crate::store::{random_id, StoredMessage};

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub tenant: String,
    pub message: String,
    pub conversation_id: Option<String>,
    pub conversation_token: Option<String>,
    pub contact_email: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChatResponse {
    pub conversation_id: String,
    /// Only in the reply that created the conversation: present it on every later turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_token: Option<String>,
    pub message_id: String,
    pub answer: String,
    pub outcome: Outcome,
    pub reason: Option<crate::answer::EscalationReason>,
    pub confidence: f32,
    pub citations: Vec<Citation>,
    pub ticket_id: Option<String>,
}

/// Earlier turns kept as history for rewriting follow-ups.
const HISTORY_TURNS: usize = 20;

pub fn token_hash(token: &str) -> String {
    crate::index::hex(&Sha256::digest(token.as_bytes()))
}

/// Checks a conversation id and token for `tenant`; returns the stored history.
pub async fn open_conversation(
    state: &AppState,
    tenant: &str,
    id: &str,
    token: Option<&str>,
) -> Result<Vec<Turn>, ApiError> {
    let (_, hash) = state
        .store
        .conversation(id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .filter(|(owner, _)| owner == tenant)
        .ok_or_else(|| ApiError::NotFound("unknown conversation".into()))?;
    match token {
        Some(token) if token_hash(token) == hash => {}
        _ => return Err(ApiError::Forbidden),
    }
    let messages = state
        .store
        .messages(id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let turns: Vec<Turn> = messages
        .into_iter()
        .map(|m| Turn {
            role: m.role,
            content: m.content,
        })
        .collect();
    let skip = turns.len().saturating_sub(HISTORY_TURNS);
    // keep the history starting with a user turn
    let skip = skip + usize::from(turns.get(skip).is_some_and(|t| t.role == Role::Assistant));
    Ok(turns.into_iter().skip(skip).collect())
}

pub(super) fn answer_error(e: AnswerError) -> ApiError {
    match e {
        AnswerError::Request(e) => ApiError::Invalid(e.to_string()),
        AnswerError::UnknownTenant(t) => ApiError::NotFound(format!("unknown tenant {t:?}")),
        other => ApiError::Internal(other.to_string()),
    }
}

pub async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let config = state
        .pipeline
        .tenant(&req.tenant)
        .ok_or_else(|| ApiError::NotFound(format!("unknown tenant {:?}", req.tenant)))?;
    if let Some(email) = &req.contact_email {
        if !is_plausible_email(email) {
            return Err(ApiError::Invalid(
                "contact_email is not a valid email address".into(),
            ));
        }
    }
    crate::answer::Question::parse(&req.message).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let (conversation_id, new_token, history) = match &req.conversation_id {
        Some(id) => {
            let history =
                open_conversation(&state, &req.tenant, id, req.conversation_token.as_deref())
                    .await?;
            (id.clone(), None, history)
        }
        None => {
            let token = random_id("", 32);
            let id = state
                .store
                .create_conversation(
                    &req.tenant,
                    &token_hash(&token),
                    req.contact_email.as_deref(),
                )
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            (id, Some(token), Vec::new())
        }
    };
    let answer = state
        .pipeline
        .answer(&req.tenant, &req.message, &history)
        .await
        .map_err(answer_error)?;
    state.metrics.answered(answer.outcome);
    let ticket_id = match (&answer.outcome, &req.contact_email) {
        (Outcome::Escalate, Some(email)) => {
            let mut ticket = crate::escalate::ticket_for(
                &req.tenant,
                &config,
                &req.message,
                &history,
                &answer,
                Some(email),
            );
            ticket.conversation_id = Some(conversation_id.clone());
            let ticket = state
                .store
                .create_ticket(ticket)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            state.outbox.wake();
            Some(ticket.id)
        }
        _ => None,
    };
    let reply = stored_reply(&conversation_id, &answer);
    let (_, message_id) = state
        .store
        .append_exchange(&conversation_id, req.message.trim(), &reply)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let response = ChatResponse {
        conversation_id,
        conversation_token: new_token,
        message_id,
        answer: answer.text,
        outcome: answer.outcome,
        reason: answer.reason,
        confidence: answer.confidence,
        citations: answer.citations,
        ticket_id,
    };
    if wants_stream(&headers) {
        Ok(stream(response).into_response())
    } else {
        Ok(Json(response).into_response())
    }
}

pub(super) fn stored_reply(conversation_id: &str, answer: &Answer) -> StoredMessage {
    StoredMessage {
        id: String::new(),
        conversation_id: conversation_id.to_string(),
        role: Role::Assistant,
        content: answer.text.clone(),
        outcome: Some(answer.outcome.as_str().to_string()),
        reason: answer.reason.map(|r| r.as_str().to_string()),
        confidence: Some(answer.confidence),
        citations: serde_json::to_value(&answer.citations).unwrap_or_default(),
        created_at: 0,
    }
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// `meta` (ids, citations), `delta` events with the answer text, then `done`.
fn stream(r: ChatResponse) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let meta = serde_json::json!({
        "conversation_id": r.conversation_id,
        "conversation_token": r.conversation_token,
        "message_id": r.message_id,
        "citations": r.citations,
    });
    let done = serde_json::json!({
        "outcome": r.outcome,
        "reason": r.reason,
        "confidence": r.confidence,
        "ticket_id": r.ticket_id,
    });
    let mut events = vec![Event::default().event("meta").data(meta.to_string())];
    for chunk in chunks(&r.answer) {
        events.push(
            Event::default()
                .event("delta")
                .data(serde_json::json!({"text": chunk}).to_string()),
        );
    }
    events.push(Event::default().event("done").data(done.to_string()));
    Sse::new(futures_util::stream::iter(events.into_iter().map(Ok)))
        .keep_alive(KeepAlive::default())
}

/// The answer in pieces of a few words (keeping the spaces), as a model would stream it.
pub(super) fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, word) in text.split_inclusive(' ').enumerate() {
        current.push_str(word);
        if i % 4 == 3 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_rebuild_the_text() {
        let text = "Here is what the help center says:\n\nWithin 7 days.";
        assert_eq!(super::chunks(text).concat(), text);
        assert!(super::chunks(text).len() > 1);
    }
}
