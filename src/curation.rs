//! Changing the data: incoming records validated and stamped, written to the store, and a
//! fresh snapshot swapped in after every commit so that readers never wait for writers.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::cluster::ClusterOptions;
use crate::dataset::{self, FieldProblem};
use crate::model::Initiative;
use crate::regions::SharedRegions;
use crate::snapshot::{SharedSnapshot, Snapshot, content_version};
use crate::store::{Changes, Contents, Store, StoreError, Tombstone};

/// The store and the published snapshot, kept in step.
pub struct Curation {
    store: Arc<Mutex<Store>>,
    snapshot: SharedSnapshot,
    clustering: ClusterOptions,
    regions: SharedRegions,
    /// The store revision the current snapshot was built from; held while rebuilding so
    /// that concurrent writers share one rebuild instead of queueing one each.
    published: tokio::sync::Mutex<u64>,
}

impl Curation {
    /// Opens the store at `path`, seeding it from `seed` (a dataset's text) if it has never
    /// held anything, and builds the first snapshot.
    pub fn open(
        path: &Path,
        seed: &str,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Result<(Store, Snapshot), CurationError> {
        let mut store = open_store(path, seed)?;
        let snapshot = build_snapshot(store.contents()?, clustering, regions);
        Ok((store, snapshot))
    }

    /// Wraps an opened store whose contents `snapshot` was built from; later snapshots are
    /// built with the same clustering and regions.
    pub fn new(
        store: Store,
        snapshot: SharedSnapshot,
        revision: u64,
        (clustering, regions): (ClusterOptions, SharedRegions),
    ) -> Self {
        Curation {
            store: Arc::new(Mutex::new(store)),
            snapshot,
            clustering,
            regions,
            published: tokio::sync::Mutex::new(revision),
        }
    }

    /// Runs `task` on the store off the async threads, without publishing anything.
    pub async fn read<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            // A panic mid-transaction rolls the transaction back, so the store stays usable.
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            task(&mut store)
        })
        .await
        .map_err(|e| StoreError::Corrupt("task".into(), e.to_string()))?
    }

    /// Runs a committing `task` that returns its revision, then publishes a snapshot that
    /// includes it before answering, so the writer reads its own write.
    pub async fn write<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Store) -> Result<(T, u64), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (value, revision) = self.read(task).await?;
        self.publish(revision).await?;
        Ok(value)
    }

    /// Makes sure the published snapshot is at least as new as `revision`.
    pub async fn publish(&self, revision: u64) -> Result<(), StoreError> {
        let mut published = self.published.lock().await;
        if *published >= revision {
            return Ok(());
        }
        let (clustering, regions) = (self.clustering, self.regions.clone());
        let current = self.snapshot.load_full();
        let since = *published;
        let snapshot = self
            .read(move |store| {
                // Only the rows written since the current snapshot are read from the store.
                let contents = if current.revision == since {
                    updated(&current, store.changes_since(since)?)
                } else {
                    store.contents()?
                };
                Ok(build_snapshot(contents, clustering, regions))
            })
            .await?;
        *published = snapshot.revision;
        self.snapshot.store(Arc::new(snapshot));
        Ok(())
    }
}

impl Curation {
    /// Publishes changes other processes commit to the store (such as `skillsmap import`
    /// into the file this server uses), checking every `period`.
    pub async fn follow_store(self: Arc<Self>, period: std::time::Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let revision = match self.read(Store::revision).await {
                Ok(revision) => revision,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the store's revision");
                    continue;
                }
            };
            if let Err(e) = self.publish(revision).await {
                tracing::warn!(error = %e, "cannot publish the store's changes");
            }
        }
    }
}

/// Opens the store at `path`, seeding it from `seed` (a dataset's text) if it has never held
/// anything.
pub fn open_store(path: &Path, seed: &str) -> Result<Store, CurationError> {
    let mut store = Store::open(path)?;
    if store.is_empty()? {
        let dataset = dataset::parse(seed).map_err(CurationError::Seed)?;
        store.seed(&dataset.initiatives, "seed")?;
        tracing::info!(
            initiatives = dataset.initiatives.len(),
            path = %path.display(),
            "new store seeded"
        );
    }
    Ok(store)
}

/// The contents of `current` with `changes` applied: changed initiatives replaced, deleted
/// ones turned into tombstones, revived ones no longer tombstones.
fn updated(current: &Snapshot, changes: Changes) -> Contents {
    let touched: HashSet<&str> = changes
        .live
        .iter()
        .map(|i| &*i.id)
        .chain(changes.deleted.iter().map(|t| &*t.id))
        .collect();
    let mut initiatives: Vec<Initiative> = current
        .index
        .initiatives()
        .iter()
        .filter(|i| !touched.contains(&*i.id))
        .cloned()
        .collect();
    let mut tombstones: Vec<Tombstone> = current
        .tombstones
        .iter()
        .filter(|t| !touched.contains(&*t.id))
        .cloned()
        .collect();
    initiatives.extend(changes.live.iter().cloned());
    tombstones.extend(changes.deleted.iter().cloned());
    // The order a full read gives, so that a restarted server lists items the same way.
    initiatives.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Contents {
        initiatives,
        tombstones,
        revision: changes.revision,
        instance: changes.instance,
    }
}

/// Why the store could not be opened or seeded.
#[derive(Debug, thiserror::Error)]
pub enum CurationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the seed dataset is invalid:\n{0}")]
    Seed(dataset::Report),
}

/// The read model of the store's contents, versioned by the store's instance and revision.
pub fn build_snapshot(
    contents: Contents,
    clustering: ClusterOptions,
    regions: SharedRegions,
) -> Snapshot {
    let version =
        content_version(format!("{}:{}", contents.instance, contents.revision).as_bytes());
    let mut snapshot = Snapshot::build(contents.initiatives, version, clustering, regions);
    snapshot.tombstones = contents.tombstones;
    snapshot.tombstones.sort_by_key(|t| t.deleted_at);
    snapshot.revision = contents.revision;
    snapshot
}

/// What the server decides about an incoming record, whatever the client sent.
pub struct Stamp<'a> {
    /// The id the record must have (from the URL), if any.
    pub id: Option<&'a str>,
    /// Used when the record names no `source`.
    pub default_source: &'a str,
    pub now: Timestamp,
}

/// Turns a client's GeoJSON Feature into a valid initiative: `updated_at` is set to now, the
/// id is checked against the URL's, and everything is validated like `skillsmap check`.
pub fn prepare(body: &[u8], stamp: &Stamp<'_>) -> Result<Initiative, Vec<FieldProblem>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        vec![FieldProblem::new(
            "body",
            format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )]
    })?;
    prepare_value(value, stamp)
}

/// Like [`prepare`], for a record already read as JSON.
pub fn prepare_value(mut value: Value, stamp: &Stamp<'_>) -> Result<Initiative, Vec<FieldProblem>> {
    let Some(feature) = value.as_object_mut() else {
        return Err(vec![FieldProblem::new(
            "body",
            "must be a GeoJSON Feature object",
        )]);
    };
    if let Some(id) = stamp.id {
        match feature.get("id") {
            Some(Value::String(given)) if given != id => {
                return Err(vec![FieldProblem::new(
                    "id",
                    format!("\"{given}\" does not match the id in the URL (\"{id}\")"),
                )]);
            }
            _ => {
                feature.insert("id".into(), Value::String(id.into()));
            }
        }
    }
    let properties = feature
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert("updated_at".into(), Value::String(stamp.now.to_string()));
        let has_source = properties
            .get("source")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !has_source {
            properties.insert("source".into(), Value::String(stamp.default_source.into()));
        }
    }
    let evidence_given = value
        .pointer("/properties/evidence_url")
        .is_some_and(|v| !v.as_str().is_some_and(|s| s.trim().is_empty()));
    let text = value.to_string();
    let (initiative, warnings) = dataset::parse_feature(&text)?;
    // A file may carry an unusable evidence link (it is dropped with a warning); a record sent
    // to the server is refused instead, so its sender learns and can fix it.
    if evidence_given && initiative.evidence_url.is_none() {
        return Err(warnings
            .into_iter()
            .filter(|w| w.field == "properties.evidence_url")
            .collect());
    }
    Ok(initiative)
}

/// A fresh id for a proposed initiative that has none: a slug of its name and a random tail.
pub fn new_id(name: Option<&str>) -> String {
    let slug = dataset::slug(name.unwrap_or(""), 40);
    let tail: u32 = rand::random();
    if slug.is_empty() {
        format!("proposal-{tail:08x}")
    } else {
        format!("{slug}-{tail:08x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "type": "Feature",
            "id": "x-1",
            "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
            "properties": {
                "name": "<b>Bold</b> name", "description": "d", "organisation": "o",
                "url": "https://example.org", "country": "DE", "city": "Berlin",
                "skill_areas": ["cloud"], "target_groups": ["smes"], "kind": "training",
                "languages": ["de"], "updated_at": "2001-01-01T00:00:00Z"
            }
        })
    }

    fn stamp(id: Option<&str>) -> Stamp<'_> {
        Stamp {
            id,
            default_source: "curated",
            now: "2026-11-25T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_server_sets_the_time_and_a_missing_source() {
        let initiative = prepare_value(record(), &stamp(None)).unwrap();
        assert_eq!(initiative.updated_at.to_string(), "2026-11-25T10:00:00Z");
        assert_eq!(&*initiative.source, "curated");
        // Text is kept as text: escaping is the job of whatever displays it.
        assert_eq!(&*initiative.name, "<b>Bold</b> name");
    }

    #[test]
    fn the_url_decides_the_id() {
        let mut without_id = record();
        without_id.as_object_mut().unwrap().remove("id");
        assert_eq!(
            &*prepare_value(without_id, &stamp(Some("x-9"))).unwrap().id,
            "x-9"
        );
        let problems = prepare_value(record(), &stamp(Some("other"))).unwrap_err();
        assert_eq!(problems[0].field, "id");
    }

    #[test]
    fn unsafe_links_and_bad_bodies_are_refused() {
        let mut bad = record();
        bad["properties"]["url"] = json!("javascript:alert(1)");
        let problems = prepare_value(bad, &stamp(None)).unwrap_err();
        assert_eq!(problems[0].field, "properties.url");
        assert_eq!(
            prepare(b"[1,2]", &stamp(None)).unwrap_err()[0].field,
            "body"
        );
        assert!(
            prepare(b"{\"type\":", &stamp(None)).unwrap_err()[0]
                .message
                .contains("line 1")
        );
    }

    #[test]
    fn the_evidence_fields_are_optional_but_must_be_right_when_given() {
        let plain = prepare_value(record(), &stamp(None)).unwrap();
        assert_eq!(plain.status, crate::model::Status::Active);
        assert_eq!(plain.evidence_url, None);
        let mut full = record();
        full["properties"]["evidence_url"] = json!("https://example.org/about");
        full["properties"]["verified_at"] = json!("2026-11-30");
        full["properties"]["status"] = json!("closed");
        full["properties"]["location_precision"] = json!("address");
        let full = prepare_value(full, &stamp(None)).unwrap();
        assert_eq!(full.status, crate::model::Status::Closed);
        assert_eq!(
            full.evidence_url.as_deref(),
            Some("https://example.org/about")
        );
        for (field, bad) in [
            ("evidence_url", json!("javascript:alert(1)")),
            ("evidence_url", json!(17)),
            ("verified_at", json!("yesterday")),
            ("status", json!("gone")),
            ("location_precision", json!("gps")),
        ] {
            let mut record = record();
            record["properties"][field] = bad;
            let problems = prepare_value(record, &stamp(None)).unwrap_err();
            assert_eq!(problems[0].field, format!("properties.{field}"), "{field}");
        }
    }

    #[test]
    fn new_ids_are_valid_slugs() {
        for name in [
            Some("Café Numérique — Lyon!"),
            Some("   "),
            None,
            Some("ÅÅÅ"),
        ] {
            let id = new_id(name);
            assert!(dataset::valid_id(&id).is_ok(), "{id}");
        }
        assert!(new_id(Some("Café Numérique")).starts_with("cafe-numerique-"));
    }
}
