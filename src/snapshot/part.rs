//! Part: a set of initiatives in id order with everything derived from them (R-tree, clusters, regions).
//!
//! A snapshot is a large base part, shared by many snapshots, and a small delta part of the
//! records changed since the base was built; both are parts.

use jiff::Timestamp;

use crate::cluster::{ClusterOptions, ClusterTree};
use crate::index::SpatialIndex;
use crate::model::{Status, TermSet};
use crate::records::Records;
use crate::regions::code::NutsCode;
use crate::regions::{RegionIds, Regions};

use super::terms::TermBitmaps;

pub struct Part {
    /// In id order, so that a slot's order is its id's order and lookups by id need no map.
    pub records: Records,
    pub index: SpatialIndex,
    pub clusters: ClusterTree,
    /// Each record's regions and its finest NUTS code, in slot order.
    pub placement: Vec<RegionIds>,
    pub nuts: Vec<NutsCode>,
    /// Slots of the earliest and latest `updated_at` (for the temporal extent and Last-Modified).
    pub oldest: Option<u32>,
    pub newest: Option<u32>,
    /// The statuses some record has: a filter hiding none of them passes every record.
    pub statuses: TermSet<Status>,
    /// The slots of each vocabulary term, for planning filters.
    pub terms: TermBitmaps,
}

impl Part {
    /// Builds a part over `records` (in id order), placing each in the regions.
    pub fn build(
        records: Records,
        clustering: ClusterOptions,
        regions: &Regions,
        tag: &str,
    ) -> Part {
        let (placement, nuts) = regions.assign(records.locations());
        Part::with_placement(records, placement, nuts, clustering, tag)
    }

    /// Builds a part that answers listings and radius queries only: records, R-tree and
    /// regions, and an empty cluster hierarchy (tiles of it show nothing).
    pub fn for_matching(records: Records, clustering: ClusterOptions, regions: &Regions) -> Part {
        let (placement, nuts) = regions.assign(records.locations());
        let index = SpatialIndex::build(records.locations());
        let clusters = ClusterTree::build(&Records::default(), clustering, "matching");
        Part::from_parts(records, index, clusters, placement, nuts)
    }

    /// Builds a part whose regions are already known (copied from the parts it merges).
    pub fn with_placement(
        records: Records,
        placement: Vec<RegionIds>,
        nuts: Vec<NutsCode>,
        clustering: ClusterOptions,
        tag: &str,
    ) -> Part {
        debug_assert!(
            (1..records.len()).all(|i| records.id(i - 1) < records.id(i)),
            "records in id order"
        );
        // The cluster hierarchy is built on one core while the R-tree is built on the other.
        let (clusters, index) = rayon::join(
            || ClusterTree::build(&records, clustering, tag),
            || SpatialIndex::build(records.locations()),
        );
        Part::from_parts(records, index, clusters, placement, nuts)
    }

    pub(crate) fn from_parts(
        records: Records,
        index: SpatialIndex,
        clusters: ClusterTree,
        placement: Vec<RegionIds>,
        nuts: Vec<NutsCode>,
    ) -> Part {
        let times = |i: usize| records.attributes(i).updated_at;
        let slots = 0..records.len() as u32;
        let oldest = slots.clone().min_by_key(|s| (times(*s as usize), *s));
        let newest = slots.max_by_key(|s| (times(*s as usize), std::cmp::Reverse(*s)));
        let statuses = (0..records.len())
            .map(|i| records.attributes(i).status)
            .collect();
        Part {
            terms: TermBitmaps::new(records.len()),
            records,
            index,
            clusters,
            placement,
            nuts,
            oldest,
            newest,
            statuses,
        }
    }

    pub fn empty(clustering: ClusterOptions) -> Part {
        Part::with_placement(
            Records::default(),
            Vec::new(),
            Vec::new(),
            clustering,
            "empty",
        )
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// True when every record passes `filter`, so that it need not be tested one by one.
    pub fn passes_all(&self, filter: &crate::filter::Filter) -> bool {
        filter.passes_all(self.statuses)
    }

    pub fn updated_at(&self, slot: u32) -> Timestamp {
        self.records.attributes(slot as usize).updated_at
    }

    /// Approximate bytes held, for the start-up log and the benchmark.
    pub fn heap_bytes(&self) -> usize {
        self.records.heap_bytes()
            + self.index.heap_bytes()
            + self.clusters.heap_bytes()
            + self.terms.heap_bytes()
            + self.placement.capacity() * std::mem::size_of::<RegionIds>()
            + self.nuts.capacity() * std::mem::size_of::<NutsCode>()
    }
}
