//! An open-loop load generator for the soak run (`scripts/bench-replicas.sh`): sends chat turns
//! at a fixed rate, spread over one or more replicas, whatever their latency (a closed loop
//! such as wrk slows down with the server and hides a growing tail), and prints one JSON line
//! per interval and a summary. A 503 is counted as `shed` (the replica refused a question it
//! could not answer in time, as it does when overloaded), apart from other `errors`.
//!
//! `cargo run --release --example load -- --rate 80 --seconds 600 --interval 60 URL...`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The questions of `../shared/peer/chat.lua`, each sent with a counter so no two are alike.
const QUESTIONS: &[&str] = &[
    "What is your refund policy?",
    "how do I contact support",
    "can I log in with google",
    "which file formats can I upload",
    "my generation failed, do I lose credits?",
    "when does a plan change take effect",
    "how fast do you reply",
    "is my data safe",
];

#[derive(Default)]
struct Window {
    latencies_ms: Vec<f64>,
    shed: u64,
    errors: u64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(window: &Window) -> serde_json::Value {
    let mut sorted = window.latencies_ms.clone();
    sorted.sort_by(f64::total_cmp);
    serde_json::json!({
        "ok": sorted.len(),
        "shed": window.shed,
        "errors": window.errors,
        "p50_ms": percentile(&sorted, 50.0),
        "p99_ms": percentile(&sorted, 99.0),
        "max_ms": sorted.last().copied().unwrap_or(0.0),
    })
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

#[tokio::main]
async fn main() {
    askdesk::llm::install_tls_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rate = arg(&args, "--rate", 50.0);
    let seconds = arg(&args, "--seconds", 60.0);
    let interval = arg(&args, "--interval", 60.0);
    let urls: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| a.starts_with("http") && !args[i.saturating_sub(1)].starts_with("--"))
        .map(|(_, a)| a.trim_end_matches('/').to_string())
        .collect();
    assert!(!urls.is_empty(), "give the replicas' base URLs");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let all = Arc::new(Mutex::new(Window::default()));
    let current = Arc::new(Mutex::new(Window::default()));
    let gap = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut next_report = interval;
    let mut ticker = tokio::time::interval(gap);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0u64;
    let mut tasks = Vec::new();
    while started.elapsed().as_secs_f64() < seconds {
        ticker.tick().await;
        let url = format!("{}/api/v1/chat", urls[sent as usize % urls.len()]);
        let body = serde_json::json!({
            "tenant": "fictart",
            "message": format!("{} {sent}", QUESTIONS[sent as usize % QUESTIONS.len()]),
        });
        sent += 1;
        let (http, totals, window) = (client.clone(), Arc::clone(&all), Arc::clone(&current));
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let status = match http.post(&url).json(&body).send().await {
                Ok(r) => {
                    let status = r.status();
                    r.bytes().await.ok().map(|_| status)
                }
                Err(_) => None,
            };
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            for counts in [&totals, &window] {
                let mut w = counts.lock().unwrap();
                match status {
                    Some(s) if s.is_success() => w.latencies_ms.push(ms),
                    Some(reqwest::StatusCode::SERVICE_UNAVAILABLE) => w.shed += 1,
                    _ => w.errors += 1,
                }
            }
        }));
        if started.elapsed().as_secs_f64() >= next_report {
            let window = std::mem::take(&mut *current.lock().unwrap());
            let mut line = summary(&window);
            line["t_s"] = serde_json::json!(next_report);
            println!("{line}");
            next_report += interval;
            tasks.retain(|t| !t.is_finished());
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut total = summary(&all.lock().unwrap());
    total["sent"] = serde_json::json!(sent);
    total["rate"] = serde_json::json!(rate);
    total["seconds"] = serde_json::json!(seconds);
    println!("{total}");
}
