//! Deterministic follow-up rewriting, used when no LLM is configured: a question that only makes
//! sense with the conversation ("and what about credit packs?", "how do I do that?") is searched
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

#[cfg(test)]
mod tests {
    use super::*;

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
            standalone_question("and what about credit packs?", &h),
            "Can I get a refund on my subscription? and what about credit packs?"
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
