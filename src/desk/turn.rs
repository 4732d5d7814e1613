//! One customer turn: checked and given its conversation ([`Desk::open_turn`]), then answered
//! and recorded ([`Desk::reply`]): the exchange is stored in one transaction, and a hand-over
//! with a known contact address becomes a ticket the outbox is woken for.

use std::sync::Arc;

use super::{history, token_hash, Desk, DeskError};
use crate::answer::{validate_history, Answer, Outcome, Question, Role, Turn};
use crate::escalate::ticket_for;
use crate::knowledge::{is_plausible_email, TenantConfig};
use crate::store::{random_id, StoredMessage};

/// Which conversation a turn belongs to.
#[derive(Debug, Clone)]
pub enum ConversationRef {
    /// A new chat: the reply hands out the conversation's token.
    New,
    /// A later turn of a chat: the history comes from the store, never from the client.
    Continue { id: String, token: Option<String> },
    /// A caller that keeps the history itself (the OpenAI-compatible API): the exchange is
    /// stored in a conversation of its own whose token nobody is given.
    Given(Vec<Turn>),
}

/// A customer's message, as an API received it.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub tenant: String,
    pub message: String,
    pub conversation: ConversationRef,
    /// Where the team replies if the bot hands over (a ticket is opened only with one).
    pub contact_email: Option<String>,
}

/// A checked turn with its conversation and history, ready to be answered.
#[derive(Debug, Clone)]
pub struct OpenTurn {
    pub tenant: String,
    pub question: String,
    pub contact_email: Option<String>,
    pub config: Arc<TenantConfig>,
    pub conversation_id: String,
    /// Only when this turn created a chat conversation.
    pub new_token: Option<String>,
    pub history: Vec<Turn>,
    /// The id the reply will be stored under, known before the answer (a stream names it first).
    pub message_id: String,
}

/// An answered, recorded turn.
#[derive(Debug)]
pub struct TurnReply {
    pub answer: Answer,
    pub message_id: String,
    /// The ticket opened when the bot handed over and the contact address was known.
    pub ticket_id: Option<String>,
}

impl Desk {
    /// Checks the turn's values and opens (or creates) its conversation. Nothing is stored for a
    /// turn that fails a check.
    pub async fn open_turn(&self, req: TurnRequest) -> Result<OpenTurn, DeskError> {
        let config = self.tenant(&req.tenant)?;
        if let Some(email) = &req.contact_email {
            if !is_plausible_email(email) {
                return Err(DeskError::Invalid(
                    "contact_email is not a valid email address".into(),
                ));
            }
        }
        let invalid = |e: crate::answer::RequestError| DeskError::Invalid(e.to_string());
        Question::parse(&req.message).map_err(invalid)?;
        let (conversation_id, new_token, history) = match req.conversation {
            ConversationRef::Continue { id, token } => {
                let messages = self
                    .open_conversation(&req.tenant, &id, token.as_deref())
                    .await?;
                (id, None, history(messages))
            }
            ConversationRef::New => {
                let token = random_id("", 32);
                let id = self
                    .new_conversation(&req.tenant, &token, req.contact_email.as_deref())
                    .await?;
                (id, Some(token), Vec::new())
            }
            ConversationRef::Given(turns) => {
                validate_history(&turns).map_err(invalid)?;
                let id = self
                    .new_conversation(&req.tenant, &random_id("", 32), None)
                    .await?;
                (id, None, turns)
            }
        };
        Ok(OpenTurn {
            tenant: req.tenant,
            question: req.message,
            contact_email: req.contact_email,
            config,
            conversation_id,
            new_token,
            history,
            message_id: random_id("m_", 12),
        })
    }

    /// Answers the turn (`on_token` receives the model's text as it streams, in LLM mode) and
    /// records it: a ticket when the bot hands over and the contact address is known, then the
    /// question and reply in one transaction.
    pub async fn reply(
        &self,
        turn: &OpenTurn,
        on_token: impl FnMut(&str) + Send,
    ) -> Result<TurnReply, DeskError> {
        let answer = self
            .pipeline
            .answer_streaming(&turn.tenant, &turn.question, &turn.history, on_token)
            .await?;
        let ticket_id = self.open_ticket(turn, &answer).await?;
        let reply = stored_reply(turn, &answer);
        let (_, message_id) = self
            .store
            .append_exchange(&turn.conversation_id, turn.question.trim(), &reply)
            .await?;
        Ok(TurnReply {
            answer,
            message_id,
            ticket_id,
        })
    }

    async fn new_conversation(
        &self,
        tenant: &str,
        token: &str,
        contact_email: Option<&str>,
    ) -> Result<String, DeskError> {
        Ok(self
            .store
            .create_conversation(tenant, &token_hash(token), contact_email)
            .await?)
    }

    /// The ticket of a hand-over, when the customer's address is known.
    async fn open_ticket(
        &self,
        turn: &OpenTurn,
        answer: &Answer,
    ) -> Result<Option<String>, DeskError> {
        let (Outcome::Escalate, Some(email)) = (&answer.outcome, &turn.contact_email) else {
            return Ok(None);
        };
        let mut ticket = ticket_for(
            &turn.tenant,
            &turn.config,
            &turn.question,
            &turn.history,
            answer,
            Some(email),
        );
        ticket.conversation_id = Some(turn.conversation_id.clone());
        let ticket = self.store.create_ticket(ticket, Vec::new()).await?;
        self.outbox.wake();
        Ok(Some(ticket.id))
    }
}

fn stored_reply(turn: &OpenTurn, answer: &Answer) -> StoredMessage {
    StoredMessage {
        id: turn.message_id.clone(),
        conversation_id: turn.conversation_id.clone(),
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
