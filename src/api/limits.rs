//! Limits on one request: the declared size of its body and the time it may take, each
//! refused with a problem at once rather than after waiting for what never comes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
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
///
/// Until the handler begins its write (it has read the body and checked the request), the
/// request may still be cut at the deadline like any other: [`Deadline::begin`] and the
/// cut decide between them once, so a request is never both answered 503 and written.
#[derive(Clone, Debug)]
pub struct Deadline {
    due: Instant,
    stage: Arc<AtomicU8>,
}

const WAITING: u8 = 0;
const BEGUN: u8 = 1;
const CUT: u8 = 2;

impl Deadline {
    fn new(due: Instant) -> Deadline {
        Deadline {
            due,
            stage: Arc::new(AtomicU8::new(WAITING)),
        }
    }

    /// Marks the write as begun: from now on the handler answers by itself, by `due`.
    pub fn begin(&self) -> Result<Instant, ApiError> {
        match self
            .stage
            .compare_exchange(WAITING, BEGUN, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) | Err(BEGUN) => Ok(self.due),
            Err(_) => Err(ApiError::TimedOut(RETRY_AFTER_TIMEOUT_S)),
        }
    }

    /// Cuts the request if its write has not begun; false if it has.
    fn cut(&self) -> bool {
        self.stage
            .compare_exchange(WAITING, CUT, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// True for the methods that change data (everything but GET, HEAD and OPTIONS).
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Answers 503 with `Retry-After` when the handler (reading the body included) has not
/// answered within `timeout`; a streamed body that has begun is not cut.
///
/// A write that has begun is not cut: it carries the same limit as its [`Deadline`] and
/// answers by itself in time. Cutting it here would race its commit, and the client could be
/// told "unavailable" about a write that then commits.
pub async fn deadline(
    State(timeout): State<Duration>,
    mut request: Request,
    next: Next,
) -> Response {
    let write = is_write(request.method()).then(|| Deadline::new(Instant::now() + timeout));
    if let Some(deadline) = &write {
        request.extensions_mut().insert(deadline.clone());
    }
    let handler = next.run(request);
    tokio::pin!(handler);
    match tokio::time::timeout(timeout, &mut handler).await {
        Ok(response) => response,
        Err(_) if write.as_ref().is_none_or(Deadline::cut) => {
            tracing::warn!(timeout_s = timeout.as_secs_f64(), "request timed out");
            ApiError::TimedOut(RETRY_AFTER_TIMEOUT_S).into_response()
        }
        // The write has begun: it answers by its deadline.
        Err(_) => handler.await,
    }
}
