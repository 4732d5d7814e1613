//! A customer's request for a person: the brand's handoff fields checked, the chat attached as
//! the transcript, the ticket stored (with its screenshots), then the outbox woken to email it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{history, Desk, DeskError};
use crate::answer::{has_control_characters, EscalationReason, Role};
use crate::knowledge::{is_plausible_email, TenantConfig};
use crate::store::{Attachment, HandoffValue, NewTicket, StoredMessage};

/// Longest note or handoff field value accepted.
pub const MAX_FIELD_CHARS: usize = 4000;

/// The handoff form, as an API received it.
#[derive(Debug, Clone)]
pub struct HandoffRequest {
    pub tenant: String,
    /// Where the support team replies.
    pub contact_email: String,
    /// The chat to attach as the transcript, with its token.
    pub conversation: Option<(String, Option<String>)>,
    pub note: Option<String>,
    /// The brand's `handoff_fields` by name.
    pub fields: BTreeMap<String, String>,
    pub screenshots: Vec<Attachment>,
}

/// A stored hand-over; the outbox emails it.
#[derive(Debug)]
pub struct HandedOver {
    pub ticket_id: String,
    pub config: Arc<TenantConfig>,
}

impl Desk {
    /// Checks the form, attaches the chat and stores the ticket; nothing is stored for a form
    /// that fails a check.
    pub async fn hand_over(&self, req: HandoffRequest) -> Result<HandedOver, DeskError> {
        let config = self.tenant(&req.tenant)?;
        if !is_plausible_email(&req.contact_email) {
            return Err(DeskError::Invalid(
                "contact_email is not a valid email address".into(),
            ));
        }
        if let Some(note) = &req.note {
            check_text("note", note)?;
        }
        let fields = handoff_values(&config, &req.fields)?;
        let messages = match &req.conversation {
            Some((id, token)) => {
                self.open_conversation(&req.tenant, id, token.as_deref())
                    .await?
            }
            None => Vec::new(),
        };
        let ticket = ticket(&config, &req, messages, fields);
        let ticket = self.store.create_ticket(ticket, req.screenshots).await?;
        self.outbox.wake();
        Ok(HandedOver {
            ticket_id: ticket.id,
            config,
        })
    }
}

/// The ticket: the chat's last question (or the note) as the question, and the bot's reason
/// when the customer is following its hand-over.
fn ticket(
    config: &TenantConfig,
    req: &HandoffRequest,
    messages: Vec<StoredMessage>,
    fields: Vec<HandoffValue>,
) -> NewTicket {
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
    NewTicket {
        tenant: req.tenant.clone(),
        brand: config.name.clone(),
        support_email: config.support_email.clone(),
        conversation_id: req.conversation.as_ref().map(|(id, _)| id.clone()),
        question,
        transcript,
        passages: Vec::new(),
        reason,
        confidence,
        decision,
        contact_email: Some(req.contact_email.clone()),
        note: req.note.clone(),
        fields,
    }
}

/// The brand's handoff fields as labelled values: every given field must be one of the
/// brand's, every required one given.
fn handoff_values(
    config: &TenantConfig,
    given: &BTreeMap<String, String>,
) -> Result<Vec<HandoffValue>, DeskError> {
    let mut values = Vec::new();
    for (name, value) in given {
        let field = config
            .handoff_fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| DeskError::Invalid(format!("unknown handoff field {name:?}")))?;
        check_text(name, value)?;
        if !value.trim().is_empty() {
            values.push(HandoffValue {
                label: field.label.clone(),
                value: value.trim().to_string(),
            });
        }
    }
    let filled = |name: &str| given.get(name).is_some_and(|v| !v.trim().is_empty());
    if let Some(missing) = config
        .handoff_fields
        .iter()
        .find(|f| f.required && !filled(&f.name))
    {
        return Err(DeskError::Invalid(format!("{} is required", missing.name)));
    }
    Ok(values)
}

/// A note or field value goes into the team's email as it is: at most [`MAX_FIELD_CHARS`]
/// characters, and no control characters (as chat refuses them).
fn check_text(name: &str, value: &str) -> Result<(), DeskError> {
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(DeskError::Invalid(format!(
            "{name} is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    if has_control_characters(value) {
        return Err(DeskError::Invalid(format!(
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
