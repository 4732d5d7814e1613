//! `/metrics` on the real service: valid Prometheus text after real traffic, with series by
//! route template (never the raw path), outcome, escalation reason and ticket status.

use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::app::spawn_app;

/// One sample line: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Checks the text format line by line and returns the samples: every sample is
/// `name{labels} value`, every metric has HELP and TYPE before its samples, and every histogram's
/// buckets are cumulative and end with `+Inf` equal to `_count`.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut help = HashSet::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').expect("HELP has a name and a text");
            assert!(!doc.trim().is_empty(), "{line}");
            help.insert(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(help.contains(name), "HELP before TYPE: {line}");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let sample = parse_sample(line);
        let family = family_of(&sample.name, &types);
        assert!(
            help.contains(&family) && types.contains_key(&family),
            "no HELP/TYPE before {line}"
        );
        samples.push(sample);
    }
    check_histograms(&samples, &types);
    samples
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').expect("name and value");
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("bad value: {line}"));
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').expect("labels end with }");
            (name, parse_labels(body, line))
        }
        None => (series, BTreeMap::new()),
    };
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name: {line}"
    );
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

/// `key="value",key="value"` (values here never contain `",`).
fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    body.split("\",")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
            assert!(
                key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            (key.to_string(), value.trim_end_matches('"').to_string())
        })
        .collect()
}

fn family_of(name: &str, types: &HashMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|t| t == "histogram") {
                return base.to_string();
            }
        }
    }
    name.to_string()
}

fn check_histograms(samples: &[Sample], types: &HashMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        // Series of one histogram: its labels without `le`.
        let mut buckets: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        for s in samples {
            let mut labels = s.labels.clone();
            let le = labels.remove("le");
            let key = format!("{labels:?}");
            if s.name == format!("{family}_bucket") {
                buckets
                    .entry(key)
                    .or_default()
                    .push((le.expect("a bucket has le"), s.value));
            } else if s.name == format!("{family}_count") {
                counts.insert(key, s.value);
            }
        }
        assert_eq!(
            buckets.keys().collect::<Vec<_>>(),
            counts.keys().collect::<Vec<_>>(),
            "{family}: every series has buckets and a count"
        );
        for (series, list) in &buckets {
            let values: Vec<f64> = list.iter().map(|(_, v)| *v).collect();
            assert!(
                values.windows(2).all(|w| w[0] <= w[1]),
                "{family} {series}: buckets not cumulative: {list:?}"
            );
            let bounds: Vec<f64> = list[..list.len() - 1]
                .iter()
                .map(|(le, _)| le.parse().unwrap())
                .collect();
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            let (last_le, last) = list.last().unwrap();
            assert_eq!(last_le, "+Inf", "{family} {series}");
            assert_eq!(*last, counts[series], "{family} {series}: +Inf != _count");
        }
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn metrics_are_valid_prometheus_text_with_routes_outcomes_and_tickets() {
    let app = spawn_app();
    let answered = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "within how many days can I request a refund?"}),
    );
    assert_eq!(answered.1["outcome"], "answer", "{}", answered.1);
    let escalated = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "I want to talk to a human", "contact_email": "ann@example.com"}),
    );
    assert_eq!(escalated.1["outcome"], "escalate", "{}", escalated.1);
    let reason = escalated.1["reason"].as_str().unwrap().to_string();
    for id in ["fictart", "stable-diffusion-web", "no-such-tenant"] {
        app.get(&format!("/api/v1/tenants/{id}"));
    }
    app.get("/no-such-page.html");

    let (status, text) = app.get("/metrics");
    assert_eq!(status, 200);
    let samples = parse_prometheus(&text);

    let requests = "askdesk_http_requests_total";
    let tenants_route = [("route", "/api/v1/tenants/{id}")];
    assert_eq!(
        value(&samples, requests, &[tenants_route[0], ("status", "2xx")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, requests, &[tenants_route[0], ("status", "4xx")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/api/v1/chat"), ("status", "2xx")]
        ),
        Some(2.0)
    );
    assert!(value(&samples, requests, &[("route", "other")]).is_some());
    assert!(
        !text.contains("no-such-tenant") && !text.contains("no-such-page"),
        "raw paths never become labels"
    );
    assert_eq!(
        value(
            &samples,
            "askdesk_http_request_duration_milliseconds_count",
            &[("route", "/api/v1/chat")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "askdesk_answers_total", &[("outcome", "answer")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "askdesk_answers_total",
            &[("outcome", "escalate")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "askdesk_escalations_total",
            &[("reason", &reason)]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "askdesk_retrieval_duration_milliseconds_count",
            &[]
        ),
        Some(2.0)
    );
    // Extractive mode: the LLM was never asked.
    assert_eq!(
        value(&samples, "askdesk_llm_duration_milliseconds_count", &[]),
        Some(0.0)
    );
    // The escalation with an email became a ticket (pending or already sent).
    let tickets: f64 = ["pending", "sent", "failed"]
        .iter()
        .filter_map(|s| value(&samples, "askdesk_tickets", &[("status", s)]))
        .sum();
    assert_eq!(tickets, 1.0, "{text}");
}

#[test]
fn the_checker_rejects_broken_text() {
    let valid = "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    assert_eq!(parse_prometheus(valid).len(), 4);
    for broken in [
        // not cumulative
        valid.replace("le=\"1\"} 1", "le=\"1\"} 3"),
        // +Inf differs from _count
        valid.replace("h_count 2", "h_count 5"),
        // a sample without HELP/TYPE
        format!("{valid}other_total 1\n"),
        // not `name value`
        format!("{valid}h_sum\n"),
    ] {
        let result = std::panic::catch_unwind(|| parse_prometheus(&broken));
        assert!(result.is_err(), "accepted: {broken}");
    }
}
