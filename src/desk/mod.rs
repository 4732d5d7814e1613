//! The support desk's two use cases, the same for every API: a customer's turn ([`turn`]:
//! answer, store the exchange, open a ticket when the bot hands over, wake the outbox) and a
//! customer's request for a person ([`handoff`]: check the form, attach the transcript, store the
//! ticket, wake the outbox). The HTTP handlers (chat JSON and SSE, the OpenAI-compatible API,
//! the handoff form) only translate to and from these. [`Reindexer`] keeps every replica's
//! indexes on the same knowledge; [`Desk::keep_retention`] and [`Desk::delete_customer`] remove
//! what should not be kept.

mod handoff;
mod reindex;
mod retention;
mod sync;
mod turn;

pub use handoff::{HandedOver, HandoffRequest, MAX_FIELD_CHARS};
pub use reindex::{Reindexed, Reindexer};
pub use sync::Syncer;
pub use turn::{ConversationRef, OpenTurn, TurnReply, TurnRequest};

use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::answer::{AnswerError, Pipeline, Role, Turn};
use crate::escalate::Outbox;
use crate::knowledge::TenantConfig;
use crate::store::{Store, StoreError, StoredMessage};

/// Earlier turns kept as history for rewriting follow-ups.
const HISTORY_TURNS: usize = 20;

/// What a turn or a hand-over needs: the answer pipeline, the store and the outbox.
#[derive(Clone)]
pub struct Desk {
    pub pipeline: Arc<Pipeline>,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<Outbox>,
}

/// Why a turn or a hand-over was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    #[error("unknown conversation")]
    UnknownConversation,
    /// The conversation exists but the token is missing or wrong.
    #[error("wrong conversation token")]
    WrongToken,
    /// A value the customer or caller sent; the message names it.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The hash a conversation's token is stored as (the token itself is only ever in the reply
/// that created the conversation).
pub fn token_hash(token: &str) -> String {
    crate::index::hex(&Sha256::digest(token.as_bytes()))
}

impl Desk {
    /// The tenant's configuration, or [`DeskError::UnknownTenant`].
    pub fn tenant(&self, id: &str) -> Result<Arc<TenantConfig>, DeskError> {
        self.pipeline
            .tenant(id)
            .ok_or_else(|| DeskError::UnknownTenant(id.to_string()))
    }

    /// Checks a conversation id and token for `tenant`; returns its stored messages, oldest
    /// first. A conversation of another tenant is unknown, not forbidden.
    async fn open_conversation(
        &self,
        tenant: &str,
        id: &str,
        token: Option<&str>,
    ) -> Result<Vec<StoredMessage>, DeskError> {
        let (_, hash) = self
            .store
            .conversation(id)
            .await?
            .filter(|(owner, _)| owner == tenant)
            .ok_or(DeskError::UnknownConversation)?;
        match token {
            Some(token) if token_hash(token) == hash => {}
            _ => return Err(DeskError::WrongToken),
        }
        Ok(self.store.messages(id).await?)
    }
}

/// Runs `pass` now and then every `interval` until `shutdown` (the background jobs of every
/// replica: following re-indexes, applying retention).
async fn every<Pass: Future<Output = ()>>(
    interval: Duration,
    shutdown: impl Future<Output = ()>,
    mut pass: impl FnMut() -> Pass,
) {
    tokio::pin!(shutdown);
    loop {
        pass().await;
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// The last [`HISTORY_TURNS`] turns of `messages`, starting with a customer's turn.
fn history(messages: Vec<StoredMessage>) -> Vec<Turn> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: Role, content: &str) -> StoredMessage {
        StoredMessage {
            id: String::new(),
            conversation_id: "c".into(),
            role,
            content: content.into(),
            outcome: None,
            reason: None,
            confidence: None,
            citations: serde_json::Value::Null,
            decision: None,
            created_at: 0,
        }
    }

    #[test]
    fn history_keeps_the_last_turns_and_starts_with_the_customer() {
        let messages: Vec<StoredMessage> = (0..HISTORY_TURNS + 3)
            .map(|i| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                message(role, &i.to_string())
            })
            .collect();
        let turns = history(messages);
        assert!(turns.len() <= HISTORY_TURNS);
        assert_eq!(turns[0].role, Role::User);
        assert_eq!(
            turns.last().unwrap().content,
            (HISTORY_TURNS + 2).to_string()
        );
    }
}
