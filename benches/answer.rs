//! End-to-end extractive answers in-process: `cargo bench --bench answer`. Every eval question
//! of the demo tenants is answered once (distinct questions: the query-vector cache never hits),
//! through validation, rewrite, policy, hybrid retrieval, confidence and the extractive quote.

use std::path::PathBuf;
use std::time::Instant;

use askdesk::beir::quantile;
use askdesk::engine::{self, EngineOptions};
use askdesk::eval::load_suites;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let options = EngineOptions::new(root.join("knowledge"), None);
    let embedder = engine::load_embedder(&options.embedder).expect("run scripts/setup.sh first");
    let pipeline = engine::open(&options, embedder, None)
        .expect("demo tenants")
        .pipeline();
    let suites = load_suites(&[root.join("evals")]).expect("eval suites");
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
}
