//! Reports of an eval run: the terminal table, Markdown for pull requests, and the comparison
//! with a baseline run (a case that passed there and fails now is a regression).

use std::fmt::Write;

use super::{Report, Summary};

/// What changed against a baseline report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// "tenant/id" of cases that passed in the baseline and fail now.
    pub regressions: Vec<String>,
    /// Cases that failed in the baseline and pass now.
    pub fixed: Vec<String>,
    /// Cases not in the baseline.
    pub new_cases: Vec<String>,
    /// (metric, baseline, now) for metrics that changed.
    pub metric_changes: Vec<(String, f64, f64)>,
}

impl Comparison {
    pub fn between(baseline: &Report, now: &Report) -> Self {
        let mut c = Comparison::default();
        for case in &now.cases {
            let key = format!("{}/{}", case.tenant, case.id);
            match baseline
                .cases
                .iter()
                .find(|b| b.tenant == case.tenant && b.id == case.id)
            {
                Some(before) if before.passed && !case.passed => c.regressions.push(key),
                Some(before) if !before.passed && case.passed => c.fixed.push(key),
                Some(_) => {}
                None => c.new_cases.push(key),
            }
        }
        for (name, before, after) in metric_pairs(&baseline.summary, &now.summary) {
            if (before - after).abs() > 1e-9 {
                c.metric_changes.push((name.to_string(), before, after));
            }
        }
        c
    }
}

/// The quality metrics worth comparing (latency is too noisy to flag).
fn metric_pairs(a: &Summary, b: &Summary) -> Vec<(&'static str, f64, f64)> {
    let opt = |x: Option<f64>| x.unwrap_or(f64::NAN);
    let mut v = vec![
        ("pass_rate", a.pass_rate, b.pass_rate),
        ("outcome_accuracy", a.outcome_accuracy, b.outcome_accuracy),
        (
            "escalation_precision",
            opt(a.escalation_precision),
            opt(b.escalation_precision),
        ),
        (
            "escalation_recall",
            opt(a.escalation_recall),
            opt(b.escalation_recall),
        ),
        ("fact_recall", opt(a.fact_recall), opt(b.fact_recall)),
        (
            "context_recall_at_3",
            opt(a.context_recall_at_3),
            opt(b.context_recall_at_3),
        ),
        (
            "forbid_violations",
            a.forbid_violations as f64,
            b.forbid_violations as f64,
        ),
        (
            "judge_faithfulness",
            opt(a.judge_faithfulness),
            opt(b.judge_faithfulness),
        ),
        (
            "judge_relevance",
            opt(a.judge_relevance),
            opt(b.judge_relevance),
        ),
    ];
    v.retain(|(_, x, y)| !(x.is_nan() && y.is_nan()));
    v
}

pub(super) fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{x:.3}"))
}

fn summary_rows(name: &str, s: &Summary) -> String {
    format!(
        "| {name} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
        s.cases,
        s.passed,
        s.pass_rate,
        s.outcome_accuracy,
        fmt_opt(s.escalation_precision),
        fmt_opt(s.escalation_recall),
        fmt_opt(s.fact_recall),
        fmt_opt(s.context_recall_at_3),
        s.forbid_violations,
        s.median_answer_chars
            .map_or("n/a".into(), |c| format!("{c:.0}")),
        s.p50_ms,
        s.p95_ms
    )
}

const HEADER: &str = "| | cases | passed | pass rate | outcome acc. | esc. precision | esc. recall | fact recall | context@3 | forbid viol. | median answer chars | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";

/// The judge's means, only when the run was judged (`--judge`).
fn judge_table(out: &mut String, report: &Report) {
    let s = &report.summary;
    if s.judge_faithfulness.is_none() && s.judge_relevance.is_none() {
        return;
    }
    let _ = writeln!(
        out,
        "\nLLM judge (0..1, not gated):\n\n| | faithfulness | relevance |\n|---|---|---|"
    );
    let rows =
        std::iter::once(("**all**", s)).chain(report.tenants.iter().map(|(t, s)| (t.as_str(), s)));
    for (name, s) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            fmt_opt(s.judge_faithfulness),
            fmt_opt(s.judge_relevance)
        );
    }
}

/// Markdown for pasting into a pull request: metrics, per tenant, changes, failures.
pub fn markdown_report(report: &Report, comparison: Option<&Comparison>) -> String {
    let mut out = String::from("## askdesk eval\n\n");
    let _ = writeln!(out, "{HEADER}");
    let _ = writeln!(out, "{}", summary_rows("**all**", &report.summary));
    for (tenant, s) in &report.tenants {
        let _ = writeln!(out, "{}", summary_rows(tenant, s));
    }
    judge_table(&mut out, report);
    if let Some(c) = comparison {
        let _ = writeln!(out, "\n### Against the baseline\n");
        if c.regressions.is_empty() {
            let _ = writeln!(out, "No regressions.");
        } else {
            let _ = writeln!(
                out,
                "**Regressions ({}):** {}",
                c.regressions.len(),
                c.regressions.join(", ")
            );
        }
        if !c.fixed.is_empty() {
            let _ = writeln!(out, "\nFixed: {}", c.fixed.join(", "));
        }
        if !c.new_cases.is_empty() {
            let _ = writeln!(out, "\nNew cases: {}", c.new_cases.join(", "));
        }
        for (name, before, after) in &c.metric_changes {
            let _ = writeln!(out, "\n- {name}: {before:.3} → {after:.3}");
        }
    }
    let failed: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
    let _ = writeln!(out, "\n### Failures ({})\n", failed.len());
    for case in failed {
        let _ = writeln!(
            out,
            "- **{}/{}** ({} expected, got {}): {}",
            case.tenant,
            case.id,
            case.expected_outcome.as_str(),
            case.outcome.map_or("no reply", |o| o.as_str()),
            case.failures.join("; ")
        );
    }
    out
}

/// The table and failures a lead sees in the terminal.
pub fn print_terminal_report(report: &Report, comparison: Option<&Comparison>) {
    println!("{}", markdown_report(report, comparison));
}

#[cfg(test)]
mod tests {
    use super::super::{build_report, CaseResult};
    use super::*;
    use crate::answer::Outcome;

    fn case(
        tenant: &str,
        id: &str,
        passed: bool,
        outcome: Outcome,
        expected: Outcome,
    ) -> CaseResult {
        CaseResult {
            id: id.into(),
            tenant: tenant.into(),
            question: "q".into(),
            passed,
            outcome: Some(outcome),
            expected_outcome: expected,
            failures: if passed {
                vec![]
            } else {
                vec!["fact missing from the answer: \"7 days\"".into()]
            },
            answer: "a".into(),
            citations: vec![],
            latency_ms: 2.0,
            reason: None,
            confidence: 0.9,
            retrieved: vec![],
            facts_expected: 1,
            facts_found: usize::from(passed),
            context_expected: 0,
            context_found: 0,
            forbid_violations: 0,
            history: vec![],
            judge: None,
        }
    }

    #[test]
    fn regressions_are_cases_that_passed_before() {
        let before = build_report(vec![
            case("t", "a", true, Outcome::Answer, Outcome::Answer),
            case("t", "b", false, Outcome::Answer, Outcome::Answer),
        ]);
        let now = build_report(vec![
            case("t", "a", false, Outcome::Answer, Outcome::Answer),
            case("t", "b", true, Outcome::Answer, Outcome::Answer),
            case("t", "c", true, Outcome::Answer, Outcome::Answer),
        ]);
        let c = Comparison::between(&before, &now);
        assert_eq!(c.regressions, vec!["t/a"]);
        assert_eq!(c.fixed, vec!["t/b"]);
        assert_eq!(c.new_cases, vec!["t/c"]);
        assert!(c
            .metric_changes
            .iter()
            .any(|(m, b, a)| m == "pass_rate" && *b == 0.5 && (*a - 2.0 / 3.0).abs() < 1e-9));
    }

    #[test]
    fn markdown_report_snapshot() {
        let report = build_report(vec![
            case("fictart", "refund", true, Outcome::Answer, Outcome::Answer),
            case(
                "fictart",
                "weather",
                false,
                Outcome::Answer,
                Outcome::Escalate,
            ),
        ]);
        let expected = "## askdesk eval

| | cases | passed | pass rate | outcome acc. | esc. precision | esc. recall | fact recall | context@3 | forbid viol. | median answer chars | p50 ms | p95 ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| **all** | 2 | 1 | 0.500 | 0.500 | n/a | 0.000 | 0.500 | n/a | 0 | 1 | 2.0 | 2.0 |
| fictart | 2 | 1 | 0.500 | 0.500 | n/a | 0.000 | 0.500 | n/a | 0 | 1 | 2.0 | 2.0 |

### Failures (1)

- **fictart/weather** (escalate expected, got answer): fact missing from the answer: \"7 days\"
";
        assert_eq!(markdown_report(&report, None), expected);
    }

    #[test]
    fn judge_means_get_their_own_table_only_when_judged() {
        let plain = build_report(vec![case("t", "a", true, Outcome::Answer, Outcome::Answer)]);
        assert!(!markdown_report(&plain, None).contains("LLM judge"));
        let mut judged = case("t", "a", true, Outcome::Answer, Outcome::Answer);
        judged.judge = Some(super::super::JudgeScores {
            faithfulness: Some(0.5),
            relevance: None,
            notes: vec![],
        });
        let page = markdown_report(&build_report(vec![judged]), None);
        assert!(
            page.contains("| | faithfulness | relevance |\n|---|---|---|\n| **all** | 0.500 | n/a |\n| t | 0.500 | n/a |\n"),
            "{page}"
        );
    }
}
