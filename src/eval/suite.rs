//! Eval suites: YAML files under `evals/` in the format support leads write (see the README).
//! Every problem (unknown key, duplicate id, missing tenant, malformed YAML) is reported with its
//! file and line before any case runs.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::answer::{validate_history, Outcome, Turn};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub outcome: Outcome,
    #[serde(default)]
    pub facts: Vec<String>,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub forbid: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub history: Vec<Turn>,
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    tenant: String,
    cases: Vec<Case>,
}

/// One loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub path: PathBuf,
    pub tenant: String,
    pub cases: Vec<Case>,
}

/// Unusable input: the message names the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SuiteError(pub String);

/// Loads suite files; a folder means every `.yaml`/`.yml` file in it (sorted).
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, SuiteError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| SuiteError(format!("{}: {e}", path.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(SuiteError("no suite files given".into()));
    }
    files.iter().map(|f| load_suite(f)).collect()
}

pub fn load_suite(path: &Path) -> Result<Suite, SuiteError> {
    let raw = std::fs::read_to_string(path)
        .map_err(|e| SuiteError(format!("{}: {e}", path.display())))?;
    parse_suite(path, &raw)
}

/// Parses a suite's text; `path` is only used in messages.
pub fn parse_suite(path: &Path, raw: &str) -> Result<Suite, SuiteError> {
    let at = |line: Option<usize>, message: String| {
        SuiteError(match line {
            Some(line) => format!("{}:{line}: {message}", path.display()),
            None => format!("{}: {message}", path.display()),
        })
    };
    if let Some(line) = raw.lines().position(|l| {
        l.trim_start()
            .strip_prefix("outcome:")
            .is_some_and(|v| v.trim_start().starts_with("TODO"))
    }) {
        // A draft from `askdesk eval draft`: say what to do rather than "unknown variant".
        return Err(at(
            Some(line + 1),
            "`outcome` is still TODO: decide whether this case should be answered or \
             escalated (`outcome: answer` or `outcome: escalate`)"
                .into(),
        ));
    }
    let file: SuiteFile = serde_yaml::from_str(raw).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let message = e.to_string();
        // serde_yaml appends " at line N column M"; the line is already in front.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        at(line, message)
    })?;
    if file.tenant.trim().is_empty() {
        return Err(at(line_of(raw, "tenant", None), "`tenant` is empty".into()));
    }
    let mut seen: Vec<&str> = Vec::new();
    for case in &file.cases {
        let line = line_of(raw, "id", Some(&case.id));
        if case.id.trim().is_empty() {
            return Err(at(line, "a case has an empty `id`".into()));
        }
        if seen.contains(&case.id.as_str()) {
            let second = nth_line_of(raw, "id", &case.id, 2);
            return Err(at(second, format!("duplicate case id {:?}", case.id)));
        }
        seen.push(&case.id);
        if case.question.trim().is_empty() {
            return Err(at(
                line,
                format!("case {:?} has an empty question", case.id),
            ));
        }
        validate_history(&case.history)
            .map_err(|e| at(line, format!("case {:?}: {e}", case.id)))?;
    }
    Ok(Suite {
        path: path.to_path_buf(),
        tenant: file.tenant,
        cases: file.cases,
    })
}

/// Line (1-based) of the first `key: value` line, for messages.
fn line_of(raw: &str, key: &str, value: Option<&str>) -> Option<usize> {
    match value {
        Some(v) => nth_line_of(raw, key, v, 1),
        None => raw
            .lines()
            .position(|l| {
                l.trim_start()
                    .trim_start_matches("- ")
                    .starts_with(&format!("{key}:"))
            })
            .map(|i| i + 1),
    }
}

fn nth_line_of(raw: &str, key: &str, value: &str, n: usize) -> Option<usize> {
    raw.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim();
            l.strip_prefix(&format!("{key}:"))
                .is_some_and(|rest| rest.trim().trim_matches(|c| c == '"' || c == '\'') == value)
        })
        .nth(n - 1)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Suite, SuiteError> {
        parse_suite(Path::new("evals/x.yaml"), raw)
    }

    const GOOD: &str = "tenant: acme\ncases:\n  - id: a\n    question: \"Q?\"\n    expect:\n      outcome: answer\n      facts: [\"7 days\"]\n";

    #[test]
    fn loads_a_suite() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.tenant, "acme");
        assert_eq!(s.cases[0].expect.facts, vec!["7 days"]);
        assert_eq!(s.cases[0].expect.outcome, Outcome::Answer);
    }

    #[test]
    fn unknown_keys_name_file_and_line() {
        let raw = GOOD.replace("      facts:", "      fact:");
        let e = parse(&raw).unwrap_err().to_string();
        assert!(e.starts_with("evals/x.yaml:7:"), "{e}");
        assert!(e.contains("unknown field `fact`"), "{e}");
    }

    #[test]
    fn duplicate_ids_point_at_the_second() {
        let raw = format!(
            "{GOOD}  - id: a\n    question: \"Other?\"\n    expect:\n      outcome: escalate\n"
        );
        let e = parse(&raw).unwrap_err().to_string();
        assert_eq!(e, "evals/x.yaml:8: duplicate case id \"a\"");
    }

    #[test]
    fn missing_tenant_outcome_and_bad_yaml() {
        let e = parse("cases: []\n").unwrap_err().to_string();
        assert!(e.contains("missing field `tenant`"), "{e}");
        let e = parse(&GOOD.replace("      outcome: answer\n", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `outcome`"), "{e}");
        let e = parse("tenant: [unclosed\n").unwrap_err().to_string();
        assert!(e.starts_with("evals/x.yaml:"), "{e}");
        let e = parse(&GOOD.replace("outcome: answer", "outcome: maybe"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("evals/x.yaml:6:") && e.contains("unknown variant `maybe`"),
            "{e}"
        );
    }

    #[test]
    fn bad_history_is_refused() {
        let raw = GOOD.replace(
            "    expect:",
            "    history:\n      - {role: assistant, content: \"hi\"}\n    expect:",
        );
        let e = parse(&raw).unwrap_err().to_string();
        assert!(
            e.contains("evals/x.yaml:3:") && e.contains("should be from the user"),
            "{e}"
        );
    }
}
