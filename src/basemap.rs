//! The map's own base layer: Europe's country outlines at one level of detail per zoom range,
//! cut and simplified at start-up from npm's `world-atlas` (Natural Earth, public domain).
//!
//! The whole world's outlines decode to megabytes of JSON for a map of Europe; each level here
//! keeps only what lies in [`EUROPE`] and only the detail its zooms can show.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where `npm ci --prefix web` puts the country outlines (1:50m Natural Earth).
pub const COUNTRIES_TOPOJSON: &str = "node_modules/world-atlas/countries-50m.json";

/// The area kept, `[west, south, east, north]` in degrees: Europe with Iceland, the Azores
/// and the Canaries, and the neighbours in view around it at the map's widest zoom on a
/// phone (North Africa, the Middle East, Russia past the Urals).
pub const EUROPE: [f64; 4] = [-45.0, 10.0, 75.0, 84.0];

/// One level of detail: from which zoom it is shown, how far a simplified outline may stray
/// from the original, and to how many decimals coordinates are written.
#[derive(Clone, Copy, Debug)]
pub struct Level {
    pub min_zoom: u8,
    pub tolerance_degrees: f64,
    pub decimals: i32,
}

/// The levels, coarsest first. A degree is 8 px at zoom 3 and 45 px at zoom 5, so 0.05° is
/// under half a pixel below zoom 6; from zoom 6 the full 1:50m outline is kept.
pub const LEVELS: [Level; 2] = [
    Level {
        min_zoom: 0,
        tolerance_degrees: 0.05,
        decimals: 2,
    },
    Level {
        min_zoom: 6,
        tolerance_degrees: 0.0,
        decimals: 3,
    },
];

/// A level's outlines, ready to serve.
pub struct BasemapLevel {
    pub min_zoom: u8,
    /// A GeoJSON FeatureCollection, each feature with its `name`.
    pub geojson: Vec<u8>,
}

/// Where a level's outlines are, among the site's files.
#[derive(Clone, Debug)]
pub struct OutlineLevel {
    pub min_zoom: u8,
    /// The URL path, as [`level_path`] names it.
    pub path: String,
}

/// The URL path of the level at `index` of [`LEVELS`].
pub fn level_path(index: usize) -> String {
    format!("/basemap/europe-{index}.geojson")
}

/// Why the outlines are unavailable.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error("cannot read {path} (run `npm ci --prefix web`): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not TopoJSON with a \"countries\" object: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Reads the world-atlas TopoJSON under `web_dir` and returns Europe's outlines at each of
/// [`LEVELS`].
pub fn europe_levels(web_dir: &Path) -> Result<Vec<BasemapLevel>, BasemapError> {
    let path = web_dir.join(COUNTRIES_TOPOJSON);
    let text = std::fs::read_to_string(&path).map_err(|source| BasemapError::Read {
        path: path.clone(),
        source,
    })?;
    let countries = decode(&text).map_err(|reason| BasemapError::Invalid { path, reason })?;
    Ok(LEVELS
        .iter()
        .map(|level| BasemapLevel {
            min_zoom: level.min_zoom,
            geojson: outlines_at(&countries, level, EUROPE),
        })
        .collect())
}

/// The countries as a GeoJSON FeatureCollection (as JSON: topojson speaks an older `geojson`).
fn decode(text: &str) -> Result<Value, String> {
    let topology = match text
        .parse::<topojson::TopoJson>()
        .map_err(|e| e.to_string())?
    {
        topojson::TopoJson::Topology(topology) => topology,
        _ => return Err("the top level is not a Topology".into()),
    };
    let countries = topojson::to_geojson(&topology, "countries").map_err(|e| e.to_string())?;
    serde_json::from_str(&countries.to_string()).map_err(|e| e.to_string())
}

type Ring = Vec<[f64; 2]>;

/// The countries' outlines cut to `area`, simplified and rounded for `level`, as GeoJSON.
fn outlines_at(countries: &Value, level: &Level, area: [f64; 4]) -> Vec<u8> {
    let scale = 10f64.powi(level.decimals);
    let round = |v: f64| (v * scale).round() / scale;
    let mut features = Vec::new();
    for feature in items(&countries["features"]) {
        let geometry = &feature["geometry"];
        let polygons: &[Value] = match geometry["type"].as_str() {
            Some("Polygon") => std::slice::from_ref(&geometry["coordinates"]),
            Some("MultiPolygon") => items(&geometry["coordinates"]),
            _ => continue,
        };
        let mut kept = Vec::new();
        for rings in polygons {
            let mut out = Vec::new();
            for (i, ring) in items(rings).iter().enumerate() {
                let ring: Ring = items(ring)
                    .iter()
                    .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
                    .collect();
                let clipped = clip(&planar(ring), area);
                let simplified = simplify(&clipped, level.tolerance_degrees);
                let mut rounded: Ring = Vec::with_capacity(simplified.len());
                for [x, y] in simplified {
                    let point = [round(x), round(y)];
                    if rounded.last() != Some(&point) {
                        rounded.push(point);
                    }
                }
                if rounded.len() < 3 {
                    // An outer ring gone means the polygon is outside the area; a hole gone
                    // is too small to see.
                    if i == 0 {
                        break;
                    }
                    continue;
                }
                if rounded.first() != rounded.last() {
                    rounded.push(rounded[0]);
                }
                out.push(rounded);
            }
            if !out.is_empty() {
                kept.push(out);
            }
        }
        if kept.is_empty() {
            continue;
        }
        let name = feature["properties"]["name"].clone();
        features.push(serde_json::json!({
            "type": "Feature",
            "properties": { "name": name },
            "geometry": { "type": "MultiPolygon", "coordinates": kept },
        }));
    }
    serde_json::to_vec(&serde_json::json!({ "type": "FeatureCollection", "features": features }))
        .expect("outlines always serialise")
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

/// A ring that crosses the antimeridian (Russia's far east, Fiji) jumps from +180° to -180°;
/// its western part is moved east of 180°, so that it stays one ring on a flat map (and
/// outside Europe, instead of a band drawn across it).
fn planar(ring: Ring) -> Ring {
    let crosses = ring.windows(2).any(|w| (w[0][0] - w[1][0]).abs() > 180.0);
    if !crosses {
        return ring;
    }
    ring.into_iter()
        .map(|[x, y]| [if x < 0.0 { x + 360.0 } else { x }, y])
        .collect()
}

/// Sutherland–Hodgman: the part of `ring` inside the rectangle `[west, south, east, north]`.
/// A concave outline cut this way may run along the rectangle's edge, which lies outside
/// the part of the map anyone looks at.
fn clip(ring: &[[f64; 2]], [west, south, east, north]: [f64; 4]) -> Ring {
    // Each edge: which coordinate, the bound, and whether inside is below it.
    let edges = [
        (0, west, false),
        (0, east, true),
        (1, south, false),
        (1, north, true),
    ];
    let mut points: Ring = ring.to_vec();
    for (axis, bound, below) in edges {
        if points.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if below {
                p[axis] <= bound
            } else {
                p[axis] >= bound
            }
        };
        let crossing = |a: &[f64; 2], b: &[f64; 2]| {
            let t = (bound - a[axis]) / (b[axis] - a[axis]);
            let mut p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
            p[axis] = bound;
            p
        };
        let mut out = Vec::with_capacity(points.len());
        for (i, current) in points.iter().enumerate() {
            let previous = &points[(i + points.len() - 1) % points.len()];
            match (inside(previous), inside(current)) {
                (true, true) => out.push(*current),
                (true, false) => out.push(crossing(previous, current)),
                (false, true) => {
                    out.push(crossing(previous, current));
                    out.push(*current);
                }
                (false, false) => {}
            }
        }
        points = out;
    }
    points
}

/// Douglas–Peucker: the fewest of `ring`'s points that stay within `tolerance` of it.
fn simplify(ring: &[[f64; 2]], tolerance: f64) -> Ring {
    if tolerance <= 0.0 || ring.len() < 4 {
        return ring.to_vec();
    }
    let mut keep = vec![false; ring.len()];
    keep[0] = true;
    keep[ring.len() - 1] = true;
    let mut stack = vec![(0, ring.len() - 1)];
    while let Some((first, last)) = stack.pop() {
        let (mut farthest, mut distance) = (first, 0.0);
        for (i, point) in ring.iter().enumerate().take(last).skip(first + 1) {
            let d = segment_distance(point, &ring[first], &ring[last]);
            if d > distance {
                (farthest, distance) = (i, d);
            }
        }
        if distance > tolerance {
            keep[farthest] = true;
            stack.push((first, farthest));
            stack.push((farthest, last));
        }
    }
    ring.iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

fn segment_distance(p: &[f64; 2], a: &[f64; 2], b: &[f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length = dx * dx + dy * dy;
    let t = if length == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length).clamp(0.0, 1.0)
    };
    ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squares() -> Value {
        // Two squares sharing an edge, quantised, as world-atlas stores countries.
        let topology = r#"{"type":"Topology",
            "transform":{"scale":[1,1],"translate":[0,0]},
            "arcs":[[[1,0],[-1,0],[0,1],[1,0]],[[1,0],[0,1]],[[1,1],[1,0],[0,-1],[-1,0]]],
            "objects":{"countries":{"type":"GeometryCollection","geometries":[
                {"type":"Polygon","arcs":[[0,1]],"properties":{"name":"West"}},
                {"type":"Polygon","arcs":[[2,-2]],"properties":{"name":"East"}}]}}}"#;
        decode(topology).unwrap()
    }

    #[test]
    fn decodes_a_small_topology() {
        let countries = squares();
        assert_eq!(countries["features"].as_array().unwrap().len(), 2);
        let geojson: serde_json::Value = serde_json::from_slice(&outlines_at(
            &countries,
            &LEVELS[1],
            [-10.0, -10.0, 10.0, 10.0],
        ))
        .unwrap();
        let features = geojson["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        assert_eq!(features[0]["properties"]["name"], "West");
        assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
    }

    #[test]
    fn what_lies_outside_the_area_is_cut_off() {
        let countries = squares();
        // Only x in [0, 1.5]: West whole, East cut in half.
        let geojson: serde_json::Value =
            serde_json::from_slice(&outlines_at(&countries, &LEVELS[1], [0.0, 0.0, 1.5, 1.0]))
                .unwrap();
        let features = geojson["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        let east = features[1]["geometry"]["coordinates"][0][0]
            .as_array()
            .unwrap();
        assert!(
            east.iter().all(|p| p[0].as_f64().unwrap() <= 1.5),
            "{east:?}"
        );
        // Nothing of them in the area: no features at all.
        let none: serde_json::Value =
            serde_json::from_slice(&outlines_at(&countries, &LEVELS[1], [5.0, 5.0, 6.0, 6.0]))
                .unwrap();
        assert_eq!(none["features"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn a_ring_across_the_antimeridian_stays_out_of_europe() {
        let ring = vec![
            [170.0, 60.0],
            [-170.0, 60.0],
            [-170.0, 70.0],
            [170.0, 70.0],
            [170.0, 60.0],
        ];
        assert!(clip(&planar(ring), EUROPE).is_empty());
    }

    #[test]
    fn simplifying_drops_points_within_the_tolerance() {
        let line = vec![[0.0, 0.0], [1.0, 0.01], [2.0, 0.0], [2.0, 2.0], [0.0, 0.0]];
        assert_eq!(simplify(&line, 0.05).len(), 4);
        assert_eq!(simplify(&line, 0.0).len(), 5);
    }

    #[test]
    fn europe_is_much_lighter_than_the_world() {
        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let levels = europe_levels(&web).expect("world-atlas (npm ci --prefix web)");
        assert_eq!(levels.len(), LEVELS.len());
        let coarse: serde_json::Value = serde_json::from_slice(&levels[0].geojson).unwrap();
        let names: Vec<&str> = coarse["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["name"].as_str())
            .collect();
        for name in ["Germany", "Malta", "Iceland", "Cyprus"] {
            assert!(names.contains(&name), "{name} missing: {names:?}");
        }
        assert!(!names.contains(&"Brazil") && !names.contains(&"Japan"));
        assert!(
            levels[0].geojson.len() < 200_000,
            "{}",
            levels[0].geojson.len()
        );
        assert!(levels[0].geojson.len() < levels[1].geojson.len());
    }

    #[test]
    fn a_missing_package_says_how_to_install_it() {
        let e = europe_levels(Path::new("/nonexistent")).err().unwrap();
        assert!(e.to_string().contains("npm ci --prefix web"));
        assert!(decode("{}").is_err());
    }
}
