//! LLM mode with a small deterministic OpenAI-compatible server written here: exact checks of the
//! citation rules, declines, timeouts and the fallback, and of what the model is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use askdesk::answer::{Check, EscalationReason, Generator, Outcome, Pipeline, Role, Turn};
use askdesk::engine::{self, EngineOptions};
use askdesk::llm::{LlmConfig, OpenAiLlm};
use askdesk::prompts::Prompts;
use axum::response::IntoResponse;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{embedder, repo_root};

/// What the fake model does with the next request.
#[derive(Clone)]
enum Script {
    /// Streams this text in pieces.
    Say(&'static str),
    /// Waits, then streams the text.
    Slow(Duration, &'static str),
    /// Answers 500.
    Fail,
    /// Streams the first text, waits until the gate is opened, then streams the second.
    Gated(&'static str, Arc<tokio::sync::Notify>, &'static str),
    /// Answers 200 with this content type and body (not a valid completion stream).
    Broken(&'static str, &'static str),
    /// Streams the text, then drops the connection without finishing the stream.
    Cut(&'static str),
}

#[derive(Clone)]
pub(crate) struct Fake {
    script: Arc<Mutex<Script>>,
    /// (marker, script): a request whose messages contain the marker gets that script instead
    /// (first match wins), so each kind of prompt can have its own fixed reply.
    rules: Arc<Mutex<Vec<(&'static str, Script)>>>,
    pub requests: Arc<Mutex<Vec<Value>>>,
}

impl Fake {
    /// Replies `text` to every request whose messages contain `marker`.
    pub fn say_when(&self, marker: &'static str, text: &'static str) {
        self.rules.lock().unwrap().push((marker, Script::Say(text)));
    }
}

/// Starts the fake model on a loopback port of `runtime`; returns it and its base URL (`…/v1`).
/// Follow-up rewrites get a fixed standalone question; anything else the current script.
pub(crate) fn spawn_fake(runtime: &tokio::runtime::Runtime) -> (Fake, String) {
    let fake = Fake {
        script: Arc::new(Mutex::new(Script::Say("NO_ANSWER"))),
        rules: Arc::new(Mutex::new(vec![(
            "Rewrite the customer",
            Script::Say("Are one-time credit packs refundable?"),
        )])),
        requests: Arc::default(),
    };
    let url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(completions))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    (fake, url)
}

async fn completions(
    axum::extract::State(fake): axum::extract::State<Fake>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    fake.requests.lock().unwrap().push(body.clone());
    let messages = body["messages"].to_string();
    let rule = fake
        .rules
        .lock()
        .unwrap()
        .iter()
        .find(|(marker, _)| messages.contains(marker))
        .map(|(_, script)| script.clone());
    let script = rule.unwrap_or_else(|| fake.script.lock().unwrap().clone());
    let text = match script {
        Script::Gated(first, gate, rest) => return gated(first, gate, rest),
        Script::Cut(text) => return cut(text),
        Script::Fail => {
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"error": {"message": "boom", "type": "server_error"}})),
            )
                .into_response()
        }
        Script::Broken(content_type, body) => {
            return ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Script::Slow(wait, text) => {
            tokio::time::sleep(wait).await;
            text
        }
        Script::Say(text) => text,
    };
    (
        [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
        sse_chunks(text) + "data: [DONE]\n\n",
    )
        .into_response()
}

/// Streams `first`, then waits for the gate before streaming `rest`.
fn gated(
    first: &'static str,
    gate: Arc<tokio::sync::Notify>,
    rest: &'static str,
) -> axum::response::Response {
    let chunks = futures_util::stream::once(async move { sse_chunks(first) })
        .chain(futures_util::stream::once(async move {
            gate.notified().await;
            sse_chunks(rest) + "data: [DONE]\n\n"
        }))
        .map(Ok::<_, std::convert::Infallible>);
    (
        [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// Streams `text`, then fails the body: the connection closes mid-stream.
fn cut(text: &'static str) -> axum::response::Response {
    let chunks = futures_util::stream::iter([
        Ok(sse_chunks(text)),
        Err(std::io::Error::other("connection lost")),
    ]);
    (
        [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// `text` as `chat.completion.chunk` events, one per word.
fn sse_chunks(text: &str) -> String {
    let mut sse = String::new();
    for piece in text.split_inclusive(' ') {
        let chunk = json!({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    sse
}

struct Harness {
    fake: Fake,
    pipeline: Arc<Pipeline>,
    runtime: tokio::runtime::Runtime,
}

fn harness(base_url: Option<String>) -> Harness {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (fake, fake_url) = spawn_fake(&runtime);
    let url = base_url.unwrap_or(fake_url);
    let config = LlmConfig {
        base_url: url,
        api_key: "sk-test-secret".into(),
        model: "fake".into(),
        temperature: 0.0,
        max_tokens: 200,
        first_token_timeout: Duration::from_millis(500),
        total_timeout: Duration::from_secs(5),
    };
    let prompts = Arc::new(Prompts::load(&repo_root().join("prompts")).unwrap());
    let generator = Generator::new(Arc::new(OpenAiLlm::new(config.clone())), prompts, &config);
    let options = EngineOptions::new(repo_root().join("knowledge"), None);
    let pipeline = Arc::new(
        engine::open(&options, embedder(), None)
            .unwrap()
            .pipeline()
            .with_generator(generator),
    );
    Harness {
        fake,
        pipeline,
        runtime,
    }
}

impl Harness {
    fn ask(&self, script: Script, question: &str, history: &[Turn]) -> askdesk::answer::Answer {
        *self.fake.script.lock().unwrap() = script;
        self.runtime
            .block_on(self.pipeline.answer("fictart", question, history))
            .unwrap()
    }
}

const CONFIDENT: &str = "can I get a refund";
/// Answered, but less surely than the extractive fallback needs (the 0.95 precision target).
const UNSURE: &str = "who do I email about problems with my account";

#[test]
fn valid_citations_are_kept_and_invalid_ones_dropped() {
    let h = harness(None);
    let a = h.ask(Script::Say("You can get a full refund within 7 days if no credits were used [1]. Packs are final [9]."), CONFIDENT, &[]);
    assert_eq!(a.outcome, Outcome::Answer);
    assert_eq!(
        a.text,
        "You can get a full refund within 7 days if no credits were used [1]. Packs are final."
    );
    assert_eq!(a.citations.len(), 1);
    assert_eq!(a.citations[0].id, a.retrieved[0].passage.id);
}

#[test]
fn no_valid_citation_or_a_decline_escalates_as_llm_declined() {
    let h = harness(None);
    for script in [
        Script::Say("Refunds are always possible."),
        Script::Say("Refunds are possible [8]."),
        Script::Say("NO_ANSWER"),
    ] {
        let a = h.ask(script, CONFIDENT, &[]);
        assert_eq!(
            (a.outcome, a.reason),
            (Outcome::Escalate, Some(EscalationReason::LlmDeclined)),
            "{}",
            a.text
        );
        assert!(a.text.contains("service@fictart.com") && a.citations.is_empty());
        assert_eq!(
            a.decision.check,
            Check::ModelDeclined,
            "the ticket names it"
        );
    }
}

#[test]
fn a_failing_model_falls_back_when_confident_and_hands_over_otherwise() {
    let h = harness(None);
    let a = h.ask(Script::Fail, CONFIDENT, &[]);
    assert_eq!(
        a.outcome,
        Outcome::Answer,
        "confident: the extractive answer stands"
    );
    assert!(a
        .text
        .starts_with("Here is what the FictArt help center says"));
    let a = h.ask(Script::Fail, UNSURE, &[]);
    assert_eq!(
        (a.outcome, a.reason),
        (Outcome::Escalate, Some(EscalationReason::LlmUnavailable)),
        "confidence {}",
        a.confidence
    );
    assert_eq!(a.decision.check, Check::ModelUnavailable);
    assert!(a.confidence < h.ask(Script::Fail, CONFIDENT, &[]).confidence);
    // no token before the first-token timeout
    let a = h.ask(
        Script::Slow(Duration::from_secs(2), "Late [1]."),
        UNSURE,
        &[],
    );
    assert_eq!(a.reason, Some(EscalationReason::LlmUnavailable));
    // nothing listening at all
    let refused = harness(Some(format!(
        "http://127.0.0.1:{}/v1",
        crate::smtp::free_port()
    )));
    let a = refused.ask(Script::Fail, CONFIDENT, &[]);
    assert_eq!(a.outcome, Outcome::Answer);
    let a = refused.ask(Script::Fail, UNSURE, &[]);
    assert_eq!(a.reason, Some(EscalationReason::LlmUnavailable));
}

#[test]
fn a_broken_response_is_a_failure_of_the_model_not_a_decline() {
    let h = harness(None);
    for (content_type, body) in [
        ("text/event-stream", "data: {not json\n\n"),
        ("text/event-stream", "data: [DONE]\n\n"),
        ("text/html", "<html><body>Bad gateway</body></html>"),
        ("application/json", "{\"unexpected\": true}"),
    ] {
        let a = h.ask(Script::Broken(content_type, body), CONFIDENT, &[]);
        assert_eq!(
            (a.outcome, &a.decision.check),
            (Outcome::Answer, &Check::Answered),
            "{body}: confident, the quoted answer stands"
        );
        assert!(a
            .text
            .starts_with("Here is what the FictArt help center says"));
        let a = h.ask(Script::Broken(content_type, body), UNSURE, &[]);
        assert_eq!(
            (a.reason, &a.decision.check),
            (
                Some(EscalationReason::LlmUnavailable),
                &Check::ModelUnavailable
            ),
            "{body}"
        );
    }
}

#[test]
fn the_model_gets_numbered_passages_and_the_customer_text_only_in_user_messages() {
    let h = harness(None);
    let history = [
        Turn {
            role: Role::User,
            content: "Can I get a refund on my membership?".into(),
        },
        Turn {
            role: Role::Assistant,
            content: "Within 7 days if no credits were consumed.".into(),
        },
    ];
    let a = h.ask(Script::Say("Yes [1]."), "and for credit packs?", &history);
    assert_eq!(
        a.standalone_question, "Are one-time credit packs refundable?",
        "the LLM rewrote the follow-up"
    );
    let requests = h.fake.requests.lock().unwrap();
    let answer_request = requests
        .iter()
        .find(|r| {
            r["messages"][1]["content"]
                .as_str()
                .is_some_and(|c| c.contains("<passage number=\"1\""))
        })
        .unwrap();
    let messages = answer_request["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"].as_str().unwrap().contains("FictArt"));
    assert!(
        !messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("credit packs"),
        "no customer text in the system prompt"
    );
    assert!(messages[1]["content"]
        .as_str()
        .unwrap()
        .contains("<question>\nand for credit packs?\n</question>"));
    assert_eq!(answer_request["max_tokens"], 200);
    assert!(
        !format!("{requests:?}").contains("sk-test-secret"),
        "the key travels only in the header"
    );
}

#[test]
fn the_chat_stream_forwards_the_models_tokens_as_they_arrive() {
    let h = harness(None);
    let app = crate::app::spawn_app_with(Arc::clone(&h.pipeline));
    let gate = Arc::new(tokio::sync::Notify::new());
    *h.fake.script.lock().unwrap() = Script::Gated(
        "You can get a full refund within 7 days [1]",
        Arc::clone(&gate),
        " if no credits were used [9].",
    );
    let (before_gate, after_gate) = app.runtime.block_on(async {
        let mut response = crate::helpers::http_client()
            .post(format!("{}/api/v1/chat", app.base))
            .header("accept", "text/event-stream")
            .json(&json!({"tenant": "fictart", "message": CONFIDENT}))
            .send()
            .await
            .unwrap();
        // The model is held mid-answer: what it said so far must already be here.
        let mut before = String::new();
        while !delta_text(&before).contains("within 7 days [1]") {
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .expect("the stream ended early");
            before.push_str(&String::from_utf8_lossy(&chunk));
        }
        gate.notify_one();
        let mut after = String::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            after.push_str(&String::from_utf8_lossy(&chunk));
        }
        (before, after)
    });
    assert!(before_gate.starts_with("event: meta"), "{before_gate}");
    assert!(!before_gate.contains("event: done"), "{before_gate}");
    // The invalid citation [9] is removed after the check: the client is told what to show.
    let replace = after_gate
        .split("\n\n")
        .find(|e| e.starts_with("event: replace"))
        .expect("a replace event");
    assert!(
        replace.contains("within 7 days [1] if no credits were used.") && !replace.contains("[9]"),
        "{replace}"
    );
    let done = after_gate
        .split("\n\n")
        .find(|e| e.starts_with("event: done"))
        .expect("a done event");
    assert!(
        done.contains("\"outcome\":\"answer\"") && done.contains("fictart/"),
        "{done}"
    );
}

/// The text of the `delta` events in a piece of an SSE stream.
fn delta_text(sse: &str) -> String {
    sse.split("\n\n")
        .filter(|e| e.starts_with("event: delta"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .map(|d| d["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// An OpenAI-compatible server speaking HTTPS with the self-signed certificate of
/// `tests/fixtures/tls`: it answers every request with one cited answer. Returns its base URL.
fn https_model(runtime: &tokio::runtime::Runtime) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = repo_root().join("tests/fixtures/tls");
    let certs = vec![CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}/v1", listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = sse_chunks(
                        "Within 7 days, if no credits were used, you get a full refund [1].",
                    ) + "data: [DONE]\n\n";
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        url
    })
}

#[test]
fn https_model_endpoints_work_and_their_certificates_are_checked() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = https_model(&runtime);

    // The system's trusted roots do not include the test certificate: refused, and the log
    // line says why.
    let config = LlmConfig {
        base_url: url.clone(),
        api_key: "sk-test-secret".into(),
        model: "fake".into(),
        temperature: 0.0,
        max_tokens: 50,
        first_token_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(5),
    };
    let llm = OpenAiLlm::new(config);
    let message = askdesk::llm::Message {
        speaker: askdesk::llm::Speaker::User,
        content: "hello".into(),
    };
    let refused = runtime.block_on(askdesk::llm::Llm::stream(&llm, vec![message]));
    let error = refused
        .err()
        .expect("an untrusted certificate is refused")
        .to_string();
    assert!(error.contains("certificate"), "{error}");

    // Trusting it (SSL_CERT_FILE, as for a private CA), the CLI gets its answer over HTTPS.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_askdesk"))
        .current_dir(repo_root())
        .env("OPENAI_BASE_URL", &url)
        .env(
            "SSL_CERT_FILE",
            repo_root().join("tests/fixtures/tls/cert.pem"),
        )
        .args([
            "ask",
            "--tenant",
            "fictart",
            "--mode",
            "llm",
            "--json",
            "Can I get a refund?",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["outcome"], "answer", "{answer}");
    assert!(
        answer["answer"]
            .as_str()
            .unwrap()
            .starts_with("Within 7 days, if no credits were used, you get a full refund [1]."),
        "the model's answer, not the extractive fallback: {answer}"
    );
}

#[test]
fn a_client_that_vanishes_mid_stream_leaves_a_whole_exchange_in_the_store() {
    let h = harness(None);
    let app = crate::app::spawn_app_with(Arc::clone(&h.pipeline));
    let gate = Arc::new(tokio::sync::Notify::new());
    *h.fake.script.lock().unwrap() = Script::Gated(
        "You can get a full refund within 7 days [1]",
        Arc::clone(&gate),
        " if no credits were used.",
    );
    let conversation_id = app.runtime.block_on(async {
        let mut response = crate::helpers::http_client()
            .post(format!("{}/api/v1/chat", app.base))
            .header("accept", "text/event-stream")
            .json(&json!({"tenant": "fictart", "message": CONFIDENT}))
            .send()
            .await
            .unwrap();
        let mut seen = String::new();
        while !delta_text(&seen).contains("7 days") {
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .expect("the stream ended early");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        let meta = seen.split("\n\n").next().unwrap();
        let data: Value =
            serde_json::from_str(meta.lines().nth(1).unwrap().trim_start_matches("data: "))
                .unwrap();
        data["conversation_id"].as_str().unwrap().to_string()
        // The response is dropped here: the client is gone mid-answer.
    });
    assert!(
        app.runtime
            .block_on(app.store.messages(&conversation_id))
            .unwrap()
            .is_empty(),
        "nothing is stored before the answer is complete"
    );
    gate.notify_one();
    let started = std::time::Instant::now();
    let stored = loop {
        let stored = app
            .runtime
            .block_on(app.store.messages(&conversation_id))
            .unwrap();
        if !stored.is_empty() || started.elapsed() > Duration::from_secs(10) {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(stored.len(), 2, "the question and the whole answer");
    assert_eq!(
        stored[1].content,
        "You can get a full refund within 7 days [1] if no credits were used."
    );
}

#[test]
fn a_graceful_shutdown_finishes_the_open_stream_and_takes_no_new_request() {
    let h = harness(None);
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (app, served) = crate::app::spawn_app_stoppable(Arc::clone(&h.pipeline), stopped);
    let gate = Arc::new(tokio::sync::Notify::new());
    *h.fake.script.lock().unwrap() = Script::Gated(
        "You can get a full refund within 7 days [1]",
        Arc::clone(&gate),
        " if no credits were used.",
    );
    let client = crate::helpers::http_client();
    let (rest, refused, served) = app.runtime.block_on(async {
        let mut response = client
            .post(format!("{}/api/v1/chat", app.base))
            .header("accept", "text/event-stream")
            .json(&json!({"tenant": "fictart", "message": CONFIDENT}))
            .send()
            .await
            .unwrap();
        let mut seen = String::new();
        while !delta_text(&seen).contains("7 days") {
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .expect("the stream ended early");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        // Shut down while the answer is mid-stream: the server stops listening...
        stop.send(()).unwrap();
        let mut refused = false;
        for _ in 0..100 {
            let fresh = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            if fresh
                .get(format!("{}/healthz", app.base))
                .send()
                .await
                .is_err()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !served.is_finished(),
            "the open stream keeps the server running"
        );
        // ...and the open stream still gets the rest of its answer.
        gate.notify_one();
        let mut rest = String::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            rest.push_str(&String::from_utf8_lossy(&chunk));
        }
        let served = tokio::time::timeout(Duration::from_secs(10), served).await;
        (rest, refused, served)
    });
    assert!(
        refused,
        "a new connection is refused once shutdown has begun"
    );
    assert!(
        delta_text(&rest).contains("if no credits were used."),
        "{rest}"
    );
    assert!(rest.contains("event: done"), "{rest}");
    let served = served.expect("the server finishes once the stream is done");
    assert!(served.unwrap().is_ok());
}

/// One question through one of the customer-facing APIs; returns (outcome, reason) as the
/// client sees them, after checking the response is a 200 with no error in it.
fn ask_over(app: &crate::app::App, surface: &str, question: &str) -> (Value, Value) {
    let chat = json!({"tenant": "fictart", "message": question});
    let completion = |stream: bool| {
        json!({"model": "fictart", "stream": stream,
               "messages": [{"role": "user", "content": question}]})
    };
    let api_key = format!("Bearer {}", crate::app::API_KEY);
    let headers = [("authorization", api_key.as_str())];
    match surface {
        "json" => {
            let (status, body) = app.post("/api/v1/chat", &chat);
            assert_eq!(status, 200, "{body}");
            (body["outcome"].clone(), body["reason"].clone())
        }
        "sse" => {
            let events = app.stream(&chat);
            assert!(!events.contains("event: error"), "{events}");
            let done = events
                .split("\n\n")
                .find(|e| e.starts_with("event: done"))
                .and_then(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
                .unwrap_or_else(|| panic!("no done event: {events}"));
            let done: Value = serde_json::from_str(done).unwrap();
            (done["outcome"].clone(), done["reason"].clone())
        }
        "openai" => {
            let r = app.request(
                "POST",
                "/v1/chat/completions",
                &headers,
                Some(&completion(false)),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            (
                r.body["askdesk"]["outcome"].clone(),
                r.body["askdesk"]["reason"].clone(),
            )
        }
        "openai-stream" => {
            let r = app.request(
                "POST",
                "/v1/chat/completions",
                &headers,
                Some(&completion(true)),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let text = r.body.as_str().unwrap().to_string();
            let last = text
                .split("\n\n")
                .filter_map(|e| e.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find(|chunk| chunk.get("askdesk").is_some())
                .unwrap_or_else(|| panic!("no chunk with the askdesk field: {text}"));
            (
                last["askdesk"]["outcome"].clone(),
                last["askdesk"]["reason"].clone(),
            )
        }
        other => unreachable!("{other}"),
    }
}

#[test]
fn every_model_failure_gives_the_customer_an_answer_or_a_handoff_on_every_api_and_is_counted() {
    let faults: Vec<(&str, Script)> = vec![
        ("server error", Script::Fail),
        (
            "slower than the first-token timeout",
            Script::Slow(Duration::from_secs(2), "Late [1]."),
        ),
        (
            "invalid JSON",
            Script::Broken("text/event-stream", "data: {not json\n\n"),
        ),
        (
            "stream cut mid-answer",
            Script::Cut("You can get a full refund"),
        ),
    ];
    let h = harness(None);
    let refused = harness(Some(format!(
        "http://127.0.0.1:{}/v1",
        crate::smtp::free_port()
    )));
    for (fault, script, harness) in
        faults
            .into_iter()
            .map(|(f, s)| (f, s, &h))
            .chain(std::iter::once((
                "connection refused",
                Script::Fail,
                &refused,
            )))
    {
        let app = crate::app::spawn_app_with(Arc::clone(&harness.pipeline));
        for surface in ["json", "sse", "openai", "openai-stream"] {
            *harness.fake.script.lock().unwrap() = script.clone();
            let (outcome, reason) = ask_over(&app, surface, CONFIDENT);
            assert_eq!(
                (outcome.as_str(), reason.as_str()),
                (Some("answer"), None),
                "{fault} on {surface}: the confident quote stands in"
            );
            let (outcome, reason) = ask_over(&app, surface, UNSURE);
            assert_eq!(
                (outcome.as_str(), reason.as_str()),
                (Some("escalate"), Some("llm_unavailable")),
                "{fault} on {surface}: handed over"
            );
        }
        // one app per fault: each surface quoted once and handed over once
        let (status, metrics) = app.get("/metrics");
        assert_eq!(status, 200);
        for fallback in ["quoted_answer", "handoff"] {
            let n = 4;
            let line = format!("askdesk_llm_failures_total{{fallback=\"{fallback}\"}} {n}");
            assert!(
                metrics.lines().any(|l| l == line),
                "{fault}: no {line:?} in\n{metrics}"
            );
        }
    }
}
