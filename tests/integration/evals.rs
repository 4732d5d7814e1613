//! `askdesk eval` as a support lead runs it: reports (JSON, Markdown, HTML), the gate's exit codes,
//! baselines, runs against a server (`--url`) and the LLM judge (`--judge`).

use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::helpers::{acme_knowledge, repo_root, write_files};

fn eval(args: &[&str]) -> (i32, String, String) {
    eval_with(args, |_| {})
}

/// Runs `askdesk eval` with the environment adjusted by `configure`.
fn eval_with(args: &[&str], configure: impl FnOnce(&mut Command)) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_askdesk"));
    command.arg("eval").args(args).current_dir(repo_root());
    configure(&mut command);
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const FAQ: &str = "## Do you ship abroad?\nYes, we ship to 30 countries.\n\n## How long does delivery take?\nParcels arrive in 3 to 5 working days.\n";

fn suite(cases: &str) -> String {
    format!("tenant: acme\ncases:\n{cases}")
}

const GOOD_CASES: &str = "  - id: abroad\n    question: \"Can you send parcels to other countries?\"\n    expect:\n      outcome: answer\n      facts: [\"30 countries\"]\n      context: [\"30 countries\"]\n      sources: [\"acme/faq#do-you-ship-abroad\"]\n  - id: human\n    question: \"I want to talk to a real person\"\n    expect:\n      outcome: escalate\n";

#[test]
fn a_passing_suite_exits_0_and_writes_json_and_markdown() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("suite.yaml", &suite(GOOD_CASES))]);
    let json = dir.path().join("report.json");
    let md = dir.path().join("report.md");
    let (code, stdout, stderr) = eval(&[
        "--knowledge",
        kb.path().to_str().unwrap(),
        "--data",
        dir.path().join("data").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--min-pass-rate",
        "1.0",
        dir.path().join("suite.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "cases",
        "passed",
        "pass_rate",
        "outcome_accuracy",
        "escalation_precision",
        "escalation_recall",
        "fact_recall",
        "context_recall_at_3",
        "forbid_violations",
        "p50_ms",
        "p95_ms",
    ] {
        assert!(report["summary"].get(key).is_some(), "summary.{key}");
    }
    assert_eq!(report["summary"]["pass_rate"], 1.0);
    assert_eq!(report["tenants"]["acme"]["cases"], 2);
    let case = &report["cases"][0];
    for key in [
        "id",
        "tenant",
        "passed",
        "outcome",
        "expected_outcome",
        "failures",
        "answer",
        "citations",
        "latency_ms",
    ] {
        assert!(case.get(key).is_some(), "case.{key}");
    }
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("| **all** | 2 | 2 |"));
    assert!(stdout.contains("### Failures (0)"));
}

#[test]
fn a_low_pass_rate_or_a_regression_exits_1() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    let failing = GOOD_CASES.replace("facts: [\"30 countries\"]", "facts: [\"40 countries\"]");
    write_files(
        dir.path(),
        &[
            ("good.yaml", &suite(GOOD_CASES)),
            ("bad.yaml", &suite(&failing)),
        ],
    );
    let k = kb.path().to_str().unwrap().to_string();
    let data = dir.path().join("data").to_str().unwrap().to_string();
    let baseline = dir
        .path()
        .join("baseline.json")
        .to_str()
        .unwrap()
        .to_string();
    let (code, _, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--json",
        &baseline,
        dir.path().join("good.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);

    let bad = dir.path().join("bad.yaml").to_str().unwrap().to_string();
    let (code, stdout, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--min-pass-rate",
        "0.9",
        &bad,
    ]);
    assert_eq!(code, 1, "pass rate 0.5 < 0.9");
    assert!(
        stdout.contains("fact missing from the answer: \"40 countries\""),
        "{stdout}"
    );

    // no minimum, but "abroad" passed in the baseline and fails now: a regression
    let (code, stdout, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--baseline",
        &baseline,
        &bad,
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("**Regressions (1):** acme/abroad"),
        "{stdout}"
    );
}

#[test]
fn unusable_input_exits_2_before_anything_runs() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    let k = kb.path().to_str().unwrap().to_string();
    let cases = [
        (
            "typo.yaml",
            suite(&GOOD_CASES.replace("      facts:", "      fact:")),
            "unknown field `fact`",
        ),
        (
            "dupe.yaml",
            suite(&format!(
                "{GOOD_CASES}{}",
                GOOD_CASES.lines().take(4).collect::<Vec<_>>().join("\n") + "\n"
            )),
            "duplicate case id \"abroad\"",
        ),
        (
            "ghost.yaml",
            suite(GOOD_CASES).replace("tenant: acme", "tenant: ghost"),
            "unknown tenant \"ghost\"",
        ),
    ];
    for (name, content, message) in cases {
        write_files(dir.path(), &[(name, &content)]);
        let (code, stdout, stderr) =
            eval(&["--knowledge", &k, dir.path().join(name).to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(stderr.contains(name), "names the file: {stderr}");
        if name == "typo.yaml" {
            assert!(stderr.contains("typo.yaml:7:"), "and the line: {stderr}");
        }
        assert!(stdout.is_empty(), "nothing ran: {stdout}");
    }
}

#[test]
fn the_html_report_lists_failures_first_escaped_and_compares_with_the_baseline() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    let hostile = "  - id: hostile\n    question: \"<script>alert(1)</script> do you ship abroad?\"\n    expect:\n      outcome: answer\n      facts: [\"<b>50 countries</b>\"]\n";
    let failing = GOOD_CASES.replace("facts: [\"30 countries\"]", "facts: [\"40 countries\"]");
    write_files(
        dir.path(),
        &[
            ("good.yaml", &suite(GOOD_CASES)),
            ("now.yaml", &suite(&format!("{failing}{hostile}"))),
        ],
    );
    let (k, data) = (
        kb.path().to_str().unwrap().to_string(),
        dir.path().join("data").to_str().unwrap().to_string(),
    );
    let baseline = dir.path().join("baseline.json");
    let html = dir.path().join("report.html");
    let (code, _, stderr) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--json",
        baseline.to_str().unwrap(),
        dir.path().join("good.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--baseline",
        baseline.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        dir.path().join("now.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "abroad regressed: {stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(
        !page.contains("<link") && !page.contains("<script src") && !page.contains("<img"),
        "self-contained"
    );
    assert_eq!(page.matches("<script").count(), 1, "only the filter script");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; do you ship abroad?"));
    assert!(page.contains("&lt;b&gt;50 countries&lt;/b&gt;"));
    let at = |id: &str| {
        page.find(&format!("<code>acme/{id}</code>"))
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(at("abroad") < at("hostile"), "the regression leads");
    assert!(at("hostile") < at("human"), "failures before passes");
    assert!(page.contains("<strong>Regressions (1):</strong> acme/abroad"));
    assert!(page.contains("<strong>New cases (1):</strong> acme/hostile"));
    assert!(page.contains("<tr data-tenant=\"acme\">"));
    assert!(page.contains("<select id=\"filter-status\">"));
    assert!(
        page.contains("Yes, we ship to 30 countries."),
        "the retrieved passages are shown"
    );
}

/// A stand-in for `askdesk serve`'s OpenAI-compatible endpoint, speaking exactly its contract:
/// it records each request with its Authorization header, refuses any key but `test-key`
/// (401), answers 500 to a question mentioning "boom", answers refund questions with a
/// citation and the sources list the server appends, and escalates anything else.
#[derive(Clone, Default)]
struct FakeServer {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn fake_completions(
    axum::extract::State(fake): axum::extract::State<FakeServer>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    fake.requests
        .lock()
        .unwrap()
        .push((auth.clone(), body.clone()));
    let error = |status: StatusCode, code: &str| {
        (
            status,
            axum::Json(json!({"error": {"code": code, "message": code}})),
        )
            .into_response()
    };
    if auth != "Bearer test-key" {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let question = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    if question.contains("boom") {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }
    let refunds = json!({"id": "acme/billing#refunds", "title": "Billing › Refunds", "score": 0.91, "text": "Refunds within 7 days of purchase."});
    let (content, extra) = if question.contains("refund") {
        (
            "Here is what the Acme help center says:\n\nRefunds within 7 days of purchase.\n\nSources:\n- Billing › Refunds (https://acme.test/refunds)",
            json!({"outcome": "answer", "reason": null, "confidence": 0.88,
                "citations": [{"id": "acme/billing#refunds", "title": "Billing › Refunds", "url": "https://acme.test/refunds", "snippet": "Refunds within 7 days of purchase."}],
                "retrieved": [refunds], "ticket_id": null}),
        )
    } else {
        (
            "I'm not sure. Our team at help@acme.test will reply by email.",
            json!({"outcome": "escalate", "reason": "low_confidence", "confidence": 0.2,
                "citations": [], "retrieved": [refunds], "ticket_id": null}),
        )
    };
    axum::Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "askdesk": extra,
    }))
    .into_response()
}

fn spawn_fake_server(runtime: &tokio::runtime::Runtime) -> (FakeServer, String) {
    let fake = FakeServer::default();
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/v1/chat/completions",
                axum::routing::post(fake_completions),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    });
    (fake, base)
}

const REMOTE_CASES: &str = "  - id: refund\n    question: \"Can I get a refund?\"\n    history:\n      - {role: user, content: \"I bought the yearly plan\"}\n      - {role: assistant, content: \"Thanks for choosing Acme!\"}\n    expect:\n      outcome: answer\n      facts: [\"7 days\"]\n      context: [\"within 7 days\"]\n      forbid: [\"Sources:\", \"acme.test/refunds\"]\n      sources: [\"acme/billing#refunds\"]\n  - id: weather\n    question: \"What's the weather like?\"\n    expect:\n      outcome: escalate\n  - id: crash\n    question: \"boom, can I pay by card?\"\n    expect:\n      outcome: answer\n";

#[test]
fn url_runs_the_suite_against_a_server_with_the_same_checks() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (fake, base) = spawn_fake_server(&runtime);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("remote.yaml", &suite(REMOTE_CASES))]);
    let json = dir.path().join("report.json");
    let (code, stdout, stderr) = eval_with(
        &[
            "--url",
            &base,
            "--json",
            json.to_str().unwrap(),
            "--concurrency",
            "1",
            dir.path().join("remote.yaml").to_str().unwrap(),
        ],
        |c| {
            c.env("ASKDESK_API_KEY", "test-key");
        },
    );
    assert_eq!(code, 0, "no gate asked: {stdout}{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let case = |id: &str| {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let refund = case("refund");
    assert_eq!(refund["passed"], true, "{refund}");
    assert_eq!(
        refund["answer"],
        "Here is what the Acme help center says:\n\nRefunds within 7 days of purchase.",
        "the sources list is not part of the answer"
    );
    assert_eq!(refund["retrieved"][0]["id"], "acme/billing#refunds");
    assert_eq!(case("weather")["passed"], true);
    assert_eq!(case("weather")["reason"], "low_confidence");
    let crash = case("crash");
    assert_eq!(crash["passed"], false);
    assert_eq!(crash["outcome"], Value::Null);
    let failure = crash["failures"][0].as_str().unwrap();
    assert!(
        failure.contains(&format!("{base}/v1/chat/completions"))
            && failure.contains("500")
            && failure.contains("internal_error"),
        "{failure}"
    );
    assert_eq!(report["summary"]["passed"], 2);
    assert!(stdout.contains("**acme/crash**"), "{stdout}");

    let requests = fake.requests.lock().unwrap();
    assert_eq!(requests.len(), 3);
    let (auth, refund_request) = requests
        .iter()
        .find(|(_, body)| body.to_string().contains("refund"))
        .unwrap();
    assert_eq!(auth, "Bearer test-key");
    assert_eq!(
        refund_request,
        &json!({"model": "acme", "messages": [
            {"role": "user", "content": "I bought the yearly plan"},
            {"role": "assistant", "content": "Thanks for choosing Acme!"},
            {"role": "user", "content": "Can I get a refund?"},
        ]})
    );
}

#[test]
fn url_refuses_what_cannot_work_with_exit_2() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (fake, base) = spawn_fake_server(&runtime);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("remote.yaml", &suite(REMOTE_CASES))]);
    let suite_path = dir.path().join("remote.yaml");
    let suite_path = suite_path.to_str().unwrap();
    let unreachable = format!("http://127.0.0.1:{}", crate::smtp::free_port());
    let cases = [
        (
            unreachable.clone(),
            Some("test-key"),
            format!("cannot reach the askdesk server at {unreachable}/v1/chat/completions"),
        ),
        (
            base.clone(),
            Some("wrong-key"),
            "refused the API key".to_string(),
        ),
        (
            base.clone(),
            None,
            "pass --api-key or set ASKDESK_API_KEY".to_string(),
        ),
        (
            "ftp://support.acme.test".to_string(),
            Some("test-key"),
            "unsupported scheme".to_string(),
        ),
    ];
    for (url, key, message) in cases {
        let (code, stdout, stderr) = eval_with(&["--url", &url, suite_path], |c| {
            c.env_remove("ASKDESK_API_KEY");
            if let Some(key) = key {
                c.env("ASKDESK_API_KEY", key);
            }
        });
        assert_eq!(code, 2, "{url} {key:?}: {stdout}{stderr}");
        assert!(stderr.contains(&message), "{url}: {stderr}");
        assert!(stdout.is_empty(), "no report: {stdout}");
    }
    assert!(
        fake.requests
            .lock()
            .unwrap()
            .iter()
            .all(|(auth, _)| auth == "Bearer wrong-key"),
        "only the wrong-key run reached the server"
    );
}

#[test]
fn judge_grades_answered_cases_with_the_configured_llm() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (model, model_url) = crate::llm::spawn_fake(&runtime);
    model.say_when(
        "for FAITHFULNESS",
        "{\"score\": 0.75, \"reason\": \"one claim is not in the passages\"}",
    );
    model.say_when("for RELEVANCE", "It addresses the question well.");
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("suite.yaml", &suite(GOOD_CASES))]);
    let (json, data, suite_path) = (
        dir.path().join("report.json"),
        dir.path().join("data"),
        dir.path().join("suite.yaml"),
    );
    let args = [
        "--knowledge",
        kb.path().to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--judge",
        suite_path.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = eval_with(&args, |c| {
        c.env("OPENAI_BASE_URL", &model_url);
    });
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let abroad = &report["cases"][0];
    assert_eq!(abroad["id"], "abroad");
    assert_eq!(abroad["judge"]["faithfulness"], 0.75);
    assert_eq!(abroad["judge"]["relevance"], Value::Null);
    let note = abroad["judge"]["notes"][0].as_str().unwrap();
    assert!(
        note.starts_with("relevance: no score in the judge's reply"),
        "{note}"
    );
    assert!(
        report["cases"][1].get("judge").is_none(),
        "escalations are not judged"
    );
    assert_eq!(report["summary"]["judge_faithfulness"], 0.75);
    assert!(report["summary"].get("judge_relevance").is_none());
    assert!(stdout.contains("| **all** | 0.750 | n/a |"), "{stdout}");

    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 2, "two calls for the one answered case");
    let faithfulness = requests
        .iter()
        .map(|r| r["messages"][0]["content"].as_str().unwrap().to_string())
        .find(|p| p.contains("for FAITHFULNESS"))
        .unwrap();
    assert!(faithfulness.contains("Yes, we ship to 30 countries."));
    assert!(
        faithfulness.contains("<question>\nCan you send parcels to other countries?\n</question>")
    );
    drop(requests);

    let (code, _, stderr) = eval_with(&args, |c| {
        c.env_remove("OPENAI_BASE_URL");
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("--judge needs an LLM"), "{stderr}");
}

#[test]
fn url_mode_against_the_real_service_scores_like_in_process() {
    let app = crate::app::spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let cases = "tenant: fictart\ncases:\n  - id: refund\n    question: \"Can I get my money back?\"\n    expect:\n      outcome: answer\n      facts: [\"7 days\"]\n      context: [\"7 days\"]\n      forbid: [\"14 days\"]\n  - id: follow-up\n    question: \"and after that?\"\n    history:\n      - {role: user, content: \"What is your refund policy?\"}\n      - {role: assistant, content: \"Within 7 days of purchase you can get a full refund.\"}\n    expect:\n      outcome: answer\n      facts: [\"not available\"]\n  - id: human\n    question: \"I want to talk to a real person\"\n    expect:\n      outcome: escalate\n";
    write_files(dir.path(), &[("suite.yaml", cases)]);
    let json = dir.path().join("report.json");
    let (code, stdout, stderr) = eval_with(
        &[
            "--url",
            &app.base,
            "--json",
            json.to_str().unwrap(),
            dir.path().join("suite.yaml").to_str().unwrap(),
        ],
        |c| {
            c.env("ASKDESK_API_KEY", crate::app::API_KEY);
        },
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["summary"]["pass_rate"], 1.0, "{report}");
    assert_eq!(report["summary"]["context_recall_at_3"], 1.0, "{report}");
}
