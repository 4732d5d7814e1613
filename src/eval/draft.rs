//! `askdesk eval draft`: turn what went wrong in real conversations into a draft eval suite.
//! Questions whose answer got a thumbs-down, and questions escalated for low confidence, become
//! cases with their history; the expected outcome is left for the support lead to decide, so
//! the draft is written with `outcome: TODO`, which the suite loader refuses until it is filled
//! in. Each case carries where it came from (the comment, the score) as a YAML comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::answer::{Role, Turn};
use crate::knowledge::slugify;
use crate::store::{Rating, Store, StoreError};

/// Most ratings and most escalations read from the store for one draft: a draft is read by a
/// person, case by case.
const MAX_SOURCES: u32 = 10_000;

/// Longest slug part of a generated case id.
const MAX_SLUG_CHARS: usize = 48;

/// One drafted case: a real question, its history, and why it was picked.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftCase {
    pub question: String,
    pub history: Vec<Turn>,
    /// One line per reason it was picked ("thumbs-down: ...", "low confidence 0.21").
    pub sources: Vec<String>,
    /// When the answer was rated down or escalated (Unix ms); cases are written oldest first.
    pub at: i64,
}

/// The cases of every tenant (or only `tenant`) answered at or after `since` (Unix ms), oldest
/// first. An answer both rated down and escalated is one case with both sources.
pub async fn collect(
    store: &dyn Store,
    since: i64,
    tenant: Option<&str>,
) -> Result<BTreeMap<String, Vec<DraftCase>>, StoreError> {
    // Keyed by the answer's message id, so one answer is one case.
    let mut picked: BTreeMap<String, Picked> = BTreeMap::new();
    for f in store
        .feedback(Some(Rating::Down), tenant, Some(since), MAX_SOURCES)
        .await?
    {
        let source = match f.comment.as_deref().map(str::trim) {
            Some(comment) if !comment.is_empty() => format!("thumbs-down: {comment:?}"),
            _ => "thumbs-down (no comment)".to_string(),
        };
        picked
            .entry(f.message_id)
            .or_insert_with(|| Picked::new(f.tenant, f.conversation_id, f.question, f.created_at))
            .sources
            .push(source);
    }
    for q in store
        .low_confidence_questions(tenant, Some(since), MAX_SOURCES)
        .await?
    {
        let source = format!("escalated: low confidence {:.2}", q.confidence);
        picked
            .entry(q.message_id)
            .or_insert_with(|| Picked::new(q.tenant, q.conversation_id, q.question, q.created_at))
            .sources
            .push(source);
    }
    let mut by_tenant: BTreeMap<String, Vec<DraftCase>> = BTreeMap::new();
    for (answer_id, p) in picked {
        let history = history_before(store, &p.conversation_id, &answer_id).await?;
        by_tenant.entry(p.tenant).or_default().push(DraftCase {
            question: p.question,
            history,
            sources: p.sources,
            at: p.at,
        });
    }
    for cases in by_tenant.values_mut() {
        cases.sort_by_key(|c| c.at);
    }
    Ok(by_tenant)
}

/// An answer picked for the draft, before its history is read.
struct Picked {
    tenant: String,
    conversation_id: String,
    question: String,
    at: i64,
    sources: Vec<String>,
}

impl Picked {
    fn new(tenant: String, conversation_id: String, question: String, at: i64) -> Self {
        Self {
            tenant,
            conversation_id,
            question,
            at,
            sources: Vec::new(),
        }
    }
}

/// The turns before the question that `answer_id` answered.
async fn history_before(
    store: &dyn Store,
    conversation_id: &str,
    answer_id: &str,
) -> Result<Vec<Turn>, StoreError> {
    let messages = store.messages(conversation_id).await?;
    let answer_at = messages
        .iter()
        .position(|m| m.id == answer_id)
        .unwrap_or(messages.len());
    // The question is the user turn just before the answer; the history is what precedes it.
    let question_at = messages[..answer_at]
        .iter()
        .rposition(|m| m.role == Role::User)
        .unwrap_or(0);
    Ok(messages[..question_at]
        .iter()
        .map(|m| Turn {
            role: m.role,
            content: m.content.clone(),
        })
        .collect())
}

/// One tenant's draft suite in the eval YAML format, with `outcome: TODO` in every case.
pub fn render(tenant: &str, since: &str, cases: &[DraftCase]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft eval suite for {tenant}: questions from conversations since {since} that got a\n\
         # thumbs-down or were escalated for low confidence (askdesk eval draft).\n\
         # Decide each case's `outcome` (answer or escalate) and add facts, sources or forbid as\n\
         # needed: the suite loader refuses this file while an outcome is TODO."
    );
    let _ = writeln!(out, "tenant: {}", quoted(tenant));
    let _ = writeln!(out, "cases:");
    for (i, case) in cases.iter().enumerate() {
        for source in &case.sources {
            let _ = writeln!(out, "  # {}", one_line(source));
        }
        let _ = writeln!(out, "  - id: {}", quoted(&case_id(&case.question, i + 1)));
        let _ = writeln!(out, "    question: {}", quoted(&case.question));
        if !case.history.is_empty() {
            let _ = writeln!(out, "    history:");
            for turn in &case.history {
                let role = match turn.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                let _ = writeln!(
                    out,
                    "      - {{role: {role}, content: {}}}",
                    quoted(&turn.content)
                );
            }
        }
        let _ = writeln!(out, "    expect:\n      outcome: TODO  # answer | escalate");
    }
    out
}

/// `<slug of the question>-<n>`: readable, and unique within the file through the counter.
fn case_id(question: &str, n: usize) -> String {
    let slug: String = slugify(question).chars().take(MAX_SLUG_CHARS).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("case-{n}")
    } else {
        format!("{slug}-{n}")
    }
}

/// A YAML double-quoted scalar holding exactly `text`. JSON string syntax is valid YAML; the
/// characters YAML reads as line breaks inside quotes but JSON leaves raw are escaped too.
fn quoted(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap_or_default()
        .replace('\u{85}', "\\N")
        .replace('\u{2028}', "\\L")
        .replace('\u{2029}', "\\P")
}

/// Text safe inside a one-line YAML comment: line breaks and control characters become spaces,
/// so customer text can never end the comment and become YAML.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Midnight UTC of a `YYYY-MM-DD` date, in Unix milliseconds.
pub fn parse_date(date: &str) -> Result<i64, String> {
    let invalid = || format!("{date:?} is not a date: use YYYY-MM-DD");
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(invalid());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(invalid());
    }
    let number = |s: &str| s.parse::<i64>().map_err(|_| invalid());
    let (year, month, day) = (number(y)?, number(m)?, number(d)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] {
        return Err(invalid());
    }
    Ok(days_from_civil(year, month, day) * 86_400_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Outcome;
    use std::path::Path;

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2026-11-22"), Ok(1_795_305_600_000));
        assert_eq!(parse_date("2024-02-29"), Ok(1_709_164_800_000));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "2026-11-22T00",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tricky_text_round_trips_through_the_yaml() {
        let question = "What's \"Pro\"? #1: costs\u{2028}more\nthan: - [x]";
        let cases = [DraftCase {
            question: question.into(),
            history: vec![
                Turn {
                    role: Role::User,
                    content: "hi: there # not a comment".into(),
                },
                Turn {
                    role: Role::Assistant,
                    content: "{braces} and 'quotes'".into(),
                },
            ],
            sources: vec!["thumbs-down: \"nope\nescalate: true\"".into()],
            at: 0,
        }];
        let draft = render("acme", "2026-11-01", &cases);
        let err = crate::eval::parse_suite(Path::new("d.yaml"), &draft)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d.yaml:14: `outcome` is still TODO: decide"),
            "{err}"
        );
        let filled = draft.replace("outcome: TODO", "outcome: answer");
        let suite = crate::eval::parse_suite(Path::new("d.yaml"), &filled).unwrap();
        assert_eq!(suite.tenant, "acme");
        assert_eq!(suite.cases.len(), 1);
        assert_eq!(suite.cases[0].question, question);
        assert_eq!(suite.cases[0].history, cases[0].history);
        assert_eq!(suite.cases[0].expect.outcome, Outcome::Answer);
        assert!(
            suite.cases[0].id.starts_with("what-s-pro-1-costs"),
            "{}",
            suite.cases[0].id
        );
    }

    #[test]
    fn case_ids_are_slugs_with_a_counter() {
        assert_eq!(
            case_id("How do I get a refund?", 3),
            "how-do-i-get-a-refund-3"
        );
        assert_eq!(case_id("???", 2), "case-2");
        assert!(case_id(&"long words ".repeat(20), 1).len() <= MAX_SLUG_CHARS + 2);
    }
}
