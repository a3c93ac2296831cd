//! Every API error, turned into an `application/problem+json` response (RFC 9457) in one place.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Serialize;

use crate::dataset::FieldProblem;
use crate::store::StoreError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed, as the API tells its client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("parameter \"{parameter}\": {reason}")]
    InvalidParameter { parameter: String, reason: String },
    #[error("unknown query parameter \"{0}\"")]
    UnknownParameter(String),
    #[error("no initiative with id \"{0}\"")]
    NoSuchInitiative(String),
    #[error("{0}")]
    NoSuchCluster(String),
    #[error("nothing here: {0}")]
    NoRoute(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("none of this resource's representations is acceptable (it offers {0})")]
    NotAcceptable(String),
    #[error("the request took too long to arrive or to answer; try again in {0} seconds")]
    TimedOut(u64),
    /// An error the framework or a layer answered without a problem body; `detail` keeps
    /// what it said.
    #[error("{detail}")]
    Http { status: StatusCode, detail: String },
    #[error("the record is invalid: {}", describe(.0))]
    InvalidRecord(Vec<FieldProblem>),
    #[error("a curator's token is required: send \"Authorization: Bearer TOKEN\"")]
    Unauthorized,
    #[error("the request body did not arrive in time")]
    BodyTimedOut,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("unsupported content type \"{0}\" (expected {1})")]
    UnsupportedMediaType(String, &'static str),
    #[error("too many submissions from your address; try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("no submission with id \"{0}\"")]
    NoSuchSubmission(String),
    /// The same `Idempotency-Key` came with another request (method, path, body or writer).
    #[error(
        "the idempotency key \"{0}\" was used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused(String),
    /// A request with this `Idempotency-Key` is still being answered.
    #[error(
        "a request with the idempotency key \"{0}\" is still in progress; retry once it has been answered"
    )]
    IdempotencyKeyInFlight(String),
    #[error(
        "this server serves a dataset file read-only (started with --data); it takes no changes"
    )]
    ReadOnly,
    /// The store cannot take the change now (unreachable, busy, failing over, read-only):
    /// nothing was changed; retry after the given seconds.
    #[error("{0}; nothing was changed, please retry shortly")]
    StoreUnavailable(String, u64),
    /// The store has no room for the change; nothing was changed.
    #[error("the store is out of space; nothing was changed")]
    InsufficientStorage,
    #[error("the service is busy; try again in {0} seconds")]
    Overloaded(u64),
    #[error("the service is starting and loading its data; try again in {0} seconds")]
    Loading(u64),
    #[error("the server failed to answer this request")]
    Internal,
}

impl ApiError {
    pub fn invalid(parameter: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter { .. } | ApiError::UnknownParameter(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NoSuchInitiative(_) | ApiError::NoSuchCluster(_) | ApiError::NoRoute(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed | ApiError::ReadOnly => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Http { status, .. } => *status,
            ApiError::InvalidRecord(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimedOut => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(..) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict(_) | ApiError::IdempotencyKeyInFlight(_) => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NoSuchSubmission(_) => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_)
            | ApiError::StoreUnavailable(..)
            | ApiError::Loading(_)
            | ApiError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::NotAcceptable(_) => "Not acceptable",
            ApiError::TimedOut(_) => "Timed out",
            ApiError::Http { status, .. } => status.canonical_reason().unwrap_or("Error"),
            ApiError::InvalidParameter { .. } => "Invalid parameter",
            ApiError::UnknownParameter(_) => "Unknown parameter",
            ApiError::NoSuchInitiative(_) => "Initiative not found",
            ApiError::NoSuchCluster(_) => "Cluster not found",
            ApiError::NoRoute(_) => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::ReadOnly => "Read-only",
            ApiError::InvalidRecord(_) => "Invalid initiative",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::BodyTimedOut => "Request timeout",
            ApiError::UnsupportedMediaType(..) => "Unsupported media type",
            ApiError::TooManyRequests(_) => "Too many requests",
            ApiError::PreconditionFailed(_) => "Precondition failed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::NoSuchSubmission(_) => "Submission not found",
            ApiError::IdempotencyKeyReused(_) => "Idempotency key reused",
            ApiError::IdempotencyKeyInFlight(_) => "Idempotency key in use",
            ApiError::Unavailable(_) => "Not available",
            ApiError::StoreUnavailable(..) => "Store unavailable",
            ApiError::InsufficientStorage => "Insufficient storage",
            ApiError::Loading(_) => "Loading",
            ApiError::Overloaded(_) => "Overloaded",
            ApiError::Internal => "Internal error",
        }
    }

    fn parameter(&self) -> Option<&str> {
        match self {
            ApiError::InvalidParameter { parameter, .. } => Some(parameter),
            ApiError::UnknownParameter(name) => Some(name),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
    /// Every problem with a submitted record, each naming its field.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldProblem]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ProblemBody {
            kind: "about:blank",
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            parameter: self.parameter(),
            errors: match &self {
                ApiError::InvalidRecord(problems) => Some(problems),
                _ => None,
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], json).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"skillsmap curators\""),
                );
            }
            ApiError::TooManyRequests(seconds)
            | ApiError::TimedOut(seconds)
            | ApiError::Loading(seconds)
            | ApiError::Overloaded(seconds)
            | ApiError::StoreUnavailable(_, seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            _ => {}
        }
        response
    }
}

/// Longest plain-text error body of a layer or the framework kept as a problem's detail.
const MAX_DETAIL_BYTES: usize = 1024;

/// The last line of the one error path: any error response that is not yet problem+json
/// (the framework's extractor rejections, a layer's refusal) becomes one with the same
/// status and headers, its plain-text message kept as the detail.
pub async fn every_error_is_a_problem(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The HTML pages answer their errors with readable pages of their own.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let is_text = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/plain"));
    let text = if is_text {
        http_body_util::Limited::new(body, MAX_DETAIL_BYTES)
            .collect()
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_bytes().to_vec()).ok())
            .filter(|t| !t.trim().is_empty())
    } else {
        None
    };
    let detail = text.unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_string()
    });
    let problem = ApiError::Http { status, detail }.into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
        parts.headers.remove(&name);
    }
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, problem_body)
}

fn describe(problems: &[FieldProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    parts.join("; ")
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NoSuchInitiative(id) => ApiError::NoSuchInitiative(id),
            StoreError::NoSuchSubmission(id) => ApiError::NoSuchSubmission(id),
            StoreError::Invalid(problems) => ApiError::InvalidRecord(problems),
            e @ StoreError::PreconditionFailed(_) => ApiError::PreconditionFailed(e.to_string()),
            StoreError::KeyInUse(key) => ApiError::IdempotencyKeyInFlight(key),
            e @ (StoreError::AlreadyExists(_) | StoreError::AlreadyDecided(..)) => {
                ApiError::Conflict(e.to_string())
            }
            e @ (StoreError::Unavailable(_) | StoreError::ReadOnly(_)) => {
                tracing::debug!(error = %e, "store unavailable for a request");
                let retry = e.retry_after().unwrap_or(crate::store::RETRY_AFTER_SECONDS);
                // The client learns that the store is unavailable, not the server's address.
                let what = match e {
                    StoreError::ReadOnly(_) => "the store takes no changes for now",
                    _ => "the store is unavailable for now",
                };
                ApiError::StoreUnavailable(what.into(), retry)
            }
            e @ StoreError::Full(_) => {
                tracing::error!(error = %e, "the store is out of space");
                ApiError::InsufficientStorage
            }
            e @ (StoreError::Corrupt(..)
            | StoreError::TooNew { .. }
            | StoreError::Unusable { .. }
            | StoreError::Backend(_)) => {
                // The details are for the operator, not the client.
                tracing::error!(error = %e, "store failure");
                ApiError::Internal
            }
        }
    }
}
