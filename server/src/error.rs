//! The API's errors: RFC 9457 problem details (`application/problem+json`)
//! with a stable `code` (SPEC 7, 8.1).
//!
//! 4xx answers carry a short reason; 5xx answers carry a generic body, and the
//! internal error is logged here and left in the response extensions for
//! middleware, never sent to the client.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The problem `type` URIs are relative references to this base.
const PROBLEM_BASE: &str = "/api/v1/problems/";

/// An error answered to a client.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A server-side failure (HTTP 500, `internal`); the message is logged,
    /// never sent.
    Internal(String),
    /// The request does not parse: a bad query, path or body (HTTP 400,
    /// `malformed`).
    Malformed(String),
    /// Nothing is served at this path: no such tile, entry or checkpoint yet
    /// (HTTP 404, `not_found`).
    NotFound(String),
    /// The request parses but names sizes or indexes outside the tree
    /// (HTTP 400, `out_of_range`).
    OutOfRange(String),
    /// A statement was refused by a rule or a signature check; the status
    /// follows the code (see [`rejection_status`]).
    Rejected(minhbach_ledger::rules::Rejection),
    /// The body is larger than the server accepts (HTTP 413, `too_large`).
    TooLarge(String),
    /// This client sent too many statements (HTTP 429, `rate_limited`).
    RateLimited(String),
    /// The sequencer's queue is full or it is not running (HTTP 503,
    /// `overloaded`).
    Overloaded(String),
    /// The books could not be read (HTTP 503, `unavailable`): nothing was
    /// decided or written; the store's error is logged, never sent.
    Unavailable(String),
    /// The path exists but not for this method (HTTP 405,
    /// `method_not_allowed`).
    MethodNotAllowed(String),
}

/// The HTTP status of a rule's rejection code: 400 for what does not parse,
/// 401 for signatures and unknown keys, 403 for a key not allowed to sign
/// this, 409 for duplicates, 413 for size, 422 for every other rule.
#[must_use]
pub(crate) fn rejection_status(code: &str) -> StatusCode {
    match code {
        "malformed" => StatusCode::BAD_REQUEST,
        "bad_signature" | "unknown_key" => StatusCode::UNAUTHORIZED,
        "unauthorized" | "key_revoked" | "out_of_scope" => StatusCode::FORBIDDEN,
        "duplicate" => StatusCode::CONFLICT,
        "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A short title for a rejection code: the code in words.
fn code_title(code: &str) -> String {
    let mut title = code.replace('_', " ");
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

impl ApiError {
    /// A server-side failure; `error` is logged, the client sees a generic body.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// The books could not be read (`error` is logged, the client sees a
    /// generic body).
    pub(crate) fn books(error: &minhbach_ledger::store::StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Rejected(r) => (rejection_status(r.code()), r.code(), "Statement refused"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Too large"),
            Self::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Rate limited",
            ),
            Self::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded"),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed", "Malformed request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            Self::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::OutOfRange(_) => (
                StatusCode::BAD_REQUEST,
                "out_of_range",
                "Outside the current tree",
            ),
        }
    }
}

/// The body of a problem answer (RFC 9457 section 3.1, plus `code`).
#[derive(Serialize)]
pub(crate) struct Problem {
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    code: &'static str,
    /// For `duplicate`: the entry that already holds what collides.
    #[serde(skip_serializing_if = "Option::is_none")]
    existing_index: Option<u64>,
}

/// The internal error of a 5xx answer, for logging middleware.
#[derive(Clone, Debug)]
// Only the tests read it until the metrics middleware does.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct InternalError(pub(crate) String);

impl ApiError {
    /// The problem body (RFC 9457) of this error.
    pub(crate) fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let detail = match self {
            Self::Internal(message) => {
                tracing::error!(target: "minhbach_server::api", error = %message, "request failed");
                "The server could not answer this request.".to_owned()
            }
            Self::Unavailable(message) => {
                tracing::error!(target: "minhbach_server::api", error = %message, "the books cannot be read");
                "The server cannot read its books right now; nothing was decided or written. Try again later.".to_owned()
            }
            Self::Rejected(r) => r.to_string(),
            Self::Malformed(d)
            | Self::NotFound(d)
            | Self::OutOfRange(d)
            | Self::TooLarge(d)
            | Self::RateLimited(d)
            | Self::Overloaded(d)
            | Self::MethodNotAllowed(d) => d.clone(),
        };
        let (title, existing_index) = match self {
            Self::Rejected(r) => (code_title(r.code()), r.existing_index()),
            _ => (title.to_owned(), None),
        };
        Problem {
            r#type: format!("{PROBLEM_BASE}{code}"),
            title,
            status: status.as_u16(),
            detail,
            code,
            existing_index,
        }
    }
}

/// A lookup of the books failed: `unavailable`.
impl From<minhbach_ledger::store::StoreError> for ApiError {
    fn from(error: minhbach_ledger::store::StoreError) -> Self {
        Self::books(&error)
    }
}

impl From<minhbach_ledger::rules::ApplyError> for ApiError {
    fn from(error: minhbach_ledger::rules::ApplyError) -> Self {
        use minhbach_ledger::rules::ApplyError;
        match error {
            ApplyError::Rejected(r) => Self::Rejected(r),
            ApplyError::Unavailable(e) => Self::books(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        let problem = self.problem();
        // Serialising a struct of strings and an integer cannot fail.
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::Internal(message) = self {
            response.extensions_mut().insert(InternalError(message));
        }
        response
    }
}

/// [`Query`], with rejections answered as `malformed` problems.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e: QueryRejection| ApiError::Malformed(e.body_text()))
    }
}

/// [`Path`], with rejections answered as `malformed` problems.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e: PathRejection| ApiError::Malformed(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn internal_errors_keep_their_detail_out_of_the_body() {
        let response = ApiError::internal("rocksdb: IO error: /secret/path").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response
                .extensions()
                .get::<InternalError>()
                .map(|e| e.0.as_str()),
            Some("rocksdb: IO error: /secret/path")
        );
        let problem = body(response).await;
        assert_eq!(problem["code"], "internal");
        assert_eq!(problem["status"], 500);
        assert!(!problem.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn client_errors_carry_their_reason() {
        let response =
            ApiError::OutOfRange("size 9 is larger than the tree size 3".into()).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem = body(response).await;
        assert_eq!(problem["code"], "out_of_range");
        assert_eq!(problem["detail"], "size 9 is larger than the tree size 3");
    }
}
