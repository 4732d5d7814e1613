//! Prometheus metrics (`GET /metrics`, text format 0.0.4): requests and latency by route and
//! status class, answers by outcome, escalations by reason, retrieval and LLM latency, tickets by
//! status. Counters are atomics; the only lock guards the route table, and it is written once per
//! route (a read lock on every request), so recording stays cheap at thousands of requests/s.
//!
//! Routes are labelled with their template (`/api/v1/tenants/{id}`), never the raw path:
//! anything a client can vary would make the label set, and the memory, unbounded.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::AppState;
use crate::answer::{Answer, ModelVerdict, Outcome};
use crate::store::TicketStatus;

/// Upper bounds (milliseconds) of the latency histogram buckets; `+Inf` follows.
const BUCKETS_MS: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
];

/// The label of requests that matched no route (static files, 404s).
const UNMATCHED_ROUTE: &str = "other";

/// A latency histogram with fixed buckets. Each bucket counts only its own range; rendering
/// makes them cumulative as Prometheus expects.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_MS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, ms: f64) {
        if let Some(i) = BUCKETS_MS.iter().position(|bound| ms <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((ms.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is `key="value",` or empty.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS_MS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        // Read the count after the buckets, and never let +Inf fall below their sum.
        let count = self.count.load(Ordering::Relaxed).max(cumulative);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1000.0;
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", l.trim_end_matches(','))
            }
        };
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
    }
}

/// Requests of one route: by status class (1xx..5xx) and their latency.
#[derive(Default)]
struct RouteStats {
    by_class: [AtomicU64; 5],
    latency: Histogram,
}

/// Everything exported at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, Arc<RouteStats>>>,
    answers: AtomicU64,
    escalations: AtomicU64,
    /// Escalations by reason (rare next to requests: a short lock is fine).
    escalation_reasons: Mutex<BTreeMap<&'static str, u64>>,
    retrieval: Histogram,
    llm: Histogram,
    /// LLM mode: turns whose model call failed, by what the customer got instead
    /// ([`LLM_FALLBACKS`]).
    llm_failures: [AtomicU64; 2],
}

/// What a customer gets when the model fails: the quoted answer, or a hand-over.
const LLM_FALLBACKS: [&str; 2] = ["quoted_answer", "handoff"];

impl Metrics {
    /// Counts one answered turn: its outcome, escalation reason and stage timings.
    pub fn answered(&self, answer: &Answer) {
        let counter = match answer.outcome {
            Outcome::Answer => &self.answers,
            Outcome::Escalate => &self.escalations,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let (Outcome::Escalate, Some(reason)) = (answer.outcome, answer.reason) {
            *self
                .escalation_reasons
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(reason.as_str())
                .or_default() += 1;
        }
        if answer.decision.model == Some(ModelVerdict::Failed) {
            let fallback = usize::from(answer.outcome == Outcome::Escalate);
            self.llm_failures[fallback].fetch_add(1, Ordering::Relaxed);
        }
        self.retrieval.observe(answer.timings.retrieve_ms);
        if let Some(ms) = answer.timings.llm_ms {
            self.llm.observe(ms);
        }
    }

    fn route(&self, route: &str) -> Arc<RouteStats> {
        if let Some(stats) = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(route)
        {
            return Arc::clone(stats);
        }
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(routes.entry(route.to_string()).or_default())
    }

    fn request(&self, route: &str, status: u16, ms: f64) {
        let stats = self.route(route);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        stats.by_class[class].fetch_add(1, Ordering::Relaxed);
        stats.latency.observe(ms);
    }

    /// The text format; `tickets` are the store's counts by status (None when unavailable).
    pub fn render(&self, tickets: Option<&[(TicketStatus, u64)]>) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        header(
            &mut out,
            "askdesk_answers_total",
            "counter",
            "Chat turns by outcome.",
        );
        for (outcome, counter) in [("answer", &self.answers), ("escalate", &self.escalations)] {
            let _ = writeln!(
                out,
                "askdesk_answers_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "askdesk_escalations_total",
            "counter",
            "Turns handed to the support team, by reason.",
        );
        for (reason, n) in self
            .escalation_reasons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "askdesk_escalations_total{{reason=\"{reason}\"}} {n}");
        }
        header(
            &mut out,
            "askdesk_retrieval_duration_milliseconds",
            "histogram",
            "Hybrid retrieval time per answered turn.",
        );
        self.retrieval
            .render(&mut out, "askdesk_retrieval_duration_milliseconds", "");
        header(
            &mut out,
            "askdesk_llm_duration_milliseconds",
            "histogram",
            "Time the LLM took to write an answer (LLM mode).",
        );
        self.llm
            .render(&mut out, "askdesk_llm_duration_milliseconds", "");
        header(
            &mut out,
            "askdesk_llm_failures_total",
            "counter",
            "LLM mode: model calls that failed (refused, timed out, unreadable), by what the customer got instead.",
        );
        for (fallback, counter) in LLM_FALLBACKS.iter().zip(&self.llm_failures) {
            let _ = writeln!(
                out,
                "askdesk_llm_failures_total{{fallback=\"{fallback}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        if let Some(tickets) = tickets {
            header(
                &mut out,
                "askdesk_tickets",
                "gauge",
                "Handoff tickets by status.",
            );
            for (status, n) in tickets {
                let _ = writeln!(out, "askdesk_tickets{{status=\"{}\"}} {n}", status.as_str());
            }
        }
        out
    }

    fn render_requests(&self, out: &mut String) {
        let routes: BTreeMap<String, Arc<RouteStats>> = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(route, stats)| (route.clone(), Arc::clone(stats)))
            .collect();
        header(
            out,
            "askdesk_http_requests_total",
            "counter",
            "HTTP requests by route template and status class.",
        );
        for (route, stats) in &routes {
            for (i, counter) in stats.by_class.iter().enumerate() {
                let n = counter.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "askdesk_http_requests_total{{route=\"{}\",status=\"{}xx\"}} {n}",
                        escape(route),
                        i + 1
                    );
                }
            }
        }
        header(
            out,
            "askdesk_http_request_duration_milliseconds",
            "histogram",
            "Time to the response head, by route template.",
        );
        for (route, stats) in &routes {
            stats.latency.render(
                out,
                "askdesk_http_request_duration_milliseconds",
                &format!("route=\"{}\",", escape(route)),
            );
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: times every request and counts it under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE.to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}

/// Prometheus metrics: requests and latency by route, answers by outcome, tickets by status,
/// retrieval and LLM latency.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn export(State(state): State<AppState>) -> impl IntoResponse {
    let tickets = match state.desk.store.ticket_counts().await {
        Ok(counts) => Some(counts),
        Err(e) => {
            tracing::warn!(error = %e, "ticket counts unavailable for /metrics");
            None
        }
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(tickets.as_deref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let h = Histogram::default();
        for ms in [0.5, 3.0, 3.0, 700.0, 9000.0] {
            h.observe(ms);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "route=\"/a\",");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"5\"} 3\n"), "{out}");
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"1000\"} 4\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"2500\"} 4\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 5\n"),
            "{out}"
        );
        assert!(out.contains("x_count{route=\"/a\"} 5\n"), "{out}");
        assert!(out.contains("x_sum{route=\"/a\"} 9706.5\n"), "{out}");
    }

    #[test]
    fn requests_are_counted_by_route_and_status_class() {
        let m = Metrics::default();
        m.request("/api/v1/chat", 200, 3.0);
        m.request("/api/v1/chat", 429, 0.1);
        m.request("/api/v1/chat", 204, 0.1);
        let out = m.render(None);
        assert!(
            out.contains("askdesk_http_requests_total{route=\"/api/v1/chat\",status=\"2xx\"} 2\n")
        );
        assert!(
            out.contains("askdesk_http_requests_total{route=\"/api/v1/chat\",status=\"4xx\"} 1\n")
        );
        assert!(!out.contains("askdesk_tickets"));
    }
}
