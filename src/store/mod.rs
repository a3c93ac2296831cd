//! The store, the source of truth for initiatives, submissions, the audit log, harvest state,
//! rate limits and leases: one interface over two back-ends, SQLite (embedded, the default)
//! and PostgreSQL (shared by any number of replicas). Every change is one transaction,
//! committed durably before it is acknowledged, and counted by the store's revision.
//!
//! The interface is an enum over the back-ends rather than a trait: its writes take closures
//! that run inside the transaction (a precondition, an edit, a harvest's body), which makes a
//! trait generic and so not usable as `dyn`; a trait would have turned `Curation`, the API
//! state and every handler generic over the back-end. The enum keeps one concrete `Store`
//! type, dispatches statically, and puts what both back-ends share (deciding what a harvest
//! does to a record, the rate-limit arithmetic, parsing rows) here, once.

mod error;
pub mod guard;
mod harvest_merge;
mod idempotency;
mod location;
pub mod postgres;
pub mod retention;
pub mod scratch;
pub mod sqlite;

use jiff::Timestamp;

use crate::dataset;
use crate::model::Initiative;
pub use error::{RETRY_AFTER_SECONDS, StoreError};
pub use guard::{KeyRecord, KeyedResponse, StoredResponse, WriteGuard};
pub use location::StoreLocation;
pub use retention::Erased;

/// An initiative that was deleted, kept so that incremental pulls learn of the deletion.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Tombstone {
    pub id: Box<str>,
    pub deleted_at: Timestamp,
}

/// The initiatives written after some revision as of the store's latest revision: each live
/// record or tombstone with the revision at which it was last written (in no set order).
pub struct Changes {
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
    /// Listed earlier in the same run: not stored again.
    Repeated,
}

/// How many submissions one client may make: `per_hour` on average, `burst` at once.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub per_hour: u32,
    pub burst: u32,
}

impl Quota {
    /// The generic cell rate algorithm on a client's "theoretical arrival time" (seconds since
    /// the epoch): the new time if a request at `now` is admitted, or how long to wait.
    /// One number per client is all the store keeps, so any replica can decide.
    pub fn decide(&self, arrival: Option<f64>, now: f64) -> Result<f64, f64> {
        let interval = 3600.0 / f64::from(self.per_hour.max(1));
        let next = arrival.unwrap_or(now).max(now) + interval;
        let allowance = interval * f64::from(self.burst.max(1));
        if next - now <= allowance + 1e-9 {
            Ok(next)
        } else {
            Err(next - now - allowance)
        }
    }
}

/// What a replica asking to harvest a feed was told.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Claim {
    /// This replica harvests now; `failures` runs in a row failed before.
    Granted { failures: u32 },
    /// Not due yet, or another replica holds the lease: ask again at `until` (epoch seconds).
    Wait { until: f64 },
}

/// The open store, on one of its back-ends. Callers serialise access (see `curation`).
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

/// Runs the same call on whichever back-end the store is.
macro_rules! each {
    ($self:expr, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

impl Store {
    /// Opens (creating if needed) the store at `location` and brings its schema up to date;
    /// several processes may do so at once.
    pub fn open(location: &StoreLocation) -> Result<Store, StoreError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => Store::Sqlite(sqlite::SqliteStore::open(path)?),
            StoreLocation::Postgres(url) => Store::Postgres(postgres::PostgresStore::open(url)?),
        })
    }

    /// True if no initiative was ever stored (deleted ones count as stored).
    pub fn is_empty(&mut self) -> Result<bool, StoreError> {
        each!(self, s => s.is_empty())
    }

    /// Stores `initiatives` as one change if the store has never held any (the first start's
    /// seed data); of several processes starting at once on an empty store, one seeds.
    /// Returns the revision if this call seeded.
    pub fn seed_if_empty(
        &mut self,
        initiatives: &[Initiative],
        actor: &str,
    ) -> Result<Option<u64>, StoreError> {
        each!(self, s => s.seed_if_empty(initiatives, actor))
    }

    /// What changed after `since`, as of the latest revision (one consistent read);
    /// `changes_since(0)` is everything.
    pub fn changes_since(&mut self, since: u64) -> Result<Changes, StoreError> {
        each!(self, s => s.changes_since(since))
    }

    /// Every deletion, without reading a live record (a saved read model holds those).
    pub fn tombstones(&mut self) -> Result<Vec<Tombstone>, StoreError> {
        each!(self, s => s.tombstones())
    }

    /// The last state of each deleted initiative among `ids` (ids that are live or unknown
    /// are left out), so that a feed can tell whether a deletion belongs to its query.
    pub fn deleted_states(&mut self, ids: &[&str]) -> Result<Vec<Initiative>, StoreError> {
        let rows = each!(self, s => s.deleted_rows(ids))?;
        rows.iter()
            .map(|(id, feature)| read_initiative(id, feature))
            .collect()
    }

    /// Commits a write that changes nothing, to learn whether writes succeed (after a disk
    /// was full or the store read-only).
    pub fn probe_write(&mut self) -> Result<(), StoreError> {
        each!(self, s => s.probe_write())
    }

    /// Adds a new initiative; its id must not belong to a live one (a deleted id may be reused).
    /// `guard` bounds its waits, refuses to commit past its deadline and records its key.
    pub fn create(
        &mut self,
        initiative: &Initiative,
        actor: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.create(initiative, actor, guard))
    }

    /// Replaces, modifies or (when `change` returns `None`) deletes the live initiative `id`,
    /// provided `precondition` holds for its current state; `action` names the change in the
    /// audit log. All in one transaction, so no other change can slip between the check and
    /// the write. A result equal to the current record but for `updated_at` writes nothing:
    /// it returns the current record and the current revision.
    pub fn change(
        &mut self,
        id: &str,
        actor: &str,
        action: &str,
        precondition: impl FnOnce(&Initiative) -> bool,
        change: impl FnOnce(Initiative) -> Result<Option<Initiative>, StoreError>,
        guard: &WriteGuard,
    ) -> Result<(Option<Initiative>, u64), StoreError> {
        each!(self, s => s.change(id, actor, action, precondition, change, guard))
    }

    /// Stores a proposed initiative (a validated GeoJSON Feature) as pending.
    pub fn submit(
        &mut self,
        id: &str,
        feature: &str,
        client: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.submit(id, feature, client, guard))
    }

    /// Submissions, newest first, optionally only those with `status`.
    pub fn submissions(
        &self,
        status: Option<SubmissionStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Submission>, StoreError> {
        each!(self, s => s.submissions(status, limit, offset))
    }

    /// How many submissions have `status` (all, without one).
    pub fn count_submissions(&self, status: Option<SubmissionStatus>) -> Result<u64, StoreError> {
        each!(self, s => s.count_submissions(status))
    }

    pub fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        each!(self, s => s.submission(id))
    }

    /// Publishes a pending submission as an initiative (after `edit`, which may correct it).
    pub fn approve(
        &mut self,
        id: &str,
        actor: &str,
        edit: impl FnOnce(&str) -> Result<Initiative, StoreError>,
        guard: &WriteGuard,
    ) -> Result<(Initiative, u64), StoreError> {
        each!(self, s => s.approve(id, actor, edit, guard))
    }

    /// Declines a pending submission, with the curator's reason.
    pub fn reject(
        &mut self,
        id: &str,
        actor: &str,
        reason: &str,
        guard: &WriteGuard,
    ) -> Result<(), StoreError> {
        each!(self, s => s.reject(id, actor, reason, guard))
    }

    /// The response recorded with a write under `key` by `scope`, unless it has expired
    /// (recorded before `not_before`, epoch seconds).
    pub fn keyed_response(
        &self,
        scope: &str,
        key: &str,
        not_before: f64,
    ) -> Result<Option<KeyedResponse>, StoreError> {
        each!(self, s => s.keyed_response(scope, key, not_before))
    }

    /// Forgets the idempotency records made before `before`; returns how many.
    pub fn prune_keys(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        each!(self, s => s.prune_keys(epoch_seconds(before)))
    }

    /// Erases submitters' addresses recorded before `before` (see [`retention`]).
    pub fn erase_addresses(&mut self, before: Timestamp) -> Result<Erased, StoreError> {
        let now = epoch_seconds(Timestamp::now());
        each!(self, s => s.erase_addresses(before, now))
    }

    /// Audit entries after `after` (a sequence number), oldest first.
    pub fn audit_log(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        each!(self, s => s.audit_page(false, after, limit))
    }

    /// Audit entries before `before` (a sequence number), newest first.
    pub fn audit_log_before(
        &self,
        before: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        each!(self, s => s.audit_page(true, before, limit))
    }

    /// Runs `body`, one batch of a harvest run, in one short write transaction: its upserts
    /// and retirements commit together or not at all. The revision moves only if something
    /// changed; the one returned is the store's revision after the batch either way.
    pub fn harvest<T>(
        &mut self,
        body: impl FnOnce(&mut Harvest<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<(T, u64), StoreError> {
        match self {
            Store::Sqlite(s) => s.harvest(|h| body(&mut Harvest::Sqlite(h))),
            Store::Postgres(s) => s.harvest(|h| body(&mut Harvest::Postgres(h))),
        }
    }

    /// The ETag and Last-Modified of `source`'s last harvest from `location`.
    pub fn feed_validators(
        &self,
        source: &str,
        location: &str,
    ) -> Result<Option<FeedValidators>, StoreError> {
        each!(self, s => s.feed_validators(source, location))
    }

    /// The number of committed changes so far.
    pub fn revision(&mut self) -> Result<u64, StoreError> {
        each!(self, s => s.revision())
    }

    /// The random name of this store, fixed when it was created.
    pub fn instance(&self) -> Result<String, StoreError> {
        each!(self, s => s.instance())
    }

    /// Counts a submission by `client` against `quota`, for every replica at once: `Ok` if
    /// admitted, else how many seconds until the next one would be.
    pub fn admit(&mut self, client: &str, quota: Quota) -> Result<Result<(), u64>, StoreError> {
        let now = epoch_seconds(Timestamp::now());
        let decision = each!(self, s => s.admit(client, quota, now))?;
        Ok(decision.map_err(|wait| wait.ceil().max(1.0) as u64))
    }

    /// Asks to harvest `feed` now, as `holder`, for at most `hold_for` seconds (the lease
    /// lapses after that, in case the holder died); see [`Claim`].
    pub fn claim_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        hold_for: f64,
    ) -> Result<Claim, StoreError> {
        let now = epoch_seconds(Timestamp::now());
        each!(self, s => s.claim_harvest(feed, holder, now, hold_for))
    }

    /// Ends `holder`'s lease on `feed`: the next run is due at `next_due` (epoch seconds);
    /// `failures` counts the failed runs in a row (0 after a success).
    pub fn release_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        next_due: f64,
        failures: u32,
    ) -> Result<(), StoreError> {
        each!(self, s => s.release_harvest(feed, holder, next_due, failures))
    }

    /// Which back-end this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

/// An open harvest transaction: one batch of a run (see `harvest`).
pub enum Harvest<'a, 'tx> {
    Sqlite(&'a mut sqlite::Harvest<'tx>),
    Postgres(&'a mut postgres::Harvest<'tx>),
}

/// Runs the same call on whichever back-end the harvest transaction is.
macro_rules! each_harvest {
    ($self:expr, $h:ident => $call:expr) => {
        match $self {
            Harvest::Sqlite($h) => $call,
            Harvest::Postgres($h) => $call,
        }
    };
}

impl Harvest<'_, '_> {
    /// Adds or updates the record `origin` names, for run `run` (a number unique to the
    /// run), and marks it listed by the run. A record whose id belongs to another source's
    /// live initiative is refused, so feeds cannot overwrite each other or curators; a record
    /// a curator edited is merged field by field (see `harvest_merge`).
    pub fn upsert(
        &mut self,
        initiative: &Initiative,
        origin: Origin<'_>,
        run: i64,
    ) -> Result<Upserted, StoreError> {
        each_harvest!(self, h => h.upsert(initiative, origin, run))
    }

    /// Marks the record `origin` names (if stored) as listed by run `run` although the
    /// feed's version of it is invalid: it is kept, not retired.
    pub fn mark_listed(&mut self, origin: Origin<'_>, run: i64) -> Result<(), StoreError> {
        each_harvest!(self, h => h.mark_listed(origin, run))
    }

    /// Tombstones up to `limit` live records of `source` that run `run` did not list;
    /// returns their ids (fewer than `limit`: none are left).
    pub fn retire_unlisted(
        &mut self,
        source: &str,
        run: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        each_harvest!(self, h => h.retire_unlisted(source, run, limit))
    }

    /// Ends a run that read the whole feed: remembers where its source was harvested from
    /// and the validators (for the next run's conditional request), writes the run's one
    /// audit entry from its staged changes (with those of interrupted runs before it), and
    /// prunes harvest audit entries older than `prune_before`.
    pub fn finish_run(&mut self, end: &RunEnd<'_>) -> Result<(), StoreError> {
        each_harvest!(self, h => h.finish_run(end))
    }
}

/// How a harvest run ends (see [`Harvest::finish_run`]).
pub struct RunEnd<'a> {
    pub source: &'a str,
    pub location: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub actor: &'a str,
    pub prune_before: Timestamp,
}

/// Whether a replica may harvest a feed whose lease row says this.
fn decide_claim(next_due: f64, held_until: Option<f64>, failures: i64, now: f64) -> Claim {
    match held_until {
        // Another replica is harvesting it (a lapsed lease is free again).
        Some(until) if until > now => Claim::Wait { until },
        _ if next_due > now => Claim::Wait { until: next_due },
        _ => Claim::Granted {
            failures: failures.clamp(0, i64::from(u32::MAX)) as u32,
        },
    }
}

/// A pending submission's feature from its row `(status, feature)`, or why it is not pending.
fn pending_feature(id: &str, row: Option<(String, String)>) -> Result<String, StoreError> {
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

/// One audit row, before it is written.
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

/// Parses the rows `(revision, id, feature)` of a read; parsing is most of a large read's
/// work, so it is spread over the cores.
fn parse_rows(rows: Vec<(u64, String, String)>) -> Result<Vec<(u64, Initiative)>, StoreError> {
    use rayon::prelude::*;
    rows.par_iter()
        .map(|(revision, id, feature)| Ok((*revision, read_initiative(id, feature)?)))
        .collect()
}

/// Equal apart from `updated_at`, which a feed or a client may bump without changing anything.
fn same_content(old_text: &str, new: &Initiative) -> bool {
    dataset::parse_feature(old_text).is_ok_and(|(mut old, _)| {
        old.updated_at = new.updated_at;
        old == *new
    })
}

/// Tombstones from rows `(id, deleted_at)`.
fn tombstones(rows: Vec<(String, String)>) -> Result<Vec<Tombstone>, StoreError> {
    rows.into_iter()
        .map(|(id, at)| {
            Ok(Tombstone {
                deleted_at: parse_time(&id, &at)?,
                id: id.into(),
            })
        })
        .collect()
}

fn parse_time(id: &str, text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(id.to_string(), format!("bad time \"{text}\": {e}")))
}

pub fn epoch_seconds(time: Timestamp) -> f64 {
    time.as_millisecond() as f64 / 1000.0
}

fn raw_json(text: Option<String>) -> Option<Box<serde_json::value::RawValue>> {
    text.and_then(|t| serde_json::value::RawValue::from_string(t).ok())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_tests;
