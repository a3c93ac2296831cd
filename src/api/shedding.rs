//! Load shedding: each class of work (cheap reads, heavy reads, writes) has a budget of
//! requests answered at once and a short queue; past them a request is refused at once with
//! 503 and `Retry-After` instead of piling up. Heavy work runs off the async threads, is not
//! started once its client has left, and identical heavy answers on the same data version
//! are computed once and shared.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api::problem::ApiError;
use crate::config::ServeConfig;

/// What a refused client is asked to wait, in seconds.
const RETRY_AFTER_OVERLOAD: u64 = 2;
/// Most bytes of heavy answers kept for reuse.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// How long a heavy answer is kept unused (its key names the data version, so it is never
/// stale, only unwanted).
const CACHE_IDLE: Duration = Duration::from_secs(600);

/// The kinds of work that get a budget of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Answers from the snapshot's indexes: items pages, tiles, one record, the site.
    Cheap,
    /// Coverage figures, suggestions, choropleths and full exports: seconds of CPU at scale.
    Heavy,
    /// Anything that changes the store.
    Write,
}

/// The class of a request; `None` for the health probes, which are never refused.
pub fn classify(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<Class> {
    if matches!(path, "/healthz" | "/readyz") {
        return None;
    }
    if crate::api::limits::is_write(method) {
        return Some(Class::Write);
    }
    let heavy = path == "/coverage"
        || path == "/coverage/suggest"
        || path.starts_with("/regions/")
        || (path == crate::api::items::ITEMS_PATH && is_export(query, headers));
    Some(if heavy { Class::Heavy } else { Class::Cheap })
}

/// An items request asking for CSV or GeoJSON Lines: every matching record, streamed.
fn is_export(query: Option<&str>, headers: &HeaderMap) -> bool {
    let by_parameter = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .any(|(name, value)| name == "f" && !matches!(&*value, "json" | "geojson"));
    let by_accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("csv") || v.contains("seq") || v.contains("ndjson"));
    by_parameter || by_accept
}

/// One class's budget and queue.
struct Budget {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl Budget {
    fn new(size: u32) -> Budget {
        let size = size.max(1) as usize;
        Budget {
            permits: Arc::new(Semaphore::new(size)),
            waiting: AtomicUsize::new(0),
            queue: size,
        }
    }
}

/// Counts a request as queued for as long as it waits (also when its client leaves).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The budgets of the three classes, and how long a queued request may wait.
pub struct Budgets {
    cheap: Budget,
    heavy: Budget,
    write: Budget,
    queue_wait: Duration,
}

impl Budgets {
    pub fn new(config: &ServeConfig) -> Budgets {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        Budgets {
            cheap: Budget::new(config.cheap_budget),
            heavy: Budget::new(config.heavy_budget.unwrap_or(cores)),
            write: Budget::new(config.write_budget),
            queue_wait: config.queue_wait,
        }
    }

    fn of(&self, class: Class) -> &Budget {
        match class {
            Class::Cheap => &self.cheap,
            Class::Heavy => &self.heavy,
            Class::Write => &self.write,
        }
    }

    /// A place in `class`'s budget: at once, after a short wait in its queue, or refused.
    async fn admit(&self, class: Class) -> Result<OwnedSemaphorePermit, ApiError> {
        let budget = self.of(class);
        if let Ok(permit) = budget.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let refused = || ApiError::Overloaded(RETRY_AFTER_OVERLOAD);
        if budget.waiting.fetch_add(1, Ordering::AcqRel) >= budget.queue {
            budget.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(refused());
        }
        let _queued = Queued(&budget.waiting);
        match tokio::time::timeout(self.queue_wait, budget.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(refused()),
        }
    }
}

/// Admits each request within its class's budget, holding the place until the response
/// has been sent (a streamed export included).
pub async fn shed(State(budgets): State<Arc<Budgets>>, request: Request, next: Next) -> Response {
    let Some(class) = classify(
        request.method(),
        request.uri().path(),
        request.uri().query(),
        request.headers(),
    ) else {
        return next.run(request).await;
    };
    let permit = match budgets.admit(class).await {
        Ok(permit) => permit,
        Err(refused) => {
            tracing::debug!(?class, "overloaded: refused");
            return refused.into_response();
        }
    };
    let (parts, body) = next.run(request).await.into_parts();
    // The place is given back when the body is dropped: sent, or its client gone.
    let body = body.map_frame(move |frame| {
        let _ = &permit;
        frame
    });
    Response::from_parts(parts, Body::new(body))
}

/// Runs heavy `work` on a blocking thread, unless its client has left (this future was
/// dropped) before a thread was free for it.
pub async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let wanted = Arc::new(());
    let still_wanted: Weak<()> = Arc::downgrade(&wanted);
    let done = tokio::task::spawn_blocking(move || {
        if still_wanted.strong_count() == 0 {
            return Err(ApiError::Internal);
        }
        work()
    })
    .await
    .map_err(|_| ApiError::Internal);
    drop(wanted);
    done?
}

/// Heavy answers by a key naming their request and data version: each computed once while
/// several clients ask for it, then kept for reuse.
#[derive(Clone)]
pub struct HeavyAnswers {
    cache: moka::future::Cache<String, Bytes>,
}

impl Default for HeavyAnswers {
    fn default() -> Self {
        HeavyAnswers {
            cache: moka::future::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|key: &String, body: &Bytes| {
                    u32::try_from(key.len() + body.len()).unwrap_or(u32::MAX)
                })
                .time_to_idle(CACHE_IDLE)
                .build(),
        }
    }
}

impl HeavyAnswers {
    /// The answer for `key`: kept, being computed for another client (then shared), or
    /// computed now by `compute`.
    pub async fn get_or_compute(
        &self,
        key: String,
        compute: impl Future<Output = Result<Vec<u8>, ApiError>>,
    ) -> Result<Bytes, ApiError> {
        self.cache
            .try_get_with(key, async { compute.await.map(Bytes::from) })
            .await
            .map_err(|shared| match Arc::try_unwrap(shared) {
                Ok(error) => error,
                Err(shared) => ApiError::Unavailable(shared.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let none = HeaderMap::new();
        let get = Method::GET;
        assert_eq!(classify(&get, "/healthz", None, &none), None);
        assert_eq!(
            classify(&get, "/coverage", Some("level=nuts3"), &none),
            Some(Class::Heavy)
        );
        assert_eq!(
            classify(&get, "/regions/nuts2.geojson", None, &none),
            Some(Class::Heavy)
        );
        let items = crate::api::items::ITEMS_PATH;
        assert_eq!(
            classify(&get, items, Some("limit=10"), &none),
            Some(Class::Cheap)
        );
        assert_eq!(
            classify(&get, items, Some("f=csv"), &none),
            Some(Class::Heavy)
        );
        let mut csv = HeaderMap::new();
        csv.insert(header::ACCEPT, "text/csv".parse().unwrap());
        assert_eq!(classify(&get, items, None, &csv), Some(Class::Heavy));
        assert_eq!(
            classify(&Method::POST, items, None, &none),
            Some(Class::Write)
        );
        assert_eq!(
            classify(
                &Method::PATCH,
                "/collections/initiatives/items/x",
                None,
                &none
            ),
            Some(Class::Write)
        );
    }

    #[tokio::test]
    async fn past_the_budget_and_the_queue_requests_are_refused() {
        let budgets = Budgets {
            cheap: Budget::new(1),
            heavy: Budget::new(1),
            write: Budget::new(1),
            queue_wait: Duration::from_millis(50),
        };
        let first = budgets.admit(Class::Heavy).await.unwrap();
        // One may wait; it times out while the first holds the place.
        let queued = budgets.admit(Class::Heavy);
        tokio::pin!(queued);
        assert!(futures_util::poll!(queued.as_mut()).is_pending());
        assert!(matches!(
            budgets.admit(Class::Heavy).await,
            Err(ApiError::Overloaded(_))
        ));
        assert!(matches!(queued.await, Err(ApiError::Overloaded(_))));
        // Other classes are not affected.
        assert!(budgets.admit(Class::Cheap).await.is_ok());
        drop(first);
        assert!(budgets.admit(Class::Heavy).await.is_ok());
    }
}
