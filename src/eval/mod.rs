//! Answer-quality evals: run suites through the answer pipeline (in-process, or a running server
//! with `--url`), score each case, optionally grade answers with an LLM judge, summarise, compare
//! with a baseline, and write reports (terminal, JSON, Markdown, HTML).

pub mod draft;
mod html;
mod judge;
mod matching;
mod remote;
mod report;
mod suite;

pub use html::html_report;
pub use judge::{parse_score, Judge, JudgeScores};
pub use matching::{contains, normalize};
pub use remote::Remote;
pub use report::{markdown_report, print_terminal_report, Comparison};
pub use suite::{load_suite, load_suites, parse_suite, Case, Expect, Suite, SuiteError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::answer::{Answer, Citation, Outcome, Pipeline, Turn};
use crate::beir::quantile;

/// A retrieved passage as kept in the report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Retrieved {
    pub id: String,
    pub title: String,
    pub score: f32,
    pub text: String,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub id: String,
    pub tenant: String,
    pub question: String,
    pub passed: bool,
    /// None when no reply came (the server answered with an error): the case fails and its
    /// outcome counts as wrong.
    pub outcome: Option<Outcome>,
    pub expected_outcome: Outcome,
    /// One line per failed check.
    pub failures: Vec<String>,
    pub answer: String,
    pub citations: Vec<Citation>,
    pub latency_ms: f64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub confidence: f32,
    #[serde(default)]
    pub retrieved: Vec<Retrieved>,
    #[serde(default)]
    pub facts_expected: usize,
    #[serde(default)]
    pub facts_found: usize,
    #[serde(default)]
    pub context_expected: usize,
    #[serde(default)]
    pub context_found: usize,
    #[serde(default)]
    pub forbid_violations: usize,
    /// The conversation before the question, shown in the HTML report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Turn>,
    /// LLM-graded scores, with `--judge` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeScores>,
}

/// Summary metrics, for all cases or one tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub cases: usize,
    pub passed: usize,
    pub pass_rate: f64,
    pub outcome_accuracy: f64,
    /// Share of the bot's escalations that were expected (None when it never escalated).
    pub escalation_precision: Option<f64>,
    /// Share of expected escalations the bot made (None when none were expected).
    pub escalation_recall: Option<f64>,
    /// Facts found in answers / facts expected.
    pub fact_recall: Option<f64>,
    /// Context strings found in the top 3 passages / context strings expected.
    pub context_recall_at_3: Option<f64>,
    pub forbid_violations: usize,
    /// Median length in characters of the answers given (None when none was).
    #[serde(default)]
    pub median_answer_chars: Option<f64>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Mean judged faithfulness (omitted when no case was judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_faithfulness: Option<f64>,
    /// Mean judged relevance (omitted when no case was judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_relevance: Option<f64>,
}

/// A whole run, as written by `--json` and read back by `--baseline`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub summary: Summary,
    #[serde(default)]
    pub tenants: BTreeMap<String, Summary>,
    pub cases: Vec<CaseResult>,
}

/// What the bot replied to one case, however it was asked (in-process or over HTTP), so both
/// paths are scored by the same checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub outcome: Outcome,
    /// The answer text alone (without a sources list appended for display).
    pub text: String,
    pub reason: Option<String>,
    pub confidence: f32,
    pub citations: Vec<Citation>,
    /// Best first.
    pub retrieved: Vec<Retrieved>,
}

impl Observed {
    pub fn from_answer(answer: &Answer) -> Self {
        Self {
            outcome: answer.outcome,
            text: answer.text.clone(),
            reason: answer.reason.map(|r| r.as_str().to_string()),
            confidence: answer.confidence,
            citations: answer.citations.clone(),
            retrieved: answer
                .retrieved
                .iter()
                .map(|h| Retrieved {
                    id: h.passage.id.clone(),
                    title: h.passage.title(),
                    score: h.score,
                    text: h.passage.text.clone(),
                })
                .collect(),
        }
    }
}

/// Scores one reply against its case.
pub fn score_case(tenant: &str, case: &Case, reply: Observed, latency_ms: f64) -> CaseResult {
    let e = &case.expect;
    let mut failures = Vec::new();
    if reply.outcome != e.outcome {
        failures.push(format!(
            "outcome: expected {}, got {}",
            e.outcome.as_str(),
            reply.outcome.as_str()
        ));
    }
    let facts_found = e.facts.iter().filter(|f| contains(&reply.text, f)).count();
    for fact in e.facts.iter().filter(|f| !contains(&reply.text, f)) {
        failures.push(format!("fact missing from the answer: {fact:?}"));
    }
    let top3: Vec<String> = reply
        .retrieved
        .iter()
        .take(3)
        .map(|r| format!("{}\n{}", r.title, r.text))
        .collect();
    let in_context = |c: &String| top3.iter().any(|t| contains(t, c));
    let context_found = e.context.iter().filter(|c| in_context(c)).count();
    for c in e.context.iter().filter(|c| !in_context(c)) {
        failures.push(format!("context not in the top 3 passages: {c:?}"));
    }
    let violations: Vec<&String> = e
        .forbid
        .iter()
        .filter(|f| contains(&reply.text, f))
        .collect();
    for f in &violations {
        failures.push(format!("forbidden text in the answer: {f:?}"));
    }
    for source in &e.sources {
        if !reply.citations.iter().any(|c| &c.id == source) {
            failures.push(format!("source not cited: {source}"));
        }
    }
    CaseResult {
        passed: failures.is_empty(),
        outcome: Some(reply.outcome),
        failures,
        answer: reply.text,
        citations: reply.citations,
        latency_ms,
        reason: reply.reason,
        confidence: reply.confidence,
        retrieved: reply.retrieved,
        facts_found,
        context_found,
        forbid_violations: violations.len(),
        ..unanswered_case(tenant, case, latency_ms)
    }
}

/// A case that got no reply (`error` says why): failed, with nothing found.
pub fn failed_case(tenant: &str, case: &Case, error: String, latency_ms: f64) -> CaseResult {
    CaseResult {
        failures: vec![error],
        ..unanswered_case(tenant, case, latency_ms)
    }
}

fn unanswered_case(tenant: &str, case: &Case, latency_ms: f64) -> CaseResult {
    let e = &case.expect;
    CaseResult {
        id: case.id.clone(),
        tenant: tenant.to_string(),
        question: case.question.clone(),
        passed: false,
        outcome: None,
        expected_outcome: e.outcome,
        failures: Vec::new(),
        answer: String::new(),
        citations: Vec::new(),
        latency_ms,
        reason: None,
        confidence: 0.0,
        retrieved: Vec::new(),
        facts_expected: e.facts.len(),
        facts_found: 0,
        context_expected: e.context.len(),
        context_found: 0,
        forbid_violations: 0,
        history: case.history.clone(),
        judge: None,
    }
}

/// The median character count of the answers given (escalations left out).
fn median_answer_chars(results: &[&CaseResult]) -> Option<f64> {
    let mut lengths: Vec<f64> = results
        .iter()
        .filter(|r| r.outcome == Some(Outcome::Answer))
        .map(|r| r.answer.chars().count() as f64)
        .collect();
    if lengths.is_empty() {
        return None;
    }
    lengths.sort_by(f64::total_cmp);
    let mid = lengths.len() / 2;
    Some(if lengths.len().is_multiple_of(2) {
        (lengths[mid - 1] + lengths[mid]) / 2.0
    } else {
        lengths[mid]
    })
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Summary metrics over some case results.
pub fn summarize(results: &[&CaseResult]) -> Summary {
    let n = results.len();
    let passed = results.iter().filter(|r| r.passed).count();
    let correct = results
        .iter()
        .filter(|r| r.outcome == Some(r.expected_outcome))
        .count();
    let escalated = |r: &&&CaseResult| r.outcome == Some(Outcome::Escalate);
    let expected = |r: &&&CaseResult| r.expected_outcome == Outcome::Escalate;
    let true_positive = results
        .iter()
        .filter(|r| escalated(r) && expected(r))
        .count();
    let predicted = results.iter().filter(escalated).count();
    let actual = results.iter().filter(expected).count();
    let mut latencies: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    Summary {
        cases: n,
        passed,
        pass_rate: ratio(passed, n).unwrap_or(0.0),
        outcome_accuracy: ratio(correct, n).unwrap_or(0.0),
        escalation_precision: ratio(true_positive, predicted),
        escalation_recall: ratio(true_positive, actual),
        fact_recall: ratio(
            results.iter().map(|r| r.facts_found).sum(),
            results.iter().map(|r| r.facts_expected).sum(),
        ),
        context_recall_at_3: ratio(
            results.iter().map(|r| r.context_found).sum(),
            results.iter().map(|r| r.context_expected).sum(),
        ),
        forbid_violations: results.iter().map(|r| r.forbid_violations).sum(),
        median_answer_chars: median_answer_chars(results),
        p50_ms: quantile(&latencies, 0.5),
        p95_ms: quantile(&latencies, 0.95),
        judge_faithfulness: judge::mean(results, |j| j.faithfulness),
        judge_relevance: judge::mean(results, |j| j.relevance),
    }
}

/// Builds the report (overall and per-tenant summaries) from case results.
pub fn build_report(cases: Vec<CaseResult>) -> Report {
    let all: Vec<&CaseResult> = cases.iter().collect();
    let mut by_tenant: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for c in &cases {
        by_tenant.entry(c.tenant.clone()).or_default().push(c);
    }
    Report {
        summary: summarize(&all),
        tenants: by_tenant
            .into_iter()
            .map(|(t, rs)| (t, summarize(&rs)))
            .collect(),
        cases,
    }
}

/// Why a case got no reply.
#[derive(Debug)]
pub enum AskError {
    /// Only this case failed (e.g. the server answered 500): it is reported as a failed case.
    Case(String),
    /// Nothing can work (e.g. the server cannot be reached): the whole run stops.
    Fatal(anyhow::Error),
}

/// Where the cases are answered: the in-process pipeline or a running server.
#[async_trait::async_trait]
pub trait Answerer: Send + Sync {
    async fn ask(&self, tenant: &str, case: &Case) -> Result<Observed, AskError>;
}

#[async_trait::async_trait]
impl Answerer for Pipeline {
    async fn ask(&self, tenant: &str, case: &Case) -> Result<Observed, AskError> {
        self.answer(tenant, &case.question, &case.history)
            .await
            .map(|answer| Observed::from_answer(&answer))
            .map_err(|e| AskError::Fatal(anyhow::anyhow!("case {:?} ({tenant}): {e}", case.id)))
    }
}

/// Runs every case of `suites` through `answerer`, at most `concurrency` at a time, and grades
/// each answered case with `judge` when given (after timing it, so latency is the answer's own).
pub async fn run_suites(
    answerer: Arc<dyn Answerer>,
    judge: Option<Arc<Judge>>,
    suites: &[Suite],
    concurrency: usize,
    progress: &crate::progress::Progress,
) -> anyhow::Result<Vec<CaseResult>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut order = Vec::new();
    for suite in suites {
        for case in &suite.cases {
            order.push((suite.tenant.clone(), case.id.clone()));
            let (answerer, judge, semaphore) =
                (Arc::clone(&answerer), judge.clone(), Arc::clone(&semaphore));
            let (tenant, case) = (suite.tenant.clone(), case.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await?;
                let started = std::time::Instant::now();
                let reply = answerer.ask(&tenant, &case).await;
                let latency = started.elapsed().as_secs_f64() * 1000.0;
                let mut result = match reply {
                    Ok(reply) => score_case(&tenant, &case, reply, latency),
                    Err(AskError::Case(error)) => failed_case(&tenant, &case, error, latency),
                    Err(AskError::Fatal(e)) => return Err(e),
                };
                if let Some(judge) = judge.filter(|_| result.outcome == Some(Outcome::Answer)) {
                    result.judge = Some(judge.grade(&result).await);
                }
                anyhow::Ok(result)
            });
        }
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined??);
        progress.inc(1);
    }
    // Report in suite order, not completion order.
    results.sort_by_key(|r| {
        order
            .iter()
            .position(|(t, id)| t == &r.tenant && id == &r.id)
            .unwrap_or(usize::MAX)
    });
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{EscalationReason, Timings};
    use crate::knowledge::{DocKind, Passage};
    use crate::retrieve::Hit;

    fn answer(outcome: Outcome, text: &str, passages: &[(&str, &str)]) -> Answer {
        let retrieved: Vec<Hit> = passages
            .iter()
            .map(|(id, text)| Hit {
                passage: Passage {
                    id: id.to_string(),
                    tenant: "t".into(),
                    heading_path: vec!["Doc".into()],
                    question: None,
                    text: text.to_string(),
                    url: None,
                    kind: DocKind::Faq,
                    updated: None,
                },
                score: 0.9,
                dense: None,
                bm25: None,
                passage_cosine: None,
                ord: None,
            })
            .collect();
        Answer {
            text: text.into(),
            outcome,
            reason: (outcome == Outcome::Escalate).then_some(EscalationReason::LowConfidence),
            confidence: 0.8,
            citations: retrieved
                .first()
                .map(|h| Citation::new(&h.passage, &h.passage.text))
                .into_iter()
                .collect(),
            standalone_question: "q".into(),
            retrieved,
            decision: crate::answer::Decision::by(crate::answer::Check::Answered, 0.8),
            timings: Timings::default(),
        }
    }

    fn case(
        outcome: Outcome,
        facts: &[&str],
        context: &[&str],
        forbid: &[&str],
        sources: &[&str],
    ) -> Case {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Case {
            id: "c".into(),
            question: "q".into(),
            history: vec![],
            expect: Expect {
                outcome,
                facts: v(facts),
                context: v(context),
                forbid: v(forbid),
                sources: v(sources),
            },
        }
    }

    #[test]
    fn a_case_lists_each_failed_check() {
        let a = answer(
            Outcome::Answer,
            "Refunds within 14 days.",
            &[
                ("t/a#x", "Refunds within 14 days."),
                ("t/b#y", "b"),
                ("t/c#z", "c"),
                ("t/d#w", "7 days"),
            ],
        );
        let c = case(
            Outcome::Answer,
            &["14 days", "credit packs"],
            &["14 DAYS", "7 days"],
            &["14 days"],
            &["t/a#x", "t/b#y"],
        );
        let r = score_case("t", &c, Observed::from_answer(&a), 3.0);
        assert!(!r.passed);
        assert_eq!(
            r.failures,
            vec![
                "fact missing from the answer: \"credit packs\"",
                "context not in the top 3 passages: \"7 days\"",
                "forbidden text in the answer: \"14 days\"",
                "source not cited: t/b#y",
            ]
        );
        assert_eq!(
            (
                r.facts_found,
                r.facts_expected,
                r.context_found,
                r.context_expected,
                r.forbid_violations
            ),
            (1, 2, 1, 2, 1)
        );
        let ok = score_case(
            "t",
            &case(Outcome::Answer, &["14 days"], &[], &["7 days"], &["t/a#x"]),
            Observed::from_answer(&a),
            1.0,
        );
        assert!(ok.passed, "{:?}", ok.failures);
        let wrong = score_case(
            "t",
            &case(Outcome::Escalate, &[], &[], &[], &[]),
            Observed::from_answer(&a),
            1.0,
        );
        assert_eq!(
            wrong.failures,
            vec!["outcome: expected escalate, got answer"]
        );
    }

    #[test]
    fn metrics_by_hand() {
        // 4 cases: expected [esc, esc, ans, ans], got [esc, ans, esc, ans]
        let mk = |expected, got, passed, facts: (usize, usize), latency| CaseResult {
            id: format!("{latency}"),
            tenant: "t".into(),
            question: "q".into(),
            passed,
            outcome: Some(got),
            expected_outcome: expected,
            failures: vec![],
            answer: String::new(),
            citations: vec![],
            latency_ms: latency,
            reason: None,
            confidence: 0.0,
            retrieved: vec![],
            facts_expected: facts.1,
            facts_found: facts.0,
            context_expected: 1,
            context_found: usize::from(passed),
            forbid_violations: usize::from(!passed),
            history: vec![],
            judge: None,
        };
        use Outcome::{Answer as A, Escalate as E};
        let results = [
            mk(E, E, true, (0, 0), 1.0),
            mk(E, A, false, (0, 0), 2.0),
            mk(A, E, false, (0, 2), 3.0),
            mk(A, A, true, (3, 4), 4.0),
        ];
        let s = summarize(&results.iter().collect::<Vec<_>>());
        assert_eq!((s.cases, s.passed), (4, 2));
        assert_eq!(s.pass_rate, 0.5);
        assert_eq!(s.outcome_accuracy, 0.5);
        assert_eq!(s.escalation_precision, Some(0.5)); // 1 of 2 escalations expected
        assert_eq!(s.escalation_recall, Some(0.5)); // 1 of 2 expected escalations made
        assert_eq!(s.fact_recall, Some(0.5)); // 3 of 6
        assert_eq!(s.context_recall_at_3, Some(0.5));
        assert_eq!(s.forbid_violations, 2);
        assert_eq!(s.p50_ms, 3.0); // nearest rank: index 2 of [1,2,3,4]
        assert_eq!(s.p95_ms, 4.0);
        let none = summarize(&[&results[3]]);
        assert_eq!(
            (none.escalation_precision, none.escalation_recall),
            (None, None)
        );
    }

    #[test]
    fn a_case_without_reply_fails_and_counts_as_a_missed_escalation() {
        let c = case(Outcome::Escalate, &["x"], &["y"], &[], &[]);
        let r = failed_case(
            "t",
            &c,
            "http://h/v1/chat/completions answered HTTP 500".into(),
            1.0,
        );
        assert!(!r.passed);
        assert_eq!(r.outcome, None);
        assert_eq!(
            r.failures,
            vec!["http://h/v1/chat/completions answered HTTP 500"]
        );
        assert_eq!((r.facts_expected, r.context_expected), (1, 1));
        let s = summarize(&[&r]);
        assert_eq!((s.passed, s.outcome_accuracy), (0, 0.0));
        assert_eq!(s.escalation_recall, Some(0.0));
        assert_eq!(s.escalation_precision, None, "it did not escalate");
        assert_eq!(s.fact_recall, Some(0.0));
    }

    #[test]
    fn judge_means_cover_the_judged_cases_and_are_omitted_otherwise() {
        let c = case(Outcome::Answer, &[], &[], &[], &[]);
        let a = answer(Outcome::Answer, "a", &[("t/a#x", "a")]);
        let judged = |f: Option<f64>, r: Option<f64>| CaseResult {
            judge: Some(JudgeScores {
                faithfulness: f,
                relevance: r,
                notes: vec![],
            }),
            ..score_case("t", &c, Observed::from_answer(&a), 1.0)
        };
        let plain = score_case("t", &c, Observed::from_answer(&a), 1.0);
        let (one, two) = (judged(Some(1.0), Some(0.5)), judged(Some(0.5), None));
        let s = summarize(&[&one, &two, &plain]);
        assert_eq!(s.judge_faithfulness, Some(0.75));
        assert_eq!(s.judge_relevance, Some(0.5), "only the case with a score");
        let unjudged = summarize(&[&plain]);
        assert_eq!(unjudged.judge_faithfulness, None);
        let json = serde_json::to_value(&unjudged).unwrap();
        assert!(json.get("judge_faithfulness").is_none());
        assert!(serde_json::to_value(&plain).unwrap().get("judge").is_none());
    }

    #[test]
    fn a_report_written_before_the_new_fields_still_loads_as_a_baseline() {
        let old = r#"{"summary": {"cases": 1, "passed": 1, "pass_rate": 1.0, "outcome_accuracy": 1.0,
            "escalation_precision": null, "escalation_recall": null, "fact_recall": null,
            "context_recall_at_3": null, "forbid_violations": 0, "p50_ms": 1.0, "p95_ms": 1.0},
            "cases": [{"id": "a", "tenant": "t", "question": "q", "passed": true, "outcome": "answer",
            "expected_outcome": "answer", "failures": [], "answer": "x", "citations": [],
            "latency_ms": 1.0}]}"#;
        let report: Report = serde_json::from_str(old).unwrap();
        assert_eq!(report.cases[0].outcome, Some(Outcome::Answer));
        assert_eq!(report.cases[0].judge, None);
        assert!(report.cases[0].history.is_empty());
        assert_eq!(report.summary.judge_relevance, None);
    }
}
