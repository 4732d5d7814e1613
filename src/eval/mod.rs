//! Answer-quality evals: run suites through the answer pipeline, score each case, summarise,
//! compare with a baseline, and write reports (terminal, JSON, Markdown).

pub mod draft;
mod matching;
mod report;
mod suite;

pub use matching::{contains, normalize};
pub use report::{markdown_report, print_terminal_report, Comparison};
pub use suite::{load_suite, load_suites, parse_suite, Case, Expect, Suite, SuiteError};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::answer::{Answer, Citation, Outcome, Pipeline};
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
    pub outcome: Outcome,
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
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// A whole run, as written by `--json` and read back by `--baseline`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub summary: Summary,
    #[serde(default)]
    pub tenants: BTreeMap<String, Summary>,
    pub cases: Vec<CaseResult>,
}

/// Scores one answer against its case.
pub fn score_case(tenant: &str, case: &Case, answer: &Answer, latency_ms: f64) -> CaseResult {
    let e = &case.expect;
    let mut failures = Vec::new();
    if answer.outcome != e.outcome {
        failures.push(format!(
            "outcome: expected {}, got {}",
            e.outcome.as_str(),
            answer.outcome.as_str()
        ));
    }
    let facts_found = e.facts.iter().filter(|f| contains(&answer.text, f)).count();
    for fact in e.facts.iter().filter(|f| !contains(&answer.text, f)) {
        failures.push(format!("fact missing from the answer: {fact:?}"));
    }
    let top3: Vec<String> = answer
        .retrieved
        .iter()
        .take(3)
        .map(|h| format!("{}\n{}", h.passage.title(), h.passage.text))
        .collect();
    let in_context = |c: &String| top3.iter().any(|t| contains(t, c));
    let context_found = e.context.iter().filter(|c| in_context(c)).count();
    for c in e.context.iter().filter(|c| !in_context(c)) {
        failures.push(format!("context not in the top 3 passages: {c:?}"));
    }
    let violations: Vec<&String> = e
        .forbid
        .iter()
        .filter(|f| contains(&answer.text, f))
        .collect();
    for f in &violations {
        failures.push(format!("forbidden text in the answer: {f:?}"));
    }
    for source in &e.sources {
        if !answer.citations.iter().any(|c| &c.id == source) {
            failures.push(format!("source not cited: {source}"));
        }
    }
    CaseResult {
        id: case.id.clone(),
        tenant: tenant.to_string(),
        question: case.question.clone(),
        passed: failures.is_empty(),
        outcome: answer.outcome,
        expected_outcome: e.outcome,
        failures,
        answer: answer.text.clone(),
        citations: answer.citations.clone(),
        latency_ms,
        reason: answer.reason.map(|r| r.as_str().to_string()),
        confidence: answer.confidence,
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
        facts_expected: e.facts.len(),
        facts_found,
        context_expected: e.context.len(),
        context_found,
        forbid_violations: violations.len(),
    }
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
        .filter(|r| r.outcome == r.expected_outcome)
        .count();
    let escalated = |r: &&&CaseResult| r.outcome == Outcome::Escalate;
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
        p50_ms: quantile(&latencies, 0.5),
        p95_ms: quantile(&latencies, 0.95),
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

/// Runs every case of `suites` through the pipeline, at most `concurrency` at a time.
pub async fn run_suites(
    pipeline: Arc<Pipeline>,
    suites: &[Suite],
    concurrency: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<CaseResult>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut order = Vec::new();
    for suite in suites {
        for case in &suite.cases {
            order.push((suite.tenant.clone(), case.id.clone()));
            let (pipeline, semaphore) = (Arc::clone(&pipeline), Arc::clone(&semaphore));
            let (tenant, case) = (suite.tenant.clone(), case.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await?;
                let started = std::time::Instant::now();
                let answer = pipeline
                    .answer(&tenant, &case.question, &case.history)
                    .await
                    .map_err(|e| anyhow::anyhow!("case {:?} ({tenant}): {e}", case.id))?;
                let latency = started.elapsed().as_secs_f64() * 1000.0;
                anyhow::Ok(score_case(&tenant, &case, &answer, latency))
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
        let r = score_case("t", &c, &a, 3.0);
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
            &a,
            1.0,
        );
        assert!(ok.passed, "{:?}", ok.failures);
        let wrong = score_case("t", &case(Outcome::Escalate, &[], &[], &[], &[]), &a, 1.0);
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
            outcome: got,
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
}
