//! Country outlines for the map's own base layer, decoded from npm's `world-atlas` (Natural Earth).

use std::path::{Path, PathBuf};

/// Where `npm ci --prefix web` puts the country outlines (1:50m Natural Earth, public domain).
pub const COUNTRIES_TOPOJSON: &str = "node_modules/world-atlas/countries-50m.json";

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

/// Reads the world-atlas TopoJSON under `web_dir` and returns the countries as a GeoJSON
/// FeatureCollection (serialized), each feature with its `name`.
pub fn countries_geojson(web_dir: &Path) -> Result<Vec<u8>, BasemapError> {
    let path = web_dir.join(COUNTRIES_TOPOJSON);
    let text = std::fs::read_to_string(&path).map_err(|source| BasemapError::Read {
        path: path.clone(),
        source,
    })?;
    decode(&text).map_err(|reason| BasemapError::Invalid { path, reason })
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    let topology = match text
        .parse::<topojson::TopoJson>()
        .map_err(|e| e.to_string())?
    {
        topojson::TopoJson::Topology(topology) => topology,
        _ => return Err("the top level is not a Topology".into()),
    };
    let countries = topojson::to_geojson(&topology, "countries").map_err(|e| e.to_string())?;
    Ok(countries.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_small_topology() {
        // Two squares sharing an edge, quantised, as world-atlas stores countries.
        let topology = r#"{"type":"Topology",
            "transform":{"scale":[1,1],"translate":[0,0]},
            "arcs":[[[1,0],[-1,0],[0,1],[1,0]],[[1,0],[0,1]],[[1,1],[1,0],[0,-1],[-1,0]]],
            "objects":{"countries":{"type":"GeometryCollection","geometries":[
                {"type":"Polygon","arcs":[[0,1]],"properties":{"name":"West"}},
                {"type":"Polygon","arcs":[[2,-2]],"properties":{"name":"East"}}]}}}"#;
        let geojson: serde_json::Value =
            serde_json::from_slice(&decode(topology).unwrap()).unwrap();
        let features = geojson["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        assert_eq!(features[0]["properties"]["name"], "West");
        assert_eq!(features[0]["geometry"]["type"], "Polygon");
    }

    #[test]
    fn a_missing_package_says_how_to_install_it() {
        let e = countries_geojson(Path::new("/nonexistent")).unwrap_err();
        assert!(e.to_string().contains("npm ci --prefix web"));
        assert!(decode("{}").is_err());
    }
}
