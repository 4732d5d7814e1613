//! `askdesk eval` as a support lead runs it: reports, the gate's exit codes, baselines.

use std::process::Command;

use crate::helpers::{acme_knowledge, repo_root, write_files};

fn eval(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_askdesk"))
        .arg("eval")
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const FAQ: &str = "## Do you ship abroad?\nYes, we ship to 30 countries.\n\n## How long does delivery take?\nParcels arrive in 3 to 5 working days.\n";

fn suite(cases: &str) -> String {
    format!("tenant: acme\ncases:\n{cases}")
}

const GOOD_CASES: &str = "  - id: abroad\n    question: \"Can you send parcels to other countries?\"\n    expect:\n      outcome: answer\n      facts: [\"30 countries\"]\n      context: [\"30 countries\"]\n      sources: [\"acme/faq#do-you-ship-abroad\"]\n  - id: human\n    question: \"I want to talk to a real person\"\n    expect:\n      outcome: escalate\n";

#[test]
fn a_passing_suite_exits_0_and_writes_json_and_markdown() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("suite.yaml", &suite(GOOD_CASES))]);
    let json = dir.path().join("report.json");
    let md = dir.path().join("report.md");
    let (code, stdout, stderr) = eval(&[
        "--knowledge",
        kb.path().to_str().unwrap(),
        "--data",
        dir.path().join("data").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--min-pass-rate",
        "1.0",
        dir.path().join("suite.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "cases",
        "passed",
        "pass_rate",
        "outcome_accuracy",
        "escalation_precision",
        "escalation_recall",
        "fact_recall",
        "context_recall_at_3",
        "forbid_violations",
        "p50_ms",
        "p95_ms",
    ] {
        assert!(report["summary"].get(key).is_some(), "summary.{key}");
    }
    assert_eq!(report["summary"]["pass_rate"], 1.0);
    assert_eq!(report["tenants"]["acme"]["cases"], 2);
    let case = &report["cases"][0];
    for key in [
        "id",
        "tenant",
        "passed",
        "outcome",
        "expected_outcome",
        "failures",
        "answer",
        "citations",
        "latency_ms",
    ] {
        assert!(case.get(key).is_some(), "case.{key}");
    }
    assert!(std::fs::read_to_string(&md)
        .unwrap()
        .contains("| **all** | 2 | 2 |"));
    assert!(stdout.contains("### Failures (0)"));
}

#[test]
fn a_low_pass_rate_or_a_regression_exits_1() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    let failing = GOOD_CASES.replace("facts: [\"30 countries\"]", "facts: [\"40 countries\"]");
    write_files(
        dir.path(),
        &[
            ("good.yaml", &suite(GOOD_CASES)),
            ("bad.yaml", &suite(&failing)),
        ],
    );
    let k = kb.path().to_str().unwrap().to_string();
    let data = dir.path().join("data").to_str().unwrap().to_string();
    let baseline = dir
        .path()
        .join("baseline.json")
        .to_str()
        .unwrap()
        .to_string();
    let (code, _, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--json",
        &baseline,
        dir.path().join("good.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);

    let bad = dir.path().join("bad.yaml").to_str().unwrap().to_string();
    let (code, stdout, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--min-pass-rate",
        "0.9",
        &bad,
    ]);
    assert_eq!(code, 1, "pass rate 0.5 < 0.9");
    assert!(
        stdout.contains("fact missing from the answer: \"40 countries\""),
        "{stdout}"
    );

    // no minimum, but "abroad" passed in the baseline and fails now: a regression
    let (code, stdout, _) = eval(&[
        "--knowledge",
        &k,
        "--data",
        &data,
        "--baseline",
        &baseline,
        &bad,
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("**Regressions (1):** acme/abroad"),
        "{stdout}"
    );
}

#[test]
fn unusable_input_exits_2_before_anything_runs() {
    let kb = acme_knowledge(&[("faq.md", FAQ)]);
    let dir = tempfile::tempdir().unwrap();
    let k = kb.path().to_str().unwrap().to_string();
    let cases = [
        (
            "typo.yaml",
            suite(&GOOD_CASES.replace("      facts:", "      fact:")),
            "unknown field `fact`",
        ),
        (
            "dupe.yaml",
            suite(&format!(
                "{GOOD_CASES}{}",
                GOOD_CASES.lines().take(4).collect::<Vec<_>>().join("\n") + "\n"
            )),
            "duplicate case id \"abroad\"",
        ),
        (
            "ghost.yaml",
            suite(GOOD_CASES).replace("tenant: acme", "tenant: ghost"),
            "unknown tenant \"ghost\"",
        ),
    ];
    for (name, content, message) in cases {
        write_files(dir.path(), &[(name, &content)]);
        let (code, stdout, stderr) =
            eval(&["--knowledge", &k, dir.path().join(name).to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(stderr.contains(name), "names the file: {stderr}");
        if name == "typo.yaml" {
            assert!(stderr.contains("typo.yaml:7:"), "and the line: {stderr}");
        }
        assert!(stdout.is_empty(), "nothing ran: {stdout}");
    }
}
