//! How likely the extractive answer is to be right, in [0, 1], and the threshold that meets a
//! brand's precision target.
//!
//! A logistic model over general signals ([`AnswerSignals`]: retrieval cosines and margins,
//! BM25 agreement, how much of the question the quotes cover, terms and names the knowledge
//! base never mentions, a missing amount, the hand-over intents), fitted offline by
//! `scripts/fit_answerability.py` on questions with known right answers (the tune suites, and
//! StackFAQ questions asked of a knowledge base that holds only part of the threads, so that
//! some cannot be answered). Its out-of-fold predictions give, for each precision target, the
//! lowest probability at which answered questions were right that often; a brand sets its
//! target (`answer_precision` in `tenant.toml`) and the threshold follows. The weights ship as
//! data (`rules/answerability.json`), compiled in.

use serde::Deserialize;

use super::decision::AnswerSignals;

/// The fitted default model.
const DEFAULT_MODEL: &str = include_str!("../../rules/answerability.json");

#[derive(Debug, Clone, Deserialize)]
struct PrecisionThreshold {
    precision: f32,
    threshold: f32,
    coverage: f32,
}

#[derive(Debug, Clone, Deserialize)]
struct ModelFile {
    features: Vec<String>,
    mean: Vec<f32>,
    scale: Vec<f32>,
    weights: Vec<f32>,
    bias: f32,
    precision_thresholds: Vec<PrecisionThreshold>,
}

/// The calibrated answerability model.
#[derive(Debug, Clone)]
pub struct ConfidenceModel {
    /// Per feature of [`AnswerSignals::named`]: (mean, scale, weight).
    terms: Vec<(f32, f32, f32)>,
    bias: f32,
    /// (precision target, probability threshold), by rising target; an unreachable target's
    /// threshold is infinite (never answer).
    thresholds: Vec<(f32, f32)>,
}

#[derive(Debug, thiserror::Error)]
#[error("answerability model: {0}")]
pub struct ModelError(String);

impl ConfidenceModel {
    /// The model fitted by `scripts/fit_answerability.py`.
    pub fn defaults() -> Result<Self, ModelError> {
        Self::parse(DEFAULT_MODEL)
    }

    /// A model file; its features must be exactly those of [`AnswerSignals::named`].
    pub fn parse(json: &str) -> Result<Self, ModelError> {
        let file: ModelFile = serde_json::from_str(json).map_err(|e| ModelError(e.to_string()))?;
        let names: Vec<&str> = AnswerSignals::default()
            .named()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        if file.features != names {
            return Err(ModelError(format!(
                "features {:?}, expected {names:?}",
                file.features
            )));
        }
        let n = names.len();
        if file.mean.len() != n || file.scale.len() != n || file.weights.len() != n {
            return Err(ModelError(
                "mean, scale and weights need one value per feature".into(),
            ));
        }
        let terms = (0..n)
            .map(|i| {
                let scale = if file.scale[i] > 0.0 {
                    file.scale[i]
                } else {
                    1.0
                };
                (file.mean[i], scale, file.weights[i])
            })
            .collect();
        let mut thresholds: Vec<(f32, f32)> = file
            .precision_thresholds
            .iter()
            .map(|t| {
                let reachable = t.coverage > 0.0 && t.threshold < 1.0;
                (
                    t.precision,
                    if reachable {
                        t.threshold
                    } else {
                        f32::INFINITY
                    },
                )
            })
            .collect();
        thresholds.sort_by(|a, b| a.0.total_cmp(&b.0));
        if thresholds.is_empty() {
            return Err(ModelError("no precision thresholds".into()));
        }
        Ok(Self {
            terms,
            bias: file.bias,
            thresholds,
        })
    }

    /// The probability that answering with these signals is right.
    pub fn probability(&self, signals: &AnswerSignals) -> f32 {
        let logit = self.bias
            + signals
                .named()
                .iter()
                .zip(&self.terms)
                .map(|((_, x), (mean, scale, w))| w * (x - mean) / scale)
                .sum::<f32>();
        1.0 / (1.0 + (-logit).exp())
    }

    /// The probability an answer needs for answered questions to be right at least at
    /// `precision`: the threshold of the lowest fitted target at or above it (the strictest
    /// one when `precision` is above them all).
    pub fn threshold(&self, precision: f32) -> f32 {
        self.thresholds
            .iter()
            .find(|(target, _)| *target >= precision - 1e-6)
            .or(self.thresholds.last())
            .map_or(f32::INFINITY, |(_, t)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ConfidenceModel {
        let names: Vec<&str> = AnswerSignals::default()
            .named()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let n = names.len();
        let mut weights = vec![0.0; n];
        let cosine = names.iter().position(|n| *n == "passage_cosine").unwrap();
        weights[cosine] = 2.0;
        let json = serde_json::json!({
            "features": names, "mean": vec![0.5; n], "scale": vec![0.1; n], "weights": weights,
            "bias": 0.0,
            "precision_thresholds": [
                {"precision": 0.9, "threshold": 0.6, "coverage": 0.5},
                {"precision": 0.95, "threshold": 0.8, "coverage": 0.3},
                {"precision": 0.99, "threshold": 1.0, "coverage": 0.0}
            ]
        });
        ConfidenceModel::parse(&json.to_string()).unwrap()
    }

    #[test]
    fn the_shipped_model_loads() {
        let m = ConfidenceModel::defaults().unwrap();
        assert!(m.threshold(0.95).is_finite());
    }

    #[test]
    fn probability_is_the_fitted_logistic() {
        let m = model();
        let at = |cosine: f32| {
            m.probability(&AnswerSignals {
                passage_cosine: cosine,
                ..AnswerSignals::default()
            })
        };
        assert!((at(0.5) - 0.5).abs() < 1e-6);
        assert!((at(0.6) - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
        assert!(at(0.2) < at(0.4));
    }

    #[test]
    fn a_precision_target_takes_the_next_stricter_threshold() {
        let m = model();
        assert_eq!(m.threshold(0.9), 0.6);
        assert_eq!(m.threshold(0.92), 0.8);
        assert_eq!(m.threshold(0.5), 0.6);
        assert_eq!(
            m.threshold(0.99),
            f32::INFINITY,
            "unreachable: never answer"
        );
        assert_eq!(m.threshold(0.999), f32::INFINITY);
    }

    #[test]
    fn a_model_for_other_features_is_refused() {
        let json = serde_json::json!({"features": ["x"], "mean": [0.0], "scale": [1.0],
            "weights": [1.0], "bias": 0.0, "precision_thresholds": []});
        assert!(ConfidenceModel::parse(&json.to_string()).is_err());
    }
}
