//! The shared back-end: PostgreSQL through tokio-postgres, a deadpool pool and rustls (never
//! OpenSSL), for any number of replicas and `skillsmap import` runs at once.
//!
//! The store's interface is synchronous (callers run it on blocking threads, one call at a
//! time), so each call drives tokio-postgres's futures to completion on the calling thread.
//! Those futures only exchange messages with the connection's task, which does the socket
//! work on the store's own small runtime: this works from any thread, inside an async
//! runtime or not, and the closures a transaction runs (preconditions, edits, a harvest's
//! body) need not be `Send`.
//!
//! Every committed change bumps `store_state.revision` under its row lock (so revisions
//! commit in order) and sends `NOTIFY skillsmap_changes` with it: [`Listener`] wakes the
//! replicas, which then read what changed after their own revision.

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, IsolationLevel, Row};

use super::guard::{KeyedResponse, WriteGuard};
use super::harvest_merge::{self, HARVEST_ROW, HarvestRow};
use super::idempotency::{self, bound_postgres as bound, seal_postgres as seal};
use super::postgres_schema::MIGRATIONS;
use super::retention::{self, Erased};
use super::{
    AuditEntry, AuditRecord, Changes, Claim, FeedValidators, Origin, Quota, RunEnd, StoreError,
    StoreLocation, Submission, SubmissionStatus, Tombstone, Upserted, decide_claim, parse_rows,
    parse_time, pending_feature, raw_json, read_initiative, same_content,
};
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;

/// The channel every committed change is announced on.
pub const CHANNEL: &str = "skillsmap_changes";
/// Serialises migrations (and so the first seeding) of replicas starting at once.
const MIGRATION_LOCK: i64 = 0x736b_696c_6c73;
/// Connections one process keeps; its store calls are serialised, so few are needed.
const POOL_SIZE: usize = 4;
/// Longest wait for a connection (or a new one): past it the store counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Session settings: a write waits at most this long for another's lock before answering
/// "unavailable", and a transaction left idle (a stuck process) is ended by the server.
const SESSION_OPTIONS: &str = "-c lock_timeout=5s -c idle_in_transaction_session_timeout=300s";

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// An open PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    /// Runs the connections' socket work; shut down without blocking when the store drops.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `future` to completion on this thread (see the module's notes).
///
/// Unconstrained by tokio's cooperative budget: called from inside a tokio task (a test body,
/// a handler that did not move to a blocking thread), the caller's budget runs out after a
/// hundred-odd polls, and tokio then defers the wake-up to the caller's scheduler, which never
/// runs while this thread blocks; the wait would hang with nothing left to wake it.
fn wait<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(tokio::task::unconstrained(future))
}

/// The connection settings and TLS of a `postgres://` URL. TLS is used when the URL asks for
/// it (`sslmode=require`), through rustls with the web's root certificates, host name checked.
pub fn connection_config(
    url: &str,
) -> Result<
    (
        tokio_postgres::Config,
        tokio_postgres_rustls::MakeRustlsConnect,
    ),
    StoreError,
> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL is not usable: {e}")))?;
    let asked_for_tls = url::Url::parse(url)
        .map(|u| u.query_pairs().any(|(k, _)| k == "sslmode"))
        .unwrap_or(false);
    if !asked_for_tls {
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("skillsmap");
    }
    let options = match config.get_options() {
        Some(given) => format!("{given} {SESSION_OPTIONS}"),
        None => SESSION_OPTIONS.to_string(),
    };
    config.options(&options);
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((config, tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}

impl PostgresStore {
    /// Connects to the database `url` names and brings its schema up to date; of several
    /// processes doing so at once, one migrates while the others wait for it.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("skillsmap-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start the store's runtime: {e}")))?;
        let (config, tls) = connection_config(url)?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT * 2))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore {
            pool,
            runtime: Some(runtime),
        };
        let mut client = store.client()?;
        let location = StoreLocation::Postgres(url.to_string()).to_string();
        wait(migrate(&mut client, &location))?;
        Ok(store)
    }

    /// A pooled connection; made (or remade, after the server came back) on the store's runtime.
    fn client(&self) -> Result<Object, StoreError> {
        let pool = self.pool.clone();
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))?;
        let task = runtime.spawn(async move { pool.get().await });
        wait(task)
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .map_err(StoreError::from)
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_one("SELECT count(*) FROM initiatives", &[]))?;
        Ok(row.get::<_, i64>(0) == 0)
    }

    pub fn seed_if_empty(
        &mut self,
        initiatives: &[Initiative],
        actor: &str,
    ) -> Result<Option<u64>, StoreError> {
        let mut client = self.client()?;
        wait(async {
            let tx = client.transaction().await?;
            // The revision's row lock makes a second seeder wait, then see the first's rows.
            lock_revision(&tx).await?;
            let count: i64 = tx
                .query_one("SELECT count(*) FROM initiatives", &[])
                .await?
                .get(0);
            if count > 0 {
                return Ok(None);
            }
            let revision = bump(&tx).await?;
            for initiative in initiatives {
                upsert_row(&tx, initiative, revision, None).await?;
            }
            let detail = format!("{} initiatives", initiatives.len());
            audit(
                &tx,
                &AuditRecord {
                    actor,
                    action: "seed",
                    detail: Some(detail),
                    ..AuditRecord::default()
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Some(revision))
        })
    }

    pub fn changes_since(&mut self, since: u64) -> Result<Changes, StoreError> {
        let mut client = self.client()?;
        let (revision, instance, rows) = wait(async {
            // One snapshot for the revision and the rows: revisions commit in order, so
            // every row up to the revision read is there, and none after it.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let state = tx
                .query_one("SELECT revision, instance FROM store_state", &[])
                .await?;
            let rows = tx
                .query(
                    "SELECT id, feature, deleted_at, revision FROM initiatives WHERE revision > $1",
                    &[&(since as i64)],
                )
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>((
                state.get::<_, i64>(0) as u64,
                state.get::<_, String>(1),
                rows,
            ))
        })?;
        let mut live = Vec::new();
        let mut deleted = Vec::new();
        for row in rows {
            let id: String = row.get(0);
            let written = row.get::<_, i64>(3) as u64;
            match row.get::<_, Option<String>>(2) {
                Some(at) => deleted.push((
                    written,
                    Tombstone {
                        deleted_at: parse_time(&id, &at)?,
                        id: id.into(),
                    },
                )),
                None => live.push((written, id, row.get::<_, String>(1))),
            }
        }
        Ok(Changes {
            revision,
            instance,
            live: parse_rows(live)?,
            deleted,
        })
    }

    pub fn tombstones(&mut self) -> Result<Vec<Tombstone>, StoreError> {
        let client = self.client()?;
        let rows = wait(client.query(
            "SELECT id, deleted_at FROM initiatives WHERE deleted_at IS NOT NULL",
            &[],
        ))?;
        super::tombstones(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn probe_write(&mut self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        wait(async {
            let tx = client.transaction().await?;
            // A new row version and its log record, like any write; a standby refuses it.
            tx.execute("UPDATE store_state SET revision = revision", &[])
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// `(id, feature)` of the deleted rows among `ids`.
    pub fn deleted_rows(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client()?;
        let rows = wait(client.query(
            "SELECT id, feature FROM initiatives WHERE id = ANY($1) AND deleted_at IS NOT NULL",
            &[&ids],
        ))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn create(
        &mut self,
        initiative: &Initiative,
        actor: &str,
        guard: &WriteGuard,
    ) -> Result<u64, StoreError> {
        let mut client = self.client()?;
        wait(async {
            let tx = client.transaction().await?;
            bound(&tx, guard).await?;
            let revision = bump(&tx).await?;
            if live_feature(&tx, &initiative.id).await?.is_some() {
                return Err(StoreError::AlreadyExists(initiative.id.to_string()));
            }
            let after = upsert_row(&tx, initiative, revision, None).await?;
            audit(
                &tx,
                &AuditRecord {
                    actor,
                    action: "create",
                    initiative_id: Some(&initiative.id),
                    after: Some(&after),
                    ..AuditRecord::default()
                },
            )
            .await?;
            seal(&tx, guard).await?;
            tx.commit().await?;
            Ok(revision)
        })
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
        let mut client = self.client()?;
        let tx = wait(client.transaction())?;
        wait(bound(&tx, guard))?;
        // Every writer takes the revision's lock first (so writers never deadlock), and
        // holding it keeps others from changing the record between the check and the write.
        let current_revision = wait(lock_revision(&tx))?;
        let before_text = wait(live_feature(&tx, id))?
            .ok_or_else(|| StoreError::NoSuchInitiative(id.to_string()))?;
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
                return Ok((Some(current), current_revision));
            }
        }
        wait(async {
            let revision = bump(&tx).await?;
            let (action, after_text) = match &after {
                Some(initiative) => (
                    action,
                    Some(upsert_row(&tx, initiative, revision, None).await?),
                ),
                None => {
                    execute(
                        &tx,
                        "UPDATE initiatives SET deleted_at = $2, revision = $3 WHERE id = $1",
                        &[&id, &Timestamp::now().to_string(), &(revision as i64)],
                    )
                    .await?;
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
            )
            .await?;
            seal(&tx, guard).await?;
            tx.commit().await?;
            Ok((after, revision))
        })
    }

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

    pub fn audit_page(
        &self,
        newest_first: bool,
        bound: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let condition = if newest_first {
            "seq < $1 ORDER BY seq DESC"
        } else {
            "seq > $1 ORDER BY seq"
        };
        let client = self.client()?;
        let rows = wait(client.query(
            &format!(
                "SELECT seq, at, actor, action, initiative_id, submission_id, before, after, detail
                 FROM audit WHERE {condition} LIMIT $2"
            ),
            &[&bound, &(limit as i64)],
        ))?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                initiative_id: r.get(4),
                submission_id: r.get(5),
                before: raw_json(r.get(6)),
                after: raw_json(r.get(7)),
                detail: r.get(8),
            })
            .collect())
    }

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

    pub fn revision(&mut self) -> Result<u64, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_one("SELECT revision FROM store_state", &[]))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    pub fn instance(&self) -> Result<String, StoreError> {
        let client = self.client()?;
        let row = wait(client.query_one("SELECT instance FROM store_state", &[]))?;
        Ok(row.get(0))
    }

    pub fn admit(
        &mut self,
        client: &str,
        quota: Quota,
        now: f64,
    ) -> Result<Result<(), f64>, StoreError> {
        let mut connection = self.client()?;
        wait(async {
            let tx = connection.transaction().await?;
            // A row for every client first, so that the lock below serialises its requests
            // across replicas.
            execute(
                &tx,
                "INSERT INTO rate_limits (client, arrival) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                &[&client],
            )
            .await?;
            let arrival: f64 = tx
                .query_one(
                    "SELECT arrival FROM rate_limits WHERE client = $1 FOR UPDATE",
                    &[&client],
                )
                .await?
                .get(0);
            let decision = quota.decide(Some(arrival), now);
            if let Ok(next) = decision {
                execute(
                    &tx,
                    "UPDATE rate_limits SET arrival = $2 WHERE client = $1",
                    &[&client, &next],
                )
                .await?;
                // Clients whose allowance is whole again need no row: forget them now and then.
                if rand::random::<u8>() == 0 {
                    execute(&tx, "DELETE FROM rate_limits WHERE arrival < $1", &[&now]).await?;
                }
            }
            tx.commit().await?;
            Ok(decision.map(|_| ()))
        })
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

    /// The response recorded under `key` by `scope` since `not_before` (epoch seconds).
    pub fn keyed_response(
        &self,
        scope: &str,
        key: &str,
        not_before: f64,
    ) -> Result<Option<KeyedResponse>, StoreError> {
        let client = self.client()?;
        wait(idempotency::lookup_postgres(
            &client, scope, key, not_before,
        ))
    }

    /// Deletes the idempotency records made before `before` (epoch seconds).
    pub fn prune_keys(&mut self, before: f64) -> Result<u64, StoreError> {
        let client = self.client()?;
        wait(idempotency::prune_postgres(&client, before))
    }

    /// Erases submitters' addresses recorded before `before` (see `retention`).
    pub fn erase_addresses(&mut self, before: Timestamp, now: f64) -> Result<Erased, StoreError> {
        let mut client = self.client()?;
        wait(retention::erase_postgres(&mut client, before, now))
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

/// Wakes a replica whenever any process commits a change to the store.
pub struct Listener {
    wake: tokio::sync::mpsc::UnboundedReceiver<u64>,
    /// Kept open: dropping it would end the session and its `LISTEN`.
    _client: tokio_postgres::Client,
}

impl Listener {
    /// Opens a session of its own (outside the pool) listening on [`CHANNEL`]; runs on the
    /// caller's async runtime.
    pub async fn connect(url: &str) -> Result<Listener, StoreError> {
        let (config, tls) = connection_config(url)?;
        let (client, mut connection) = config.connect(tls).await?;
        let (sender, wake) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(note)) => {
                        let revision = note.payload().parse().unwrap_or(0);
                        if sender.send(revision).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the store's notification session ended");
                        break;
                    }
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        Ok(Listener {
            wake,
            _client: client,
        })
    }

    /// The revision of the next announced change, or `None` once the session is lost (the
    /// changes meanwhile are not announced: the caller catches up by revision).
    pub async fn changed(&mut self) -> Option<u64> {
        let first = self.wake.recv().await?;
        // Several changes announced at once need one catch-up.
        let mut latest = first;
        while let Ok(next) = self.wake.try_recv() {
            latest = latest.max(next);
        }
        Some(latest)
    }
}

async fn migrate(client: &mut Object, location: &str) -> Result<(), StoreError> {
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

/// Runs a prepared (and cached) statement in `tx`.
async fn execute(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

async fn current_revision(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let row = tx
        .query_one("SELECT revision FROM store_state", &[])
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Counts one more change and announces it (at commit) to every listening replica. The row
/// lock it takes is held to the end of the transaction, so revisions commit in order.
async fn bump(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let statement = tx
        .prepare_cached(
            "WITH bumped AS (
                 UPDATE store_state SET revision = revision + 1 RETURNING revision
             )
             SELECT revision, pg_notify('skillsmap_changes', revision::text) FROM bumped",
        )
        .await?;
    let row = tx.query_one(&statement, &[]).await?;
    Ok(row.get::<_, i64>(0) as u64)
}

async fn live_feature(tx: &Transaction<'_>, id: &str) -> Result<Option<String>, StoreError> {
    let statement = tx
        .prepare_cached("SELECT feature FROM initiatives WHERE id = $1 AND deleted_at IS NULL")
        .await?;
    Ok(tx.query_opt(&statement, &[&id]).await?.map(|r| r.get(0)))
}

/// Takes the revision's row lock (held to the end of the transaction): every writer does
/// before touching any other row, so writers queue in one order and never deadlock.
async fn lock_revision(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let statement = tx
        .prepare_cached("SELECT revision FROM store_state FOR UPDATE")
        .await?;
    Ok(tx.query_one(&statement, &[]).await?.get::<_, i64>(0) as u64)
}

/// Writes the row for `initiative` (live, its tombstone cleared); returns the stored text.
/// A curator's edit (no `origin`) of a live harvested record keeps its origin, so that the
/// feed goes on updating the fields the curator left alone; reusing a deleted id makes the
/// record the curator's own.
async fn upsert_row(
    tx: &Transaction<'_>,
    initiative: &Initiative,
    revision: u64,
    origin: Option<Origin<'_>>,
) -> Result<String, StoreError> {
    let text = feature_text(initiative);
    execute(
        tx,
        "INSERT INTO initiatives (id, feature, updated_at, deleted_at, revision, source, source_id)
         VALUES ($1, $2, $3, NULL, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET feature = $2, updated_at = $3, deleted_at = NULL,
             revision = $4,
             source = coalesce($5, CASE WHEN initiatives.deleted_at IS NULL THEN initiatives.source END),
             source_id = coalesce($6, CASE WHEN initiatives.deleted_at IS NULL THEN initiatives.source_id END)",
        &[
            &&*initiative.id,
            &text,
            &initiative.updated_at.to_string(),
            &(revision as i64),
            &origin.map(|o| o.source),
            &origin.map(|o| o.source_id),
        ],
    )
    .await?;
    Ok(text)
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

async fn audit(tx: &Transaction<'_>, record: &AuditRecord<'_>) -> Result<(), StoreError> {
    execute(
        tx,
        "INSERT INTO audit (at, actor, action, initiative_id, submission_id, before, after, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &Timestamp::now().to_string(),
            &record.actor,
            &record.action,
            &record.initiative_id,
            &record.submission_id,
            &record.before,
            &record.after,
            &record.detail,
        ],
    )
    .await?;
    Ok(())
}
