//! The figures of one coverage query: per region, the matching initiatives, their count per
//! inhabitant and per skill area, and the share of the region's area farther than a gap
//! distance from any of them, and the share of its inhabitants (its towns) that far.

use std::sync::Arc;

use rayon::prelude::*;
use rstar::RTree;
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::RegionLayer;
use super::people::{Demand, people_gap};
use crate::filter::Filter;
use crate::geodesy::{earth_radius_m, unit_vector};
use crate::model::SkillArea;
use crate::snapshot::Snapshot;

/// One region's figures.
#[derive(serde::Serialize)]
pub struct CoverageRow<'a> {
    pub code: &'a str,
    pub name: &'a str,
    /// ISO 3166-1 alpha-2 code of the region's country.
    pub country: &'a str,
    /// Matching initiatives in the region.
    pub count: u32,
    /// Inhabitants, where known.
    pub population: Option<u64>,
    /// `count` per 100,000 inhabitants, where the population is known.
    pub per_100k: Option<f64>,
    pub by_skill_area: SkillCounts,
    /// Share of the region's area (its sampling grid) farther than the gap distance from
    /// every matching initiative, in [0, 1].
    pub gap_share: f64,
    /// Distance from the region to the nearest matching initiative: 0 when one lies inside,
    /// else from the nearest grid point; `None` when nothing matches anywhere.
    pub nearest_km: Option<f64>,
    pub area_km2: f64,
    /// Inhabitants of the region's populated places of 1,000 or more (GeoNames).
    pub people: u64,
    /// Those of them living farther than the gap distance from every matching initiative.
    pub people_far: u64,
    /// `people_far / people` in [0, 1]; `None` for a region without such places.
    pub people_gap_share: Option<f64>,
}

/// Counts per skill area, in the vocabulary's order, every area present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkillCounts([u32; SKILL_AREAS]);

const SKILL_AREAS: usize = SkillArea::ALL.len();

impl SkillCounts {
    pub fn get(&self, area: SkillArea) -> u32 {
        self.0[area.index()]
    }

    pub fn iter(&self) -> impl Iterator<Item = (SkillArea, u32)> + '_ {
        SkillArea::ALL.iter().map(|a| (*a, self.get(*a)))
    }
}

impl Serialize for SkillCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(SKILL_AREAS))?;
        for (area, count) in self.iter() {
            map.serialize_entry(area.slug(), &count)?;
        }
        map.end()
    }
}

/// Every region of a level with its figures, and the totals they add up to.
pub struct Coverage<'a> {
    /// Initiatives matching the filter.
    pub matched: usize,
    /// Matching initiatives outside every region of the level; the rows' counts sum to
    /// `matched - outside_regions`.
    pub outside_regions: usize,
    pub rows: Vec<CoverageRow<'a>>,
}

/// How many filters keep their tree of matching positions (up to 24 bytes an initiative plus
/// the tree's nodes each).
const NEARBY_CACHE_SIZE: u64 = 4;

/// The trees of matching positions of recent filters, kept with one snapshot: another level
/// or gap distance with the same filter reuses its tree.
pub struct NearbyCache(moka::sync::Cache<String, Arc<Nearby>>);

impl Default for NearbyCache {
    fn default() -> Self {
        NearbyCache(moka::sync::Cache::new(NEARBY_CACHE_SIZE))
    }
}

impl NearbyCache {
    fn get_or_build(&self, key: String, build: impl FnOnce() -> Nearby) -> Arc<Nearby> {
        // Two requests for the same new filter build its tree once.
        self.0.get_with(key, || Arc::new(build()))
    }
}

/// The tree of the positions of `slots`, the initiatives matching `filter`, from the
/// snapshot's cache.
pub fn nearby(index: &Snapshot, filter: &Filter, slots: &[crate::index::Slot]) -> Arc<Nearby> {
    index.nearby.get_or_build(format!("{filter:?}"), || {
        Nearby::new(
            slots
                .iter()
                .map(|s| unit_vector(index.location(*s)))
                .collect(),
        )
    })
}

/// The coverage of `layer` by the initiatives that pass `filter`, with the gap distance
/// `gap_m` in metres; `demand` gives the people of each region.
pub fn compute<'a>(
    index: &Snapshot,
    layer: &'a RegionLayer,
    filter: &Filter,
    gap_m: f64,
    demand: &Demand,
) -> Coverage<'a> {
    let population = &index.regions.population;
    let slots = index.matching(None, filter);
    let regions = layer.regions();
    let mut counts = vec![0u32; regions.len()];
    let mut skills = vec![SkillCounts::default(); regions.len()];
    let mut outside_regions = 0;
    for slot in &slots {
        match index.placement(*slot).get(layer.level) {
            Some(id) => {
                counts[id as usize] += 1;
                for area in index.attributes(*slot).skill_areas.iter() {
                    skills[id as usize].0[area.index()] += 1;
                }
            }
            None => outside_regions += 1,
        }
    }
    let nearby = nearby(index, filter, &slots);
    let samples = layer.samples();
    let distances: Vec<(f64, Option<f64>)> = (0..regions.len())
        .into_par_iter()
        .map(|id| nearby.gaps(samples.of(id), gap_m, counts[id] == 0))
        .collect();
    let reach = chord_squared(gap_m);
    let people: Vec<_> = (0..regions.len())
        .into_par_iter()
        .map(|id| {
            let towns = demand.in_region(layer.level, id as super::RegionId);
            people_gap(demand, towns, |t| nearby.reaches(t.unit, reach))
        })
        .collect();
    let mut per_country: std::collections::HashMap<&str, usize> = Default::default();
    for region in regions {
        *per_country.entry(&region.country).or_default() += 1;
    }
    let rows = regions
        .iter()
        .enumerate()
        .map(|(id, region)| {
            let count = counts[id];
            let alone = per_country.get(&*region.country) == Some(&1);
            let population = population.of_region(&region.code, &region.country, alone);
            let (gap_share, nearest_m) = distances[id];
            CoverageRow {
                code: &region.code,
                name: &region.name,
                country: &region.country,
                count,
                population,
                per_100k: population.map(|p| round(f64::from(count) * 1e5 / p as f64, 3)),
                by_skill_area: skills[id],
                gap_share: round(gap_share, 4),
                nearest_km: if count > 0 {
                    Some(0.0)
                } else {
                    nearest_m.map(|m| round(m / 1000.0, 1))
                },
                area_km2: round(region.area_km2, 1),
                people: people[id].people,
                people_far: people[id].far,
                people_gap_share: people[id].share().map(|s| round(s, 4)),
            }
        })
        .collect();
    Coverage {
        matched: slots.len(),
        outside_regions,
        rows,
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The matching initiatives as points on the unit sphere, where straight-line (chord)
/// distance orders points as great-circle distance does, so the R-tree's own nearest and
/// within-distance searches are exact.
pub struct Nearby {
    tree: RTree<[f64; 3]>,
}

impl Nearby {
    fn new(points: Vec<[f64; 3]>) -> Nearby {
        Nearby {
            tree: RTree::bulk_load(points),
        }
    }

    /// Whether a point lies within the squared chord `reach` of a matching initiative.
    pub fn reaches(&self, point: [f64; 3], reach: f64) -> bool {
        self.tree
            .locate_within_distance(point, reach)
            .next()
            .is_some()
    }

    /// For the grid points of one region: the share farther than `gap_m` from every point,
    /// and, when `want_nearest`, the smallest distance from any grid point to a point.
    fn gaps(&self, grid: &[[f64; 3]], gap_m: f64, want_nearest: bool) -> (f64, Option<f64>) {
        if grid.is_empty() {
            return (0.0, None);
        }
        let reach = chord_squared(gap_m);
        let mut far = 0usize;
        let mut nearest: Option<f64> = None;
        // Neighbouring grid points usually share their nearby initiative: try it first.
        let mut last_found: Option<[f64; 3]> = None;
        for sample in grid {
            if want_nearest {
                let found = self.tree.nearest_neighbor(*sample);
                let d2 = found.map_or(f64::INFINITY, |p| squared(p, sample));
                nearest = found.map(|_| nearest.map_or(d2, |n: f64| n.min(d2)));
                if d2 > reach {
                    far += 1;
                }
                continue;
            }
            if last_found.is_some_and(|p| squared(&p, sample) <= reach) {
                continue;
            }
            match self.tree.locate_within_distance(*sample, reach).next() {
                Some(p) => last_found = Some(*p),
                None => far += 1,
            }
        }
        let metres = nearest.map(|c2| 2.0 * earth_radius_m() * (c2.sqrt() / 2.0).min(1.0).asin());
        (far as f64 / grid.len() as f64, metres)
    }
}

fn squared(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// The squared chord of a great-circle distance on the unit sphere.
pub fn chord_squared(metres: f64) -> f64 {
    let half_angle = (metres / earth_radius_m() / 2.0).min(std::f64::consts::FRAC_PI_2);
    (2.0 * half_angle.sin()).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use crate::model::Location;
    use crate::regions::tests::square;
    use crate::regions::{Level, Regions};

    fn snapshot(initiatives: Vec<crate::model::Initiative>, regions: Regions) -> Snapshot {
        Snapshot::build(
            initiatives,
            "test".into(),
            crate::cluster::ClusterOptions::default(),
            std::sync::Arc::new(regions),
        )
    }

    fn layer() -> RegionLayer {
        RegionLayer::new(
            Level::Nuts2,
            "test".into(),
            vec![
                square("AA11", 0.0, 50.0, 1.0, 51.0),
                square("AA12", 1.0, 50.0, 2.0, 51.0),
                square("BB11", 10.0, 50.0, 11.0, 51.0),
            ],
        )
    }

    #[test]
    fn counts_sum_to_the_matches_inside_regions() {
        let mut a = initiative("a", 0.5, 50.5);
        a.skill_areas = [SkillArea::Cybersecurity, SkillArea::Cloud]
            .into_iter()
            .collect();
        let b = initiative("b", 1.0, 50.5); // on the AA11/AA12 border
        let c = initiative("c", 1.5, 50.2);
        let d = initiative("d", 30.0, 10.0); // nowhere
        let index = snapshot(vec![a, b, c, d], Regions::from_layers(vec![layer()]));
        let layer = index.regions.layer(Level::Nuts2).unwrap();
        let coverage = compute(
            &index,
            layer,
            &Filter::default(),
            100_000.0,
            &Demand::default(),
        );
        assert_eq!(coverage.matched, 4);
        assert_eq!(coverage.outside_regions, 1);
        let counts: Vec<(&str, u32)> = coverage.rows.iter().map(|r| (r.code, r.count)).collect();
        assert_eq!(counts, [("AA11", 2), ("AA12", 1), ("BB11", 0)]);
        let sum: u32 = coverage.rows.iter().map(|r| r.count).sum();
        assert_eq!(sum as usize, coverage.matched - coverage.outside_regions);
        assert_eq!(
            coverage.rows[0].by_skill_area.get(SkillArea::Cybersecurity),
            1
        );
        assert_eq!(coverage.rows[0].by_skill_area.get(SkillArea::DataAi), 1);
        // Initiatives within 100 km of every grid point of AA11 and AA12; none near BB11.
        assert_eq!(coverage.rows[0].gap_share, 0.0);
        assert_eq!(coverage.rows[2].gap_share, 1.0);
        assert_eq!(coverage.rows[0].nearest_km, Some(0.0));
        // BB11 starts 8.5° (about 600 km) east of c.
        let nearest = coverage.rows[2].nearest_km.unwrap();
        assert!(nearest > 550.0 && nearest < 650.0, "{nearest}");
        assert_eq!(
            coverage.rows[0].per_100k, None,
            "no population for test codes"
        );
    }

    #[test]
    fn gap_share_is_the_far_part_of_the_region() {
        // One initiative at the west edge of a 1° square at 50°N (71 km by 111 km): the gap
        // share is the share of grid points farther than the gap, counted one by one.
        let regions = Regions::from_layers(vec![RegionLayer::new(
            Level::Nuts2,
            "test".into(),
            vec![square("AA11", 0.0, 50.0, 1.0, 51.0)],
        )]);
        let index = snapshot(vec![initiative("w", 0.0, 50.5)], regions);
        let layer = index.regions.layer(Level::Nuts2).unwrap();
        let share = |km: f64| {
            compute(
                &index,
                layer,
                &Filter::default(),
                km * 1000.0,
                &Demand::default(),
            )
            .rows[0]
                .gap_share
        };
        let shape = &layer.regions()[0];
        let grid = crate::regions::sample::grid_points(
            &shape.shape,
            crate::regions::sample::spacing_km(shape.area_km2),
        );
        for km in [20.0, 35.0, 60.0] {
            let far = grid
                .iter()
                .filter(|p| {
                    crate::geodesy::distance_m(
                        **p,
                        Location {
                            lon: 0.0,
                            lat: 50.5,
                        },
                    ) > km * 1000.0
                })
                .count();
            let expected = (far as f64 / grid.len() as f64 * 1e4).round() / 1e4;
            assert_eq!(share(km), expected, "{km} km");
        }
        assert!(share(35.0) > 0.6 && share(35.0) < 0.9);
        assert_eq!(share(200.0), 0.0);
        assert!(share(1.0) > 0.95);
        let nothing = Filter {
            kinds: Some([crate::model::Kind::Funding].into_iter().collect()),
            ..Filter::default()
        };
        let none = compute(&index, layer, &nothing, 50_000.0, &Demand::default());
        assert_eq!(
            (
                none.matched,
                none.rows[0].gap_share,
                none.rows[0].nearest_km
            ),
            (0, 1.0, None)
        );
    }

    #[test]
    fn people_gaps_match_brute_force() {
        use crate::regions::people::tests::city;
        // Towns on a lattice over the three regions and beyond, initiatives of two skill
        // areas here and there; every figure checked town by town with great-circle distances.
        let mut places = Vec::new();
        for i in 0..12 {
            for j in 0..6 {
                let (lon, lat) = (-0.2 + f64::from(i) * 0.97, 49.9 + f64::from(j) * 0.21);
                places.push(city(
                    &format!("t{i}_{j}"),
                    lon,
                    lat,
                    Some(1_000 + 137 * (i * 7 + j) as u32),
                ));
            }
        }
        let mut initiatives = Vec::new();
        for (n, (lon, lat)) in [(0.3, 50.2), (1.8, 50.9), (10.5, 50.5), (4.0, 50.5)]
            .iter()
            .enumerate()
        {
            let mut it = initiative(&format!("i{n}"), *lon, *lat);
            if n % 2 == 0 {
                it.skill_areas = [SkillArea::Cybersecurity].into_iter().collect();
            }
            initiatives.push(it);
        }
        let index = snapshot(initiatives.clone(), Regions::from_layers(vec![layer()]));
        let demand = Demand::new(&places, &index.regions);
        let layer = index.regions.layer(Level::Nuts2).unwrap();
        let cyber = Filter {
            skill_areas: Some([SkillArea::Cybersecurity].into_iter().collect()),
            ..Filter::default()
        };
        for (filter, wanted) in [
            (Filter::default(), [true; 4]),
            (cyber, [true, false, true, false]),
        ] {
            for km in [10.0, 40.0, 80.0] {
                let rows = compute(&index, layer, &filter, km * 1000.0, &demand).rows;
                for (id, row) in rows.iter().enumerate() {
                    let shape = &layer.regions()[id].shape;
                    let (mut people, mut far) = (0u64, 0u64);
                    for place in &places {
                        let at = geo::Point::new(place.location.lon, place.location.lat);
                        if !geo::Intersects::intersects(shape, &at) {
                            continue;
                        }
                        let n = u64::from(place.population.unwrap());
                        people += n;
                        let near = initiatives.iter().zip(wanted).any(|(i, w)| {
                            w && crate::geodesy::distance_m(i.location, place.location)
                                <= km * 1000.0
                        });
                        if !near {
                            far += n;
                        }
                    }
                    assert_eq!(
                        (row.people, row.people_far),
                        (people, far),
                        "{} {km} km",
                        row.code
                    );
                    let share = (people > 0).then(|| round(far as f64 / people as f64, 4));
                    assert_eq!(row.people_gap_share, share);
                }
            }
        }
    }

    #[test]
    fn chords_match_great_circle_distances() {
        let a = unit_vector(Location {
            lon: 0.0,
            lat: 50.0,
        });
        let b = unit_vector(Location {
            lon: 1.0,
            lat: 50.0,
        });
        let metres = crate::geodesy::distance_m(
            Location {
                lon: 0.0,
                lat: 50.0,
            },
            Location {
                lon: 1.0,
                lat: 50.0,
            },
        );
        assert!(squared(&a, &b) <= chord_squared(metres + 0.01));
        assert!(squared(&a, &b) > chord_squared(metres - 0.01));
    }
}
