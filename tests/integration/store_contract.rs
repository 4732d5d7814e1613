//! The store contract: one set of checks that every backend passes, run against a real SQLite
//! file and a real PostgreSQL server (127.0.0.1:5432, trust auth, database `test`, or
//! `ASKDESK_TEST_POSTGRES_URL`). Each PostgreSQL database of a test is a schema of its own,
//! created for it and dropped after it.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use askdesk::answer::{Role, Turn};
use askdesk::store::{
    now_ms, Attachment, Delivery, NewTicket, Rating, Removed, Store, StoreError, StoredMessage,
    SyncOutcome, SyncRecord, TicketPassage, TicketStatus,
};
use askdesk::sync::PageError;

/// A database for one test: the store and the URL it was opened with (so a test can open the
/// same database again, as a second replica or after a restart).
pub struct TestDatabase {
    pub url: String,
    pub store: Arc<dyn Store>,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

/// The server the PostgreSQL tests use.
pub fn postgres_server() -> String {
    std::env::var("ASKDESK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl TestDatabase {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("askdesk.db").display());
        let store = askdesk::store::open(&url).await.unwrap();
        Self {
            url,
            store,
            schema: None,
            _dir: Some(dir),
        }
    }

    /// A fresh schema on the test server.
    pub async fn postgres() -> Self {
        let server = postgres_server();
        let schema = askdesk::store::random_id("askdesk_test_", 8);
        let admin = sqlx::PgPool::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} is needed by the store tests: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = format!("{server}?options[search_path]={schema}");
        let store = askdesk::store::open(&url).await.unwrap();
        Self {
            url,
            store,
            schema: Some(schema),
            _dir: None,
        }
    }

    /// Drops the test's schema (SQLite's folder goes with the value).
    pub async fn remove(self) {
        if let Some(schema) = &self.schema {
            let admin = sqlx::PgPool::connect(&postgres_server()).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
        }
    }

    /// Runs `sql` on the database directly (to corrupt a row the way a bad migration or a
    /// hand edit would).
    async fn execute_raw(&self, sql: &str) {
        if self.url.starts_with("sqlite://") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
    }
}

/// A PostgreSQL schema for a test of whole services (replicas), kept with the runtime its pool
/// lives on until the test ends, then dropped.
pub struct SharedDatabase {
    runtime: tokio::runtime::Runtime,
    db: Option<TestDatabase>,
}

impl SharedDatabase {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let db = runtime.block_on(TestDatabase::postgres());
        Self {
            runtime,
            db: Some(db),
        }
    }

    pub fn url(&self) -> &str {
        &self.db.as_ref().unwrap().url
    }
}

impl Drop for SharedDatabase {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            self.runtime.block_on(db.remove());
        }
    }
}

/// Runs `check` on SQLite and then on PostgreSQL.
fn on_both_backends<F, Fut>(check: F)
where
    F: Fn(TestDatabase) -> Fut,
    Fut: Future<Output = TestDatabase>,
{
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        check(TestDatabase::sqlite().await).await.remove().await;
        check(TestDatabase::postgres().await).await.remove().await;
    });
}

pub fn new_ticket(tenant: &str, question: &str) -> NewTicket {
    NewTicket {
        tenant: tenant.into(),
        brand: "Acme".into(),
        support_email: "support@acme.test".into(),
        conversation_id: None,
        question: question.into(),
        transcript: vec![Turn {
            role: Role::User,
            content: "earlier turn".into(),
        }],
        passages: vec![TicketPassage {
            id: "acme/billing#refunds".into(),
            title: "Refunds".into(),
            score: 0.5,
            text: "Refunds within 14 days.".into(),
        }],
        reason: "low_confidence".into(),
        confidence: 0.25,
        decision: None,
        contact_email: Some("jane@customer.test".into()),
        note: Some("a note".into()),
        fields: Vec::new(),
    }
}

fn reply(conversation: &str, outcome: &str, reason: Option<&str>) -> StoredMessage {
    StoredMessage {
        id: String::new(),
        conversation_id: conversation.into(),
        role: Role::Assistant,
        content: "Within 14 days.".into(),
        outcome: Some(outcome.into()),
        reason: reason.map(str::to_string),
        confidence: Some(0.4),
        citations: serde_json::json!([{"id": "acme/billing#refunds"}]),
        decision: None,
        created_at: 0,
    }
}

#[test]
fn tickets_and_their_attachments_are_stored_whole() {
    on_both_backends(|db| async move {
        let store = &db.store;
        let image = Attachment {
            filename: "screen.png".into(),
            content_type: "image/png".into(),
            data: vec![0x89, b'P', b'N', b'G', 0, 255],
        };
        let created = store
            .create_ticket(
                new_ticket("acme", "Where is my refund?"),
                vec![image.clone()],
            )
            .await
            .unwrap();
        let read = store.ticket(&created.id).await.unwrap().unwrap();
        assert_eq!(read, created);
        assert_eq!(store.attachments(&created.id).await.unwrap(), vec![image]);
        assert!(store.ticket("T-NONE").await.unwrap().is_none());

        store
            .create_ticket(new_ticket("other", "Second"), Vec::new())
            .await
            .unwrap();
        let acme = store.tickets(None, Some("acme"), 10).await.unwrap();
        assert_eq!(acme.len(), 1);
        let pending = store
            .tickets(Some(TicketStatus::Pending), None, 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(store.tickets(None, None, 1).await.unwrap().len(), 1);
        let counts = store.ticket_counts().await.unwrap();
        assert_eq!(
            counts,
            vec![
                (TicketStatus::Pending, 2),
                (TicketStatus::Sent, 0),
                (TicketStatus::Failed, 0)
            ]
        );
        db
    });
}

#[test]
fn a_claimed_ticket_is_not_claimed_again_until_its_lease_ends() {
    on_both_backends(|db| async move {
        let store = &db.store;
        let ticket = store
            .create_ticket(new_ticket("acme", "Claim me"), Vec::new())
            .await
            .unwrap();
        let now = now_ms();
        let first = store.claim_due_tickets(now, 60_000, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            store
                .claim_due_tickets(now, 60_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "a held ticket goes to no other worker"
        );
        // the worker died: once the lease has run out another worker takes the ticket
        let later = store
            .claim_due_tickets(now + 60_001, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(later.len(), 1);
        // a retry releases the claim and waits for its time
        let at = now + 5_000;
        store
            .record_delivery(
                &ticket.id,
                Delivery::Retry {
                    error: "down".into(),
                    at,
                },
                now,
            )
            .await
            .unwrap();
        assert!(store
            .claim_due_tickets(at - 1, 60_000, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.claim_due_tickets(at, 60_000, 10).await.unwrap().len(),
            1
        );
        store
            .record_delivery(&ticket.id, Delivery::Sent, at)
            .await
            .unwrap();
        let sent = store.ticket(&ticket.id).await.unwrap().unwrap();
        assert_eq!(
            (sent.status, sent.attempts, sent.sent_at),
            (TicketStatus::Sent, 2, Some(at))
        );
        assert!(store
            .claim_due_tickets(at + 120_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.record_delivery("T-NONE", Delivery::Sent, at).await,
            Err(StoreError::NotFound)
        ));
        db
    });
}

#[test]
fn workers_claiming_at_once_never_share_a_ticket() {
    on_both_backends(|db| async move {
        // two stores on one database: two replicas' workers
        let other = askdesk::store::open(&db.url).await.unwrap();
        for n in 0..40 {
            db.store
                .create_ticket(new_ticket("acme", &format!("ticket {n}")), Vec::new())
                .await
                .unwrap();
        }
        let now = now_ms();
        let claim = |store: Arc<dyn Store>| async move {
            let mut ids = Vec::new();
            loop {
                let batch = store.claim_due_tickets(now, 60_000, 3).await.unwrap();
                if batch.is_empty() {
                    return ids;
                }
                ids.extend(batch.into_iter().map(|t| t.id));
            }
        };
        let (a, b) = tokio::join!(
            tokio::spawn(claim(db.store.clone())),
            tokio::spawn(claim(other))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let all: HashSet<_> = a.iter().chain(&b).collect();
        assert_eq!(a.len() + b.len(), 40, "every ticket claimed once");
        assert_eq!(all.len(), 40, "no ticket claimed by both");
        db
    });
}

#[test]
fn failed_tickets_wait_for_a_person_and_go_back_on_retry() {
    on_both_backends(|db| async move {
        let store = &db.store;
        let ticket = store
            .create_ticket(new_ticket("acme", "Fail me"), Vec::new())
            .await
            .unwrap();
        let now = now_ms();
        store
            .record_delivery(
                &ticket.id,
                Delivery::Failed {
                    error: "bad address".into(),
                },
                now,
            )
            .await
            .unwrap();
        let failed = store.ticket(&ticket.id).await.unwrap().unwrap();
        assert_eq!(failed.status, TicketStatus::Failed);
        assert_eq!(failed.last_error.as_deref(), Some("bad address"));
        assert!(store
            .claim_due_tickets(now, 1000, 10)
            .await
            .unwrap()
            .is_empty());
        assert!(store.retry_ticket(&ticket.id, now).await.unwrap());
        assert!(
            !store.retry_ticket(&ticket.id, now).await.unwrap(),
            "only failed ones"
        );
        assert_eq!(
            store.claim_due_tickets(now, 1000, 10).await.unwrap().len(),
            1
        );
        db
    });
}

#[test]
fn conversations_messages_and_feedback_are_stored_whole() {
    on_both_backends(|db| async move {
        let store = &db.store;
        let conversation = store
            .create_conversation("acme", "hash", Some("jane@customer.test"))
            .await
            .unwrap();
        assert_eq!(
            store.conversation(&conversation).await.unwrap(),
            Some(("acme".into(), "hash".into()))
        );
        assert!(store.conversation("c_none").await.unwrap().is_none());
        let (user_id, reply_id) = store
            .append_exchange(
                &conversation,
                "Refund?",
                &reply(&conversation, "answer", None),
            )
            .await
            .unwrap();
        let named = StoredMessage {
            id: "m_named".into(),
            ..reply(&conversation, "escalate", Some("low_confidence"))
        };
        let (_, kept) = store
            .append_exchange(&conversation, "Where is it?", &named)
            .await
            .unwrap();
        assert_eq!(kept, "m_named", "a reply keeps the id a stream gave it");
        let messages = store.messages(&conversation).await.unwrap();
        let order: Vec<_> = messages
            .iter()
            .map(|m| (m.role, m.content.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![
                (Role::User, "Refund?"),
                (Role::Assistant, "Within 14 days."),
                (Role::User, "Where is it?"),
                (Role::Assistant, "Within 14 days."),
            ]
        );
        assert_eq!(messages[1].id, reply_id);
        assert_eq!(messages[1].citations[0]["id"], "acme/billing#refunds");

        store
            .add_feedback(&reply_id, Rating::Down, Some("too short"))
            .await
            .unwrap();
        store
            .add_feedback(&reply_id, Rating::Up, None)
            .await
            .unwrap();
        let rated = store.feedback(None, Some("acme"), None, 100).await.unwrap();
        assert_eq!(rated.len(), 1, "one rating per answer, the latest");
        assert_eq!(
            (rated[0].rating, rated[0].comment.as_deref()),
            (Rating::Up, None)
        );
        assert_eq!(
            rated[0].question, "Refund?",
            "the question before the answer"
        );
        assert!(store
            .feedback(Some(Rating::Down), None, None, 100)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.add_feedback(&user_id, Rating::Up, None).await,
            Err(StoreError::NotFound)
        ));

        let gaps = store
            .low_confidence_questions(Some("acme"), None, 10)
            .await
            .unwrap();
        assert_eq!(gaps.len(), 1);
        assert_eq!(
            (gaps[0].question.as_str(), gaps[0].message_id.as_str()),
            ("Where is it?", "m_named")
        );
        assert!(store
            .low_confidence_questions(Some("acme"), Some(now_ms() + 60_000), 10)
            .await
            .unwrap()
            .is_empty());

        // a message for a conversation that does not exist is refused and nothing is written
        assert!(store
            .append_exchange("c_missing", "Q", &reply("c_missing", "answer", None))
            .await
            .is_err());
        assert!(store.messages("c_missing").await.unwrap().is_empty());
        db
    });
}

#[test]
fn a_stored_value_the_store_does_not_know_is_an_error_not_a_default() {
    on_both_backends(|db| async move {
        let ticket = db
            .store
            .create_ticket(new_ticket("acme", "Corrupt me"), Vec::new())
            .await
            .unwrap();
        // the schema allows only known statuses; a bad transcript is what a hand edit can leave
        db.execute_raw(&format!(
            "UPDATE tickets SET transcript = 'not json' WHERE id = '{}'",
            ticket.id
        ))
        .await;
        assert!(matches!(
            db.store.ticket(&ticket.id).await,
            Err(StoreError::Database(_))
        ));
        db
    });
}

fn sync_record(tenant: &str, started_at: i64, outcome: SyncOutcome) -> SyncRecord {
    SyncRecord {
        tenant: tenant.into(),
        started_at,
        finished_at: started_at + 1500,
        outcome,
        pages: 40,
        added: 2,
        changed: 1,
        removed: 0,
        unchanged: 37,
        errors: vec![PageError {
            url: "https://help.acme.test/broken".into(),
            message: "https://help.acme.test/broken: HTTP 500".into(),
        }],
    }
}

#[test]
fn website_syncs_are_recorded_and_listed_newest_first() {
    on_both_backends(|db| async move {
        let records = [
            sync_record("acme", 1_000, SyncOutcome::Applied),
            sync_record("globex", 2_000, SyncOutcome::Refused),
            sync_record("acme", 3_000, SyncOutcome::Unchanged),
        ];
        for record in &records {
            db.store.record_sync(record).await.unwrap();
        }
        let acme = db.store.syncs(Some("acme"), 10).await.unwrap();
        assert_eq!(acme, [records[2].clone(), records[0].clone()]);
        let all = db.store.syncs(None, 2).await.unwrap();
        assert_eq!(all, [records[2].clone(), records[1].clone()]);
        assert!(db
            .store
            .syncs(Some("initech"), 10)
            .await
            .unwrap()
            .is_empty());
        // an outcome the store does not know is an error, not a default
        db.execute_raw("UPDATE syncs SET outcome = 'exploded' WHERE started_at = 1000")
            .await;
        assert!(matches!(
            db.store.syncs(Some("acme"), 10).await,
            Err(StoreError::Database(_))
        ));
        db
    });
}

#[test]
fn a_bad_or_unreachable_database_url_is_a_clear_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Err(error) = askdesk::store::open("mysql://localhost/x").await else {
            panic!("an unknown scheme is refused");
        };
        assert!(
            error.to_string().contains("sqlite:// or postgres://"),
            "{error}"
        );
        let port = crate::smtp::free_port();
        let Err(error) =
            askdesk::store::open(&format!("postgres://postgres@127.0.0.1:{port}/test")).await
        else {
            panic!("nothing listens there");
        };
        assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    });
}

/// A conversation of `tenant` (contact address `contact`) with one exchange; returns its id.
async fn chat(store: &dyn Store, tenant: &str, contact: Option<&str>) -> String {
    let id = store
        .create_conversation(tenant, "hash", contact)
        .await
        .unwrap();
    store
        .append_exchange(
            &id,
            "How long do refunds take?",
            &reply(&id, "answer", None),
        )
        .await
        .unwrap();
    id
}

/// A ticket of `tenant` for `contact`, delivered or not, with one screenshot.
async fn ticket(
    store: &dyn Store,
    tenant: &str,
    contact: &str,
    conversation: Option<&str>,
    sent: bool,
) -> String {
    let mut new = new_ticket(tenant, "Where is my refund?");
    new.contact_email = Some(contact.into());
    new.conversation_id = conversation.map(str::to_string);
    let shot = Attachment {
        filename: "screen.png".into(),
        content_type: "image/png".into(),
        data: vec![1, 2, 3],
    };
    let ticket = store.create_ticket(new, vec![shot]).await.unwrap();
    if sent {
        store
            .record_delivery(&ticket.id, Delivery::Sent, now_ms())
            .await
            .unwrap();
    }
    ticket.id
}

fn removed(conversations: u64, messages: u64, tickets: u64) -> Removed {
    Removed {
        conversations,
        messages,
        tickets,
    }
}

#[test]
fn retention_removes_quiet_conversations_and_delivered_tickets_of_one_tenant_only() {
    on_both_backends(|db| async move {
        let store = db.store.as_ref();
        let quiet = chat(store, "acme", None).await;
        let rated = store.messages(&quiet).await.unwrap()[1].id.clone();
        store.add_feedback(&rated, Rating::Up, None).await.unwrap();
        let active = chat(store, "acme", None).await;
        let other = chat(store, "other", None).await;
        let delivered = ticket(store, "acme", "ana@example.com", None, true).await;
        let waiting = ticket(store, "acme", "ana@example.com", None, false).await;
        let other_ticket = ticket(store, "other", "ana@example.com", None, true).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let cutoff = now_ms();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        // the customer came back to this one after the cutoff
        store
            .append_exchange(
                &active,
                "And for annual plans?",
                &reply(&active, "answer", None),
            )
            .await
            .unwrap();
        let recent = ticket(store, "acme", "ana@example.com", None, true).await;

        assert_eq!(
            store.purge_before("acme", cutoff).await.unwrap(),
            removed(1, 2, 1)
        );
        assert!(store.conversation(&quiet).await.unwrap().is_none());
        assert!(store.messages(&quiet).await.unwrap().is_empty());
        assert_eq!(store.messages(&active).await.unwrap().len(), 4);
        assert_eq!(store.messages(&other).await.unwrap().len(), 2);
        assert!(store.ticket(&delivered).await.unwrap().is_none());
        assert!(store.attachments(&delivered).await.unwrap().is_empty());
        for kept in [&waiting, &other_ticket, &recent] {
            assert!(store.ticket(kept).await.unwrap().is_some(), "{kept}");
        }
        assert_eq!(
            store.purge_before("acme", cutoff).await.unwrap(),
            Removed::default(),
            "a second pass (another replica's) removes nothing"
        );
        db
    });
}

#[test]
fn a_customers_conversations_and_tickets_are_deleted_on_request() {
    on_both_backends(|db| async move {
        let store = db.store.as_ref();
        let given = chat(store, "acme", Some("ana@example.com")).await;
        let rated = store.messages(&given).await.unwrap()[1].id.clone();
        store
            .add_feedback(&rated, Rating::Down, Some("no"))
            .await
            .unwrap();
        let handed_over = chat(store, "acme", None).await;
        let ticket_id = ticket(store, "acme", "ANA@Example.com", Some(&handed_over), false).await;
        let elsewhere = chat(store, "other", Some("ana@example.com")).await;
        let someone_else = chat(store, "acme", Some("bob@example.com")).await;
        let bobs = ticket(store, "acme", "bob@example.com", Some(&someone_else), true).await;

        assert_eq!(
            store
                .delete_customer("ana@example.com", Some("acme"))
                .await
                .unwrap(),
            removed(2, 4, 1)
        );
        for gone in [&given, &handed_over] {
            assert!(store.conversation(gone).await.unwrap().is_none(), "{gone}");
        }
        assert!(store.ticket(&ticket_id).await.unwrap().is_none());
        assert!(store.attachments(&ticket_id).await.unwrap().is_empty());
        assert!(store.conversation(&elsewhere).await.unwrap().is_some());
        assert!(store.conversation(&someone_else).await.unwrap().is_some());
        assert!(store.ticket(&bobs).await.unwrap().is_some());
        assert_eq!(
            store
                .delete_customer("Ana@Example.COM", None)
                .await
                .unwrap(),
            removed(1, 2, 0)
        );
        assert_eq!(
            store
                .delete_customer("nobody@example.com", None)
                .await
                .unwrap(),
            Removed::default()
        );
        db
    });
}

/// A store written before one rating per answer (version 4, several ratings of one answer)
/// upgrades to keep only each answer's latest rating.
#[test]
fn the_upgrade_to_one_rating_per_answer_keeps_the_latest_of_earlier_duplicates() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("migrations-up-to-4");
        std::fs::create_dir(&old).unwrap();
        let all = crate::helpers::repo_root().join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.as_str() < "0005" {
                std::fs::copy(&path, old.join(&name)).unwrap();
            }
        }
        let file = dir.path().join("askdesk.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO conversations (id, tenant, token_hash, created_at) VALUES ('c', 'acme', 'h', 1)",
            "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES ('m', 'c', 'assistant', 'Within 14 days.', 2)",
            "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES ('n', 'c', 'assistant', 'Yes.', 3)",
            "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES ('m', 'up', 'first', 4)",
            "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES ('m', 'down', 'changed my mind', 5)",
            "INSERT INTO feedback (message_id, rating, comment, created_at) VALUES ('n', 'up', NULL, 6)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let store = askdesk::store::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let ratings = store.feedback(None, None, None, 10).await.unwrap();
        let mut kept: Vec<(String, Rating, Option<String>)> = ratings
            .into_iter()
            .map(|r| (r.message_id, r.rating, r.comment))
            .collect();
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            kept,
            vec![
                ("m".to_string(), Rating::Down, Some("changed my mind".to_string())),
                ("n".to_string(), Rating::Up, None),
            ]
        );
        // and from now on a second rating replaces the first
        store.add_feedback("n", Rating::Down, None).await.unwrap();
        assert_eq!(store.feedback(None, None, None, 10).await.unwrap().len(), 2);
    });
}
