//! CORS for the public `/api/v1/*` routes, per tenant (`allowed_origins` in `tenant.toml`).
//!
//! Two steps, because a preflight carries no body and so no tenant: the [`layer`] answers
//! preflights for any origin that some tenant allows and adds the CORS headers to responses
//! for such origins; then each handler, once it knows the tenant, refuses a cross-origin
//! request from an origin that this tenant does not allow ([`CorsPolicy::check`]: 403
//! `origin_not_allowed`). Requests without `Origin` (servers, curl) and same-origin requests
//! (the widget and demo pages served by askdesk itself) pass. Other routes (`/api/admin/*`,
//! `/v1/*`, `/metrics`) never get CORS headers, so browsers on other sites cannot read them.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, HOST,
    ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::config::CorsConfig;
use crate::knowledge::TenantConfig;

/// The handler-level origin check.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    allow_same_origin: bool,
}

impl CorsPolicy {
    pub fn new(config: &CorsConfig) -> Self {
        Self {
            allow_same_origin: config.allow_same_origin,
        }
    }

    /// Admits a request with no `Origin`, from the service's own origin, or from an origin the
    /// tenant allows; anything else is 403 `origin_not_allowed`.
    pub fn check(&self, headers: &HeaderMap, tenant: &TenantConfig) -> Result<(), ApiError> {
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().map_err(|_| ApiError::OriginNotAllowed)?;
        if (self.allow_same_origin && is_same_origin(origin, headers))
            || allows(&tenant.allowed_origins, origin)
        {
            Ok(())
        } else {
            Err(ApiError::OriginNotAllowed)
        }
    }
}

/// An `Origin` (`scheme://host[:port]`) whose host and port are the `Host` the request was
/// sent to. Browsers set both, and a page cannot forge either.
fn is_same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Origins compare without case and without a trailing slash someone wrote in tenant.toml.
fn allows(allowed: &[String], origin: &str) -> bool {
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// Some tenant allows `origin`.
fn any_tenant_allows(state: &AppState, origin: &str) -> bool {
    state
        .desk
        .pipeline
        .retriever()
        .tenant_ids()
        .iter()
        .filter_map(|id| state.desk.pipeline.tenant(id))
        .any(|config| allows(&config.allowed_origins, origin))
}

/// Middleware: preflights and CORS response headers of the public API.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = match request.headers().get(ORIGIN) {
        Some(origin) if super::is_public_api(request.uri().path()) => origin.clone(),
        _ => return next.run(request).await,
    };
    let allowed = origin.to_str().is_ok_and(|o| any_tenant_allows(&state, o));
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("origin"));
    if allowed {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if preflight {
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, accept"),
            );
            headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        } else {
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("retry-after, x-request-id"),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(origins: &[&str]) -> TenantConfig {
        let mut config =
            TenantConfig::parse("name = \"Acme\"\nsupport_email = \"help@acme.test\"").unwrap();
        config.allowed_origins = origins.iter().map(|o| o.to_string()).collect();
        config
    }

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            h.insert(ORIGIN, origin.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_rules() {
        let policy = CorsPolicy::new(&CorsConfig::default());
        let acme = tenant(&["https://acme.test/", "https://shop.acme.test"]);
        let ok = |o: Option<&str>, host| policy.check(&headers(o, host), &acme).is_ok();
        assert!(ok(None, "askdesk.test"), "no Origin: not a browser page");
        assert!(ok(Some("https://acme.test"), "askdesk.test"));
        assert!(ok(Some("https://SHOP.acme.test"), "askdesk.test"));
        assert!(
            ok(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            "same origin"
        );
        assert!(!ok(Some("https://evil.test"), "askdesk.test"));
        assert!(!ok(Some("https://acme.test.evil.test"), "askdesk.test"));
        assert!(!ok(Some("null"), "askdesk.test"));
        assert!(!ok(Some("http://127.0.0.1:8081"), "127.0.0.1:8080"));
        let strict = CorsPolicy::new(&CorsConfig {
            allow_same_origin: false,
        });
        assert!(strict
            .check(
                &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
                &acme
            )
            .is_err());
    }
}
