//! What a write carries into its transaction beyond its own logic: the moment its answer is
//! due, and the `Idempotency-Key` record to commit with it. Waits for the store are bounded
//! by the time left, and a write whose time ran out rolls back just before COMMIT, so that a
//! client told "unavailable" can be sure nothing was changed.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::StoreError;

/// A response as it was sent, kept to be sent again to a retry with the same key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The headers that matter to a client (media type, `Location`, `ETag`, caching).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An idempotency key and what to record under it, committed with the write or not at all.
#[derive(Debug)]
pub struct KeyRecord {
    /// Whose key it is (a hash of who is writing): keys of different writers never meet.
    pub scope: String,
    pub key: String,
    /// A hash of the request (method, path, writer, body): a retry must send the same.
    pub fingerprint: String,
    /// The answer, set before COMMIT (by the handler, or by its edit inside the transaction
    /// when the answer depends on what the store holds).
    pub response: OnceLock<StoredResponse>,
    /// A key recorded before this (epoch seconds) has expired and may be taken again.
    pub expired_before: f64,
}

/// The bounds and records of one write.
#[derive(Debug, Default)]
pub struct WriteGuard {
    /// When the client must have its answer; `None` for writes no client waits on.
    pub deadline: Option<Instant>,
    pub key: Option<KeyRecord>,
}

/// The longest any single wait for another writer's lock may take.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Shortest wait still worth trying: less could not even reach the store.
const LEAST_WAIT: Duration = Duration::from_millis(50);

impl WriteGuard {
    /// No deadline and no key (imports, harvests, tests).
    pub fn none() -> WriteGuard {
        WriteGuard::default()
    }

    /// How long the write may wait for a lock: [`LOCK_WAIT`], or less when the deadline is near.
    pub fn lock_wait(&self) -> Duration {
        match self.deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .clamp(LEAST_WAIT, LOCK_WAIT),
            None => LOCK_WAIT,
        }
    }

    /// Refuses to commit once the deadline has passed: the client is (or is about to be)
    /// told "unavailable", so the write must not happen.
    pub fn check_time(&self) -> Result<(), StoreError> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(StoreError::Unavailable(
                "the request's time ran out before the change could be committed".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The key's record, ready to be written with the change.
    pub(super) fn record(&self) -> Result<Option<(&KeyRecord, &StoredResponse)>, StoreError> {
        match &self.key {
            None => Ok(None),
            Some(key) => match key.response.get() {
                Some(response) => Ok(Some((key, response))),
                None => Err(StoreError::Backend(
                    "a write with an idempotency key has no response to record".into(),
                )),
            },
        }
    }
}

impl StoredResponse {
    /// Headers as stored: one JSON array of `[name, value]` pairs.
    pub(super) fn headers_text(&self) -> String {
        serde_json::to_string(&self.headers).unwrap_or_else(|_| "[]".into())
    }

    pub(super) fn from_row(status: i64, headers: &str, body: Vec<u8>) -> StoredResponse {
        StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: serde_json::from_str(headers).unwrap_or_default(),
            body,
        }
    }
}

/// What the store holds under a key: the request's fingerprint and the response sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyedResponse {
    pub fingerprint: String,
    pub response: StoredResponse,
}
