//! The zero-configuration answerer: it quotes the knowledge base and never writes a fact of its
//! own. An FAQ passage is quoted whole (its answer is already written for customers); a policy or
//! page passage is cut to the sentences that share the most terms with the question, in their
//! original order, so a long policy does not bury the relevant rule.

use serde::{Deserialize, Serialize};

use crate::knowledge::{sentences, Passage};

/// A passage the answer relies on, as shown to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Citation {
    pub id: String,
    pub title: String,
    pub url: Option<String>,
    /// The quoted text (at most ~300 characters).
    pub snippet: String,
}

/// Passages up to this long are quoted whole.
const QUOTE_WHOLE_CHARS: usize = crate::knowledge::LONG_PASSAGE_CHARS;
/// Sentences kept from a longer passage.
const MAX_SENTENCES: usize = 3;

impl Citation {
    pub fn new(passage: &Passage, quoted: &str) -> Self {
        Self {
            id: passage.id.clone(),
            title: passage.title(),
            url: passage.url.clone(),
            snippet: truncate(quoted, 300),
        }
    }
}

/// The part of `passage` that answers the question. `terms` analyses text into index terms
/// (stemmed, stop words removed), the same way the BM25 index does.
pub fn quote(passage: &Passage, question: &str, terms: &dyn Fn(&str) -> Vec<String>) -> String {
    let text = passage.text.trim();
    if passage.question.is_some() || text.chars().count() <= QUOTE_WHOLE_CHARS {
        return text.to_string();
    }
    let wanted = terms(question);
    let all = sentences(text);
    let mut scored: Vec<(usize, usize)> = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let found = terms(s);
            (i, wanted.iter().filter(|t| found.contains(t)).count())
        })
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep: Vec<usize> = scored
        .iter()
        .take(MAX_SENTENCES)
        .filter(|(_, score)| *score > 0)
        .map(|(i, _)| *i)
        .collect();
    if keep.is_empty() {
        keep.push(0);
    }
    keep.sort_unstable();
    keep.iter().map(|&i| all[i]).collect::<Vec<_>>().join(" ")
}

/// The answer text: a short lead-in and the quotes, one paragraph each.
pub fn compose(brand: &str, quotes: &[&str]) -> String {
    format!(
        "Here is what the {brand} help center says:\n\n{}",
        quotes.join("\n\n")
    )
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::DocKind;

    fn passage(question: Option<&str>, text: &str) -> Passage {
        Passage {
            id: "t/doc#s".into(),
            tenant: "t".into(),
            heading_path: vec!["Doc".into(), "Section".into()],
            question: question.map(Into::into),
            text: text.into(),
            url: None,
            kind: DocKind::Policy,
            updated: None,
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 3)
            .map(String::from)
            .collect()
    }

    #[test]
    fn faq_answers_are_quoted_whole() {
        let p = passage(
            Some("Can I get a refund?"),
            &"Refunds within 14 days. ".repeat(30),
        );
        assert_eq!(quote(&p, "refund?", &words), p.text.trim());
    }

    #[test]
    fn long_policies_are_cut_to_matching_sentences_in_order() {
        let filler = "Our team reviews every request carefully. ".repeat(12);
        let text = format!("Upgrades apply immediately. {filler}Downgrades apply at the end of the billing period.");
        let p = passage(None, &text);
        let q = quote(&p, "when do downgrades and upgrades apply", &words);
        assert_eq!(
            q,
            "Upgrades apply immediately. Downgrades apply at the end of the billing period."
        );
    }

    #[test]
    fn snippets_are_truncated_at_a_word() {
        let c = Citation::new(&passage(None, "x"), &"word ".repeat(100));
        assert!(c.snippet.chars().count() <= 301 && c.snippet.ends_with("word…"));
    }
}
