//! Handoff emails: rendering a ticket, and the [`Mailer`] transports that deliver it (SMTP via
//! lettre, or `.eml` files under the data folder when no SMTP server is configured).

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

use crate::answer::{Check, Decision, IntentSource, Role};
use crate::store::{Attachment, Ticket};

/// Whether a failed delivery is worth retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MailError {
    /// The server is down, busy or timed out: retry later.
    #[error("{0}")]
    Transient(String),
    /// The message can never be delivered as it is (bad address, rejected): give up.
    #[error("{0}")]
    Permanent(String),
}

/// Delivers one rendered email.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, ticket_id: &str, email: &Message) -> Result<(), MailError>;
}

/// SMTP through lettre, configured by one URL such as `smtp://host:25` (plain, for a relay on
/// loopback) or `smtps://user:password@host` / `smtp://user:password@host?tls=required`. The URL
/// holds the password, so it is never logged or shown in errors.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    pub fn from_url(url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| {
                "smtp.url (ASKDESK_SMTP_URL) is not a valid smtp:// or smtps:// URL".to_string()
            })?
            .timeout(Some(std::time::Duration::from_secs(15)))
            .build();
        Ok(Self { transport })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, _ticket_id: &str, email: &Message) -> Result<(), MailError> {
        match self.transport.send(email.clone()).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(format!(
                "SMTP rejected the message: {e}"
            ))),
            Err(e) => Err(MailError::Transient(format!("SMTP delivery failed: {e}"))),
        }
    }
}

/// Writes each email to `<dir>/<ticket id>.eml` (written to a temporary name, then renamed, so a
/// reader never sees half a message). The zero-configuration transport.
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, ticket_id: &str, email: &Message) -> Result<(), MailError> {
        let io =
            |e: std::io::Error| MailError::Transient(format!("writing the .eml file failed: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let name: String = ticket_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let tmp = self.dir.join(format!(".{name}.eml.tmp"));
        tokio::fs::write(&tmp, email.formatted())
            .await
            .map_err(io)?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{name}.eml")))
            .await
            .map_err(io)
    }
}

/// Renders the email the support team receives for a ticket.
pub fn render(
    ticket: &Ticket,
    attachments: &[Attachment],
    from: &Mailbox,
) -> Result<Message, MailError> {
    let t = &ticket.content;
    let permanent =
        |what: &str| MailError::Permanent(format!("{what} is not a valid email address"));
    let to: Mailbox = t
        .support_email
        .parse()
        .map_err(|_| permanent("the support address"))?;
    let domain = from.email.domain().to_string();
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject(ticket))
        .message_id(Some(format!("<{}@{domain}>", ticket.id)));
    if let Some(contact) = &t.contact_email {
        builder = builder.reply_to(
            contact
                .parse()
                .map_err(|_| permanent("the customer's address"))?,
        );
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text_body(ticket, attachments)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html_body(ticket, attachments)),
        );
    let body = if attachments.is_empty() {
        body
    } else {
        attachments
            .iter()
            .try_fold(MultiPart::mixed().multipart(body), |mixed, a| {
                let content_type = ContentType::parse(&a.content_type).map_err(|_| {
                    MailError::Permanent(format!("{} has an invalid content type", a.filename))
                })?;
                Ok(mixed.singlepart(
                    lettre::message::Attachment::new(a.filename.clone())
                        .body(a.data.clone(), content_type),
                ))
            })?
    };
    builder
        .multipart(body)
        .map_err(|e| MailError::Permanent(format!("the email could not be built: {e}")))
}

/// "[FictArt] Ticket T-1A2B3C4D5E6F: Can I get a refund…"
pub fn subject(ticket: &Ticket) -> String {
    let question: String = ticket
        .content
        .question
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let short: String = question.chars().take(60).collect();
    let ellipsis = if question.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    format!(
        "[{}] Ticket {}: {short}{ellipsis}",
        ticket.content.brand, ticket.id
    )
}

fn reason_text(reason: &str) -> &str {
    match reason {
        "requested_human" => "the customer asked for a person",
        "sensitive_topic" => "the question touches a topic that always goes to a person",
        "llm_declined" => "the answer model found no answer in the knowledge base",
        "llm_unavailable" => "the answer model was unavailable",
        "account_action" => "the customer asks for something only a person can do on their account",
        "incident" => "the customer reports something wrong on their account",
        "manipulation" => "the message tried to instruct the bot (it was not followed)",
        _ => "the knowledge base did not clearly answer the question",
    }
}

/// The check that decided and the signals it read, one line each (for the support team and for
/// anyone tuning the decision).
fn decision_lines(decision: &Decision) -> [String; 2] {
    let check = match &decision.check {
        Check::Intent { intent, source } => {
            let by = match source {
                IntentSource::Classifier => "classifier",
                IntentSource::BrandExample => "the brand's example",
            };
            format!("intent {} ({by})", intent.as_str())
        }
        Check::SensitivePhrase { topic } => format!("sensitive phrase ({topic})"),
        Check::RequestsHuman => "an explicit request for a person".into(),
        Check::InstructsBot => "an instruction to the bot".into(),
        Check::NoPassage => "no passage found".into(),
        Check::Confidence => "answerability below the brand's threshold".into(),
        Check::ModelDeclined => "the answer model found no answer in the passages".into(),
        Check::ModelUnavailable => {
            "the answer model failed and the quoted answer was not sure enough".into()
        }
        Check::Answered => "answered".into(),
    };
    let signals: Vec<String> = decision
        .signals
        .named()
        .iter()
        .map(|(name, value)| format!("{name} {value:.2}"))
        .collect();
    [
        format!("Decided by: {check}"),
        format!("Signals: {}", signals.join(", ")),
    ]
}

fn text_body(ticket: &Ticket, attachments: &[Attachment]) -> String {
    let t = &ticket.content;
    let mut out = format!(
        "Ticket {} for {}\n\nQuestion:\n{}\n\nCustomer email: {}\nWhy the bot handed over: {} ({})\nRetrieval confidence: {:.2}\n",
        ticket.id,
        t.brand,
        t.question,
        t.contact_email.as_deref().unwrap_or("not given (reply through your usual channel)"),
        reason_text(&t.reason),
        t.reason,
        t.confidence
    );
    if let Some(decision) = &t.decision {
        for line in decision_lines(decision) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(note) = &t.note {
        out.push_str(&format!("\nNote from the customer:\n{note}\n"));
    }
    if !t.fields.is_empty() {
        out.push_str("\nDetails the customer gave:\n");
        for f in &t.fields {
            out.push_str(&format!("- {}: {}\n", f.label, f.value));
        }
    }
    if !attachments.is_empty() {
        out.push_str("\nScreenshots (attached):\n");
        for a in attachments {
            out.push_str(&format!("- {}\n", a.filename));
        }
    }
    out.push_str("\nTranscript:\n");
    for turn in &t.transcript {
        let who = if turn.role == Role::User {
            "Customer"
        } else {
            "Bot"
        };
        out.push_str(&format!("{who}: {}\n", turn.content));
    }
    out.push_str(&format!("Customer: {}\n", t.question));
    out.push_str("\nPassages the bot retrieved:\n");
    for p in &t.passages {
        out.push_str(&format!(
            "- [{:.3}] {} ({})\n  {}\n",
            p.score,
            p.title,
            p.id,
            p.text.replace('\n', "\n  ")
        ));
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_body(ticket: &Ticket, attachments: &[Attachment]) -> String {
    let t = &ticket.content;
    let mut out = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>Ticket {} for {}</h2><p><strong>Question:</strong><br>{}</p><p>Customer email: {}<br>Why the bot handed over: {}<br>Retrieval confidence: {:.2}</p>",
        escape(&ticket.id),
        escape(&t.brand),
        escape(&t.question).replace('\n', "<br>"),
        escape(t.contact_email.as_deref().unwrap_or("not given")),
        escape(reason_text(&t.reason)),
        t.confidence
    );
    if let Some(decision) = &t.decision {
        let [check, signals] = decision_lines(decision);
        out.push_str(&format!(
            "<p style=\"color:#555\">{}<br>{}</p>",
            escape(&check),
            escape(&signals)
        ));
    }
    if let Some(note) = &t.note {
        out.push_str(&format!(
            "<p><strong>Note from the customer:</strong><br>{}</p>",
            escape(note)
        ));
    }
    if !t.fields.is_empty() {
        out.push_str("<h3>Details the customer gave</h3><dl>");
        for f in &t.fields {
            out.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(&f.label),
                escape(&f.value)
            ));
        }
        out.push_str("</dl>");
    }
    if !attachments.is_empty() {
        out.push_str("<h3>Screenshots (attached)</h3><ul>");
        for a in attachments {
            out.push_str(&format!("<li>{}</li>", escape(&a.filename)));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h3>Transcript</h3><ol>");
    for turn in &t.transcript {
        let who = if turn.role == Role::User {
            "Customer"
        } else {
            "Bot"
        };
        out.push_str(&format!(
            "<li><strong>{who}:</strong> {}</li>",
            escape(&turn.content)
        ));
    }
    out.push_str(&format!(
        "<li><strong>Customer:</strong> {}</li></ol>",
        escape(&t.question)
    ));
    out.push_str("<h3>Passages the bot retrieved</h3><ul>");
    for p in &t.passages {
        out.push_str(&format!(
            "<li>[{:.3}] <strong>{}</strong> ({})<br>{}</li>",
            p.score,
            escape(&p.title),
            escape(&p.id),
            escape(&p.text)
        ));
    }
    out.push_str("</ul></body></html>");
    out
}
