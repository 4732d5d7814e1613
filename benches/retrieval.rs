//! Retrieval and indexing speed on a generated 10,000-passage knowledge base.
//!
//! `cargo bench --bench retrieval` (or `make bench`). The knowledge base is generated once by
//! `scripts/gen_kb.py` into `.cache/bench/` and indexed into `.cache/bench/data` (the first run
//! embeds 20,000 texts). The run prints per-query percentiles first (criterion reports means of
//! samples, the goals are p50/p99), then the criterion groups.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use askdesk::beir::{quantile, BeirSet};
use askdesk::engine::{self, EngineOptions};
use askdesk::index::{IndexSettings, Indexer};
use askdesk::knowledge::Tenant;
use askdesk::retrieve::SearchMode;
use criterion::Criterion;

const TENANT: &str = "bench";

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/bench")
}

fn ensure_knowledge(dir: &Path) {
    if !dir.join("knowledge/bench/tenant.toml").exists() {
        let status = Command::new("python3")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_kb.py"))
            .arg(dir)
            .status()
            .expect("python3 runs scripts/gen_kb.py");
        assert!(
            status.success(),
            "generating the benchmark knowledge base failed"
        );
    }
}

fn percentiles(label: &str, mut samples_ms: Vec<f64>) {
    samples_ms.sort_by(f64::total_cmp);
    println!(
        "{label:<46} p50 {:>7.3} ms   p99 {:>7.3} ms   (n={})",
        quantile(&samples_ms, 0.5),
        quantile(&samples_ms, 0.99),
        samples_ms.len()
    );
}

fn main() {
    let dir = bench_dir();
    ensure_knowledge(&dir);
    let mut options = EngineOptions::new(dir.join("knowledge"), Some(dir.join("data")));
    options.progress = true;
    let embedder = engine::load_embedder(&options.embedder).expect("run scripts/setup.sh first");
    let engine = engine::open(&options, Arc::clone(&embedder), None).expect("bench index");
    let retriever = Arc::clone(&engine.retriever);
    let tenant = retriever.tenant(TENANT).expect("bench tenant");
    let queries: Vec<String> = BeirSet::load(&dir.join("beir"))
        .expect("bench queries")
        .queries
        .into_values()
        .collect();
    let passages = tenant.index.passages().len();
    println!(
        "\n== askdesk retrieval on {passages} passages, {} distinct questions ==",
        queries.len()
    );

    // 1. Distinct questions: the query is embedded every time (no cache), then searched.
    let mut embed_ms = Vec::new();
    let mut total_ms = Vec::new();
    for q in &queries {
        let t0 = Instant::now();
        let v = embedder.embed(&[q.as_str()]).expect("embed");
        let t1 = Instant::now();
        let hits = tenant
            .search(q, Some(&v[0]), 10, SearchMode::Hybrid, retriever.settings())
            .expect("search");
        assert!(!hits.is_empty());
        embed_ms.push((t1 - t0).as_secs_f64() * 1e3);
        total_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let search_only: Vec<f64> = total_ms.iter().zip(&embed_ms).map(|(t, e)| t - e).collect();
    percentiles("hybrid retrieval, distinct question (total)", total_ms);
    percentiles("  of which: query embedding", embed_ms);
    percentiles("  of which: BM25 + dense scan + fusion", search_only);

    // 2. A repeated question: the query vector comes from the cache.
    let repeated = &queries[0];
    retriever
        .search(TENANT, repeated, 10, SearchMode::Hybrid)
        .expect("warm");
    let cached: Vec<f64> = (0..1000)
        .map(|_| {
            let t0 = Instant::now();
            retriever
                .search(TENANT, repeated, 10, SearchMode::Hybrid)
                .expect("search");
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    percentiles("hybrid retrieval, repeated question (cached)", cached);

    // 3. Re-index when nothing changed: load, chunk, hash, compare, open.
    let mut unchanged = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let e = engine::open(&options, Arc::clone(&embedder), None).expect("reopen");
        assert!(!e.reports[0].rebuilt);
        unchanged.push(t0.elapsed().as_secs_f64());
    }
    unchanged.sort_by(f64::total_cmp);
    println!(
        "{:<46} {:>9.0} passages/s (median of 5: {:.3} s)",
        "index, nothing changed",
        passages as f64 / unchanged[2],
        unchanged[2]
    );

    // 4. New passages: 1,000 passages never embedded before (fresh in-memory cache), with the
    //    bulk-indexing profile `askdesk index` uses.
    let bulk = engine::load_embedder(&askdesk::embed::EmbedderConfig::throughput_from_env())
        .expect("bulk embedder");
    let fresh: Vec<_> = tenant.index.passages()[..1000]
        .iter()
        .cloned()
        .map(|mut p| {
            p.text.push_str(" (new)");
            p
        })
        .collect();
    let t0 = Instant::now();
    let mut indexer = Indexer::new(None, bulk, IndexSettings::default());
    let (_, report) = indexer
        .index(Tenant {
            id: "fresh".into(),
            config: engine.tenants[0].config.clone(),
            passages: fresh,
        })
        .expect("fresh index");
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{:<46} {:>9.0} passages/s ({} passages, {} texts embedded, {:.2} s)",
        "index, new passages",
        report.passages as f64 / secs,
        report.passages,
        report.embedded,
        secs
    );

    // Criterion's own statistics for the two query paths.
    let mut c = Criterion::default().configure_from_args().sample_size(50);
    let mut i = 0usize;
    c.bench_function("hybrid_search_10k_distinct_question", |b| {
        b.iter(|| {
            i += 1;
            let q = &queries[i % queries.len()];
            let v = embedder.embed(&[q.as_str()]).expect("embed");
            tenant
                .search(q, Some(&v[0]), 10, SearchMode::Hybrid, retriever.settings())
                .expect("search")
        })
    });
    c.bench_function("hybrid_search_10k_cached_question", |b| {
        b.iter(|| {
            retriever
                .search(TENANT, repeated, 10, SearchMode::Hybrid)
                .expect("search")
        })
    });
    c.final_summary();
}
