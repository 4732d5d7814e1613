//! The zero-configuration answerer: it quotes the knowledge base and never writes a fact of its
//! own. A short passage (an FAQ answer, a short rule) is quoted whole: it is already written for
//! customers. A longer one is cut to the sentences, list items or steps that answer the
//! question, chosen by their own vectors (computed at index time) and by the question's terms
//! they hold, and kept in document order, so a long page does not bury the one rule asked about.
//! The parts are chosen across the best few retrieved passages, not only the first: the rule
//! asked about is often in the runner-up section of the same page.

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
/// Parts quoted in all, across the sources (list items a lead-in introduces come on top).
const MAX_SENTENCES: usize = 3;
/// A part is quoted with the best one when its score is within this of the best's: two rules
/// of one answer often sit in neighbouring sentences or sections and score alike.
const SENTENCE_GAP: f32 = 0.1;
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

/// A retrieved passage an answer may quote, with the question's cosines.
pub struct Source<'a> {
    pub passage: &'a Passage,
    /// The passage's fused retrieval score (its rank among the sources).
    pub score: f32,
    /// The question's cosine with the whole passage.
    pub passage_cosine: f32,
    /// The question's cosines with the passage's sentence vectors, aligned with
    /// [`Passage::embedded_sentences`] (empty when it has none).
    pub sentence_cosines: &'a [f32],
}

/// What an answer quotes: per source (by index into the sources), its quote; and the best
/// cosine among the quoted parts, an answerability signal.
pub struct Selection {
    pub quotes: Vec<(usize, String)>,
    pub best_cosine: f32,
}

/// The sources an answer may quote from: the retrieval's best few.
pub const MAX_SOURCES: usize = 3;
/// A quoted part's score loses this much per unit of fused score its passage trails the top
/// passage by: retrieval's ranking (BM25 and dense together) is the better judge of which
/// passage is about the question; the sentence scores decide what inside them answers.
const RANK_WEIGHT: f32 = 2.0;
/// The quotes stop growing past this many characters (the first part is quoted whatever its
/// length), so three long parts do not make a page of text: the link gives the rest.
const QUOTE_BUDGET_CHARS: usize = 800;

/// The parts of the sources that answer the question: each short passage is one part (quoted
/// whole), each sentence or list item of a long one another. Parts are scored by their cosine
/// with the question, the share of the question's terms they hold and their passage's rank;
/// the best is quoted, with the next best within [`SENTENCE_GAP`] while they fit in
/// [`QUOTE_BUDGET_CHARS`]; each passage's quote keeps document order. `terms` analyses text
/// into index terms (stemmed, stop words removed), as the BM25 index does.
pub fn select(
    sources: &[Source],
    question: &str,
    terms: &dyn Fn(&str) -> Vec<String>,
) -> Selection {
    let mut wanted = terms(question);
    wanted.sort();
    wanted.dedup();
    let share = |text: &str| {
        if wanted.is_empty() {
            return 0.0;
        }
        let found = terms(text);
        wanted.iter().filter(|t| found.contains(t)).count() as f32 / wanted.len() as f32
    };
    let top = sources.first().map_or(0.0, |s| s.score);
    let mut parts: Vec<Part> = Vec::new();
    let mut split: Vec<Vec<&str>> = Vec::new();
    for (i, source) in sources.iter().take(MAX_SOURCES).enumerate() {
        let text = source.passage.text.trim();
        let rank = RANK_WEIGHT * (source.score - top);
        if text.chars().count() <= QUOTE_WHOLE_CHARS {
            split.push(vec![text]);
            parts.push(Part::new(
                i,
                0,
                source.passage_cosine,
                share(text),
                rank,
                text,
            ));
            continue;
        }
        let all = sentences(text);
        for (j, cosine) in sentence_cosines(source, &all).into_iter().enumerate() {
            parts.push(Part::new(i, j, cosine, share(all[j]), rank, all[j]));
        }
        split.push(all);
    }
    parts.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order().cmp(&b.order())));
    let Some(best) = parts.first() else {
        return Selection {
            quotes: Vec::new(),
            best_cosine: 0.0,
        };
    };
    let (floor, mut used, mut kept) = (best.score - SENTENCE_GAP, 0, 0);
    let mut keep: Vec<Vec<usize>> = vec![Vec::new(); split.len()];
    let mut best_cosine = f32::MIN;
    for part in &parts {
        let fits = kept == 0 || (part.score >= floor && used + part.chars <= QUOTE_BUDGET_CHARS);
        if kept >= MAX_SENTENCES || !fits {
            continue;
        }
        kept += 1;
        used += part.chars;
        best_cosine = best_cosine.max(part.cosine);
        keep[part.source].push(part.sentence);
    }
    let quotes = keep
        .into_iter()
        .enumerate()
        .filter(|(_, k)| !k.is_empty())
        .map(|(i, k)| (i, join(&split[i], &completed(&split[i], k))))
        .collect();
    Selection {
        quotes,
        best_cosine,
    }
}

/// A part of a source that may be quoted: a short passage whole, or one sentence of a long one.
struct Part {
    source: usize,
    sentence: usize,
    cosine: f32,
    score: f32,
    chars: usize,
}

impl Part {
    fn new(source: usize, sentence: usize, cosine: f32, share: f32, rank: f32, text: &str) -> Self {
        Self {
            source,
            sentence,
            cosine,
            score: cosine + TERM_WEIGHT * share + rank,
            chars: text.chars().count(),
        }
    }

    fn order(&self) -> (usize, usize) {
        (self.source, self.sentence)
    }
}

/// Each sentence's cosine with the question, from the passage's sentence vectors; a sentence
/// without a vector (a short fragment) gets the passage's lowest sentence cosine, to compete on
/// its terms.
fn sentence_cosines(source: &Source, all: &[&str]) -> Vec<f32> {
    let embedded = source.passage.embedded_sentences();
    let mut cosine: Vec<Option<f32>> = vec![None; all.len()];
    if source.sentence_cosines.len() == embedded.len() {
        let mut next = embedded.iter().zip(source.sentence_cosines).peekable();
        for (i, sentence) in all.iter().enumerate() {
            if let Some((_, c)) = next.next_if(|(e, _)| **e == *sentence) {
                cosine[i] = Some(*c);
            }
        }
    }
    let floor = cosine
        .iter()
        .flatten()
        .copied()
        .reduce(f32::min)
        .unwrap_or(source.passage_cosine);
    cosine.into_iter().map(|c| c.unwrap_or(floor)).collect()
}

/// The chosen sentences of one passage, in document order, completed: a chosen lead-in
/// ("You can:") brings the list items it introduces, and a quote of one sentence too short to
/// stand alone ("No.") the sentence after it.
fn completed(all: &[&str], mut keep: Vec<usize>) -> Vec<usize> {
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

    /// The quote `select` makes from `p` alone.
    fn quote(
        p: &Passage,
        question: &str,
        words: &dyn Fn(&str) -> Vec<String>,
        cosines: &[f32],
    ) -> String {
        let source = Source {
            passage: p,
            score: 1.0,
            passage_cosine: 0.5,
            sentence_cosines: cosines,
        };
        let mut selection = select(&[source], question, words);
        assert!(selection.quotes.len() == 1 && selection.quotes[0].0 == 0);
        selection.quotes.remove(0).1
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
        // the filler is about nothing asked; the lead-in and the cash rule are close to the questions
        let close_to = |needle: &str| -> Vec<f32> {
            p.embedded_sentences()
                .iter()
                .map(|s| if s.contains(needle) { 0.6 } else { 0.2 })
                .collect()
        };
        let q = quote(
            &p,
            "paying with which methods",
            &words,
            &close_to("pay with"),
        );
        assert_eq!(q, "You can pay with:\n- a credit card\n- a bank transfer");
        let q = quote(&p, "cash accepted", &words, &close_to("Cash"));
        assert_eq!(q, "Cash is not accepted. Ask about invoices instead.");
    }

    #[test]
    fn the_answering_sentence_is_found_in_a_runner_up_passage() {
        let first = long_passage();
        let second = passage(None, "Refunds are paid back to the card within 5 days.");
        let n = first.embedded_sentences().len();
        let cosines = vec![0.3; n];
        let sources = [
            Source {
                passage: &first,
                score: 0.60,
                passage_cosine: 0.4,
                sentence_cosines: &cosines,
            },
            Source {
                passage: &second,
                score: 0.58,
                passage_cosine: 0.7,
                sentence_cosines: &[],
            },
        ];
        let selection = select(&sources, "when are refunds paid back", &words);
        let quoted: Vec<usize> = selection.quotes.iter().map(|(i, _)| *i).collect();
        assert_eq!(quoted, vec![1], "{:?}", selection.quotes);
        assert_eq!(selection.quotes[0].1, second.text);
        assert!((selection.best_cosine - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_runner_up_trailing_far_behind_is_not_quoted() {
        let first = passage(None, "Refunds are possible within 14 days of purchase.");
        let second = passage(None, "Refunds are paid back to the card within 5 days.");
        let sources = [
            Source {
                passage: &first,
                score: 0.70,
                passage_cosine: 0.6,
                sentence_cosines: &[],
            },
            Source {
                passage: &second,
                score: 0.40,
                passage_cosine: 0.65,
                sentence_cosines: &[],
            },
        ];
        let selection = select(&sources, "refunds", &words);
        assert_eq!(selection.quotes.len(), 1);
        assert_eq!(selection.quotes[0].0, 0);
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
