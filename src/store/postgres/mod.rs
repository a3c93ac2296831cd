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

mod harvest;
mod listener;
mod schema;
mod submissions;

use std::future::Future;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use jiff::Timestamp;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::guard::{KeyedResponse, WriteGuard};
use super::idempotency::{self, bound_postgres as bound, seal_postgres as seal};
use super::retention::{self, Erased};
use super::{
    AuditEntry, AuditRecord, Changes, Origin, Quota, StoreError, StoreLocation, Tombstone,
    parse_rows, parse_time, raw_json, read_initiative, same_content,
};
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;
pub use harvest::Harvest;
pub use listener::Listener;
use schema::migrate;

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
