//! The queries both SQL backends run. SQLite and PostgreSQL accept the same SQL here (`$N`
//! placeholders, `ON CONFLICT`, `RETURNING`, a `rowid` that orders messages), so the [`Store`]
//! implementation is written once, by [`sql_store!`], for each backend's pool and row type; only
//! the lock clause of the outbox claim differs (PostgreSQL's `FOR UPDATE SKIP LOCKED` lets
//! workers on several replicas claim different tickets without waiting on each other).
//!
//! [`Store`]: super::Store

use super::{random_id, Rating, SyncOutcome, TicketStatus};
use crate::answer::Role;

pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A JSON column the application wrote; a value that does not parse is an error, never an
/// empty transcript or list.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(raw).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn unknown(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {column} {value:?}").into())
}

pub(super) fn status_from(raw: &str) -> Result<TicketStatus, sqlx::Error> {
    TicketStatus::parse(raw).ok_or_else(|| unknown("ticket status", raw))
}

pub(super) fn role_from(raw: &str) -> Result<Role, sqlx::Error> {
    match raw {
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        other => Err(unknown("message role", other)),
    }
}

pub(super) fn rating_from(raw: &str) -> Result<Rating, sqlx::Error> {
    Rating::parse(raw).ok_or_else(|| unknown("rating", raw))
}

pub(super) fn sync_outcome_from(raw: &str) -> Result<SyncOutcome, sqlx::Error> {
    SyncOutcome::parse(raw).ok_or_else(|| unknown("sync outcome", raw))
}

/// A ticket id customers can read out: "T-" and 12 upper-case hex digits (48 random bits).
pub(super) fn ticket_id() -> String {
    format!("T-{}", random_id("", 6).to_uppercase())
}

/// SQL expression for the customer's turn just before the assistant message `a` (messages are
/// inserted in conversation order, so `rowid` orders them). A macro so queries embed it with
/// `concat!` at compile time.
macro_rules! question_before_answer {
    () => {
        "COALESCE((SELECT u.content FROM messages u
          WHERE u.conversation_id = a.conversation_id AND u.role = 'user' AND u.rowid < a.rowid
          ORDER BY u.rowid DESC LIMIT 1), '')"
    };
}

/// SQL for the ids of the conversations of the customer `$1` (contact address, any case) in
/// tenant `$2` (NULL: every tenant): those they gave the address in, and those they handed over
/// from.
macro_rules! customer_conversations {
    () => {
        "(SELECT id FROM conversations WHERE LOWER(contact_email) = LOWER($1) AND ($2 IS NULL OR tenant = $2)
          UNION SELECT conversation_id FROM tickets
          WHERE LOWER(contact_email) = LOWER($1) AND conversation_id IS NOT NULL AND ($2 IS NULL OR tenant = $2))"
    };
}

/// SQL for the ids of tenant `$1`'s conversations with nothing said at or after `$2` (Unix ms).
macro_rules! expired_conversations {
    () => {
        "(SELECT c.id FROM conversations c WHERE c.tenant = $1 AND c.created_at < $2
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.created_at >= $2))"
    };
}

/// Implements [`Store`](super::Store) for `$store` (a struct with a `pool: sqlx::Pool<$db>`),
/// reading rows of type `$row`; `$lock` ends the outbox claim's inner select.
macro_rules! sql_store {
    ($store:ty, $row:ty, lock = $lock:literal) => {
        use $crate::store::sql::{
            from_json, json, rating_from, role_from, status_from, ticket_id,
        };
        use $crate::store::{
            now_ms, random_id, Attachment, Delivery, FeedbackRecord, KnowledgeGeneration, NewTicket, Rating, Removed, Store,
            StoreError, StoredMessage, Ticket, TicketStatus, UnansweredQuestion,
        };
        use sqlx::Row as _;

        fn ticket_from_row(row: &$row) -> Result<Ticket, sqlx::Error> {
            Ok(Ticket {
                id: row.try_get("id")?,
                content: NewTicket {
                    tenant: row.try_get("tenant")?,
                    brand: row.try_get("brand")?,
                    support_email: row.try_get("support_email")?,
                    conversation_id: row.try_get("conversation_id")?,
                    question: row.try_get("question")?,
                    transcript: from_json(&row.try_get::<String, _>("transcript")?)?,
                    passages: from_json(&row.try_get::<String, _>("passages")?)?,
                    reason: row.try_get("reason")?,
                    confidence: row.try_get::<f64, _>("confidence")? as f32,
                    decision: decision_from(row)?,
                    contact_email: row.try_get("contact_email")?,
                    note: row.try_get("note")?,
                    fields: from_json(&row.try_get::<String, _>("fields")?)?,
                },
                status: status_from(&row.try_get::<String, _>("status")?)?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                last_error: row.try_get("last_error")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                created_at: row.try_get("created_at")?,
                sent_at: row.try_get("sent_at")?,
            })
        }

        fn message_from_row(row: &$row) -> Result<StoredMessage, sqlx::Error> {
            Ok(StoredMessage {
                id: row.try_get("id")?,
                conversation_id: row.try_get("conversation_id")?,
                role: role_from(&row.try_get::<String, _>("role")?)?,
                content: row.try_get("content")?,
                outcome: row.try_get("outcome")?,
                reason: row.try_get("reason")?,
                confidence: row
                    .try_get::<Option<f64>, _>("confidence")?
                    .map(|c| c as f32),
                citations: from_json(&row.try_get::<String, _>("citations")?)?,
                decision: decision_from(row)?,
                created_at: row.try_get("created_at")?,
            })
        }

        /// The `decision` column (JSON) of a message or ticket row; a value that does not parse
        /// is an error, not a missing decision.
        fn decision_from(row: &$row) -> Result<Option<$crate::answer::Decision>, sqlx::Error> {
            row.try_get::<Option<String>, _>("decision")?
                .map(|raw| from_json(&raw))
                .transpose()
        }

        fn feedback_from_row(row: &$row) -> Result<FeedbackRecord, sqlx::Error> {
            Ok(FeedbackRecord {
                message_id: row.try_get("message_id")?,
                tenant: row.try_get("tenant")?,
                conversation_id: row.try_get("conversation_id")?,
                rating: rating_from(&row.try_get::<String, _>("rating")?)?,
                comment: row.try_get("comment")?,
                question: row.try_get("question")?,
                answer: row.try_get("answer")?,
                citations: from_json(&row.try_get::<String, _>("citations")?)?,
                outcome: row.try_get("outcome")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn unanswered_from_row(row: &$row) -> Result<UnansweredQuestion, sqlx::Error> {
            Ok(UnansweredQuestion {
                tenant: row.try_get("tenant")?,
                conversation_id: row.try_get("conversation_id")?,
                message_id: row.try_get("message_id")?,
                question: row.try_get("question")?,
                confidence: row.try_get::<Option<f64>, _>("confidence")?.unwrap_or(0.0) as f32,
                created_at: row.try_get("created_at")?,
            })
        }

        #[async_trait::async_trait]
        impl Store for $store {
            async fn create_ticket(
                &self,
                t: NewTicket,
                attachments: Vec<Attachment>,
            ) -> Result<Ticket, StoreError> {
                let id = ticket_id();
                let now = now_ms();
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO tickets (id, tenant, brand, support_email, conversation_id, question, transcript, passages, reason, confidence, decision, contact_email, note, fields, status, attempts, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending', 0, $15, $15)",
                )
                .bind(&id)
                .bind(&t.tenant)
                .bind(&t.brand)
                .bind(&t.support_email)
                .bind(&t.conversation_id)
                .bind(&t.question)
                .bind(json(&t.transcript))
                .bind(json(&t.passages))
                .bind(&t.reason)
                .bind(f64::from(t.confidence))
                .bind(t.decision.as_ref().map(json))
                .bind(&t.contact_email)
                .bind(&t.note)
                .bind(json(&t.fields))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for attachment in &attachments {
                    sqlx::query(
                        "INSERT INTO attachments (ticket_id, filename, content_type, data) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&id)
                    .bind(&attachment.filename)
                    .bind(&attachment.content_type)
                    .bind(&attachment.data)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(Ticket {
                    id,
                    content: t,
                    status: TicketStatus::Pending,
                    attempts: 0,
                    last_error: None,
                    next_attempt_at: now,
                    created_at: now,
                    sent_at: None,
                })
            }

            async fn attachments(&self, ticket_id: &str) -> Result<Vec<Attachment>, StoreError> {
                let rows = sqlx::query(
                    "SELECT filename, content_type, data FROM attachments WHERE ticket_id = $1 ORDER BY id",
                )
                .bind(ticket_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(Attachment {
                            filename: row.try_get("filename")?,
                            content_type: row.try_get("content_type")?,
                            data: row.try_get("data")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(StoreError::from)
            }

            async fn ticket(&self, id: &str) -> Result<Option<Ticket>, StoreError> {
                let row = sqlx::query("SELECT * FROM tickets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(ticket_from_row).transpose()?)
            }

            async fn tickets(
                &self,
                status: Option<TicketStatus>,
                tenant: Option<&str>,
                limit: u32,
            ) -> Result<Vec<Ticket>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM tickets WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR tenant = $2)
                     ORDER BY created_at DESC, id LIMIT $3",
                )
                .bind(status.map(TicketStatus::as_str))
                .bind(tenant)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.iter().map(ticket_from_row).collect::<Result<_, _>>()?)
            }

            async fn claim_due_tickets(
                &self,
                now: i64,
                lease_ms: i64,
                limit: u32,
            ) -> Result<Vec<Ticket>, StoreError> {
                let mut rows = sqlx::query(concat!(
                    "UPDATE tickets SET claimed_until = $2 WHERE id IN (
                        SELECT id FROM tickets
                        WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1
                        ORDER BY next_attempt_at, created_at LIMIT $3",
                    $lock,
                    ") RETURNING *"
                ))
                .bind(now)
                .bind(now.saturating_add(lease_ms))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(ticket_from_row)
                .collect::<Result<Vec<_>, _>>()?;
                // RETURNING gives no order; deliver the longest-waiting first.
                rows.sort_by_key(|t| (t.next_attempt_at, t.created_at));
                Ok(rows)
            }

            async fn record_delivery(
                &self,
                id: &str,
                delivery: Delivery,
                now: i64,
            ) -> Result<(), StoreError> {
                let query = match &delivery {
                    Delivery::Sent => sqlx::query(
                        "UPDATE tickets SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = NULL, claimed_until = 0 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(now),
                    Delivery::Retry { error, at } => sqlx::query(
                        "UPDATE tickets SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, claimed_until = 0 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(error)
                    .bind(at),
                    Delivery::Failed { error } => sqlx::query(
                        "UPDATE tickets SET status = 'failed', attempts = attempts + 1, last_error = $2, claimed_until = 0 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(error),
                };
                let done = query.execute(&self.pool).await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn ticket_counts(&self) -> Result<Vec<(TicketStatus, u64)>, StoreError> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM tickets GROUP BY status")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(TicketStatus::ALL
                .into_iter()
                .map(|status| {
                    let count = rows
                        .iter()
                        .find(|(s, _)| s == status.as_str())
                        .map_or(0, |(_, n)| *n);
                    (status, count as u64)
                })
                .collect())
            }

            async fn retry_ticket(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE tickets SET status = 'pending', next_attempt_at = $2, claimed_until = 0 WHERE id = $1 AND status = 'failed'",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn announce_reindex(&self, scope: &str, origin: &str) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO knowledge_generations (scope, generation, origin, updated_at) VALUES ($1, 1, $2, $3)
                     ON CONFLICT (scope) DO UPDATE SET generation = knowledge_generations.generation + 1,
                       origin = excluded.origin, updated_at = excluded.updated_at
                     RETURNING generation",
                )
                .bind(scope)
                .bind(origin)
                .bind(now_ms())
                .fetch_one(&self.pool)
                .await?)
            }

            async fn knowledge_generations(&self) -> Result<Vec<KnowledgeGeneration>, StoreError> {
                let rows = sqlx::query("SELECT scope, generation, origin FROM knowledge_generations ORDER BY scope")
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok::<_, sqlx::Error>(KnowledgeGeneration {
                            scope: r.try_get("scope")?,
                            generation: r.try_get("generation")?,
                            origin: r.try_get("origin")?,
                        })
                    })
                    .collect::<Result<_, _>>()?)
            }

            async fn record_sync(&self, sync: &$crate::store::SyncRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO syncs (tenant, started_at, finished_at, outcome, pages, added, changed, removed, unchanged, errors)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&sync.tenant)
                .bind(sync.started_at)
                .bind(sync.finished_at)
                .bind(sync.outcome.as_str())
                .bind(sync.pages)
                .bind(sync.added)
                .bind(sync.changed)
                .bind(sync.removed)
                .bind(sync.unchanged)
                .bind($crate::store::sql::json(&sync.errors))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn syncs(&self, tenant: Option<&str>, limit: u32) -> Result<Vec<$crate::store::SyncRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT tenant, started_at, finished_at, outcome, pages, added, changed, removed, unchanged, errors
                     FROM syncs WHERE ($1 IS NULL OR tenant = $1) ORDER BY started_at DESC LIMIT $2",
                )
                .bind(tenant)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        Ok::<_, sqlx::Error>($crate::store::SyncRecord {
                            tenant: r.try_get("tenant")?,
                            started_at: r.try_get("started_at")?,
                            finished_at: r.try_get("finished_at")?,
                            outcome: $crate::store::sql::sync_outcome_from(r.try_get("outcome")?)?,
                            pages: r.try_get("pages")?,
                            added: r.try_get("added")?,
                            changed: r.try_get("changed")?,
                            removed: r.try_get("removed")?,
                            unchanged: r.try_get("unchanged")?,
                            errors: $crate::store::sql::from_json(r.try_get("errors")?)?,
                        })
                    })
                    .collect::<Result<_, _>>()?)
            }

            async fn purge_before(&self, tenant: &str, before: i64) -> Result<Removed, StoreError> {
                let mut tx = self.pool.begin().await?;
                let run = |sql: &'static str| sqlx::query(sql).bind(tenant).bind(before);
                run(concat!("DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN ",
                    $crate::store::sql::expired_conversations!(), ")"))
                    .execute(&mut *tx)
                    .await?;
                let messages = run(concat!("DELETE FROM messages WHERE conversation_id IN ",
                    $crate::store::sql::expired_conversations!()))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let conversations = run(concat!("DELETE FROM conversations WHERE id IN ",
                    $crate::store::sql::expired_conversations!()))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                run("DELETE FROM attachments WHERE ticket_id IN (SELECT id FROM tickets WHERE tenant = $1 AND status = 'sent' AND created_at < $2)")
                    .execute(&mut *tx)
                    .await?;
                let tickets = run("DELETE FROM tickets WHERE tenant = $1 AND status = 'sent' AND created_at < $2")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(Removed { conversations, messages, tickets })
            }

            async fn delete_customer(&self, email: &str, tenant: Option<&str>) -> Result<Removed, StoreError> {
                let mut tx = self.pool.begin().await?;
                let run = |sql: &'static str| sqlx::query(sql).bind(email).bind(tenant);
                run(concat!("DELETE FROM feedback WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN ",
                    $crate::store::sql::customer_conversations!(), ")"))
                    .execute(&mut *tx)
                    .await?;
                let messages = run(concat!("DELETE FROM messages WHERE conversation_id IN ",
                    $crate::store::sql::customer_conversations!()))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let conversations = run(concat!("DELETE FROM conversations WHERE id IN ",
                    $crate::store::sql::customer_conversations!()))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                run("DELETE FROM attachments WHERE ticket_id IN (SELECT id FROM tickets WHERE LOWER(contact_email) = LOWER($1) AND ($2 IS NULL OR tenant = $2))")
                    .execute(&mut *tx)
                    .await?;
                let tickets = run("DELETE FROM tickets WHERE LOWER(contact_email) = LOWER($1) AND ($2 IS NULL OR tenant = $2)")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(Removed { conversations, messages, tickets })
            }

            async fn create_conversation(
                &self,
                tenant: &str,
                token_hash: &str,
                contact_email: Option<&str>,
            ) -> Result<String, StoreError> {
                let id = random_id("c_", 16);
                sqlx::query("INSERT INTO conversations (id, tenant, token_hash, contact_email, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&id)
                    .bind(tenant)
                    .bind(token_hash)
                    .bind(contact_email)
                    .bind(now_ms())
                    .execute(&self.pool)
                    .await?;
                Ok(id)
            }

            async fn conversation(&self, id: &str) -> Result<Option<(String, String)>, StoreError> {
                let row = sqlx::query("SELECT tenant, token_hash FROM conversations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get("tenant")?, r.try_get("token_hash")?)))
                    .transpose()?)
            }

            async fn append_exchange(
                &self,
                conversation_id: &str,
                question: &str,
                reply: &StoredMessage,
            ) -> Result<(String, String), StoreError> {
                let user_id = random_id("m_", 12);
                let reply_id = if reply.id.is_empty() {
                    random_id("m_", 12)
                } else {
                    reply.id.clone()
                };
                let now = now_ms();
                // One statement, so both rows or neither, in one round trip; rows are numbered
                // in the order they are listed.
                sqlx::query(
                    "INSERT INTO messages (id, conversation_id, role, content, outcome, reason, confidence, citations, decision, created_at)
                     VALUES ($1, $2, 'user', $3, NULL, NULL, NULL, '[]', NULL, $4),
                            ($5, $2, 'assistant', $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&user_id)
                .bind(conversation_id)
                .bind(question)
                .bind(now)
                .bind(&reply_id)
                .bind(&reply.content)
                .bind(&reply.outcome)
                .bind(&reply.reason)
                .bind(reply.confidence.map(f64::from))
                .bind(reply.citations.to_string())
                .bind(reply.decision.as_ref().map(json))
                .bind(now + 1)
                .execute(&self.pool)
                .await?;
                Ok((user_id, reply_id))
            }

            async fn messages(&self, conversation_id: &str) -> Result<Vec<StoredMessage>, StoreError> {
                // Insertion order, not time: a second exchange in the same millisecond would
                // otherwise sort its question before the first exchange's reply.
                let rows = sqlx::query(
                    "SELECT * FROM messages WHERE conversation_id = $1 ORDER BY rowid",
                )
                .bind(conversation_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(message_from_row)
                    .collect::<Result<_, _>>()?)
            }

            async fn add_feedback(
                &self,
                message_id: &str,
                rating: Rating,
                comment: Option<&str>,
            ) -> Result<(), StoreError> {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT id FROM messages WHERE id = $1 AND role = 'assistant'")
                        .bind(message_id)
                        .fetch_optional(&self.pool)
                        .await?;
                if exists.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(
                    "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating,
                         comment = excluded.comment, created_at = excluded.created_at",
                )
                .bind(message_id)
                .bind(rating.as_str())
                .bind(comment)
                .bind(now_ms())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn feedback(
                &self,
                rating: Option<Rating>,
                tenant: Option<&str>,
                since: Option<i64>,
                limit: u32,
            ) -> Result<Vec<FeedbackRecord>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT f.message_id, c.tenant, a.conversation_id, f.rating, f.comment, f.created_at,
                            a.content AS answer, a.citations, a.outcome, ",
                    $crate::store::sql::question_before_answer!(),
                    " AS question
                     FROM feedback f
                     JOIN messages a ON a.id = f.message_id
                     JOIN conversations c ON c.id = a.conversation_id
                     WHERE ($1 IS NULL OR f.rating = $1) AND ($2 IS NULL OR c.tenant = $2) AND f.created_at >= $3
                     ORDER BY f.created_at DESC, f.id DESC LIMIT $4"
                ))
                .bind(rating.map(Rating::as_str))
                .bind(tenant)
                .bind(since.unwrap_or(i64::MIN))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(feedback_from_row)
                    .collect::<Result<_, _>>()?)
            }

            async fn low_confidence_questions(
                &self,
                tenant: Option<&str>,
                since: Option<i64>,
                limit: u32,
            ) -> Result<Vec<UnansweredQuestion>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT c.tenant, a.conversation_id, a.id AS message_id, a.confidence, a.created_at, ",
                    $crate::store::sql::question_before_answer!(),
                    " AS question
                     FROM messages a
                     JOIN conversations c ON c.id = a.conversation_id
                     WHERE a.role = 'assistant' AND a.outcome = 'escalate' AND a.reason = 'low_confidence'
                       AND ($1 IS NULL OR c.tenant = $1) AND a.created_at >= $2
                     ORDER BY a.created_at DESC, a.rowid DESC LIMIT $3"
                ))
                .bind(tenant)
                .bind(since.unwrap_or(i64::MIN))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(unanswered_from_row)
                    .collect::<Result<_, _>>()?)
            }
        }
    };
}

pub(super) use {customer_conversations, expired_conversations, question_before_answer, sql_store};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_stored_values_are_errors_not_defaults() {
        assert!(status_from("sent").is_ok());
        assert!(status_from("queued").is_err());
        assert!(role_from("system").is_err());
        assert!(rating_from("meh").is_err());
        assert!(from_json::<Vec<String>>("[\"a\"]").is_ok());
        assert!(from_json::<Vec<String>>("not json").is_err());
    }
}
