//! Harvests on SQLite: a run's batches (upserts merged with curators' edits, marks, retirement
//! of what the feed no longer lists), the run's audit entry, feed validators and leases.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, audit, bump, revision, upsert_row};
use crate::model::Initiative;
use crate::store::harvest_merge::{self, HARVEST_ROW, HarvestRow};
use crate::store::{AuditRecord, Claim, FeedValidators, Origin, RunEnd, StoreError, Upserted};

impl SqliteStore {
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
        let claim = crate::store::decide_claim(next_due, held_until, failures, now);
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
