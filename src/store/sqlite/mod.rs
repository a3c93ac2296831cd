//! The embedded back-end: one SQLite file in WAL mode with `synchronous=FULL`, so that an
//! acknowledged change survives a crash or power loss. Several processes may open the same
//! file (a server and `skillsmap import`): SQLite's write lock orders their transactions.

mod harvest;
mod schema;
mod submissions;

use std::path::Path;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::guard::{KeyedResponse, WriteGuard};
use super::idempotency::{self, seal_sqlite as seal};
use super::retention::{self, Erased};
use super::{
    AuditEntry, AuditRecord, Changes, Origin, Quota, StoreError, Tombstone, parse_rows, parse_time,
    raw_json, read_initiative, same_content,
};
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;
pub use harvest::Harvest;
pub(super) use schema::MIGRATIONS;

/// How long a write waits for another process's write lock before answering "unavailable"
/// (and rolling back): well below the request timeout, so that the client is told the
/// outcome rather than timing out while the write might still commit.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// An open SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    /// The path `:memory:` gives a private in-memory store (for tests).
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let unusable = |reason: &str| StoreError::Unusable {
            location: path.display().to_string(),
            reason: reason.to_string(),
        };
        // An empty file where a store was is a store lost (truncated, or replaced by a failed
        // copy): seeding it would hide the loss behind fresh seed data. One created moments
        // ago is another process starting on the same new store: it writes the schema at once.
        let lost = std::fs::metadata(path).is_ok_and(|m| {
            m.is_file()
                && m.len() == 0
                && m.modified()
                    .ok()
                    .and_then(|at| at.elapsed().ok())
                    .is_none_or(|age| age > JUST_CREATED)
        });
        if lost {
            return Err(unusable(
                "the file is empty (0 bytes); restore it from a backup, or delete it to start afresh with the seed data",
            ));
        }
        // SQLite finds out that a file is not a database when it first reads it.
        let not_a_database = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                unusable("the file is not an SQLite database")
            }
            _ => e.into(),
        };
        let mut conn = Connection::open(path).map_err(not_a_database)?;
        // SQLite opens a file it cannot write read-only without a word; every write would
        // then fail while the service looked healthy.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(unusable(
                "the file (or its folder) cannot be written by this process; check its permissions and attributes",
            ));
        }
        // A process starting beside this one may hold the lock while it writes the schema.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if is_foreign(&conn).map_err(not_a_database)? {
            return Err(unusable(
                "the file is another program's SQLite database (tables, but no skillsmap schema)",
            ));
        }
        use_wal(&conn)?;
        // FULL syncs the log at every commit.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn, path)?;
        Ok(SqliteStore { conn })
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM initiatives", [], |r| r.get(0))?;
        Ok(count == 0)
    }

    pub fn seed_if_empty(
        &mut self,
        initiatives: &[Initiative],
        actor: &str,
    ) -> Result<Option<u64>, StoreError> {
        // The write lock is taken first, so of two processes only the first sees it empty.
        let tx = self.write()?;
        let count: i64 = tx.query_row("SELECT count(*) FROM initiatives", [], |r| r.get(0))?;
        if count > 0 {
            return Ok(None);
        }
        let revision = bump(&tx)?;
        for initiative in initiatives {
            upsert_row(&tx, initiative, revision, None)?;
        }
        audit(
            &tx,
            &AuditRecord {
                actor,
                action: "seed",
                detail: Some(format!("{} initiatives", initiatives.len())),
                ..AuditRecord::default()
            },
        )?;
        tx.commit()?;
        Ok(Some(revision))
    }

    pub fn changes_since(&mut self, since: u64) -> Result<Changes, StoreError> {
        let tx = self.conn.transaction()?;
        let revision = revision(&tx)?;
        let instance: String =
            tx.query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?;
        let mut rows = Vec::new();
        let mut deleted = Vec::new();
        {
            let mut statement = tx.prepare(
                "SELECT id, feature, deleted_at, revision FROM initiatives WHERE revision > ?1",
            )?;
            let mut query = statement.query([since as i64])?;
            while let Some(row) = query.next()? {
                let id: String = row.get(0)?;
                let written = row.get::<_, i64>(3)? as u64;
                match row.get::<_, Option<String>>(2)? {
                    Some(at) => deleted.push((
                        written,
                        Tombstone {
                            deleted_at: parse_time(&id, &at)?,
                            id: id.into(),
                        },
                    )),
                    None => rows.push((written, id, row.get::<_, String>(1)?)),
                }
            }
        }
        tx.finish()?;
        Ok(Changes {
            revision,
            instance,
            live: parse_rows(rows)?,
            deleted,
        })
    }

    pub fn tombstones(&mut self) -> Result<Vec<Tombstone>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT id, deleted_at FROM initiatives WHERE deleted_at IS NOT NULL")?;
        let rows =
            statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let rows: Vec<(String, String)> = rows.collect::<Result<_, _>>()?;
        super::tombstones(rows)
    }

    pub fn probe_write(&mut self) -> Result<(), StoreError> {
        let tx = self.write()?;
        // Rewriting a row with its own value still appends a page to the log at commit.
        tx.execute("UPDATE meta SET value = value WHERE key = 'instance'", [])?;
        tx.commit()?;
        Ok(())
    }

    /// `(id, feature)` of the deleted rows among `ids`.
    pub fn deleted_rows(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, feature FROM initiatives WHERE id = ?1 AND deleted_at IS NOT NULL",
        )?;
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = statement
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    pub fn create(
        &mut self,
        initiative: &Initiative,
        actor: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        let tx = self.write_within(guard)?;
        if live_feature(&tx, &initiative.id)?.is_some() {
            return Err(StoreError::AlreadyExists(initiative.id.to_string()));
        }
        let revision = bump(&tx)?;
        let after = upsert_row(&tx, initiative, revision, None)?;
        audit(
            &tx,
            &AuditRecord {
                actor,
                action: "create",
                initiative_id: Some(&initiative.id),
                after: Some(&after),
                ..AuditRecord::default()
            },
        )?;
        seal(&tx, guard)?;
        tx.commit()?;
        Ok(revision)
    }

    pub fn change(
        &mut self,
        id: &str,
        actor: &str,
        action: &str,
        precondition: impl FnOnce(&Initiative) -> bool,
        change: impl FnOnce(Initiative) -> Result<Option<Initiative>, StoreError>,
        guard: &WriteGuard,
    ) -> Result<(Option<Initiative>, u64), StoreError> {
        let tx = self.write_within(guard)?;
        let before_text =
            live_feature(&tx, id)?.ok_or_else(|| StoreError::NoSuchInitiative(id.to_string()))?;
        let before = read_initiative(id, &before_text)?;
        if !precondition(&before) {
            return Err(StoreError::PreconditionFailed(id.to_string()));
        }
        let current = before.clone();
        let after = change(before)?;
        if let Some(initiative) = &after {
            if *initiative.id != *id {
                return Err(StoreError::Corrupt(
                    id.to_string(),
                    "a change may not alter the id".into(),
                ));
            }
            if same_content(&before_text, initiative) {
                // Nothing but the time would change: no new revision, no audit entry.
                return Ok((Some(current), revision(&tx)?));
            }
        }
        let revision = bump(&tx)?;
        let (action, after_text) = match &after {
            Some(initiative) => (action, Some(upsert_row(&tx, initiative, revision, None)?)),
            None => {
                tx.execute(
                    "UPDATE initiatives SET deleted_at = ?2, revision = ?3 WHERE id = ?1",
                    params![id, Timestamp::now().to_string(), revision as i64],
                )?;
                ("delete", None)
            }
        };
        audit(
            &tx,
            &AuditRecord {
                actor,
                action,
                initiative_id: Some(id),
                before: Some(&before_text),
                after: after_text.as_deref(),
                ..AuditRecord::default()
            },
        )?;
        seal(&tx, guard)?;
        tx.commit()?;
        Ok((after, revision))
    }

    /// Audit entries after `bound` oldest first, or (`newest_first`) before it newest first.
    pub fn audit_page(
        &self,
        newest_first: bool,
        bound: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let condition = if newest_first {
            "seq < ?1 ORDER BY seq DESC"
        } else {
            "seq > ?1 ORDER BY seq"
        };
        let mut statement = self.conn.prepare(&format!(
            "SELECT seq, at, actor, action, initiative_id, submission_id, before, after, detail
             FROM audit WHERE {condition} LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![bound, limit as i64], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                initiative_id: r.get(4)?,
                submission_id: r.get(5)?,
                before: raw_json(r.get(6)?),
                after: raw_json(r.get(7)?),
                detail: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn revision(&mut self) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        let value = revision(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    pub fn instance(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?)
    }

    pub fn admit(
        &mut self,
        client: &str,
        quota: Quota,
        now: f64,
    ) -> Result<Result<(), f64>, StoreError> {
        let tx = self.write()?;
        let arrival: Option<f64> = tx
            .query_row(
                "SELECT arrival FROM rate_limits WHERE client = ?1",
                [client],
                |r| r.get(0),
            )
            .optional()?;
        let decision = quota.decide(arrival, now);
        if let Ok(next) = decision {
            tx.execute(
                "INSERT INTO rate_limits (client, arrival) VALUES (?1, ?2)
                 ON CONFLICT (client) DO UPDATE SET arrival = ?2",
                params![client, next],
            )?;
            // Clients whose allowance is whole again need no row: forget them now and then.
            if rand::random::<u8>() == 0 {
                tx.execute("DELETE FROM rate_limits WHERE arrival < ?1", [now])?;
            }
        }
        tx.commit()?;
        Ok(decision.map(|_| ()))
    }

    /// `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// A write transaction whose wait for another process's lock is bounded by `guard`.
    fn write_within(&mut self, guard: &WriteGuard) -> Result<Transaction<'_>, StoreError> {
        self.conn.busy_timeout(guard.lock_wait())?;
        // IMMEDIATE takes the write lock up front, so two writers never both read the old
        // state and then race to write.
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// The response recorded under `key` by `scope` since `not_before` (epoch seconds).
    pub fn keyed_response(
        &self,
        scope: &str,
        key: &str,
        not_before: f64,
    ) -> Result<Option<KeyedResponse>, StoreError> {
        idempotency::lookup_sqlite(&self.conn, scope, key, not_before)
    }

    /// Deletes the idempotency records made before `before` (epoch seconds).
    pub fn prune_keys(&mut self, before: f64) -> Result<u64, StoreError> {
        idempotency::prune_sqlite(&self.conn, before)
    }

    /// Erases submitters' addresses recorded before `before` (see `retention`).
    pub fn erase_addresses(&mut self, before: Timestamp, now: f64) -> Result<Erased, StoreError> {
        retention::erase_sqlite(&mut self.conn, before, now)
    }

    fn write(&mut self) -> Result<Transaction<'_>, StoreError> {
        self.write_within(&WriteGuard::none())
    }
}

/// True for a database with tables but no skillsmap schema version: not ours to migrate.
fn is_foreign(conn: &Connection) -> Result<bool, rusqlite::Error> {
    // One statement, so one snapshot: read apart, a process migrating the same new store
    // between the two reads would show its tables without its version.
    let (version, tables): (i64, i64) = conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), \
                (SELECT count(*) FROM sqlite_master WHERE type = 'table')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(version == 0 && tables > 0)
}

/// Switches the store to write-ahead logging, which lets readers run beside the writer. The
/// switch needs the file to itself, and while another process starting on the same new store
/// holds it SQLite answers busy at once, without its busy handler: so this waits its turn here,
/// up to the same bound.
fn use_wal(conn: &Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return Ok(done?),
        }
    }
}

/// How recently an empty store file may have been created by a process starting beside this one.
const JUST_CREATED: std::time::Duration = std::time::Duration::from_secs(5);

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            location: path.display().to_string(),
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (number, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now as usize > number {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (number + 1) as i64)?;
        tx.commit()?;
        tracing::info!(migration = number + 1, "store schema migrated");
    }
    Ok(())
}

fn revision(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let value: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'revision'", [], |r| {
        r.get(0)
    })?;
    Ok(value as u64)
}

/// Counts one more change; every write transaction that changes data calls it once.
fn bump(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let value: i64 = tx.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value",
        [],
        |r| r.get(0),
    )?;
    Ok(value as u64)
}

fn live_feature(tx: &Transaction<'_>, id: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT feature FROM initiatives WHERE id = ?1 AND deleted_at IS NULL",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Writes the row for `initiative` (live, its tombstone cleared); returns the stored text.
/// A curator's edit (no `origin`) of a live harvested record keeps its origin, so that the
/// feed goes on updating the fields the curator left alone; reusing a deleted id makes the
/// record the curator's own.
fn upsert_row(
    tx: &Transaction<'_>,
    initiative: &Initiative,
    revision: u64,
    origin: Option<Origin<'_>>,
) -> Result<String, StoreError> {
    let text = feature_text(initiative);
    tx.execute(
        "INSERT INTO initiatives (id, feature, updated_at, deleted_at, revision, source, source_id)
         VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET feature = ?2, updated_at = ?3, deleted_at = NULL,
             revision = ?4,
             source = coalesce(?5, CASE WHEN initiatives.deleted_at IS NULL THEN initiatives.source END),
             source_id = coalesce(?6, CASE WHEN initiatives.deleted_at IS NULL THEN initiatives.source_id END)",
        params![
            &*initiative.id,
            text,
            initiative.updated_at.to_string(),
            revision as i64,
            origin.map(|o| o.source),
            origin.map(|o| o.source_id),
        ],
    )?;
    Ok(text)
}

fn audit(tx: &Transaction<'_>, record: &AuditRecord<'_>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, initiative_id, submission_id, before, after, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            Timestamp::now().to_string(),
            record.actor,
            record.action,
            record.initiative_id,
            record.submission_id,
            record.before,
            record.after,
            record.detail,
        ],
    )?;
    Ok(())
}
