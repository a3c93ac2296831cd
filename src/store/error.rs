//! Why the store could not do what was asked, on either back-end: the caller's mistakes, and
//! the store's own conditions named (unavailable, full, read-only) so that the API can answer
//! 503 or 507 instead of a generic 500.

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no initiative with id \"{0}\"")]
    NoSuchInitiative(String),
    #[error("no submission with id \"{0}\"")]
    NoSuchSubmission(String),
    #[error("an initiative with id \"{0}\" already exists")]
    AlreadyExists(String),
    #[error("the initiative \"{0}\" changed since you read it (its ETag no longer matches)")]
    PreconditionFailed(String),
    #[error("the record is invalid")]
    Invalid(Vec<crate::dataset::FieldProblem>),
    /// Another request with this idempotency key committed first (it was in flight).
    #[error("the idempotency key \"{0}\" was taken by another request meanwhile")]
    KeyInUse(String),
    #[error("submission \"{0}\" was already {1}")]
    AlreadyDecided(String, &'static str),
    #[error("the store holds a record it cannot read ({0}): {1}")]
    Corrupt(String, String),
    #[error(
        "the store at {location} was written by a newer skillsmap (schema {found}, this one knows {known})"
    )]
    TooNew {
        location: String,
        found: i64,
        known: usize,
    },
    /// A store file that must not be used or re-seeded: empty, another program's database,
    /// or one this process cannot write. Found at start; the operator has to look.
    #[error("the store at {location} is not usable: {reason}")]
    Unusable { location: String, reason: String },
    /// Busy, locked, unreachable, restarting or failing over: worth retrying shortly.
    #[error("the store is unavailable for now: {0}")]
    Unavailable(String),
    /// No space left for the change (SQLite's file system, PostgreSQL's disk).
    #[error("the store is out of space: {0}")]
    Full(String),
    /// The store takes no writes (a read-only file, a PostgreSQL standby).
    #[error("the store cannot be written: {0}")]
    ReadOnly(String),
    /// Anything else the back-end reported; a bug or a damaged store, not a passing state.
    #[error("store error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Seconds a client should wait before retrying, for the conditions that pass by themselves.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            StoreError::Unavailable(_) | StoreError::ReadOnly(_) => Some(RETRY_AFTER_SECONDS),
            _ => None,
        }
    }

    /// True for the store's own conditions (as opposed to a request's mistakes).
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Full(_) | StoreError::ReadOnly(_)
        )
    }
}

/// What `Retry-After` says while the store is unavailable: long enough for a restart or a
/// fail-over to make progress, short enough that a client's retry soon succeeds.
pub const RETRY_AFTER_SECONDS: u64 = 5;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let text = error.to_string();
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(text)
            }
            Some(ErrorCode::DiskFull) => StoreError::Full(text),
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly(text),
            Some(ErrorCode::CannotOpen) => StoreError::Unavailable(text),
            _ => StoreError::Backend(text),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        let text = match error.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => error.to_string(),
        };
        // A closed connection, a failed connect, a socket error or a timeout: the server
        // went away or is not there yet.
        let io = std::error::Error::source(&error).is_some_and(|s| s.is::<std::io::Error>());
        if error.is_closed()
            || io
            || text.starts_with("error connecting")
            || text.contains("timeout")
        {
            return StoreError::Unavailable(text);
        }
        let Some(code) = error.code() else {
            return StoreError::Backend(text);
        };
        match code.code() {
            // disk_full, insufficient_resources' out of space.
            "53100" => StoreError::Full(text),
            // read_only_sql_transaction: connected to a standby (during a fail-over).
            "25006" => StoreError::ReadOnly(text),
            // Connection exceptions, admin/crash shutdown, cannot connect now, too many
            // connections, lock timeouts, serialization failures and deadlocks: all pass.
            c if c.starts_with("08")
                || c.starts_with("57P")
                || matches!(c, "53300" | "55P03" | "40001" | "40P01" | "57014") =>
            {
                StoreError::Unavailable(text)
            }
            _ => StoreError::Backend(text),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}
