//! Proposals from the public on SQLite: recording them, listing them, and a curator's
//! approval (which creates the initiative) or rejection, each audited in its transaction.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, audit, bump, live_feature, revision, seal, upsert_row};
use crate::model::Initiative;
use crate::store::guard::WriteGuard;
use crate::store::{AuditRecord, StoreError, Submission, SubmissionStatus};

impl SqliteStore {
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
}

fn pending_submission(tx: &Transaction<'_>, id: &str) -> Result<String, StoreError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT status, feature FROM submissions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    crate::store::pending_feature(id, row)
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
