//! The `askdesk` binary as a user runs it: exit codes and one-line errors.

use std::process::Command;

use crate::helpers::{acme_knowledge, write_files};

/// Runs the binary from the crate root: (exit code, stdout, stderr).
pub fn askdesk(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_askdesk"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn index_reports_bad_documents_and_tenants_but_indexes_the_rest() {
    let knowledge = acme_knowledge(&[
        ("good.md", "## Is it good?\nYes."),
        ("bad.md", "---\ntitle: [\n---\nx"),
    ]);
    write_files(
        knowledge.path(),
        &[("nomail/tenant.toml", "name = \"No mail\"\n")],
    );
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, stdout, stderr) = askdesk(&["index", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("acme: 1 passages"), "{stdout}");
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("bad.md") && l.contains("front matter")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("nomail/tenant.toml") && l.contains("support_email")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_second_index_run_on_one_data_folder_is_refused_with_a_clear_message() {
    let knowledge = acme_knowledge(&[("good.md", "## Is it good?\nYes.")]);
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    // another run (here: this test) holds the data folder's lock
    let held = std::fs::File::create(data.path().join("index.lock")).unwrap();
    held.try_lock().unwrap();
    let (code, _, stderr) = askdesk(&["index", "--knowledge", k, "--data", d]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("another index run holds") && stderr.contains("index.lock"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("IoError"),
        "{stderr}"
    );
    drop(held);
    let (code, stdout, stderr) = askdesk(&["index", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("acme: 1 passages"), "{stdout}");
}

#[test]
fn a_long_index_run_off_a_terminal_logs_its_progress() {
    let sections: String = (0..520)
        .map(|i| format!("## Question number {i}?\nAnswer number {i} is here.\n\n"))
        .collect();
    let knowledge = acme_knowledge(&[("many.md", sections.as_str())]);
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, _, stderr) = askdesk(&["index", "--knowledge", k, "--data", d]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("embedding: "))
        .collect();
    assert!(lines.len() >= 2, "{stderr}");
    assert!(lines.last().unwrap().ends_with("texts (100%)"), "{lines:?}");
}

#[test]
fn search_prints_json_and_refuses_unknown_tenants() {
    let knowledge = acme_knowledge(&[("faq.md", "## Do you ship abroad?\nYes, to 30 countries.")]);
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, stdout, _) = askdesk(&[
        "search",
        "--knowledge",
        k,
        "--data",
        d,
        "--tenant",
        "acme",
        "--json",
        "international shipping?",
    ]);
    assert_eq!(code, 0);
    let hits: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(hits[0]["id"], "acme/faq#do-you-ship-abroad");
    assert!(hits[0]["dense"]["score"].as_f64().unwrap() > 0.0);

    let (code, stdout, stderr) = askdesk(&[
        "search",
        "--knowledge",
        k,
        "--data",
        d,
        "--tenant",
        "nope",
        "hi",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim(), "error: unknown tenant \"nope\"");
}

#[test]
fn beir_json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[
        ("corpus.jsonl", "{\"_id\":\"d1\",\"title\":\"Delete a Facebook account\",\"text\":\"Go to settings and choose delete.\"}\n{\"_id\":\"d2\",\"title\":\"Strikethrough in GitHub markdown\",\"text\":\"Use ~~tildes~~.\"}\n"),
        ("queries.jsonl", "{\"_id\":\"q1\",\"text\":\"remove my facebook profile\"}\n{\"_id\":\"q2\",\"text\":\"cross out text on github\"}\n"),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"),
    ]);
    let data = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = askdesk(&[
        "beir",
        dir.path().to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "JSON mode stays quiet: {stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in [
        "ndcg_at_10",
        "recall_at_10",
        "mrr_at_10",
        "queries",
        "docs",
        "p50_ms",
        "p99_ms",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["queries"], 2);
    assert_eq!(report["ndcg_at_10"], 1.0);
}

#[test]
fn a_missing_runtime_is_one_clear_line() {
    let knowledge = acme_knowledge(&[("faq.md", "## Q?\nA.")]);
    let out = Command::new(env!("CARGO_BIN_EXE_askdesk"))
        .args([
            "index",
            "--knowledge",
            knowledge.path().to_str().unwrap(),
            "--data",
            knowledge.path().join("data").to_str().unwrap(),
        ])
        .env("ASKDESK_ORT_LIB", "/nowhere/libonnxruntime.so")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("scripts/setup.sh"), "{stderr}");
}

#[test]
fn ask_prints_the_documented_json() {
    let knowledge = acme_knowledge(&[("faq.md", "## Do you ship abroad?\nYes, to 30 countries.")]);
    let data = tempfile::tempdir().unwrap();
    let k = knowledge.path().to_str().unwrap();
    let d = data.path().to_str().unwrap();
    let (code, stdout, stderr) = askdesk(&[
        "ask",
        "--knowledge",
        k,
        "--data",
        d,
        "--tenant",
        "acme",
        "--json",
        "Can you send a parcel to another country?",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["outcome"], "answer");
    assert!(v["reason"].is_null());
    assert!(v["answer"].as_str().unwrap().contains("30 countries"));
    assert!(v["confidence"].as_f64().unwrap() > 0.5);
    assert_eq!(v["citations"][0]["id"], "acme/faq#do-you-ship-abroad");
    assert!(v["citations"][0].get("title").is_some() && v["citations"][0].get("url").is_some());

    let (code, _, stderr) = askdesk(&[
        "ask",
        "--knowledge",
        k,
        "--data",
        d,
        "--tenant",
        "acme",
        "  ",
    ]);
    assert_eq!(code, 1);
    assert_eq!(stderr.trim(), "error: the question is empty");
}
