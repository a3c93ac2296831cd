//! Proposals from the public on PostgreSQL: recording them, listing them, and a curator's
//! approval (which creates the initiative) or rejection, each audited in its transaction.

use jiff::Timestamp;
use tokio_postgres::Row;

use super::{
    PostgresStore, audit, bound, bump, current_revision, execute, live_feature, seal, upsert_row,
    wait,
};
use crate::model::Initiative;
use crate::store::guard::WriteGuard;
use crate::store::{AuditRecord, StoreError, Submission, SubmissionStatus, pending_feature};

impl PostgresStore {
    pub fn submit(
        &mut self,
        id: &str,
        feature: &str,
        client: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        let mut connection = self.client()?;
        wait(async {
            let tx = connection.transaction().await?;
            bound(&tx, guard).await?;
            execute(
                &tx,
                "INSERT INTO submissions (id, feature, client, submitted_at, status)
                 VALUES ($1, $2, $3, $4, 'pending')",
                &[&id, &feature, &client, &Timestamp::now().to_string()],
            )
            .await?;
            audit(
                &tx,
                &AuditRecord {
                    actor: &format!("public {client}"),
                    action: "submit",
                    submission_id: Some(id),
                    after: Some(feature),
                    ..AuditRecord::default()
                },
            )
            .await?;
            let revision = current_revision(&tx).await?;
            seal(&tx, guard).await?;
            tx.commit().await?;
            Ok(revision)
        })
    }

    pub fn submissions(
        &self,
        status: Option<SubmissionStatus>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Submission>, StoreError> {
        let client = self.client()?;
        let rows = wait(client.query(
            "SELECT id, status, submitted_at, client, feature, decided_by, decided_at, reason,
                    initiative_id
             FROM submissions WHERE $1::text IS NULL OR status = $1
             ORDER BY submitted_at DESC, id LIMIT $2 OFFSET $3",
            &[
                &status.map(SubmissionStatus::as_str),
                &(limit as i64),
                &(offset as i64),
            ],
        ))?;
        rows.iter().map(submission_row).collect()
    }

    pub fn count_submissions(&self, status: Option<SubmissionStatus>) -> Result<u64, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_one(
            "SELECT count(*) FROM submissions WHERE $1::text IS NULL OR status = $1",
            &[&status.map(SubmissionStatus::as_str)],
        ))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    pub fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_opt(
            "SELECT id, status, submitted_at, client, feature, decided_by, decided_at, reason,
                    initiative_id
             FROM submissions WHERE id = $1",
            &[&id],
        ))?;
        row.as_ref().map(submission_row).transpose()
    }

    pub fn approve(
        &mut self,
        id: &str,
        actor: &str,
        edit: impl FnOnce(&str) -> Result<Initiative, StoreError>,
        guard: &WriteGuard,
    ) -> Result<(Initiative, u64), StoreError> {
        let mut client = self.client()?;
        let tx = wait(client.transaction())?;
        wait(bound(&tx, guard))?;
        let row = wait(tx.query_opt(
            "SELECT status, feature FROM submissions WHERE id = $1 FOR UPDATE",
            &[&id],
        ))?;
        let feature = pending_feature(id, row.map(|r| (r.get(0), r.get(1))))?;
        let initiative = edit(&feature)?;
        wait(async {
            let revision = bump(&tx).await?;
            if live_feature(&tx, &initiative.id).await?.is_some() {
                return Err(StoreError::AlreadyExists(initiative.id.to_string()));
            }
            let after = upsert_row(&tx, &initiative, revision, None).await?;
            execute(
                &tx,
                "UPDATE submissions SET status = 'approved', decided_by = $2, decided_at = $3,
                        initiative_id = $4
                 WHERE id = $1",
                &[&id, &actor, &Timestamp::now().to_string(), &&*initiative.id],
            )
            .await?;
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
            )
            .await?;
            seal(&tx, guard).await?;
            tx.commit().await?;
            Ok((initiative, revision))
        })
    }

    pub fn reject(
        &mut self,
        id: &str,
        actor: &str,
        reason: &str,
        guard: &WriteGuard,
    ) -> Result<(), StoreError> {
        let mut client = self.client()?;
        wait(async {
            let tx = client.transaction().await?;
            bound(&tx, guard).await?;
            let row = tx
                .query_opt(
                    "SELECT status, feature FROM submissions WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await?;
            pending_feature(id, row.map(|r| (r.get(0), r.get(1))))?;
            execute(
                &tx,
                "UPDATE submissions SET status = 'rejected', decided_by = $2, decided_at = $3,
                        reason = $4
                 WHERE id = $1",
                &[&id, &actor, &Timestamp::now().to_string(), &reason],
            )
            .await?;
            audit(
                &tx,
                &AuditRecord {
                    actor,
                    action: "reject",
                    submission_id: Some(id),
                    detail: Some(reason.to_string()),
                    ..AuditRecord::default()
                },
            )
            .await?;
            seal(&tx, guard).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

fn submission_row(r: &Row) -> Result<Submission, StoreError> {
    let id: String = r.get(0);
    let status: String = r.get(1);
    let feature: String = r.get(4);
    Ok(Submission {
        status: SubmissionStatus::parse(&status).unwrap_or(SubmissionStatus::Pending),
        submitted_at: r.get(2),
        client: r.get(3),
        feature: serde_json::value::RawValue::from_string(feature)
            .map_err(|e| StoreError::Corrupt(id.clone(), e.to_string()))?,
        decided_by: r.get(5),
        decided_at: r.get(6),
        reason: r.get(7),
        initiative_id: r.get(8),
        id,
    })
}
