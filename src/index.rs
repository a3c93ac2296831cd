//! SpatialIndex: an R-tree over one part's positions, answering box and radius walks.
//!
//! It knows positions only; which positions count (filters, records superseded by a newer
//! version) is the caller's `keep` test, so the same tree serves every filter.

use std::ops::ControlFlow;

use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use crate::geodesy::{Cap, LonLatBox, radius_box, unit_vector};
use crate::model::Location;

/// Position of an initiative in a snapshot; stable for the life of the snapshot.
pub type Slot = u32;

type Entry = GeomWithData<[f64; 2], Located>;

/// What an R-tree entry carries besides its position: the slot, and the point as a unit
/// vector, so that a radius test needs no trigonometry.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Located {
    slot: Slot,
    unit: [f64; 3],
}

/// One result of a distance query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub slot: Slot,
    pub distance_m: f64,
}

/// The positions of one part with an R-tree over them; slots are positions in `locations`.
pub struct SpatialIndex {
    tree: RTree<Entry>,
}

impl SpatialIndex {
    pub fn build(locations: &[Location]) -> Self {
        assert!(
            locations.len() < Slot::MAX as usize,
            "too many initiatives for one index"
        );
        let entries: Vec<Entry> = locations
            .iter()
            .enumerate()
            .map(|(slot, at)| {
                let located = Located {
                    slot: slot as Slot,
                    unit: unit_vector(*at),
                };
                GeomWithData::new([at.lon, at.lat], located)
            })
            .collect();
        SpatialIndex {
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Calls `found` with every slot inside `area` (a box split at the antimeridian never
    /// holds a point twice), in no particular order.
    pub fn for_each_in(&self, area: &LonLatBox, mut found: impl FnMut(Slot)) {
        for [min, max] in area.parts() {
            let _ = self.tree.locate_in_envelope_int(
                AABB::from_corners(min, max),
                |entry| -> ControlFlow<()> {
                    found(entry.data.slot);
                    ControlFlow::Continue(())
                },
            );
        }
    }

    /// Calls `found` with the slot and distance of every slot within `radius_m` great-circle
    /// metres of `center` that passes `keep`, in no particular order. Positions come from the
    /// R-tree's own entries, so a candidate costs no record lookup. The tree is walked by
    /// internal iteration (rstar's iterator keeps a stack of every child it may visit).
    pub fn for_each_within(
        &self,
        center: Location,
        radius_m: f64,
        keep: impl Fn(Slot) -> bool,
        mut found: impl FnMut(Slot, f64),
    ) {
        let cap = Cap::new(center, radius_m);
        for [min, max] in radius_box(center, radius_m).parts() {
            let _ = self.tree.locate_in_envelope_int(
                AABB::from_corners(min, max),
                |entry| -> ControlFlow<()> {
                    let Located { slot, unit } = entry.data;
                    if let Some(distance) = cap.distance_m(cap.haversine_of_unit(unit))
                        && keep(slot)
                    {
                        found(slot, distance);
                    }
                    ControlFlow::Continue(())
                },
            );
        }
    }

    /// The smallest box holding every position, or `None` when there are none.
    pub fn extent(&self) -> Option<LonLatBox> {
        if self.is_empty() {
            return None;
        }
        let data = self.tree.root().envelope();
        let ([west, south], [east, north]) = (data.lower(), data.upper());
        Some(LonLatBox {
            west,
            south,
            east,
            north,
        })
    }

    /// True when `area` holds every position (so a box query is a full scan).
    pub fn covered_by(&self, area: &LonLatBox) -> bool {
        match self.extent() {
            None => true,
            Some(data) => {
                !area.crosses_antimeridian()
                    && area.west <= data.west
                    && area.south <= data.south
                    && area.east >= data.east
                    && area.north >= data.north
            }
        }
    }

    /// Approximate bytes held by the tree.
    pub fn heap_bytes(&self) -> usize {
        // Leaves plus about one node per six entries (rstar's default node size).
        self.tree.size() * (std::mem::size_of::<Entry>() + 16)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::country::Country;
    use crate::model::{Initiative, Kind, Location, SkillArea, TargetGroup};

    pub fn initiative(id: &str, lon: f64, lat: f64) -> Initiative {
        Initiative {
            id: id.into(),
            name: format!("Initiative {id}").into(),
            description: "A test initiative".into(),
            organisation: "Org".into(),
            url: "https://example.org/".into(),
            country: Country::parse("DE").unwrap(),
            city: "Berlin".into(),
            location: Location { lon, lat },
            skill_areas: [SkillArea::DataAi].into_iter().collect(),
            target_groups: [TargetGroup::Smes].into_iter().collect(),
            kind: Kind::Hub,
            languages: Box::new([crate::model::Language::parse("en").unwrap()]),
            start: None,
            end: None,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            source: "test".into(),
            evidence_url: Some("https://example.org/evidence".into()),
            verified_at: None,
            status: crate::model::Status::Active,
            location_precision: crate::model::LocationPrecision::City,
        }
    }
}
