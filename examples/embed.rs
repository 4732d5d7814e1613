//! Embeds texts with askdesk's own model, for fitting the decision's intent classifier offline
//! (`scripts/fit_intents.py`): the weights must be fitted on exactly the vectors the service
//! computes. Reads JSON lines (`{"text": ...}` objects or bare JSON strings) from stdin and
//! writes one JSON array of floats per line, in the same order:
//! `cargo run --release --example embed < texts.jsonl > vectors.jsonl`.
//! Texts are embedded one at a time, as the service embeds a question.

use std::io::{BufRead, Write};

use askdesk::embed::EmbedderConfig;
use askdesk::engine;

fn main() -> anyhow::Result<()> {
    let embedder = engine::load_embedder(&EmbedderConfig::from_env())?;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("line {}: not JSON: {e}", n + 1))?;
        let text = match &value {
            serde_json::Value::String(s) => s.as_str(),
            other => other
                .get("text")
                .and_then(|t| t.as_str())
                .ok_or_else(|| anyhow::anyhow!("line {}: no \"text\"", n + 1))?,
        };
        let vector = embedder
            .embed(&[text])?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("line {}: no vector", n + 1))?;
        serde_json::to_writer(&mut out, &vector)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
