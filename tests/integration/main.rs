//! The one integration test binary: real embedding model (from `scripts/setup.sh`), real files.
//! Modules read as the capability they check.

mod admin;
mod answers;
mod api;
mod app;
mod cli;
mod cors;
mod escalation;
mod evals;
mod faults;
mod helpers;
mod knowledge_engine;
mod limits;
mod llm;
mod metrics;
mod openai_compat;
mod openapi;
mod real_llm;
mod replicas;
mod site;
mod smtp;
mod store_contract;
mod sync;
