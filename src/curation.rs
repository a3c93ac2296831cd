//! Changing the data: incoming records validated and stamped, written to the store, and the
//! change published to the read model before the writer is answered, so that readers never
//! wait for writers and a writer reads its own write.
//!
//! Publishing reads only the rows written since the published revision and applies them to
//! the snapshot's delta ([`Snapshot::apply`]); a background task merges a grown delta into a
//! new base and saves that base beside the store, so that the next start reads it back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::cluster::ClusterOptions;
use crate::dataset::{self, FieldProblem};
use crate::model::Initiative;
use crate::regions::SharedRegions;
use crate::snapshot::persist::{self, PersistError, Stamp as SavedStamp};
use crate::snapshot::{Part, SharedSnapshot, Snapshot, merge_base, store_version};
use crate::store::{Changes, Store, StoreError, StoreLocation};

/// The store and the published snapshot, kept in step.
pub struct Curation {
    store: Arc<Mutex<Store>>,
    snapshot: SharedSnapshot,
    /// The store revision the current snapshot was built from; held while publishing so
    /// that concurrent writers share one publication instead of queueing one each.
    published: tokio::sync::Mutex<u64>,
    /// Wakes the merging task when the delta has grown.
    merge_wanted: tokio::sync::Notify,
    merging: AtomicBool,
    /// Where the base is saved, and what it is valid for.
    saved: Option<SavedModel>,
    /// Why the last write failed, while writes cannot succeed (disk full, read-only); cleared
    /// by the next write or probe that succeeds. `/healthz` reports it.
    write_trouble: Mutex<Option<String>>,
}

/// Where a store's read model is saved and the fingerprint of the settings that shaped it.
#[derive(Clone)]
struct SavedModel {
    path: PathBuf,
    fingerprint: u64,
}

/// A delta at least this large is merged into the base (or 1% of the base, if larger):
/// rebuilding a delta of this size on every publication stays in the milliseconds.
const MERGE_AT: usize = 4_096;
/// A smaller delta is merged once the data has been quiet this long, so that the map's
/// clusters are again computed over everything together.
const MERGE_WHEN_QUIET: Duration = Duration::from_secs(10);

impl Curation {
    /// Opens the store at `location`, seeding it from `seed` (a dataset's text) if it has never
    /// held anything, and builds the first snapshot: from the saved read model and the
    /// changes after it when one fits the store, else from every record.
    pub fn open(
        location: &StoreLocation,
        seed: &str,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Result<(Store, Snapshot), CurationError> {
        OpenedStore::open(location, seed)?.first_snapshot(clustering, regions)
    }

    /// Wraps an opened store whose contents `snapshot` was built from (see [`Curation::open`]).
    pub fn new(store: Store, snapshot: SharedSnapshot, location: &StoreLocation) -> Self {
        let current = snapshot.load();
        let revision = current.revision;
        let saved = saved_model(location, current.clustering(), &current.regions);
        drop(current);
        Curation {
            store: Arc::new(Mutex::new(store)),
            snapshot,
            published: tokio::sync::Mutex::new(revision),
            merge_wanted: tokio::sync::Notify::new(),
            merging: AtomicBool::new(false),
            saved,
            write_trouble: Mutex::new(None),
        }
    }

    /// Runs `task` on the store off the async threads, without publishing anything.
    pub async fn read<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        // A request that timed out (answered 503) or whose client left drops this future:
        // its task, still queued for the store, must then not run, so that a write answered
        // "unavailable" is never performed later.
        let wanted = Arc::new(());
        let still_wanted = Arc::downgrade(&wanted);
        let done = tokio::task::spawn_blocking(move || {
            // A panic mid-transaction rolls the transaction back, so the store stays usable.
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            if still_wanted.strong_count() == 0 {
                return Err(StoreError::Unavailable("the request was abandoned".into()));
            }
            task(&mut store)
        })
        .await
        .map_err(|e| StoreError::Corrupt("task".into(), e.to_string()));
        drop(wanted);
        done?
    }

    /// Runs a committing `task` that returns its revision, then publishes a snapshot that
    /// includes it before answering, so the writer reads its own write.
    pub async fn write<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut Store) -> Result<(T, u64), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let done = self.read(task).await;
        self.note_write(&done);
        let (value, revision) = done?;
        // Committed: the writer is told so even if publishing fails now (the store went
        // away just after), since answering "unavailable" would misreport a write that was
        // made; following the store publishes it once it can.
        if let Err(e) = self.publish(revision).await {
            tracing::warn!(error = %e, revision, "a committed write is not published yet");
        }
        Ok(value)
    }

    /// Remembers whether writes can succeed, from a write's outcome: only a full or read-only
    /// store says they cannot (a busy one passes by itself; a bad request says nothing).
    fn note_write<T>(&self, outcome: &Result<T, StoreError>) {
        let mut trouble = self.write_trouble.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(_) => {
                if let Some(was) = trouble.take() {
                    tracing::info!(after = %was, "the store takes writes again");
                }
            }
            Err(e @ (StoreError::Full(_) | StoreError::ReadOnly(_))) => {
                if trouble.is_none() {
                    tracing::warn!(error = %e, "the store takes no writes");
                }
                *trouble = Some(e.to_string());
            }
            Err(_) => {}
        }
    }

    /// Why writes cannot succeed now, if the last write or probe found they cannot.
    pub fn write_trouble(&self) -> Option<String> {
        self.write_trouble
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// While writes fail, tries a write that changes nothing every `every`, so that the
    /// service says it is healthy again as soon as the store is (space freed, made writable)
    /// rather than at the next client's write.
    pub async fn probe_forever(self: Arc<Self>, every: std::time::Duration) {
        loop {
            tokio::time::sleep(every).await;
            if self.write_trouble().is_some() {
                let outcome = self.read(|store| store.probe_write()).await;
                self.note_write(&outcome);
            }
        }
    }

    /// Makes sure the published snapshot is at least as new as `revision`.
    pub async fn publish(&self, revision: u64) -> Result<(), StoreError> {
        let mut published = self.published.lock().await;
        if *published >= revision {
            return Ok(());
        }
        let current = self.snapshot.load_full();
        let since = current.revision;
        // Only the rows written since the current snapshot are read from the store.
        let changes = self.read(move |store| store.changes_since(since)).await?;
        let next = tokio::task::spawn_blocking(move || publishable(&current, changes))
            .await
            .map_err(|e| StoreError::Corrupt("publish".into(), e.to_string()))?;
        if let Some(next) = next {
            *published = next.revision;
            let merge = next.delta_size() >= MERGE_AT.max(next.base().len() / 100);
            self.snapshot.store(Arc::new(next));
            if merge {
                self.merge_wanted.notify_one();
            }
        }
        Ok(())
    }

    /// Merges the delta into a new base whenever it has grown (or the data has been quiet
    /// for a while with a delta left), and saves the new base beside the store. Runs for
    /// the life of the server.
    pub async fn merge_forever(self: Arc<Self>) {
        let mut seen = self.snapshot.load().revision;
        loop {
            let woken = tokio::time::timeout(MERGE_WHEN_QUIET, self.merge_wanted.notified()).await;
            let (pending, revision) = {
                let current = self.snapshot.load();
                (current.delta_size(), current.revision)
            };
            // Unasked, merge only once nothing was published for a whole period.
            let quiet = revision == seen;
            seen = revision;
            if pending == 0 || (woken.is_err() && !quiet) {
                continue;
            }
            if let Err(e) = self.merge().await {
                tracing::warn!(error = %e, "merging the read model failed");
            }
        }
    }

    /// Folds the current delta into a new base, then publishes it with whatever changed
    /// meanwhile still in the delta.
    pub async fn merge(&self) -> Result<(), StoreError> {
        if self.merging.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let from = self.snapshot.load_full();
        let started = std::time::Instant::now();
        let base_revision = from.revision;
        let built = tokio::task::spawn_blocking(move || Arc::new(merge_base(&from)))
            .await
            .map_err(|e| StoreError::Corrupt("merge".into(), e.to_string()));
        let result = match built {
            Ok(base) => {
                let published = self.published.lock().await;
                let current = self.snapshot.load_full();
                let next = Snapshot::rebase(&current, base.clone(), base_revision);
                self.snapshot.store(Arc::new(next));
                drop(published);
                tracing::info!(
                    initiatives = base.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "read model merged"
                );
                if let Some(saved) = self.saved.clone() {
                    let instance = current.instance().to_string();
                    tokio::task::spawn_blocking(move || {
                        save_model(&saved, &base, instance, base_revision)
                    });
                }
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.merging.store(false, Ordering::Release);
        result
    }
}

/// The snapshot after `changes`, or `None` when they change nothing `current` shows.
fn publishable(current: &Snapshot, changes: Changes) -> Option<Snapshot> {
    if changes.revision <= current.revision {
        return None;
    }
    Some(current.apply(changes))
}

/// Opens the store at `location`, seeding it from `seed` (a dataset's text) if it has never
/// held anything (of several processes starting at once, one seeds).
pub fn open_store(location: &StoreLocation, seed: &str) -> Result<Store, CurationError> {
    let mut store = Store::open(location)?;
    if store.is_empty()? {
        let dataset = dataset::parse(seed).map_err(CurationError::Seed)?;
        if store.seed_if_empty(&dataset.initiatives, "seed")?.is_some() {
            tracing::info!(
                initiatives = dataset.initiatives.len(),
                store = %location,
                "new store seeded"
            );
        }
    }
    Ok(store)
}

/// The file an SQLite store's read model is saved in: none for an in-memory store, nor for
/// PostgreSQL, whose replicas keep no file of their own.
fn saved_file(location: &StoreLocation) -> Option<&Path> {
    match location {
        StoreLocation::Sqlite(path) if path != Path::new(":memory:") => Some(path),
        _ => None,
    }
}

/// Where the read model of the store at `location` is saved (see [`saved_file`]).
fn saved_model(
    location: &StoreLocation,
    clustering: ClusterOptions,
    regions: &crate::regions::Regions,
) -> Option<SavedModel> {
    saved_file(location).map(|path| SavedModel {
        path: persist::path_for(path),
        fingerprint: persist::fingerprint(clustering, &regions.fingerprint()),
    })
}

/// A store, opened and seeded, with its saved read model read back but not yet checked
/// against the regions (which load meanwhile on another thread).
pub struct OpenedStore {
    store: Store,
    location: StoreLocation,
    head: u64,
    instance: String,
    saved: Result<(Part, SavedStamp), PersistError>,
    started: std::time::Instant,
}

impl OpenedStore {
    /// Opens (and seeds) the store at `location` and reads its saved read model, if any, of
    /// this store at a revision it has reached.
    pub fn open(location: &StoreLocation, seed: &str) -> Result<OpenedStore, CurationError> {
        let started = std::time::Instant::now();
        let mut store = open_store(location, seed)?;
        let head = store.revision()?;
        let instance = store.instance()?;
        let saved = match saved_file(location) {
            None => Err(PersistError::Missing),
            Some(path) => persist::load(&persist::path_for(path), |stamp| {
                stamp.instance == instance && stamp.revision <= head
            }),
        };
        Ok(OpenedStore {
            store,
            location: location.clone(),
            head,
            instance,
            saved,
            started,
        })
    }

    /// The first snapshot: the saved base when it was built with these settings, with the
    /// changes after it; otherwise built from every record, and saved (on a thread of its
    /// own) for the next start.
    pub fn first_snapshot(
        self,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Result<(Store, Snapshot), CurationError> {
        let OpenedStore {
            mut store,
            location,
            head,
            instance,
            saved,
            started,
        } = self;
        let model = saved_model(&location, clustering, &regions);
        let snapshot = match (saved, &model) {
            (Ok((base, stamp)), Some(model)) if stamp.fingerprint == model.fingerprint => {
                let base_revision = stamp.revision;
                let mut snapshot = Snapshot::from_base(
                    Arc::new(base),
                    store_version(&instance, base_revision),
                    base_revision,
                    clustering,
                    regions.clone(),
                );
                snapshot.set_instance(&instance);
                // Tombstones are not part of the saved base: read them alone.
                snapshot = snapshot.with_tombstones(store.tombstones()?);
                if base_revision < head {
                    snapshot = snapshot.apply(store.changes_since(base_revision)?);
                }
                tracing::info!(
                    path = %model.path.display(),
                    revision = base_revision,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "read model loaded"
                );
                snapshot
            }
            (saved, _) => {
                match saved {
                    Ok(_) => {
                        tracing::warn!("saved read model built with other settings; rebuilding it")
                    }
                    Err(PersistError::Missing) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "saved read model not used; rebuilding it")
                    }
                }
                let snapshot = Snapshot::from_store(store.changes_since(0)?, clustering, regions);
                if let Some(model) = model {
                    let (base, revision) = (snapshot.base().clone(), snapshot.revision);
                    std::thread::spawn(move || save_model(&model, &base, instance, revision));
                }
                snapshot
            }
        };
        Ok((store, snapshot))
    }
}

fn save_model(saved: &SavedModel, base: &Part, instance: String, revision: u64) {
    let stamp = SavedStamp {
        instance,
        revision,
        fingerprint: saved.fingerprint,
    };
    let started = std::time::Instant::now();
    match persist::save(&saved.path, base, &stamp) {
        Ok(()) => tracing::info!(
            path = %saved.path.display(),
            revision,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read model saved"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot save the read model"),
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
        .is_some_and(|v| !v.is_null() && !v.as_str().is_some_and(|s| s.trim().is_empty()));
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
