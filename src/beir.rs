//! Retrieval evaluation on BEIR-layout folders (`corpus.jsonl`, `queries.jsonl`,
//! `qrels/test.tsv`): nDCG@10, Recall@10 and MRR@10 with the standard definitions (graded gains,
//! log2 discounts, recall over all judged-relevant documents), and per-query latency including the
//! query embedding, as the peer measures it.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use crate::knowledge::{DocKind, Passage};

/// One BEIR data set in memory.
pub struct BeirSet {
    pub corpus: Vec<Passage>,
    pub queries: HashMap<String, String>,
    /// query id → (doc id → graded relevance), in file order of first appearance.
    pub qrels: Vec<(String, HashMap<String, u32>)>,
}

#[derive(Deserialize)]
struct CorpusLine {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct QueryLine {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// The summary `askdesk beir --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BeirReport {
    pub ndcg_at_10: f64,
    pub recall_at_10: f64,
    pub mrr_at_10: f64,
    pub queries: usize,
    pub docs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

impl BeirSet {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let corpus: Vec<CorpusLine> = read_lines(&dir.join("corpus.jsonl"))?;
        let queries: Vec<QueryLine> = read_lines(&dir.join("queries.jsonl"))?;
        let qrels_path = dir.join("qrels").join("test.tsv");
        let qrels_text = std::fs::read_to_string(&qrels_path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", qrels_path.display()))?;
        let mut qrels: Vec<(String, HashMap<String, u32>)> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        for (i, line) in qrels_text.lines().enumerate() {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 3 || (i == 0 && cols[2].parse::<f64>().is_err()) {
                continue;
            }
            let grade: f64 = cols[2].parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}:{}: bad relevance {:?}",
                    qrels_path.display(),
                    i + 1,
                    cols[2]
                )
            })?;
            let slot = *position.entry(cols[0].to_string()).or_insert_with(|| {
                qrels.push((cols[0].to_string(), HashMap::new()));
                qrels.len() - 1
            });
            qrels[slot]
                .1
                .insert(cols[1].to_string(), grade.max(0.0) as u32);
        }
        let corpus = corpus
            .into_iter()
            .map(|c| Passage {
                id: c.id,
                tenant: "beir".into(),
                heading_path: if c.title.trim().is_empty() {
                    vec![]
                } else {
                    vec![c.title]
                },
                question: None,
                text: c.text,
                url: None,
                kind: DocKind::Page,
                updated: None,
            })
            .collect();
        Ok(Self {
            corpus,
            queries: queries.into_iter().map(|q| (q.id, q.text)).collect(),
            qrels,
        })
    }
}

/// nDCG@k with gains equal to the graded relevance.
pub fn ndcg_at(k: usize, ranked: &[String], relevant: &HashMap<String, u32>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(r, d)| f64::from(*relevant.get(d).unwrap_or(&0)) / ((r + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = relevant.values().copied().collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(r, g)| f64::from(*g) / ((r + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Share of the relevant documents found in the top k.
pub fn recall_at(k: usize, ranked: &[String], relevant: &HashMap<String, u32>) -> f64 {
    let total = relevant.values().filter(|g| **g > 0).count();
    if total == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| relevant.get(*d).is_some_and(|g| *g > 0))
        .count();
    found as f64 / total as f64
}

/// Reciprocal rank of the first relevant document in the top k.
pub fn mrr_at(k: usize, ranked: &[String], relevant: &HashMap<String, u32>) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| relevant.get(d).is_some_and(|g| *g > 0))
        .map_or(0.0, |r| 1.0 / (r + 1) as f64)
}

/// Value at quantile `q` of sorted samples (nearest rank, as the peer computes it).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * q) as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs every judged query through `search` (which returns ranked doc ids) and scores it.
pub fn evaluate(
    set: &BeirSet,
    mut search: impl FnMut(&str) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<BeirReport> {
    let (mut ndcg, mut recall, mut mrr, mut latencies) = (0.0, 0.0, 0.0, Vec::new());
    let mut n = 0;
    for (qid, relevant) in &set.qrels {
        let Some(text) = set.queries.get(qid) else {
            continue;
        };
        let started = Instant::now();
        let ranked = search(text)?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        ndcg += ndcg_at(10, &ranked, relevant);
        recall += recall_at(10, &ranked, relevant);
        mrr += mrr_at(10, &ranked, relevant);
        n += 1;
    }
    latencies.sort_by(f64::total_cmp);
    let mean = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
    Ok(BeirReport {
        ndcg_at_10: mean(ndcg),
        recall_at_10: mean(recall),
        mrr_at_10: mean(mrr),
        queries: n,
        docs: set.corpus.len(),
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn ranked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_by_hand() {
        // one relevant doc at rank 2: 1/log2(3) / 1 = 0.6309
        let r = rel(&[("a", 1)]);
        assert!((ndcg_at(10, &ranked(&["x", "a"]), &r) - 1.0 / 3f64.log2()).abs() < 1e-12);
        // graded: a=2 at rank 1, b=1 at rank 3 → (2 + 1/2) / (2 + 1/log2(3))
        let r = rel(&[("a", 2), ("b", 1)]);
        let expected = (2.0 + 0.5) / (2.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(10, &ranked(&["a", "x", "b"]), &r) - expected).abs() < 1e-12);
        // relevant doc beyond the cut-off counts nothing
        assert_eq!(ndcg_at(1, &ranked(&["x", "a"]), &rel(&[("a", 1)])), 0.0);
    }

    #[test]
    fn recall_and_mrr_by_hand() {
        let r = rel(&[("a", 1), ("b", 1), ("c", 1), ("z", 0)]);
        let got = ranked(&["x", "b", "a", "z"]);
        assert!((recall_at(10, &got, &r) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(mrr_at(10, &got, &r), 0.5);
        assert_eq!(mrr_at(1, &got, &r), 0.0);
    }

    #[test]
    fn loads_a_beir_folder_and_evaluates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("qrels")).unwrap();
        std::fs::write(p.join("corpus.jsonl"), "{\"_id\":\"d1\",\"title\":\"T\",\"text\":\"one\"}\n{\"_id\":\"d2\",\"text\":\"two\"}\n").unwrap();
        std::fs::write(
            p.join("queries.jsonl"),
            "{\"_id\":\"q1\",\"text\":\"one?\"}\n{\"_id\":\"q2\",\"text\":\"two?\"}\n",
        )
        .unwrap();
        std::fs::write(
            p.join("qrels/test.tsv"),
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n",
        )
        .unwrap();
        let set = BeirSet::load(p).unwrap();
        assert_eq!(set.corpus[0].heading_path, vec!["T"]);
        // the same ranking for both queries: q1 finds d1 first, q2 finds d2 second
        let report = evaluate(&set, |_| Ok(ranked(&["d1", "d2"]))).unwrap();
        assert_eq!(report.queries, 2);
        assert!((report.mrr_at_10 - 0.75).abs() < 1e-12);
        assert!((report.ndcg_at_10 - (1.0 + 1.0 / 3f64.log2()) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("corpus.jsonl"),
            "{\"_id\":\"d1\",\"text\":\"x\"}\nnot json\n",
        )
        .unwrap();
        let err = BeirSet::load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("corpus.jsonl:2"), "{err}");
    }
}
