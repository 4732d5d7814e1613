//! The answer pipeline: a customer's question (with the conversation so far) becomes either a
//! grounded, cited answer or an escalation to the brand's human team.
//!
//! question + history → standalone question → policy checks → hybrid retrieval → confidence →
//! `answer` (quoted from the knowledge base) or `escalate` (with a reason). No HTTP types here:
//! the CLI, the HTTP service and the evals all call [`Pipeline::answer`].

mod answerability;
mod confidence;
mod decision;
mod extractive;
mod generative;
mod intents;
mod policy;
mod request;
mod rewrite;

pub use confidence::ConfidenceModel;
pub use decision::{AnswerSignals, Check, Decision, ModelVerdict, WordRules};
pub use extractive::Citation;
pub use generative::{check as check_citations, Generated, Generator};
pub use intents::{BrandExamples, Intent, IntentModel, IntentScores, Source as IntentSource};
pub use policy::{looks_like_injection, requests_human, sensitive_topic};
pub use request::{
    has_control_characters, validate_history, Question, RequestError, Role, Turn,
    MAX_QUESTION_CHARS,
};
pub use rewrite::{addressed_to_support, is_follow_up, standalone_question};

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::knowledge::TenantConfig;
use crate::retrieve::{Hit, RetrieveError, Retriever, SearchMode};

/// Whether the bot answered or handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Answer,
    Escalate,
}

/// Why the bot handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The knowledge base does not clearly answer the question (also questions unrelated to the
    /// brand: both are gaps a support lead may want to see).
    LowConfidence,
    /// The customer asked for a person.
    RequestedHuman,
    /// The question touches a topic the brand wants a person to handle.
    SensitiveTopic,
    /// The LLM said the passages do not answer, or cited none of them.
    LlmDeclined,
    /// The LLM failed and the extractive fallback was not confident enough.
    LlmUnavailable,
    /// The customer asks for something to be done on their account that only a person can do.
    AccountAction,
    /// The customer reports something wrong on their account (a charge, a break-in, a
    /// suspension).
    Incident,
    /// The message tries to instruct the bot or extract its prompt; it is not followed.
    Manipulation,
}

impl Outcome {
    /// The snake_case name used in JSON, the store and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answer => "answer",
            Outcome::Escalate => "escalate",
        }
    }
}

impl EscalationReason {
    /// The snake_case name used in JSON, the store, tickets and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::LowConfidence => "low_confidence",
            EscalationReason::RequestedHuman => "requested_human",
            EscalationReason::SensitiveTopic => "sensitive_topic",
            EscalationReason::LlmDeclined => "llm_declined",
            EscalationReason::LlmUnavailable => "llm_unavailable",
            EscalationReason::AccountAction => "account_action",
            EscalationReason::Incident => "incident",
            EscalationReason::Manipulation => "manipulation",
        }
    }
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    pub rewrite_ms: f64,
    pub policy_ms: f64,
    pub retrieve_ms: f64,
    pub answer_ms: f64,
    /// The part of `answer_ms` spent on the LLM writing the answer (LLM mode, when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_ms: Option<f64>,
    pub total_ms: f64,
}

/// Everything the pipeline decided, for the customer and for the ticket.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub text: String,
    pub outcome: Outcome,
    pub reason: Option<EscalationReason>,
    /// Retrieval confidence in [0, 1].
    pub confidence: f32,
    pub citations: Vec<Citation>,
    /// The question as searched (follow-ups rewritten).
    pub standalone_question: String,
    /// The passages retrieved, with their scores (kept for tickets and eval reports).
    pub retrieved: Vec<Hit>,
    /// The check that decided, and the signals it read.
    pub decision: Decision,
    pub timings: Timings,
}

/// What can stop the pipeline; the customer sees the message, never internals.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    #[error("retrieval failed: {0}")]
    Retrieval(#[from] RetrieveError),
    /// Every embedding session stayed busy for the pipeline's queue timeout.
    #[error("every answer slot stayed busy for {0} ms")]
    Busy(u64),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A retrieval slot, waited for in turn; [`AnswerError::Busy`] when none came free within
/// `limit`.
async fn wait_for_slot(
    slots: &Arc<tokio::sync::Semaphore>,
    limit: Option<std::time::Duration>,
) -> Result<tokio::sync::OwnedSemaphorePermit, AnswerError> {
    let acquire = Arc::clone(slots).acquire_owned();
    let permit = match limit {
        Some(limit) => tokio::time::timeout(limit, acquire)
            .await
            .map_err(|_| AnswerError::Busy(limit.as_millis() as u64))?,
        None => acquire.await,
    };
    permit.map_err(|e| AnswerError::Internal(e.to_string()))
}

/// Passages retrieved per question.
const RETRIEVE_K: usize = 5;

/// The pipeline over all tenants.
pub struct Pipeline {
    retriever: Arc<Retriever>,
    tenants: RwLock<HashMap<String, Arc<TenantConfig>>>,
    /// Each tenant's own intent examples, embedded ([`TenantConfig::intents`]).
    brand_examples: RwLock<HashMap<String, Arc<Vec<BrandExamples>>>>,
    intents: IntentModel,
    confidence: ConfidenceModel,
    /// Present in LLM mode.
    generator: Option<Generator>,
    /// One slot per embedding session. Retrievals wait here, first come first served, instead
    /// of all running at once: under load, blocking threads sharing the cores finish every
    /// request late together, and the sessions' mutexes are not fair, so the unlucky waited
    /// longest. A fair queue keeps the tail latency close to the median (README, "Speed").
    retrieval_slots: Arc<tokio::sync::Semaphore>,
    /// The longest a question waits for a slot (None: no limit).
    queue_timeout: Option<std::time::Duration>,
}

/// In LLM mode, a failed model call falls back to the extractive answer when its confidence
/// meets this precision target (or the brand's, when stricter); otherwise the customer is
/// handed over (`llm_unavailable`): the model was to write a better answer than the quote.
const FALLBACK_PRECISION: f32 = 0.95;

impl Pipeline {
    pub fn new(retriever: Arc<Retriever>) -> Self {
        let slots = retriever.embedder().parallelism().max(1);
        Self {
            retriever,
            tenants: RwLock::new(HashMap::new()),
            brand_examples: RwLock::new(HashMap::new()),
            intents: IntentModel::defaults()
                .expect("the shipped rules/intents.weights.json is valid (unit-tested)"),
            confidence: ConfidenceModel::defaults()
                .expect("the shipped rules/answerability.json is valid (unit-tested)"),
            generator: None,
            retrieval_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            queue_timeout: None,
        }
    }

    /// Switches to LLM mode: answers are written by the model from the retrieved passages.
    pub fn with_generator(mut self, generator: Generator) -> Self {
        self.generator = Some(generator);
        self
    }

    /// Bounds how long a question waits for a retrieval slot ([`AnswerError::Busy`] after
    /// that); a zero duration means no limit.
    pub fn with_queue_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.queue_timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    pub fn retriever(&self) -> &Arc<Retriever> {
        &self.retriever
    }

    /// Whether answers are written by the LLM (else they quote the help center).
    pub fn is_generative(&self) -> bool {
        self.generator.is_some()
    }

    /// Adds or replaces a tenant's settings (its index goes to the retriever). Its own intent
    /// examples are embedded here, once (blocking); examples that fail to embed are left out
    /// with a warning, and the default intents still apply.
    pub fn set_tenant(&self, id: &str, config: TenantConfig) {
        let examples = self.embed_brand_examples(id, &config);
        self.brand_examples
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), Arc::new(examples));
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), Arc::new(config));
    }

    fn embed_brand_examples(&self, id: &str, config: &TenantConfig) -> Vec<BrandExamples> {
        let mut out = Vec::new();
        for group in &config.intents {
            let Some(intent) = Intent::parse(&group.name) else {
                continue;
            };
            let texts: Vec<String> = group
                .examples
                .iter()
                .map(|e| crate::knowledge::without_brand(e, &config.name))
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            match self.retriever.embedder().embed(&refs) {
                Ok(vectors) => out.push(BrandExamples { intent, vectors }),
                Err(e) => tracing::warn!(tenant = id, intent = intent.as_str(), error = %e,
                    "could not embed the brand's intent examples; using the defaults only"),
            }
        }
        out
    }

    fn brand_examples(&self, id: &str) -> Arc<Vec<BrandExamples>> {
        self.brand_examples
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn tenant(&self, id: &str) -> Option<Arc<TenantConfig>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Answers one question. Retrieval (CPU work) runs on a blocking thread.
    pub async fn answer(
        &self,
        tenant: &str,
        question: &str,
        history: &[Turn],
    ) -> Result<Answer, AnswerError> {
        self.answer_streaming(tenant, question, history, |_| {})
            .await
    }

    /// Like [`Pipeline::answer`], calling `on_token` with each piece of text as the LLM writes it
    /// (LLM mode only: extractive answers are whole at once). The streamed text is the model's
    /// raw output: the returned [`Answer`] is the checked one (invalid citations removed, or an
    /// escalation when the check fails), which a streaming client must show in its place when
    /// it differs.
    pub async fn answer_streaming(
        &self,
        tenant: &str,
        question: &str,
        history: &[Turn],
        on_token: impl FnMut(&str) + Send,
    ) -> Result<Answer, AnswerError> {
        let started = Instant::now();
        let question = Question::parse(question)?;
        validate_history(history)?;
        let config = self
            .tenant(tenant)
            .filter(|_| self.retriever.tenant(tenant).is_some())
            .ok_or_else(|| AnswerError::UnknownTenant(tenant.to_string()))?;
        let mut timings = Timings::default();

        let t = Instant::now();
        let mut standalone = standalone_question(question.as_str(), history);
        if let Some(generator) = self
            .generator
            .as_ref()
            .filter(|_| standalone != question.as_str())
        {
            // The model rewrites follow-ups better than the deterministic rule; on failure the
            // rule's result stands.
            if let Ok(rewritten) = generator.rewrite(question.as_str(), history).await {
                standalone = rewritten;
            }
        }
        timings.rewrite_ms = ms(t);

        let t = Instant::now();
        let words = word_rules(question.as_str(), &config);
        timings.policy_ms = ms(t);

        let t = Instant::now();
        let retriever = Arc::clone(&self.retriever);
        let (tenant_id, query) = (tenant.to_string(), addressed_to_support(&standalone));
        let message = crate::knowledge::without_brand(question.as_str(), &config.name);
        let slot = wait_for_slot(&self.retrieval_slots, self.queue_timeout).await?;
        let (hits, query_vector, message_vector) = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let (hits, query_vector) =
                retriever.search_with_vector(&tenant_id, &query, RETRIEVE_K, SearchMode::Hybrid)?;
            // The intents read the customer's own message (from the query cache when it was
            // searched as written).
            let message_vector = retriever.query_vector(&message)?;
            Ok::<_, RetrieveError>((hits, query_vector, message_vector))
        })
        .await
        .map_err(|e| AnswerError::Internal(e.to_string()))??;
        timings.retrieve_ms = ms(t);

        let t = Instant::now();
        let intents = self
            .intents
            .score(&message_vector, &self.brand_examples(tenant));
        let mut answer = self.decide(
            &config,
            tenant,
            question.as_str(),
            standalone,
            hits,
            Gathered {
                words,
                intents,
                query_vector: query_vector.as_deref().map(Vec::as_slice),
            },
        );
        if let (Some(generator), Outcome::Answer) = (&self.generator, answer.outcome) {
            self.generate(
                generator,
                &config,
                question.as_str(),
                history,
                &mut answer,
                on_token,
            )
            .await;
            timings.llm_ms = Some(ms(t));
        }
        timings.answer_ms = ms(t);
        timings.total_ms = ms(started);
        answer.timings = timings;
        Ok(answer)
    }

    /// Asks the model to write the answer; its verdict is the decision's last signal
    /// ([`decision::with_model`]): the model's answer, the quoted one when the model failed and
    /// the quote is sure enough, or a hand-over.
    async fn generate(
        &self,
        generator: &Generator,
        config: &TenantConfig,
        question: &str,
        history: &[Turn],
        answer: &mut Answer,
        on_token: impl FnMut(&str) + Send,
    ) {
        let result = generator
            .answer(
                &config.name,
                &config.support_email,
                question,
                history,
                &answer.retrieved,
                on_token,
            )
            .await;
        let verdict = match result {
            Ok(Generated::Answer { text, citations }) => {
                answer.text = text;
                answer.citations = citations;
                ModelVerdict::Wrote
            }
            Ok(Generated::Declined) => ModelVerdict::Declined,
            Err(e) => {
                tracing::warn!(error = %e, "LLM failed; falling back");
                ModelVerdict::Failed
            }
        };
        let fallback = self
            .confidence
            .threshold(FALLBACK_PRECISION.max(config.answer_precision));
        answer.decision = decision::with_model(answer.decision.clone(), verdict, fallback);
        if let Some(reason) = answer.decision.reason() {
            answer.outcome = Outcome::Escalate;
            answer.reason = Some(reason);
            answer.text = handoff_message(config, reason);
            answer.citations.clear();
        }
    }

    /// Gathers the evidence (retrieval confidence, the quotes an answer would give, the
    /// answerability checks), lets [`decision::decide`] decide, and writes the answer or the
    /// hand-over.
    fn decide(
        &self,
        config: &TenantConfig,
        tenant: &str,
        question: &str,
        standalone: String,
        hits: Vec<Hit>,
        gathered: Gathered<'_>,
    ) -> Answer {
        let search = self.retriever.tenant(tenant);
        let terms = |text: &str| -> Vec<String> {
            search
                .as_ref()
                .map(|t| t.index.lexical.terms(text))
                .unwrap_or_default()
        };
        let known = |term: &String| {
            search
                .as_ref()
                .is_some_and(|t| t.index.lexical.doc_freq(term) > 0)
        };
        let mut best_sentence = f32::MIN;
        let quotes: Vec<(&Hit, String)> = answering_hits(&hits)
            .into_iter()
            .map(|hit| {
                let cosines = match (&search, gathered.query_vector) {
                    (Some(s), Some(v)) => s.sentence_cosines(hit, v),
                    _ => Vec::new(),
                };
                let own = hit.passage_cosine.unwrap_or(0.0);
                best_sentence = cosines
                    .iter()
                    .copied()
                    .fold(best_sentence.max(own), f32::max);
                (
                    hit,
                    extractive::quote(&hit.passage, question, &terms, &cosines),
                )
            })
            .collect();
        let candidate_quotes: Vec<extractive::Quoted> = quotes
            .iter()
            .map(|(hit, q)| extractive::Quoted {
                heading: hit.passage.heading_path.last().map_or("", String::as_str),
                text: q,
                url: hit.passage.url.as_deref(),
            })
            .collect();
        let candidate = extractive::compose(&config.name, &candidate_quotes);
        let amount_missing = answerability::asks_for_amount(question)
            && !quotes
                .iter()
                .any(|(_, q)| answerability::answers_amount(question, q));
        let signals = answer_signals(
            &hits,
            &quotes,
            &gathered,
            &terms(&crate::knowledge::without_brand(question, &config.name)),
            &terms,
            &known,
            Extra {
                amount_missing,
                unknown_name: mentions_unknown_name(question, &config.name, &terms, &known),
                sentence_cosine: best_sentence.max(0.0),
            },
        );
        let confidence = if hits.is_empty() {
            0.0
        } else {
            self.confidence.probability(&signals)
        };
        let evidence = decision::Evidence {
            intents: gathered.intents,
            words: gathered.words,
            no_passage: hits.is_empty(),
            confidence,
            threshold: self.confidence.threshold(config.answer_precision),
            signals,
        };
        let mut decision = decision::decide(&evidence);
        decision.candidate = candidate.clone();
        let reason = decision.reason();
        let (text, citations) = match reason {
            None => (
                candidate,
                quotes
                    .iter()
                    .map(|(hit, q)| Citation::new(&hit.passage, q))
                    .collect(),
            ),
            Some(reason) => (handoff_message(config, reason), Vec::new()),
        };
        Answer {
            outcome: if reason.is_some() {
                Outcome::Escalate
            } else {
                Outcome::Answer
            },
            text,
            reason,
            confidence,
            citations,
            standalone_question: standalone,
            retrieved: hits,
            decision,
            timings: Timings::default(),
        }
    }
}

/// What the pipeline gathered before deciding, besides retrieval.
struct Gathered<'a> {
    words: WordRules,
    intents: IntentScores,
    /// The vector the passages were searched with (for sentence-level quoting).
    query_vector: Option<&'a [f32]>,
}

/// Signals computed by the caller of [`answer_signals`].
struct Extra {
    amount_missing: bool,
    unknown_name: bool,
    sentence_cosine: f32,
}

/// The general answerability signals (see [`AnswerSignals`]).
fn answer_signals(
    hits: &[Hit],
    quotes: &[(&Hit, String)],
    gathered: &Gathered<'_>,
    question_terms: &[String],
    terms: &dyn Fn(&str) -> Vec<String>,
    known: &dyn Fn(&String) -> bool,
    extra: Extra,
) -> AnswerSignals {
    let share = |count: usize| {
        if question_terms.is_empty() {
            0.0
        } else {
            count as f32 / question_terms.len() as f32
        }
    };
    let quoted: Vec<String> = quotes
        .iter()
        .flat_map(|(hit, q)| terms(&format!("{}\n{q}", hit.passage.title())))
        .collect();
    let flag = |b: bool| f32::from(u8::from(b));
    AnswerSignals {
        passage_cosine: hits
            .iter()
            .filter_map(|h| h.passage_cosine)
            .fold(0.0, f32::max),
        sentence_cosine: extra.sentence_cosine,
        fused_top: hits.first().map_or(0.0, |h| h.score),
        margin: match (hits.first(), hits.get(1)) {
            (Some(a), Some(b)) => a.score - b.score,
            (Some(a), None) => a.score,
            _ => 0.0,
        },
        bm25_top: flag(hits.first().is_some_and(|h| h.bm25.is_some())),
        coverage: share(question_terms.iter().filter(|t| quoted.contains(t)).count()),
        unknown_share: share(question_terms.iter().filter(|t| !known(t)).count()),
        intent_max: gathered
            .intents
            .probabilities
            .values()
            .copied()
            .fold(0.0, f32::max),
        amount_missing: flag(extra.amount_missing),
        unknown_name: flag(extra.unknown_name),
    }
}

/// The word rules, an addition to the intent classifiers.
fn word_rules(question: &str, config: &TenantConfig) -> WordRules {
    WordRules {
        requests_human: requests_human(question),
        sensitive_topic: sensitive_topic(question, &config.sensitive_topics).map(String::from),
        instructs_bot: looks_like_injection(question),
    }
}

/// True when the question names something (see [`answerability::names`]) that no passage of the
/// tenant mentions: whatever the passages say, it is not about that.
fn mentions_unknown_name(
    question: &str,
    brand: &str,
    terms: &dyn Fn(&str) -> Vec<String>,
    known: &dyn Fn(&String) -> bool,
) -> bool {
    answerability::names(question, brand).iter().any(|name| {
        let name_terms = terms(name);
        !name_terms.is_empty() && !name_terms.iter().any(known)
    })
}

/// Fused-score gap within which the runner-up passage is quoted too (eval suites: 0 → 0.823
/// pass rate, 0.03–0.06 → 0.846; larger gaps quote unrelated passages more often).
const SECOND_PASSAGE_GAP: f32 = 0.05;

/// The passages an extractive answer quotes: the best one, and the runner-up when it scores
/// almost as well (two passages of one policy often hold the rule and its exception).
fn answering_hits(hits: &[Hit]) -> Vec<&Hit> {
    let mut out: Vec<&Hit> = hits.iter().take(1).collect();
    if let (Some(best), Some(second)) = (hits.first(), hits.get(1)) {
        if best.score - second.score <= SECOND_PASSAGE_GAP {
            out.push(second);
        }
    }
    out
}

/// What the customer reads when the bot hands over: honest about why, and what happens next in
/// the brand's own words (its support address and reply promise from tenant.toml).
pub fn handoff_message(config: &TenantConfig, reason: EscalationReason) -> String {
    let opening = match reason {
        EscalationReason::RequestedHuman => {
            format!("Of course. I'm handing this conversation to the {} support team.", config.name)
        }
        EscalationReason::SensitiveTopic => format!(
            "This is something a person on the {} team should handle, so I'm handing it over to them.",
            config.name
        ),
        EscalationReason::AccountAction => format!(
            "That's something a person on the {} team needs to do for you, so I'm handing your request to them.",
            config.name
        ),
        EscalationReason::Incident => format!(
            "I'm sorry about that. A person on the {} team needs to look at your account, so I'm handing this over to them.",
            config.name
        ),
        EscalationReason::Manipulation => format!(
            "I can only help with questions about {} and its help center, so I'm passing your message to the support team.",
            config.name
        ),
        EscalationReason::LowConfidence
        | EscalationReason::LlmDeclined
        | EscalationReason::LlmUnavailable => format!(
            "I couldn't find a clear answer to this in the {} help center, and I don't want to guess. I'm handing your question to the support team.",
            config.name
        ),
    };
    format!(
        "{opening} You can also write to them at {}. {}",
        config.support_email,
        config.reply_promise.trim()
    )
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_question_waits_for_a_slot_only_as_long_as_the_limit() {
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let limit = Some(std::time::Duration::from_millis(20));
        let held = wait_for_slot(&slots, limit).await.expect("a free slot");
        let busy = wait_for_slot(&slots, limit).await.err();
        assert!(matches!(busy, Some(AnswerError::Busy(20))), "{busy:?}");
        // Without a limit the question waits until the slot is given back.
        let waiting = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { wait_for_slot(&slots, None).await.is_ok() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        assert!(waiting.await.unwrap());
    }

    #[test]
    fn names_match_the_json_names() {
        for o in [Outcome::Answer, Outcome::Escalate] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        for r in [
            EscalationReason::LowConfidence,
            EscalationReason::RequestedHuman,
            EscalationReason::SensitiveTopic,
            EscalationReason::LlmDeclined,
            EscalationReason::LlmUnavailable,
            EscalationReason::AccountAction,
            EscalationReason::Incident,
            EscalationReason::Manipulation,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
