//! The embedded store (SQLite, WAL): the source of truth for initiatives, submissions and the
//! audit log. Every change is one transaction, committed durably before it is acknowledged.

use std::path::Path;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::dataset;
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;

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
    #[error("submission \"{0}\" was already {1}")]
    AlreadyDecided(String, &'static str),
    #[error("the store holds a record it cannot read ({0}): {1}")]
    Corrupt(String, String),
    #[error(
        "the store at {path} was written by a newer skillsmap (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: String,
        found: i64,
        known: usize,
    },
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Schema changes in order; `PRAGMA user_version` counts how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: initiatives with tombstones, submissions, the audit log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
     CREATE TABLE initiatives (
         id TEXT PRIMARY KEY,
         feature TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         deleted_at TEXT,
         revision INTEGER NOT NULL,
         source TEXT,
         source_id TEXT,
         UNIQUE (source, source_id)
     ) STRICT;
     CREATE INDEX initiatives_deleted ON initiatives (deleted_at) WHERE deleted_at IS NOT NULL;
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
     ) STRICT;
     CREATE INDEX submissions_by_status ON submissions (status, submitted_at);
     CREATE TABLE audit (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         at TEXT NOT NULL,
         actor TEXT NOT NULL,
         action TEXT NOT NULL,
         initiative_id TEXT,
         submission_id TEXT,
         before TEXT,
         after TEXT,
         detail TEXT
     ) STRICT;
     INSERT INTO meta (key, value) VALUES ('revision', 0), ('instance', lower(hex(randomblob(8))));",
    // 2: harvested feeds and the validators of their last fetch.
    "CREATE TABLE feeds (
         source TEXT PRIMARY KEY,
         location TEXT NOT NULL,
         etag TEXT,
         last_modified TEXT,
         harvested_at TEXT NOT NULL
     ) STRICT;",
    // 3: finding what changed since a revision, for publishing changes without a full read.
    "CREATE INDEX initiatives_by_revision ON initiatives (revision);",
];

/// An initiative that was deleted, kept so that incremental pulls learn of the deletion.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Tombstone {
    pub id: Box<str>,
    pub deleted_at: Timestamp,
}

/// The initiatives written after some revision: each live version, or its tombstone, with
/// the revision that wrote it.
pub struct Changes {
    /// Counts committed changes; with `instance`, identifies this state of this store.
    pub revision: u64,
    /// Random per store, so that a recreated store never reuses a version.
    pub instance: String,
    pub live: Vec<(u64, Initiative)>,
    pub deleted: Vec<(u64, Tombstone)>,
}

/// Where a submission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionStatus {
    Pending,
    Approved,
    Rejected,
}

impl SubmissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Pending => "pending",
            SubmissionStatus::Approved => "approved",
            SubmissionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(SubmissionStatus::Pending),
            "approved" => Some(SubmissionStatus::Approved),
            "rejected" => Some(SubmissionStatus::Rejected),
            _ => None,
        }
    }
}

/// A proposed initiative and what curators decided about it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Submission {
    pub id: String,
    pub status: SubmissionStatus,
    pub submitted_at: String,
    /// The client's address, for spotting abuse.
    pub client: String,
    pub feature: Box<serde_json::value::RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiative_id: Option<String>,
}

/// One recorded change: who did what to which record, with the record before and after.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiative_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Box<serde_json::value::RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Box<serde_json::value::RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where a harvested record came from: the feed's name and the record's id in it.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub source: &'a str,
    pub source_id: &'a str,
}

/// A feed's last `ETag` and `Last-Modified`.
pub type FeedValidators = (Option<String>, Option<String>);

/// What an upsert did to the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    Added,
    Updated,
    Unchanged,
}

/// The open store. Not shared between threads: callers serialise access (see `curation`).
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    /// The path `:memory:` gives a private in-memory store (for tests).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        // WAL lets readers run beside the writer; FULL syncs the log at every commit, so an
        // acknowledged change survives a crash or power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate(&mut conn, path)?;
        Ok(Store { conn })
    }

    /// True if no initiative was ever stored (deleted ones count as stored).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM initiatives", [], |r| r.get(0))?;
        Ok(count == 0)
    }

    /// Stores `initiatives` as one change (the first start's seed data).
    pub fn seed(&mut self, initiatives: &[Initiative], actor: &str) -> Result<u64, StoreError> {
        let tx = self.write()?;
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
        Ok(revision)
    }

    /// What changed after `since`, as of the latest revision (one read transaction).
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
        // Parsing is most of the work: spread it over the cores.
        use rayon::prelude::*;
        let live = rows
            .par_iter()
            .map(|(written, id, feature)| Ok((*written, read_initiative(id, feature)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Changes {
            revision,
            instance,
            live,
            deleted,
        })
    }

    /// Adds a new initiative; its id must not belong to a live one (a deleted id may be reused).
    pub fn create(&mut self, initiative: &Initiative, actor: &str) -> Result<u64, StoreError> {
        let tx = self.write()?;
        let before = live_feature(&tx, &initiative.id)?;
        if before.is_some() {
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
        tx.commit()?;
        Ok(revision)
    }

    /// Replaces, modifies or (when `change` returns `None`) deletes the live initiative `id`,
    /// provided `precondition` holds for its current state; `action` names the change in the
    /// audit log. All in one transaction, so no
    /// other change can slip between the check and the write.
    pub fn change(
        &mut self,
        id: &str,
        actor: &str,
        action: &str,
        precondition: impl FnOnce(&Initiative) -> bool,
        change: impl FnOnce(Initiative) -> Result<Option<Initiative>, StoreError>,
    ) -> Result<(Option<Initiative>, u64), StoreError> {
        let tx = self.write()?;
        let before_text =
            live_feature(&tx, id)?.ok_or_else(|| StoreError::NoSuchInitiative(id.to_string()))?;
        let before = read_initiative(id, &before_text)?;
        if !precondition(&before) {
            return Err(StoreError::PreconditionFailed(id.to_string()));
        }
        let after = change(before.clone())?;
        if let Some(unchanged) = after.as_ref().filter(|a| same_record(&before, a)) {
            // A write that changes nothing keeps the revision, and so every ETag, as it was.
            let revision = revision(&tx)?;
            let kept = Initiative {
                updated_at: before.updated_at,
                ..unchanged.clone()
            };
            tx.finish()?;
            return Ok((Some(kept), revision));
        }
        let revision = bump(&tx)?;
        let (action, after_text) = match &after {
            Some(initiative) => {
                let text = if *initiative.id == *id {
                    upsert_row(&tx, initiative, revision, None)?
                } else {
                    return Err(StoreError::Corrupt(
                        id.to_string(),
                        "a change may not alter the id".into(),
                    ));
                };
                (action, Some(text))
            }
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
        tx.commit()?;
        Ok((after, revision))
    }

    /// Stores a proposed initiative (a validated GeoJSON Feature) as pending.
    pub fn submit(&mut self, id: &str, feature: &str, client: &str) -> Result<u64, StoreError> {
        let tx = self.write()?;
        let now = Timestamp::now().to_string();
        tx.execute(
            "INSERT INTO submissions (id, feature, client, submitted_at, status)
             VALUES (?1, ?2, ?3, ?4, 'pending')",
            params![id, feature, client, now],
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
        tx.commit()?;
        Ok(revision)
    }

    /// Submissions, newest first, optionally only those with `status`.
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

    /// How many submissions have `status` (all, without one).
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

    /// Publishes a pending submission as an initiative (after `edit`, which may correct it).
    pub fn approve(
        &mut self,
        id: &str,
        actor: &str,
        edit: impl FnOnce(&str) -> Result<Initiative, StoreError>,
    ) -> Result<(Initiative, u64), StoreError> {
        let tx = self.write()?;
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
        tx.commit()?;
        Ok((initiative, revision))
    }

    /// Declines a pending submission, with the curator's reason.
    pub fn reject(&mut self, id: &str, actor: &str, reason: &str) -> Result<(), StoreError> {
        let tx = self.write()?;
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
        tx.commit()?;
        Ok(())
    }

    /// Audit entries after `after` (a sequence number), oldest first.
    pub fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page("seq > ?1 ORDER BY seq", after, limit)
    }

    /// Audit entries before `before` (a sequence number), newest first.
    pub fn audit_log_before(
        &self,
        before: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page("seq < ?1 ORDER BY seq DESC", before, limit)
    }

    fn audit_page(
        &self,
        condition: &str,
        bound: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT seq, at, actor, action, initiative_id, submission_id, before, after, detail
             FROM audit WHERE {condition} LIMIT ?2"
        ))?;
        let raw = |text: Option<String>| {
            text.and_then(|t| serde_json::value::RawValue::from_string(t).ok())
        };
        let rows = statement.query_map(params![bound, limit as i64], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                initiative_id: r.get(4)?,
                submission_id: r.get(5)?,
                before: raw(r.get(6)?),
                after: raw(r.get(7)?),
                detail: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Runs `body` in one write transaction for a harvest: all its upserts and retirements
    /// commit together or not at all.
    pub fn harvest<T>(
        &mut self,
        body: impl FnOnce(&mut Harvest<'_>) -> Result<T, StoreError>,
    ) -> Result<(T, u64), StoreError> {
        let tx = self.write()?;
        let mut harvest = Harvest { tx, revision: None };
        let result = body(&mut harvest)?;
        // A run that changed no record leaves the revision (and so every ETag) as it was.
        let revision = match harvest.revision {
            Some(revision) => revision,
            None => revision(&harvest.tx)?,
        };
        harvest.tx.commit()?;
        Ok((result, revision))
    }

    /// The ETag and Last-Modified of `source`'s last harvest from `location`.
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

    /// The random name of this store, fixed when it was created.
    pub fn instance(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?)
    }

    /// The number of committed changes so far.
    pub fn revision(&mut self) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        let value = revision(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    /// `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    fn write(&mut self) -> Result<Transaction<'_>, StoreError> {
        // IMMEDIATE takes the write lock up front, so two writers never both read the old
        // state and then race to write.
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// An open harvest transaction.
pub struct Harvest<'a> {
    tx: Transaction<'a>,
    /// The run's revision, taken at its first change.
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

    /// Adds or updates the record `origin` names. A record whose id belongs to another
    /// source's live initiative is refused, so feeds cannot overwrite each other or curators.
    pub fn upsert(
        &mut self,
        initiative: &Initiative,
        origin: Origin<'_>,
        actor: &str,
    ) -> Result<Upserted, StoreError> {
        let existing = self
            .tx
            .query_row(
                "SELECT feature, deleted_at IS NOT NULL, source, source_id
                 FROM initiatives WHERE id = ?1",
                [&*initiative.id],
                |r| {
                    Ok(StoredRow {
                        feature: r.get(0)?,
                        deleted: r.get(1)?,
                        source: r.get(2)?,
                        source_id: r.get(3)?,
                    })
                },
            )
            .optional()?;
        let outcome = match &existing {
            None => Upserted::Added,
            Some(row)
                if row.source.as_deref() != Some(origin.source)
                    || row.source_id.as_deref() != Some(origin.source_id) =>
            {
                return Err(StoreError::AlreadyExists(initiative.id.to_string()));
            }
            Some(row) if row.deleted => Upserted::Added,
            Some(row) if same_content(&row.feature, initiative) => Upserted::Unchanged,
            Some(_) => Upserted::Updated,
        };
        if outcome == Upserted::Unchanged {
            return Ok(outcome);
        }
        let revision = self.revision()?;
        let new_text = upsert_row(&self.tx, initiative, revision, Some(origin))?;
        let before = existing
            .as_ref()
            .filter(|row| !row.deleted)
            .map(|row| row.feature.as_str());
        audit(
            &self.tx,
            &AuditRecord {
                actor,
                action: if outcome == Upserted::Added {
                    "harvest-add"
                } else {
                    "harvest-update"
                },
                initiative_id: Some(&initiative.id),
                before,
                after: Some(&new_text),
                ..AuditRecord::default()
            },
        )?;
        Ok(outcome)
    }

    /// Remembers where `source` was harvested from and its validators, for the next run's
    /// conditional request.
    pub fn remember_feed(
        &mut self,
        source: &str,
        location: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO feeds (source, location, etag, last_modified, harvested_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (source) DO UPDATE SET location = ?2, etag = ?3, last_modified = ?4,
                 harvested_at = ?5",
            params![
                source,
                location,
                etag,
                last_modified,
                Timestamp::now().to_string()
            ],
        )?;
        Ok(())
    }

    /// Tombstones every live record of `source` whose source id is not in `kept`.
    pub fn retire_missing(
        &mut self,
        source: &str,
        kept: &std::collections::HashSet<String>,
        actor: &str,
    ) -> Result<Vec<String>, StoreError> {
        let live: Vec<(String, String, String)> = {
            let mut statement = self.tx.prepare(
                "SELECT id, source_id, feature FROM initiatives
                 WHERE source = ?1 AND deleted_at IS NULL",
            )?;
            statement
                .query_map([source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        let now = Timestamp::now().to_string();
        let mut retired = Vec::new();
        for (id, source_id, feature) in live {
            if kept.contains(&source_id) {
                continue;
            }
            let revision = self.revision()?;
            self.tx.execute(
                "UPDATE initiatives SET deleted_at = ?2, revision = ?3 WHERE id = ?1",
                params![id, now, revision as i64],
            )?;
            audit(
                &self.tx,
                &AuditRecord {
                    actor,
                    action: "harvest-retire",
                    initiative_id: Some(&id),
                    before: Some(&feature),
                    ..AuditRecord::default()
                },
            )?;
            retired.push(id);
        }
        Ok(retired)
    }
}

/// An initiative's row as a harvest sees it.
struct StoredRow {
    feature: String,
    deleted: bool,
    source: Option<String>,
    source_id: Option<String>,
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (number, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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

/// Counts one more change; every write transaction calls it once.
fn bump(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let value: i64 = tx.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value",
        [],
        |r| r.get(0),
    )?;
    Ok(value as u64)
}

fn read_initiative(id: &str, feature: &str) -> Result<Initiative, StoreError> {
    dataset::parse_feature(feature)
        .map(|(initiative, _)| initiative)
        .map_err(|problems| {
            let reasons: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
            StoreError::Corrupt(id.to_string(), reasons.join("; "))
        })
}

/// Equal apart from `updated_at`, which a feed may bump without changing anything.
fn same_content(old_text: &str, new: &Initiative) -> bool {
    dataset::parse_feature(old_text).is_ok_and(|(old, _)| same_record(&old, new))
}

/// Equal apart from `updated_at`: a write of such a record changes nothing.
fn same_record(old: &Initiative, new: &Initiative) -> bool {
    Initiative {
        updated_at: new.updated_at,
        ..old.clone()
    } == *new
}

fn parse_time(id: &str, text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(id.to_string(), format!("bad time \"{text}\": {e}")))
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
             revision = ?4, source = ?5, source_id = ?6",
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
    match row {
        None => Err(StoreError::NoSuchSubmission(id.to_string())),
        Some((status, feature)) => match SubmissionStatus::parse(&status) {
            Some(SubmissionStatus::Pending) => Ok(feature),
            Some(decided) => Err(StoreError::AlreadyDecided(id.to_string(), decided.as_str())),
            None => Err(StoreError::Corrupt(
                id.to_string(),
                format!("status {status}"),
            )),
        },
    }
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

#[derive(Default)]
struct AuditRecord<'a> {
    actor: &'a str,
    action: &'a str,
    initiative_id: Option<&'a str>,
    submission_id: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    detail: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn initiative(id: &str, city: &str) -> Initiative {
        let text = format!(
            r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[2.35,48.85]}},
            "properties":{{"name":"N","description":"D","organisation":"O","url":"https://e.org",
            "country":"FR","city":"{city}","skill_areas":["iot"],"target_groups":["smes"],
            "kind":"hub","languages":["fr"],"updated_at":"2026-01-01T00:00:00Z","source":"S"}}}}"#
        );
        dataset::parse_feature(&text).unwrap().0
    }

    fn temp_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        (dir, path, store)
    }

    #[test]
    fn migrations_run_once_and_a_newer_schema_is_refused() {
        let (_dir, path, mut store) = temp_store();
        store.seed(&[initiative("a", "Paris")], "seed").unwrap();
        drop(store);
        let mut again = Store::open(&path).unwrap();
        assert_eq!(again.changes_since(0).unwrap().live.len(), 1);
        again.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(again);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn every_change_bumps_the_revision_and_deletes_leave_tombstones() {
        let (_dir, _path, mut store) = temp_store();
        let r1 = store.seed(&[initiative("a", "Paris")], "seed").unwrap();
        let r2 = store.create(&initiative("b", "Lyon"), "alice").unwrap();
        assert!(r2 > r1);
        let (_, r3) = store
            .change("a", "alice", "delete", |_| true, |_| Ok(None))
            .unwrap();
        assert!(r3 > r2);
        let contents = store.changes_since(0).unwrap();
        assert_eq!(contents.revision, r3);
        assert_eq!(contents.live.len(), 1);
        assert_eq!(
            contents.live[0].0, r2,
            "each record with the revision that wrote it"
        );
        assert_eq!(&*contents.deleted[0].1.id, "a");
        assert_eq!(contents.deleted[0].0, r3);
        assert!(matches!(
            store.change("a", "alice", "delete", |_| true, |_| Ok(None)),
            Err(StoreError::NoSuchInitiative(_))
        ));
        assert!(matches!(
            store.change("b", "bob", "replace", |_| false, |i| Ok(Some(i))),
            Err(StoreError::PreconditionFailed(_))
        ));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn a_failed_change_leaves_no_trace() {
        let (_dir, _path, mut store) = temp_store();
        store.seed(&[initiative("a", "Paris")], "seed").unwrap();
        let before = store.revision().unwrap();
        let result = store.change(
            "a",
            "alice",
            "replace",
            |_| true,
            |_| Err(StoreError::Invalid(Vec::new())),
        );
        assert!(matches!(result, Err(StoreError::Invalid(_))));
        assert_eq!(store.revision().unwrap(), before);
        assert_eq!(store.audit_log(0, 100).unwrap().len(), 1);
    }

    #[test]
    fn harvests_upsert_by_origin_and_retire_what_vanished() {
        let (_dir, _path, mut store) = temp_store();
        store
            .create(&initiative("curated", "Paris"), "alice")
            .unwrap();
        let origin = |id| Origin {
            source: "feed",
            source_id: id,
        };
        let ((first, _), _) = store
            .harvest(|h| {
                let a = h.upsert(&initiative("f-1", "Lille"), origin("1"), "harvest")?;
                let b = h.upsert(&initiative("f-2", "Nice"), origin("2"), "harvest")?;
                Ok(((a, b), ()))
            })
            .unwrap();
        assert_eq!(first, (Upserted::Added, Upserted::Added));
        let ((outcomes, retired), _) = store
            .harvest(|h| {
                let mut bumped = initiative("f-1", "Lille");
                bumped.updated_at = "2026-06-01T00:00:00Z".parse().unwrap();
                let same = h.upsert(&bumped, origin("1"), "harvest")?;
                let clash = h.upsert(&initiative("curated", "Paris"), origin("9"), "harvest");
                let kept = ["1".to_string()].into_iter().collect();
                let retired = h.retire_missing("feed", &kept, "harvest")?;
                Ok(((same, clash.is_err()), retired))
            })
            .unwrap();
        assert_eq!(outcomes, (Upserted::Unchanged, true));
        assert_eq!(retired, ["f-2"]);
        let contents = store.changes_since(0).unwrap();
        let mut live: Vec<&str> = contents.live.iter().map(|(_, i)| &*i.id).collect();
        live.sort_unstable();
        assert_eq!(live, ["curated", "f-1"]);
    }

    #[test]
    fn writes_that_change_nothing_keep_the_revision() {
        let (_dir, _path, mut store) = temp_store();
        store.seed(&[initiative("a", "Paris")], "seed").unwrap();
        let origin = Origin {
            source: "feed",
            source_id: "1",
        };
        let (_, first) = store
            .harvest(|h| h.upsert(&initiative("f-1", "Lille"), origin, "harvest"))
            .unwrap();
        let audit_rows = store.audit_log(0, 100).unwrap().len();
        // The same record again, only its time bumped, and nothing retired.
        let (outcome, again) = store
            .harvest(|h| {
                let mut bumped = initiative("f-1", "Lille");
                bumped.updated_at = "2027-01-01T00:00:00Z".parse().unwrap();
                let kept = ["1".to_string()].into_iter().collect();
                h.retire_missing("feed", &kept, "harvest")?;
                h.upsert(&bumped, origin, "harvest")
            })
            .unwrap();
        assert_eq!((outcome, again), (Upserted::Unchanged, first));
        // A change whose result equals the record but for its time.
        let (kept, revision) = store
            .change(
                "a",
                "alice",
                "replace",
                |_| true,
                |mut i| {
                    i.updated_at = "2027-01-01T00:00:00Z".parse().unwrap();
                    Ok(Some(i))
                },
            )
            .unwrap();
        assert_eq!(revision, first);
        assert_eq!(kept.unwrap().updated_at.to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(store.audit_log(0, 100).unwrap().len(), audit_rows);
        // A real change still counts.
        let (_, changed) = store
            .change(
                "a",
                "alice",
                "replace",
                |_| true,
                |mut i| {
                    i.city = "Lyon".into();
                    Ok(Some(i))
                },
            )
            .unwrap();
        assert!(changed > first);
    }
}
