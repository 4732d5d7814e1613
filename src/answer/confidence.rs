//! How sure the retrieval is that the knowledge base answers the question, in [0, 1].
//!
//! Calibrated on the eval suites' retrieval signals (`cargo run --release --example calibrate`,
//! README "Confidence"): of the signals tried (best heading cosine, best whole-passage cosine,
//! fused score, BM25 agreement, term coverage, unknown-term share, margin over the runner-up, and
//! small combinations of them), the best whole-passage cosine among the retrieved passages
//! separated answerable from unanswerable questions best under leave-one-out, and a top passage
//! that BM25 does not match at all is a useful penalty. Confidence is a logistic curve of those:
//! 0.5, the default threshold, sits at the accuracy-optimal cosine.

use crate::retrieve::Hit;

/// Calibration constants of the logistic curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceModel {
    /// Whole-passage cosine at which confidence is 0.5.
    pub center: f32,
    /// Logits per unit of cosine.
    pub slope: f32,
    /// Logits taken off when BM25 does not match the top passage.
    pub no_lexical_penalty: f32,
}

impl Default for ConfidenceModel {
    fn default() -> Self {
        Self {
            center: 0.286,
            slope: 8.2,
            no_lexical_penalty: 1.5,
        }
    }
}

/// The signals confidence is computed from, kept for reports and tuning.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Signals {
    pub passage_cosine: f32,
    pub top_has_bm25: bool,
}

impl ConfidenceModel {
    pub fn signals(hits: &[Hit]) -> Option<Signals> {
        let best = hits.first()?;
        let passage_cosine = hits
            .iter()
            .filter_map(|h| h.passage_cosine)
            .fold(f32::MIN, f32::max);
        Some(Signals {
            passage_cosine: if passage_cosine == f32::MIN {
                0.0
            } else {
                passage_cosine
            },
            top_has_bm25: best.bm25.is_some(),
        })
    }

    pub fn score(&self, hits: &[Hit]) -> f32 {
        let Some(s) = Self::signals(hits) else {
            return 0.0;
        };
        let mut logit = self.slope * (s.passage_cosine - self.center);
        if !s.top_has_bm25 {
            logit -= self.no_lexical_penalty;
        }
        1.0 / (1.0 + (-logit).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{DocKind, Passage};
    use crate::retrieve::Signal;

    fn hit(cosine: f32, bm25: bool) -> Hit {
        Hit {
            passage: Passage {
                id: "t/a#b".into(),
                tenant: "t".into(),
                heading_path: vec![],
                question: None,
                text: String::new(),
                url: None,
                kind: DocKind::Faq,
                updated: None,
            },
            score: cosine,
            dense: None,
            bm25: bm25.then_some(Signal {
                score: 1.0,
                rank: Some(1),
            }),
            passage_cosine: Some(cosine),
        }
    }

    #[test]
    fn confidence_is_a_calibrated_logistic() {
        let m = ConfidenceModel::default();
        assert!((m.score(&[hit(0.286, true)]) - 0.5).abs() < 1e-6);
        assert!(m.score(&[hit(0.7, true)]) > 0.95);
        assert!(m.score(&[hit(0.1, true)]) < 0.2);
        // the best whole-passage cosine among the hits counts, not only the first hit's
        assert_eq!(
            m.score(&[hit(0.2, true), hit(0.5, false)]),
            m.score(&[hit(0.5, true)])
        );
        assert!(m.score(&[hit(0.4, false)]) < m.score(&[hit(0.4, true)]));
        assert_eq!(m.score(&[]), 0.0);
    }
}
