//! Demand points for coverage by people: GeoNames' populated places (1,000+ inhabitants)
//! placed in the regions as the initiatives are, each standing for its inhabitants.

use rayon::prelude::*;

use super::{Level, RegionId, RegionIds, Regions};
use crate::geodesy::unit_vector;
use crate::model::Location;
use crate::places::{Place, PlaceKind};

/// One populated place as a demand point.
#[derive(Clone, Debug)]
pub struct Town {
    /// `geonames:ID` (or any place id in tests).
    pub id: Box<str>,
    pub name: Box<str>,
    /// ISO 3166-1 alpha-2.
    pub country: Box<str>,
    pub location: Location,
    /// The location on the unit sphere, for the R-tree searches.
    pub unit: [f64; 3],
    pub population: u32,
    pub regions: RegionIds,
}

/// Every demand point, most populous first, with the towns of each region of each level.
#[derive(Default)]
pub struct Demand {
    towns: Vec<Town>,
    /// Per level (in [`Level::ALL`] order), per region id: indices into `towns`.
    by_region: [Vec<Vec<u32>>; 5],
}

impl Demand {
    /// The cities among `places` with a population (a city's districts are left out: they
    /// are not labelled, and their people are counted with the city), placed in `regions`.
    pub fn new(places: &[Place], regions: &Regions) -> Demand {
        let mut towns: Vec<Town> = places
            .par_iter()
            .filter(|p| p.kind == PlaceKind::City && p.labelled)
            .filter_map(|p| {
                Some(Town {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    country: p.country.clone(),
                    location: p.location,
                    unit: unit_vector(p.location),
                    population: p.population.filter(|n| *n > 0)?,
                    regions: regions.place(p.location).0,
                })
            })
            .collect();
        towns.sort_by(|a, b| b.population.cmp(&a.population).then(a.id.cmp(&b.id)));
        let by_region = Level::ALL.map(|level| match regions.layer(level) {
            Ok(layer) => {
                let mut lists = vec![Vec::new(); layer.regions().len()];
                for (at, town) in towns.iter().enumerate() {
                    if let Some(id) = town.regions.get(level) {
                        lists[id as usize].push(at as u32);
                    }
                }
                lists
            }
            Err(_) => Vec::new(),
        });
        Demand { towns, by_region }
    }

    pub fn towns(&self) -> &[Town] {
        &self.towns
    }

    pub fn town(&self, at: u32) -> &Town {
        &self.towns[at as usize]
    }

    /// The towns (indices into [`Demand::towns`]) of region `id` of `level`.
    pub fn in_region(&self, level: Level, id: RegionId) -> &[u32] {
        self.by_region[level.position()]
            .get(id as usize)
            .map_or(&[], Vec::as_slice)
    }
}

/// The inhabitants of a region's towns, and how many of them live farther than the gap
/// distance from every matching initiative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeopleGap {
    pub people: u64,
    pub far: u64,
}

impl PeopleGap {
    /// `far / people`, or `None` for a region without towns.
    pub fn share(&self) -> Option<f64> {
        (self.people > 0).then(|| self.far as f64 / self.people as f64)
    }
}

/// The people gap of some towns: `reaches` says whether a town has a matching initiative
/// within the gap distance.
pub fn people_gap(demand: &Demand, towns: &[u32], reaches: impl Fn(&Town) -> bool) -> PeopleGap {
    towns.iter().fold(PeopleGap::default(), |mut gap, at| {
        let town = demand.town(*at);
        gap.people += u64::from(town.population);
        if !reaches(town) {
            gap.far += u64::from(town.population);
        }
        gap
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A labelled city of the gazetteer.
    pub fn city(id: &str, lon: f64, lat: f64, population: Option<u32>) -> Place {
        Place {
            id: id.into(),
            name: id.into(),
            country: "AA".into(),
            kind: PlaceKind::City,
            population,
            location: Location { lon, lat },
            bbox: None,
            capital: false,
            labelled: true,
        }
    }

    #[test]
    fn towns_are_cities_with_people_placed_in_regions() {
        use crate::regions::tests::square;
        use crate::regions::{RegionLayer, Regions};
        let regions = Regions::from_layers(vec![RegionLayer::new(
            Level::Nuts2,
            "test".into(),
            vec![
                square("AA11", 0.0, 50.0, 1.0, 51.0),
                square("AA12", 1.0, 50.0, 2.0, 51.0),
            ],
        )]);
        let mut district = city("d", 0.5, 50.5, Some(5_000));
        district.labelled = false;
        let places = vec![
            city("a", 0.5, 50.5, Some(2_000)),
            city("b", 1.5, 50.5, Some(9_000)),
            city("c", 1.6, 50.5, None),
            city("sea", 5.0, 50.5, Some(1_000)),
            district,
        ];
        let demand = Demand::new(&places, &regions);
        let ids: Vec<&str> = demand.towns().iter().map(|t| &*t.id).collect();
        assert_eq!(ids, ["b", "a", "sea"], "most populous first");
        let names = |id| -> Vec<&str> {
            demand
                .in_region(Level::Nuts2, id)
                .iter()
                .map(|t| &*demand.town(*t).id)
                .collect()
        };
        assert_eq!((names(0), names(1)), (vec!["a"], vec!["b"]));
        let gap = people_gap(&demand, &[0, 1, 2], |t| &*t.id == "a");
        assert_eq!((gap.people, gap.far), (12_000, 10_000));
        assert_eq!(PeopleGap::default().share(), None);
    }
}
