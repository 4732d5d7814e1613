//! API keys: the admin key that guards `/api/admin/*` and the server-to-server keys of the
//! OpenAI-compatible endpoint, from the `[keys]` configuration. Keys are compared in constant
//! time and never logged: their `Debug` form is redacted.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::config::Secret;

/// The keys the service accepts. No admin key configured means the admin API is closed
/// (every request gets 401), never open.
#[derive(Debug, Clone, Default)]
pub struct AccessKeys {
    pub admin: Option<Secret>,
    pub api: Vec<Secret>,
}

impl AccessKeys {
    pub fn is_admin(&self, candidate: &str) -> bool {
        self.admin.as_ref().is_some_and(|k| k.matches(candidate))
    }

    pub fn is_api_key(&self, candidate: &str) -> bool {
        // Check every key so the time taken does not reveal which one matched.
        self.api
            .iter()
            .fold(false, |found, k| k.matches(candidate) | found)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?,
    )
}

/// The token of an `Authorization` value with the Bearer scheme, whose name is
/// case-insensitive (RFC 7235: "bearer", "BEARER").
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Extractor that admits only requests carrying the admin key.
pub struct RequireAdmin;

impl FromRequestParts<AppState> for RequireAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(token) if state.keys.is_admin(token) => Ok(RequireAdmin),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// Extractor that admits only requests carrying one of the server-to-server API keys.
pub struct RequireApiKey;

impl FromRequestParts<AppState> for RequireApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(token) if state.keys.is_api_key(token) => Ok(RequireApiKey),
            _ => Err(ApiError::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = AccessKeys {
            admin: Some(Secret::new("admin-secret")),
            api: vec![Secret::new("k1"), Secret::new("k2")],
        };
        assert!(keys.is_admin("admin-secret"));
        assert!(!keys.is_admin("admin-secre"));
        assert!(!keys.is_admin("k1"));
        assert!(keys.is_api_key("k2"));
        assert!(!keys.is_api_key("admin-secret"));
        assert!(!AccessKeys::default().is_admin(""));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_is_not() {
        for value in ["Bearer k1", "bearer k1", "BEARER  k1 ", "BeArEr k1"] {
            assert_eq!(bearer_token(value), Some("k1"), "{value:?}");
        }
        assert_eq!(bearer_token("Bearer K1"), Some("K1"));
        for value in ["Basic k1", "Bearerk1", "Bearer ", "k1", ""] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let keys = AccessKeys {
            admin: Some(Secret::new("admin-secret")),
            api: vec![Secret::new("k1")],
        };
        assert!(!format!("{keys:?}").contains("admin-secret"));
    }
}
