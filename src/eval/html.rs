//! `--html`: one self-contained page a support lead opens in a browser (inline CSS, inline SVG
//! bars and a few lines of vanilla JS; nothing is fetched). Metrics first, then every case,
//! failures first, each expandable to what the bot was asked, what it said and why it failed.
//! Every piece of text from suites, answers and passages is HTML-escaped: an answer is customer
//! and model text, and must never run as markup in the lead's browser.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::report::fmt_opt;
use super::{CaseResult, Comparison, Report, Summary};
use crate::answer::Role;
use crate::escalate::escape_html as esc;

/// How a case changed against the baseline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Regression,
    Fixed,
    New,
    Same,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Regression => "regression",
            Change::Fixed => "fixed",
            Change::New => "new",
            Change::Same => "",
        }
    }
}

/// The page for `report`, with the changes against a baseline when `comparison` is given.
pub fn html_report(report: &Report, comparison: Option<&Comparison>) -> String {
    let changes = case_changes(comparison);
    let change_of = |c: &CaseResult| {
        changes
            .get(&format!("{}/{}", c.tenant, c.id))
            .copied()
            .unwrap_or(Change::Same)
    };
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(HEAD);
    let s = &report.summary;
    let _ = write!(
        out,
        "<h1>askdesk eval</h1>\n<p class=\"lead\">{} cases, {} passed, {} failed",
        s.cases,
        s.passed,
        s.cases - s.passed
    );
    if let Some(c) = comparison {
        let _ = write!(
            out,
            "; against the baseline: <span class=\"{}\">{} regressions</span>, {} fixed, {} new",
            if c.regressions.is_empty() {
                "ok"
            } else {
                "bad"
            },
            c.regressions.len(),
            c.fixed.len(),
            c.new_cases.len()
        );
    }
    out.push_str(".</p>\n");
    metrics_section(&mut out, report);
    if let Some(c) = comparison {
        baseline_section(&mut out, c);
    }
    charts_section(&mut out, report, comparison);
    filters(&mut out, report);
    let mut cases: Vec<&CaseResult> = report.cases.iter().collect();
    // Failures first, regressions first among them; suite order otherwise (the sort is stable).
    cases.sort_by_key(|c| (c.passed, change_of(c) != Change::Regression));
    out.push_str("<section id=\"cases\">\n");
    for case in cases {
        case_details(&mut out, case, change_of(case));
    }
    out.push_str("</section>\n");
    out.push_str(SCRIPT);
    out.push_str("</body>\n</html>\n");
    out
}

fn case_changes(comparison: Option<&Comparison>) -> BTreeMap<String, Change> {
    let mut changes = BTreeMap::new();
    if let Some(c) = comparison {
        for (keys, change) in [
            (&c.regressions, Change::Regression),
            (&c.fixed, Change::Fixed),
            (&c.new_cases, Change::New),
        ] {
            for key in keys {
                changes.insert(key.clone(), change);
            }
        }
    }
    changes
}

/// Summary's metrics between 0 and 1, charted as bars (judge scores only in a judged run).
fn rates(s: &Summary, judged: bool) -> Vec<(&'static str, Option<f64>)> {
    let mut v = vec![
        ("pass_rate", Some(s.pass_rate)),
        ("outcome_accuracy", Some(s.outcome_accuracy)),
        ("escalation_precision", s.escalation_precision),
        ("escalation_recall", s.escalation_recall),
        ("fact_recall", s.fact_recall),
        ("context_recall_at_3", s.context_recall_at_3),
    ];
    if judged {
        v.push(("judge_faithfulness", s.judge_faithfulness));
        v.push(("judge_relevance", s.judge_relevance));
    }
    v
}

/// Every key of [`Summary`] with its formatted value, in table order.
fn summary_cells(s: &Summary, judged: bool) -> Vec<(&'static str, String)> {
    let mut cells = vec![
        ("cases", s.cases.to_string()),
        ("passed", s.passed.to_string()),
    ];
    cells.extend(
        rates(s, judged)
            .into_iter()
            .map(|(key, value)| (key, fmt_opt(value))),
    );
    cells.push(("forbid_violations", s.forbid_violations.to_string()));
    cells.push((
        "median_answer_chars",
        s.median_answer_chars
            .map_or("n/a".into(), |c| format!("{c:.0}")),
    ));
    cells.push(("p50_ms", format!("{:.1}", s.p50_ms)));
    cells.push(("p95_ms", format!("{:.1}", s.p95_ms)));
    cells
}

/// Whether any case was judged (the judge columns appear only then).
fn judged(report: &Report) -> bool {
    let s = &report.summary;
    s.judge_faithfulness.is_some() || s.judge_relevance.is_some()
}

fn metrics_section(out: &mut String, report: &Report) {
    let judged = judged(report);
    out.push_str("<section id=\"metrics\">\n<h2>Metrics</h2>\n<table class=\"metrics\">\n<thead><tr><th></th>");
    for (key, _) in summary_cells(&report.summary, judged) {
        let _ = write!(
            out,
            "<th data-metric=\"{key}\">{}</th>",
            key.replace('_', " ")
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let rows = std::iter::once(("all", &report.summary)).chain(
        report
            .tenants
            .iter()
            .map(|(tenant, s)| (tenant.as_str(), s)),
    );
    for (name, s) in rows {
        let _ = write!(
            out,
            "<tr data-tenant=\"{}\"><th>{}</th>",
            esc(name),
            esc(name)
        );
        for (key, value) in summary_cells(s, judged) {
            let _ = write!(out, "<td data-metric=\"{key}\">{value}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if judged {
        out.push_str("<p class=\"note\">Judge scores are graded by an LLM (0 to 1, mean over the answered cases it could grade): faithfulness is the share of the answer's claims the passages support; relevance is whether it answers the question. They are not part of the gate.</p>\n");
    }
    out.push_str("</section>\n");
}

fn baseline_section(out: &mut String, c: &Comparison) {
    out.push_str("<section id=\"baseline\">\n<h2>Against the baseline</h2>\n");
    if c.metric_changes.is_empty() {
        out.push_str("<p>No metric changed.</p>\n");
    } else {
        out.push_str("<table class=\"changes\">\n<thead><tr><th>metric</th><th>baseline</th><th>now</th><th>change</th></tr></thead>\n<tbody>\n");
        for (name, before, after) in &c.metric_changes {
            let delta = after - before;
            // A rise is good for every compared metric except forbidden-text violations.
            let better = if name == "forbid_violations" {
                delta < 0.0
            } else {
                delta > 0.0
            };
            let _ = writeln!(
                out,
                "<tr class=\"{}\" data-metric=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if better { "up" } else { "down" },
                esc(name),
                esc(&name.replace('_', " ")),
                fmt_number(*before),
                fmt_number(*after),
                if delta.is_nan() {
                    "n/a".to_string()
                } else {
                    format!("{delta:+.3}")
                }
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    for (label, class, keys) in [
        ("Regressions", "bad", &c.regressions),
        ("Fixed", "ok", &c.fixed),
        ("New cases", "", &c.new_cases),
    ] {
        if keys.is_empty() {
            continue;
        }
        let listed: Vec<String> = keys.iter().map(|k| esc(k)).collect();
        let _ = writeln!(
            out,
            "<p class=\"{class}\"><strong>{label} ({}):</strong> {}</p>",
            keys.len(),
            listed.join(", ")
        );
    }
    out.push_str("</section>\n");
}

fn fmt_number(x: f64) -> String {
    fmt_opt((!x.is_nan()).then_some(x))
}

const BAR_X: f64 = 190.0;
const BAR_WIDTH: f64 = 360.0;
const ROW_HEIGHT: f64 = 24.0;

fn charts_section(out: &mut String, report: &Report, comparison: Option<&Comparison>) {
    out.push_str("<section id=\"charts\">\n<h2>At a glance</h2>\n<div class=\"charts\">\n");
    // Passed and failed cases per tenant.
    let rows: Vec<(&str, &Summary)> = std::iter::once(("all", &report.summary))
        .chain(report.tenants.iter().map(|(t, s)| (t.as_str(), s)))
        .collect();
    svg_open(out, "Passed and failed cases per tenant", rows.len());
    for (i, (name, s)) in rows.iter().enumerate() {
        let y = i as f64 * ROW_HEIGHT;
        let pass_width = BAR_WIDTH * s.pass_rate;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{}</text>\
             <rect class=\"pass\" x=\"{BAR_X}\" y=\"{y:.1}\" width=\"{pass_width:.1}\" height=\"16\"><title>{} passed</title></rect>\
             <rect class=\"fail\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"16\"><title>{} failed</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}/{}</text>",
            y + 12.5,
            esc(name),
            s.passed,
            BAR_X + pass_width,
            BAR_WIDTH - pass_width,
            s.cases - s.passed,
            BAR_X + BAR_WIDTH + 6.0,
            y + 12.5,
            s.passed,
            s.cases
        );
    }
    out.push_str("</svg>\n");
    // Each rate overall, with the baseline's value as a tick when it changed.
    let metrics = rates(&report.summary, judged(report));
    svg_open(
        out,
        "Metrics over all cases (tick: baseline)",
        metrics.len(),
    );
    for (i, (key, value)) in metrics.iter().enumerate() {
        let y = i as f64 * ROW_HEIGHT;
        let width = BAR_WIDTH * value.unwrap_or(0.0);
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect class=\"track\" x=\"{BAR_X}\" y=\"{y:.1}\" width=\"{BAR_WIDTH}\" height=\"16\"/>\
             <rect class=\"metric\" data-metric=\"{key}\" x=\"{BAR_X}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"16\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 12.5,
            key.replace('_', " "),
            BAR_X + BAR_WIDTH + 6.0,
            y + 12.5,
            fmt_opt(*value)
        );
        let before = comparison.and_then(|c| {
            c.metric_changes
                .iter()
                .find(|(name, _, _)| name == key)
                .map(|(_, before, _)| *before)
        });
        if let Some(before) = before.filter(|b| !b.is_nan()) {
            let x = BAR_X + BAR_WIDTH * before;
            let _ = write!(
                out,
                "<line class=\"baseline\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"><title>baseline {before:.3}</title></line>",
                y - 2.0,
                y + 18.0
            );
        }
        out.push('\n');
    }
    out.push_str("</svg>\n</div>\n</section>\n");
}

fn svg_open(out: &mut String, title: &str, rows: usize) {
    let height = rows as f64 * ROW_HEIGHT;
    let _ = writeln!(
        out,
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 620 {height:.0}\" width=\"620\" height=\"{height:.0}\">",
        esc(title),
        esc(title)
    );
}

fn filters(out: &mut String, report: &Report) {
    out.push_str("<h2>Cases</h2>\n<div id=\"filters\">\n<label>Tenant <select id=\"filter-tenant\"><option value=\"\">all</option>");
    for tenant in report.tenants.keys() {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(tenant),
            esc(tenant)
        );
    }
    out.push_str("</select></label>\n<label>Status <select id=\"filter-status\"><option value=\"\">all</option><option value=\"fail\">fail</option><option value=\"pass\">pass</option><option value=\"regression\">regression</option></select></label>\n<span><span id=\"shown\"></span> shown</span>\n</div>\n");
}

fn case_details(out: &mut String, case: &CaseResult, change: Change) {
    let status = if case.passed { "pass" } else { "fail" };
    let badge = if change == Change::Regression {
        "regression"
    } else {
        status
    };
    let got = case.outcome.map_or("no reply", |o| o.as_str());
    let _ = write!(
        out,
        "<details class=\"case {status} {}\" data-tenant=\"{}\" data-status=\"{status}\" data-change=\"{}\">\n<summary><span class=\"badge {badge}\">{badge}</span> <code>{}/{}</code> {}<span class=\"meta\">expected {}, got {got} · {:.1} ms",
        change.as_str(),
        esc(&case.tenant),
        change.as_str(),
        esc(&case.tenant),
        esc(&case.id),
        esc(&case.question),
        case.expected_outcome.as_str(),
        case.latency_ms
    );
    if let Some(j) = &case.judge {
        let _ = write!(
            out,
            " · faithfulness {} · relevance {}",
            fmt_opt(j.faithfulness),
            fmt_opt(j.relevance)
        );
    }
    out.push_str("</span></summary>\n<div class=\"body\">\n");
    match change {
        Change::Regression => {
            out.push_str("<p class=\"bad\">Passed in the baseline, fails now.</p>\n")
        }
        Change::Fixed => out.push_str("<p class=\"ok\">Failed in the baseline, passes now.</p>\n"),
        Change::New => out.push_str("<p>Not in the baseline.</p>\n"),
        Change::Same => {}
    }
    if !case.failures.is_empty() {
        out.push_str("<h3>Failed checks</h3>\n<ul class=\"failures\">");
        for f in &case.failures {
            let _ = write!(out, "<li>{}</li>", esc(f));
        }
        out.push_str("</ul>\n");
    }
    let _ = write!(
        out,
        "<h3>Question</h3>\n<p class=\"text\">{}</p>\n",
        esc(&case.question)
    );
    if !case.history.is_empty() {
        out.push_str("<h3>Earlier in the conversation</h3>\n<ol class=\"history\">");
        for turn in &case.history {
            let who = if turn.role == Role::User {
                "Customer"
            } else {
                "Bot"
            };
            let _ = write!(
                out,
                "<li><strong>{who}:</strong> <span class=\"text\">{}</span></li>",
                esc(&turn.content)
            );
        }
        out.push_str("</ol>\n");
    }
    let _ = write!(
        out,
        "<h3>Answer</h3>\n<p class=\"text answer\">{}</p>\n<p class=\"meta\">outcome {got}{} · confidence {:.2} · expected {}</p>\n",
        esc(&case.answer),
        case.reason
            .as_deref()
            .map(|r| format!(" ({})", esc(r)))
            .unwrap_or_default(),
        case.confidence,
        case.expected_outcome.as_str()
    );
    if let Some(j) = &case.judge {
        let _ = write!(
            out,
            "<h3>Judge</h3>\n<p>faithfulness {} · relevance {}</p>\n",
            fmt_opt(j.faithfulness),
            fmt_opt(j.relevance)
        );
        for note in &j.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note));
        }
    }
    if !case.citations.is_empty() {
        out.push_str("<h3>Citations</h3>\n<ul class=\"citations\">");
        for c in &case.citations {
            let title = match c.url.as_deref().filter(|u| is_web_link(u)) {
                Some(url) => format!("<a href=\"{}\">{}</a>", esc(url), esc(&c.title)),
                None => esc(&c.title),
            };
            let _ = write!(
                out,
                "<li>{title} <code>{}</code><blockquote>{}</blockquote></li>",
                esc(&c.id),
                esc(&c.snippet)
            );
        }
        out.push_str("</ul>\n");
    }
    if !case.retrieved.is_empty() {
        out.push_str("<h3>Retrieved passages</h3>\n<ol class=\"retrieved\">");
        for r in &case.retrieved {
            let _ = write!(
                out,
                "<li><strong>{}</strong> <code>{}</code> <span class=\"meta\">score {:.3}</span><div class=\"text passage\">{}</div></li>",
                esc(&r.title),
                esc(&r.id),
                r.score,
                esc(&r.text)
            );
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</div>\n</details>\n");
}

/// Only http(s) links are made clickable: a `javascript:` URL in a document's front matter or a
/// server's reply stays text.
fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

const HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>askdesk eval</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}h3{font-size:.95rem;margin:.9rem 0 .3rem}
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}th:first-child{text-align:left}
.lead{color:#57606a}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}.note{color:#57606a;font-size:.85rem}
tr.up td:last-child{color:#1a7f37}tr.down td:last-child{color:#cf222e;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:2rem}figure{margin:0}figcaption{font-size:.85rem;color:#57606a;margin-bottom:.3rem}
svg text{font-size:12px;fill:#1f2328}rect.pass{fill:#2da44e}rect.fail{fill:#cf222e}rect.track{fill:#eaeef2}rect.metric{fill:#0969da}line.baseline{stroke:#1f2328;stroke-width:2}
#filters{display:flex;gap:1.5rem;align-items:center;margin:.5rem 0 1rem}
details.case{border:1px solid #d0d7de;border-left:4px solid #2da44e;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}
details.case.fail{border-left-color:#cf222e}details.case.regression{background:#fff8c5;border-color:#bf8700;border-left-color:#cf222e}
summary{cursor:pointer}.meta{color:#57606a;font-size:.8rem;margin-left:.5rem}
.badge{display:inline-block;min-width:5.5rem;text-align:center;border-radius:3px;font-size:.75rem;font-weight:600;color:#fff;background:#2da44e;text-transform:uppercase}
.badge.fail{background:#cf222e}.badge.regression{background:#8250df}
.text{white-space:pre-wrap}.passage{background:#f6f8fa;padding:.3rem .5rem;margin:.2rem 0 .5rem;font-size:.85rem}
blockquote{margin:.2rem 0 .5rem 1rem;color:#57606a;font-size:.85rem}ul.failures li{color:#cf222e}
</style>
</head>
<body>
"#;

/// The tenant and status filters: hides the cases that do not match.
const SCRIPT: &str = r#"<script>
(function () {
  var tenant = document.getElementById("filter-tenant");
  var status = document.getElementById("filter-status");
  function apply() {
    var shown = 0;
    document.querySelectorAll("details.case").forEach(function (d) {
      var s = status.value;
      var ok = (!tenant.value || d.dataset.tenant === tenant.value) &&
        (!s || (s === "regression" ? d.dataset.change === "regression" : d.dataset.status === s));
      d.hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById("shown").textContent = shown;
  }
  tenant.addEventListener("change", apply);
  status.addEventListener("change", apply);
  apply();
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::super::{build_report, CaseResult, JudgeScores, Retrieved};
    use super::*;
    use crate::answer::{Citation, Outcome, Turn};

    fn case(tenant: &str, id: &str, passed: bool) -> CaseResult {
        CaseResult {
            id: id.into(),
            tenant: tenant.into(),
            question: format!("question {id}"),
            passed,
            outcome: Some(Outcome::Answer),
            expected_outcome: Outcome::Answer,
            failures: if passed {
                vec![]
            } else {
                vec![format!("fact missing from the answer: \"{id} fact\"")]
            },
            answer: format!("answer {id}"),
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

    fn position(page: &str, needle: &str) -> usize {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the page"))
    }

    #[test]
    fn every_summary_metric_is_shown_overall_and_per_tenant() {
        let report = build_report(vec![case("fictart", "a", true), case("sdweb", "b", false)]);
        let page = html_report(&report, None);
        let summary = serde_json::to_value(&report.summary).unwrap();
        for key in summary.as_object().unwrap().keys() {
            assert!(
                page.contains(&format!("<th data-metric=\"{key}\">")),
                "{key}"
            );
        }
        for tenant in ["all", "fictart", "sdweb"] {
            assert!(page.contains(&format!("<tr data-tenant=\"{tenant}\">")));
        }
        assert!(page.contains("<td data-metric=\"pass_rate\">0.500</td>"));
        assert!(page.contains("<svg role=\"img\""));
        assert!(!page.contains("judge faithfulness"), "not judged");
    }

    #[test]
    fn failures_come_before_passes_and_regressions_first() {
        let before = build_report(vec![
            case("t", "p1", true),
            case("t", "f1", true),
            case("t", "f2", false),
        ]);
        let now = build_report(vec![
            case("t", "p1", true),
            case("t", "f2", false),
            case("t", "f1", false),
            case("t", "p2", true),
        ]);
        let comparison = Comparison::between(&before, &now);
        let page = html_report(&now, Some(&comparison));
        let at = |id: &str| position(&page, &format!("<code>t/{id}</code>"));
        assert!(at("f1") < at("f2"), "the regression leads");
        assert!(at("f2") < at("p1") && at("p1") < at("p2"));
        assert!(page.contains("data-change=\"regression\""));
        assert!(page.contains("Passed in the baseline, fails now."));
        assert!(page.contains("<tr class=\"down\" data-metric=\"pass_rate\">"));
        assert!(page.contains("<strong>Regressions (1):</strong> t/f1"));
        assert!(page.contains("<line class=\"baseline\""));
        assert!(page.contains("fact missing from the answer: &quot;f1 fact&quot;"));
    }

    #[test]
    fn the_filter_controls_cover_tenants_and_statuses() {
        let page = html_report(
            &build_report(vec![case("fictart", "a", true), case("sdweb", "b", false)]),
            None,
        );
        assert!(page.contains("<select id=\"filter-tenant\">"));
        assert!(page.contains("<option value=\"fictart\">fictart</option>"));
        assert!(page.contains("<option value=\"sdweb\">sdweb</option>"));
        for status in ["pass", "fail", "regression"] {
            assert!(page.contains(&format!("<option value=\"{status}\">")));
        }
        assert!(page
            .contains("<details class=\"case fail \" data-tenant=\"sdweb\" data-status=\"fail\""));
        assert!(page.contains("d.dataset.tenant === tenant.value"));
    }

    #[test]
    fn every_text_from_suites_answers_and_passages_is_escaped() {
        let mut c = case("t", "x<script>", false);
        c.question = "<script>alert('q')</script>".into();
        c.answer = "<script>alert(\"a\")</script> & <b>bold</b>".into();
        c.history = vec![Turn {
            role: Role::User,
            content: "<img src=x onerror=alert(1)>".into(),
        }];
        c.failures = vec!["forbidden text in the answer: \"<script>\"".into()];
        c.reason = Some("<i>why</i>".into());
        c.citations = vec![
            Citation {
                id: "t/doc#<a>".into(),
                title: "Refunds <em>".into(),
                url: Some("https://example.test/?a=1&b=\"2\"".into()),
                snippet: "</blockquote><script>".into(),
            },
            Citation {
                id: "t/evil".into(),
                title: "Evil".into(),
                url: Some("javascript:alert(1)".into()),
                snippet: "s".into(),
            },
        ];
        c.retrieved = vec![Retrieved {
            id: "t/doc#<a>".into(),
            title: "<h1>Title</h1>".into(),
            score: 0.5,
            text: "</div><script>alert('p')</script>".into(),
        }];
        c.judge = Some(JudgeScores {
            faithfulness: None,
            relevance: Some(1.0),
            notes: vec!["faithfulness: no score in the judge's reply \"<script>\"".into()],
        });
        let page = html_report(&build_report(vec![c]), None);
        let script_tags = page.matches("<script").count();
        assert_eq!(script_tags, 1, "only the page's own filter script");
        for raw in ["<img", "<b>", "<i>", "<em>", "<h1>Title", "<a>"] {
            assert!(!page.contains(raw), "{raw} left unescaped");
        }
        assert!(page.contains("&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;"));
        assert!(page.contains(
            "&lt;script&gt;alert(&quot;a&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
        ));
        assert!(page.contains(
            "<a href=\"https://example.test/?a=1&amp;b=&quot;2&quot;\">Refunds &lt;em&gt;</a>"
        ));
        assert!(!page.contains("javascript:"), "no script links");
        assert!(page.contains("<td data-metric=\"judge_relevance\">1.000</td>"));
    }
}
