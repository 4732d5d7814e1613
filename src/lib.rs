//! askdesk: a self-hosted support chatbot that answers from a brand's own FAQ and policy
//! documents and hands over to the human team when it is not sure.
//!
//! # Layout
//! - [`knowledge`]: load `knowledge/<tenant>/` (tenant.toml, Markdown, text, HTML) into passages.
//! - [`embed`]: the [`embed::Embedder`] seam and the fastembed/ONNX Runtime implementation.
//! - [`index`]: per-tenant BM25 (tantivy) and vector indexes, persisted, incremental, swapped
//!   atomically.
//! - [`retrieve`]: hybrid retrieval and fusion over one tenant's index.
//! - [`answer`]: the answer pipeline: rewrite, policy, confidence, extractive answers, handoff text.
//! - [`llm`]: the LLM seam and its async-openai client; [`prompts`]: minijinja templates.
//! - [`engine`]: assembles the above from a knowledge folder and a data folder.
//! - [`escalate`]: tickets, the email outbox worker, SMTP and `.eml` mailers.
//! - [`store`]: the Store trait and its SQLite and PostgreSQL implementations (conversations, messages, tickets, feedback).
//! - [`desk`]: the two use cases every API shares: a customer's turn and a hand-over.
//! - [`startup`]: the one start-up path of the service (`askdesk serve` and the tests).
//! - [`http`]: the axum service (`askdesk serve`): chat JSON/SSE, handoff, feedback, health.
//! - [`eval`]: answer-quality eval suites: loader, runner, metrics, reports, drafts from the store.
//! - [`gaps`]: unanswered questions grouped by meaning (the admin API's knowledge gaps).
//! - [`beir`]: retrieval evaluation on BEIR-layout data sets.
//! - [`config`]: the service configuration: defaults, TOML file, environment, flags.
//! - [`logging`]: the log writer that masks customers' e-mail addresses and card numbers.
//! - [`cli`]: the `askdesk` commands (the binary's `main` only parses and dispatches).

pub mod answer;
pub mod beir;
pub mod cli;
mod cli_eval;
mod cli_sync;
pub mod config;
pub mod desk;
pub mod embed;
pub mod engine;
pub mod escalate;
pub mod eval;
pub mod gaps;
pub mod http;
pub mod index;
pub mod knowledge;
pub mod llm;
pub mod logging;
mod progress;
pub mod prompts;
pub mod retrieve;
pub mod startup;
pub mod store;
pub mod sync;
