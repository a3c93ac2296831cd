//! The PostgreSQL store's schema changes, in order; `schema_migrations` records which ran.
//! The same tables as SQLite's, in PostgreSQL's types; times are RFC 3339 text in both, so
//! that both back-ends read and write them with the same code.

use deadpool_postgres::Object;
use jiff::Timestamp;

use super::MIGRATION_LOCK;
use crate::store::StoreError;

pub const MIGRATIONS: &[&str] = &[
    // 1: the store's revision and instance, initiatives with tombstones, submissions, the
    // audit log, feeds, rate limits and harvest leases.
    "CREATE TABLE store_state (
         only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
         revision BIGINT NOT NULL,
         instance TEXT NOT NULL
     );
     INSERT INTO store_state (revision, instance)
         VALUES (0, substr(md5(random()::text || clock_timestamp()::text), 1, 16));
     CREATE TABLE initiatives (
         id TEXT PRIMARY KEY,
         feature TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         deleted_at TEXT,
         revision BIGINT NOT NULL,
         source TEXT,
         source_id TEXT,
         UNIQUE (source, source_id)
     );
     CREATE INDEX initiatives_deleted ON initiatives (deleted_at) WHERE deleted_at IS NOT NULL;
     CREATE INDEX initiatives_by_revision ON initiatives (revision);
     CREATE TABLE submissions (
         id TEXT PRIMARY KEY,
         feature TEXT NOT NULL,
         client TEXT NOT NULL,
         submitted_at TEXT NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
         decided_by TEXT,
         decided_at TEXT,
         reason TEXT,
         initiative_id TEXT
     );
     CREATE INDEX submissions_by_status ON submissions (status, submitted_at);
     CREATE TABLE audit (
         seq BIGSERIAL PRIMARY KEY,
         at TEXT NOT NULL,
         actor TEXT NOT NULL,
         action TEXT NOT NULL,
         initiative_id TEXT,
         submission_id TEXT,
         before TEXT,
         after TEXT,
         detail TEXT
     );
     CREATE TABLE feeds (
         source TEXT PRIMARY KEY,
         location TEXT NOT NULL,
         etag TEXT,
         last_modified TEXT,
         harvested_at TEXT NOT NULL
     );
     CREATE TABLE rate_limits (
         client TEXT PRIMARY KEY,
         arrival DOUBLE PRECISION NOT NULL
     );
     CREATE INDEX rate_limits_by_arrival ON rate_limits (arrival);
     CREATE TABLE harvest_leases (
         feed TEXT PRIMARY KEY,
         next_due DOUBLE PRECISION NOT NULL,
         holder TEXT,
         held_until DOUBLE PRECISION,
         failures INTEGER NOT NULL DEFAULT 0
     );",
    // 2: `Idempotency-Key` records: the request's fingerprint and the response sent, written
    // with the change they answer; pruned once older than the retention.
    "CREATE TABLE idempotency_keys (
         scope TEXT NOT NULL,
         key TEXT NOT NULL,
         fingerprint TEXT NOT NULL,
         status INTEGER NOT NULL,
         headers TEXT NOT NULL,
         body BYTEA NOT NULL,
         created_at DOUBLE PRECISION NOT NULL,
         PRIMARY KEY (scope, key)
     );
     CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);",
    // 3: harvests beside curators: see the SQLite store's migration 7.
    "ALTER TABLE initiatives ADD COLUMN harvest_base TEXT;
     ALTER TABLE initiatives ADD COLUMN harvest_run BIGINT;
     CREATE TABLE harvest_changes (
         seq BIGSERIAL PRIMARY KEY,
         source TEXT NOT NULL,
         initiative_id TEXT NOT NULL,
         change TEXT NOT NULL CHECK (change IN ('added', 'updated', 'curated', 'retired')),
         diff TEXT
     );
     CREATE INDEX harvest_changes_by_source ON harvest_changes (source, seq);
     CREATE INDEX initiatives_by_source ON initiatives (source, harvest_run) WHERE source IS NOT NULL;
     CREATE INDEX audit_harvests ON audit (at) WHERE action LIKE 'harvest%';",
];

/// Brings the schema up to date, one replica at a time (the advisory lock).
pub(super) async fn migrate(client: &mut Object, location: &str) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )
    .await?;
    let applied: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            location: location.to_string(),
            found: i64::from(applied),
            known: MIGRATIONS.len(),
        });
    }
    for (number, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).await?;
        let version = (number + 1) as i32;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &Timestamp::now().to_string()],
        )
        .await?;
        tracing::info!(migration = version, "store schema migrated");
    }
    tx.commit().await?;
    Ok(())
}
