//! End-to-end answers in-process: `cargo bench --bench answer`. Every eval question of the demo
//! tenants is answered once (distinct questions: the query-vector cache never hits), through
//! validation, rewrite, policy, hybrid retrieval, confidence and the extractive quote.
//!
//! Then LLM mode's overhead: the same questions against an OpenAI-compatible server on loopback
//! that streams its first token at once, timing the pipeline from the question to the first
//! token it forwards. With a model whose own time to first token is ~0, that is what the
//! pipeline (and the HTTP client) adds before the customer sees the first word.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use askdesk::beir::quantile;
use askdesk::engine::{self, EngineOptions};
use askdesk::eval::load_suites;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let options = EngineOptions::new(root.join("knowledge"), None);
    let embedder = engine::load_embedder(&options.embedder).expect("run scripts/setup.sh first");
    let engine = engine::open(&options, embedder, None).expect("demo tenants");
    let pipeline = engine.pipeline();
    let suites = load_suites(&[root.join("evals/tune")]).expect("eval suites");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut total = Vec::new();
    let mut stages = [Vec::new(), Vec::new(), Vec::new()];
    for suite in &suites {
        for case in &suite.cases {
            let t0 = Instant::now();
            let answer = runtime
                .block_on(pipeline.answer(&suite.tenant, &case.question, &case.history))
                .expect("answer");
            total.push(t0.elapsed().as_secs_f64() * 1e3);
            stages[0].push(answer.timings.retrieve_ms);
            stages[1].push(answer.timings.answer_ms);
            stages[2].push(answer.timings.rewrite_ms + answer.timings.policy_ms);
        }
    }
    let show = |label: &str, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        println!(
            "{label:<44} p50 {:>7.3} ms   p99 {:>7.3} ms   (n={})",
            quantile(&v, 0.5),
            quantile(&v, 0.99),
            v.len()
        );
    };
    println!("\n== extractive answers end to end, in-process ==");
    show("answer (total)", total);
    let [retrieve, compose, rules] = stages;
    show("  retrieval (embedding + BM25 + dense + fusion)", retrieve);
    show("  confidence + extractive quote", compose);
    show("  rewrite + policy rules", rules);

    let base_url = runtime.block_on(instant_model());
    let config = askdesk::llm::LlmConfig {
        base_url,
        api_key: "none".into(),
        model: "instant".into(),
        temperature: 0.0,
        max_tokens: 300,
        first_token_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(30),
    };
    let prompts =
        Arc::new(askdesk::prompts::Prompts::load(&root.join("prompts")).expect("prompts"));
    let llm = Arc::new(askdesk::llm::OpenAiLlm::new(config.clone()));
    // A second engine, so its query-vector cache is cold like the first one's was.
    let embedder = engine::load_embedder(&options.embedder).expect("model");
    let llm_pipeline = engine::open(&options, embedder, None)
        .expect("demo tenants")
        .pipeline()
        .with_generator(askdesk::answer::Generator::new(llm, prompts, &config));
    let mut first_token = Vec::new();
    for suite in &suites {
        for case in &suite.cases {
            let t0 = Instant::now();
            let mut first = None;
            runtime
                .block_on(llm_pipeline.answer_streaming(
                    &suite.tenant,
                    &case.question,
                    &case.history,
                    |_| {
                        first.get_or_insert_with(|| t0.elapsed().as_secs_f64() * 1e3);
                    },
                ))
                .expect("answer");
            // Escalations decided before the model (low confidence, policy) never call it.
            first_token.extend(first);
        }
    }
    println!("\n== LLM mode: question to first forwarded token, model TTFT ~0 (loopback) ==");
    show("pipeline overhead before the first token", first_token);
}

/// An OpenAI-compatible server on loopback that streams a cited answer at once; returns its
/// base URL.
async fn instant_model() -> String {
    async fn completions() -> impl axum::response::IntoResponse {
        let mut sse = String::new();
        for piece in ["The ", "answer ", "is ", "in ", "the ", "passage ", "[1]."] {
            let chunk = serde_json::json!({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "instant", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        sse.push_str("data: [DONE]\n\n");
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            sse,
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let url = format!("http://{}/v1", listener.local_addr().expect("address"));
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(completions));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
