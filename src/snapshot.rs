//! The immutable read model that every query runs on, and its version for HTTP caching.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cluster::{ClusterOptions, ClusterTree};
use crate::index::SpatialIndex;
use crate::model::Initiative;
use crate::regions::coverage::NearbyCache;
use crate::regions::{RegionIds, SharedRegions};
use crate::store::Tombstone;

/// One consistent version of everything the read endpoints serve.
pub struct Snapshot {
    pub index: SpatialIndex,
    pub clusters: ClusterTree,
    /// Changes whenever the data changes; the basis of every ETag.
    pub version: String,
    /// Latest `updated_at` of any initiative, for `Last-Modified`.
    pub last_modified: Option<jiff::Timestamp>,
    /// Earliest `updated_at`, for the collection's temporal extent.
    pub first_modified: Option<jiff::Timestamp>,
    /// Deleted initiatives, oldest deletion first (empty when serving a file).
    pub tombstones: Vec<Tombstone>,
    /// The store revision this was built from (0 when serving a file).
    pub revision: u64,
    /// The region layers (the same for every snapshot) and each slot's regions in them.
    pub regions: SharedRegions,
    pub placement: Vec<RegionIds>,
    /// Matching positions of recent coverage filters, for gap distances.
    pub nearby: NearbyCache,
}

impl Snapshot {
    /// Builds a snapshot; `version` must differ for different data (e.g. a hash of the file).
    pub fn build(
        initiatives: Vec<Initiative>,
        version: String,
        clustering: ClusterOptions,
        regions: SharedRegions,
    ) -> Self {
        let last_modified = initiatives.iter().map(|i| i.updated_at).max();
        let first_modified = initiatives.iter().map(|i| i.updated_at).min();
        // The cluster hierarchy needs only positions and skill areas, so it is built on one
        // core while the spatial index is built on the other.
        let started = std::time::Instant::now();
        let (clusters, (index, (placement, nuts))) = rayon::join(
            || ClusterTree::build(&initiatives, clustering, &version),
            || {
                rayon::join(
                    || SpatialIndex::prepare(&initiatives),
                    || {
                        let positions: Vec<_> = initiatives.iter().map(|i| i.location).collect();
                        regions.assign(&positions)
                    },
                )
            },
        );
        let index = SpatialIndex::from_parts(initiatives, index).with_nuts(nuts);
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "spatial index and clusters built"
        );
        Snapshot {
            clusters,
            index,
            version,
            last_modified,
            first_modified,
            tombstones: Vec::new(),
            revision: 0,
            regions,
            placement,
            nearby: NearbyCache::default(),
        }
    }
}

/// The current snapshot, readable without locks and replaced atomically after a change.
pub type SharedSnapshot = Arc<ArcSwap<Snapshot>>;

/// A version string for a dataset's bytes.
pub fn content_version(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}
