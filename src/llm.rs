//! The LLM seam: any OpenAI-compatible chat-completions endpoint through `async-openai`,
//! streamed token by token, with typed errors that say whether a retry or a fallback makes sense.
//! Configured by the `[llm]` section (see [`crate::config::LlmSettings`]). The API key is never
//! logged or put in an error.

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessageArgs, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequestArgs,
};
use async_openai::Client;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use std::time::Duration;

/// Why a call failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// Connection refused, 5xx, 429, a timeout: try later or fall back.
    #[error("the language model is unavailable: {0}")]
    Transient(String),
    /// Bad request, bad key, unknown model: retrying will not help.
    #[error("the language model refused the request: {0}")]
    Permanent(String),
    /// The prompt is longer than the model accepts.
    #[error("the prompt is too long for the language model")]
    ContextLength,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub speaker: Speaker,
    pub content: String,
}

/// A stream of answer text pieces.
pub type TokenStream = BoxStream<'static, Result<String, LlmError>>;

#[async_trait::async_trait]
pub trait Llm: Send + Sync {
    async fn stream(&self, messages: Vec<Message>) -> Result<TokenStream, LlmError>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub base_url: String,
    pub api_key: crate::config::Secret,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Longest wait for the first token.
    pub first_token_timeout: Duration,
    /// Longest wait for the whole answer.
    pub total_timeout: Duration,
}

/// Makes rustls use ring for every HTTPS client of the process (async-openai's reqwest client
/// and any other): reqwest is built without a provider of its own, because its default one
/// (aws-lc) is a large C build and lettre already brings ring. Building a reqwest client before
/// this panics, so it is called at start-up and before any client is made. Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The async-openai client.
pub struct OpenAiLlm {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
}

impl OpenAiLlm {
    pub fn new(config: LlmConfig) -> Self {
        install_tls_provider();
        let client = Client::with_config(
            OpenAIConfig::new()
                .with_api_base(config.base_url.trim_end_matches('/'))
                .with_api_key(config.api_key.expose()),
        );
        Self { client, config }
    }
}

fn classify(e: OpenAIError) -> LlmError {
    match e {
        OpenAIError::ApiError(api) => {
            let text = api.to_string();
            if text.contains("context") && text.contains("length") {
                LlmError::ContextLength
            } else {
                LlmError::Transient(text)
            }
        }
        OpenAIError::Reqwest(e) => LlmError::Transient(error_chain(&e.without_url())),
        OpenAIError::InvalidArgument(e) => LlmError::Permanent(e),
        other => LlmError::Transient(other.to_string()),
    }
}

/// An error with its causes ("error sending request: ...: invalid peer certificate"), so a
/// TLS or connection problem is named in the log. URLs are stripped by the caller.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn to_request(m: Message) -> Result<ChatCompletionRequestMessage, OpenAIError> {
    Ok(match m.speaker {
        Speaker::System => ChatCompletionRequestSystemMessageArgs::default()
            .content(m.content)
            .build()?
            .into(),
        Speaker::User => ChatCompletionRequestUserMessageArgs::default()
            .content(m.content)
            .build()?
            .into(),
        Speaker::Assistant => ChatCompletionRequestAssistantMessageArgs::default()
            .content(m.content)
            .build()?
            .into(),
    })
}

#[async_trait::async_trait]
impl Llm for OpenAiLlm {
    async fn stream(&self, messages: Vec<Message>) -> Result<TokenStream, LlmError> {
        let messages = messages
            .into_iter()
            .map(to_request)
            .collect::<Result<Vec<_>, _>>()
            .map_err(classify)?;
        #[allow(deprecated)] // llama.cpp-style servers honour max_tokens, not max_completion_tokens
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.config.model.clone())
            .messages(messages)
            .temperature(self.config.temperature)
            .max_tokens(self.config.max_tokens)
            .build()
            .map_err(classify)?;
        let stream = self
            .client
            .chat()
            .create_stream(request)
            .await
            .map_err(classify)?;
        Ok(stream
            .map(|chunk| {
                chunk.map_err(classify).map(|c| {
                    c.choices
                        .into_iter()
                        .filter_map(|choice| choice.delta.content)
                        .collect::<String>()
                })
            })
            .boxed())
    }
}

/// Collects a whole answer, enforcing the first-token and total timeouts, and passing each
/// piece to `on_token` as it arrives. A response without any text is an error.
pub async fn collect(
    llm: &dyn Llm,
    messages: Vec<Message>,
    config_first: Duration,
    config_total: Duration,
    mut on_token: impl FnMut(&str) + Send,
) -> Result<String, LlmError> {
    let work = async {
        let mut stream = tokio::time::timeout(config_first, llm.stream(messages))
            .await
            .map_err(|_| {
                LlmError::Transient("no response before the first-token timeout".into())
            })??;
        let mut text = String::new();
        let mut first = true;
        loop {
            let next = if first {
                tokio::time::timeout(config_first, stream.next())
                    .await
                    .map_err(|_| {
                        LlmError::Transient("no token before the first-token timeout".into())
                    })?
            } else {
                stream.next().await
            };
            match next {
                Some(piece) => {
                    let piece = piece?;
                    if !piece.is_empty() {
                        first = false;
                        on_token(&piece);
                        text.push_str(&piece);
                    }
                }
                None => break,
            }
        }
        // A model declines in words (`NO_ANSWER`); a response with no text at all (an empty
        // stream, a body that was no completion) is a failure of the server.
        if text.trim().is_empty() {
            return Err(LlmError::Transient("the response held no text".into()));
        }
        Ok(text)
    };
    tokio::time::timeout(config_total, work)
        .await
        .map_err(|_| LlmError::Transient("the answer took longer than the total timeout".into()))?
}
