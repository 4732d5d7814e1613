//! Two signals of the answerability model (`confidence.rs`) that similarity alone cannot see:
//!
//! - the question **names something the knowledge base never mentions** (a payment provider, a
//!   sign-in provider, a product): passages about payments or sign-in are close in meaning, but
//!   whatever they say, they say nothing about that name;
//! - the question **asks for an amount** (a price, a size, a duration, a count) and the quotes
//!   state none: quoting them would look like an answer and is not one.
//!
//! Neither decides alone: each is one input of the fitted model, weighed with the others.

use super::policy::{matches_any, words};

/// Capitalised words that are not names of things a help center would document.
const CALENDAR_WORDS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Capitalised words and acronyms a customer uses for names in what they ask (the sentences
/// ending in "?", or the whole text when none does: "I'm in Singapore" is context, not the
/// question), with the brand's own words, sentence-initial words (a capital there says
/// nothing), days and months left out. "I" is never a name.
pub fn names(question: &str, brand: &str) -> Vec<String> {
    let brand_words = words(brand);
    let mut out = Vec::new();
    for sentence in asking_sentences(question) {
        names_in(sentence, &brand_words, &mut out);
    }
    out
}

/// The sentences of `text` that end in "?", or all of it when none does.
fn asking_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let end = i + c.len_utf8();
            if c == '?' {
                sentences.push(&text[start..end]);
            }
            start = end;
        }
    }
    if sentences.is_empty() {
        sentences.push(text);
    }
    sentences
}

fn names_in(sentence: &str, brand_words: &[String], out: &mut Vec<String>) {
    let mut sentence_start = true;
    for raw in sentence.split_whitespace() {
        let token: String = raw.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
        let starts_sentence = sentence_start;
        sentence_start = raw.ends_with(['.', '!', '?', ':']);
        let Some(first) = token.chars().next() else {
            continue;
        };
        let acronym = token.chars().count() >= 2 && token.chars().all(|c| c.is_ascii_uppercase());
        let capitalised = first.is_uppercase() && !starts_sentence;
        if !(acronym || capitalised) || token == "I" || token.contains('\'') {
            continue;
        }
        let lower = token.to_lowercase();
        if brand_words.contains(&lower)
            || CALENDAR_WORDS.contains(&lower.as_str())
            || out.contains(&token)
        {
            continue;
        }
        out.push(token);
    }
}

/// Question openings that ask for an amount: a price, a size, a duration, a count.
const AMOUNT_QUESTIONS: &[&str] = &[
    "how much",
    "how many",
    "how big",
    "how large",
    "how long",
    "how often",
    "how soon",
    "what is the price",
    "what's the price",
    "what is the cost",
    "what's the cost",
    "what is the fee",
    "what's the fee",
    "what is the limit",
    "what's the limit",
    "what is the maximum",
    "what's the maximum",
    "what is the max",
    "what's the max",
    "what is the minimum",
    "what's the minimum",
    "what are the limits",
    "what are the prices",
    "what are the fees",
];

/// True when the question asks for an amount (see [`AMOUNT_QUESTIONS`]).
pub fn asks_for_amount(question: &str) -> bool {
    matches_any(&words(question), AMOUNT_QUESTIONS)
}

/// Words that state an amount without a digit.
const AMOUNT_WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
    "thousand",
    "million",
    "dozen",
    "half",
    "couple",
    "few",
    "several",
    "no",
    "none",
    "free",
    "unlimited",
    "immediately",
    "instantly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "annually",
    "once",
    "twice",
];

/// Words of a question about prices, and of a passage that speaks about them.
const PRICE_WORDS: &[&str] = &["price", "prices", "pricing", "cost", "costs", "fee", "fees"];

/// "How much" followed by a verb asks what something costs ("how much are the plans?"); followed
/// by a noun it asks for a quantity ("how much storage").
const PRICE_QUESTIONS: &[&str] = &[
    "how much is",
    "how much are",
    "how much does",
    "how much do",
    "how much will",
    "how much would",
];

/// True when `passage` answers an amount question: it states an amount, or, for a question
/// about prices, it speaks about prices (a help center often says where the prices are rather
/// than what they are).
pub fn answers_amount(question: &str, passage: &str) -> bool {
    if states_amount(passage) {
        return true;
    }
    let mentions_prices = |w: &[String]| w.iter().any(|w| PRICE_WORDS.contains(&w.as_str()));
    let question = words(question);
    let asks_price = mentions_prices(&question) || matches_any(&question, PRICE_QUESTIONS);
    asks_price && mentions_prices(&words(passage))
}

/// True when `text` states some amount: a digit, a currency sign, a number word, or "a day",
/// "an hour" and the like. Lenient on purpose: it only has to tell a passage that states an
/// amount from one that states none.
pub fn states_amount(text: &str) -> bool {
    if text
        .chars()
        .any(|c| c.is_ascii_digit() || matches!(c, '$' | '€' | '£' | '¥' | '%'))
    {
        return true;
    }
    let w = words(text);
    let unit = |word: &str| {
        let word = word.trim_end_matches('s');
        ["second", "minute", "hour", "day", "week", "month", "year"].contains(&word)
    };
    w.iter().any(|word| AMOUNT_WORDS.contains(&word.as_str()))
        || w.windows(2)
            .any(|pair| matches!(pair[0].as_str(), "a" | "an") && unit(&pair[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capitalised_words_inside_a_sentence_and_acronyms() {
        assert_eq!(
            names(
                "Is Adyen your card processor, and are you SOC compliant?",
                "FictArt"
            ),
            ["Adyen", "SOC"]
        );
        assert_eq!(
            names("Could I sign up through my Apple account?", "Acme"),
            ["Apple"]
        );
        // the brand, sentence starts, "I" and contractions are not names
        assert!(names("How do I reach FictArt support? Thanks", "FictArt").is_empty());
        assert!(names(
            "Where is the Stable Diffusion Web refund policy?",
            "Stable Diffusion Web"
        )
        .is_empty());
        assert!(names("I'm stuck. Can you help?", "Acme").is_empty());
        // context outside the question, days and months are not what is asked about
        assert!(names("What time is your team online? I'm in Singapore.", "Acme").is_empty());
        assert!(names("Is anyone around on a Saturday in May?", "Acme").is_empty());
        assert_eq!(names("I use Chrome", "Acme"), ["Chrome"]);
    }

    #[test]
    fn amount_questions() {
        for q in [
            "How much is the Team plan per seat?",
            "What's the maximum video length in minutes?",
            "how long do I have to ask for a refund",
            "How many images can I make a day?",
        ] {
            assert!(asks_for_amount(q), "{q}");
        }
        for q in [
            "Do failed generations cost credits?",
            "Can I get a refund?",
            "Why is my upload failing?",
        ] {
            assert!(!asks_for_amount(q), "{q}");
        }
    }

    #[test]
    fn a_price_question_is_answered_by_a_passage_about_prices() {
        let q = "How much are your plans?";
        assert!(answers_amount(q, "Prices are listed on the Pricing page."));
        let q = "How much storage do I get?";
        assert!(!answers_amount(q, "Prices are listed on the Pricing page."));
        assert!(!answers_amount(
            q,
            "You can change your plan anytime in Settings."
        ));
        let q = "What's the maximum upload size?";
        assert!(!answers_amount(
            q,
            "Files must meet the platform's size limits; see pricing."
        ));
        assert!(answers_amount(q, "Uploads can be up to 20 MB."));
    }

    #[test]
    fn amounts_in_passages() {
        for text in [
            "Refunds are possible within 14 days.",
            "Plans start at $9.",
            "Support replies within one business day.",
            "We usually reply within a day.",
            "No credits are deducted for failed generations.",
        ] {
            assert!(states_amount(text), "{text}");
        }
        for text in [
            "You can upgrade, downgrade, or cancel your plan anytime through your account settings.",
            "Check that the file size and dimensions meet the platform limits.",
        ] {
            assert!(!states_amount(text), "{text}");
        }
    }
}
