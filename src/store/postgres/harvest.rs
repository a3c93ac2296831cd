//! Harvests on PostgreSQL: a run's batches (upserts merged with curators' edits, marks,
//! retirement of what the feed no longer lists), the run's audit entry, feed validators and
//! leases shared by every replica.

use deadpool_postgres::Transaction;
use jiff::Timestamp;

use super::{
    PostgresStore, audit, bump, current_revision, execute, lock_revision, upsert_row, wait,
};
use crate::model::Initiative;
use crate::store::harvest_merge::{self, HARVEST_ROW, HarvestRow};
use crate::store::{
    AuditRecord, Claim, FeedValidators, Origin, RunEnd, StoreError, Upserted, decide_claim,
};

impl PostgresStore {
    pub fn harvest<T>(
        &mut self,
        body: impl FnOnce(&mut Harvest<'_>) -> Result<T, StoreError>,
    ) -> Result<(T, u64), StoreError> {
        let mut client = self.client()?;
        let tx = wait(client.transaction())?;
        // A batch marks rows before it knows whether it changes any: it takes the revision's
        // lock first, as every writer does, so that it never deadlocks with a curator's write.
        wait(lock_revision(&tx))?;
        let mut harvest = Harvest { tx, revision: None };
        let result = body(&mut harvest)?;
        let revision = match harvest.revision {
            Some(revision) => revision,
            None => wait(current_revision(&harvest.tx))?,
        };
        wait(harvest.tx.commit())?;
        Ok((result, revision))
    }

    pub fn feed_validators(
        &self,
        source: &str,
        location: &str,
    ) -> Result<Option<FeedValidators>, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_opt(
            "SELECT etag, last_modified FROM feeds WHERE source = $1 AND location = $2",
            &[&source, &location],
        ))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    pub fn claim_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        now: f64,
        hold_for: f64,
    ) -> Result<Claim, StoreError> {
        let mut client = self.client()?;
        wait(async {
            let tx = client.transaction().await?;
            execute(
                &tx,
                "INSERT INTO harvest_leases (feed, next_due) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                &[&feed],
            )
            .await?;
            let row = tx
                .query_one(
                    "SELECT next_due, held_until, failures FROM harvest_leases
                     WHERE feed = $1 FOR UPDATE",
                    &[&feed],
                )
                .await?;
            let claim = decide_claim(row.get(0), row.get(1), i64::from(row.get::<_, i32>(2)), now);
            if let Claim::Granted { .. } = claim {
                execute(
                    &tx,
                    "UPDATE harvest_leases SET holder = $2, held_until = $3 WHERE feed = $1",
                    &[&feed, &holder, &(now + hold_for)],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(claim)
        })
    }

    pub fn release_harvest(
        &mut self,
        feed: &str,
        holder: &str,
        next_due: f64,
        failures: u32,
    ) -> Result<(), StoreError> {
        let client = self.client()?;
        let failures = i32::try_from(failures).unwrap_or(i32::MAX);
        wait(client.execute(
            "UPDATE harvest_leases SET next_due = $3, holder = NULL, held_until = NULL,
                 failures = $4
             WHERE feed = $1 AND holder = $2",
            &[&feed, &holder, &next_due, &failures],
        ))?;
        Ok(())
    }
}

/// An open harvest transaction; the revision is taken at its first change.
pub struct Harvest<'a> {
    tx: Transaction<'a>,
    revision: Option<u64>,
}

impl Harvest<'_> {
    async fn revision(&mut self) -> Result<u64, StoreError> {
        match self.revision {
            Some(revision) => Ok(revision),
            None => {
                let revision = bump(&self.tx).await?;
                self.revision = Some(revision);
                Ok(revision)
            }
        }
    }

    async fn harvest_row(&self, id: &str) -> Result<Option<HarvestRow>, StoreError> {
        let statement = self
            .tx
            .prepare_cached(&format!(
                "SELECT {HARVEST_ROW} FROM initiatives WHERE id = $1"
            ))
            .await?;
        Ok(self
            .tx
            .query_opt(&statement, &[&id])
            .await?
            .map(|r| HarvestRow {
                feature: r.get(0),
                deleted: r.get(1),
                source: r.get(2),
                source_id: r.get(3),
                base: r.get(4),
                run: r.get(5),
            }))
    }

    pub fn upsert(
        &mut self,
        initiative: &Initiative,
        origin: Origin<'_>,
        run: i64,
    ) -> Result<Upserted, StoreError> {
        wait(async {
            let existing = self.harvest_row(&initiative.id).await?;
            let plan = harvest_merge::plan(existing.as_ref(), initiative, origin, run)?;
            if plan.outcome() == Upserted::Repeated {
                return Ok(plan.outcome());
            }
            let writes = plan.writes(initiative);
            if let Some(record) = writes.record {
                let revision = self.revision().await?;
                upsert_row(&self.tx, record, revision, Some(origin)).await?;
            }
            execute(
                &self.tx,
                "UPDATE initiatives SET harvest_base = coalesce($2, harvest_base), harvest_run = $3
                 WHERE id = $1",
                &[&&*initiative.id, &writes.base, &run],
            )
            .await?;
            if let Some((change, diff)) = writes.staged {
                stage(&self.tx, origin.source, &initiative.id, change, diff).await?;
            }
            Ok(plan.outcome())
        })
    }

    pub fn mark_listed(&mut self, origin: Origin<'_>, run: i64) -> Result<(), StoreError> {
        wait(execute(
            &self.tx,
            "UPDATE initiatives SET harvest_run = $3 WHERE source = $1 AND source_id = $2",
            &[&origin.source, &origin.source_id, &run],
        ))?;
        Ok(())
    }

    pub fn retire_unlisted(
        &mut self,
        source: &str,
        run: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        wait(async {
            let rows = self
                .tx
                .query(
                    "SELECT id FROM initiatives
                     WHERE source = $1 AND deleted_at IS NULL
                       AND harvest_run IS DISTINCT FROM $2
                     LIMIT $3",
                    &[&source, &run, &(limit as i64)],
                )
                .await?;
            let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let now = Timestamp::now().to_string();
            for id in &ids {
                let revision = self.revision().await?;
                execute(
                    &self.tx,
                    "UPDATE initiatives SET deleted_at = $2, revision = $3 WHERE id = $1",
                    &[id, &now, &(revision as i64)],
                )
                .await?;
                stage(&self.tx, source, id, "retired", None).await?;
            }
            Ok(ids)
        })
    }

    pub fn finish_run(&mut self, end: &RunEnd<'_>) -> Result<(), StoreError> {
        wait(async {
            execute(
                &self.tx,
                "INSERT INTO feeds (source, location, etag, last_modified, harvested_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (source) DO UPDATE SET location = $2, etag = $3, last_modified = $4,
                     harvested_at = $5",
                &[
                    &end.source,
                    &end.location,
                    &end.etag,
                    &end.last_modified,
                    &Timestamp::now().to_string(),
                ],
            )
            .await?;
            let staged = self
                .tx
                .query(
                    "SELECT initiative_id, change, diff FROM harvest_changes WHERE source = $1
                     ORDER BY seq",
                    &[&end.source],
                )
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
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
                )
                .await?;
                execute(
                    &self.tx,
                    "DELETE FROM harvest_changes WHERE source = $1",
                    &[&end.source],
                )
                .await?;
            }
            execute(
                &self.tx,
                "DELETE FROM audit WHERE action LIKE 'harvest%' AND at < $1",
                &[&end.prune_before.to_string()],
            )
            .await?;
            Ok(())
        })
    }
}

/// Stages one change of a harvest run for the run's audit entry.
async fn stage(
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
    change: &str,
    diff: Option<&str>,
) -> Result<(), StoreError> {
    execute(
        tx,
        "INSERT INTO harvest_changes (source, initiative_id, change, diff) VALUES ($1, $2, $3, $4)",
        &[&source, &id, &change, &diff],
    )
    .await?;
    Ok(())
}
