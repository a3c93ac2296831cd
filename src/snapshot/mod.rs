//! The immutable read model that every query runs on, and its version for HTTP caching.
//!
//! A snapshot is a large *base* part, shared by every snapshot until it is rebuilt, plus a
//! small *delta* part holding the records changed since; base records superseded by the
//! delta or deleted are *hidden*. Publishing a change of k records builds a new delta and
//! hidden set (time proportional to the delta), and a background merge folds the delta into
//! a new base when it grows. Queries see one set of initiatives: slots below the base's
//! length are base records, the rest delta records, and listings merge both in id order.

mod change;
mod part;
pub mod persist;
mod plan;
mod terms;

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;

use crate::bitmap::Bitmap;
use crate::cluster::{ClusterError, ClusterOptions, ClusterSummary, TileItem};
use crate::feature::Feature;
use crate::filter::Filter;
use crate::geodesy::{LonLatBox, max_distance_m};
use crate::index::{Hit, Slot};
use crate::model::{Initiative, Location};
use crate::records::{Attributes, InitiativeRef, Records};
use crate::regions::code::NutsCode;
use crate::regions::coverage::NearbyCache;
use crate::regions::{RegionIds, SharedRegions};
use crate::store::{Changes, Tombstone};
use crate::tile::TileCoord;

pub use change::{Pending, merge_base};
pub use part::Part;
use plan::PartPlan;
#[cfg(test)]
pub(crate) use plan::TESTED_ONE_BY_ONE;

/// One consistent version of everything the read endpoints serve.
pub struct Snapshot {
    base: Arc<Part>,
    /// Base slots superseded by a newer version in the delta, or deleted.
    hidden: Arc<Bitmap>,
    hidden_count: usize,
    /// `hidden` as positions of the base's cluster leaves, made on first use.
    hidden_leaves: OnceLock<Bitmap>,
    /// Every visible base leaf, when some are hidden, made on first use.
    visible_leaves: OnceLock<Bitmap>,
    delta: Arc<Part>,
    /// Which ids changed since the base was built, and at which revision.
    pending: Arc<Pending>,
    /// Changes whenever the data changes; the basis of every ETag.
    pub version: String,
    /// Latest `updated_at` of any initiative, for `Last-Modified`.
    pub last_modified: Option<jiff::Timestamp>,
    /// Earliest `updated_at`, for the collection's temporal extent.
    pub first_modified: Option<jiff::Timestamp>,
    /// Deleted initiatives, oldest deletion first (empty when serving a file).
    pub tombstones: Arc<Vec<Tombstone>>,
    /// The store revision this was built from (0 when serving a file).
    pub revision: u64,
    /// The store this was read from (empty when serving a file).
    instance: Arc<str>,
    /// The revision the base was built at.
    pub base_revision: u64,
    /// The region layers (the same for every snapshot).
    pub regions: SharedRegions,
    /// Matching positions of recent coverage filters, for gap distances.
    pub nearby: NearbyCache,
    clustering: ClusterOptions,
}

/// Tags distinguishing the cluster ids of a base and of a delta.
fn tag_of(version: &str, part: &str) -> String {
    content_version(format!("{part}:{version}").as_bytes())
}

impl Snapshot {
    /// Builds a snapshot of `initiatives` from scratch; `version` must differ for different
    /// data (e.g. a hash of the file).
    pub fn build(
        initiatives: Vec<Initiative>,
        version: String,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Self {
        let started = std::time::Instant::now();
        let records = records_in_id_order(initiatives);
        let base = Part::build(records, clustering, &regions, &tag_of(&version, "base"));
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            initiatives = base.len(),
            "read model built"
        );
        Snapshot::from_base(Arc::new(base), version, 0, clustering, regions)
    }

    /// A snapshot of `initiatives` with the default clustering and no regions (for tests).
    #[cfg(test)]
    pub(crate) fn of(initiatives: Vec<Initiative>) -> Snapshot {
        Snapshot::build(
            initiatives,
            "test".into(),
            ClusterOptions::default(),
            Arc::new(crate::regions::Regions::none()),
        )
    }

    /// A snapshot of everything a store holds (`changes` since revision 0).
    pub fn from_store(
        changes: Changes,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Self {
        let version = store_version(&changes.instance, changes.revision);
        let initiatives = changes.live.into_iter().map(|(_, i)| i).collect();
        let mut snapshot = Snapshot::build(initiatives, version, clustering, regions);
        snapshot.revision = changes.revision;
        snapshot.base_revision = changes.revision;
        snapshot.set_instance(&changes.instance);
        snapshot.with_tombstones(changes.deleted.into_iter().map(|(_, t)| t).collect())
    }

    /// A snapshot of other initiatives (e.g. deleted ones, as they last were) with this one's
    /// regions, so that the same filters can be asked of them: it answers [`matching`] (and
    /// the radius queries), but holds no clusters, which only tiles need and which cost most
    /// of a build.
    ///
    /// [`matching`]: Snapshot::matching
    pub fn of_others(&self, initiatives: Vec<Initiative>) -> Snapshot {
        let started = std::time::Instant::now();
        let records = records_in_id_order(initiatives);
        let part = Part::for_matching(records, self.clustering, &self.regions);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            initiatives = part.len(),
            "read model of other initiatives built for matching"
        );
        Snapshot::from_base(
            Arc::new(part),
            format!("others:{}", self.version),
            0,
            self.clustering,
            self.regions.clone(),
        )
    }

    /// The store instance this snapshot was read from.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn set_instance(&mut self, instance: &str) {
        self.instance = Arc::from(instance);
    }

    /// The snapshot with these deletions (in any order) as its tombstones.
    pub fn with_tombstones(mut self, mut tombstones: Vec<Tombstone>) -> Self {
        tombstones.sort_by(|a, b| a.deleted_at.cmp(&b.deleted_at).then(a.id.cmp(&b.id)));
        self.tombstones = Arc::new(tombstones);
        self
    }

    /// A snapshot of a base part alone, at `revision`.
    pub fn from_base(
        base: Arc<Part>,
        version: String,
        revision: u64,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Self {
        let hidden = Arc::new(Bitmap::empty(base.len()));
        Snapshot::assemble(
            base,
            (hidden, 0),
            Arc::new(Part::empty(clustering)),
            Arc::new(Pending::default()),
            (version, revision, revision),
            Arc::new(Vec::new()),
            clustering,
            regions,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        base: Arc<Part>,
        (hidden, hidden_count): (Arc<Bitmap>, usize),
        delta: Arc<Part>,
        pending: Arc<Pending>,
        (version, revision, base_revision): (String, u64, u64),
        tombstones: Arc<Vec<Tombstone>>,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Self {
        let mut snapshot = Snapshot {
            base,
            hidden,
            hidden_count,
            hidden_leaves: OnceLock::new(),
            visible_leaves: OnceLock::new(),
            delta,
            pending,
            version,
            last_modified: None,
            first_modified: None,
            tombstones,
            revision,
            instance: Arc::from(""),
            base_revision,
            regions,
            nearby: NearbyCache::default(),
            clustering,
        };
        snapshot.first_modified = snapshot.extreme_time(|p| p.oldest, false);
        snapshot.last_modified = snapshot.extreme_time(|p| p.newest, true);
        snapshot
    }

    /// The earliest or latest `updated_at` of the visible initiatives: from each part's
    /// extreme unless the base's is hidden, when the base is scanned.
    fn extreme_time(
        &self,
        pick: impl Fn(&Part) -> Option<u32>,
        latest: bool,
    ) -> Option<jiff::Timestamp> {
        let base = match pick(&self.base) {
            Some(slot) if !self.hidden.get(slot) => Some(self.base.updated_at(slot)),
            Some(_) => {
                let visible = (0..self.base.len() as u32).filter(|s| !self.hidden.get(*s));
                let times = visible.map(|s| self.base.updated_at(s));
                if latest { times.max() } else { times.min() }
            }
            None => None,
        };
        let delta = pick(&self.delta).map(|slot| self.delta.updated_at(slot));
        let both = base.into_iter().chain(delta);
        if latest { both.max() } else { both.min() }
    }

    /// How many initiatives the snapshot holds.
    pub fn len(&self) -> usize {
        self.base.len() - self.hidden_count + self.delta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clustering(&self) -> ClusterOptions {
        self.clustering
    }

    pub fn base(&self) -> &Arc<Part> {
        &self.base
    }

    /// How many records the delta holds and the base hides: the work a merge would save.
    pub fn delta_size(&self) -> usize {
        self.delta.len() + self.hidden_count
    }

    /// Bytes held by the base and the delta.
    pub fn heap_bytes(&self) -> usize {
        self.base.heap_bytes() + self.delta.heap_bytes() + self.hidden.words.capacity() * 8
    }

    fn base_len(&self) -> Slot {
        self.base.len() as Slot
    }

    /// The part holding a slot and the slot's position in it.
    fn locate(&self, slot: Slot) -> (&Part, usize) {
        let base = self.base_len();
        if slot < base {
            (&self.base, slot as usize)
        } else {
            (&self.delta, (slot - base) as usize)
        }
    }

    pub fn get(&self, slot: Slot) -> InitiativeRef<'_> {
        let (part, at) = self.locate(slot);
        part.records.get(at)
    }

    pub fn id(&self, slot: Slot) -> &str {
        let (part, at) = self.locate(slot);
        part.records.id(at)
    }

    pub fn attributes(&self, slot: Slot) -> &Attributes {
        let (part, at) = self.locate(slot);
        part.records.attributes(at)
    }

    pub fn location(&self, slot: Slot) -> Location {
        let (part, at) = self.locate(slot);
        part.records.location(at)
    }

    /// The NUTS code of a slot (`NONE` outside every region, or without regions).
    pub fn nuts(&self, slot: Slot) -> &NutsCode {
        let (part, at) = self.locate(slot);
        &part.nuts[at]
    }

    /// The regions of every level holding a slot.
    pub fn placement(&self, slot: Slot) -> RegionIds {
        let (part, at) = self.locate(slot);
        part.placement[at]
    }

    /// The initiative in a slot as a GeoJSON Feature, with its regions.
    pub fn feature(&self, slot: Slot) -> Feature<'_> {
        Feature::from_ref(self.get(slot)).with_nuts(self.nuts(slot))
    }

    pub fn by_id(&self, id: &str) -> Option<InitiativeRef<'_>> {
        self.slot_of(id).map(|slot| self.get(slot))
    }

    /// The slot of the visible initiative `id`.
    pub fn slot_of(&self, id: &str) -> Option<Slot> {
        if let Some(at) = self.delta.records.position_of(id) {
            return Some(self.base_len() + at as Slot);
        }
        self.base
            .records
            .position_of(id)
            .map(|at| at as Slot)
            .filter(|slot| !self.hidden.get(*slot))
    }

    /// True when the initiative in `slot` is visible and passes `filter`.
    pub fn matches(&self, slot: Slot, filter: &Filter) -> bool {
        let (part, at) = self.locate(slot);
        if slot < self.base_len() && self.hidden.get(slot) {
            return false;
        }
        part_matches(part, at, filter)
    }

    /// Slots of the initiatives inside `area` (everywhere when `None`) that pass `filter`,
    /// in id order so that pages are stable.
    pub fn matching(&self, area: Option<&LonLatBox>, filter: &Filter) -> Vec<Slot> {
        let base = self.part_matching(&self.base, area, filter, true);
        let offset = self.base_len();
        let delta: Vec<Slot> = self
            .part_matching(&self.delta, area, filter, false)
            .into_iter()
            .map(|s| s + offset)
            .collect();
        if delta.is_empty() {
            return base;
        }
        // Both runs are in id order: merge them.
        let mut merged = Vec::with_capacity(base.len() + delta.len());
        let (mut i, mut j) = (0, 0);
        while i < base.len() && j < delta.len() {
            if self.id(base[i]) < self.id(delta[j]) {
                merged.push(base[i]);
                i += 1;
            } else {
                merged.push(delta[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&base[i..]);
        merged.extend_from_slice(&delta[j..]);
        merged
    }

    /// A part's matching slots (its own numbering), in slot (= id) order.
    fn part_matching(
        &self,
        part: &Part,
        area: Option<&LonLatBox>,
        filter: &Filter,
        is_base: bool,
    ) -> Vec<Slot> {
        let hidden = is_base.then_some(&*self.hidden);
        PartPlan::new(part, filter, hidden).matching(area)
    }

    /// Calls `found` with every visible match within `radius_m` of `center`, any order.
    fn for_each_within(
        &self,
        center: Location,
        radius_m: f64,
        filter: &Filter,
        mut found: impl FnMut(Slot, f64),
    ) {
        let base = PartPlan::new(&self.base, filter, Some(&self.hidden));
        self.base
            .index
            .for_each_within(center, radius_m, |slot| base.keeps(slot), &mut found);
        let offset = self.base_len();
        let delta = PartPlan::new(&self.delta, filter, None);
        self.delta.index.for_each_within(
            center,
            radius_m,
            |slot| delta.keeps(slot),
            |slot, distance| found(slot + offset, distance),
        );
    }

    /// Initiatives within `radius_m` great-circle metres of `center` that pass `filter`,
    /// nearest first (ties by id).
    pub fn within(&self, center: Location, radius_m: f64, filter: &Filter) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.for_each_within(center, radius_m, filter, |slot, distance_m| {
            hits.push(Hit { slot, distance_m });
        });
        hits.sort_unstable_by(|a, b| self.hit_order(a, b));
        hits
    }

    /// How many initiatives passing `filter` lie within `radius_m` of `center`.
    pub fn count_within(&self, center: Location, radius_m: f64, filter: &Filter) -> usize {
        let mut count = 0;
        self.for_each_within(center, radius_m, filter, |_, _| count += 1);
        count
    }

    /// The `limit` initiatives nearest to `center` within `radius_m` that pass `filter`,
    /// nearest first (ties by id), and how many there are in all: as [`within`] followed
    /// by `take(limit)`, but only the kept hits are sorted.
    ///
    /// [`within`]: Snapshot::within
    pub fn nearest_within(
        &self,
        center: Location,
        radius_m: f64,
        limit: usize,
        filter: &Filter,
    ) -> (Vec<Hit>, usize) {
        let mut hits = Vec::new();
        self.for_each_within(center, radius_m, filter, |slot, distance_m| {
            hits.push(Hit { slot, distance_m });
        });
        let matched = hits.len();
        if limit == 0 {
            hits.clear();
        } else if limit < hits.len() {
            hits.select_nth_unstable_by(limit - 1, |a, b| self.hit_order(a, b));
            hits.truncate(limit);
        }
        hits.sort_unstable_by(|a, b| self.hit_order(a, b));
        (hits, matched)
    }

    /// The `k` initiatives nearest to `center` that pass `filter`, nearest first.
    pub fn nearest(&self, center: Location, k: usize, filter: &Filter) -> Vec<Hit> {
        if k == 0 {
            return Vec::new();
        }
        let mut radius = FIRST_NEAREST_RADIUS_M;
        loop {
            // Every point outside the circle is farther than every point inside, so once the
            // circle holds k matches, its k nearest are the k nearest overall.
            let (hits, matched) = self.nearest_within(center, radius, k, filter);
            if matched >= k || radius >= max_distance_m() {
                return hits;
            }
            radius = (radius * 4.0).min(max_distance_m());
        }
    }

    /// Nearest first, ties by id (which, unlike slots, do not depend on how the snapshot
    /// was built).
    fn hit_order(&self, a: &Hit, b: &Hit) -> std::cmp::Ordering {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then_with(|| self.id(a.slot).cmp(self.id(b.slot)))
    }

    /// The smallest box holding every initiative, or `None` when there are none.
    pub fn extent(&self) -> Option<LonLatBox> {
        let boxes = [self.base.index.extent(), self.delta.index.extent()];
        boxes.into_iter().flatten().reduce(|a, b| LonLatBox {
            west: a.west.min(b.west),
            south: a.south.min(b.south),
            east: a.east.max(b.east),
            north: a.north.max(b.north),
        })
    }

    /// The leaves of the base's clusters that are visible and pass `filter` (`None`: all).
    fn base_leaves(&self, filter: &Filter) -> Option<Arc<Bitmap>> {
        let base = &self.base;
        let filtered = (!base.passes_all(filter)).then(|| {
            base.clusters.leaves_where(&format!("{filter:?}"), || {
                let plan = PartPlan::new(base, filter, None).scanning();
                move |slot| plan.keeps(slot)
            })
        });
        if self.hidden_count == 0 {
            return filtered;
        }
        let hidden = self
            .hidden_leaves
            .get_or_init(|| base.clusters.hidden_leaves(&self.hidden));
        let leaves = base.clusters.leaf_count();
        Some(match filtered {
            None => Arc::new(
                self.visible_leaves
                    .get_or_init(|| Bitmap::minus(None, hidden, leaves))
                    .clone(),
            ),
            Some(bits) => Arc::new(Bitmap::minus(Some(&bits), hidden, leaves)),
        })
    }

    /// The delta's leaves that pass `filter` (`None`: all).
    fn delta_leaves(&self, filter: &Filter) -> Option<Arc<Bitmap>> {
        let delta = &self.delta;
        (!delta.passes_all(filter)).then(|| {
            delta.clusters.leaves_where(&format!("{filter:?}"), || {
                let plan = PartPlan::new(delta, filter, None).scanning();
                move |slot| plan.keeps(slot)
            })
        })
    }

    /// The clusters and initiatives of one tile that pass `filter`: the base's clusters of
    /// its visible records and the delta's own. Over all tiles of a zoom every matching
    /// initiative is counted exactly once.
    pub fn tile(&self, tile: TileCoord, filter: &Filter) -> Vec<TileItem> {
        let base_leaves = self.base_leaves(filter);
        let base = &self.base;
        let mut items = base.clusters.tile(tile, base_leaves.as_deref(), |s| {
            base.records.location(s as usize)
        });
        if !self.delta.is_empty() {
            let delta = &self.delta;
            let delta_leaves = self.delta_leaves(filter);
            let offset = self.base_len();
            items.extend(
                delta
                    .clusters
                    .tile(tile, delta_leaves.as_deref(), |s| {
                        delta.records.location(s as usize)
                    })
                    .into_iter()
                    .map(|item| self.globalise(item, offset)),
            );
        }
        items
    }

    /// The items one zoom below a cluster, with the same filter.
    pub fn cluster_children(
        &self,
        id: &str,
        filter: &Filter,
    ) -> Result<Vec<TileItem>, ClusterError> {
        if self.delta.clusters.owns(id) {
            let leaves = self.delta_leaves(filter);
            let offset = self.base_len();
            let items = self.delta.clusters.children(id, leaves.as_deref())?;
            return Ok(items
                .into_iter()
                .map(|i| self.globalise(i, offset))
                .collect());
        }
        let leaves = self.base_leaves(filter);
        self.base.clusters.children(id, leaves.as_deref())
    }

    /// The matching members of a cluster: a page of them, and how many there are.
    pub fn cluster_leaves(
        &self,
        id: &str,
        filter: &Filter,
        page: (usize, usize),
    ) -> Result<(Vec<Slot>, usize), ClusterError> {
        if self.delta.clusters.owns(id) {
            let leaves = self.delta_leaves(filter);
            let offset = self.base_len();
            let (slots, total) = self.delta.clusters.leaves(id, leaves.as_deref(), page)?;
            return Ok((slots.into_iter().map(|s| s + offset).collect(), total));
        }
        let leaves = self.base_leaves(filter);
        self.base.clusters.leaves(id, leaves.as_deref(), page)
    }

    fn globalise(&self, item: TileItem, offset: Slot) -> TileItem {
        match item {
            TileItem::Initiative(slot) => TileItem::Initiative(slot + offset),
            cluster @ TileItem::Cluster(ClusterSummary { .. }) => cluster,
        }
    }

    /// Every visible slot in id order, closed initiatives included.
    pub fn all(&self) -> Vec<Slot> {
        let everything = Filter {
            statuses: Filter::all_statuses(),
            ..Filter::default()
        };
        self.matching(None, &everything)
    }
}

/// `initiatives` as records in id order (the order listings use, and what lets a slot be found
/// by binary search), one record an id.
fn records_in_id_order(mut initiatives: Vec<Initiative>) -> Records {
    initiatives.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    initiatives.dedup_by(|a, b| a.id == b.id);
    Records::from_initiatives(&initiatives)
}

/// True when record `at` of `part` passes `filter` (visibility is the caller's concern),
/// evaluated on the record alone: for one record, planning would cost more than it saves.
fn part_matches(part: &Part, at: usize, filter: &Filter) -> bool {
    filter.matches_attributes(part.records.attributes(at))
        && filter
            .nuts
            .as_ref()
            .is_none_or(|nuts| nuts.matches(part.nuts[at]))
        && part.records.contains_words(at, &filter.words)
        && filter.expression.as_ref().is_none_or(|e| {
            e.matches(crate::cql2::Row {
                records: &part.records,
                at,
                nuts: part.nuts[at],
            })
        })
}

/// First radius tried by a nearest-k search, in metres; it quadruples until enough are found.
const FIRST_NEAREST_RADIUS_M: f64 = 10_000.0;

/// The current snapshot, readable without locks and replaced atomically after a change.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;

/// A version string for a dataset's bytes.
pub fn content_version(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// The version of a store's state.
pub fn store_version(instance: &str, revision: u64) -> String {
    content_version(format!("{instance}:{revision}").as_bytes())
}

#[cfg(test)]
mod tests;
