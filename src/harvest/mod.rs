//! Harvesting partners' feeds: fetch, map onto our fields, validate, and upsert into the
//! store by `(source, source id)` in one transaction, retiring what vanished from the feed.

pub mod mapping;
pub mod schedule;
pub mod source;

use std::collections::HashSet;

use indicatif::ProgressBar;
use serde_json::{Value, json};

use crate::curation::{self, Stamp};
use crate::model::{Initiative, Location as Position};
use crate::regions::RegionLayer;
use crate::store::{Origin, Store, StoreError, Upserted};
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

/// The records of one run, validated, before they touch the store.
pub struct Collected {
    records: Vec<(Initiative, String)>,
    rejected: Vec<Rejected>,
    /// Every source id the feed still lists, valid or not: none of them is retired.
    listed: HashSet<String>,
    validators: Validators,
}

/// What a run found at the source.
pub enum Outcome {
    /// The source answered 304: nothing changed since the last run.
    NotModified,
    Collected(Collected),
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

/// Fetches every page of `feed` and validates its records (no store access). A record that
/// names no country takes the one its point lies in, when `countries` (outlines) are given.
pub async fn collect(
    feed: &Feed,
    fetcher: &Fetcher,
    validators: Option<&Validators>,
    progress: &ProgressBar,
    countries: Option<&RegionLayer>,
) -> Result<Outcome, HarvestError> {
    let mut collected = Collected {
        records: Vec::new(),
        rejected: Vec::new(),
        listed: HashSet::new(),
        validators: Validators::default(),
    };
    let mut location = feed.location.clone();
    let mut visited = HashSet::new();
    let now = jiff::Timestamp::now();
    for page in 1.. {
        if page > fetcher.limits().max_pages {
            return Err(HarvestError::TooManyPages(fetcher.limits().max_pages));
        }
        // Only the first page is asked conditionally: a 304 there means the feed is as it was.
        let conditions = validators.filter(|_| page == 1);
        let body = match fetcher.fetch(&location, conditions).await? {
            Fetched::NotModified => return Ok(Outcome::NotModified),
            Fetched::Body(body) => body,
        };
        if page == 1 {
            collected.validators = body.validators.clone();
        }
        let read = source::read_page(&body, &feed.mapping, page)?;
        progress.inc_length(read.records.len() as u64);
        for record in read.records {
            progress.inc(1);
            match record {
                Ok(record) => admit(feed, record, (now, countries), &mut collected),
                Err(unreadable) => collected.rejected.push(Rejected {
                    position: unreadable.position,
                    source_id: None,
                    reason: unreadable.reason,
                }),
            }
        }
        match read.next {
            Some(next) => {
                if !visited.insert(next.to_string()) {
                    return Err(HarvestError::PageLoop(next.to_string()));
                }
                location = Location::Web(next);
            }
            None => break,
        }
    }
    Ok(Outcome::Collected(collected))
}

/// Maps and validates one record into `collected`, or records why it was rejected.
fn admit(
    feed: &Feed,
    record: source::Record,
    (now, countries): (jiff::Timestamp, Option<&RegionLayer>),
    collected: &mut Collected,
) {
    let mapping = &feed.mapping;
    let reject = |collected: &mut Collected, source_id: Option<String>, reason: String| {
        collected.rejected.push(Rejected {
            position: record.position.clone(),
            source_id,
            reason,
        })
    };
    let Some(source_id) = mapping.source_id(record.feature_id.as_ref(), &record.properties) else {
        let field = mapping.id.as_deref().unwrap_or("id");
        return reject(collected, None, format!("no record id (\"{field}\")"));
    };
    if !collected.listed.insert(source_id.clone()) {
        return reject(
            collected,
            Some(source_id),
            "the same id appears earlier in the feed".into(),
        );
    }
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
        Ok(initiative) => collected.records.push((initiative, source_id)),
        Err(problems) => {
            let reasons: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
            reject(collected, Some(source_id), reasons.join("; "))
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

/// Writes a run's records into the store in one transaction; returns what happened and the
/// store revision to publish.
pub fn apply(
    store: &mut Store,
    feed: &Feed,
    outcome: Outcome,
) -> Result<(Summary, u64), StoreError> {
    let Outcome::Collected(collected) = outcome else {
        let summary = Summary {
            not_modified: true,
            ..Summary::default()
        };
        return Ok((summary, 0));
    };
    let actor = format!("harvest {}", feed.name);
    store.harvest(|harvest| {
        let mut summary = Summary {
            rejected: collected.rejected,
            ..Summary::default()
        };
        for (initiative, source_id) in &collected.records {
            let origin = Origin {
                source: &feed.name,
                source_id,
            };
            match harvest.upsert(initiative, origin, &actor) {
                Ok(Upserted::Added) => summary.added += 1,
                Ok(Upserted::Updated) => summary.updated += 1,
                Ok(Upserted::Unchanged) => summary.unchanged += 1,
                Err(StoreError::AlreadyExists(id)) => summary.rejected.push(Rejected {
                    position: format!("record {source_id}"),
                    source_id: Some(source_id.clone()),
                    reason: format!("the id \"{id}\" belongs to an initiative from elsewhere"),
                }),
                Err(other) => return Err(other),
            }
        }
        summary.retired = harvest.retire_missing(&feed.name, &collected.listed, &actor)?;
        harvest.remember_feed(
            &feed.name,
            &feed.location.to_string(),
            collected.validators.etag.as_deref(),
            collected.validators.last_modified.as_deref(),
        )?;
        Ok(summary)
    })
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
