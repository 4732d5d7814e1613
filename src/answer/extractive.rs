//! The zero-configuration answerer: it quotes the knowledge base and never writes a fact of its
//! own. A short passage (an FAQ answer, a short rule) is quoted whole: it is already written for
//! customers. A longer one is cut to the sentences, list items or steps that answer the
//! question, chosen by their own vectors (computed at index time) and by the question's terms
//! they hold, and kept in document order, so a long page does not bury the one rule asked about.

use serde::{Deserialize, Serialize};

use crate::knowledge::{is_list_item, sentences, Passage};

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
/// Sentences chosen from a longer passage (list items a lead-in introduces come on top).
const MAX_SENTENCES: usize = 3;
/// A sentence is quoted with the best one when its score is within this of the best's: two
/// rules of one answer often sit in neighbouring sentences and score alike.
const SENTENCE_GAP: f32 = 0.05;
/// Weight of the share of the question's terms a sentence holds, next to its cosine: the
/// cosine says what it is about, the terms catch the exact name or setting asked about.
const TERM_WEIGHT: f32 = 0.25;
/// A quote of one sentence shorter than this ("No.", "Yes, you can.") takes the sentence after
/// it too.
const MIN_QUOTE_CHARS: usize = 80;
/// List items quoted after a chosen lead-in sentence ("You can:").
const MAX_LEAD_IN_ITEMS: usize = 8;

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

/// The part of `passage` that answers the question, and the score of its best sentence (the
/// passage's own relevance when it is quoted whole). `terms` analyses text into index terms
/// (stemmed, stop words removed), as the BM25 index does; `cosines` are the question's cosines
/// with the passage's sentence vectors, aligned with [`Passage::embedded_sentences`] (empty
/// when it has none).
pub fn quote(
    passage: &Passage,
    question: &str,
    terms: &dyn Fn(&str) -> Vec<String>,
    cosines: &[f32],
) -> String {
    let text = passage.text.trim();
    if text.chars().count() <= QUOTE_WHOLE_CHARS {
        return text.to_string();
    }
    let all = sentences(text);
    let scores = sentence_scores(passage, &all, question, terms, cosines);
    let keep = chosen(&all, &scores);
    join(&all, &keep)
}

/// Each sentence's score: its cosine with the question (when it has a vector) plus the share
/// of the question's terms it holds.
fn sentence_scores(
    passage: &Passage,
    all: &[&str],
    question: &str,
    terms: &dyn Fn(&str) -> Vec<String>,
    cosines: &[f32],
) -> Vec<f32> {
    let embedded = passage.embedded_sentences();
    let mut cosine: Vec<Option<f32>> = vec![None; all.len()];
    if cosines.len() == embedded.len() {
        let mut next = embedded.iter().zip(cosines).peekable();
        for (i, sentence) in all.iter().enumerate() {
            if let Some((_, c)) = next.next_if(|(e, _)| **e == *sentence) {
                cosine[i] = Some(*c);
            }
        }
    }
    // a sentence without a vector (a short fragment) competes on its terms and the lowest cosine
    let floor = cosine
        .iter()
        .flatten()
        .copied()
        .reduce(f32::min)
        .unwrap_or(0.0);
    let mut wanted = terms(question);
    wanted.sort();
    wanted.dedup();
    all.iter()
        .zip(&cosine)
        .map(|(sentence, c)| {
            let found = terms(sentence);
            let share = if wanted.is_empty() {
                0.0
            } else {
                wanted.iter().filter(|t| found.contains(t)).count() as f32 / wanted.len() as f32
            };
            c.unwrap_or(floor) + TERM_WEIGHT * share
        })
        .collect()
}

/// Indices of the sentences to quote, in document order: the best, those within
/// [`SENTENCE_GAP`] of it, the items a chosen lead-in introduces, and the next sentence of a
/// quote too short to stand alone.
fn chosen(all: &[&str], scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let Some(&best) = order.first() else {
        return Vec::new();
    };
    let mut keep: Vec<usize> = order
        .iter()
        .copied()
        .take(MAX_SENTENCES)
        .filter(|&i| scores[i] >= scores[best] - SENTENCE_GAP)
        .collect();
    for i in keep.clone() {
        if all[i].trim_end().ends_with(':') {
            keep.extend(
                (i + 1..all.len())
                    .take_while(|&j| is_list_item(all[j]))
                    .take(MAX_LEAD_IN_ITEMS),
            );
        }
    }
    keep.sort_unstable();
    keep.dedup();
    if let [only] = keep[..] {
        if all[only].chars().count() < MIN_QUOTE_CHARS && only + 1 < all.len() {
            keep.push(only + 1);
        }
    }
    keep
}

/// The chosen sentences as one quote: sentences of one paragraph joined by a space, list
/// items and rows one a line, a gap between non-adjacent sentences marked by a line break.
fn join(all: &[&str], keep: &[usize]) -> String {
    let mut out = String::new();
    for (n, &i) in keep.iter().enumerate() {
        if n > 0 {
            let adjacent = keep[n - 1] + 1 == i;
            let inline = adjacent && !is_list_item(all[i]) && !is_list_item(all[i - 1]);
            out.push_str(if inline { " " } else { "\n" });
        }
        out.push_str(all[i]);
    }
    out
}

/// One quoted passage as the answer shows it: where it comes from, the quote, and the link to
/// read the rest.
pub struct Quoted<'a> {
    pub heading: &'a str,
    pub text: &'a str,
    pub url: Option<&'a str>,
}

/// The answer text: the only words the bot writes are the lead-in; each quote stands under its
/// passage's heading, with the link to the whole article, one source a paragraph.
pub fn compose(brand: &str, quotes: &[Quoted]) -> String {
    let mut out = format!("Here is what the {brand} help center says:");
    for q in quotes {
        out.push_str("\n\n");
        if !q.heading.is_empty() {
            out.push_str(q.heading);
            out.push('\n');
        }
        // a blank line separates one source from the next, so none inside a quote
        let lines: Vec<&str> = q.text.lines().filter(|l| !l.trim().is_empty()).collect();
        out.push_str(&lines.join("\n"));
        if let Some(url) = q.url {
            out.push_str("\nRead more: ");
            out.push_str(url);
        }
    }
    out
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
    fn short_answers_are_quoted_whole() {
        let p = passage(
            Some("Can I get a refund?"),
            "Refunds within 14 days. Ask support.",
        );
        assert_eq!(quote(&p, "refund?", &words, &[]), p.text.trim());
    }

    fn long_passage() -> Passage {
        let filler = "Our team reviews every request carefully and fairly. ".repeat(8);
        passage(
            None,
            &format!("Upgrades apply immediately. {filler}Downgrades apply at the end of the billing period."),
        )
    }

    #[test]
    fn long_passages_are_cut_to_the_best_sentences_in_order() {
        let p = long_passage();
        let q = quote(&p, "when do downgrades and upgrades apply", &words, &[]);
        assert_eq!(
            q,
            "Upgrades apply immediately.\nDowngrades apply at the end of the billing period."
        );
    }

    #[test]
    fn sentence_vectors_choose_what_the_terms_cannot() {
        let p = long_passage();
        let n = p.embedded_sentences().len();
        assert!(n > 2);
        // the question shares no term with any sentence; the last sentence's vector is closest
        let mut cosines = vec![0.1; n];
        cosines[n - 1] = 0.8;
        let q = quote(&p, "xyz", &words, &cosines);
        assert!(q.starts_with("Downgrades apply"), "{q}");
        assert!(!q.contains("Upgrades"), "{q}");
    }

    #[test]
    fn a_lead_in_brings_its_list_and_a_short_answer_its_next_sentence() {
        let filler = "This page explains the options we offer in some detail. ".repeat(6);
        let p = passage(
            None,
            &format!("{filler}\n\nYou can pay with:\n- a credit card\n- a bank transfer\n\nCash is not accepted. Ask about invoices instead."),
        );
        let q = quote(&p, "paying with which methods", &words, &[]);
        assert_eq!(q, "You can pay with:\n- a credit card\n- a bank transfer");
        let q = quote(&p, "cash accepted", &words, &[]);
        assert_eq!(q, "Cash is not accepted. Ask about invoices instead.");
    }

    #[test]
    fn answers_put_each_quote_under_its_heading_with_its_link() {
        let text = compose(
            "Acme",
            &[Quoted {
                heading: "Billing › Refunds",
                text: "Within 7 days.",
                url: Some("https://acme.test/refunds"),
            }],
        );
        assert_eq!(
            text,
            "Here is what the Acme help center says:\n\nBilling › Refunds\nWithin 7 days.\nRead more: https://acme.test/refunds"
        );
    }

    #[test]
    fn snippets_are_truncated_at_a_word() {
        let c = Citation::new(&passage(None, "x"), &"word ".repeat(100));
        assert!(c.snippet.chars().count() <= 301 && c.snippet.ends_with("word…"));
    }
}
