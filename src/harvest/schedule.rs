//! Feeds harvested by the running service on a schedule (`serve --harvest FEEDS.toml`), with
//! backoff on failure; a failing feed is logged and retried, never fatal, never removes data.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use serde::Deserialize;

use super::mapping::Mapping;
use super::source::{Fetcher, Limits, Location};
use super::{Feed, HarvestError, Summary, Target, Tools};
use crate::curation::Curation;
use crate::regions::{Level, SharedRegions};
use crate::store::Claim;

/// First wait after a failure; it doubles with each further failure, up to the feed's period.
const FIRST_RETRY: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedsFile {
    #[serde(default)]
    feed: Vec<FeedEntry>,
}

/// One `[[feed]]` of the feeds file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedEntry {
    name: Option<String>,
    /// A file path or an http(s) URL.
    source: String,
    /// A mapping file, relative to the feeds file.
    mapping: Option<String>,
    /// How often, e.g. `6h`, `30m` (default 6h).
    every: Option<String>,
    /// Per request, e.g. `60s`.
    timeout: Option<String>,
    max_bytes: Option<usize>,
}

/// A feed and how often to harvest it.
pub struct ScheduledFeed {
    pub feed: Feed,
    pub every: Duration,
    pub limits: Limits,
    /// How long the audit keeps harvest entries (the service's `--harvest-audit-days`).
    pub audit_retention: Duration,
}

/// Reads a feeds file, with every mapping it names; any mistake stops start-up with a message.
pub fn read_feeds(path: &Path) -> Result<Vec<ScheduledFeed>, HarvestError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| HarvestError::Source(format!("cannot read {}: {e}", path.display())))?;
    let file: FeedsFile = toml::from_str(&text)
        .map_err(|e| HarvestError::Source(format!("{}: {e}", path.display())))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    file.feed
        .into_iter()
        .map(|entry| {
            let mapping = match &entry.mapping {
                Some(file) => read_mapping(&folder.join(file))?,
                None => Mapping::default(),
            };
            let mut limits = Limits::default();
            if let Some(timeout) = &entry.timeout {
                limits.timeout = duration(timeout, "timeout")?;
            }
            if let Some(max) = entry.max_bytes {
                limits.max_bytes = max;
            }
            let every = duration(entry.every.as_deref().unwrap_or("6h"), "every")?;
            let feed = Feed::new(Location::parse(&entry.source)?, mapping, entry.name)?;
            Ok(ScheduledFeed {
                feed,
                every,
                limits,
                audit_retention: crate::config::days(crate::config::DEFAULT_HARVEST_AUDIT_DAYS),
            })
        })
        .collect()
}

/// Reads a mapping file, naming the file in any error.
pub fn read_mapping(path: &Path) -> Result<Mapping, HarvestError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| HarvestError::Mapping(format!("cannot read {}: {e}", path.display())))?;
    Mapping::parse(&text).map_err(|e| HarvestError::Mapping(format!("{}: {e}", path.display())))
}

/// A duration such as `6h`, `90s` or `1h 30m`, at least one second.
pub fn duration(text: &str, what: &str) -> Result<Duration, HarvestError> {
    crate::config::duration(text).map_err(|e| HarvestError::Source(format!("{what}: {e}")))
}

/// One run of `feed` into the live store, in batches that curators' writes go between;
/// the snapshot swaps once, at the end.
pub async fn run_once(
    scheduled: &ScheduledFeed,
    (curation, regions): (&Curation, &SharedRegions),
    fetcher: &Fetcher,
) -> Result<Summary, HarvestError> {
    let tools = Tools {
        fetcher,
        progress: &ProgressBar::hidden(),
        countries: regions.layer(Level::Country).ok(),
        audit_retention: scheduled.audit_retention,
    };
    let (summary, revision) =
        super::run(&scheduled.feed, &tools, &mut Target::Service(curation)).await?;
    curation.publish(revision).await?;
    Ok(summary)
}

/// Longest a replica holds a feed: past it, a replica that died mid-run loses its lease and
/// another takes the feed over (a run that really takes longer may then run twice, which
/// changes nothing: upserts are idempotent).
const HOLD_FOR: Duration = Duration::from_secs(15 * 60);
/// Shortest wait between two questions to the store about a feed.
const SHORTEST_WAIT: Duration = Duration::from_millis(200);

/// Harvests `scheduled` when due, every period, until the process ends. Of all the replicas
/// running this for the same feed on the same store, one at a time holds it (a lease in the
/// store, taken as `holder`), and the schedule is the store's: each period, one run.
pub async fn run_forever(
    scheduled: ScheduledFeed,
    (curation, regions): (Arc<Curation>, SharedRegions),
    holder: String,
) {
    let name = scheduled.feed.name.clone();
    let fetcher = match Fetcher::new(scheduled.limits) {
        Ok(fetcher) => fetcher,
        Err(e) => {
            tracing::error!(feed = %name, error = %e, "feed disabled");
            return;
        }
    };
    loop {
        let (feed, me) = (name.clone(), holder.clone());
        let claim = curation
            .read(move |store| store.claim_harvest(&feed, &me, HOLD_FOR.as_secs_f64()))
            .await;
        let failures = match claim {
            Ok(Claim::Granted { failures }) => failures,
            Ok(Claim::Wait { until }) => {
                let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
                let wait = Duration::from_secs_f64((until - now).clamp(0.0, 86_400.0));
                tokio::time::sleep(wait.clamp(SHORTEST_WAIT, scheduled.every)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(feed = %name, error = %e, "cannot ask the store about the feed");
                tokio::time::sleep(FIRST_RETRY.min(scheduled.every)).await;
                continue;
            }
        };
        let (wait, failures) = match run_once(&scheduled, (&curation, &regions), &fetcher).await {
            Ok(summary) => {
                tracing::info!(feed = %name, %summary, "feed harvested");
                for rejected in &summary.rejected {
                    tracing::warn!(feed = %name, position = %rejected.position, reason = %rejected.reason, "record rejected");
                }
                (scheduled.every, 0)
            }
            Err(e) => {
                let failures = failures.saturating_add(1);
                let backoff = FIRST_RETRY.saturating_mul(1 << failures.min(16).saturating_sub(1));
                let wait = backoff.min(scheduled.every);
                tracing::warn!(feed = %name, error = %e, retry_in_s = wait.as_secs(), "harvest failed; the data is unchanged");
                (wait, failures)
            }
        };
        let next_due = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0 + wait.as_secs_f64();
        let (feed, me) = (name.clone(), holder.clone());
        if let Err(e) = curation
            .read(move |store| store.release_harvest(&feed, &me, next_due, failures))
            .await
        {
            tracing::warn!(feed = %name, error = %e, "cannot release the feed's lease; it lapses by itself");
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_files_name_their_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("feeds.toml");
        std::fs::write(dir.path().join("m.toml"), "source = \"partner\"\n").unwrap();
        std::fs::write(
            &feeds,
            "[[feed]]\nsource = \"https://example.org/items\"\nmapping = \"m.toml\"\nevery = \"1h 30m\"\n",
        )
        .unwrap();
        let read = read_feeds(&feeds).unwrap();
        assert_eq!(read[0].feed.name, "partner");
        assert_eq!(read[0].every, Duration::from_secs(5400));

        std::fs::write(&feeds, "[[feed]]\nsource = \"x.csv\"\nevery = \"soon\"\n").unwrap();
        let error = read_feeds(&feeds).err().unwrap().to_string();
        assert!(error.contains("every"), "{error}");
        std::fs::write(
            &feeds,
            "[[feed]]\nsource = \"x.csv\"\nmapping = \"none.toml\"\n",
        )
        .unwrap();
        let error = read_feeds(&feeds).err().unwrap().to_string();
        assert!(error.contains("none.toml"), "{error}");
        assert!(duration("0s", "every").is_err());
    }
}
