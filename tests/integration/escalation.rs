//! Escalations end to end: a real answer becomes a stored ticket, the outbox worker delivers it
//! to a real SMTP server, survives the server being down (no loss, no duplicate), and records
//! what happened; plus the `.eml` transport. The store on its own is checked in `store_contract`.

use std::sync::Arc;
use std::time::Duration;

use askdesk::answer::{Check, Outcome, Role, Turn};
use askdesk::escalate::{ticket_for, FileMailer, Outbox, RetryPolicy, SmtpMailer};
use askdesk::store::{SqliteStore, Store, TicketStatus};

use crate::answers::pipeline;
use crate::smtp::{free_port, header, SmtpServer};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        max_attempts: 20,
        poll_interval: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

fn from() -> lettre::message::Mailbox {
    "askdesk <askdesk@askdesk.test>".parse().unwrap()
}

/// A real escalated answer for FictArt, turned into a ticket.
async fn escalated_ticket(store: &SqliteStore) -> askdesk::store::Ticket {
    let history = vec![
        Turn {
            role: Role::User,
            content: "Can I get a refund?".into(),
        },
        Turn {
            role: Role::Assistant,
            content: "Within 7 days of purchase, if no credits were consumed.".into(),
        },
    ];
    let question = "I was billed two times for the same membership this month.";
    let answer = pipeline()
        .answer("fictart", question, &history)
        .await
        .unwrap();
    assert_eq!(answer.outcome, Outcome::Escalate);
    let config = pipeline().tenant("fictart").unwrap();
    let new = ticket_for(
        "fictart",
        &config,
        question,
        &history,
        &answer,
        Some("jane@customer.test"),
    );
    store.create_ticket(new, Vec::new()).await.unwrap()
}

#[test]
fn tickets_wait_while_smtp_is_down_and_arrive_once_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    runtime().block_on(async {
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("askdesk.db"))
                .await
                .unwrap(),
        );
        assert_eq!(store.journal_mode().await.unwrap(), "wal");
        let mailer = Arc::new(SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap());
        let outbox = Outbox::new(store.clone(), mailer, from(), fast_retries());
        let ticket = escalated_ticket(&store).await;
        assert_eq!(ticket.status, TicketStatus::Pending);

        // No server yet: the attempt fails, the ticket stays pending with the error recorded.
        assert_eq!(outbox.deliver_due().await.unwrap(), 0);
        let waiting = store.ticket(&ticket.id).await.unwrap().unwrap();
        assert_eq!(
            (waiting.status, waiting.attempts),
            (TicketStatus::Pending, 1)
        );
        assert!(
            waiting.last_error.as_deref().unwrap().contains("SMTP"),
            "{:?}",
            waiting.last_error
        );
        assert!(waiting.next_attempt_at > ticket.created_at);

        let server = SmtpServer::start(port, dir.path());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        assert_eq!(
            outbox.deliver_due().await.unwrap(),
            0,
            "a sent ticket is not sent again"
        );
        let sent = store.ticket(&ticket.id).await.unwrap().unwrap();
        assert_eq!(sent.status, TicketStatus::Sent);
        assert!(sent.sent_at.is_some() && sent.last_error.is_none());

        let messages = server.messages();
        assert_eq!(messages.len(), 1, "exactly one email");
        let raw = &messages[0];
        assert_eq!(header(raw, "To").unwrap(), "service@fictart.com");
        assert_eq!(header(raw, "Reply-To").unwrap(), "jane@customer.test");
        let subject = header(raw, "Subject").unwrap();
        assert!(
            subject.contains("[FictArt]") && subject.contains(&ticket.id),
            "{subject}"
        );
        assert!(header(raw, "Message-ID").unwrap().contains(&ticket.id));
        let body = raw.replace("=\r\n", "").replace("=\n", "");
        assert!(body.contains("billed two times"), "question in the body");
        assert!(
            body.contains("Can I get a refund?"),
            "transcript in the body"
        );
        assert!(body.contains("incident"), "the reason in the body");
        assert!(
            body.contains("reports something wrong on their account"),
            "the reason explained"
        );
        // the check that decided and its signals, as stored with the ticket and in the email
        let decision = ticket
            .content
            .decision
            .as_ref()
            .expect("the ticket carries the decision");
        assert!(
            matches!(decision.check, Check::Intent { .. }),
            "{:?}",
            decision.check
        );
        assert!(decision.signals.passage_cosine > 0.0);
        assert!(
            body.contains("Decided by: intent incident"),
            "the check in the body"
        );
        assert!(
            body.contains("Signals: amount_missing"),
            "the signals in the body"
        );
        let first_passage = &ticket.content.passages[0].id;
        assert!(
            body.contains(first_passage.as_str()),
            "passages in the body"
        );
        assert!(body.contains("text/html") && body.contains("text/plain"));
    });
}

#[test]
fn a_ticket_stored_before_a_restart_is_delivered_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("askdesk.db");
    let id = runtime().block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        escalated_ticket(&store).await.id
    });
    runtime().block_on(async {
        let store = Arc::new(SqliteStore::open(&db).await.unwrap());
        let outbox = Outbox::new(
            store.clone(),
            Arc::new(FileMailer::new(dir.path().join("outbox"))),
            from(),
            fast_retries(),
        );
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        assert_eq!(
            store.ticket(&id).await.unwrap().unwrap().status,
            TicketStatus::Sent
        );
        let eml =
            std::fs::read_to_string(dir.path().join("outbox").join(format!("{id}.eml"))).unwrap();
        assert!(header(&eml, "Subject").unwrap().contains(&id));
    });
}

#[test]
fn undeliverable_tickets_are_marked_failed_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("askdesk.db"))
                .await
                .unwrap(),
        );
        // A transient failure that never ends: gives up after max_attempts.
        let dead =
            Arc::new(SmtpMailer::from_url(&format!("smtp://127.0.0.1:{}", free_port())).unwrap());
        let policy = RetryPolicy {
            max_attempts: 3,
            first_delay: Duration::ZERO,
            ..fast_retries()
        };
        let outbox = Outbox::new(store.clone(), dead, from(), policy);
        let ticket = escalated_ticket(&store).await;
        for _ in 0..3 {
            outbox.deliver_due().await.unwrap();
        }
        let failed = store.ticket(&ticket.id).await.unwrap().unwrap();
        assert_eq!((failed.status, failed.attempts), (TicketStatus::Failed, 3));
        assert_eq!(
            store
                .tickets(Some(TicketStatus::Failed), None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        outbox.deliver_due().await.unwrap();
        assert_eq!(
            store.ticket(&ticket.id).await.unwrap().unwrap().attempts,
            3,
            "failed tickets wait for a person"
        );

        // An admin retries it once the server is fixed.
        assert!(store
            .retry_ticket(&ticket.id, askdesk::store::now_ms())
            .await
            .unwrap());
        assert!(
            !store
                .retry_ticket(&ticket.id, askdesk::store::now_ms())
                .await
                .unwrap(),
            "only failed tickets"
        );
        let fixed = Outbox::new(
            store.clone(),
            Arc::new(FileMailer::new(dir.path().join("out"))),
            from(),
            fast_retries(),
        );
        assert_eq!(fixed.deliver_due().await.unwrap(), 1);

        // A permanent problem (a broken support address) fails at once.
        let mut bad = store.ticket(&ticket.id).await.unwrap().unwrap().content;
        bad.support_email = "not an address".into();
        let bad = store.create_ticket(bad, Vec::new()).await.unwrap();
        fixed.deliver_due().await.unwrap();
        let bad = store.ticket(&bad.id).await.unwrap().unwrap();
        assert_eq!((bad.status, bad.attempts), (TicketStatus::Failed, 1));
        assert!(bad.last_error.unwrap().contains("support address"));
    });
}

#[test]
fn outbox_workers_on_two_replicas_send_each_ticket_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(free_port(), dir.path());
    runtime().block_on(async {
        let db = crate::store_contract::TestDatabase::postgres().await;
        let tickets = 60;
        for n in 0..tickets {
            let new = crate::store_contract::new_ticket("acme", &format!("question {n}"));
            db.store.create_ticket(new, Vec::new()).await.unwrap();
        }
        // two replicas: each its own connection pool and worker, one database, one mail server
        let replica = |store: Arc<dyn Store>| {
            let mailer = Arc::new(SmtpMailer::from_url(&server.url()).unwrap());
            Arc::new(Outbox::new(store, mailer, from(), fast_retries()))
        };
        let first = replica(db.store.clone());
        let second = replica(askdesk::store::open(&db.url).await.unwrap());
        let (a, b) = tokio::join!(
            tokio::spawn(async move { first.deliver_due().await.unwrap() }),
            tokio::spawn(async move { second.deliver_due().await.unwrap() })
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a + b,
            tickets,
            "every ticket sent, by one replica or the other"
        );
        let messages = server.wait_for_messages(tickets);
        let ids: std::collections::HashSet<_> = messages
            .iter()
            .map(|raw| header(raw, "Message-ID").unwrap())
            .collect();
        assert_eq!(messages.len(), tickets, "no ticket sent twice");
        assert_eq!(ids.len(), tickets, "one Message-ID per ticket");
        let counts = db.store.ticket_counts().await.unwrap();
        assert_eq!(counts[1], (TicketStatus::Sent, tickets as u64));
        db.remove().await;
    });
}

#[test]
fn a_resend_after_a_crash_between_send_and_record_carries_the_same_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(free_port(), dir.path());
    runtime().block_on(async {
        let db = crate::store_contract::TestDatabase::postgres().await;
        let new = crate::store_contract::new_ticket("acme", "sent before the crash");
        let ticket = db.store.create_ticket(new, Vec::new()).await.unwrap();
        let mailer = Arc::new(SmtpMailer::from_url(&server.url()).unwrap());
        // a worker claims the ticket with a short lease, sends it and dies before recording it
        let claimed = db
            .store
            .claim_due_tickets(askdesk::store::now_ms(), 1, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        let email = askdesk::escalate::render(&claimed[0], &[], &from()).unwrap();
        askdesk::escalate::Mailer::send(mailer.as_ref(), &ticket.id, &email)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        // its lease has ended: another replica's worker takes the ticket and sends it again
        let other = askdesk::store::open(&db.url).await.unwrap();
        let outbox = Outbox::new(other, mailer, from(), fast_retries());
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        let messages = server.wait_for_messages(2);
        let ids: Vec<_> = messages
            .iter()
            .map(|raw| header(raw, "Message-ID").unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(
            ids[0], ids[1],
            "the team's mail client can fold the two into one"
        );
        assert!(ids[0].contains(&ticket.id));
        db.remove().await;
    });
}
