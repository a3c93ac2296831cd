//! The embedded back-end: one SQLite file in WAL mode with `synchronous=FULL`, so that an
//! acknowledged change survives a crash or power loss. Several processes may open the same
//! file (a server and `skillsmap import`): SQLite's write lock orders their transactions.

use std::path::Path;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::guard::{KeyedResponse, WriteGuard};
use super::harvest_merge::{self, HARVEST_ROW, HarvestRow};
use super::idempotency::{self, seal_sqlite as seal};
use super::retention::{self, Erased};
use super::sqlite_schema::MIGRATIONS;
use super::{
    AuditEntry, AuditRecord, Changes, Claim, FeedValidators, Origin, Quota, RunEnd, StoreError,
    Submission, SubmissionStatus, Tombstone, Upserted, parse_rows, parse_time, raw_json,
    read_initiative, same_content,
};
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;

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
        let mut conn = Connection::open(path).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                unusable("the file is not an SQLite database")
            }
            _ => e.into(),
        })?;
        // SQLite opens a file it cannot write read-only without a word; every write would
        // then fail while the service looked healthy.
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(unusable(
                "the file (or its folder) cannot be written by this process; check its permissions and attributes",
            ));
        }
        if is_foreign(&conn).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                unusable("the file is not an SQLite database")
            }
            _ => e.into(),
        })? {
            return Err(unusable(
                "the file is another program's SQLite database (tables, but no skillsmap schema)",
            ));
        }
        // WAL lets readers run beside the writer; FULL syncs the log at every commit.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
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

    pub fn submit(
        &mut self,
        id: &str,
        feature: &str,
        client: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        let tx = self.write_within(guard)?;
        tx.execute(
            "INSERT INTO submissions (id, feature, client, submitted_at, status)
             VALUES (?1, ?2, ?3, ?4, 'pending')",
            params![id, feature, client, Timestamp::now().to_string()],
        )?;
        audit(
            &tx,
            &AuditRecord {
                actor: &format!("public {client}"),
                action: "submit",
                submission_id: Some(id),
                after: Some(feature),
                ..AuditRecord::default()
            },
        )?;
        let revision = revision(&tx)?;
        seal(&tx, guard)?;
        tx.commit()?;
        Ok(revision)
    }

    pub fn submissions(
        &self,
        status: Option<SubmissionStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Submission>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, status, submitted_at, client, feature, decided_by, decided_at, reason,
                    initiative_id
             FROM submissions WHERE ?1 IS NULL OR status = ?1
             ORDER BY submitted_at DESC, id LIMIT ?2 OFFSET ?3",
        )?;
        let rows = statement.query_map(
            params![
                status.map(SubmissionStatus::as_str),
                limit as i64,
                offset as i64
            ],
            submission_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn count_submissions(&self, status: Option<SubmissionStatus>) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM submissions WHERE ?1 IS NULL OR status = ?1",
            [status.map(SubmissionStatus::as_str)],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    pub fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, status, submitted_at, client, feature, decided_by, decided_at, reason,
                        initiative_id
                 FROM submissions WHERE id = ?1",
                [id],
                submission_row,
            )
            .optional()?)
    }

    pub fn approve(
        &mut self,
        id: &str,
        actor: &str,
        edit: impl FnOnce(&str) -> Result<Initiative, StoreError>,
        guard: &WriteGuard,
    ) -> Result<(Initiative, u64), StoreError> {
        let tx = self.write_within(guard)?;
        let feature = pending_submission(&tx, id)?;
        let initiative = edit(&feature)?;
        if live_feature(&tx, &initiative.id)?.is_some() {
            return Err(StoreError::AlreadyExists(initiative.id.to_string()));
        }
        let revision = bump(&tx)?;
        let after = upsert_row(&tx, &initiative, revision, None)?;
        tx.execute(
            "UPDATE submissions SET status = 'approved', decided_by = ?2, decided_at = ?3,
                    initiative_id = ?4
             WHERE id = ?1",
            params![id, actor, Timestamp::now().to_string(), &*initiative.id],
        )?;
        audit(
            &tx,
            &AuditRecord {
                actor,
                action: "approve",
                initiative_id: Some(&initiative.id),
                submission_id: Some(id),
                after: Some(&after),
                ..AuditRecord::default()
            },
        )?;
        seal(&tx, guard)?;
        tx.commit()?;
        Ok((initiative, revision))
    }

    pub fn reject(
        &mut self,
        id: &str,
        actor: &str,
        reason: &str,
        guard: &WriteGuard,
    ) -> Result<(), StoreError> {
        let tx = self.write_within(guard)?;
        pending_submission(&tx, id)?;
        tx.execute(
            "UPDATE submissions SET status = 'rejected', decided_by = ?2, decided_at = ?3,
                    reason = ?4
             WHERE id = ?1",
            params![id, actor, Timestamp::now().to_string(), reason],
        )?;
        audit(
            &tx,
            &AuditRecord {
                actor,
                action: "reject",
                submission_id: Some(id),
                detail: Some(reason.to_string()),
                ..AuditRecord::default()
            },
        )?;
        seal(&tx, guard)?;
        tx.commit()?;
        Ok(())
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

    pub fn harvest<T>(
        &mut self,
        body: impl FnOnce(&mut Harvest<'_>) -> Result<T, StoreError>,
    ) -> Result<(T, u64), StoreError> {
        let tx = self.write()?;
        let mut harvest = Harvest { tx, revision: None };
        let result = body(&mut harvest)?;
        let revision = match harvest.revision {
            Some(revision) => revision,
            None => revision(&harvest.tx)?,
        };
        harvest.tx.commit()?;
        Ok((result, revision))
    }

    pub fn feed_validators(
        &self,
        source: &str,
        location: &str,
    ) -> Result<Option<FeedValidators>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT etag, last_modified FROM feeds WHERE source = ?1 AND location = ?2",
                [source, location],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
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

    pub fn claim_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        now: f64,
        hold_for: f64,
    ) -> Result<Claim, StoreError> {
        let tx = self.write()?;
        tx.execute(
            "INSERT INTO harvest_leases (feed, next_due) VALUES (?1, 0) ON CONFLICT DO NOTHING",
            [feed],
        )?;
        let (next_due, held_until, failures): (f64, Option<f64>, i64) = tx.query_row(
            "SELECT next_due, held_until, failures FROM harvest_leases WHERE feed = ?1",
            [feed],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let claim = super::decide_claim(next_due, held_until, failures, now);
        if let Claim::Granted { .. } = claim {
            tx.execute(
                "UPDATE harvest_leases SET holder = ?2, held_until = ?3 WHERE feed = ?1",
                params![feed, holder, now + hold_for],
            )?;
        }
        tx.commit()?;
        Ok(claim)
    }

    pub fn release_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        next_due: f64,
        failures: u32,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE harvest_leases SET next_due = ?3, holder = NULL, held_until = NULL,
                 failures = ?4
             WHERE feed = ?1 AND holder = ?2",
            params![feed, holder, next_due, failures],
        )?;
        Ok(())
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

/// An open harvest transaction; the revision is taken at its first change.
pub struct Harvest<'a> {
    tx: Transaction<'a>,
    revision: Option<u64>,
}

impl Harvest<'_> {
    fn revision(&mut self) -> Result<u64, StoreError> {
        match self.revision {
            Some(revision) => Ok(revision),
            None => {
                let revision = bump(&self.tx)?;
                self.revision = Some(revision);
                Ok(revision)
            }
        }
    }

    pub fn upsert(
        &mut self,
        initiative: &Initiative,
        origin: Origin<'_>,
        run: i64,
    ) -> Result<Upserted, StoreError> {
        let existing = self
            .tx
            .prepare_cached(&format!(
                "SELECT {HARVEST_ROW} FROM initiatives WHERE id = ?1"
            ))?
            .query_row([&*initiative.id], |r| {
                Ok(HarvestRow {
                    feature: r.get(0)?,
                    deleted: r.get(1)?,
                    source: r.get(2)?,
                    source_id: r.get(3)?,
                    base: r.get(4)?,
                    run: r.get(5)?,
                })
            })
            .optional()?;
        let plan = harvest_merge::plan(existing.as_ref(), initiative, origin, run)?;
        if plan.outcome() == Upserted::Repeated {
            return Ok(plan.outcome());
        }
        let writes = plan.writes(initiative);
        if let Some(record) = writes.record {
            let revision = self.revision()?;
            upsert_row(&self.tx, record, revision, Some(origin))?;
        }
        self.tx
            .prepare_cached(
                "UPDATE initiatives SET harvest_base = coalesce(?2, harvest_base), harvest_run = ?3
                 WHERE id = ?1",
            )?
            .execute(params![&*initiative.id, writes.base, run])?;
        if let Some((change, diff)) = writes.staged {
            stage(&self.tx, origin.source, &initiative.id, change, diff)?;
        }
        Ok(plan.outcome())
    }

    pub fn mark_listed(&mut self, origin: Origin<'_>, run: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE initiatives SET harvest_run = ?3 WHERE source = ?1 AND source_id = ?2",
            )?
            .execute(params![origin.source, origin.source_id, run])?;
        Ok(())
    }

    pub fn retire_unlisted(
        &mut self,
        source: &str,
        run: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let ids: Vec<String> = self
            .tx
            .prepare_cached(
                "SELECT id FROM initiatives
                 WHERE source = ?1 AND deleted_at IS NULL AND harvest_run IS NOT ?2 LIMIT ?3",
            )?
            .query_map(params![source, run, limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let now = Timestamp::now().to_string();
        for id in &ids {
            let revision = self.revision()?;
            self.tx.execute(
                "UPDATE initiatives SET deleted_at = ?2, revision = ?3 WHERE id = ?1",
                params![id, now, revision as i64],
            )?;
            stage(&self.tx, source, id, "retired", None)?;
        }
        Ok(ids)
    }

    pub fn finish_run(&mut self, end: &RunEnd<'_>) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO feeds (source, location, etag, last_modified, harvested_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (source) DO UPDATE SET location = ?2, etag = ?3, last_modified = ?4,
                 harvested_at = ?5",
            params![
                end.source,
                end.location,
                end.etag,
                end.last_modified,
                Timestamp::now().to_string()
            ],
        )?;
        let staged: Vec<(String, String, Option<String>)> = self
            .tx
            .prepare(
                "SELECT initiative_id, change, diff FROM harvest_changes WHERE source = ?1
                 ORDER BY seq",
            )?
            .query_map([end.source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        if let Some((detail, after)) = harvest_merge::run_entry(staged) {
            audit(
                &self.tx,
                &AuditRecord {
                    actor: end.actor,
                    action: "harvest",
                    after: Some(&after),
                    detail: Some(detail),
                    ..AuditRecord::default()
                },
            )?;
            self.tx.execute(
                "DELETE FROM harvest_changes WHERE source = ?1",
                [end.source],
            )?;
        }
        self.tx.execute(
            "DELETE FROM audit WHERE action LIKE 'harvest%' AND at < ?1",
            [end.prune_before.to_string()],
        )?;
        Ok(())
    }
}

/// Stages one change of a harvest run for the run's audit entry.
fn stage(
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
    change: &str,
    diff: Option<&str>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO harvest_changes (source, initiative_id, change, diff) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![source, id, change, diff])?;
    Ok(())
}

/// True for a database with tables but no skillsmap schema version: not ours to migrate.
fn is_foreign(conn: &Connection) -> Result<bool, rusqlite::Error> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    Ok(version == 0 && tables > 0)
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

fn pending_submission(tx: &Transaction<'_>, id: &str) -> Result<String, StoreError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT status, feature FROM submissions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    super::pending_feature(id, row)
}

fn submission_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Submission> {
    let status: String = r.get(1)?;
    let feature: String = r.get(4)?;
    Ok(Submission {
        id: r.get(0)?,
        status: SubmissionStatus::parse(&status).unwrap_or(SubmissionStatus::Pending),
        submitted_at: r.get(2)?,
        client: r.get(3)?,
        feature: serde_json::value::RawValue::from_string(feature).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
        decided_by: r.get(5)?,
        decided_at: r.get(6)?,
        reason: r.get(7)?,
        initiative_id: r.get(8)?,
    })
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
