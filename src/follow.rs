//! Following the store: every change committed by any process (another replica, `skillsmap
//! import`, a harvest elsewhere) is published to this replica's snapshot.
//!
//! On PostgreSQL a session of its own listens for the store's announcements and each one
//! wakes a catch-up: everything after the replica's revision is read and applied. An
//! announcement sent while the session is down is lost, so after every (re)connection the
//! replica catches up by revision first, and it also checks now and then in case one went
//! astray. On SQLite, which cannot announce, the replica checks the revision periodically.
//! What the replica last learned about the store is kept in [`StoreStatus`] for `/healthz`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::curation::Curation;
use crate::store::postgres::Listener;
use crate::store::{Store, StoreError, StoreLocation};

/// How often an SQLite store is checked for other processes' changes.
const SQLITE_PERIOD: Duration = Duration::from_secs(1);
/// How often a listening replica checks anyway, in case an announcement was missed.
const SAFETY_PERIOD: Duration = Duration::from_secs(10);
/// First and longest wait between attempts to reach PostgreSQL again.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(2);

/// The store's condition as this replica last saw it: reachable, or why not.
#[derive(Default)]
pub struct StoreStatus {
    problem: Mutex<Option<String>>,
}

impl StoreStatus {
    pub fn reachable(&self) {
        let mut problem = self.problem.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(was) = problem.take() {
            tracing::info!(after = %was, "the store is reachable again");
        }
    }

    pub fn failed(&self, error: &StoreError) {
        let mut problem = self.problem.lock().unwrap_or_else(|p| p.into_inner());
        if problem.is_none() {
            tracing::warn!(%error, "the store is unreachable: serving the last snapshot");
        }
        *problem = Some(error.to_string());
    }

    /// Why the store cannot be used now, if it cannot.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Publishes the store's changes to `curation` until the process ends.
pub async fn follow(curation: Arc<Curation>, location: StoreLocation, status: Arc<StoreStatus>) {
    match location {
        StoreLocation::Sqlite(_) => poll(&curation, &status).await,
        StoreLocation::Postgres(url) => listen(&curation, &url, &status).await,
    }
}

async fn poll(curation: &Curation, status: &StoreStatus) {
    let mut ticks = tokio::time::interval(SQLITE_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        catch_up(curation, status, None).await;
    }
}

async fn listen(curation: &Curation, url: &str, status: &StoreStatus) {
    let mut retry = FIRST_RETRY;
    loop {
        let mut listener = match Listener::connect(url).await {
            Ok(listener) => listener,
            Err(e) => {
                status.failed(&e);
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LONGEST_RETRY);
                continue;
            }
        };
        retry = FIRST_RETRY;
        tracing::debug!("listening for the store's changes");
        // Whatever was announced while no session listened.
        catch_up(curation, status, None).await;
        loop {
            let announced = tokio::select! {
                announced = listener.changed() => match announced {
                    Some(revision) => Some(revision),
                    None => break,
                },
                () = tokio::time::sleep(SAFETY_PERIOD) => None,
            };
            catch_up(curation, status, announced).await;
        }
        tracing::warn!("lost the store's notification session; reconnecting");
    }
}

/// Publishes up to `revision`, or up to the store's latest revision when none is given.
async fn catch_up(curation: &Curation, status: &StoreStatus, revision: Option<u64>) {
    let revision = match revision {
        Some(revision) => Ok(revision),
        None => curation.read(Store::revision).await,
    };
    match revision {
        Ok(revision) => match curation.publish(revision).await {
            Ok(()) => status.reachable(),
            Err(e) => status.failed(&e),
        },
        Err(e) => status.failed(&e),
    }
}
