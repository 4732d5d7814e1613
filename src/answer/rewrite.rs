//! Deterministic follow-up rewriting, used when no LLM is configured: a question that only makes
//! sense with the conversation ("and what about gift cards?", "how do I do that?") is searched
//! together with the customer's previous question, which carries the missing subject.

use super::policy::words;
use super::request::{Role, Turn};

const OPENERS: [&str; 12] = [
    "and",
    "but",
    "also",
    "so",
    "then",
    "ok",
    "okay",
    "what about",
    "how about",
    "what if",
    "same for",
    "and if",
];
const PRONOUNS: [&str; 10] = [
    "it", "that", "this", "those", "these", "they", "them", "there", "one", "ones",
];

/// True when the question leans on earlier turns.
pub fn is_follow_up(question: &str) -> bool {
    let w = words(question);
    if w.is_empty() {
        return false;
    }
    let joined = w.join(" ");
    let opens = OPENERS
        .iter()
        .any(|o| joined == *o || joined.starts_with(&format!("{o} ")));
    let short_with_pronoun = w.len() <= 8 && w.iter().any(|x| PRONOUNS.contains(&x.as_str()));
    opens || short_with_pronoun || w.len() <= 2
}

/// The question to search with: the question itself, or for a follow-up, the previous user
/// question followed by this one.
pub fn standalone_question(question: &str, history: &[Turn]) -> String {
    let previous = history
        .iter()
        .rev()
        .find(|t| t.role == Role::User)
        .map(|t| t.content.trim());
    match previous {
        Some(previous) if is_follow_up(question) => format!("{previous} {question}"),
        _ => question.to_string(),
    }
}

/// How a customer names the brand's support people in chat, longest first, and the words its
/// help center uses for them. "How do I reach you?" means "How do I reach support?", but "you"
/// means nothing to the knowledge base, which calls its people "support": a casual "how do i
/// reach you" is far in meaning from "How do I contact support?" and close once rewritten.
const ADDRESSING: [(&[&str], &str); 7] = [
    (&["your", "support", "team"], "the support team"),
    (&["your", "team"], "the support team"),
    (&["your", "staff"], "the support team"),
    (&["you", "guys"], "support"),
    (&["you", "all"], "support"),
    (&["y'all"], "support"),
    (&["you"], "support"),
];

/// Verbs of getting in touch (any inflection: "emailing", "reached"). Only after one of them
/// does "you" mean the support team: in "Do you offer a discount for nonprofits?" it means the brand,
/// and searching "support" there would find the contact page instead of nothing.
const CONTACT_VERBS: [&str; 11] = [
    "reach", "contact", "email", "e-mail", "mail", "write", "message", "call", "ping", "send",
    "ask",
];

/// The question as searched: "you" after a verb of getting in touch, and "your team", named as
/// the help center names its support team.
pub fn addressed_to_support(question: &str) -> String {
    let tokens: Vec<(usize, usize)> = word_spans(question);
    let lower: Vec<String> = tokens
        .iter()
        .map(|&(a, b)| question[a..b].to_lowercase().replace('’', "'"))
        .collect();
    let after_contact_verb = |i: usize| {
        let before = match i.checked_sub(1).map(|j| lower[j].as_str()) {
            Some("to" | "with") => i.checked_sub(2).map(|j| lower[j].as_str()),
            other => other,
        };
        before.is_some_and(|w| CONTACT_VERBS.iter().any(|v| w.starts_with(v)))
    };
    let mut out = String::with_capacity(question.len() + 16);
    let (mut copied, mut i) = (0, 0);
    while i < tokens.len() {
        let found = ADDRESSING.iter().find(|(phrase, _)| {
            lower.len() >= i + phrase.len()
                && phrase.iter().zip(&lower[i..]).all(|(p, w)| p == w)
                && (phrase[0] == "your" || after_contact_verb(i))
        });
        match found {
            Some((phrase, replacement)) => {
                out.push_str(&question[copied..tokens[i].0]);
                out.push_str(replacement);
                copied = tokens[i + phrase.len() - 1].1;
                i += phrase.len();
            }
            None => i += 1,
        }
    }
    out.push_str(&question[copied..]);
    out
}

/// Byte ranges of the words of `text` (letters, digits and apostrophes).
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '’';
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_support_team_addressed_as_you_is_searched_as_support() {
        assert_eq!(
            addressed_to_support("yo how can i reach you folks"),
            "yo how can i reach support folks"
        );
        assert_eq!(
            addressed_to_support(
                "What should I send your team before emailing YOU? Or write to y'all?"
            ),
            "What should I send the support team before emailing support? Or write to support?"
        );
        // "you" as the brand, not its support team, and "your" things stay as they are
        assert_eq!(
            addressed_to_support("Thank you! Do you offer refunds? Where is your refund policy?"),
            "Thank you! Do you offer refunds? Where is your refund policy?"
        );
        assert_eq!(addressed_to_support("young youth"), "young youth");
    }

    fn history(user: &str) -> Vec<Turn> {
        vec![
            Turn {
                role: Role::User,
                content: user.into(),
            },
            Turn {
                role: Role::Assistant,
                content: "An answer.".into(),
            },
        ]
    }

    #[test]
    fn follow_ups_borrow_the_previous_question() {
        let h = history("Can I get a refund on my subscription?");
        assert_eq!(
            standalone_question("and what about gift cards?", &h),
            "Can I get a refund on my subscription? and what about gift cards?"
        );
        assert_eq!(
            standalone_question("how do I do that?", &h),
            "Can I get a refund on my subscription? how do I do that?"
        );
    }

    #[test]
    fn complete_questions_stand_alone() {
        let h = history("Can I get a refund?");
        let q = "Which file formats can I upload to my account?";
        assert_eq!(standalone_question(q, &h), q);
        assert_eq!(
            standalone_question("and credit packs?", &[]),
            "and credit packs?"
        );
    }
}
