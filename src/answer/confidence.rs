//! How sure the retrieval is that the knowledge base answers the question, in [0, 1].
//!
//! The dense cosine of the best passage carries most of the signal (a paraphrase of an FAQ
//! question scores 0.6–0.9, an unrelated question 0.1–0.3 with MiniLM-class models). It is
//! mapped linearly between `floor` and `ceiling`, then adjusted by the other retrieval signals:
//! agreement (the best passage is also in BM25's top 3) adds, and a BM25 miss subtracts. The
//! weights were calibrated on the eval suites (README, "Confidence"); one threshold per tenant
//! (`confidence_threshold` in tenant.toml) then separates answer from escalate.

use crate::retrieve::Hit;

/// Calibration constants (cosine range and signal weights).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceModel {
    pub floor: f32,
    pub ceiling: f32,
    pub agreement_bonus: f32,
    pub no_lexical_penalty: f32,
}

impl Default for ConfidenceModel {
    fn default() -> Self {
        Self {
            floor: 0.25,
            ceiling: 0.75,
            agreement_bonus: 0.1,
            no_lexical_penalty: 0.1,
        }
    }
}

/// The signals confidence is computed from, kept for reports and tuning.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Signals {
    pub dense: f32,
    pub bm25_rank: Option<usize>,
    pub margin: f32,
}

impl ConfidenceModel {
    pub fn signals(hits: &[Hit]) -> Option<Signals> {
        let best = hits.first()?;
        let dense = best.dense.map_or(0.0, |s| s.score);
        let runner_up = hits.get(1).and_then(|h| h.dense).map_or(0.0, |s| s.score);
        Some(Signals {
            dense,
            bm25_rank: best.bm25.and_then(|s| s.rank),
            margin: dense - runner_up,
        })
    }

    pub fn score(&self, hits: &[Hit]) -> f32 {
        let Some(s) = Self::signals(hits) else {
            return 0.0;
        };
        let base = (s.dense - self.floor) / (self.ceiling - self.floor);
        let lexical = match s.bm25_rank {
            Some(rank) if rank <= 3 => self.agreement_bonus,
            Some(_) => 0.0,
            None => -self.no_lexical_penalty,
        };
        (base + lexical).clamp(0.0, 1.0)
    }
}
