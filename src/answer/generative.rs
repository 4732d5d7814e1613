//! LLM mode: the model writes the answer from numbered passages and must cite them as [n]. The
//! answer is checked afterwards: citations of passages that were not given are removed, and an
//! answer with no valid citation, or in which the model says the passages do not answer, becomes
//! an escalation (`llm_declined`). Customer text only ever goes in user messages.

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

use super::{Citation, Role, Turn};
use crate::llm::{collect, Llm, LlmConfig, LlmError, Message, Speaker};
use crate::prompts::Prompts;
use crate::retrieve::Hit;

/// The LLM and its templates, as the pipeline uses them.
pub struct Generator {
    pub llm: Arc<dyn Llm>,
    pub prompts: Arc<Prompts>,
    pub first_token_timeout: Duration,
    pub total_timeout: Duration,
}

impl Generator {
    pub fn new(llm: Arc<dyn Llm>, prompts: Arc<Prompts>, config: &LlmConfig) -> Self {
        Self {
            llm,
            prompts,
            first_token_timeout: config.first_token_timeout,
            total_timeout: config.total_timeout,
        }
    }
}

#[derive(Serialize)]
struct PromptPassage<'a> {
    title: String,
    text: &'a str,
}

#[derive(Serialize)]
struct PromptTurn<'a> {
    role: &'static str,
    content: &'a str,
}

fn turns(history: &[Turn]) -> Vec<PromptTurn<'_>> {
    history
        .iter()
        .map(|t| PromptTurn {
            role: if t.role == Role::User {
                "user"
            } else {
                "assistant"
            },
            content: &t.content,
        })
        .collect()
}

/// What the model produced, after the citation check.
#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    Answer {
        text: String,
        citations: Vec<Citation>,
    },
    Declined,
}

impl Generator {
    /// Rewrites a follow-up into a standalone question.
    pub async fn rewrite(&self, question: &str, history: &[Turn]) -> Result<String, LlmError> {
        let prompt = self
            .prompts
            .render(
                "rewrite.j2",
                minijinja::context! { history => turns(history), question => question },
            )
            .map_err(LlmError::Permanent)?;
        let text = collect(
            self.llm.as_ref(),
            vec![Message {
                speaker: Speaker::User,
                content: prompt,
            }],
            self.first_token_timeout,
            self.total_timeout,
            |_| {},
        )
        .await?;
        let text = text.trim().trim_matches('"').trim();
        if text.is_empty() || text.chars().count() > 1000 {
            return Err(LlmError::Permanent("unusable rewrite".into()));
        }
        Ok(text.to_string())
    }

    /// Writes an answer from `hits` and checks its citations.
    pub async fn answer(
        &self,
        brand: &str,
        support_email: &str,
        question: &str,
        history: &[Turn],
        hits: &[Hit],
        on_token: impl FnMut(&str) + Send,
    ) -> Result<Generated, LlmError> {
        let passages: Vec<PromptPassage> = hits
            .iter()
            .map(|h| PromptPassage {
                title: h.passage.title(),
                text: &h.passage.text,
            })
            .collect();
        let system = self
            .prompts
            .render(
                "system.j2",
                minijinja::context! { brand => brand, support_email => support_email },
            )
            .map_err(LlmError::Permanent)?;
        let user = self
            .prompts
            .render(
                "answer.j2",
                minijinja::context! { brand => brand, passages => passages, history => turns(history), question => question },
            )
            .map_err(LlmError::Permanent)?;
        let messages = vec![
            Message {
                speaker: Speaker::System,
                content: system,
            },
            Message {
                speaker: Speaker::User,
                content: user,
            },
        ];
        let text = collect(
            self.llm.as_ref(),
            messages,
            self.first_token_timeout,
            self.total_timeout,
            on_token,
        )
        .await?;
        Ok(check(&text, hits))
    }
}

/// Phrases with which a model says the passages do not answer.
const DECLINES: [&str; 8] = [
    "no_answer",
    "do not answer",
    "don't answer",
    "does not answer",
    "not covered",
    "do not contain",
    "don't contain",
    "no information",
];

/// The citation check: keeps `[n]` markers that point at a given passage, removes the others, and
/// declines an answer that cites nothing valid or says the passages do not answer.
pub fn check(text: &str, hits: &[Hit]) -> Generated {
    let lower = text.to_lowercase();
    if DECLINES.iter().any(|d| lower.contains(d)) {
        return Generated::Declined;
    }
    let (cleaned, cited) = strip_invalid_citations(text, hits.len());
    if cited.is_empty() || cleaned.trim().is_empty() {
        return Generated::Declined;
    }
    let citations = cited
        .iter()
        .map(|&n| {
            let p = &hits[n - 1].passage;
            Citation::new(p, &p.text)
        })
        .collect();
    Generated::Answer {
        text: cleaned.trim().to_string(),
        citations,
    }
}

/// Returns the text without invalid `[n]` markers, and the valid passage numbers in order of
/// first citation.
pub fn strip_invalid_citations(text: &str, passages: usize) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut cited: Vec<usize> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']').filter(|&c| {
            c > 0
                && after[..c]
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || ch == ',' || ch == ' ')
        });
        match close {
            Some(c) => {
                let numbers: Vec<usize> = after[..c]
                    .split([',', ' '])
                    .filter_map(|n| n.parse().ok())
                    .filter(|n| (1..=passages).contains(n))
                    .collect();
                if !numbers.is_empty() {
                    let list: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
                    out.push_str(&format!("[{}]", list.join(", ")));
                }
                for n in numbers {
                    if !cited.contains(&n) {
                        cited.push(n);
                    }
                }
                rest = &after[c + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let cleaned = out.replace(" .", ".").replace("  ", " ");
    (cleaned, cited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{DocKind, Passage};

    fn hits(n: usize) -> Vec<Hit> {
        (1..=n)
            .map(|i| Hit {
                passage: Passage {
                    id: format!("t/doc#p{i}"),
                    tenant: "t".into(),
                    heading_path: vec!["Doc".into()],
                    question: None,
                    text: format!("passage {i}"),
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
            .collect()
    }

    #[test]
    fn invalid_citations_are_removed_and_valid_ones_kept() {
        let (text, cited) = strip_invalid_citations(
            "Refunds within 7 days [1]. Packs never [9]. Both [2, 7].",
            3,
        );
        assert_eq!(text, "Refunds within 7 days [1]. Packs never. Both [2].");
        assert_eq!(cited, vec![1, 2]);
        let (text, cited) = strip_invalid_citations("An [array] stays [x]", 3);
        assert_eq!((text.as_str(), cited.len()), ("An [array] stays [x]", 0));
    }

    #[test]
    fn answers_without_a_valid_citation_or_that_decline_are_escalated() {
        assert_eq!(
            check("Refunds within 7 days.", &hits(2)),
            Generated::Declined
        );
        assert_eq!(
            check("Refunds within 7 days [5].", &hits(2)),
            Generated::Declined
        );
        assert_eq!(check("NO_ANSWER", &hits(2)), Generated::Declined);
        assert_eq!(
            check("The passages do not answer this [1].", &hits(2)),
            Generated::Declined
        );
        match check("Refunds within 7 days [2].", &hits(2)) {
            Generated::Answer { text, citations } => {
                assert_eq!(text, "Refunds within 7 days [2].");
                assert_eq!(citations.len(), 1);
                assert_eq!(citations[0].id, "t/doc#p2");
            }
            other => panic!("{other:?}"),
        }
    }
}
