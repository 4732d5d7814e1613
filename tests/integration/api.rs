//! The HTTP service as clients meet it: the real app on a loopback port 0, a real SQLite file,
//! the real model, and a real SMTP server receiving the handoff.

use askdesk::store::TicketStatus;
use serde_json::{json, Value};
use std::time::Duration;

use crate::app::spawn_app;
use crate::smtp::header;

#[test]
fn a_conversation_keeps_its_history_and_its_token() {
    let app = spawn_app();
    let (status, first) = app.post("/api/v1/chat", &json!({"tenant": "stable-diffusion-web", "message": "Can I get a refund on my subscription?"}));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["outcome"], "answer");
    assert!(first["answer"].as_str().unwrap().contains("14 days"));
    assert!(first["citations"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("stable-diffusion-web/"));
    let id = first["conversation_id"].as_str().unwrap();
    let token = first["conversation_token"].as_str().unwrap();
    assert!(token.len() >= 32);

    // The follow-up is understood from the stored history, not from the client.
    let (status, second) = app.post("/api/v1/chat", &json!({"tenant": "stable-diffusion-web", "message": "and for credit packs?", "conversation_id": id, "conversation_token": token}));
    assert_eq!(status, 200, "{second}");
    assert!(
        second["answer"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("non-refundable"),
        "{second}"
    );
    assert!(
        second.get("conversation_token").is_none(),
        "the token is only sent once"
    );
    let stored = app.runtime.block_on(app.store.messages(id)).unwrap();
    assert_eq!(stored.len(), 4);

    // Another conversation's token, a missing token, an unknown conversation.
    let (_, other) = app.post("/api/v1/chat", &json!({"tenant": "stable-diffusion-web", "message": "hello there, how do I contact support?"}));
    let other_token = other["conversation_token"].as_str().unwrap();
    let (status, body) = app.post("/api/v1/chat", &json!({"tenant": "stable-diffusion-web", "message": "hi", "conversation_id": id, "conversation_token": other_token}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("invalid_conversation_token"))
    );
    let (status, _) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "stable-diffusion-web", "message": "hi", "conversation_id": id}),
    );
    assert_eq!(status, 403);
    let (status, body) = app.post("/api/v1/chat", &json!({"tenant": "fictart", "message": "hi", "conversation_id": id, "conversation_token": token}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "a conversation belongs to its tenant"
    );
}

#[test]
fn answers_stream_as_server_sent_events() {
    let app = spawn_app();
    let body =
        app.stream(&json!({"tenant": "fictart", "message": "which file formats can I upload?"}));
    let events: Vec<(&str, Value)> = body
        .split("\n\n")
        .filter(|e| e.contains("event:"))
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .unwrap()
                .trim();
            let data = e
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .unwrap()
                .trim();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect();
    assert_eq!(events.first().unwrap().0, "meta");
    assert_eq!(events.last().unwrap().0, "done");
    let meta = &events[0].1;
    assert!(meta["conversation_token"].is_string() && meta["message_id"].is_string());
    assert!(meta["citations"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("fictart/"));
    let text: String = events
        .iter()
        .filter(|(n, _)| *n == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert!(text.contains("WebP"), "{text}");
    assert!(
        events.iter().filter(|(n, _)| *n == "delta").count() > 1,
        "streamed in pieces"
    );
    assert_eq!(events.last().unwrap().1["outcome"], "answer");
}

#[test]
fn a_handoff_with_the_brands_fields_reaches_the_support_team() {
    let app = spawn_app();
    let (_, chat) = app.post("/api/v1/chat", &json!({"tenant": "stable-diffusion-web", "message": "my image generation keeps failing with an error"}));
    let (status, config) = app.get("/api/v1/tenants/stable-diffusion-web");
    assert_eq!(status, 200);
    let config: Value = serde_json::from_str(&config).unwrap();
    let names: Vec<&str> = config["handoff_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"prompt") && names.contains(&"model"),
        "{names:?}"
    );

    let (status, ticket) = app.post("/api/v1/escalations", &json!({
        "tenant": "stable-diffusion-web",
        "contact_email": "sam@customer.test",
        "conversation_id": chat["conversation_id"], "conversation_token": chat["conversation_token"],
        "note": "Still failing after three retries.",
        "fields": {"prompt": "a red fox in snow, watercolor", "model": "SDXL"}
    }));
    assert_eq!(status, 202, "{ticket}");
    let id = ticket["ticket_id"].as_str().unwrap().to_string();
    assert_eq!(
        ticket["reply_promise"],
        "We usually reply within one business day."
    );

    let started = std::time::Instant::now();
    while app.smtp.messages().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the handoff email never arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let raw = &app.smtp.messages()[0];
    assert_eq!(
        header(raw, "To").unwrap(),
        "support@stable-diffusion-web.com"
    );
    assert_eq!(header(raw, "Reply-To").unwrap(), "sam@customer.test");
    assert!(header(raw, "Subject").unwrap().contains(&id));
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(
        body.contains("a red fox in snow, watercolor") && body.contains("SDXL"),
        "labelled fields"
    );
    assert!(
        body.contains("my image generation keeps failing"),
        "the transcript"
    );
    std::thread::sleep(Duration::from_millis(100));
    let stored = app
        .runtime
        .block_on(app.store.ticket(&id))
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, TicketStatus::Sent);

    let (status, body) = app.post("/api/v1/escalations", &json!({"tenant": "stable-diffusion-web", "contact_email": "sam@customer.test", "fields": {"favourite_colour": "red"}}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_input"))
    );
    // control characters would reach the team's email raw: refused, as chat refuses them
    for body in [
        json!({"tenant": "stable-diffusion-web", "contact_email": "sam@customer.test", "note": "before\u{0}after"}),
        json!({"tenant": "stable-diffusion-web", "contact_email": "sam@customer.test", "fields": {"prompt": "a fox\u{1b}[31m"}}),
    ] {
        let (status, reply) = app.post("/api/v1/escalations", &body);
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (422, Some("invalid_input")),
            "{reply}"
        );
        assert!(reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("control characters"));
    }
    assert_eq!(app.smtp.messages().len(), 1, "nothing more was sent");
}

#[test]
fn a_handoff_after_the_bot_handed_over_keeps_the_bots_reason_and_decision() {
    let app = spawn_app();
    let (_, chat) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "Which pizza topping goes best with pineapple?"}),
    );
    assert_eq!(chat["outcome"], "escalate", "{chat}");
    let bot_reason = chat["reason"].as_str().unwrap().to_string();
    assert_ne!(bot_reason, "requested_human");
    let (status, ticket) = app.post("/api/v1/escalations", &json!({
        "tenant": "fictart", "contact_email": "kim@customer.test",
        "conversation_id": chat["conversation_id"], "conversation_token": chat["conversation_token"],
    }));
    assert_eq!(status, 202, "{ticket}");
    let stored = app
        .runtime
        .block_on(app.store.ticket(ticket["ticket_id"].as_str().unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(stored.content.reason, bot_reason);
    let decision = stored.content.decision.expect("the bot's decision");
    assert_eq!(
        decision.reason().map(|r| r.as_str().to_string()),
        Some(bot_reason)
    );
    assert_eq!(
        stored.content.question,
        "Which pizza topping goes best with pineapple?"
    );

    // without a chat, the customer is the one asking for a person
    let (_, ticket) = app.post(
        "/api/v1/escalations",
        &json!({"tenant": "fictart", "contact_email": "kim@customer.test", "note": "Please call me."}),
    );
    let stored = app
        .runtime
        .block_on(app.store.ticket(ticket["ticket_id"].as_str().unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(stored.content.reason, "requested_human");
    assert!(stored.content.decision.is_none());
}

#[test]
fn feedback_is_stored_for_an_answer() {
    let app = spawn_app();
    let (_, chat) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "can I log in with google?"}),
    );
    let (status, _) = app.post("/api/v1/feedback", &json!({"message_id": chat["message_id"], "rating": "down", "comment": "I still can't log in"}));
    assert_eq!(status, 204);
    let (status, body) = app.post(
        "/api/v1/feedback",
        &json!({"message_id": "m_unknown", "rating": "up"}),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = app.post(
        "/api/v1/feedback",
        &json!({"message_id": chat["message_id"], "rating": "meh"}),
    );
    assert_eq!(status, 422);
}

#[test]
fn bad_requests_get_one_error_shape_and_leak_nothing() {
    let app = spawn_app();
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (400, "bad_request", app.post_raw("/api/v1/chat", "application/json", b"{not json".to_vec())),
        (415, "unsupported_media_type", app.post_raw("/api/v1/chat", "text/plain", b"{}".to_vec())),
        (413, "body_too_large", app.post_raw("/api/v1/chat", "application/json", format!("{{\"tenant\":\"fictart\",\"message\":\"{}\"}}", "a".repeat(70_000)).into_bytes())),
        (422, "invalid_input", app.post("/api/v1/chat", &json!({"tenant": "fictart"}))),
        (422, "invalid_input", app.post("/api/v1/chat", &json!({"tenant": "fictart", "message": "   "}))),
        (422, "invalid_input", app.post("/api/v1/chat", &json!({"tenant": "fictart", "message": "a".repeat(4001)}))),
        (422, "invalid_input", app.post("/api/v1/chat", &json!({"tenant": "fictart", "message": "hi", "contact_email": "not-an-email"}))),
        (404, "not_found", app.post("/api/v1/chat", &json!({"tenant": "nope", "message": "hi"}))),
        (404, "not_found", app.post("/api/v1/chat", &json!({"tenant": "fictart", "message": "hi", "conversation_id": "c_missing", "conversation_token": "x"}))),
    ];
    for (status, code, (got_status, body)) in cases {
        assert_eq!(got_status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty());
        for leak in ["sqlx", "tantivy", "panicked", "/work/", "src/"] {
            assert!(!message.contains(leak), "{message}");
        }
    }
}

#[test]
fn operations_endpoints_answer() {
    let app = spawn_app();
    assert_eq!(app.get("/healthz").0, 200);
    let id = app.runtime.block_on(async {
        crate::helpers::http_client()
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string())
    });
    assert!(
        id.is_some_and(|id| id.len() >= 32),
        "every response carries a request id"
    );
    let (status, ready) = app.get("/readyz");
    assert_eq!(status, 200);
    assert!(ready.contains("fictart") && ready.contains("stable-diffusion-web"));
    app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "I was charged twice"}),
    );
    let (status, metrics) = app.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("askdesk_answers_total{outcome=\"escalate\"} 1"),
        "{metrics}"
    );
    let (status, page) = app.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("askdesk is running"));
}

/// A tiny file that starts like a PNG (the service checks the signature, not the whole image).
fn png_bytes(tag: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(std::iter::repeat_n(tag, 24));
    bytes
}

fn handoff_form(screenshots: Vec<(&str, Vec<u8>)>) -> reqwest::multipart::Form {
    let payload = json!({
        "tenant": "fictart",
        "contact_email": "kim@customer.test",
        "note": "The upload button does nothing.",
        "fields": {"steps_to_reproduce": "Open the editor, click Upload", "subscription_plan": "Pro"}
    });
    screenshots.into_iter().fold(
        reqwest::multipart::Form::new().text("payload", payload.to_string()),
        |form, (name, bytes)| {
            form.part(
                "screenshot",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            )
        },
    )
}

#[test]
fn screenshots_travel_with_the_ticket_to_the_support_team() {
    let app = spawn_app();
    let webp = b"RIFF\x20\0\0\0WEBPVP8 \x10\0\0\0webp-bytes-here!".to_vec();
    let (status, ticket) = app.post_form(
        "/api/v1/escalations",
        handoff_form(vec![
            ("editor.png", png_bytes(7)),
            ("../../phone shot.webp", webp.clone()),
        ]),
    );
    assert_eq!(status, 202, "{ticket}");
    let id = ticket["ticket_id"].as_str().unwrap().to_string();
    let stored = app.runtime.block_on(app.store.attachments(&id)).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].filename, "phoneshot.webp");

    let raw = app.smtp.wait_for_messages(1).remove(0);
    let body = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(body.contains("Open the editor, click Upload") && body.contains("Pro"));
    let attached = crate::smtp::attachments(&raw);
    assert_eq!(
        attached,
        vec![
            (
                "editor.png".to_string(),
                "image/png".to_string(),
                png_bytes(7)
            ),
            ("phoneshot.webp".to_string(), "image/webp".to_string(), webp),
        ]
    );
}

#[test]
fn bad_screenshots_are_refused_and_nothing_is_stored() {
    let app = spawn_app();
    let big = {
        let mut bytes = png_bytes(1);
        bytes.resize(5 * 1024 * 1024 + 1, 0);
        bytes
    };
    let cases: Vec<(&str, reqwest::multipart::Form, u16, &str)> = vec![
        (
            "a text file named .png",
            handoff_form(vec![("fake.png", b"just some text, not an image".to_vec())]),
            415,
            "unsupported_media_type",
        ),
        (
            "a GIF",
            handoff_form(vec![("anim.gif", b"GIF89a\x01\0\x01\0".to_vec())]),
            415,
            "unsupported_media_type",
        ),
        (
            "four screenshots",
            handoff_form((0..4).map(|i| ("s.png", png_bytes(i))).collect()),
            422,
            "invalid_input",
        ),
        (
            "a screenshot over 5 MiB",
            handoff_form(vec![("big.png", big)]),
            413,
            "body_too_large",
        ),
        (
            "no payload part",
            reqwest::multipart::Form::new().part(
                "screenshot",
                reqwest::multipart::Part::bytes(png_bytes(2)).file_name("a.png"),
            ),
            422,
            "invalid_input",
        ),
        (
            "a form over 16 MiB",
            // Just over the limit, so the client has sent everything when the answer comes.
            reqwest::multipart::Form::new().text(
                "payload",
                json!({"tenant": "fictart", "contact_email": "kim@customer.test",
                       "note": "x".repeat(16 * 1024 * 1024 + 1024)})
                .to_string(),
            ),
            413,
            "body_too_large",
        ),
    ];
    for (what, form, status, code) in cases {
        let (got, body) = app.post_form("/api/v1/escalations", form);
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {body}"
        );
    }
    let tickets = app
        .runtime
        .block_on(app.store.tickets(None, None, 10))
        .unwrap();
    assert!(tickets.is_empty(), "no ticket was stored half-way");
}
