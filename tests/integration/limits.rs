//! Rate limits on the real service: per client IP on the public API, per tenant on answers,
//! refused with 429, `Retry-After` and the one error shape.

use std::sync::Arc;
use std::time::Duration;

use askdesk::config::RateLimitConfig;
use serde_json::json;

use crate::answers::pipeline;
use crate::app::{own_pipeline, spawn_app_limited, spawn_app_with, App, Reply};

/// One a minute: a refused request stays refused for the whole test, however slow the machine.
fn tight(per_ip_burst: u32, per_tenant_burst: u32) -> RateLimitConfig {
    RateLimitConfig {
        per_ip_per_minute: if per_ip_burst > 0 { 1 } else { 0 },
        per_ip_burst,
        per_tenant_per_minute: if per_tenant_burst > 0 { 1 } else { 0 },
        per_tenant_burst,
        trust_forwarded_for: true,
    }
}

fn config_from(app: &App, ip: &str) -> Reply {
    app.request(
        "GET",
        "/api/v1/tenants/fictart",
        &[("x-forwarded-for", ip)],
        None,
    )
}

fn chat_from(app: &App, ip: &str, tenant: &str) -> Reply {
    app.request(
        "POST",
        "/api/v1/chat",
        &[("x-forwarded-for", ip)],
        Some(&json!({"tenant": tenant, "message": "how do refunds work?"})),
    )
}

fn assert_rate_limited(r: &Reply) {
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "rate_limited");
    assert!(r.body["error"]["message"].is_string());
    let retry_after: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(retry_after >= 1, "{retry_after}");
}

#[test]
fn a_client_over_its_budget_gets_429_and_other_clients_do_not() {
    let app = spawn_app_limited(pipeline(), tight(3, 0));
    for _ in 0..3 {
        assert_eq!(config_from(&app, "198.51.100.1").status, 200);
    }
    let refused = config_from(&app, "198.51.100.1");
    assert_rate_limited(&refused);
    assert!(
        refused
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    // The same client is refused on every public route, not only the one it used up.
    assert_rate_limited(&chat_from(&app, "198.51.100.1", "fictart"));
    // Another client is unaffected.
    assert_eq!(config_from(&app, "198.51.100.2").status, 200);
    // Outside the public API there is no per-IP limit.
    for _ in 0..5 {
        let r = app.request(
            "GET",
            "/healthz",
            &[("x-forwarded-for", "198.51.100.1")],
            None,
        );
        assert_eq!(r.status, 200);
    }
}

#[test]
fn without_trust_the_forwarded_header_cannot_dodge_the_limit() {
    let mut limits = tight(2, 0);
    limits.trust_forwarded_for = false;
    let app = spawn_app_limited(pipeline(), limits);
    assert_eq!(config_from(&app, "198.51.100.1").status, 200);
    assert_eq!(config_from(&app, "198.51.100.2").status, 200);
    // Every request came from 127.0.0.1, whatever the header says.
    assert_rate_limited(&config_from(&app, "198.51.100.3"));
}

#[test]
fn a_tenants_answer_budget_applies_across_clients() {
    let app = spawn_app_limited(pipeline(), tight(0, 2));
    assert_eq!(chat_from(&app, "203.0.113.1", "fictart").status, 200);
    assert_eq!(chat_from(&app, "203.0.113.2", "fictart").status, 200);
    let refused = chat_from(&app, "203.0.113.3", "fictart");
    assert_rate_limited(&refused);
    // The handoff is an answering endpoint too; another tenant has its own budget.
    let r = app.request(
        "POST",
        "/api/v1/escalations",
        &[("x-forwarded-for", "203.0.113.4")],
        Some(&json!({"tenant": "fictart", "contact_email": "ann@example.com"})),
    );
    assert_rate_limited(&r);
    assert_eq!(
        chat_from(&app, "203.0.113.3", "stable-diffusion-web").status,
        200
    );
    // Reading the brand's config is not an answer.
    assert_eq!(config_from(&app, "203.0.113.3").status, 200);
}

/// A replica asked more than it can answer sheds what waits too long for an answer slot with
/// 503 `unavailable` and `Retry-After`, answers the rest, and answers normally once the burst
/// is over.
#[test]
fn questions_that_wait_too_long_for_a_slot_get_503_and_the_rest_are_answered() {
    let overloadable = own_pipeline(&crate::helpers::repo_root().join("knowledge"))
        .with_queue_timeout(Duration::from_millis(1));
    let app = spawn_app_with(Arc::new(overloadable));
    let replies: Vec<(u16, Option<String>, serde_json::Value)> = app.runtime.block_on(async {
        let client = crate::helpers::http_client();
        let sends = (0..48).map(|i| {
            let request = client
                .post(format!("{}/api/v1/chat", app.base))
                .json(&json!({
                    "tenant": "fictart",
                    "message": format!("how do I export my artwork number {i}"),
                }));
            async move {
                let r = request.send().await.unwrap();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), retry_after, r.json().await.unwrap())
            }
        });
        futures_util::future::join_all(sends).await
    });
    let shed: Vec<_> = replies.iter().filter(|(s, ..)| *s == 503).collect();
    assert!(
        replies.iter().all(|(s, ..)| *s == 200 || *s == 503),
        "{replies:?}"
    );
    assert!(
        !shed.is_empty(),
        "48 questions at once on one session, none shed"
    );
    assert!(shed.len() < replies.len(), "every question shed");
    for (_, retry_after, body) in shed {
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    }
    let (status, body) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "how do I export my artwork"}),
    );
    assert_eq!(status, 200, "{body}");
}
