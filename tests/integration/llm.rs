//! LLM mode with a small deterministic OpenAI-compatible server written here: exact checks of the
//! citation rules, declines, timeouts and the fallback, and of what the model is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use askdesk::answer::{EscalationReason, Generator, Outcome, Pipeline, Role, Turn};
use askdesk::engine::{self, EngineOptions};
use askdesk::llm::{LlmConfig, OpenAiLlm};
use askdesk::prompts::Prompts;
use axum::response::IntoResponse;
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
        Script::Fail => {
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"error": {"message": "boom", "type": "server_error"}})),
            )
                .into_response()
        }
        Script::Slow(wait, text) => {
            tokio::time::sleep(wait).await;
            text
        }
        Script::Say(text) => text,
    };
    let mut sse = String::new();
    for piece in text.split_inclusive(' ') {
        let chunk = json!({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    (
        [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
        sse,
    )
        .into_response()
}

struct Harness {
    fake: Fake,
    pipeline: Pipeline,
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
    let pipeline = engine::open(&options, embedder(), None)
        .unwrap()
        .pipeline()
        .with_generator(generator);
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
/// Answerable, but below the extractive-fallback confidence (measured 0.55).
const UNSURE: &str =
    "What should I send your team so they can figure out why my generations are failing?";

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
    assert!(
        a.confidence >= 0.5 && a.confidence < 0.75,
        "{}",
        a.confidence
    );
    assert_eq!(
        (a.outcome, a.reason),
        (Outcome::Escalate, Some(EscalationReason::LlmUnavailable))
    );
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
    let a = h.ask(
        Script::Say("Yes [1]."),
        "and what about credit packs?",
        &history,
    );
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
        .contains("<question>\nand what about credit packs?\n</question>"));
    assert_eq!(answer_request["max_tokens"], 200);
    assert!(
        !format!("{requests:?}").contains("sk-test-secret"),
        "the key travels only in the header"
    );
}
