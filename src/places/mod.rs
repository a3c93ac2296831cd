//! The gazetteer behind `/places` and the map's labels: Europe's populated places (GeoNames),
//! the countries and NUTS regions, and the initiatives' own cities, found by name prefix.
//!
//! - [`names`]: the folded, sorted name index and its ranking.
//! - [`geonames`]: reading GeoNames' cities of 1,000+ inhabitants from the npm package.
//! - [`labels`]: which places are labelled at which zoom, without overlaps.
//!
//! Everything but the initiatives' cities is built once at start-up, like the regions. The
//! initiatives' cities follow the data: when a search sees a newer snapshot, they are gathered
//! again on a blocking thread while searches go on with the previous ones.

pub mod geonames;
pub mod labels;
pub mod names;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use geo::{BoundingRect, InteriorPoint};
use rayon::prelude::*;
use serde::Serialize;

use crate::geodesy::{LonLatBox, distance_m};
use crate::model::Location;
use crate::regions::{Level, Regions};
use crate::snapshot::Snapshot;
use labels::Labels;
use names::{MatchQuality, Name, NameIndex, PlaceId};

/// What a place is, as `/places` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    City,
    Region,
}

/// One place of the gazetteer.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// `geonames:ID`, `country:CC`, `nuts:CODE` or `initiatives:CC:name`.
    pub id: Box<str>,
    /// The name shown: the place's own name.
    pub name: Box<str>,
    /// ISO 3166-1 alpha-2.
    pub country: Box<str>,
    pub kind: PlaceKind,
    pub population: Option<u32>,
    /// The point the map moves to: the city's centre, or a point inside the region.
    pub location: Location,
    /// A region's extent.
    pub bbox: Option<LonLatBox>,
    /// A national capital (labelled first).
    pub capital: bool,
    /// Shown as a label on the base map (cities, not a city's districts or regions).
    pub labelled: bool,
}

/// A place with every name it is found by.
pub type NamedPlace = (Place, Vec<Name>);

/// A search result that owns its place (the initiatives' cities change with the data).
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub place: Place,
    pub quality: MatchQuality,
    /// The spelling that matched (an exonym, an ASCII form, the name itself).
    pub matched: Box<str>,
    pub weight: names::Weight,
}

/// Places with their name index.
pub struct Gazetteer {
    places: Vec<Place>,
    names: NameIndex,
}

/// One search result.
#[derive(Clone, Copy, Debug)]
pub struct PlaceMatch<'a> {
    pub place: &'a Place,
    pub quality: MatchQuality,
    /// The spelling that matched (an exonym, an ASCII form, the name itself).
    pub matched: &'a str,
    /// What ranked it (see [`Gazetteer::new`]).
    pub weight: names::Weight,
}

impl Gazetteer {
    /// Places ranked by their population.
    pub fn new(entries: Vec<NamedPlace>) -> Gazetteer {
        let weights = entries
            .iter()
            .map(|(p, _)| u64::from(p.population.unwrap_or(0)))
            .collect();
        let (places, names): (Vec<Place>, Vec<Vec<Name>>) = entries.into_iter().unzip();
        Gazetteer {
            names: NameIndex::new(names, weights),
            places,
        }
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    pub fn place(&self, id: PlaceId) -> &Place {
        &self.places[id as usize]
    }

    /// Number of names indexed (every spelling and later word).
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    pub fn search(&self, query: &str, limit: usize) -> Vec<PlaceMatch<'_>> {
        self.names
            .search(query, limit)
            .into_iter()
            .map(|found| PlaceMatch {
                place: &self.places[found.place as usize],
                quality: found.quality,
                matched: found.form,
                weight: found.weight,
            })
            .collect()
    }
}

/// The regions of every level as places: countries (by their English name, their NUTS 0
/// name found too), then NUTS 1–3. A name repeated within a country at finer levels (Berlin
/// is DE3, DE30 and DE300) is kept once, at the coarsest level.
pub fn region_places(regions: &Regions) -> Vec<NamedPlace> {
    let mut out: Vec<NamedPlace> = Vec::new();
    let mut seen: HashMap<(String, Box<str>), usize> = HashMap::new();
    let nuts0_names: HashMap<&str, &str> = regions
        .layer(Level::Nuts0)
        .map(|layer| {
            layer
                .regions()
                .iter()
                .map(|r| (&*r.country, &*r.name))
                .collect()
        })
        .unwrap_or_default();
    for level in [Level::Country, Level::Nuts1, Level::Nuts2, Level::Nuts3] {
        let Ok(layer) = regions.layer(level) else {
            continue;
        };
        for region in layer.regions() {
            let key = (names::search_key(&region.name), region.country.clone());
            if key.0.is_empty() || seen.contains_key(&key) {
                continue;
            }
            let (Some(rect), Some(inside)) =
                (region.shape.bounding_rect(), region.shape.interior_point())
            else {
                continue;
            };
            let population = regions
                .population
                .of(&region.code)
                .and_then(|p| u32::try_from(p).ok());
            let id = match level {
                Level::Country => format!("country:{}", region.code),
                _ => format!("nuts:{}", region.code),
            };
            let mut names = vec![Name::own(&*region.name)];
            if level == Level::Country
                && let Some(local) = nuts0_names.get(&*region.country)
            {
                names.push(Name::other(*local));
            }
            seen.insert(key, out.len());
            out.push((
                Place {
                    id: id.into(),
                    name: region.name.clone(),
                    country: region.country.clone(),
                    kind: PlaceKind::Region,
                    population,
                    location: Location {
                        lon: inside.x(),
                        lat: inside.y(),
                    },
                    bbox: Some(LonLatBox {
                        west: rect.min().x,
                        south: rect.min().y,
                        east: rect.max().x,
                        north: rect.max().y,
                    }),
                    capital: false,
                    labelled: false,
                },
                names,
            ));
        }
    }
    out
}

/// The inhabitants of the cities of each region (by place id), counting each city once
/// (not its districts), to rank regions whose population the service does not know.
fn cities_in_regions(cities: &[NamedPlace], regions: &Regions) -> HashMap<String, u64> {
    let placed: Vec<(crate::regions::RegionIds, u64)> = cities
        .par_iter()
        .filter(|(p, _)| p.labelled && p.population.is_some())
        .map(|(p, _)| {
            (
                regions.place(p.location).0,
                u64::from(p.population.unwrap_or(0)),
            )
        })
        .collect();
    let mut sums: HashMap<String, u64> = HashMap::new();
    for level in [Level::Country, Level::Nuts1, Level::Nuts2, Level::Nuts3] {
        let Ok(layer) = regions.layer(level) else {
            continue;
        };
        let prefix = if level == Level::Country {
            "country"
        } else {
            "nuts"
        };
        for (ids, population) in &placed {
            if let Some(id) = ids.get(level) {
                *sums
                    .entry(format!("{prefix}:{}", layer.get(id).code))
                    .or_default() += population;
            }
        }
    }
    sums
}

/// How far an initiative's city may lie from a GeoNames place of the same name and country
/// to count as that place.
const SAME_CITY_M: f64 = 30_000.0;

/// The initiatives' cities that the fixed gazetteer lacks (by name and country, within
/// [`SAME_CITY_M`]), each at the mean position of its initiatives.
pub fn initiative_cities(snapshot: &Snapshot, known: &Gazetteer) -> Vec<NamedPlace> {
    // Grouped by the exact strings first: far fewer distinct cities than initiatives.
    let mut groups: HashMap<(&str, &str), (usize, f64, f64)> = HashMap::new();
    for slot in snapshot.all() {
        let initiative = snapshot.get(slot);
        let group = groups
            .entry((initiative.city, initiative.country.code()))
            .or_insert((0, 0.0, 0.0));
        group.0 += 1;
        group.1 += initiative.location.lon;
        group.2 += initiative.location.lat;
    }
    let mut by_key: HashMap<(String, &str), (&str, usize, f64, f64)> = HashMap::new();
    for ((city, country), (count, lon, lat)) in groups {
        let key = names::search_key(city);
        if key.is_empty() {
            continue;
        }
        let entry = by_key.entry((key, country)).or_insert((city, 0, 0.0, 0.0));
        // The most frequent spelling names the city.
        if count > entry.1 {
            entry.0 = city;
        }
        entry.1 += count;
        entry.2 += lon;
        entry.3 += lat;
    }
    let mut cities: Vec<NamedPlace> = by_key
        .into_iter()
        .filter_map(|((key, country), (city, count, lon, lat))| {
            let at = Location {
                lon: lon / count as f64,
                lat: lat / count as f64,
            };
            let known_already = known.search(&key, names::MAX_RESULTS).iter().any(|m| {
                matches!(m.quality, MatchQuality::Exact | MatchQuality::ExactOther)
                    && &*m.place.country == country
                    && distance_m(m.place.location, at) < SAME_CITY_M
            });
            (!known_already).then(|| {
                (
                    Place {
                        id: format!("initiatives:{country}:{key}").into(),
                        name: city.into(),
                        country: country.into(),
                        kind: PlaceKind::City,
                        population: None,
                        location: at,
                        bbox: None,
                        capital: false,
                        labelled: false,
                    },
                    vec![Name::own(city)],
                )
            })
        })
        .collect();
    cities.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    cities
}

/// The initiatives' cities of one snapshot.
struct InitiativeCities {
    version: String,
    gazetteer: Gazetteer,
}

/// The gazetteer of the service: fixed places, their labels, and the initiatives' cities.
pub struct Places {
    fixed: Gazetteer,
    labels: Labels,
    /// Whether GeoNames' places were loaded (else only regions and initiatives' cities).
    pub has_geonames: bool,
    /// Changes when the fixed places do: part of the ETags of `/places` and the labels.
    pub version: String,
    /// The populated places as demand points of the coverage by people.
    pub demand: crate::regions::people::Demand,
    cities: ArcSwap<InitiativeCities>,
    refreshing: AtomicBool,
}

pub type SharedPlaces = Arc<Places>;

impl Places {
    /// Loads GeoNames from the npm package under `web_dir` (see [`Places::build`]).
    pub fn load(web_dir: &Path, regions: &Regions, snapshot: &Snapshot) -> Places {
        Places::build(geonames::load(web_dir), regions, snapshot)
    }

    /// The gazetteer of GeoNames' places (without them, it logs why and goes on with the
    /// regions and the initiatives' cities), the regions' names and the snapshot's cities.
    pub fn build(
        geonames: Result<Vec<NamedPlace>, geonames::GeoNamesError>,
        regions: &Regions,
        snapshot: &Snapshot,
    ) -> Places {
        let started = std::time::Instant::now();
        let (mut entries, has_geonames) = match geonames {
            Ok(places) => (places, true),
            Err(e) => {
                tracing::warn!(error = %e, "GeoNames places unavailable; /places finds regions and initiatives' cities only, the map has no labels");
                (Vec::new(), false)
            }
        };
        let cities_in_regions = cities_in_regions(&entries, regions);
        entries.extend(region_places(regions));
        // A region ranks by its population, or else by half that of its cities (a region
        // named like its city is more often sought as the city).
        let weights = entries
            .iter()
            .map(|(p, _)| match (p.kind, p.population) {
                (_, Some(population)) => u64::from(population),
                (PlaceKind::Region, None) => {
                    cities_in_regions.get(&*p.id).copied().unwrap_or(0) / 2
                }
                (PlaceKind::City, None) => 0,
            })
            .collect();
        let (places, names): (Vec<Place>, Vec<Vec<Name>>) = entries.into_iter().unzip();
        let (labels, names) =
            rayon::join(|| Labels::new(&places), || NameIndex::new(names, weights));
        let fixed = Gazetteer { places, names };
        let demand = crate::regions::people::Demand::new(fixed.places(), regions);
        let cities = InitiativeCities {
            version: snapshot.version.clone(),
            gazetteer: Gazetteer::new(initiative_cities(snapshot, &fixed)),
        };
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for place in fixed.places() {
            hasher.update(place.id.as_bytes());
            hasher.update(place.name.as_bytes());
        }
        tracing::info!(
            places = fixed.places().len(),
            names = fixed.name_count(),
            initiative_cities = cities.gazetteer.places().len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "gazetteer ready"
        );
        Places {
            version: format!("{:016x}", hasher.digest()),
            fixed,
            labels,
            demand,
            has_geonames,
            cities: ArcSwap::from_pointee(cities),
            refreshing: AtomicBool::new(false),
        }
    }

    /// The best `limit` places for what a visitor typed: best match first, then the most
    /// populous; the fixed places and the initiatives' cities merged.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Match> {
        let cities = self.cities.load();
        let mut found: Vec<Match> = self
            .fixed
            .search(query, limit)
            .into_iter()
            .chain(cities.gazetteer.search(query, limit))
            .map(|m| Match {
                place: m.place.clone(),
                quality: m.quality,
                matched: m.matched.into(),
                weight: m.weight,
            })
            .collect();
        // Stable: between equals, the fixed places (found first) stay first.
        found.sort_by_key(|m| names::rank_key(m.quality, m.weight));
        found.truncate(limit);
        found
    }

    /// The places that do not change with the data.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.fixed
    }

    /// The labels of one map tile.
    pub fn labels(&self, tile: crate::tile::TileCoord) -> Vec<&Place> {
        self.labels
            .in_tile(tile)
            .into_iter()
            .map(|p| self.fixed.place(p))
            .collect()
    }

    /// Gathers the initiatives' cities again when `snapshot` is newer than those in use, on a
    /// blocking thread; searches meanwhile use the previous ones.
    pub fn follow(self: &Arc<Self>, snapshot: Arc<Snapshot>) {
        if self.cities.load().version == snapshot.version
            || self.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let places = self.clone();
        tokio::task::spawn_blocking(move || {
            let gazetteer = Gazetteer::new(initiative_cities(&snapshot, &places.fixed));
            places.cities.store(Arc::new(InitiativeCities {
                version: snapshot.version.clone(),
                gazetteer,
            }));
            places.refreshing.store(false, Ordering::Release);
        });
    }
}
