//! `--url`: the cases asked of a running askdesk server through its OpenAI-compatible endpoint,
//! `POST {base}/v1/chat/completions` with the tenant as `model`. That endpoint takes the whole
//! conversation in `messages`, so cases with a history work, and its reply carries an `askdesk`
//! object (outcome, reason, confidence, citations, retrieved passages) for the same checks as
//! in-process runs.

use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

use super::{AskError, Case, Observed, Retrieved};
use crate::answer::{Citation, Outcome};

/// The server appends the cited sources to the message text after this; the checks read the
/// answer alone.
const SOURCES_MARKER: &str = "\n\nSources:";
/// Longest wait for one answer (an LLM-mode server may take its own timeout and more).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of an error body quoted in a failed case.
const ERROR_BODY_SHOWN: usize = 300;

/// A running askdesk server.
pub struct Remote {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    api_key: String,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    askdesk: Extra,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

/// The `askdesk` object of a reply.
#[derive(Deserialize)]
struct Extra {
    outcome: Outcome,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    confidence: f32,
    #[serde(default)]
    citations: Vec<Citation>,
    #[serde(default)]
    retrieved: Vec<Retrieved>,
}

impl Remote {
    /// A client for the server at `base_url` (`http(s)://host:port`, no `/v1`). HTTPS is
    /// verified against the system's trusted roots.
    pub fn new(base_url: &str, api_key: String) -> Result<Self, String> {
        let base = reqwest::Url::parse(base_url)
            .map_err(|e| format!("--url {base_url:?} is not a URL: {e}"))?;
        match base.scheme() {
            "http" | "https" => {}
            other => {
                return Err(format!(
                    "--url {base_url}: unsupported scheme {other:?}; use http:// or https://"
                ))
            }
        }
        let endpoint = format!("{}/v1/chat/completions", base_url.trim_end_matches('/'))
            .parse()
            .map_err(|e| format!("--url {base_url:?}: {e}"))?;
        crate::llm::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            endpoint,
            api_key,
        })
    }

    async fn post(&self, tenant: &str, case: &Case) -> Result<reqwest::Response, AskError> {
        let mut messages: Vec<serde_json::Value> = case
            .history
            .iter()
            .map(|turn| json!({"role": turn.role, "content": turn.content}))
            .collect();
        messages.push(json!({"role": "user", "content": case.question}));
        let body = json!({"model": tenant, "messages": messages});
        self.client
            .post(self.endpoint.clone())
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                let why = e.without_url();
                if why.is_connect() {
                    AskError::Fatal(anyhow::anyhow!(
                        "cannot reach the askdesk server at {}: {why}",
                        self.endpoint
                    ))
                } else {
                    AskError::Case(format!("request to {} failed: {why}", self.endpoint))
                }
            })
    }
}

#[async_trait::async_trait]
impl super::Answerer for Remote {
    async fn ask(&self, tenant: &str, case: &Case) -> Result<Observed, AskError> {
        let response = self.post(tenant, case).await?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(AskError::Fatal(anyhow::anyhow!(
                "{} refused the API key (HTTP {status}); check --api-key or ASKDESK_API_KEY",
                self.endpoint
            )));
        }
        let body = response.text().await.map_err(|e| {
            AskError::Case(format!(
                "reading the reply of {} failed: {}",
                self.endpoint,
                e.without_url()
            ))
        })?;
        if !status.is_success() {
            let shown: String = body.chars().take(ERROR_BODY_SHOWN).collect();
            return Err(AskError::Case(format!(
                "{} answered HTTP {status}: {shown}",
                self.endpoint
            )));
        }
        let completion: Completion = serde_json::from_str(&body).map_err(|e| {
            AskError::Case(format!(
                "{} did not answer with an askdesk chat.completion: {e}",
                self.endpoint
            ))
        })?;
        Ok(observed(completion))
    }
}

fn observed(completion: Completion) -> Observed {
    let content = completion
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .unwrap_or_default();
    let extra = completion.askdesk;
    Observed {
        outcome: extra.outcome,
        text: strip_sources(&content).to_string(),
        reason: extra.reason,
        confidence: extra.confidence,
        citations: extra.citations,
        retrieved: extra.retrieved,
    }
}

/// The answer without the sources list the server appends for display.
pub fn strip_sources(content: &str) -> &str {
    content
        .rfind(SOURCES_MARKER)
        .map_or(content, |at| &content[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        assert!(Remote::new("http://127.0.0.1:8080/", "k".into()).is_ok());
        assert!(Remote::new("https://support.example.com", "k".into()).is_ok());
        let ftp = Remote::new("ftp://x", "k".into()).err();
        assert!(ftp.unwrap().contains("unsupported scheme"));
        let garbage = Remote::new("not a url", "k".into()).err();
        assert!(garbage.unwrap().contains("is not a URL"));
    }

    #[test]
    fn the_sources_list_is_cut_from_the_answer() {
        assert_eq!(
            strip_sources("Within 7 days [1].\n\nSources:\n- Billing › Refunds"),
            "Within 7 days [1]."
        );
        assert_eq!(strip_sources("No sources here."), "No sources here.");
    }
}
