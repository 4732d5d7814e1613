//! Escalation: an answer the bot hands over becomes a ticket, stored first (the outbox), then
//! emailed to the brand's support address by the [`Outbox`] worker.

mod mail;
mod outbox;

pub(crate) use mail::escape as escape_html;
pub use mail::{render, subject, FileMailer, MailError, Mailer, SmtpMailer};
pub use outbox::{Outbox, RetryPolicy};

use lettre::message::Mailbox;
use std::path::Path;
use std::sync::Arc;

use crate::answer::{Answer, EscalationReason, Turn};
use crate::config::SmtpSettings;
use crate::knowledge::TenantConfig;
use crate::store::{HandoffValue, NewTicket, TicketPassage};

/// The ticket for an escalated answer: question, transcript, retrieved passages with scores,
/// reason and confidence, and the customer's contact details when given.
pub fn ticket_for(
    tenant: &str,
    config: &TenantConfig,
    question: &str,
    history: &[Turn],
    answer: &Answer,
    contact_email: Option<&str>,
) -> NewTicket {
    NewTicket {
        tenant: tenant.to_string(),
        brand: config.name.clone(),
        support_email: config.support_email.clone(),
        conversation_id: None,
        question: question.trim().to_string(),
        transcript: history.to_vec(),
        passages: answer
            .retrieved
            .iter()
            .map(|h| TicketPassage {
                id: h.passage.id.clone(),
                title: h.passage.title(),
                score: h.score,
                text: h.passage.text.clone(),
            })
            .collect(),
        reason: answer
            .reason
            .unwrap_or(EscalationReason::RequestedHuman)
            .as_str()
            .to_string(),
        confidence: answer.confidence,
        decision: Some(answer.decision.clone()),
        contact_email: contact_email.map(String::from),
        note: None,
        fields: Vec::<HandoffValue>::new(),
    }
}

/// The transport: SMTP when `smtp.url` is set, else `.eml` files in `<data>/outbox/` so the
/// zero-configuration run still hands over.
pub fn mailer(smtp: &SmtpSettings, data_dir: &Path) -> Result<Arc<dyn Mailer>, String> {
    match &smtp.url {
        Some(url) => Ok(Arc::new(SmtpMailer::from_url(url.expose())?)),
        None => Ok(Arc::new(FileMailer::new(data_dir.join("outbox")))),
    }
}

/// The sender address of handoff emails (`smtp.from`).
pub fn from_address(smtp: &SmtpSettings) -> Result<Mailbox, String> {
    smtp.from
        .parse()
        .map_err(|_| format!("smtp.from is not a valid address: {:?}", smtp.from))
}
