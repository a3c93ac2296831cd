//! SpatialIndex: every initiative in an R-tree, answering box, radius and nearest-k queries with filters.

use std::ops::ControlFlow;

use rayon::prelude::*;
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use crate::feature::Feature;
use crate::filter::{Filter, searchable_text};
use crate::geodesy::{Cap, LonLatBox, max_distance_m, radius_box, unit_vector};
use crate::model::{Initiative, Location, Status, TermSet};
use crate::regions::code::NutsCode;

/// Position of an initiative in the index; stable for the life of one index.
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

/// The initiatives of one dataset version with an R-tree over their locations.
pub struct SpatialIndex {
    initiatives: Vec<Initiative>,
    searchable: Vec<Box<str>>,
    /// Slots ordered by id, for lookups by id without a second copy of every id.
    by_id: Vec<Slot>,
    tree: RTree<Entry>,
    /// Each slot's NUTS code (empty when no regions were assigned).
    nuts: Vec<NutsCode>,
    /// The statuses some initiative has, so that a filter hiding none of them is known to
    /// pass everything.
    statuses: TermSet<Status>,
}

/// What [`SpatialIndex::prepare`] derives from the initiatives.
pub struct IndexParts {
    searchable: Vec<Box<str>>,
    by_id: Vec<Slot>,
    tree: RTree<Entry>,
    statuses: TermSet<Status>,
}

/// First radius tried by a nearest-k search, in metres; it doubles until enough are found.
const FIRST_NEAREST_RADIUS_M: f64 = 10_000.0;

impl SpatialIndex {
    /// Builds the index. Slots follow the order of `initiatives`.
    pub fn new(initiatives: Vec<Initiative>) -> Self {
        let parts = Self::prepare(&initiatives);
        Self::from_parts(initiatives, parts)
    }

    /// Everything derived from the initiatives, computed without taking them over so that
    /// other work can borrow them meanwhile.
    pub fn prepare(initiatives: &[Initiative]) -> IndexParts {
        assert!(
            initiatives.len() < Slot::MAX as usize,
            "too many initiatives for one index"
        );
        let entries: Vec<Entry> = initiatives
            .iter()
            .enumerate()
            .map(|(slot, i)| {
                let located = Located {
                    slot: slot as Slot,
                    unit: unit_vector(i.location),
                };
                GeomWithData::new([i.location.lon, i.location.lat], located)
            })
            .collect();
        let (tree, (searchable, by_id)) = rayon::join(
            || RTree::bulk_load(entries),
            || {
                let searchable = initiatives.par_iter().map(searchable_text).collect();
                let mut by_id: Vec<Slot> = (0..initiatives.len() as Slot).collect();
                by_id.par_sort_unstable_by(|a, b| {
                    initiatives[*a as usize]
                        .id
                        .cmp(&initiatives[*b as usize].id)
                });
                (searchable, by_id)
            },
        );
        IndexParts {
            searchable,
            by_id,
            tree,
            statuses: initiatives.iter().map(|i| i.status).collect(),
        }
    }

    pub fn from_parts(initiatives: Vec<Initiative>, parts: IndexParts) -> Self {
        SpatialIndex {
            initiatives,
            searchable: parts.searchable,
            by_id: parts.by_id,
            tree: parts.tree,
            nuts: Vec::new(),
            statuses: parts.statuses,
        }
    }

    /// The index with each slot's NUTS code (in slot order), for the `nuts` filter and features.
    pub fn with_nuts(mut self, codes: Vec<NutsCode>) -> Self {
        assert_eq!(codes.len(), self.len(), "one NUTS code per initiative");
        self.nuts = codes;
        self
    }

    /// The NUTS code of a slot (`NONE` outside every region, or without regions).
    pub fn nuts(&self, slot: Slot) -> &NutsCode {
        self.nuts.get(slot as usize).unwrap_or(&NutsCode::NONE)
    }

    /// The initiative in a slot as a GeoJSON Feature, with its regions.
    pub fn feature(&self, slot: Slot) -> Feature<'_> {
        Feature::new(self.get(slot)).with_nuts(self.nuts(slot))
    }

    pub fn len(&self) -> usize {
        self.initiatives.len()
    }

    pub fn is_empty(&self) -> bool {
        self.initiatives.is_empty()
    }

    pub fn get(&self, slot: Slot) -> &Initiative {
        &self.initiatives[slot as usize]
    }

    pub fn initiatives(&self) -> &[Initiative] {
        &self.initiatives
    }

    pub fn by_id(&self, id: &str) -> Option<&Initiative> {
        self.slot_of(id).map(|slot| self.get(slot))
    }

    pub fn slot_of(&self, id: &str) -> Option<Slot> {
        self.by_id
            .binary_search_by(|slot| (*self.get(*slot).id).cmp(id))
            .ok()
            .map(|at| self.by_id[at])
    }

    /// True if every initiative passes `filter`, so that it need not be tested one by one.
    pub fn passes_all(&self, filter: &Filter) -> bool {
        filter.passes_all(self.statuses)
    }

    pub fn matches(&self, slot: Slot, filter: &Filter) -> bool {
        filter.matches(self.get(slot), &self.searchable[slot as usize])
            && filter
                .nuts
                .as_ref()
                .is_none_or(|nuts| nuts.matches(*self.nuts(slot)))
    }

    /// Slots of the initiatives inside `area` (everywhere when `None`) that pass `filter`,
    /// in slot order so that pages are stable.
    pub fn matching(&self, area: Option<&LonLatBox>, filter: &Filter) -> Vec<Slot> {
        let everywhere = area.is_none_or(|b| self.covers_everything(b));
        let mut slots: Vec<Slot> = if everywhere {
            (0..self.len() as Slot)
                .filter(|s| self.matches(*s, filter))
                .collect()
        } else {
            let area = area.expect("checked above");
            let mut slots = Vec::new();
            for [min, max] in area.parts() {
                let _ = self.tree.locate_in_envelope_int(
                    AABB::from_corners(min, max),
                    |entry| -> ControlFlow<()> {
                        if self.matches(entry.data.slot, filter) {
                            slots.push(entry.data.slot);
                        }
                        ControlFlow::Continue(())
                    },
                );
            }
            slots
        };
        if !everywhere {
            slots.sort_unstable();
            slots.dedup();
        }
        slots
    }

    /// Initiatives within `radius_m` great-circle metres of `center` that pass `filter`,
    /// nearest first (ties by slot). The R-tree prunes by box; the haversine distance decides.
    pub fn within(&self, center: Location, radius_m: f64, filter: &Filter) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.for_each_within(center, radius_m, filter, |slot, distance_m| {
            hits.push(Hit { slot, distance_m });
        });
        sort_hits(&mut hits);
        hits
    }

    /// How many initiatives passing `filter` lie within `radius_m` of `center`.
    pub fn count_within(&self, center: Location, radius_m: f64, filter: &Filter) -> usize {
        let mut count = 0;
        self.for_each_within(center, radius_m, filter, |_, _| count += 1);
        count
    }

    /// The `limit` initiatives nearest to `center` within `radius_m` that pass `filter`,
    /// nearest first (ties by slot), and how many there are in all: as [`within`] followed
    /// by `take(limit)`, but only the kept hits are sorted.
    ///
    /// [`within`]: SpatialIndex::within
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
            hits.select_nth_unstable_by(limit - 1, hit_order);
            hits.truncate(limit);
        }
        sort_hits(&mut hits);
        (hits, matched)
    }

    /// Calls `found` with the slot and distance of every match, in no particular order.
    /// Positions come from the R-tree's own entries, so a candidate costs no record lookup;
    /// a box split at the antimeridian never holds a point twice. The tree is walked by
    /// internal iteration (rstar's iterator keeps a stack of every child it may visit).
    fn for_each_within(
        &self,
        center: Location,
        radius_m: f64,
        filter: &Filter,
        mut found: impl FnMut(Slot, f64),
    ) {
        let cap = Cap::new(center, radius_m);
        for [min, max] in radius_box(center, radius_m).parts() {
            let _ = self.tree.locate_in_envelope_int(
                AABB::from_corners(min, max),
                |entry| -> ControlFlow<()> {
                    let Located { slot, unit } = entry.data;
                    if let Some(distance) = cap.distance_m(cap.haversine_of_unit(unit))
                        && self.matches(slot, filter)
                    {
                        found(slot, distance);
                    }
                    ControlFlow::Continue(())
                },
            );
        }
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
            let mut hits = self.within(center, radius, filter);
            if hits.len() >= k || radius >= max_distance_m() {
                hits.truncate(k);
                return hits;
            }
            radius = (radius * 4.0).min(max_distance_m());
        }
    }

    /// The smallest box holding every initiative, or `None` when there are none.
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

    fn covers_everything(&self, area: &LonLatBox) -> bool {
        if self.is_empty() {
            return true;
        }
        let data = self.tree.root().envelope();
        let ([west, south], [east, north]) = (data.lower(), data.upper());
        !area.crosses_antimeridian()
            && area.west <= west
            && area.south <= south
            && area.east >= east
            && area.north >= north
    }
}

/// Nearest first, ties by slot.
fn hit_order(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    a.distance_m
        .total_cmp(&b.distance_m)
        .then(a.slot.cmp(&b.slot))
}

fn sort_hits(hits: &mut [Hit]) {
    hits.sort_unstable_by(hit_order);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::country::Country;
    use crate::geodesy::distance_m;
    use crate::model::{Kind, SkillArea, TargetGroup, TermSet};
    use rand::{RngExt, SeedableRng};

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

    fn random_index(n: usize, seed: u64) -> SpatialIndex {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let initiatives = (0..n)
            .map(|i| {
                let lon = rng.random_range(-180.0..=180.0);
                let lat = rng.random_range(-90.0..=90.0);
                let mut it = initiative(&format!("p{i}"), lon, lat);
                if i % 3 == 0 {
                    it.kind = Kind::Training;
                }
                it
            })
            .collect();
        SpatialIndex::new(initiatives)
    }

    #[test]
    fn radius_matches_brute_force() {
        let index = random_index(5_000, 7);
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let filter = Filter {
            kinds: Some([Kind::Training].into_iter().collect::<TermSet<Kind>>()),
            ..Filter::default()
        };
        for _ in 0..200 {
            let center = Location {
                lon: rng.random_range(-180.0..=180.0),
                lat: rng.random_range(-90.0..=90.0),
            };
            let radius = rng.random_range(0.0..3_000_000.0);
            let got: Vec<Slot> = index
                .within(center, radius, &filter)
                .iter()
                .map(|h| h.slot)
                .collect();
            let mut expected: Vec<(f64, Slot)> = (0..index.len() as Slot)
                .filter(|s| index.get(*s).kind == Kind::Training)
                .map(|s| (distance_m(center, index.get(s).location), s))
                .filter(|(d, _)| *d <= radius)
                .collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let expected: Vec<Slot> = expected.into_iter().map(|(_, s)| s).collect();
            assert_eq!(got, expected, "center {center:?} radius {radius}");
        }
    }

    #[test]
    fn counts_agree_with_the_listing() {
        let index = random_index(3_000, 12);
        let center = Location {
            lon: 178.0,
            lat: 10.0,
        };
        for radius in [0.0, 1_000.0, 500_000.0, 3_000_000.0, 3.0e7] {
            let listed = index.within(center, radius, &Filter::default()).len();
            assert_eq!(
                index.count_within(center, radius, &Filter::default()),
                listed,
                "{radius}"
            );
        }
    }

    #[test]
    fn the_nearest_within_are_the_first_of_the_listing() {
        let index = random_index(3_000, 13);
        let center = Location {
            lon: -179.5,
            lat: 40.0,
        };
        for radius in [0.0, 800_000.0, 3_000_000.0, 3.0e7] {
            let listed = index.within(center, radius, &Filter::default());
            for limit in [0, 1, 7, 100, 5_000] {
                let (hits, matched) =
                    index.nearest_within(center, radius, limit, &Filter::default());
                assert_eq!(matched, listed.len(), "{radius} {limit}");
                assert_eq!(hits, listed[..limit.min(listed.len())], "{radius} {limit}");
            }
        }
    }

    #[test]
    fn nearest_matches_brute_force() {
        let index = random_index(2_000, 9);
        let center = Location {
            lon: 179.0,
            lat: -5.0,
        };
        let got: Vec<Slot> = index
            .nearest(center, 25, &Filter::default())
            .iter()
            .map(|h| h.slot)
            .collect();
        let mut all: Vec<(f64, Slot)> = (0..index.len() as Slot)
            .map(|s| (distance_m(center, index.get(s).location), s))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let expected: Vec<Slot> = all.into_iter().take(25).map(|(_, s)| s).collect();
        assert_eq!(got, expected);
        assert_eq!(
            index.nearest(center, 5_000, &Filter::default()).len(),
            2_000
        );
    }

    #[test]
    fn boxes_across_the_antimeridian_match_brute_force() {
        let index = random_index(5_000, 11);
        let area = LonLatBox {
            west: 150.0,
            south: -40.0,
            east: -160.0,
            north: 30.0,
        };
        let got = index.matching(Some(&area), &Filter::default());
        let expected: Vec<Slot> = (0..index.len() as Slot)
            .filter(|s| area.contains(index.get(*s).location))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected);
    }

    #[test]
    fn lookup_by_id() {
        let index = random_index(100, 1);
        assert_eq!(&*index.by_id("p42").unwrap().id, "p42");
        assert!(index.by_id("nope").is_none());
    }
}
