//! Two replicas of the service on one PostgreSQL database, as behind a load balancer: each its
//! own process state (pipeline, indexes, data folder, SMTP server), sharing only the database.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::app::{spawn_replica, App, ADMIN_KEY};
use crate::helpers::{acme_knowledge, write_files};
use crate::store_contract::SharedDatabase;

fn chat(app: &App, body: &Value) -> (u16, Value) {
    app.post("/api/v1/chat", body)
}

/// One tenant, `acme`, with two answers.
pub fn knowledge() -> tempfile::TempDir {
    acme_knowledge(&[(
        "faq.md",
        "## How do I reset my password?\nUse the reset link on the login page.\n\n\
         ## How long does a refund take?\nRefunds reach your card within 5 business days.\n",
    )])
}

#[test]
fn a_conversation_started_on_one_replica_continues_on_another() {
    let database = SharedDatabase::new();
    let knowledge = knowledge();
    let first = spawn_replica(knowledge.path(), database.url());
    let second = spawn_replica(knowledge.path(), database.url());

    let (status, opened) = chat(
        &first,
        &json!({"tenant": "acme", "message": "How do I reset my password?"}),
    );
    assert_eq!(status, 200, "{opened}");
    let id = opened["conversation_id"].clone();
    let token = opened["conversation_token"].clone();

    let (status, later) = chat(
        &second,
        &json!({"tenant": "acme", "message": "How long does a refund take?",
                "conversation_id": id, "conversation_token": token}),
    );
    assert_eq!(status, 200, "{later}");
    assert_eq!(later["conversation_id"], id);
    assert!(later.get("conversation_token").is_none(), "{later}");
    assert!(
        later["answer"]
            .as_str()
            .unwrap()
            .contains("5 business days"),
        "{later}"
    );
    let stored = second
        .runtime
        .block_on(second.store.messages(id.as_str().unwrap()))
        .unwrap();
    let questions: Vec<&str> = stored
        .iter()
        .filter(|m| m.role == askdesk::answer::Role::User)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(
        questions,
        [
            "How do I reset my password?",
            "How long does a refund take?"
        ],
        "both turns in one conversation, in order"
    );

    // The token is checked the same way on every replica.
    let (status, refused) = chat(
        &second,
        &json!({"tenant": "acme", "message": "hello again",
                "conversation_id": id, "conversation_token": "not-the-token"}),
    );
    assert_eq!(status, 403, "{refused}");

    // A hand-over on the first replica attaches the whole chat, and is emailed once, by
    // whichever replica's outbox claimed it.
    let (status, ticket) = first.post(
        "/api/v1/escalations",
        &json!({"tenant": "acme", "contact_email": "ana@example.com",
                "conversation_id": id, "conversation_token": token}),
    );
    assert_eq!(status, 202, "{ticket}");
    let emails = || -> Vec<String> {
        [&first, &second]
            .iter()
            .flat_map(|app| app.smtp.messages())
            .collect()
    };
    let started = Instant::now();
    while emails().is_empty() && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    // time for a second worker to send it again, if the claim did not hold
    std::thread::sleep(Duration::from_millis(500));
    let emails = emails();
    assert_eq!(emails.len(), 1, "one email for the ticket");
    assert!(emails[0].contains("How long does a refund take?"));
    assert!(emails[0].contains("How do I reset my password?"));
}

#[test]
fn a_reindex_on_one_replica_reaches_the_other() {
    let database = SharedDatabase::new();
    let knowledge = knowledge();
    let first = spawn_replica(knowledge.path(), database.url());
    let second = spawn_replica(knowledge.path(), database.url());
    let question = json!({"tenant": "acme", "message": "Do you ship to Mars?"});
    let (_, before) = chat(&second, &question);
    assert_eq!(before["outcome"], "escalate", "{before}");

    write_files(
        knowledge.path(),
        &[(
            "acme/shipping.md",
            "## Do you ship to Mars?\nYes: orders reach the Mars colonies within 30 days.\n",
        )],
    );
    let reply = first.request(
        "POST",
        "/api/admin/reindex",
        &[("authorization", &format!("Bearer {ADMIN_KEY}"))],
        Some(&json!({"tenant": "acme"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["replicas_notified"], true, "{}", reply.body);

    // The second replica was not asked; it follows the first within its follow interval.
    let started = Instant::now();
    let after = loop {
        let (status, after) = chat(&second, &question);
        assert_eq!(status, 200, "{after}");
        if after["outcome"] == "answer" || started.elapsed() > Duration::from_secs(30) {
            break after;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(after["outcome"], "answer", "{after}");
    assert!(
        after["answer"].as_str().unwrap().contains("30 days"),
        "{after}"
    );
}
