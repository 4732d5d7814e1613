//! Dumps the answerability signals of a training set as JSON lines, for fitting the calibrated
//! answer-or-hand-over model offline (`scripts/fit_answerability.py`):
//!
//! `cargo run --release --example answerability_features -- evals/tune/ \
//!     --knowledge evals/train/knowledge evals/train/ ../shared/data/stackfaq-threads > features.jsonl`
//!
//! Suites are asked of the knowledge folder named by the `--knowledge` before them (the demo
//! `knowledge` when none is).
//!
//! Labels: a suite case is 1 when an answer would be right (it expects an answer and the
//! answer the bot would give holds every expected fact and no forbidden string), else 0. A
//! StackFAQ question is asked of a knowledge base holding only part of the threads: it is 1
//! when its thread is there and comes first, 0 otherwise, so the set holds questions the
//! knowledge base cannot answer as well as ones it can. Dev and gate suites must never be
//! passed here: they measure the model.

use std::path::{Path, PathBuf};

use askdesk::answer::{Outcome, Pipeline};
use askdesk::engine::{self, EngineOptions};
use askdesk::eval::load_suites;

/// Share of StackFAQ threads put in the knowledge base; questions about the others are
/// unanswerable by construction.
const INDEXED_SHARE: u64 = 70;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut beir: Vec<PathBuf> = Vec::new();
    // the demo brands' suites are the tuning split; another help center's are training data
    let mut suites: Vec<(PathBuf, &str, Vec<PathBuf>)> =
        vec![(PathBuf::from("knowledge"), "tune", Vec::new())];
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    while let Some(arg) = args.next() {
        if arg.as_os_str() == "--knowledge" {
            let dir = args
                .next()
                .ok_or_else(|| anyhow::anyhow!("--knowledge needs a folder"))?;
            suites.push((dir, "train", Vec::new()));
        } else if arg.join("corpus.jsonl").exists() {
            beir.push(arg);
        } else if let Some((_, _, paths)) = suites.last_mut() {
            paths.push(arg);
        }
    }
    let embedder = engine::load_embedder(&askdesk::embed::EmbedderConfig::from_env())?;
    for (knowledge, source, paths) in suites.iter().filter(|(_, _, p)| !p.is_empty()) {
        let options = EngineOptions::new(knowledge, Some(tempfile::tempdir()?.keep()));
        let engine = engine::open(&options, embedder.clone(), None)?;
        suite_rows(&engine.pipeline(), paths, source).await?;
    }
    for dir in beir {
        let knowledge = tempfile::tempdir()?;
        let queries = stackfaq_knowledge(&dir, knowledge.path())?;
        let options = EngineOptions::new(knowledge.path(), Some(tempfile::tempdir()?.keep()));
        let engine = engine::open(&options, embedder.clone(), None)?;
        let pipeline = engine.pipeline();
        for (id, text, thread, indexed) in queries {
            let answer = pipeline.answer("stackfaq", &text, &[]).await?;
            let top_thread = answer
                .retrieved
                .first()
                .and_then(|h| h.passage.id.split('#').next())
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or("");
            let label = indexed && top_thread == thread;
            emit("stackfaq", &id, label, None, &answer);
        }
    }
    Ok(())
}

async fn suite_rows(pipeline: &Pipeline, suites: &[PathBuf], source: &str) -> anyhow::Result<()> {
    let norm = |s: &str| {
        s.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    for suite in load_suites(suites)? {
        for case in &suite.cases {
            let answer = pipeline
                .answer(&suite.tenant, &case.question, &case.history)
                .await?;
            let candidate = norm(&answer.decision.candidate);
            let e = &case.expect;
            let label = e.outcome == Outcome::Answer
                && e.facts.iter().all(|f| candidate.contains(&norm(f)))
                && !e.forbid.iter().any(|f| candidate.contains(&norm(f)));
            emit(source, &case.id, label, Some(e.outcome), &answer);
        }
    }
    Ok(())
}

/// One row: the signals and label, the outcome the case expects (suites only) and the check
/// that decided, so that the fit can keep the rows the answerability model decides on.
fn emit(
    source: &str,
    id: &str,
    label: bool,
    expect: Option<Outcome>,
    answer: &askdesk::answer::Answer,
) {
    let features: serde_json::Map<String, serde_json::Value> = answer
        .decision
        .signals
        .named()
        .into_iter()
        .map(|(name, value)| (name.to_string(), serde_json::json!(value)))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "source": source,
            "id": id,
            "label": u8::from(label),
            "expect": expect,
            "check": answer.decision.check,
            "features": features,
        })
    );
}

/// Writes the indexed share of a BEIR corpus as a tenant `stackfaq` (one page per thread) and
/// returns its questions as (id, text, thread id, whether the thread is indexed).
fn stackfaq_knowledge(
    dir: &Path,
    root: &Path,
) -> anyhow::Result<Vec<(String, String, String, bool)>> {
    let tenant = root.join("stackfaq");
    std::fs::create_dir_all(&tenant)?;
    std::fs::write(
        tenant.join("tenant.toml"),
        "name = \"StackFAQ\"\nsupport_email = \"help@stackfaq.test\"\n",
    )?;
    let indexed = |id: &str| {
        let h = id.bytes().fold(1469598103934665603u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(1099511628211)
        });
        h % 100 < INDEXED_SHARE
    };
    let read = |name: &str| -> anyhow::Result<Vec<serde_json::Value>> {
        std::fs::read_to_string(dir.join(name))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Ok(serde_json::from_str(l)?))
            .collect()
    };
    for doc in read("corpus.jsonl")? {
        let id = doc["_id"].as_str().unwrap_or_default();
        if !indexed(id) {
            continue;
        }
        let page = format!(
            "## {}\n\n{}\n",
            doc["title"].as_str().unwrap_or_default(),
            doc["text"].as_str().unwrap_or_default()
        );
        std::fs::write(tenant.join(format!("{id}.md")), page)?;
    }
    let qrels = std::fs::read_to_string(dir.join("qrels/test.tsv"))?;
    let thread_of: std::collections::HashMap<&str, &str> = qrels
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, f.next()?))
        })
        .collect();
    Ok(read("queries.jsonl")?
        .into_iter()
        .filter_map(|q| {
            let id = q["_id"].as_str()?.to_string();
            let thread = thread_of.get(id.as_str())?.to_string();
            let text = q["text"].as_str()?.to_string();
            let known = indexed(&thread);
            Some((id, text, thread, known))
        })
        .collect())
}
