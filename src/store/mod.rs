//! Persistence behind the [`Store`] trait: conversations, messages, tickets (the email outbox)
//! and feedback. SQLite is the embedded default ([`SqliteStore`]); PostgreSQL
//! ([`PostgresStore`]) lets several replicas share one database. [`open`] picks one by URL.

mod postgres;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::answer::{Decision, Turn};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be reached just now (connection refused or lost, no free
    /// connection in time): worth retrying, unlike a [`StoreError::Database`] error.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// Where a ticket is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Pending,
    Sent,
    Failed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 3] = [
        TicketStatus::Pending,
        TicketStatus::Sent,
        TicketStatus::Failed,
    ];

    /// The status `raw` names (as [`TicketStatus::as_str`] writes it), if any.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Pending => "pending",
            TicketStatus::Sent => "sent",
            TicketStatus::Failed => "failed",
        }
    }
}

/// A retrieved passage as the support team sees it in the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketPassage {
    pub id: String,
    pub title: String,
    pub score: f32,
    pub text: String,
}

/// One handoff field the brand asks for, with the customer's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffValue {
    pub label: String,
    pub value: String,
}

/// What an escalation stores; the brand and address are snapshots, so a later change of
/// tenant.toml does not redirect a ticket already promised to a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub tenant: String,
    pub brand: String,
    pub support_email: String,
    pub conversation_id: Option<String>,
    pub question: String,
    pub transcript: Vec<Turn>,
    pub passages: Vec<TicketPassage>,
    pub reason: String,
    pub confidence: f32,
    /// The check that decided to hand over and the signals it read (none for a hand-over the
    /// customer asked for through the form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub contact_email: Option<String>,
    pub note: Option<String>,
    pub fields: Vec<HandoffValue>,
}

/// A file the customer attached to a handoff (a screenshot), stored with its ticket and
/// attached to the email. The content type is the one detected from the bytes, not the one the
/// client claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A stored ticket with its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    #[serde(flatten)]
    pub content: NewTicket,
    pub status: TicketStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent,
    /// Try again at `at` (Unix ms).
    Retry {
        error: String,
        at: i64,
    },
    /// Give up: the error is permanent or the attempts are used up.
    Failed {
        error: String,
    },
}

/// A message of a conversation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: String,
    pub conversation_id: String,
    pub role: crate::answer::Role,
    pub content: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub confidence: Option<f32>,
    pub citations: serde_json::Value,
    /// The bot's decision behind this reply (assistant messages; none for messages stored
    /// before the store kept it).
    pub decision: Option<Decision>,
    pub created_at: i64,
}

/// A customer's rating of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    /// The rating `raw` names (as [`Rating::as_str`] writes it), if any.
    pub fn parse(raw: &str) -> Option<Self> {
        [Rating::Up, Rating::Down]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
}

/// One rating as the support lead reviews it: the answer rated and the question it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedbackRecord {
    /// The rated assistant message.
    pub message_id: String,
    pub tenant: String,
    pub conversation_id: String,
    pub rating: Rating,
    pub comment: Option<String>,
    /// The customer's turn just before the rated answer.
    pub question: String,
    pub answer: String,
    /// The citations shown with the answer, as the chat API returned them.
    #[schema(value_type = Vec<crate::answer::Citation>)]
    pub citations: serde_json::Value,
    pub outcome: Option<String>,
    /// When the rating was given (Unix ms).
    pub created_at: i64,
}

/// A question the knowledge base could not answer with confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnansweredQuestion {
    pub tenant: String,
    pub conversation_id: String,
    /// The escalating assistant message that answered it.
    pub message_id: String,
    pub question: String,
    pub confidence: f32,
    /// When it was answered (Unix ms).
    pub created_at: i64,
}

/// The persistence seam. Every write is one transaction: nothing is stored half-way.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Stores a ticket and its attachments in one transaction.
    async fn create_ticket(
        &self,
        ticket: NewTicket,
        attachments: Vec<Attachment>,
    ) -> Result<Ticket, StoreError>;
    /// A ticket's attachments, in the order they were given. Loaded on their own because they
    /// can be megabytes: ticket listings never read them.
    async fn attachments(&self, ticket_id: &str) -> Result<Vec<Attachment>, StoreError>;
    async fn ticket(&self, id: &str) -> Result<Option<Ticket>, StoreError>;
    /// Newest first, optionally of one status and one tenant.
    async fn tickets(
        &self,
        status: Option<TicketStatus>,
        tenant: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError>;
    /// Claims up to `limit` pending tickets whose next attempt is due at `now` and that no
    /// worker holds, for `lease_ms`: until then no other worker (on any replica) gets them.
    /// Oldest first. [`Store::record_delivery`] releases the claim; a worker that dies before
    /// it leaves a claim that expires, and the ticket is claimed again.
    async fn claim_due_tickets(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Ticket>, StoreError>;
    async fn record_delivery(
        &self,
        id: &str,
        delivery: Delivery,
        now: i64,
    ) -> Result<(), StoreError>;
    /// How many tickets are in each status (every status listed, zeros included).
    async fn ticket_counts(&self) -> Result<Vec<(TicketStatus, u64)>, StoreError>;
    /// Puts a failed ticket back in the outbox; false when it was not failed.
    async fn retry_ticket(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    async fn create_conversation(
        &self,
        tenant: &str,
        token_hash: &str,
        contact_email: Option<&str>,
    ) -> Result<String, StoreError>;
    /// (tenant, token hash) of a conversation.
    async fn conversation(&self, id: &str) -> Result<Option<(String, String)>, StoreError>;
    /// Appends a user turn and the assistant's reply together (both or neither). The reply
    /// keeps `reply.id` when one is given (a stream names its message before the reply is
    /// stored); an empty id gets a new one. Returns (question id, reply id).
    async fn append_exchange(
        &self,
        conversation_id: &str,
        question: &str,
        reply: &StoredMessage,
    ) -> Result<(String, String), StoreError>;
    async fn messages(&self, conversation_id: &str) -> Result<Vec<StoredMessage>, StoreError>;
    /// Rates an assistant message; one rating per message, a later one replaces it.
    async fn add_feedback(
        &self,
        message_id: &str,
        rating: Rating,
        comment: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Ratings with the answer rated and the question before it, newest first, optionally of
    /// one rating and one tenant, given at or after `since` (Unix ms).
    async fn feedback(
        &self,
        rating: Option<Rating>,
        tenant: Option<&str>,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FeedbackRecord>, StoreError>;
    /// Deletes what retention no longer keeps for `tenant`: conversations with nothing said at
    /// or after `before` (Unix ms), with their messages and ratings, and delivered tickets
    /// created before it, with their screenshots. Tickets not yet delivered are kept.
    async fn purge_before(&self, tenant: &str, before: i64) -> Result<Removed, StoreError>;
    /// Deletes every conversation and ticket of the customer with this contact address (any
    /// case), of one tenant or all: the conversations they gave the address in or handed over
    /// from, their messages and ratings, the tickets and their screenshots.
    async fn delete_customer(
        &self,
        email: &str,
        tenant: Option<&str>,
    ) -> Result<Removed, StoreError>;
    /// Announces that replica `origin` re-indexed `scope` (a tenant id, or
    /// [`ALL_TENANTS`]): its generation goes up by one. Returns the new generation.
    async fn announce_reindex(&self, scope: &str, origin: &str) -> Result<i64, StoreError>;
    /// Every scope's latest generation and the replica that moved it there.
    async fn knowledge_generations(&self) -> Result<Vec<KnowledgeGeneration>, StoreError>;
    /// Records a website sync.
    async fn record_sync(&self, sync: &SyncRecord) -> Result<(), StoreError>;
    /// Recorded syncs, newest first, of one tenant or all.
    async fn syncs(&self, tenant: Option<&str>, limit: u32) -> Result<Vec<SyncRecord>, StoreError>;
    /// Questions whose answer escalated with `low_confidence` (the knowledge base's gaps),
    /// newest first, optionally of one tenant, asked at or after `since` (Unix ms).
    async fn low_confidence_questions(
        &self,
        tenant: Option<&str>,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<UnansweredQuestion>, StoreError>;
}

/// What a purge or a customer's deletion removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub conversations: u64,
    pub messages: u64,
    pub tickets: u64,
}

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, other: Self) {
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.tickets += other.tickets;
    }
}

/// The scope of a re-index of every tenant (tenant ids never contain `*`).
pub const ALL_TENANTS: &str = "*";

/// How a website sync of a tenant ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Pages were added, changed or removed, and the tenant re-indexed.
    Applied,
    /// Nothing had changed.
    Unchanged,
    /// It would have removed too many pages; nothing was changed.
    Refused,
}

impl SyncOutcome {
    pub const ALL: [SyncOutcome; 3] = [Self::Applied, Self::Unchanged, Self::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Refused => "refused",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw)
    }
}

/// One website sync of a tenant, as recorded for the console and `GET /api/admin/syncs`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SyncRecord {
    pub tenant: String,
    /// Unix ms.
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: SyncOutcome,
    /// Synced pages after it.
    pub pages: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub unchanged: i64,
    /// Pages (or whole sources) that could not be fetched; their last good copy was kept.
    pub errors: Vec<crate::sync::PageError>,
}

/// How often a scope (a tenant id or [`ALL_TENANTS`]) was re-indexed, and by which replica last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeGeneration {
    pub scope: String,
    pub generation: i64,
    pub origin: String,
}

/// Opens the store `url` names: `sqlite://PATH` (a file, created if missing) or
/// `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::open(url).await?));
    }
    Err(StoreError::Database(
        "database_url must start with sqlite:// or postgres://".into(),
    ))
}

/// A random identifier: `prefix` then `bytes` random bytes in lowercase hex.
pub fn random_id(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS generator failing is not recoverable and not expected on any supported platform.
    getrandom::fill(&mut buf).expect("the operating system's random generator is available");
    format!("{prefix}{}", crate::index::hex(&buf))
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
