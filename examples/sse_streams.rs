//! Holds many Server-Sent-Event chat streams open at once against a real `askdesk serve`
//! process and reports its peak memory: `cargo run --release --example sse_streams -- 500`.
//!
//! The server runs in LLM mode against a model written here that streams 40 tokens 50 ms apart
//! (2 s per answer), so every stream stays open while the others are opened. The server's
//! peak RSS (VmHWM) is read from /proc once every stream has finished.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKENS: usize = 40;
const TOKEN_GAP: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let streams: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(500);
    let model = slow_model().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let data = tempfile::tempdir()?;
    let mut server = Server(
        Command::new(askdesk_binary()?)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(data.path())
            .env("OPENAI_BASE_URL", &model)
            .env("ASKDESK_LLM_TIMEOUT_MS", "120000")
            .env("ASKDESK_LLM_FIRST_TOKEN_TIMEOUT_MS", "60000")
            // One client opening 500 streams at once: the per-IP and per-tenant limits would
            // (rightly) refuse most of them.
            .env("ASKDESK_RATE_LIMIT_PER_IP_PER_MINUTE", "0")
            .env("ASKDESK_RATE_LIMIT_PER_TENANT_PER_MINUTE", "0")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    askdesk::llm::install_tls_provider();
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let open = Arc::new(AtomicUsize::new(0));
    let most_open = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let (client, base) = (client.clone(), base.clone());
            let (open, most_open) = (Arc::clone(&open), Arc::clone(&most_open));
            tokio::spawn(async move { one_stream(&client, &base, &open, &most_open).await })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(e) = task.await? {
            errors.push(e.to_string());
        }
    }
    let elapsed = started.elapsed();
    let peak_kb = peak_rss_kb(server.0.id())?;
    println!(
        "{streams} SSE streams: {} completed, {} errors, at most {} open at once, {:.1} s; askdesk serve peak RSS {:.0} MB",
        streams - errors.len(),
        errors.len(),
        most_open.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        peak_kb as f64 / 1024.0
    );
    errors.sort();
    errors.dedup();
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    let _ = server.0.kill();
    anyhow::ensure!(errors.is_empty(), "some streams failed");
    Ok(())
}

/// `askdesk` beside this example's build folder (`target/release/examples/..`): build it first
/// with `cargo build --release`.
fn askdesk_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("askdesk"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build askdesk first: cargo build --release"))?;
    Ok(binary)
}

/// Kills the server when the benchmark ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One customer turn, streamed to the end; counts how many are open at once.
async fn one_stream(
    client: &reqwest::Client,
    base: &str,
    open: &AtomicUsize,
    most_open: &AtomicUsize,
) -> anyhow::Result<()> {
    let mut response = client
        .post(format!("{base}/api/v1/chat"))
        .header("accept", "text/event-stream")
        .json(&serde_json::json!({"tenant": "fictart", "message": "Can I get a refund?"}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "status {}",
        response.status()
    );
    let now_open = open.fetch_add(1, Ordering::Relaxed) + 1;
    most_open.fetch_max(now_open, Ordering::Relaxed);
    let mut body = String::new();
    while let Some(chunk) = response.chunk().await? {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    open.fetch_sub(1, Ordering::Relaxed);
    anyhow::ensure!(
        body.contains("event: done"),
        "the stream ended without done"
    );
    anyhow::ensure!(!body.contains("event: error"), "an error event");
    Ok(())
}

/// An OpenAI-compatible model on loopback that streams a cited answer slowly; returns its URL.
async fn slow_model() -> anyhow::Result<String> {
    async fn completions() -> impl axum::response::IntoResponse {
        let tokens = futures_util::stream::unfold(0usize, |i| async move {
            if i > TOKENS {
                return None;
            }
            tokio::time::sleep(TOKEN_GAP).await;
            let data = if i == TOKENS {
                "data: [DONE]\n\n".to_string()
            } else {
                let piece = if i + 1 == TOKENS { "[1]. " } else { "word " };
                let chunk = serde_json::json!({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "slow", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
                format!("data: {chunk}\n\n")
            };
            Some((Ok::<_, std::convert::Infallible>(data), i + 1))
        });
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            axum::body::Body::from_stream(tokens),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(completions));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Peak resident memory of a process in KiB (VmHWM in /proc/PID/status).
fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM for process {pid}"))
}
