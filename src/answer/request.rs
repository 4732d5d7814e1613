//! The pipeline's input, parsed once at the edge: a question that is not empty, not too long and
//! free of control characters, and a history that alternates user and assistant turns.

use serde::{Deserialize, Serialize};

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One earlier message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

/// Why a request was refused; each message names the problem for the customer or caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the question is longer than {MAX_QUESTION_CHARS} characters")]
    QuestionTooLong,
    #[error("the question contains control characters")]
    ControlCharacters,
    #[error("invalid history: {0}")]
    BadHistory(String),
}

/// A validated customer question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question(String);

/// True when `text` holds a control character other than a line break or tab (NUL, escape,
/// backspace): nothing a customer types, and they would reach the team's email raw.
pub fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
}

impl Question {
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(RequestError::EmptyQuestion);
        }
        if trimmed.chars().count() > MAX_QUESTION_CHARS {
            return Err(RequestError::QuestionTooLong);
        }
        if has_control_characters(trimmed) {
            return Err(RequestError::ControlCharacters);
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks that turns alternate user/assistant starting with the user, with sane contents.
pub fn validate_history(history: &[Turn]) -> Result<(), RequestError> {
    for (i, turn) in history.iter().enumerate() {
        let expected = if i % 2 == 0 {
            Role::User
        } else {
            Role::Assistant
        };
        if turn.role != expected {
            return Err(RequestError::BadHistory(format!(
                "turn {} should be from the {}",
                i + 1,
                if expected == Role::User {
                    "user"
                } else {
                    "assistant"
                }
            )));
        }
        if turn.content.trim().is_empty() {
            return Err(RequestError::BadHistory(format!("turn {} is empty", i + 1)));
        }
        if turn.content.chars().count() > MAX_QUESTION_CHARS * 4 {
            return Err(RequestError::BadHistory(format!(
                "turn {} is too long",
                i + 1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: Role, content: &str) -> Turn {
        Turn {
            role,
            content: content.into(),
        }
    }

    #[test]
    fn questions_are_parsed() {
        assert_eq!(
            Question::parse("  hi there \n").unwrap().as_str(),
            "hi there"
        );
        assert_eq!(Question::parse(" \n\t "), Err(RequestError::EmptyQuestion));
        assert_eq!(
            Question::parse(&"a".repeat(4001)),
            Err(RequestError::QuestionTooLong)
        );
        assert!(Question::parse(&"é".repeat(4000)).is_ok());
        assert_eq!(
            Question::parse("bell\u{7}"),
            Err(RequestError::ControlCharacters)
        );
        assert!(Question::parse("two\nlines\tok").is_ok());
    }

    #[test]
    fn history_must_alternate_from_the_user() {
        assert!(validate_history(&[]).is_ok());
        assert!(validate_history(&[turn(Role::User, "a"), turn(Role::Assistant, "b")]).is_ok());
        let e = validate_history(&[turn(Role::Assistant, "a")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid history: turn 1 should be from the user"
        );
        let e = validate_history(&[turn(Role::User, "a"), turn(Role::User, "b")]).unwrap_err();
        assert!(e
            .to_string()
            .contains("turn 2 should be from the assistant"));
        assert!(validate_history(&[turn(Role::User, " ")]).is_err());
    }
}
