//! The `Idempotency-Key` records on both back-ends: written in the same transaction as the
//! change they answer (so a committed change always has its recorded response and a
//! recorded response always its change), looked up before a write, pruned once expired.

use jiff::Timestamp;

use super::guard::{KeyedResponse, StoredResponse, WriteGuard};
use super::{StoreError, epoch_seconds};

const INSERT: &str = "INSERT INTO idempotency_keys
         (scope, key, fingerprint, status, headers, body, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,
         status = excluded.status, headers = excluded.headers, body = excluded.body,
         created_at = excluded.created_at
     WHERE idempotency_keys.created_at < $8";
const LOOKUP: &str = "SELECT fingerprint, status, headers, body FROM idempotency_keys
     WHERE scope = $1 AND key = $2 AND created_at >= $3";
const PRUNE: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";

/// The refusal when a key's row exists already: another request with it committed first
/// (it was in flight when this one looked).
fn in_use(guard: &WriteGuard) -> StoreError {
    StoreError::KeyInUse(guard.key.as_ref().map_or(String::new(), |k| k.key.clone()))
}

/// SQLite writes `$n` as `?n`.
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Records the key (if any) and checks the deadline, the last steps before COMMIT.
pub(super) fn seal_sqlite(
    tx: &rusqlite::Transaction<'_>,
    guard: &WriteGuard,
) -> Result<(), StoreError> {
    if let Some((key, response)) = guard.record()? {
        let written = tx.execute(
            &sqlite(INSERT),
            rusqlite::params![
                key.scope,
                key.key,
                key.fingerprint,
                i64::from(response.status),
                response.headers_text(),
                response.body,
                epoch_seconds(Timestamp::now()),
                key.expired_before,
            ],
        )?;
        if written == 0 {
            return Err(in_use(guard));
        }
    }
    guard.check_time()
}

pub(super) fn lookup_sqlite(
    conn: &rusqlite::Connection,
    scope: &str,
    key: &str,
    not_before: f64,
) -> Result<Option<KeyedResponse>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            &sqlite(LOOKUP),
            rusqlite::params![scope, key, not_before],
            |r| {
                Ok(KeyedResponse {
                    fingerprint: r.get(0)?,
                    response: StoredResponse::from_row(
                        r.get(1)?,
                        &r.get::<_, String>(2)?,
                        r.get(3)?,
                    ),
                })
            },
        )
        .optional()?)
}

pub(super) fn prune_sqlite(conn: &rusqlite::Connection, before: f64) -> Result<u64, StoreError> {
    Ok(conn.execute(&sqlite(PRUNE), [before])? as u64)
}

/// Bounds the transaction's waits by the time the write has left: a lock is waited for at
/// most [`WriteGuard::lock_wait`], and any statement at most until the deadline.
pub(super) async fn bound_postgres(
    tx: &deadpool_postgres::Transaction<'_>,
    guard: &WriteGuard,
) -> Result<(), StoreError> {
    let lock = guard.lock_wait().as_millis();
    let mut settings = format!("SET LOCAL lock_timeout = {lock}");
    if let Some(deadline) = guard.deadline {
        let left = deadline
            .saturating_duration_since(std::time::Instant::now())
            .as_millis()
            .max(lock);
        settings.push_str(&format!("; SET LOCAL statement_timeout = {left}"));
    }
    tx.batch_execute(&settings).await?;
    Ok(())
}

pub(super) async fn seal_postgres(
    tx: &deadpool_postgres::Transaction<'_>,
    guard: &WriteGuard,
) -> Result<(), StoreError> {
    if let Some((key, response)) = guard.record()? {
        let written = tx
            .execute(
                INSERT,
                &[
                    &key.scope,
                    &key.key,
                    &key.fingerprint,
                    &i32::from(response.status),
                    &response.headers_text(),
                    &response.body,
                    &epoch_seconds(Timestamp::now()),
                    &key.expired_before,
                ],
            )
            .await?;
        if written == 0 {
            return Err(in_use(guard));
        }
    }
    guard.check_time()
}

pub(super) async fn lookup_postgres(
    client: &deadpool_postgres::Object,
    scope: &str,
    key: &str,
    not_before: f64,
) -> Result<Option<KeyedResponse>, StoreError> {
    let row = client
        .query_opt(LOOKUP, &[&scope, &key, &not_before])
        .await?;
    Ok(row.map(|r| KeyedResponse {
        fingerprint: r.get(0),
        response: StoredResponse::from_row(
            i64::from(r.get::<_, i32>(1)),
            &r.get::<_, String>(2),
            r.get(3),
        ),
    }))
}

pub(super) async fn prune_postgres(
    client: &deadpool_postgres::Object,
    before: f64,
) -> Result<u64, StoreError> {
    Ok(client.execute(PRUNE, &[&before]).await?)
}
