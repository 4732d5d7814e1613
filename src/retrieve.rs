//! Hybrid retrieval: BM25 and dense search over one tenant's passages, fused.
//!
//! Why not plain reciprocal-rank fusion: RRF throws away how *sure* each retriever is. On FAQ data
//! the dense retriever is usually right and BM25's top ranks are often noise from common words, so
//! giving both rank lists equal votes drags good dense rankings down (measured in the README).
//! The default instead adds BM25 to the dense cosine as a small, score-aware bonus: BM25 scores
//! are normalised by the best BM25 score of the query, so a query whose rare terms (an error code,
//! an email address, a menu name) match one passage strongly moves that passage up, while a query
//! of common words barely changes the dense order.
//!
//! The dense side compares the question with each passage's own question or heading *and* with
//! the whole passage, mixing the two cosines: a customer's question is most often a rewording of
//! an FAQ question, which the full-passage vector dilutes with the answer's words. A long
//! passage, or one holding a list, is then lifted towards its best-matching *sentence* when that sentence
//! matches better than the passage: a question about one rule or one bullet of a list matches
//! that sentence far better than the passage as a whole. The lift only ever raises a score, by
//! part of the gap, so a passage whose other sentences are on topic is not pulled down, and
//! StackFAQ answers that merely share one sentence's words gain little (README, "How retrieval
//! works").

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;

use crate::embed::{EmbedError, Embedder};
use crate::index::{IndexError, Matrix, TenantIndex};
use crate::knowledge::{KnowledgeError, Passage};

/// Which retrievers to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    Bm25,
    Dense,
    #[default]
    Hybrid,
}

/// How the two ranked lists become one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal-rank fusion with constant `k` (kept for comparison).
    Rrf { k: f32 },
    /// Dense cosine plus a weight × (BM25 score / the query's best BM25 score). The weight is
    /// `exact_weight` when the query holds an exact token (a code, number, e-mail address or
    /// identifier: see [`has_exact_token`]), where wording-level matching is what the customer
    /// needs, and `bm25_weight` otherwise.
    Weighted { bm25_weight: f32, exact_weight: f32 },
}

/// Retrieval knobs. Defaults were chosen on the StackFAQ sets (README, "Retrieval quality").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrievalSettings {
    /// Weight of the question/heading cosine against the whole-passage cosine.
    pub head_weight: f32,
    pub fusion: Fusion,
    /// Share of the gap between a passage's heading/passage mix and its best sentence's cosine
    /// (when higher) added to its score.
    pub sentence_weight: f32,
    /// Candidates taken from each retriever before fusion.
    pub pool: usize,
}

impl Default for RetrievalSettings {
    fn default() -> Self {
        Self {
            head_weight: 0.6,
            fusion: Fusion::Weighted {
                bm25_weight: 0.05,
                exact_weight: 0.3,
            },
            sentence_weight: 0.5,
            pool: 50,
        }
    }
}

impl RetrievalSettings {
    /// Defaults overridden by `ASKDESK_HEAD_WEIGHT`, `ASKDESK_BM25_WEIGHT`,
    /// `ASKDESK_EXACT_WEIGHT`, `ASKDESK_SENTENCE_WEIGHT` and `ASKDESK_FUSION`
    /// (`weighted` or `rrf`), for experiments and for tuning a deployment.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f32>().ok());
        if let Some(w) = number("ASKDESK_HEAD_WEIGHT") {
            s.head_weight = w.clamp(0.0, 1.0);
        }
        if let Some(w) = number("ASKDESK_SENTENCE_WEIGHT") {
            s.sentence_weight = w.clamp(0.0, 1.0);
        }
        if let Fusion::Weighted {
            bm25_weight,
            exact_weight,
        } = &mut s.fusion
        {
            if let Some(w) = number("ASKDESK_BM25_WEIGHT") {
                *bm25_weight = w.max(0.0);
            }
            if let Some(w) = number("ASKDESK_EXACT_WEIGHT") {
                *exact_weight = w.max(0.0);
            }
        }
        if std::env::var("ASKDESK_FUSION").is_ok_and(|v| v == "rrf") {
            s.fusion = Fusion::Rrf { k: 60.0 };
        }
        s
    }
}

/// One retriever's view of a passage: its score and 1-based rank (None when outside its pool).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Signal {
    pub score: f32,
    pub rank: Option<usize>,
}

/// A retrieved passage with the fused score and each retriever's own signal.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub passage: Passage,
    pub score: f32,
    /// The dense retriever's score (the heading/passage/sentence cosine mix) and rank.
    pub dense: Option<Signal>,
    pub bm25: Option<Signal>,
    /// Cosine between the question and the whole passage alone (None without a query vector):
    /// the answerability signal confidence is calibrated on.
    pub passage_cosine: Option<f32>,
    /// The passage's position in its tenant's index (None for a hit not read from an index,
    /// such as one rebuilt from a remote answer).
    #[serde(skip)]
    pub ord: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum RetrieveError {
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// A tenant's index prepared for queries (the dense mix precomputed).
pub struct TenantSearch {
    pub index: TenantIndex,
    dense: Matrix,
}

impl TenantSearch {
    pub fn new(index: TenantIndex, settings: &RetrievalSettings) -> Self {
        let dense = Matrix::blend(&index.heads, &index.bodies, settings.head_weight);
        Self { index, dense }
    }

    /// Ranks this tenant's passages for a query (text and its vector).
    pub fn search(
        &self,
        text: &str,
        query_vector: Option<&[f32]>,
        k: usize,
        mode: SearchMode,
        settings: &RetrievalSettings,
    ) -> Result<Vec<Hit>, RetrieveError> {
        let pool = settings.pool.max(k);
        let mut dense_scores = match (mode, query_vector) {
            (SearchMode::Bm25, _) | (_, None) => None,
            (_, Some(v)) => Some(self.dense.scores(v)),
        };
        let mut dense_top = dense_scores.as_deref().map(|s| top_n(s, pool));
        let bm25_top = if mode == SearchMode::Dense {
            Vec::new()
        } else {
            self.index
                .lexical
                .search(text, pool)
                .map_err(|e| RetrieveError::Index(e.into()))?
        };
        if let (Some(scores), Some(top), Some(v)) =
            (dense_scores.as_mut(), dense_top.as_mut(), query_vector)
        {
            let candidates = top.iter().copied().chain(bm25_top.iter().map(|(o, _)| *o));
            self.mix_in_sentences(scores, candidates, v, settings.sentence_weight);
            top.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        }
        let fusion = match settings.fusion {
            Fusion::Weighted { exact_weight, .. } if has_exact_token(text) => Fusion::Weighted {
                bm25_weight: exact_weight,
                exact_weight,
            },
            other => other,
        };
        let fused = fuse(
            dense_scores.as_deref(),
            dense_top.as_deref().unwrap_or(&[]),
            &bm25_top,
            mode,
            fusion,
        );
        Ok(fused
            .into_iter()
            .take(k)
            .map(|(ord, score, dense, bm25)| Hit {
                passage: self.index.passages()[ord].clone(),
                score,
                dense,
                bm25,
                passage_cosine: query_vector
                    .map(|v| crate::embed::dot(self.index.bodies.row(ord), v)),
                ord: Some(ord),
            })
            .collect())
    }

    /// The query's cosine with each of a hit's sentence vectors, in the order of
    /// [`Passage::embedded_sentences`] (empty when the passage has none).
    pub fn sentence_cosines(&self, hit: &Hit, query: &[f32]) -> Vec<f32> {
        let rows = hit
            .ord
            .and_then(|ord| self.index.sentence_rows.get(ord))
            .cloned()
            .unwrap_or_default();
        rows.map(|row| crate::embed::dot(self.index.sentences.row(row), query))
            .collect()
    }

    /// Lifts each candidate's heading/passage score towards its best sentence's cosine when that
    /// is higher: `mix + w·max(0, best sentence − mix)` (a passage with no sentence vectors keeps
    /// its mix). Only the candidates of fusion (both retrievers' pools) are scored by sentence,
    /// so a large knowledge base does not pay for every sentence of every passage.
    fn mix_in_sentences(
        &self,
        scores: &mut [f32],
        candidates: impl Iterator<Item = usize>,
        query: &[f32],
        w: f32,
    ) {
        if w <= 0.0 {
            return;
        }
        let mut candidates: Vec<usize> = candidates.collect();
        candidates.sort_unstable();
        candidates.dedup();
        for ord in candidates {
            let rows = self
                .index
                .sentence_rows
                .get(ord)
                .cloned()
                .unwrap_or_default();
            // A passage without sentence vectors (short prose) keeps its score: its own vectors
            // already match it as closely as its sentences would.
            if let Some(best_sentence) = rows
                .map(|row| crate::embed::dot(self.index.sentences.row(row), query))
                .reduce(f32::max)
            {
                scores[ord] = lifted(scores[ord], best_sentence, w);
            }
        }
    }
}

/// `score` raised by the share `w` of its gap to `best_sentence`, never lowered: a passage whose
/// other sentences are on topic too must not lose to one that only shares a sentence's words.
fn lifted(score: f32, best_sentence: f32, w: f32) -> f32 {
    score + w * (best_sentence - score).max(0.0)
}

type Fused = (usize, f32, Option<Signal>, Option<Signal>);

/// Merges the candidate lists into one ranking, best first.
fn fuse(
    dense_scores: Option<&[f32]>,
    dense_top: &[usize],
    bm25_top: &[(usize, f32)],
    mode: SearchMode,
    fusion: Fusion,
) -> Vec<Fused> {
    let mut candidates: HashMap<usize, (Option<Signal>, Option<Signal>)> = HashMap::new();
    for (rank, &ord) in dense_top.iter().enumerate() {
        candidates.entry(ord).or_default().0 = Some(Signal {
            score: dense_scores.map_or(0.0, |s| s[ord]),
            rank: Some(rank + 1),
        });
    }
    for (rank, &(ord, score)) in bm25_top.iter().enumerate() {
        let entry = candidates.entry(ord).or_default();
        entry.1 = Some(Signal {
            score,
            rank: Some(rank + 1),
        });
        if entry.0.is_none() {
            // Outside the dense pool, but its cosine is known: keep it for confidence estimates.
            entry.0 = dense_scores.map(|s| Signal {
                score: s[ord],
                rank: None,
            });
        }
    }
    let best_bm25 = bm25_top.first().map_or(0.0, |(_, s)| *s).max(f32::EPSILON);
    let mut out: Vec<Fused> = candidates
        .into_iter()
        .map(|(ord, (dense, bm25))| {
            let d = dense.map(|s| s.score);
            let b = bm25.map(|s| s.score);
            let score = match mode {
                SearchMode::Dense => d.unwrap_or(-1.0),
                SearchMode::Bm25 => b.unwrap_or(0.0),
                SearchMode::Hybrid => match fusion {
                    Fusion::Weighted { bm25_weight, .. } => {
                        d.unwrap_or(-1.0) + bm25_weight * b.unwrap_or(0.0) / best_bm25
                    }
                    Fusion::Rrf { k } => {
                        let rr = |s: Option<Signal>| {
                            s.and_then(|s| s.rank).map_or(0.0, |r| 1.0 / (k + r as f32))
                        };
                        rr(dense) + rr(bm25)
                    }
                },
            };
            (ord, score, dense, bm25)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// True when the query holds a token that must match literally: one with a digit, `@`, `_`, or
/// an inner `.` (error codes, versions, e-mail addresses, file names, identifiers). Embeddings
/// blur such tokens; BM25 matches them exactly.
pub fn has_exact_token(text: &str) -> bool {
    text.split_whitespace().any(|raw| {
        let token = raw.trim_matches(|c: char| !c.is_alphanumeric());
        token.len() >= 2
            && (token.chars().any(|c| c.is_ascii_digit())
                || token.contains('@')
                || token.contains('_')
                || token
                    .char_indices()
                    .any(|(i, c)| c == '.' && i > 0 && i + 1 < token.len()))
    })
}

/// Indices of the `n` largest scores, best first.
fn top_n(scores: &[f32], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    let n = n.min(idx.len());
    if n == 0 {
        return Vec::new();
    }
    idx.select_nth_unstable_by(n - 1, |&a, &b| scores[b].total_cmp(&scores[a]));
    idx.truncate(n);
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Query vectors by normalised text, so a repeated question skips the model (FIFO eviction).
struct QueryCache {
    capacity: usize,
    map: HashMap<String, Arc<Vec<f32>>>,
    order: VecDeque<String>,
}

impl QueryCache {
    fn get(&self, key: &str) -> Option<Arc<Vec<f32>>> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: String, vector: Arc<Vec<f32>>) {
        if self.map.insert(key.clone(), vector).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// A query's embedding, shared with the query cache.
pub type QueryVector = Arc<Vec<f32>>;

/// All tenants' search indexes behind one embedder; a tenant's index can be replaced while
/// queries run (they finish on the index they started with).
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    settings: RetrievalSettings,
    tenants: RwLock<HashMap<String, Arc<TenantSearch>>>,
    query_cache: Mutex<QueryCache>,
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, settings: RetrievalSettings) -> Self {
        Self {
            embedder,
            settings,
            tenants: RwLock::new(HashMap::new()),
            query_cache: Mutex::new(QueryCache {
                capacity: 4096,
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    pub fn settings(&self) -> &RetrievalSettings {
        &self.settings
    }

    /// The model behind the query vectors, also used to index a re-read knowledge folder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Adds or atomically replaces a tenant's index.
    pub fn install(&self, index: TenantIndex) {
        let search = Arc::new(TenantSearch::new(index, &self.settings));
        let id = search.index.tenant.id.clone();
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, search);
    }

    pub fn tenant(&self, id: &str) -> Option<Arc<TenantSearch>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn tenant_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// The query's vector, from the cache or the model. Blocking.
    pub fn query_vector(&self, text: &str) -> Result<Arc<Vec<f32>>, EmbedError> {
        let key = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some(v) = self
            .query_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(v);
        }
        let vector = self
            .embedder
            .embed(&[text])?
            .into_iter()
            .next()
            .ok_or_else(|| EmbedError::Inference("no vector returned".into()))?;
        let vector = Arc::new(vector);
        self.query_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, Arc::clone(&vector));
        Ok(vector)
    }

    /// The `k` best passages of `tenant` for `text`. Blocking (embeds the query).
    pub fn search(
        &self,
        tenant: &str,
        text: &str,
        k: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, RetrieveError> {
        self.search_with_vector(tenant, text, k, mode)
            .map(|(hits, _)| hits)
    }

    /// Like [`Retriever::search`], also returning the query's vector (None in BM25 mode), for
    /// scoring the hits' sentences without embedding the query again.
    pub fn search_with_vector(
        &self,
        tenant: &str,
        text: &str,
        k: usize,
        mode: SearchMode,
    ) -> Result<(Vec<Hit>, Option<QueryVector>), RetrieveError> {
        let search = self
            .tenant(tenant)
            .ok_or_else(|| KnowledgeError::UnknownTenant(tenant.to_string()))?;
        let vector = match mode {
            SearchMode::Bm25 => None,
            _ => {
                let brand = &search.index.tenant.config.name;
                Some(self.query_vector(&crate::knowledge::without_brand(text, brand))?)
            }
        };
        let hits = search.search(
            text,
            vector.as_deref().map(Vec::as_slice),
            k,
            mode,
            &self.settings,
        )?;
        Ok((hits, vector))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_better_sentence_lifts_a_passage_and_a_worse_one_never_lowers_it() {
        assert!((lifted(0.4, 0.8, 0.5) - 0.6).abs() < 1e-6);
        assert_eq!(lifted(0.4, 0.3, 0.5), 0.4);
        assert_eq!(lifted(0.4, 0.8, 0.0), 0.4);
    }

    fn signal(hit: &Fused) -> (usize, Option<usize>, Option<usize>) {
        (
            hit.0,
            hit.2.and_then(|s| s.rank),
            hit.3.and_then(|s| s.rank),
        )
    }

    #[test]
    fn exact_tokens() {
        for q in [
            "error E1042 on upload",
            "mail support@acme.test",
            "what is ERR_QUOTA",
            "v2.3 changelog",
            "my file.png fails",
            "refund after 14 days",
        ] {
            assert!(has_exact_token(q), "{q}");
        }
        for q in [
            "how do I get a refund?",
            "can't sign in - help",
            "refund/cancel",
            "e-mail me",
            "Settings → Credits",
            "the end.",
        ] {
            assert!(!has_exact_token(q), "{q}");
        }
    }

    #[test]
    fn top_n_is_sorted_and_bounded() {
        assert_eq!(top_n(&[0.1, 0.9, 0.5, 0.7], 3), vec![1, 3, 2]);
        assert_eq!(top_n(&[0.1], 5), vec![0]);
        assert!(top_n(&[], 5).is_empty());
    }

    #[test]
    fn weighted_fusion_adds_a_normalised_bm25_bonus() {
        let dense = [0.80, 0.78, 0.10];
        let bm25 = [(1, 10.0), (2, 5.0)];
        let out = fuse(
            Some(&dense),
            &[0, 1, 2],
            &bm25,
            SearchMode::Hybrid,
            Fusion::Weighted {
                bm25_weight: 0.1,
                exact_weight: 0.1,
            },
        );
        // passage 1: 0.78 + 0.1 = 0.88 beats passage 0 (0.80, no BM25 match)
        assert_eq!(out.iter().map(|h| h.0).collect::<Vec<_>>(), vec![1, 0, 2]);
        assert!((out[0].1 - 0.88).abs() < 1e-6);
        assert!((out[2].1 - 0.15).abs() < 1e-6);
        assert_eq!(signal(&out[0]), (1, Some(2), Some(1)));
        assert_eq!(signal(&out[1]), (0, Some(1), None));
    }

    #[test]
    fn rrf_uses_ranks_only() {
        let dense = [0.9, 0.1];
        let out = fuse(
            Some(&dense),
            &[0, 1],
            &[(1, 3.0)],
            SearchMode::Hybrid,
            Fusion::Rrf { k: 60.0 },
        );
        // passage 1: 1/62 + 1/61 > passage 0: 1/61
        assert_eq!(out[0].0, 1);
        assert!((out[0].1 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
    }

    #[test]
    fn bm25_only_candidates_keep_their_cosine_without_a_rank() {
        let dense = [0.9, 0.2, 0.3];
        let out = fuse(
            Some(&dense),
            &[0],
            &[(2, 1.0)],
            SearchMode::Hybrid,
            Fusion::Weighted {
                bm25_weight: 0.1,
                exact_weight: 0.1,
            },
        );
        let p2 = out.iter().find(|h| h.0 == 2).unwrap();
        assert_eq!(
            p2.2,
            Some(Signal {
                score: 0.3,
                rank: None
            })
        );
    }

    #[test]
    fn single_mode_rankings() {
        let dense = [0.2, 0.9];
        let out = fuse(
            Some(&dense),
            &[1, 0],
            &[(0, 4.0)],
            SearchMode::Dense,
            Fusion::Weighted {
                bm25_weight: 1.0,
                exact_weight: 1.0,
            },
        );
        assert_eq!(out[0].0, 1);
        let out = fuse(
            None,
            &[],
            &[(0, 4.0), (1, 2.0)],
            SearchMode::Bm25,
            Fusion::Weighted {
                bm25_weight: 1.0,
                exact_weight: 1.0,
            },
        );
        assert_eq!(out.iter().map(|h| h.0).collect::<Vec<_>>(), vec![0, 1]);
    }
}
