//! Limits on one request: the declared size of its body and the time it may take, each
//! refused with a problem at once rather than after waiting for what never comes.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::problem::ApiError;

/// How long a client that timed out is asked to wait before trying again, in seconds.
const RETRY_AFTER_TIMEOUT_S: u64 = 5;

/// Refuses with 413 a request whose `Content-Length` is over `limit`, before reading any
/// of its body: a client that declares a huge body and sends two bytes is not waited for.
/// Bodies without a declared length are still counted as they arrive (`DefaultBodyLimit`).
pub async fn declared_length(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::PayloadTooLarge(limit).into_response(),
        _ => next.run(request).await,
    }
}

/// Answers 503 with `Retry-After` when the handler (reading the body included) has not
/// answered within `timeout`; a streamed body that has begun is not cut.
pub async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_s = timeout.as_secs_f64(), "request timed out");
            ApiError::TimedOut(RETRY_AFTER_TIMEOUT_S).into_response()
        }
    }
}
