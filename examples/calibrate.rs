//! Dumps the retrieval signals of every eval case as JSON lines, for calibrating the confidence
//! model (README, "Confidence"): `cargo run --release --example calibrate -- evals/ > signals.jsonl`.
//! Cases the policy rules decide (a request for a person, a sensitive topic, an injection) are
//! skipped: confidence does not decide them.

use std::path::PathBuf;
use std::sync::Arc;

use askdesk::answer::{
    addressed_to_support, looks_like_injection, requests_human, sensitive_topic,
    standalone_question,
};
use askdesk::engine::{self, EngineOptions};
use askdesk::eval::load_suites;
use askdesk::knowledge::without_brand;
use askdesk::retrieve::SearchMode;

fn main() -> anyhow::Result<()> {
    let suites: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let suites = load_suites(&suites)?;
    let options = EngineOptions::new("knowledge", None);
    let embedder = engine::load_embedder(&options.embedder)?;
    let engine = engine::open(&options, embedder, None)?;
    let retriever = Arc::clone(&engine.retriever);
    for suite in &suites {
        let tenant = retriever.tenant(&suite.tenant).expect("tenant");
        let config = &tenant.index.tenant.config;
        for case in &suite.cases {
            let q = &case.question;
            if requests_human(q)
                || sensitive_topic(q, &config.sensitive_topics).is_some()
                || looks_like_injection(q)
            {
                continue;
            }
            // the text the pipeline searches with
            let standalone = addressed_to_support(&standalone_question(q, &case.history));
            let v = retriever.query_vector(&without_brand(&standalone, &config.name))?;
            let max =
                |m: &askdesk::index::Matrix| m.scores(&v).into_iter().fold(f32::MIN, f32::max);
            let hits = retriever.search(&suite.tenant, &standalone, 5, SearchMode::Hybrid)?;
            let top = &hits[0];
            let lexical = &tenant.index.lexical;
            let terms = lexical.terms(&without_brand(&standalone, &config.name));
            let top_terms =
                lexical.terms(&format!("{}\n{}", top.passage.title(), top.passage.text));
            let covered = terms.iter().filter(|t| top_terms.contains(t)).count();
            let unknown = terms.iter().filter(|t| lexical.doc_freq(t) == 0).count();
            let n = terms.len().max(1) as f32;
            println!(
                "{}",
                serde_json::json!({
                    "tenant": suite.tenant, "id": case.id, "expected": case.expect.outcome,
                    "head_max": max(&tenant.index.heads), "body_max": max(&tenant.index.bodies),
                    "dense_top": top.dense.map(|s| s.score), "bm25_rank": top.bm25.and_then(|s| s.rank),
                    "fused_top": top.score, "margin": top.score - hits.get(1).map_or(0.0, |h| h.score),
                    "coverage": covered as f32 / n, "unknown": unknown as f32 / n, "terms": terms.len(),
                })
            );
        }
    }
    Ok(())
}
