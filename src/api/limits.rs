//! Limits on one request: the declared size of its body and the time it may take, each
//! refused with a problem at once rather than after waiting for what never comes.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{Method, header};
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

/// When a write's answer is due: its handler's waits for the store are bounded by it, and
/// a write still uncommitted then rolls back and answers 503 (see `store::guard`).
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Instant);

/// True for the methods that change data (everything but GET, HEAD and OPTIONS).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Answers 503 with `Retry-After` when the handler (reading the body included) has not
/// answered within `timeout`; a streamed body that has begun is not cut.
///
/// A write is not cut: it carries the same limit as its [`Deadline`] instead and answers
/// by itself in time. Cutting it here would race its commit, and the client could be told
/// "unavailable" about a write that then commits.
pub async fn deadline(
    State(timeout): State<Duration>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_write(request.method()) {
        request
            .extensions_mut()
            .insert(Deadline(Instant::now() + timeout));
        return next.run(request).await;
    }
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_s = timeout.as_secs_f64(), "request timed out");
            ApiError::TimedOut(RETRY_AFTER_TIMEOUT_S).into_response()
        }
    }
}
