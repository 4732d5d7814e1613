//! What a customer's message is, by meaning: a request for a person, an action on their own
//! account only a person can take, an incident on their account, a sensitive matter, an
//! attempt to instruct the bot, or something unrelated to the brand.
//!
//! Each intent is defined by example utterances (`rules/intents.yaml`). A logistic classifier
//! per intent over the question's sentence embedding, fitted offline on those examples and on
//! ordinary support questions (`scripts/fit_intents.py`), gives a probability; its threshold was
//! chosen on cross-validated scores so that ordinary questions almost never cross it. The
//! fitted weights ship as data (`rules/intents.weights.json`), compiled in so that every
//! install decides alike. A brand adds examples of its own in `tenant.toml`; a question that
//! is as close as a paraphrase to one of them has that intent too.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The intents a message can have besides an ordinary question.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// An attempt to instruct the bot, change its role or extract its prompt or settings.
    Manipulation,
    /// The customer asks for a person.
    HumanRequest,
    /// Something went wrong on the customer's own account (an unknown or double charge, a
    /// break-in, a payment taken for nothing, a suspension).
    Incident,
    /// The customer asks support to do something on their account (refund, cancel, change,
    /// check) that only a person can do.
    AccountAction,
    /// Legal threats, disputes with the bank, data-protection requests and the like.
    Sensitive,
    /// Nothing to do with the brand's product or the customer's account.
    OffTopic,
}

impl Intent {
    /// Every intent, in the order they are checked: an attempt to instruct the bot first (it
    /// is never followed, whatever else it says), then what a person must handle.
    pub const ALL: [Intent; 6] = [
        Intent::Manipulation,
        Intent::HumanRequest,
        Intent::Incident,
        Intent::AccountAction,
        Intent::Sensitive,
        Intent::OffTopic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Manipulation => "manipulation",
            Intent::HumanRequest => "human_request",
            Intent::Incident => "incident",
            Intent::AccountAction => "account_action",
            Intent::Sensitive => "sensitive",
            Intent::OffTopic => "off_topic",
        }
    }

    pub fn parse(name: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == name)
    }
}

/// One intent's fitted classifier.
#[derive(Debug, Clone, Deserialize)]
struct Classifier {
    weights: Vec<f32>,
    bias: f32,
    threshold: f32,
}

#[derive(Debug, Deserialize)]
struct WeightsFile {
    dim: usize,
    intents: BTreeMap<String, Classifier>,
}

/// The fitted default classifiers.
const DEFAULT_WEIGHTS: &str = include_str!("../../rules/intents.weights.json");

/// Cosine from which a question counts as a paraphrase of one of the brand's own examples.
pub const BRAND_EXAMPLE_COSINE: f32 = 0.8;

/// A brand's own example utterances for one intent, embedded once when the tenant loads.
#[derive(Debug, Clone)]
pub struct BrandExamples {
    pub intent: Intent,
    pub vectors: Vec<Vec<f32>>,
}

/// The classifiers of every intent.
#[derive(Debug, Clone)]
pub struct IntentModel {
    classifiers: Vec<(Intent, Classifier)>,
    dim: usize,
}

/// Each intent's probability for one message, and the first intent that fired (with why).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntentScores {
    pub probabilities: BTreeMap<Intent, f32>,
    /// The intent decided, if any, and whether a brand example decided it.
    pub fired: Option<(Intent, Source)>,
}

/// What made an intent fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The default classifier crossed its threshold.
    Classifier,
    /// The message is a paraphrase of one of the brand's examples.
    BrandExample,
}

#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error("intent weights: {0}")]
    Invalid(String),
}

impl IntentModel {
    /// The defaults fitted from `rules/intents.yaml`.
    pub fn defaults() -> Result<Self, IntentError> {
        Self::parse(DEFAULT_WEIGHTS)
    }

    /// A weights file as `scripts/fit_intents.py` writes it; every intent must be present.
    pub fn parse(json: &str) -> Result<Self, IntentError> {
        let file: WeightsFile =
            serde_json::from_str(json).map_err(|e| IntentError::Invalid(e.to_string()))?;
        let mut classifiers = Vec::new();
        for intent in Intent::ALL {
            let c = file.intents.get(intent.as_str()).ok_or_else(|| {
                IntentError::Invalid(format!("no classifier for {}", intent.as_str()))
            })?;
            if c.weights.len() != file.dim {
                return Err(IntentError::Invalid(format!(
                    "{}: {} weights for dimension {}",
                    intent.as_str(),
                    c.weights.len(),
                    file.dim
                )));
            }
            classifiers.push((intent, c.clone()));
        }
        Ok(Self {
            classifiers,
            dim: file.dim,
        })
    }

    /// The dimension of the vectors the classifiers were fitted on.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Scores a message's vector; the first intent (in [`Intent::ALL`] order) whose classifier
    /// crosses its threshold, or whose brand example the message paraphrases, fires.
    pub fn score(&self, vector: &[f32], brand: &[BrandExamples]) -> IntentScores {
        let mut scores = IntentScores::default();
        if vector.len() != self.dim {
            return scores;
        }
        for (intent, c) in &self.classifiers {
            let logit = crate::embed::dot(&c.weights, vector) + c.bias;
            let p = 1.0 / (1.0 + (-logit).exp());
            scores.probabilities.insert(*intent, p);
            if scores.fired.is_none() && p >= c.threshold {
                scores.fired = Some((*intent, Source::Classifier));
            }
        }
        let paraphrased = Intent::ALL.into_iter().find(|intent| {
            brand.iter().filter(|b| b.intent == *intent).any(|b| {
                b.vectors
                    .iter()
                    .any(|v| crate::embed::dot(v, vector) >= BRAND_EXAMPLE_COSINE)
            })
        });
        let earlier = |a: Intent, b: Intent| {
            Intent::ALL.iter().position(|i| *i == a) < Intent::ALL.iter().position(|i| *i == b)
        };
        if let Some(intent) = paraphrased {
            // the brand's own word outranks the classifier on the same intent
            if scores
                .fired
                .is_none_or(|(f, _)| f == intent || earlier(intent, f))
            {
                scores.fired = Some((intent, Source::BrandExample));
            }
        }
        scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(dim: usize) -> IntentModel {
        let mut intents = serde_json::Map::new();
        for (n, intent) in Intent::ALL.iter().enumerate() {
            let mut w = vec![0.0; dim];
            w[n % dim] = 10.0;
            intents.insert(
                intent.as_str().into(),
                serde_json::json!({"weights": w, "bias": -5.0, "threshold": 0.9}),
            );
        }
        IntentModel::parse(&serde_json::json!({"dim": dim, "intents": intents}).to_string())
            .unwrap()
    }

    fn unit(dim: usize, axis: usize) -> Vec<f32> {
        let mut v = vec![0.0; dim];
        v[axis] = 1.0;
        v
    }

    #[test]
    fn the_shipped_weights_load() {
        let m = IntentModel::defaults().unwrap();
        assert_eq!(m.dim(), 384);
    }

    #[test]
    fn an_intent_fires_above_its_threshold_and_the_first_in_order_wins() {
        let m = model(8);
        let s = m.score(&unit(8, 2), &[]);
        assert_eq!(s.fired, Some((Intent::Incident, Source::Classifier)));
        assert!(s.probabilities[&Intent::Incident] > 0.99);
        assert!(s.probabilities[&Intent::Manipulation] < 0.01);
        assert_eq!(m.score(&[0.0; 8], &[]).fired, None);
        // a vector of another dimension scores nothing rather than panicking
        assert_eq!(m.score(&[1.0], &[]).fired, None);
    }

    #[test]
    fn a_paraphrase_of_a_brand_example_fires_its_intent() {
        let m = model(8);
        let brand = [BrandExamples {
            intent: Intent::AccountAction,
            vectors: vec![unit(8, 7)],
        }];
        let s = m.score(&unit(8, 7), &brand);
        assert_eq!(s.fired, Some((Intent::AccountAction, Source::BrandExample)));
        let far = unit(8, 6);
        assert_eq!(m.score(&far, &brand).fired, None);
    }

    #[test]
    fn broken_weights_are_refused() {
        assert!(IntentModel::parse("{}").is_err());
        let short = serde_json::json!({"dim": 4, "intents": {"manipulation": {"weights": [1.0], "bias": 0.0, "threshold": 0.5}}});
        assert!(IntentModel::parse(&short.to_string()).is_err());
    }
}
