//! Per-tenant CORS on the real service: preflights admit the origins some tenant allows, the
//! handler refuses an origin the request's own tenant does not allow, and nothing outside the
//! public API ever carries CORS headers.

use serde_json::json;

use crate::app::{spawn_app, App, Reply};

/// From `knowledge/fictart/tenant.toml` and `knowledge/stable-diffusion-web/tenant.toml`.
const FICTART_SITE: &str = "https://fictart.com";
const SD_SITE: &str = "https://stable-diffusion-web.com";

fn preflight(app: &App, path: &str, origin: &str, method: &str) -> Reply {
    app.request(
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            ("access-control-request-headers", "content-type"),
        ],
        None,
    )
}

fn chat_from(app: &App, origin: &str, tenant: &str) -> Reply {
    app.request(
        "POST",
        "/api/v1/chat",
        &[("origin", origin)],
        Some(&json!({"tenant": tenant, "message": "within how many days can I request a refund?"})),
    )
}

#[test]
fn a_preflight_from_an_allowed_origin_gets_the_cors_headers() {
    let app = spawn_app();
    for (origin, path) in [
        (FICTART_SITE, "/api/v1/chat"),
        (SD_SITE, "/api/v1/escalations"),
    ] {
        let r = preflight(&app, path, origin, "POST");
        assert!(r.status < 300, "{path}: {}", r.status);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        let methods = r.header("access-control-allow-methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = r.header("access-control-allow-headers").unwrap();
        assert!(headers.contains("content-type"), "{headers}");
        assert!(r.header("vary").unwrap().contains("origin"));
        assert!(r.body.is_null(), "a preflight has no body");
    }
}

#[test]
fn a_preflight_from_an_unknown_origin_gets_no_cors_headers() {
    let app = spawn_app();
    let r = preflight(&app, "/api/v1/chat", "https://evil.example", "POST");
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-allow-methods").is_none());
    // A look-alike of an allowed origin is another origin.
    let r = preflight(
        &app,
        "/api/v1/chat",
        "https://fictart.com.evil.example",
        "POST",
    );
    assert!(r.header("access-control-allow-origin").is_none());
}

#[test]
fn a_cross_tenant_origin_is_refused_by_the_handler() {
    let app = spawn_app();
    // stable-diffusion-web's site passes the preflight (some tenant allows it), but it may not
    // talk to fictart's bot.
    let r = chat_from(&app, SD_SITE, "fictart");
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "origin_not_allowed");
    assert!(r.body["error"]["message"].as_str().unwrap().len() > 10);
    let r = app.request(
        "GET",
        "/api/v1/tenants/fictart",
        &[("origin", SD_SITE)],
        None,
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"]["code"], "origin_not_allowed");
    let r = app.request(
        "POST",
        "/api/v1/escalations",
        &[("origin", FICTART_SITE)],
        Some(&json!({"tenant": "stable-diffusion-web", "contact_email": "ann@example.com"})),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"]["code"], "origin_not_allowed");
    let tickets = app
        .runtime
        .block_on(async { app.store.tickets(None, None, 10).await.unwrap() });
    assert!(tickets.is_empty(), "a refused handoff stores nothing");
}

#[test]
fn the_tenants_own_origin_the_service_itself_and_servers_are_admitted() {
    let app = spawn_app();
    let r = chat_from(&app, FICTART_SITE, "fictart");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(FICTART_SITE));
    assert!(r.body["answer"].as_str().unwrap().contains("7 days"));
    // The demo pages are served by askdesk: their origin is the service's own.
    let r = chat_from(&app, &app.base, "fictart");
    assert_eq!(r.status, 200, "{}", r.body);
    // No Origin: a server or curl, not a browser page.
    let (status, _) = app.post(
        "/api/v1/chat",
        &json!({"tenant": "fictart", "message": "how do refunds work?"}),
    );
    assert_eq!(status, 200);
}

#[test]
fn routes_outside_the_public_api_never_answer_cors() {
    let app = spawn_app();
    for path in [
        "/api/admin/tickets",
        "/v1/chat/completions",
        "/metrics",
        "/healthz",
    ] {
        let r = preflight(&app, path, FICTART_SITE, "POST");
        assert!(
            r.headers
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-")),
            "{path}: {:?}",
            r.headers
        );
        let r = app.request("GET", path, &[("origin", FICTART_SITE)], None);
        assert!(
            r.header("access-control-allow-origin").is_none(),
            "{path}: {:?}",
            r.headers
        );
    }
}
