//! The OpenAPI document served at `GET /openapi.json`. The router is built from the same
//! `#[utoipa::path]` handlers (see [`super::router`]), so every endpoint is described, with
//! the one error shape, the two kinds of API key and the streamed variants.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "askdesk",
        description = "Self-hosted support chatbot: grounded answers from a brand's own help center, with email handoff to its support team.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&ApiKeys),
    tags(
        (name = "chat", description = "The public API the chat widget uses (per-brand CORS, per-IP rate limit)"),
        (name = "openai", description = "OpenAI-compatible API for server-to-server use (`model` is the tenant)"),
        (name = "admin", description = "The support lead's API"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer keys the `security` of the admin and OpenAI-compatible paths name.
struct ApiKeys;

impl Modify for ApiKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme("admin_key", bearer("The admin key (`ASKDESK_ADMIN_KEY`)"));
        components.add_security_scheme(
            "api_key",
            bearer("A server-to-server key (`ASKDESK_API_KEYS`)"),
        );
    }
}
