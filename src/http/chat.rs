//! `POST /api/v1/chat`: one customer turn, answered as JSON or streamed as Server-Sent Events.
//! The history comes from the store (never from the client); a later turn must present the
//! conversation's token. The exchange is stored in one transaction (see [`finish_turn`]).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::convert::Infallible;

use super::error::{ApiError, ApiJson, ErrorBody};
use super::AppState;
use crate::answer::{Answer, AnswerError, Citation, Outcome, Role, Turn};
use crate::knowledge::is_plausible_email;
use crate::store::{random_id, StoredMessage};

/// One customer turn.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatRequest {
    /// The brand (tenant id).
    pub tenant: String,
    /// The customer's message: 1 to 4,000 characters, not only white space, no control
    /// characters.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub message: String,
    /// Absent on the first turn; later turns name the conversation the first reply created.
    pub conversation_id: Option<String>,
    /// Required with `conversation_id`: the token the first reply returned.
    pub conversation_token: Option<String>,
    /// Where the support team can reply if the bot hands over (opens a ticket).
    pub contact_email: Option<String>,
}

/// The answer to one turn.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatResponse {
    pub conversation_id: String,
    /// Only in the reply that created the conversation: present it on every later turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_token: Option<String>,
    /// Rate it with `POST /api/v1/feedback`.
    pub message_id: String,
    pub answer: String,
    pub outcome: Outcome,
    /// Why the bot handed over (null when it answered).
    pub reason: Option<crate::answer::EscalationReason>,
    /// Retrieval confidence in [0, 1].
    pub confidence: f32,
    pub citations: Vec<Citation>,
    /// The escalation ticket, when the bot handed over and `contact_email` was given.
    pub ticket_id: Option<String>,
}

/// Earlier turns kept as history for rewriting follow-ups.
const HISTORY_TURNS: usize = 20;

pub fn token_hash(token: &str) -> String {
    crate::index::hex(&Sha256::digest(token.as_bytes()))
}

/// Checks a conversation id and token for `tenant`; returns its stored messages, oldest first.
pub async fn open_conversation(
    state: &AppState,
    tenant: &str,
    id: &str,
    token: Option<&str>,
) -> Result<Vec<StoredMessage>, ApiError> {
    let (_, hash) = state
        .store
        .conversation(id)
        .await?
        .filter(|(owner, _)| owner == tenant)
        .ok_or_else(|| ApiError::NotFound("unknown conversation".into()))?;
    match token {
        Some(token) if token_hash(token) == hash => {}
        _ => return Err(ApiError::Forbidden),
    }
    state.store.messages(id).await.map_err(ApiError::from)
}

/// The last [`HISTORY_TURNS`] turns of `messages`, starting with a customer's turn.
pub fn history(messages: Vec<StoredMessage>) -> Vec<Turn> {
    let turns: Vec<Turn> = messages
        .into_iter()
        .map(|m| Turn {
            role: m.role,
            content: m.content,
        })
        .collect();
    let skip = turns.len().saturating_sub(HISTORY_TURNS);
    let skip = skip + usize::from(turns.get(skip).is_some_and(|t| t.role == Role::Assistant));
    turns.into_iter().skip(skip).collect()
}

pub(super) fn answer_error(e: AnswerError) -> ApiError {
    match e {
        AnswerError::Request(e) => ApiError::Invalid(e.to_string()),
        AnswerError::UnknownTenant(t) => ApiError::NotFound(format!("unknown tenant {t:?}")),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Answers one customer turn, as JSON or (with `Accept: text/event-stream`) as Server-Sent
/// Events: `meta` (ids, citations), `delta` (`{"text"}` pieces of the answer), in LLM mode
/// possibly `replace` (`{"text"}`: the checked answer to show instead of what was streamed),
/// then `done` (outcome, reason, confidence, ticket_id, citations), or `error` (the error body).
#[utoipa::path(
    post,
    path = "/api/v1/chat",
    tag = "chat",
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The answer, or its event stream", content(
            (ChatResponse = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Wrong conversation token, or an origin the brand does not allow", body = ErrorBody),
        (status = 404, description = "Unknown tenant or conversation", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid message, history or email", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let turn = prepare_turn(&state, &headers, req).await?;
    if wants_stream(&headers) {
        return Ok(stream_turn(state, turn).into_response());
    }
    let answer = state
        .pipeline
        .answer(&turn.tenant, &turn.message, &turn.history)
        .await
        .map_err(answer_error)?;
    let (message_id, ticket_id) = finish_turn(&state, &turn, &answer, String::new()).await?;
    Ok(Json(ChatResponse {
        conversation_id: turn.conversation_id,
        conversation_token: turn.new_token,
        message_id,
        answer: answer.text,
        outcome: answer.outcome,
        reason: answer.reason,
        confidence: answer.confidence,
        citations: answer.citations,
        ticket_id,
    })
    .into_response())
}

/// A validated customer turn with its conversation and stored history.
pub(super) struct PreparedTurn {
    pub tenant: String,
    pub message: String,
    pub contact_email: Option<String>,
    pub config: std::sync::Arc<crate::knowledge::TenantConfig>,
    pub conversation_id: String,
    /// Only when this turn created the conversation.
    pub new_token: Option<String>,
    pub history: Vec<Turn>,
}

/// Checks the request (origin, rate limit, values) and opens (or creates) its conversation.
/// Nothing is stored for a request that fails a check.
async fn prepare_turn(
    state: &AppState,
    headers: &HeaderMap,
    req: ChatRequest,
) -> Result<PreparedTurn, ApiError> {
    let config = state
        .pipeline
        .tenant(&req.tenant)
        .ok_or_else(|| ApiError::NotFound(format!("unknown tenant {:?}", req.tenant)))?;
    state.cors.check(headers, &config)?;
    state.limits.check_tenant(&req.tenant)?;
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
            let messages =
                open_conversation(state, &req.tenant, id, req.conversation_token.as_deref())
                    .await?;
            let history = history(messages);
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
                .await?;
            (id, Some(token), Vec::new())
        }
    };
    Ok(PreparedTurn {
        tenant: req.tenant,
        message: req.message,
        contact_email: req.contact_email,
        config,
        conversation_id,
        new_token,
        history,
    })
}

/// Counts the answer, opens a ticket when the bot escalates and the customer's email is known,
/// and stores the exchange (one transaction). Returns (message id, ticket id).
pub(super) async fn finish_turn(
    state: &AppState,
    turn: &PreparedTurn,
    answer: &Answer,
    message_id: String,
) -> Result<(String, Option<String>), ApiError> {
    state.metrics.answered(answer);
    let ticket_id = match (&answer.outcome, &turn.contact_email) {
        (Outcome::Escalate, Some(email)) => {
            let mut ticket = crate::escalate::ticket_for(
                &turn.tenant,
                &turn.config,
                &turn.message,
                &turn.history,
                answer,
                Some(email),
            );
            ticket.conversation_id = Some(turn.conversation_id.clone());
            let ticket = state.store.create_ticket(ticket, Vec::new()).await?;
            state.outbox.wake();
            Some(ticket.id)
        }
        _ => None,
    };
    let mut reply = stored_reply(&turn.conversation_id, answer);
    reply.id = message_id;
    let (_, message_id) = state
        .store
        .append_exchange(&turn.conversation_id, turn.message.trim(), &reply)
        .await?;
    Ok((message_id, ticket_id))
}

fn stored_reply(conversation_id: &str, answer: &Answer) -> StoredMessage {
    StoredMessage {
        id: String::new(),
        conversation_id: conversation_id.to_string(),
        role: Role::Assistant,
        content: answer.text.clone(),
        outcome: Some(answer.outcome.as_str().to_string()),
        reason: answer.reason.map(|r| r.as_str().to_string()),
        confidence: Some(answer.confidence),
        citations: serde_json::to_value(&answer.citations).unwrap_or_default(),
        decision: Some(answer.decision.clone()),
        created_at: 0,
    }
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// The events of one streamed turn, as the answer task produces them.
struct LiveEvents {
    tx: tokio::sync::mpsc::UnboundedSender<Event>,
    meta: serde_json::Value,
    /// The model's text forwarded so far; None until the first token.
    streamed: Option<String>,
}

impl LiveEvents {
    /// Sends an event; a client that went away is not an error (the turn is still stored).
    fn send(&self, name: &str, data: &impl Serialize) {
        let _ = self
            .tx
            .send(Event::default().event(name).data(json_text(data)));
    }

    /// Forwards one token of the model, after the `meta` event on the first one.
    fn token(&mut self, token: &str) {
        if self.streamed.is_none() {
            self.send("meta", &self.meta);
            self.streamed = Some(String::new());
        }
        if let Some(streamed) = &mut self.streamed {
            streamed.push_str(token);
        }
        self.send("delta", &serde_json::json!({ "text": token }));
    }
}

fn json_text(data: &impl Serialize) -> String {
    serde_json::to_string(data).unwrap_or_else(|_| "null".into())
}

/// Streams one turn as Server-Sent Events: `meta` (ids, citations), `delta` events with the
/// answer text, then `done` (outcome, reason, confidence, ticket id, final citations).
///
/// In LLM mode the model's tokens are forwarded as they arrive (so `meta` cannot know the
/// citations yet: they come in `done`); when the checked answer differs from what was
/// streamed (invalid citations removed, or an escalation), a `replace` event carries the text
/// to show instead. Extractive answers are whole at once and sent in pieces. The answer runs in
/// its own task: a client that disconnects does not leave a half-written turn in the store.
fn stream_turn(
    state: AppState,
    turn: PreparedTurn,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let message_id = random_id("m_", 12);
    let mut live = LiveEvents {
        tx,
        meta: serde_json::json!({
            "conversation_id": turn.conversation_id,
            "conversation_token": turn.new_token,
            "message_id": message_id,
            "citations": [],
        }),
        streamed: None,
    };
    tokio::spawn(async move {
        let answer = state
            .pipeline
            .answer_streaming(&turn.tenant, &turn.message, &turn.history, |t| {
                live.token(t)
            })
            .await
            .map_err(answer_error);
        let finished = match answer {
            Ok(answer) => finish_turn(&state, &turn, &answer, message_id)
                .await
                .map(|(_, ticket_id)| (answer, ticket_id)),
            Err(e) => Err(e),
        };
        match finished {
            Ok((answer, ticket_id)) => send_rest(&mut live, &answer, ticket_id),
            Err(e) => live.send("error", &e.body()),
        }
    });
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// Everything after the model's tokens: the whole answer when nothing was streamed, or its
/// correction, then `done`.
fn send_rest(live: &mut LiveEvents, answer: &Answer, ticket_id: Option<String>) {
    match &live.streamed {
        None => {
            live.meta["citations"] = serde_json::json!(answer.citations);
            live.send("meta", &live.meta);
            for chunk in chunks(&answer.text) {
                live.send("delta", &serde_json::json!({ "text": chunk }));
            }
        }
        Some(streamed) if streamed.trim() != answer.text.trim() => {
            live.send("replace", &serde_json::json!({ "text": answer.text }));
        }
        Some(_) => {}
    }
    live.send(
        "done",
        &serde_json::json!({
            "outcome": answer.outcome,
            "reason": answer.reason,
            "confidence": answer.confidence,
            "ticket_id": ticket_id,
            "citations": answer.citations,
        }),
    );
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
