//! Keeping data only as long as the configuration says: submitters' addresses (GDPR storage
//! limitation, `--address-retention`) and `Idempotency-Key` records
//! (`--idempotency-retention`), erased by a task at start and then every hour (or every
//! half retention, if that is shorter).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::curation::Curation;

/// How long the retention settings are.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub addresses: Duration,
    pub idempotency_keys: Duration,
}

/// Longest time between two passes.
const EVERY: Duration = Duration::from_secs(3600);

impl Retention {
    /// Time between passes: hourly, or at half the shorter retention, so that nothing is
    /// kept much past it.
    fn period(&self) -> Duration {
        EVERY
            .min(self.addresses / 2)
            .min(self.idempotency_keys / 2)
            .max(Duration::from_millis(100))
    }
}

/// The moment `kept` before now.
fn before_now(kept: Duration) -> Timestamp {
    let kept = SignedDuration::try_from(kept).unwrap_or(SignedDuration::MAX);
    Timestamp::now().checked_sub(kept).unwrap_or(Timestamp::MIN)
}

/// One pass: erases what is older than the retention allows.
pub async fn erase_expired(curation: &Curation, retention: Retention) {
    let addresses = before_now(retention.addresses);
    match curation
        .read(move |store| store.erase_addresses(addresses))
        .await
    {
        Ok(erased) if erased != Default::default() => tracing::info!(
            submissions = erased.submissions,
            audit_entries = erased.audit_entries,
            rate_limits = erased.rate_limits,
            "submitters' addresses past their retention erased"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "erasing expired addresses failed; trying again later")
        }
    }
    let keys = before_now(retention.idempotency_keys);
    match curation.read(move |store| store.prune_keys(keys)).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "expired idempotency keys pruned"),
        Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed; trying again later"),
    }
}

/// Erases expired data now and then periodically, for the life of the server.
pub async fn erase_forever(curation: Arc<Curation>, retention: Retention) {
    let mut ticks = tokio::time::interval(retention.period());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The first tick is at once: a start erases what expired while the service was down.
        ticks.tick().await;
        erase_expired(&curation, retention).await;
    }
}
