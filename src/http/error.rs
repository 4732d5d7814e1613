//! The one error shape of the API: `{"error": {"code": "...", "message": "..."}}` with a stable
//! snake_case code per variant. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON or a field of the wrong type.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but invalid values (empty message, bad email, ...).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The resource is not in a state that allows the action (retrying a ticket that did not fail).
    #[error("{0}")]
    Conflict(String),
    /// A conversation token that does not belong to the conversation.
    #[error("this conversation token is not valid for the conversation")]
    Forbidden,
    /// A browser request from an origin the tenant does not allow (CORS).
    #[error("this website is not allowed to use this brand's chat")]
    OriginNotAllowed,
    /// Too many requests from one client or for one tenant; retry after this many seconds.
    #[error("too many requests; please wait {0} s and try again")]
    RateLimited(u64),
    /// A missing or wrong API key (admin or server-to-server).
    #[error("a valid API key is required: send it as `Authorization: Bearer <key>`")]
    Unauthorized,
    #[error("{0}")]
    TooLarge(String),
    /// A body or file of a type the endpoint does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request field the endpoint understands but does not do (`n` above 1, `tools` on the
    /// OpenAI-compatible API): refused rather than silently ignored.
    #[error("{0}")]
    UnsupportedParameter(String),
    /// The database cannot be reached just now; the client should retry after a few seconds
    /// (sent as `Retry-After`). Nothing was stored.
    #[error("the service is briefly unavailable; please try again in a few seconds")]
    Unavailable,
    /// Something failed inside; the cause is logged with the request id.
    #[error("something went wrong on our side; please try again")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "invalid_conversation_token"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::OriginNotAllowed => (StatusCode::FORBIDDEN, "origin_not_allowed"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::UnsupportedParameter(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_parameter")
            }
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

/// The body of every error response, and the data of an SSE `error` event.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code: `bad_request`, `invalid_input`, `not_found`, `conflict`,
    /// `invalid_conversation_token`, `unauthorized`, `origin_not_allowed`, `rate_limited`,
    /// `body_too_large`, `unsupported_media_type`, `unsupported_parameter`, `unavailable` or
    /// `internal_error`.
    pub code: &'static str,
    /// What was wrong, for a person; never internals.
    pub message: String,
}

impl ApiError {
    /// The JSON body `{"error": {"code", "message"}}` (also the data of an SSE `error` event).
    /// An internal cause is logged here, never sent.
    pub fn body(&self) -> ErrorBody {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let (_, code) = self.status_and_code();
        ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut response = (status, Json(self.body())).into_response();
        let retry_after = match self {
            ApiError::RateLimited(seconds) => Some(seconds.max(1)),
            ApiError::Unavailable => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// When a client should retry after the database was unreachable or the replica overloaded:
/// long enough for a connection or a free slot to come back, short enough that a customer
/// waits only a moment.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 5;

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::Database(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<crate::answer::AnswerError> for ApiError {
    fn from(e: crate::answer::AnswerError) -> Self {
        use crate::answer::AnswerError;
        match e {
            AnswerError::Request(e) => ApiError::Invalid(e.to_string()),
            AnswerError::UnknownTenant(t) => ApiError::NotFound(format!("unknown tenant {t:?}")),
            AnswerError::Busy(waited_ms) => {
                tracing::warn!(waited_ms, "no answer slot came free: overloaded");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::desk::DeskError> for ApiError {
    fn from(e: crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match e {
            DeskError::UnknownTenant(_) | DeskError::UnknownConversation => {
                ApiError::NotFound(e.to_string())
            }
            DeskError::WrongToken => ApiError::Forbidden,
            DeskError::Invalid(message) => ApiError::Invalid(message),
            DeskError::Answer(e) => e.into(),
            DeskError::Store(e) => e.into(),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as R;
        match rejection {
            R::MissingJsonContentType(_) => {
                ApiError::UnsupportedMediaType("send the request body as application/json".into())
            }
            R::JsonDataError(e) => ApiError::Invalid(clean(&e.body_text())),
            R::JsonSyntaxError(_) => {
                ApiError::BadRequest("the request body is not valid JSON".into())
            }
            R::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the request body is too large".into())
            }
            other => ApiError::BadRequest(clean(&other.body_text())),
        }
    }
}

/// serde's messages name the field and problem; drop the "at line/column" position noise.
fn clean(text: &str) -> String {
    let text = text
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        .to_string();
    text.split(" at line ").next().unwrap_or(&text).to_string()
}

/// A JSON body extractor whose rejections use [`ApiError`]'s shape.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    axum::Json<T>:
        axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn an_unreachable_database_is_a_503_with_retry_after_and_no_internals() {
        let lost = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(lost, StoreError::Unavailable(_)), "{lost:?}");
        let response = ApiError::from(lost).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "5");

        let busy = ApiError::from(crate::answer::AnswerError::Busy(2000)).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[axum::http::header::RETRY_AFTER], "5");

        let broken = ApiError::from(StoreError::from(sqlx::Error::Protocol("bad".into())));
        assert!(matches!(broken, ApiError::Internal(_)));
        assert_eq!(
            broken.body().error.message,
            "something went wrong on our side; please try again"
        );
    }
}
