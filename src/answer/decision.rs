//! The one place that says answer or hand over, with the check that decided and the signals it
//! read. Retrieval, the intent classifiers, the word rules and the answerability checks only
//! gather evidence; this module weighs it, in one order:
//!
//! 1. an attempt to instruct the bot is never followed (whatever else the message says): the
//!    classifier recognises it, or an instruction phrase of the word rules does while the
//!    classifier reads the message as likely enough an instruction (a phrase alone is also
//!    what customers quote from their own screens);
//! 2. what only a person can handle: an incident on the customer's account, a sensitive matter,
//!    an action on the account, a request for a person (by meaning, or by a brand's phrases; a
//!    message that reads only fairly surely as the last two is answered when the help center
//!    surely answers it, as a refund policy or a contact page does);
//! 3. a message unrelated to the brand;
//! 4. whether the knowledge base answers: the calibrated answerability probability against the
//!    threshold of the brand's precision target (`answer_precision`);
//! 5. in LLM mode, once every check above passed and the model was asked: its verdict
//!    ([`with_model`]). A model that found no answer in the passages, or cited none of them,
//!    hands over; a model that failed leaves the quoted answer standing only when it meets the
//!    stricter precision of a fallback.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::intents::{Intent, IntentScores, Source};
use super::EscalationReason;

/// What the word rules (the additions to the classifiers) found in the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WordRules {
    pub requests_human: bool,
    /// The brand's sensitive topic whose phrase the message holds.
    pub sensitive_topic: Option<String>,
    pub instructs_bot: bool,
}

/// Everything the decision reads.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub intents: IntentScores,
    pub words: WordRules,
    /// Retrieval found no passage at all.
    pub no_passage: bool,
    /// The answerability model's probability that the answer is right, and the threshold the
    /// brand's precision target sets.
    pub confidence: f32,
    pub threshold: f32,
    pub signals: AnswerSignals,
}

/// The check that decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Every check passed: the bot answers.
    Answered,
    /// An intent classifier (or a brand's example) recognised the message.
    Intent { intent: Intent, source: Source },
    /// The word rules recognised an explicit request for a person.
    RequestsHuman,
    /// The word rules found an instruction phrase, and the manipulation classifier reads the
    /// message as likely enough an instruction to the bot.
    InstructsBot,
    /// The message holds a phrase of this sensitive topic of the brand's.
    SensitivePhrase { topic: String },
    /// Retrieval found nothing.
    NoPassage,
    /// The answerability model's probability is below the threshold of the brand's precision
    /// target.
    Confidence,
    /// LLM mode: the model found no answer in the passages, or cited none of them.
    ModelDeclined,
    /// LLM mode: the model failed, and the quoted answer falls short of the fallback's
    /// precision target.
    ModelUnavailable,
}

/// What the LLM made of the passages (LLM mode, asked only after every other check passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelVerdict {
    /// It wrote an answer citing the passages.
    Wrote,
    /// It answered `NO_ANSWER`, or its answer cited none of the passages.
    Declined,
    /// It could not be reached, timed out or returned something unreadable.
    Failed,
}

/// The general signals of whether the knowledge base answers a question, read from retrieval
/// and from the quotes an answer would give (none of them names a case).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerSignals {
    /// The best whole-passage cosine among the retrieved passages.
    pub passage_cosine: f32,
    /// The best cosine of a quoted sentence (the passage's cosine when quoted whole).
    pub sentence_cosine: f32,
    /// The top passage's fused score, and its margin over the runner-up.
    pub fused_top: f32,
    pub margin: f32,
    /// 1 when BM25 also matched the top passage.
    pub bm25_top: f32,
    /// Share of the question's content terms found in the quoted passages.
    pub coverage: f32,
    /// Share of the question's content terms no passage of the brand holds.
    pub unknown_share: f32,
    /// The highest probability among the hand-over intents.
    pub intent_max: f32,
    /// 1 when the question asks for an amount and no quote states one.
    pub amount_missing: f32,
    /// 1 when the question names something (a capitalised word or acronym) that no passage of
    /// the brand mentions: whatever the passages say, they do not say it about that.
    pub unknown_name: f32,
}

impl AnswerSignals {
    /// The signals by name, sorted by name (the order the fitted model lists them in).
    pub fn named(&self) -> [(&'static str, f32); 10] {
        [
            ("amount_missing", self.amount_missing),
            ("bm25_top", self.bm25_top),
            ("coverage", self.coverage),
            ("fused_top", self.fused_top),
            ("intent_max", self.intent_max),
            ("margin", self.margin),
            ("passage_cosine", self.passage_cosine),
            ("sentence_cosine", self.sentence_cosine),
            ("unknown_name", self.unknown_name),
            ("unknown_share", self.unknown_share),
        ]
    }
}

/// The decision and why, kept in the answer, eval reports and tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub check: Check,
    /// Each intent's probability.
    #[schema(value_type = BTreeMap<String, f32>)]
    pub intents: BTreeMap<Intent, f32>,
    pub confidence: f32,
    pub signals: AnswerSignals,
    /// LLM mode: what the model made of the passages, when it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub model: Option<ModelVerdict>,
    /// The extractive answer the bot would give if it answered (for fitting the answerability
    /// model offline; never shown when it hands over).
    #[serde(skip)]
    pub candidate: String,
}

impl Decision {
    /// A decision made by `check` alone, with no signals (for answers not made by the
    /// pipeline, such as one read back from a remote service).
    pub fn by(check: Check, confidence: f32) -> Self {
        Self {
            check,
            intents: BTreeMap::new(),
            confidence,
            signals: AnswerSignals::default(),
            model: None,
            candidate: String::new(),
        }
    }

    /// None to answer, or the reason to hand over.
    pub fn reason(&self) -> Option<EscalationReason> {
        match &self.check {
            Check::Answered => None,
            Check::Intent { intent, .. } => Some(reason_for(*intent)),
            Check::RequestsHuman => Some(EscalationReason::RequestedHuman),
            Check::InstructsBot => Some(EscalationReason::Manipulation),
            Check::SensitivePhrase { .. } => Some(EscalationReason::SensitiveTopic),
            Check::NoPassage | Check::Confidence => Some(EscalationReason::LowConfidence),
            Check::ModelDeclined => Some(EscalationReason::LlmDeclined),
            Check::ModelUnavailable => Some(EscalationReason::LlmUnavailable),
        }
    }
}

/// The reason a hand-over for an intent carries.
pub fn reason_for(intent: Intent) -> EscalationReason {
    match intent {
        Intent::Manipulation => EscalationReason::Manipulation,
        Intent::HumanRequest => EscalationReason::RequestedHuman,
        Intent::Incident => EscalationReason::Incident,
        Intent::AccountAction => EscalationReason::AccountAction,
        Intent::Sensitive => EscalationReason::SensitiveTopic,
        Intent::OffTopic => EscalationReason::LowConfidence,
    }
}

/// The probability from which a request for a person or for an account action is taken as
/// meant, even when the help center seems to answer it.
const SURE_INTENT: f32 = 0.99;

/// Decides from the evidence (see the module doc for the order).
pub fn decide(e: &Evidence) -> Decision {
    let intent = |wanted: &[Intent]| {
        e.intents
            .fired
            .filter(|(i, _)| wanted.contains(i))
            .map(|(intent, source)| Check::Intent { intent, source })
    };
    // A help center answers how to reach its team and what its refund rules are: a message
    // that reads only fairly surely as a request for a person or for an action on the account
    // ("can I get a refund" is close to "refund me") is answered when the answer is sure. An
    // incident, a sensitive matter or an attempt to instruct the bot never is.
    let answerable = !e.no_passage && e.confidence >= e.threshold;
    let probability = |intent: Intent| e.intents.probabilities.get(&intent).copied().unwrap_or(0.0);
    let yields = |intent: Intent| answerable && probability(intent) < SURE_INTENT;
    let instructs_bot = e.words.instructs_bot
        && probability(Intent::Manipulation) >= super::policy::instruction_phrase_min_probability();
    let person = intent(&[Intent::AccountAction, Intent::HumanRequest]).filter(
        |c| !matches!(c, Check::Intent { intent, source: Source::Classifier } if yields(*intent)),
    );
    let check = intent(&[Intent::Manipulation])
        .or_else(|| instructs_bot.then_some(Check::InstructsBot))
        .or_else(|| intent(&[Intent::Incident, Intent::Sensitive]))
        .or(person)
        .or_else(|| e.words.requests_human.then_some(Check::RequestsHuman))
        .or_else(|| {
            e.words
                .sensitive_topic
                .clone()
                .map(|topic| Check::SensitivePhrase { topic })
        })
        .or_else(|| intent(&[Intent::OffTopic]))
        .or_else(|| e.no_passage.then_some(Check::NoPassage))
        .or_else(|| (e.confidence < e.threshold).then_some(Check::Confidence))
        .unwrap_or(Check::Answered);
    Decision {
        check,
        intents: e.intents.probabilities.clone(),
        confidence: e.confidence,
        signals: e.signals,
        model: None,
        candidate: String::new(),
    }
}

/// The decision once the model was asked (step 5 of the module doc): `fallback_threshold` is
/// the answerability probability a quoted answer needs to stand in for a model that failed.
pub fn with_model(decision: Decision, verdict: ModelVerdict, fallback_threshold: f32) -> Decision {
    let check = match (&decision.check, verdict) {
        (Check::Answered, ModelVerdict::Declined) => Check::ModelDeclined,
        (Check::Answered, ModelVerdict::Failed) if decision.confidence < fallback_threshold => {
            Check::ModelUnavailable
        }
        _ => decision.check.clone(),
    };
    Decision {
        check,
        model: Some(verdict),
        ..decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence() -> Evidence {
        Evidence {
            intents: IntentScores::default(),
            words: WordRules::default(),
            no_passage: false,
            confidence: 0.9,
            threshold: 0.5,
            signals: AnswerSignals::default(),
        }
    }

    fn fired(intent: Intent) -> IntentScores {
        IntentScores {
            probabilities: BTreeMap::from([(intent, 0.999)]),
            fired: Some((intent, Source::Classifier)),
        }
    }

    #[test]
    fn a_confident_answerable_question_is_answered() {
        let d = decide(&evidence());
        assert_eq!(d.check, Check::Answered);
        assert_eq!(d.reason(), None);
    }

    #[test]
    fn what_a_person_must_handle_is_handed_over_with_its_own_reason() {
        for (intent, reason) in [
            (Intent::Incident, EscalationReason::Incident),
            (Intent::AccountAction, EscalationReason::AccountAction),
            (Intent::HumanRequest, EscalationReason::RequestedHuman),
            (Intent::Sensitive, EscalationReason::SensitiveTopic),
            (Intent::Manipulation, EscalationReason::Manipulation),
            (Intent::OffTopic, EscalationReason::LowConfidence),
        ] {
            let d = decide(&Evidence {
                intents: fired(intent),
                ..evidence()
            });
            assert_eq!(d.reason(), Some(reason), "{intent:?}");
            assert!(matches!(d.check, Check::Intent { .. }));
        }
    }

    #[test]
    fn a_request_for_a_person_by_meaning_yields_to_a_sure_answer_but_an_explicit_one_does_not() {
        let sure = Evidence {
            intents: IntentScores {
                probabilities: BTreeMap::from([(Intent::HumanRequest, 0.9)]),
                fired: Some((Intent::HumanRequest, Source::Classifier)),
            },
            ..evidence()
        };
        let certain = Evidence {
            intents: IntentScores {
                probabilities: BTreeMap::from([(Intent::HumanRequest, 0.999)]),
                fired: Some((Intent::HumanRequest, Source::Classifier)),
            },
            ..evidence()
        };
        assert_eq!(
            decide(&certain).reason(),
            Some(EscalationReason::RequestedHuman)
        );
        assert_eq!(decide(&sure).check, Check::Answered);
        let unsure = Evidence {
            confidence: 0.1,
            ..sure.clone()
        };
        assert_eq!(
            decide(&unsure).reason(),
            Some(EscalationReason::RequestedHuman)
        );
        let explicit = Evidence {
            words: WordRules {
                requests_human: true,
                ..WordRules::default()
            },
            ..sure
        };
        assert_eq!(
            decide(&explicit).reason(),
            Some(EscalationReason::RequestedHuman)
        );
    }

    #[test]
    fn an_attempt_to_instruct_the_bot_wins_over_everything() {
        let mut intents = fired(Intent::AccountAction);
        intents.probabilities.insert(Intent::Manipulation, 0.6);
        let d = decide(&Evidence {
            intents,
            words: WordRules {
                instructs_bot: true,
                requests_human: true,
                ..WordRules::default()
            },
            ..evidence()
        });
        assert_eq!(d.check, Check::InstructsBot);
        assert_eq!(d.reason(), Some(EscalationReason::Manipulation));
    }

    #[test]
    fn an_instruction_phrase_the_classifier_does_not_read_as_one_is_not_an_attempt() {
        let phrase_only = |manipulation: f32| Evidence {
            intents: IntentScores {
                probabilities: BTreeMap::from([(Intent::Manipulation, manipulation)]),
                fired: None,
            },
            words: WordRules {
                instructs_bot: true,
                ..WordRules::default()
            },
            ..evidence()
        };
        assert_eq!(decide(&phrase_only(0.05)).check, Check::Answered);
        assert_eq!(decide(&phrase_only(0.7)).check, Check::InstructsBot);
    }

    #[test]
    fn word_rules_add_to_the_classifiers() {
        let d = decide(&Evidence {
            words: WordRules {
                sensitive_topic: Some("legal_threat".into()),
                ..WordRules::default()
            },
            ..evidence()
        });
        assert_eq!(
            d.check,
            Check::SensitivePhrase {
                topic: "legal_threat".into()
            }
        );
        assert_eq!(d.reason(), Some(EscalationReason::SensitiveTopic));
    }

    #[test]
    fn the_model_verdict_is_read_after_the_other_checks() {
        let answered = decide(&evidence());
        let declined = with_model(answered.clone(), ModelVerdict::Declined, 0.95);
        assert_eq!(declined.check, Check::ModelDeclined);
        assert_eq!(declined.reason(), Some(EscalationReason::LlmDeclined));
        assert_eq!(
            with_model(answered.clone(), ModelVerdict::Wrote, 0.95).check,
            Check::Answered
        );
        // a failed model: the quote stands only when sure enough for a fallback
        assert_eq!(
            with_model(answered.clone(), ModelVerdict::Failed, 0.95).reason(),
            Some(EscalationReason::LlmUnavailable)
        );
        assert_eq!(
            with_model(answered, ModelVerdict::Failed, 0.8).check,
            Check::Answered
        );
        // a hand-over decided earlier keeps its check whatever the model says
        let handed_over = decide(&Evidence {
            confidence: 0.1,
            ..evidence()
        });
        assert_eq!(
            with_model(handed_over, ModelVerdict::Declined, 0.95).check,
            Check::Confidence
        );
    }

    #[test]
    fn unanswerable_questions_name_the_check_that_failed() {
        let cases = [
            (
                Evidence {
                    no_passage: true,
                    ..evidence()
                },
                Check::NoPassage,
            ),
            (
                Evidence {
                    confidence: 0.3,
                    ..evidence()
                },
                Check::Confidence,
            ),
        ];
        for (e, check) in cases {
            let d = decide(&e);
            assert_eq!(d.check, check);
            assert_eq!(d.reason(), Some(EscalationReason::LowConfidence));
        }
    }
}
