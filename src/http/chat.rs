//! `POST /api/v1/chat`: one customer turn, answered as JSON or streamed as Server-Sent Events.
//! The history comes from the store (never from the client); a later turn must present the
//! conversation's token. The turn itself is [`crate::desk::Desk::open_turn`] and
//! [`crate::desk::Desk::reply`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;

use super::error::{ApiError, ApiJson, ErrorBody};
use super::AppState;
use crate::answer::{Answer, Citation, Outcome};
use crate::desk::{ConversationRef, OpenTurn, TurnRequest};

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
        (status = 503, description = "Overloaded or the database unreachable (see Retry-After)", body = ErrorBody),
    )
)]
pub async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let config = state.tenant(&req.tenant)?;
    state.cors.check(&headers, &config)?;
    state.limits.check_tenant(&req.tenant)?;
    let turn = state.desk.open_turn(turn_request(req)).await?;
    if wants_stream(&headers) {
        return Ok(stream_turn(state, turn).into_response());
    }
    let reply = state.desk.reply(&turn, |_| {}).await?;
    state.metrics.answered(&reply.answer);
    Ok(Json(ChatResponse {
        conversation_id: turn.conversation_id,
        conversation_token: turn.new_token,
        message_id: reply.message_id,
        answer: reply.answer.text,
        outcome: reply.answer.outcome,
        reason: reply.answer.reason,
        confidence: reply.answer.confidence,
        citations: reply.answer.citations,
        ticket_id: reply.ticket_id,
    })
    .into_response())
}

fn turn_request(req: ChatRequest) -> TurnRequest {
    let conversation = match req.conversation_id {
        Some(id) => ConversationRef::Continue {
            id,
            token: req.conversation_token,
        },
        None => ConversationRef::New,
    };
    TurnRequest {
        tenant: req.tenant,
        message: req.message,
        conversation,
        contact_email: req.contact_email,
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
    turn: OpenTurn,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut live = LiveEvents {
        tx,
        meta: serde_json::json!({
            "conversation_id": turn.conversation_id,
            "conversation_token": turn.new_token,
            "message_id": turn.message_id,
            "citations": [],
        }),
        streamed: None,
    };
    tokio::spawn(async move {
        match state.desk.reply(&turn, |t| live.token(t)).await {
            Ok(reply) => {
                state.metrics.answered(&reply.answer);
                send_rest(&mut live, &reply.answer, reply.ticket_id);
            }
            Err(e) => live.send("error", &ApiError::from(e).body()),
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
