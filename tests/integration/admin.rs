//! The admin's tools, used as the console and a support lead use them: the admin API over real
//! HTTP (tickets and retries to a real SMTP server, feedback, knowledge gaps grouped by the real
//! model, re-indexing while customers chat, the eval report) and `askdesk eval draft`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use askdesk::answer::{Check, Decision, Intent, IntentSource, Role, Turn};
use askdesk::store::{now_ms, Delivery, NewTicket, Ticket, TicketStatus};
use serde_json::{json, Value};

use crate::app::{spawn_app, spawn_app_on, App, ADMIN_KEY, API_KEY};
use crate::cli::askdesk;
use crate::helpers::{acme_knowledge, write_files};
use crate::smtp::header;

/// A request with an optional bearer key and JSON body: the status and JSON body.
fn call(
    app: &App,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let authorization = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = authorization
        .iter()
        .map(|a| ("authorization", a.as_str()))
        .collect();
    let reply = app.request(method, path, &headers, body);
    (reply.status, reply.body)
}

fn admin(app: &App, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    call(app, method, path, Some(ADMIN_KEY), body)
}

/// `GET` as the admin, expecting 200.
fn admin_get(app: &App, path: &str) -> Value {
    let (status, body) = admin(app, "GET", path, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// One chat turn (a new conversation, or a later turn of `conversation`), expecting 200.
fn chat(app: &App, tenant: &str, message: &str, conversation: Option<&Value>) -> Value {
    let mut body = json!({"tenant": tenant, "message": message});
    if let Some(c) = conversation {
        body["conversation_id"] = c["conversation_id"].clone();
        body["conversation_token"] = c["conversation_token"].clone();
    }
    let (status, reply) = app.post("/api/v1/chat", &body);
    assert_eq!(status, 200, "{reply}");
    reply
}

fn rate(app: &App, reply: &Value, rating: &str, comment: Option<&str>) {
    let (status, body) = app.post(
        "/api/v1/feedback",
        &json!({"message_id": reply["message_id"], "rating": rating, "comment": comment}),
    );
    assert_eq!(status, 204, "{body}");
}

fn assert_low_confidence(reply: &Value) {
    assert_eq!(reply["outcome"], "escalate", "{reply}");
    assert_eq!(reply["reason"], "low_confidence", "{reply}");
}

#[test]
fn admin_routes_refuse_requests_without_the_admin_key() {
    let app = spawn_app();
    let routes = [
        ("GET", "/api/admin/tickets"),
        ("POST", "/api/admin/tickets/T-000000000000/retry"),
        ("GET", "/api/admin/feedback"),
        ("GET", "/api/admin/gaps"),
        ("POST", "/api/admin/reindex"),
        ("GET", "/api/admin/eval-report"),
    ];
    for (method, path) in routes {
        for key in [None, Some("wrong-key"), Some(API_KEY), Some("")] {
            let (status, body) = call(&app, method, path, key, None);
            assert_eq!(status, 401, "{method} {path} with {key:?}: {body}");
            assert_eq!(error_code(&body), "unauthorized", "{body}");
            assert!(body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
    // The admin key itself works, also for an unknown ticket (404 only once authorised).
    admin_get(&app, "/api/admin/tickets");
    let (status, body) = admin(
        &app,
        "POST",
        "/api/admin/tickets/T-000000000000/retry",
        None,
    );
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    // a `null` body is no body, as the OpenAPI document allows
    let (status, body) = admin(&app, "POST", "/api/admin/reindex", Some(&Value::Null));
    assert_eq!(status, 200, "{body}");
    // the scheme's name is case-insensitive (RFC 7235), the key is not
    let lowercase = format!("bearer {ADMIN_KEY}");
    let reply = app.request(
        "GET",
        "/api/admin/tickets",
        &[("authorization", lowercase.as_str())],
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let shouted = format!("Bearer {}", ADMIN_KEY.to_uppercase());
    let reply = app.request(
        "GET",
        "/api/admin/tickets",
        &[("authorization", shouted.as_str())],
        None,
    );
    assert_eq!(reply.status, 401);
}

fn new_ticket(tenant: &str, question: &str) -> NewTicket {
    NewTicket {
        tenant: tenant.into(),
        brand: "Brand".into(),
        support_email: "support@brand.test".into(),
        conversation_id: None,
        question: question.into(),
        transcript: vec![],
        passages: vec![],
        reason: "requested_human".into(),
        confidence: 0.4,
        decision: None,
        contact_email: Some("jane@customer.test".into()),
        note: None,
        fields: vec![],
    }
}

/// The ticket once the outbox has brought it to `status` (waits up to 10 s).
fn wait_for_status(app: &App, id: &str, status: TicketStatus) -> Ticket {
    let started = Instant::now();
    loop {
        let ticket = app.runtime.block_on(app.store.ticket(id)).unwrap().unwrap();
        if ticket.status == status {
            return ticket;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ticket {id} stayed {:?}",
            ticket.status
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tickets_are_listed_and_filtered_and_a_failed_one_is_retried_to_the_inbox() {
    let app = spawn_app();
    let create = |t: NewTicket| {
        app.runtime
            .block_on(app.store.create_ticket(t, vec![]))
            .unwrap()
    };
    let order = create(NewTicket {
        decision: Some(Decision::by(
            Check::Intent {
                intent: Intent::Incident,
                source: IntentSource::Classifier,
            },
            0.4,
        )),
        ..new_ticket("fictart", "Where is my order?")
    });
    wait_for_status(&app, &order.id, TicketStatus::Sent);
    let account = create(new_ticket(
        "stable-diffusion-web",
        "Please delete my account",
    ));
    wait_for_status(&app, &account.id, TicketStatus::Sent);
    app.smtp.wait_for_messages(2);
    // The support team's server later bounced the first email for good.
    app.runtime
        .block_on(app.store.record_delivery(
            &order.id,
            Delivery::Failed {
                error: "550 mailbox unavailable".into(),
            },
            now_ms(),
        ))
        .unwrap();

    let all = admin_get(&app, "/api/admin/tickets");
    assert_eq!(
        ids(&all, "tickets"),
        [account.id.as_str(), order.id.as_str()]
    );
    let failed = &all["tickets"][1];
    let mut keys: Vec<&str> = failed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attempts",
            "brand",
            "confidence",
            "contact_email",
            "created_at",
            "decision",
            "id",
            "last_error",
            "question",
            "reason",
            "sent_at",
            "status",
            "tenant"
        ]
    );
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["last_error"], "550 mailbox unavailable");
    assert_eq!(failed["tenant"], "fictart");
    assert_eq!(failed["question"], "Where is my order?");
    assert_eq!(failed["contact_email"], "jane@customer.test");
    assert_eq!(failed["reason"], "requested_human");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(
        failed["decision"]["check"],
        json!({"intent": {"intent": "incident", "source": "classifier"}}),
        "the list names the check that decided"
    );
    assert_eq!(all["tickets"][0]["decision"], Value::Null);

    let only = |query: &str| {
        ids(
            &admin_get(&app, &format!("/api/admin/tickets?{query}")),
            "tickets",
        )
    };
    assert_eq!(only("status=failed"), [order.id.as_str()]);
    assert_eq!(only("status=sent"), [account.id.as_str()]);
    assert_eq!(only("tenant=stable-diffusion-web"), [account.id.as_str()]);
    assert!(only("status=failed&tenant=stable-diffusion-web").is_empty());
    assert_eq!(only("limit=1"), [account.id.as_str()]);
    for bad in [
        "status=lost",
        "limit=abc",
        "limit=0",
        "limit=501",
        "limit=4294967296",
    ] {
        let (status, body) = admin(&app, "GET", &format!("/api/admin/tickets?{bad}"), None);
        assert_eq!(
            (status, error_code(&body)),
            (422, "invalid_input"),
            "{bad}: {body}"
        );
    }

    let (status, body) = admin(
        &app,
        "POST",
        &format!("/api/admin/tickets/{}/retry", order.id),
        None,
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"id": order.id, "status": "pending"}));
    wait_for_status(&app, &order.id, TicketStatus::Sent);
    let messages = app.smtp.wait_for_messages(3);
    let about_order = messages
        .iter()
        .filter(|m| header(m, "Subject").is_some_and(|s| s.contains(&order.id)))
        .count();
    assert_eq!(about_order, 2, "the retried ticket is emailed again, once");

    let (status, body) = admin(
        &app,
        "POST",
        &format!("/api/admin/tickets/{}/retry", account.id),
        None,
    );
    assert_eq!((status, error_code(&body)), (409, "conflict"), "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("sent"),
        "{body}"
    );
}

#[test]
fn feedback_lists_ratings_with_the_question_and_answer_rated() {
    let app = spawn_app();
    let first = chat(&app, "fictart", "Can I get a refund?", None);
    let second = chat(
        &app,
        "fictart",
        "within how many days can I request a refund?",
        Some(&first),
    );
    rate(&app, &second, "down", Some("too vague"));
    let other = chat(
        &app,
        "stable-diffusion-web",
        "How do I reset my password?",
        None,
    );
    rate(&app, &other, "up", None);

    let down = admin_get(&app, "/api/admin/feedback?rating=down");
    let records = down["feedback"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{down}");
    let r = &records[0];
    assert_eq!(r["message_id"], second["message_id"]);
    assert_eq!(r["tenant"], "fictart");
    assert_eq!(r["conversation_id"], first["conversation_id"]);
    assert_eq!(r["rating"], "down");
    assert_eq!(r["comment"], "too vague");
    assert_eq!(
        r["question"],
        "within how many days can I request a refund?"
    );
    assert_eq!(r["answer"], second["answer"]);
    assert_eq!(r["citations"], second["citations"]);
    assert_eq!(r["outcome"], second["outcome"]);
    assert!(r["created_at"].as_i64().is_some(), "{r}");

    let all = admin_get(&app, "/api/admin/feedback");
    let rated: Vec<&Value> = all["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["message_id"])
        .collect();
    assert_eq!(
        rated,
        [&other["message_id"], &second["message_id"]],
        "newest first"
    );
    let sd = admin_get(&app, "/api/admin/feedback?tenant=stable-diffusion-web");
    assert_eq!(sd["feedback"].as_array().unwrap().len(), 1);
    assert_eq!(sd["feedback"][0]["rating"], "up");
    assert_eq!(sd["feedback"][0]["comment"], Value::Null);
    let (status, body) = admin(&app, "GET", "/api/admin/feedback?rating=meh", None);
    assert_eq!(
        (status, error_code(&body)),
        (422, "invalid_input"),
        "{body}"
    );
}

#[test]
fn gaps_group_paraphrases_of_a_missing_topic_and_keep_others_apart() {
    let app = spawn_app();
    let gift_cards = [
        "Do you sell gift cards?",
        "Is there a gift certificate I could give someone?",
        "how do gift cards work",
    ];
    let students = [
        "do you offer a student discount",
        "any discounts for students?",
    ];
    let unrelated = "What is the weather on Mars today?";
    for question in gift_cards.iter().chain(&students).chain([&unrelated]) {
        assert_low_confidence(&chat(&app, "fictart", question, None));
    }
    // The same missing topic at another brand is that brand's gap, never grouped with FictArt's.
    assert_low_confidence(&chat(
        &app,
        "stable-diffusion-web",
        "Do you sell gift cards?",
        None,
    ));
    // An answered question is no gap.
    chat(
        &app,
        "fictart",
        "within how many days can I request a refund?",
        None,
    );

    let body = admin_get(&app, "/api/admin/gaps");
    let groups = body["groups"].as_array().unwrap();
    let summary: Vec<(String, u64)> = groups
        .iter()
        .map(|g| {
            (
                g["tenant"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &summary[..2],
        [("fictart".to_string(), 3), ("fictart".to_string(), 2)],
        "{body:#}"
    );
    assert_eq!(groups.len(), 4, "{body:#}");
    let questions = |g: &Value| -> Vec<String> {
        let mut q: Vec<String> = g["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["question"].as_str().unwrap().to_string())
            .collect();
        q.sort();
        q
    };
    let mut expected: Vec<String> = gift_cards.iter().map(|q| q.to_string()).collect();
    expected.sort();
    assert_eq!(questions(&groups[0]), expected);
    assert!(expected.contains(&groups[0]["representative"].as_str().unwrap().to_string()));
    let mut expected: Vec<String> = students.iter().map(|q| q.to_string()).collect();
    expected.sort();
    assert_eq!(questions(&groups[1]), expected);
    let singles: Vec<(String, Vec<String>)> = groups[2..]
        .iter()
        .map(|g| (g["tenant"].as_str().unwrap().to_string(), questions(g)))
        .collect();
    assert!(
        singles.contains(&("fictart".into(), vec![unrelated.to_string()])),
        "{body:#}"
    );
    assert!(singles.contains(&(
        "stable-diffusion-web".into(),
        vec!["Do you sell gift cards?".to_string()]
    )));
    let member = &groups[0]["questions"][0];
    assert!(member["confidence"].as_f64().unwrap() < 0.5, "{member}");
    assert!(member["created_at"].as_i64().is_some(), "{member}");

    let sd = admin_get(&app, "/api/admin/gaps?tenant=stable-diffusion-web");
    assert_eq!(sd["groups"].as_array().unwrap().len(), 1);
    // 2100-01-01: nothing was asked after it.
    let later = admin_get(&app, "/api/admin/gaps?since=4102444800000");
    assert!(later["groups"].as_array().unwrap().is_empty());
    let (status, body) = admin(&app, "GET", "/api/admin/gaps?since=yesterday", None);
    assert_eq!(
        (status, error_code(&body)),
        (422, "invalid_input"),
        "{body}"
    );
}

/// Chats with `tenant` in a loop until `done` is set (at least once): every status seen.
fn chat_until(app: &App, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<u16>> {
    let base = app.base.clone();
    app.runtime.spawn(async move {
        let client = crate::helpers::http_client();
        let mut statuses = Vec::new();
        // Bounded: at most 2,000 turns even if the flag were never set.
        for _ in 0..2000 {
            let reply = client
                .post(format!("{base}/api/v1/chat"))
                .json(&json!({"tenant": "acme", "message": "How do I reset my password?"}))
                .send()
                .await
                .unwrap();
            statuses.push(reply.status().as_u16());
            if done.load(Ordering::SeqCst) {
                break;
            }
        }
        statuses
    })
}

#[test]
fn reindex_swaps_in_new_knowledge_while_customers_chat_and_refuses_a_broken_tenant() {
    let knowledge = acme_knowledge(&[(
        "faq.md",
        "## How do I reset my password?\nUse the reset link on the login page.\n",
    )]);
    let app = spawn_app_on(knowledge.path());
    let mars = "Do you ship to Mars?";
    assert_low_confidence(&chat(&app, "acme", mars, None));

    write_files(
        knowledge.path(),
        &[(
            "acme/shipping.md",
            "## Do you ship to Mars?\nYes: orders reach the Mars colonies within 30 days.\n",
        )],
    );
    let done = Arc::new(AtomicBool::new(false));
    let chats = chat_until(&app, done.clone());
    let (status, body) = admin(
        &app,
        "POST",
        "/api/admin/reindex",
        Some(&json!({"tenant": "acme"})),
    );
    done.store(true, Ordering::SeqCst);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"tenants": [{"id": "acme", "passages": 2, "new": 1, "changed": 0, "removed": 0}], "replicas_notified": true})
    );
    let statuses = app.runtime.block_on(chats).unwrap();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let reply = chat(&app, "acme", mars, None);
    assert_eq!(reply["outcome"], "answer", "{reply}");
    assert!(
        reply["answer"].as_str().unwrap().contains("30 days"),
        "{reply}"
    );

    // No body: every tenant, including a brand added since start-up; two at once both finish.
    write_files(
        knowledge.path(),
        &[
            (
                "newco/tenant.toml",
                "name = \"Newco\"\nsupport_email = \"help@newco.test\"\n",
            ),
            ("newco/faq.md", "## Where are you based?\nIn Lisbon.\n"),
            (
                "acme/faq.md",
                "## How do I reset my password?\nUse the reset link on the sign-in page.\n",
            ),
        ],
    );
    let both: Vec<(u16, Value)> = app.runtime.block_on(async {
        let request = || {
            crate::helpers::http_client()
                .post(format!("{}/api/admin/reindex", app.base))
                .bearer_auth(ADMIN_KEY)
                .send()
        };
        let (a, b) = tokio::join!(request(), request());
        let mut out = Vec::new();
        for r in [a.unwrap(), b.unwrap()] {
            out.push((r.status().as_u16(), r.json::<Value>().await.unwrap()));
        }
        out
    });
    let expected_all = json!({"tenants": [
        {"id": "acme", "passages": 2, "new": 0, "changed": 1, "removed": 0},
        {"id": "newco", "passages": 1, "new": 1, "changed": 0, "removed": 0},
    ], "replicas_notified": true});
    let unchanged = json!({"tenants": [
        {"id": "acme", "passages": 2, "new": 0, "changed": 0, "removed": 0},
        {"id": "newco", "passages": 1, "new": 0, "changed": 0, "removed": 0},
    ], "replicas_notified": true});
    assert_eq!(both[0].0, 200, "{}", both[0].1);
    assert_eq!(both[1].0, 200, "{}", both[1].1);
    // One after the other: one of them saw the changes, the other found nothing left to do.
    assert!(
        (both[0].1 == expected_all && both[1].1 == unchanged)
            || (both[1].1 == expected_all && both[0].1 == unchanged),
        "{both:?}"
    );
    let (status, _) = app.get("/api/v1/tenants/newco");
    assert_eq!(status, 200);
    assert!(chat(&app, "newco", "Where are you based?", None)["answer"]
        .as_str()
        .unwrap()
        .contains("Lisbon"));

    // A broken tenant.toml: 422 naming the file and line, and the old index keeps serving.
    write_files(
        knowledge.path(),
        &[("acme/tenant.toml", "name = \"Acme\"\nsupport_email = \n")],
    );
    for body in [Some(json!({"tenant": "acme"})), None] {
        let (status, reply) = admin(&app, "POST", "/api/admin/reindex", body.as_ref());
        assert_eq!(
            (status, error_code(&reply)),
            (422, "invalid_input"),
            "{reply}"
        );
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("acme/tenant.toml: line 2: "),
            "{message}"
        );
        assert!(
            !message.contains(knowledge.path().to_str().unwrap()),
            "{message}"
        );
    }
    let reply = chat(&app, "acme", mars, None);
    assert!(
        reply["answer"].as_str().unwrap().contains("30 days"),
        "{reply}"
    );

    let (status, reply) = admin(
        &app,
        "POST",
        "/api/admin/reindex",
        Some(&json!({"tenant": "nope"})),
    );
    assert_eq!((status, error_code(&reply)), (404, "not_found"), "{reply}");
    for bad in [
        json!({"tenant": "../acme"}),
        json!({"tenant": 5}),
        json!({"tenants": "acme"}),
    ] {
        let (status, reply) = admin(&app, "POST", "/api/admin/reindex", Some(&bad));
        assert_eq!(
            (status, error_code(&reply)),
            (422, "invalid_input"),
            "{bad}: {reply}"
        );
    }
}

#[test]
fn the_eval_report_is_served_once_there_is_one() {
    let app = spawn_app();
    let (status, body) = admin(&app, "GET", "/api/admin/eval-report", None);
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
    let report = json!({"summary": {"pass_rate": 0.85, "cases": 130}, "cases": []});
    std::fs::write(app.data_dir().join("eval-report.json"), report.to_string()).unwrap();
    assert_eq!(admin_get(&app, "/api/admin/eval-report"), report);
}

#[test]
fn eval_draft_turns_disliked_and_unanswered_questions_into_cases_to_decide() {
    let app = spawn_app();
    let first = chat(&app, "fictart", "Can I get a refund?", None);
    let disliked = chat(
        &app,
        "fictart",
        "within how many days can I request a refund?",
        Some(&first),
    );
    rate(&app, &disliked, "down", Some("too vague"));
    assert_low_confidence(&chat(&app, "fictart", "Do you sell gift cards?", None));
    let liked = chat(&app, "fictart", "Can I get a refund?", None);
    assert_eq!(liked["outcome"], "answer", "{liked}");
    rate(&app, &liked, "up", None);

    let out = tempfile::tempdir().unwrap();
    let draft = out.path().join("fictart.yaml");
    let data = app.data_dir().to_str().unwrap();
    let args = |since: &'static str| -> Vec<String> {
        [
            "eval", "draft", "--since", since, "--data", data, "--tenant", "fictart", "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([draft.to_str().unwrap().to_string()])
        .collect()
    };
    let run = |args: Vec<String>| askdesk(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let (code, stdout, stderr) = run(args("2999-01-01"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("no thumbs-down or low-confidence questions"),
        "{stdout}"
    );
    assert!(!draft.exists());

    let (code, stdout, stderr) = run(args("2000-01-01"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 case(s) for fictart"), "{stdout}");
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains("# thumbs-down: \"too vague\""), "{text}");
    assert!(text.contains("# escalated: low confidence 0."), "{text}");
    assert!(
        text.contains("outcome: TODO  # answer | escalate"),
        "{text}"
    );
    let refused = askdesk::eval::load_suite(&draft).unwrap_err().to_string();
    assert!(refused.contains("`outcome` is still TODO"), "{refused}");

    std::fs::write(&draft, text.replace("outcome: TODO", "outcome: escalate")).unwrap();
    let suite = askdesk::eval::load_suite(&draft).unwrap();
    assert_eq!(suite.tenant, "fictart");
    let questions: Vec<&str> = suite.cases.iter().map(|c| c.question.as_str()).collect();
    assert_eq!(
        questions,
        [
            "within how many days can I request a refund?",
            "Do you sell gift cards?"
        ]
    );
    assert_eq!(
        suite.cases[0].history,
        [
            Turn {
                role: Role::User,
                content: "Can I get a refund?".into()
            },
            Turn {
                role: Role::Assistant,
                content: first["answer"].as_str().unwrap().into()
            },
        ]
    );
    assert!(suite.cases[1].history.is_empty());

    // A draft that exists may hold the lead's decisions: it is never overwritten.
    let (code, _, stderr) = run(args("2000-01-01"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("exists"), "{stderr}");

    // Without --out: one file per tenant in --dir.
    let dir = out.path().join("drafts");
    let (code, _, stderr) = askdesk(&[
        "eval",
        "draft",
        "--since",
        "2000-01-01",
        "--data",
        data,
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(Path::new(&dir.join("fictart.yaml")).is_file());
    // `askdesk eval SUITE...` still runs suites.
    let (code, _, stderr) = askdesk(&["eval", "--json", "/dev/null", "no-such-suite.yaml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: no-such-suite.yaml: "),
        "{stderr}"
    );
}

#[test]
fn a_customers_data_is_deleted_on_request_and_counted() {
    let app = spawn_app();
    let first = chat(&app, "fictart", "can I get a refund", None);
    let (status, ticket) = app.post(
        "/api/v1/escalations",
        &json!({"tenant": "fictart", "contact_email": "Ana@Example.com",
                "conversation_id": first["conversation_id"],
                "conversation_token": first["conversation_token"]}),
    );
    assert_eq!(status, 202, "{ticket}");
    let kept = chat(&app, "fictart", "can I get a refund", None);

    let path = "/api/admin/customers?email=ana%40example.com&tenant=fictart";
    assert_eq!(call(&app, "DELETE", path, None, None).0, 401);
    for (bad, status) in [
        ("/api/admin/customers", 422),
        ("/api/admin/customers?email=not-an-address", 422),
        (
            "/api/admin/customers?email=ana%40example.com&tenant=nobody",
            404,
        ),
    ] {
        let (got, body) = admin(&app, "DELETE", bad, None);
        assert_eq!(got, status, "{bad}: {body}");
    }
    let (status, body) = admin(&app, "DELETE", path, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"conversations": 1, "messages": 2, "tickets": 1})
    );
    let id = ticket["ticket_id"].as_str().unwrap();
    assert!(app
        .runtime
        .block_on(app.store.ticket(id))
        .unwrap()
        .is_none());
    let conversation = first["conversation_id"].as_str().unwrap();
    assert!(app
        .runtime
        .block_on(app.store.conversation(conversation))
        .unwrap()
        .is_none());
    // the chat is gone for the customer too; other conversations are not touched
    let (status, _) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "hello again",
                "conversation_id": first["conversation_id"],
                "conversation_token": first["conversation_token"]}),
    );
    assert_eq!(status, 404);
    assert_eq!(
        chat(&app, "fictart", "and for annual plans?", Some(&kept))["conversation_id"],
        kept["conversation_id"]
    );
    let (_, again) = admin(&app, "DELETE", path, None);
    assert_eq!(
        again,
        json!({"conversations": 0, "messages": 0, "tickets": 0})
    );
}

#[test]
fn the_service_deletes_what_is_older_than_the_brands_retention() {
    let knowledge = acme_knowledge(&[(
        "faq.md",
        "## How do I reset my password?\nUse the reset link on the login page.\n",
    )]);
    write_files(
        knowledge.path(),
        &[(
            "acme/tenant.toml",
            "name = \"Acme\"\nsupport_email = \"help@acme.test\"\nretention_days = 30\n",
        )],
    );
    let app = spawn_app_on(knowledge.path());
    let old = chat(&app, "acme", "How do I reset my password?", None);
    let (status, ticket) = app.post(
        "/api/v1/escalations",
        &json!({"tenant": "acme", "contact_email": "ana@example.com", "note": "old"}),
    );
    assert_eq!(status, 202, "{ticket}");
    let ticket_id = ticket["ticket_id"].as_str().unwrap().to_string();
    app.smtp.wait_for_messages(1);
    // wait for the delivery to be recorded before ageing everything by 31 days
    let started = Instant::now();
    while app
        .runtime
        .block_on(app.store.ticket(&ticket_id))
        .unwrap()
        .unwrap()
        .status
        != TicketStatus::Sent
    {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    app.runtime.block_on(async {
        let url = format!("sqlite://{}", app.data_dir().join("askdesk.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let month = 31 * 24 * 60 * 60 * 1000_i64;
        for table in ["conversations", "messages", "tickets"] {
            sqlx::query(&format!(
                "UPDATE {table} SET created_at = created_at - {month}"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    });
    let recent = chat(&app, "acme", "How do I reset my password?", None);

    let old_id = old["conversation_id"].as_str().unwrap().to_string();
    let started = Instant::now();
    while app
        .runtime
        .block_on(app.store.conversation(&old_id))
        .unwrap()
        .is_some()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the retention job did not run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(app
        .runtime
        .block_on(app.store.ticket(&ticket_id))
        .unwrap()
        .is_none());
    let recent_id = recent["conversation_id"].as_str().unwrap();
    assert_eq!(
        app.runtime
            .block_on(app.store.messages(recent_id))
            .unwrap()
            .len(),
        2,
        "a conversation inside the retention period is kept"
    );
}
