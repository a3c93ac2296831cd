//! How a committed change produces the next snapshot (a new delta, in time proportional to
//! the delta), and how a delta is merged into a new base.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bitmap::Bitmap;
use crate::model::Initiative;
use crate::records::Records;
use crate::regions::RegionIds;
use crate::regions::code::NutsCode;
use crate::store::{Changes, Tombstone};

use super::{Part, Snapshot, store_version, tag_of};

/// The ids changed since the base was built, each with the revision of its latest change
/// (a live version in the delta, or a deletion).
#[derive(Clone, Debug, Default)]
pub struct Pending {
    changed: BTreeMap<Box<str>, u64>,
}

impl Snapshot {
    /// The snapshot with `changes` (read from the store after this snapshot's revision)
    /// applied: a new delta of this one's delta records untouched by the changes plus the
    /// changed live ones, and the base records they supersede hidden. Costs time in
    /// proportion to the delta and the changes, plus a copy of the hidden bitmap (a bit per
    /// base record).
    pub fn apply(&self, changes: Changes) -> Snapshot {
        let mut pending = (*self.pending).clone();
        for (revision, initiative) in &changes.live {
            pending.changed.insert(initiative.id.clone(), *revision);
        }
        for (revision, tombstone) in &changes.deleted {
            pending.changed.insert(tombstone.id.clone(), *revision);
        }
        let touched_ids: std::collections::HashSet<&str> = changes
            .live
            .iter()
            .map(|(_, i)| &*i.id)
            .chain(changes.deleted.iter().map(|(_, t)| &*t.id))
            .collect();

        // The base records the changes supersede.
        let mut hidden = (*self.hidden).clone();
        let mut hidden_count = self.hidden_count;
        for id in &touched_ids {
            if let Some(at) = self.base.records.position_of(id)
                && !hidden.get(at as u32)
            {
                hidden.set(at as u32);
                hidden_count += 1;
            }
        }

        let kept: Vec<usize> = (0..self.delta.len())
            .filter(|at| !touched_ids.contains(self.delta.records.id(*at)))
            .collect();
        let mut fresh: Vec<&Initiative> = changes.live.iter().map(|(_, i)| i).collect();
        fresh.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        fresh.dedup_by(|a, b| a.id == b.id);
        let delta = merge_into_part(
            &self.delta,
            &kept,
            &fresh,
            &self.regions,
            self.clustering,
            &tag_of(&store_version(&changes.instance, changes.revision), "delta"),
        );

        let mut tombstones: Vec<Tombstone> = self
            .tombstones
            .iter()
            .filter(|t| !touched_ids.contains(&*t.id))
            .cloned()
            .collect();
        tombstones.extend(changes.deleted.iter().map(|(_, t)| t.clone()));
        tombstones.sort_by(|a, b| a.deleted_at.cmp(&b.deleted_at).then(a.id.cmp(&b.id)));

        let mut next = Snapshot::assemble(
            self.base.clone(),
            (Arc::new(hidden), hidden_count),
            Arc::new(delta),
            Arc::new(pending),
            (
                store_version(&changes.instance, changes.revision),
                changes.revision,
                self.base_revision,
            ),
            Arc::new(tombstones),
            self.clustering,
            self.regions.clone(),
        );
        next.set_instance(&changes.instance);
        next
    }

    /// A snapshot of `current`'s data on the new `base`, built from `merged_from` (an older
    /// snapshot, at `base.revision`): the changes `current` has that came after
    /// `merged_from` stay in the delta, and hide what they supersede in the new base.
    pub fn rebase(current: &Snapshot, base: Arc<Part>, base_revision: u64) -> Snapshot {
        let mut pending = Pending::default();
        let mut hidden = Bitmap::empty(base.len());
        let mut hidden_count = 0;
        for (id, revision) in &current.pending.changed {
            if *revision <= base_revision {
                continue;
            }
            pending.changed.insert(id.clone(), *revision);
            if let Some(at) = base.records.position_of(id) {
                hidden.set(at as u32);
                hidden_count += 1;
            }
        }
        // The delta keeps the records changed after the merged revision.
        let kept: Vec<usize> = (0..current.delta.len())
            .filter(|at| pending.changed.contains_key(current.delta.records.id(*at)))
            .collect();
        let delta = if kept.len() == current.delta.len() {
            current.delta.clone()
        } else {
            Arc::new(merge_into_part(
                &current.delta,
                &kept,
                &[],
                &current.regions,
                current.clustering,
                &tag_of(&current.version, "delta"),
            ))
        };
        let mut next = Snapshot::assemble(
            base,
            (Arc::new(hidden), hidden_count),
            delta,
            Arc::new(pending),
            (current.version.clone(), current.revision, base_revision),
            current.tombstones.clone(),
            current.clustering,
            current.regions.clone(),
        );
        next.set_instance(current.instance());
        next
    }
}

/// A part of `old`'s records at positions `kept` (in order) and the new `fresh` records
/// (in id order, none of them among the kept), in id order. Kept records keep their regions;
/// fresh ones are placed.
fn merge_into_part(
    old: &Part,
    kept: &[usize],
    fresh: &[&Initiative],
    regions: &crate::regions::Regions,
    clustering: crate::cluster::ClusterOptions,
    tag: &str,
) -> Part {
    let fresh_locations: Vec<_> = fresh.iter().map(|i| i.location).collect();
    let (fresh_placement, fresh_nuts) = regions.assign(&fresh_locations);
    let fresh_records =
        Records::from_initiatives(&fresh.iter().map(|i| (*i).clone()).collect::<Vec<_>>());
    let total = kept.len() + fresh.len();
    let mut records = Records::with_capacity(total);
    let mut placement: Vec<RegionIds> = Vec::with_capacity(total);
    let mut nuts: Vec<NutsCode> = Vec::with_capacity(total);
    let (mut i, mut j) = (0, 0);
    while i < kept.len() || j < fresh.len() {
        let take_old =
            j == fresh.len() || (i < kept.len() && old.records.id(kept[i]) < fresh_records.id(j));
        if take_old {
            records.push_from(&old.records, kept[i]);
            placement.push(old.placement[kept[i]]);
            nuts.push(old.nuts[kept[i]]);
            i += 1;
        } else {
            records.push_from(&fresh_records, j);
            placement.push(fresh_placement[j]);
            nuts.push(fresh_nuts[j]);
            j += 1;
        }
    }
    records.shrink_to_fit();
    Part::with_placement(records, placement, nuts, clustering, tag)
}

/// A new base holding every visible record of `snapshot` (its base less the hidden, and its
/// delta), in id order, with their regions copied rather than recomputed.
pub fn merge_base(snapshot: &Snapshot) -> Part {
    let base = &snapshot.base;
    let kept: Vec<usize> = (0..base.len())
        .filter(|at| !snapshot.hidden.get(*at as u32))
        .collect();
    let delta = &snapshot.delta;
    let total = kept.len() + delta.len();
    let mut records = Records::with_capacity(total);
    let mut placement = Vec::with_capacity(total);
    let mut nuts = Vec::with_capacity(total);
    let (mut i, mut j) = (0, 0);
    while i < kept.len() || j < delta.len() {
        let take_base =
            j == delta.len() || (i < kept.len() && base.records.id(kept[i]) < delta.records.id(j));
        let (part, at) = if take_base {
            i += 1;
            (base, kept[i - 1])
        } else {
            j += 1;
            (delta, j - 1)
        };
        records.push_from(&part.records, at);
        placement.push(part.placement[at]);
        nuts.push(part.nuts[at]);
    }
    records.shrink_to_fit();
    Part::with_placement(
        records,
        placement,
        nuts,
        snapshot.clustering,
        &tag_of(&snapshot.version, "base"),
    )
}
