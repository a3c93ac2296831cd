//! Harvesting partners' feeds: fetch, map onto our fields, validate, and upsert into the
//! store by `(source, source id)` in short batches beside curators' writes, merging their
//! edits, then retire what vanished from the feed (see docs/harvest.md).

pub mod geojson;
pub mod mapping;
pub mod schedule;
pub mod source;

use std::collections::HashSet;

use indicatif::ProgressBar;
use serde_json::{Value, json};

use crate::curation::{self, Curation, Stamp};
use crate::model::{Initiative, Location as Position};
use crate::regions::RegionLayer;
use crate::store::{Origin, RunEnd, Store, StoreError, Upserted};
use mapping::Mapping;
use source::{Fetched, Fetcher, Location, Validators};

/// Why a harvest could not run. Bad records are not errors: they are reported and skipped.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("{0}")]
    Source(String),
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{origin} is larger than the limit of {limit} bytes")]
    TooLarge { origin: String, limit: usize },
    #[error("the feed is unusable: {0}")]
    Malformed(String),
    #[error("the mapping is invalid: {0}")]
    Mapping(String),
    #[error("the feed's `next` links go on for more than {0} pages")]
    TooManyPages(usize),
    #[error("the feed's `next` links loop back to {0}")]
    PageLoop(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One partner feed: its name (the `source` of its records), where it is, how it maps.
#[derive(Clone, Debug)]
pub struct Feed {
    pub name: String,
    pub location: Location,
    pub mapping: Mapping,
}

impl Feed {
    /// A feed whose name comes from `name`, else the mapping, else the location.
    pub fn new(
        location: Location,
        mapping: Mapping,
        name: Option<String>,
    ) -> Result<Feed, HarvestError> {
        let name = name
            .or_else(|| mapping.source.clone())
            .unwrap_or_else(|| crate::dataset::slug(&location.default_name(), 60));
        crate::dataset::valid_id(&name)
            .map_err(|e| HarvestError::Source(format!("the feed's name: {e}")))?;
        Ok(Feed {
            name,
            location,
            mapping,
        })
    }
}

/// A record that was skipped, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Rejected {
    pub position: String,
    pub source_id: Option<String>,
    pub reason: String,
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejected>,
    pub retired: Vec<String>,
    pub not_modified: bool,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.not_modified {
            return f.write_str("not modified since the last run: nothing to do");
        }
        write!(
            f,
            "{} added, {} updated, {} unchanged, {} rejected, {} retired",
            self.added,
            self.updated,
            self.unchanged,
            self.rejected.len(),
            self.retired.len()
        )
    }
}

/// Records per transaction: a curator's write waits for at most one batch (a few hundred
/// records, some tens of milliseconds), and a crash loses at most the batch in flight.
pub const BATCH: usize = 400;

/// The store a run writes into, one short transaction per batch.
pub enum Target<'a> {
    /// The service's store, shared with curators' requests (which go between batches).
    Service(&'a Curation),
    /// A store of the caller's own (`skillsmap import`, tests).
    Own(&'a mut Store),
}

impl Target<'_> {
    async fn run<T: Send + 'static>(
        &mut self,
        task: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self {
            Target::Service(curation) => curation.read(task).await,
            Target::Own(store) => task(store),
        }
    }
}

/// What a run works with besides the feed and the store.
pub struct Tools<'a> {
    pub fetcher: &'a Fetcher,
    pub progress: &'a ProgressBar,
    /// Country outlines: a record naming no country takes the one its point lies in.
    pub countries: Option<&'a RegionLayer>,
    /// How long the audit keeps harvest entries; older ones are pruned at the end of a run.
    pub audit_retention: std::time::Duration,
}

/// One batch of validated records, on its way to the store.
struct Batch {
    source: String,
    run: i64,
    records: Vec<Admitted>,
    /// Source ids of records the feed still lists but whose version is invalid: kept.
    listed: Vec<String>,
}

struct Admitted {
    initiative: Initiative,
    source_id: String,
    position: String,
}

/// Harvests `feed` into `target`: reads every page as it arrives and writes its records in
/// batches, each its own transaction; after the whole feed was read and written, retires the
/// source's records the feed no longer lists and remembers the feed's validators, in that
/// order. A run stopped anywhere leaves every committed batch consistent, retires nothing,
/// and keeps the old validators, so the next run redoes it. Returns what the run did and the
/// store revision to publish.
pub async fn run(
    feed: &Feed,
    tools: &Tools<'_>,
    target: &mut Target<'_>,
) -> Result<(Summary, u64), HarvestError> {
    let probe = feed.clone();
    let validators = target
        .run(move |store| last_validators(store, &probe))
        .await?;
    // Any number unique to the run marks the rows it lists: a random one needs no
    // coordination between processes.
    let number: i64 = rand::random();
    let mut summary = Summary::default();
    let mut revision = 0;
    let mut location = feed.location.clone();
    let mut visited = HashSet::new();
    let mut fresh = Validators::default();
    let now = jiff::Timestamp::now();
    for page in 1.. {
        if page > tools.fetcher.limits().max_pages {
            return Err(HarvestError::TooManyPages(tools.fetcher.limits().max_pages));
        }
        // Only the first page is asked conditionally: a 304 there means the feed is as it was.
        let conditions = validators.as_ref().filter(|_| page == 1);
        let body = match tools.fetcher.fetch(&location, conditions).await? {
            Fetched::NotModified => {
                summary.not_modified = true;
                return Ok((summary, revision));
            }
            Fetched::Body(body) => body,
        };
        if page == 1 {
            fresh = body.validators.clone();
        }
        // The page is parsed on a thread of its own, which hands its records over a batch at
        // a time; the bounded channel holds the parser back while the store is busy.
        let (sender, mut receiver) = tokio::sync::mpsc::channel(2);
        let mapping = feed.mapping.clone();
        let reader = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let next = source::read_page(&body, &mapping, page, &mut |record| {
                batch.push(record);
                batch.len() < BATCH || sender.blocking_send(std::mem::take(&mut batch)).is_ok()
            })?;
            if !batch.is_empty() {
                let _ = sender.blocking_send(batch);
            }
            Ok::<_, HarvestError>(next)
        });
        while let Some(records) = receiver.recv().await {
            tools.progress.inc_length(records.len() as u64);
            let batch = admit_all(feed, records, (now, tools.countries), number, &mut summary);
            tools.progress.inc(batch.records.len() as u64);
            let (done, at) = target.run(move |store| write_batch(store, batch)).await?;
            summary.add(done);
            revision = revision.max(at);
        }
        let next = reader
            .await
            .map_err(|e| HarvestError::Source(format!("reading the feed failed: {e}")))??;
        match next {
            Some(next) => {
                if !visited.insert(next.to_string()) {
                    return Err(HarvestError::PageLoop(next.to_string()));
                }
                location = Location::Web(next);
            }
            None => break,
        }
    }
    loop {
        let (source, run) = (feed.name.clone(), number);
        let (retired, at) = target
            .run(move |store| store.harvest(|h| h.retire_unlisted(&source, run, BATCH)))
            .await?;
        revision = revision.max(at);
        let last = retired.len() < BATCH;
        summary.retired.extend(retired);
        if last {
            break;
        }
    }
    let (source, place) = (feed.name.clone(), feed.location.to_string());
    let keep =
        jiff::SignedDuration::try_from(tools.audit_retention).unwrap_or(jiff::SignedDuration::MAX);
    let prune_before = now.checked_sub(keep).unwrap_or(jiff::Timestamp::MIN);
    let ((), at) = target
        .run(move |store| {
            let actor = format!("harvest {source}");
            store.harvest(|h| {
                h.finish_run(&RunEnd {
                    source: &source,
                    location: &place,
                    etag: fresh.etag.as_deref(),
                    last_modified: fresh.last_modified.as_deref(),
                    actor: &actor,
                    prune_before,
                })
            })
        })
        .await?;
    Ok((summary, revision.max(at)))
}

/// Maps and validates a batch of records; the rejected go to `summary`.
fn admit_all(
    feed: &Feed,
    records: Vec<Result<source::Record, source::Unreadable>>,
    context: (jiff::Timestamp, Option<&RegionLayer>),
    run: i64,
    summary: &mut Summary,
) -> Batch {
    let mut batch = Batch {
        source: feed.name.clone(),
        run,
        records: Vec::with_capacity(records.len()),
        listed: Vec::new(),
    };
    for record in records {
        match record {
            Ok(record) => admit(feed, record, context, &mut batch, summary),
            Err(unreadable) => summary.rejected.push(Rejected {
                position: unreadable.position,
                source_id: None,
                reason: unreadable.reason,
            }),
        }
    }
    batch
}

/// What one batch did.
#[derive(Default)]
struct Done {
    added: usize,
    updated: usize,
    unchanged: usize,
    rejected: Vec<Rejected>,
}

impl Summary {
    fn add(&mut self, done: Done) {
        self.added += done.added;
        self.updated += done.updated;
        self.unchanged += done.unchanged;
        self.rejected.extend(done.rejected);
    }
}

/// Writes one batch in one transaction.
fn write_batch(store: &mut Store, batch: Batch) -> Result<(Done, u64), StoreError> {
    store.harvest(|harvest| {
        let mut done = Done::default();
        for source_id in &batch.listed {
            let origin = Origin {
                source: &batch.source,
                source_id,
            };
            harvest.mark_listed(origin, batch.run)?;
        }
        for record in &batch.records {
            let origin = Origin {
                source: &batch.source,
                source_id: &record.source_id,
            };
            let reason = match harvest.upsert(&record.initiative, origin, batch.run) {
                Ok(Upserted::Added) => {
                    done.added += 1;
                    continue;
                }
                Ok(Upserted::Updated) => {
                    done.updated += 1;
                    continue;
                }
                Ok(Upserted::Unchanged) => {
                    done.unchanged += 1;
                    continue;
                }
                Ok(Upserted::Repeated) => "the same id appears earlier in the feed".to_string(),
                Err(StoreError::AlreadyExists(id)) => {
                    format!("the id \"{id}\" belongs to an initiative from elsewhere")
                }
                Err(StoreError::Invalid(problems)) => format!(
                    "with the curators' edits kept, the record is invalid: {}",
                    reasons(&problems)
                ),
                Err(other) => return Err(other),
            };
            done.rejected.push(Rejected {
                position: record.position.clone(),
                source_id: Some(record.source_id.clone()),
                reason,
            });
        }
        Ok(done)
    })
}

fn reasons(problems: &[crate::dataset::FieldProblem]) -> String {
    let reasons: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect();
    reasons.join("; ")
}

/// Maps and validates one record into `batch`, or records in `summary` why it was rejected.
fn admit(
    feed: &Feed,
    record: source::Record,
    (now, countries): (jiff::Timestamp, Option<&RegionLayer>),
    batch: &mut Batch,
    summary: &mut Summary,
) {
    let mapping = &feed.mapping;
    let position = record.position;
    let Some(source_id) = mapping.source_id(record.feature_id.as_ref(), &record.properties) else {
        let field = mapping.id.as_deref().unwrap_or("id");
        return summary.rejected.push(Rejected {
            position,
            source_id: None,
            reason: format!("no record id (\"{field}\")"),
        });
    };
    let id = our_id(&feed.name, &source_id);
    let mut properties = mapping.properties(&record.properties, mapping.csv.list_separator);
    if !properties.contains_key("country")
        && let Some(code) = countries.and_then(|c| country_at(c, record.geometry.as_ref()))
    {
        properties.insert("country".into(), Value::String(code));
    }
    let feature = json!({
        "type": "Feature",
        "id": id,
        "geometry": record.geometry.unwrap_or(Value::Null),
        "properties": properties,
    });
    let stamp = Stamp {
        id: Some(&id),
        default_source: &format!("{} ({})", feed.name, feed.location),
        now,
    };
    match curation::prepare_value(feature, &stamp) {
        Ok(initiative) => batch.records.push(Admitted {
            initiative,
            source_id,
            position,
        }),
        Err(problems) => {
            summary.rejected.push(Rejected {
                position,
                source_id: Some(source_id.clone()),
                reason: reasons(&problems),
            });
            batch.listed.push(source_id);
        }
    }
}

/// The ISO code of the country whose outline holds a Point geometry, if any does.
fn country_at(countries: &RegionLayer, geometry: Option<&Value>) -> Option<String> {
    let geometry = geometry?;
    if geometry.get("type")?.as_str()? != "Point" {
        return None;
    }
    let coordinates = geometry.get("coordinates")?.as_array()?;
    let (lon, lat) = (
        coordinates.first()?.as_f64()?,
        coordinates.get(1)?.as_f64()?,
    );
    let at = Position { lon, lat };
    let id = countries.locate(at)?;
    Some(countries.get(id).country.to_string())
}

/// The validators of `feed`'s last run, if its location has not changed since.
pub fn last_validators(store: &Store, feed: &Feed) -> Result<Option<Validators>, StoreError> {
    Ok(store
        .feed_validators(&feed.name, &feed.location.to_string())?
        .map(|(etag, last_modified)| Validators {
            etag,
            last_modified,
        }))
}

/// Our id for a partner's record: the feed's name and the partner's id, as one slug.
fn our_id(feed: &str, source_id: &str) -> String {
    let id = format!("{feed}-{}", crate::dataset::slug(source_id, 100));
    if crate::dataset::valid_id(&id).is_ok() && !id.ends_with('-') {
        id
    } else {
        format!(
            "{feed}-{:016x}",
            xxhash_rust::xxh3::xxh3_64(source_id.as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_ids_become_our_slugs() {
        assert_eq!(our_id("de", "ABC 17/b"), "de-abc-17-b");
        assert_eq!(our_id("de", "Ärger"), "de-arger");
        let long = our_id("de", &"x".repeat(300));
        assert!(crate::dataset::valid_id(&long).is_ok(), "{long}");
        assert_ne!(our_id("de", "!!!"), "de-");
    }
}
