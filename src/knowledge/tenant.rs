//! A tenant's settings from `knowledge/<tenant>/tenant.toml`.
//!
//! Only `name` and `support_email` are required; every other key has a documented default so a
//! new brand can start with two lines. Unknown keys are refused so a typo never silently falls
//! back to a default that changes behaviour (for example a misspelt escalation threshold).

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::KnowledgeError;

/// One field the brand's support team wants in a handoff (for example "the prompt you used").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffField {
    /// snake_case key, used in forms and JSON.
    pub name: String,
    /// What the form shows the customer and the email shows the team.
    pub label: String,
    /// Whether the handoff form insists on it (default: false).
    #[serde(default)]
    pub required: bool,
}

/// The settings of one brand. Defaults are listed in the README's "Knowledge format" section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Brand name shown to customers and in email subjects.
    pub name: String,
    /// Where escalations are sent.
    pub support_email: String,
    /// The brand's own words on when the team replies; quoted in handoff answers.
    #[serde(default = "default_reply_promise")]
    pub reply_promise: String,
    /// Support hours, when the brand states them.
    #[serde(default)]
    pub support_hours: Option<String>,
    /// First message of the chat widget.
    #[serde(default)]
    pub greeting: Option<String>,
    /// Widget accent colour.
    #[serde(default = "default_brand_color")]
    pub brand_color: String,
    /// Origins allowed to call the public chat API from a browser (CORS).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Extra fields the handoff form asks for.
    #[serde(default)]
    pub handoff_fields: Vec<HandoffField>,
    /// The share of answered questions that must be right (0..1]: the bot answers only when the
    /// calibrated answerability model puts the answer at least this likely to be right on
    /// held-back data, and hands over otherwise. Higher answers less and more surely.
    #[serde(default = "default_answer_precision")]
    pub answer_precision: f32,
    /// Topics that always go to a person; replaces the defaults when set.
    #[serde(default = "default_sensitive_topics")]
    pub sensitive_topics: Vec<SensitiveTopic>,
    /// The brand's own example messages for the default intents (`rules/intents.yaml`): a
    /// question as close as a paraphrase to one of them has that intent.
    #[serde(default)]
    pub intents: Vec<BrandIntent>,
    /// Days conversations and delivered tickets are kept; older ones are deleted by the
    /// service (hourly). Unset: kept until deleted through the admin API.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Websites whose pages `askdesk sync` keeps in the tenant's `synced/` folder, beside the
    /// folder's own documents.
    #[serde(default)]
    pub sources: Vec<crate::sync::Source>,
}

/// Example messages a brand adds to one intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandIntent {
    /// One of the intents of `rules/intents.yaml` (`account_action`, `incident`, ...).
    pub name: String,
    pub examples: Vec<String>,
}

/// The default precision target. 0.95 would answer only about a quarter of the tune suites'
/// answerable questions with today's quoting (docs/benchmarks.md, "Answerability"), because a
/// "right" answer must quote every expected fact; 0.85 keeps most of them.
fn default_answer_precision() -> f32 {
    0.85
}

/// A topic that always goes to a person, with the phrases that identify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveTopic {
    pub name: String,
    /// Lowercase word sequences; one match is enough.
    pub phrases: Vec<String>,
}

/// The shipped default sensitive topics, compiled in.
const DEFAULT_SENSITIVE_TOPICS: &str = include_str!("../../rules/sensitive_topics.yaml");

/// The default sensitive topics (`rules/sensitive_topics.yaml`), used when a brand sets none.
pub fn default_sensitive_topics() -> Vec<SensitiveTopic> {
    serde_yaml::from_str(DEFAULT_SENSITIVE_TOPICS)
        .expect("the shipped rules/sensitive_topics.yaml is valid (unit-tested)")
}

fn default_reply_promise() -> String {
    "Our support team will reply by email.".to_string()
}

fn default_brand_color() -> String {
    "#2457d6".to_string()
}

impl TenantConfig {
    /// Reads and validates `tenant.toml`; every error names the file.
    pub fn load(path: &Path) -> Result<Self, KnowledgeError> {
        let raw = std::fs::read_to_string(path).map_err(|e| KnowledgeError::Tenant {
            path: path.to_path_buf(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "missing tenant.toml (needs at least `name` and `support_email`)".to_string()
            } else {
                e.to_string()
            },
        })?;
        Self::parse(&raw).map_err(|message| KnowledgeError::Tenant {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses the TOML text; the error is one line fit for a terminal, starting with the line
    /// of the problem when TOML knows it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let config: TenantConfig = toml::from_str(raw).map_err(|e| {
            let message = e.message().trim();
            match e.span() {
                Some(span) => format!(
                    "line {}: {message}",
                    raw.bytes().take(span.start).filter(|&b| b == b'\n').count() + 1
                ),
                None => message.to_string(),
            }
        })?;
        if config.name.trim().is_empty() {
            return Err("`name` must not be empty".into());
        }
        if !(config.answer_precision > 0.0 && config.answer_precision <= 1.0) {
            return Err("`answer_precision` must be above 0 and at most 1".into());
        }
        if config.retention_days == Some(0) {
            return Err(
                "`retention_days` must be at least 1 (leave it out to keep everything)".into(),
            );
        }
        for intent in &config.intents {
            if crate::answer::Intent::parse(&intent.name).is_none() {
                let known: Vec<&str> = crate::answer::Intent::ALL
                    .iter()
                    .map(|i| i.as_str())
                    .collect();
                return Err(format!(
                    "unknown intent {:?} in [[intents]] (one of: {})",
                    intent.name,
                    known.join(", ")
                ));
            }
            if intent.examples.iter().any(|e| e.trim().is_empty()) {
                return Err(format!("intent {:?} has an empty example", intent.name));
            }
        }
        for (i, source) in config.sources.iter().enumerate() {
            source
                .validate()
                .map_err(|e| format!("[[sources]] number {}: {e}", i + 1))?;
        }
        if !is_plausible_email(&config.support_email) {
            return Err(format!(
                "`support_email` is not an email address: {:?}",
                config.support_email
            ));
        }
        Ok(config)
    }
}

/// A cheap shape check (one `@`, a dot in the domain, no spaces); real delivery is the SMTP server's job.
pub fn is_plausible_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = TenantConfig::parse("name = \"Acme\"\nsupport_email = \"help@acme.test\"").unwrap();
        assert_eq!(c.name, "Acme");
        assert_eq!(c.reply_promise, default_reply_promise());
        assert!(c.handoff_fields.is_empty());
    }

    #[test]
    fn missing_support_email_is_named() {
        let err = TenantConfig::parse("name = \"Acme\"").unwrap_err();
        assert!(err.contains("support_email"), "{err}");
    }

    #[test]
    fn a_brand_adds_examples_to_known_intents_only() {
        let base = "name = \"Acme\"\nsupport_email = \"help@acme.test\"\n";
        let ok = TenantConfig::parse(&format!(
            "{base}[[intents]]\nname = \"account_action\"\nexamples = [\"move my booking\"]\n"
        ))
        .unwrap();
        assert_eq!(ok.intents[0].examples, ["move my booking"]);
        assert_eq!(ok.answer_precision, 0.85);
        let err = TenantConfig::parse(&format!(
            "{base}[[intents]]\nname = \"refunds\"\nexamples = [\"x\"]\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("unknown intent \"refunds\"") && err.contains("account_action"),
            "{err}"
        );
        let err = TenantConfig::parse(&format!("{base}answer_precision = 1.5\n")).unwrap_err();
        assert!(err.contains("answer_precision"), "{err}");
    }

    #[test]
    fn retention_is_a_positive_number_of_days_or_unset() {
        let base = "name = \"Acme\"\nsupport_email = \"help@acme.test\"\n";
        assert_eq!(TenantConfig::parse(base).unwrap().retention_days, None);
        let kept = TenantConfig::parse(&format!("{base}retention_days = 30\n")).unwrap();
        assert_eq!(kept.retention_days, Some(30));
        let err = TenantConfig::parse(&format!("{base}retention_days = 0\n")).unwrap_err();
        assert!(err.contains("retention_days"), "{err}");
        for bad in ["-1", "\"30d\"", "1.5"] {
            let err = TenantConfig::parse(&format!("{base}retention_days = {bad}\n")).unwrap_err();
            assert!(err.starts_with("line 3: "), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_key_is_refused() {
        let err =
            TenantConfig::parse("name = \"A\"\nsupport_email = \"a@b.co\"\nreplypromise = \"x\"")
                .unwrap_err();
        assert!(err.contains("replypromise"), "{err}");
        assert!(err.starts_with("line 3: "), "{err}");
    }

    #[test]
    fn email_shapes() {
        assert!(is_plausible_email("service@fictart.com"));
        assert!(!is_plausible_email("service.fictart.com"));
        assert!(!is_plausible_email("a@b@c.com"));
        assert!(!is_plausible_email("a b@c.com"));
        assert!(!is_plausible_email("@c.com"));
    }
}
