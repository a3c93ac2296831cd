//! Vector tiles: `/tiles/{z}/{x}/{y}.mvt` (Mapbox Vector Tiles 2.1, the same clusters and
//! counts as the GeoJSON tiles), `/tiles.json` (TileJSON 3.0) and OGC API – Tiles core
//! (`/collections/initiatives/tiles`, the `WebMercatorQuad` tile matrix set).

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::caching;
use crate::api::params::{FILTER_PARAMS, PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, check_format, metadata_request, tiles};
use crate::cluster::TileItem;
use crate::filter::Filter;
use crate::model::{SkillArea, TermSet, Vocabulary};
use crate::mvt::{EXTENT, Property, TileWriter};
use crate::snapshot::Snapshot;
use crate::tile::{MAX_TILE_ZOOM, TileCoord, mercator_x, mercator_y};

pub const MVT: &str = "application/vnd.mapbox-vector-tile";
pub const LAYER: &str = "initiatives";
const WEB_MERCATOR_QUAD: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";

/// The body of a vector tile (benchmarks time it).
pub fn tile_mvt(snapshot: &Snapshot, coord: TileCoord, filter: &Filter) -> Vec<u8> {
    let items = snapshot.tile(coord, filter);
    let scale = f64::from(1u32 << coord.z);
    // Tile-local units; every item lies inside its tile, so within 0..=EXTENT.
    let local = |lon: f64, lat: f64| {
        let x = (mercator_x(lon) * scale - f64::from(coord.x)) * f64::from(EXTENT);
        let y = (mercator_y(lat) * scale - f64::from(coord.y)) * f64::from(EXTENT);
        let clamp = |v: f64| (v.round() as i64).clamp(0, i64::from(EXTENT));
        (clamp(x), clamp(y))
    };
    let mut tile = TileWriter::new(LAYER, items.len());
    for item in &items {
        match item {
            TileItem::Cluster(c) => {
                let (x, y) = local(c.lon, c.lat);
                // MVT values are flat: one count per skill area, as `skill_areas.{slug}`
                // (on the stack: there are at most eight).
                let mut properties = [("cluster", Property::Bool(true)); 4 + SkillArea::ALL.len()];
                properties[1] = ("cluster_id", Property::Text(&c.id));
                properties[2] = ("point_count", Property::Uint(u64::from(c.count)));
                properties[3] = (
                    "expansion_zoom",
                    Property::Uint(u64::from(c.expansion_zoom)),
                );
                for (slot, (area, n)) in properties[4..].iter_mut().zip(&c.skill_areas) {
                    *slot = (skill_area_key(*area), Property::Uint(u64::from(*n)));
                }
                let properties = &properties[..4 + c.skill_areas.len()];
                tile.point(x, y, properties);
            }
            TileItem::Initiative(slot) => {
                let i = snapshot.get(*slot);
                let (x, y) = local(i.location.lon, i.location.lat);
                tile.point(
                    x,
                    y,
                    &[
                        ("cluster", Property::Bool(false)),
                        ("point_count", Property::Uint(1)),
                        ("id", Property::Text(i.id)),
                        ("name", Property::Text(i.name)),
                        ("organisation", Property::Text(i.organisation)),
                        ("city", Property::Text(i.city)),
                        ("country", Property::Text(i.country.code())),
                        ("kind", Property::Text(i.kind.slug())),
                        (
                            "skill_areas",
                            Property::Text(joined(&SKILL_AREA_SETS, i.skill_areas)),
                        ),
                        (
                            "target_groups",
                            Property::Text(joined(&TARGET_GROUP_SETS, i.target_groups)),
                        ),
                        ("status", Property::Text(i.status.slug())),
                    ],
                );
            }
        }
    }
    tile.finish()
}

/// Every skill-area set and every target-group set, its slugs joined by commas (MVT values
/// cannot be lists), indexed by the set's bits: joined once, then borrowed, so a tile's
/// features allocate nothing.
static SKILL_AREA_SETS: OnceLock<Vec<String>> = OnceLock::new();
static TARGET_GROUP_SETS: OnceLock<Vec<String>> = OnceLock::new();

/// `set`'s slugs joined by commas, from `table` (the static of `set`'s vocabulary).
fn joined<T: Vocabulary>(table: &'static OnceLock<Vec<String>>, set: TermSet<T>) -> &'static str {
    let table = table.get_or_init(|| {
        (0..1u32 << T::all().len())
            .map(|bits| {
                let slugs: Vec<&str> = TermSet::<T>::from_bits(bits).iter().map(T::slug).collect();
                slugs.join(",")
            })
            .collect()
    });
    &table[set.bits() as usize]
}

fn skill_area_key(area: crate::model::SkillArea) -> &'static str {
    // The keys are few and fixed: leaked once per distinct area would be wasteful, so
    // they are spelled out.
    use crate::model::SkillArea as S;
    match area {
        S::BasicDigitalSkills => "skill_areas.basic_digital_skills",
        S::DigitalBusiness => "skill_areas.digital_business",
        S::DataAi => "skill_areas.data_ai",
        S::Iot => "skill_areas.iot",
        S::Cybersecurity => "skill_areas.cybersecurity",
        S::Cloud => "skill_areas.cloud",
        S::SoftwareDevelopment => "skill_areas.software_development",
        S::AdvancedManufacturing => "skill_areas.advanced_manufacturing",
    }
}

/// The query string of the filters, to carry into tile URLs.
fn filter_query(params: &QueryParams) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params
        .pairs()
        .iter()
        .filter(|(n, _)| FILTER_PARAMS.contains(&n.as_str()))
    {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        query
    } else {
        format!("?{query}")
    }
}

fn json_response(headers: &HeaderMap, body: &Value) -> Response {
    caching::json_document(headers, body, "application/json")
}

/// The fields of the layer's features, for TileJSON's `vector_layers`.
fn layer_fields() -> Value {
    json!({
        "cluster": "Boolean: a cluster (true) or one initiative",
        "point_count": "Number: initiatives in the cluster (1 for an initiative)",
        "cluster_id": "String: the cluster's id (/clusters/{cluster_id}/leaves)",
        "expansion_zoom": "Number: the zoom at which the cluster breaks up",
        "id": "String: the initiative's id",
        "name": "String", "organisation": "String", "city": "String", "country": "String",
        "kind": "String", "status": "String",
        "skill_areas": "String: comma-separated skill areas (on clusters, skill_areas.{area} counts)",
        "target_groups": "String: comma-separated target groups",
    })
}

/// `GET /tiles.json`: TileJSON 3.0 for the vector tiles, the filters carried into `tiles`.
pub async fn tilejson(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[FILTER_PARAMS])?;
    params.filter()?;
    let base = base_url(&state, &headers);
    let snapshot = state.snapshot.load();
    let bounds = snapshot
        .extent()
        .map_or(json!([-180.0, -85.0511, 180.0, 85.0511]), |b| {
            json!([b.west, b.south, b.east, b.north])
        });
    let body = json!({
        "tilejson": "3.0.0",
        "name": "skillsmap initiatives",
        "description": "European digital-skills initiatives, clustered per zoom",
        "version": snapshot.version,
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{{z}}/{{x}}/{{y}}.mvt{}", filter_query(&params))],
        "minzoom": 0,
        "maxzoom": MAX_TILE_ZOOM,
        "bounds": bounds,
        "vector_layers": [{ "id": LAYER, "description": "Clusters and initiatives", "minzoom": 0, "maxzoom": MAX_TILE_ZOOM, "fields": layer_fields() }],
    });
    Ok(json_response(&headers, &body))
}

/// `GET /collections/initiatives/tiles`: the one tileset (OGC API – Tiles, tilesets list).
pub async fn tilesets(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let base = metadata_request(&state, &headers, &uri)?;
    let here = format!("{base}/collections/initiatives/tiles");
    let body = json!({
        "links": [{ "href": here, "rel": "self", "type": "application/json", "title": "Tilesets of the initiatives" }],
        "tilesets": [{
            "title": "Initiatives (vector tiles, WebMercatorQuad)",
            "dataType": "vector",
            "crs": EPSG_3857,
            "tileMatrixSetURI": WEB_MERCATOR_QUAD,
            "links": [
                { "href": format!("{here}/WebMercatorQuad"), "rel": "self", "type": "application/json", "title": "The tileset" },
                { "href": format!("{base}/tileMatrixSets/WebMercatorQuad"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json", "title": "WebMercatorQuad" },
            ],
        }],
    });
    Ok(json_response(&headers, &body))
}

/// `GET /collections/initiatives/tiles/WebMercatorQuad`: the tileset's metadata.
pub async fn tileset(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let base = metadata_request(&state, &headers, &uri)?;
    let here = format!("{base}/collections/initiatives/tiles/WebMercatorQuad");
    let body = json!({
        "title": "Initiatives (vector tiles, WebMercatorQuad)",
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "tileMatrixSetLimits": (0..=MAX_TILE_ZOOM).map(|z| {
            let last = (1u64 << z) - 1;
            json!({ "tileMatrix": z.to_string(), "minTileRow": 0, "maxTileRow": last, "minTileCol": 0, "maxTileCol": last })
        }).collect::<Vec<_>>(),
        "layers": [{ "id": LAYER, "dataType": "vector", "geometryDimension": 0, "minTileMatrix": "0", "maxTileMatrix": MAX_TILE_ZOOM.to_string() }],
        "links": [
            { "href": here, "rel": "self", "type": "application/json", "title": "This tileset" },
            { "href": format!("{here}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"), "rel": "item", "type": MVT, "templated": true, "title": "A tile (Mapbox Vector Tile)" },
            { "href": format!("{base}/tileMatrixSets/WebMercatorQuad"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json", "title": "WebMercatorQuad" },
            { "href": format!("{base}/tiles.json"), "rel": "alternate", "type": "application/json", "title": "TileJSON 3.0" },
        ],
    });
    Ok(json_response(&headers, &body))
}

/// `GET /collections/initiatives/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`.
pub async fn ogc_tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams((matrix, row, col)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let coord = tiles::parse_coord(
        ("tileMatrix", &matrix),
        ("tileCol", &col),
        ("tileRow", &row),
    )?;
    tiles::respond(&state, &headers, &uri, coord, tiles::Format::Mvt)
}

/// `GET /tileMatrixSets` and `/tileMatrixSets/WebMercatorQuad`.
pub async fn tile_matrix_sets(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let base = metadata_request(&state, &headers, &uri)?;
    let body = json!({
        "tileMatrixSets": [{
            "id": "WebMercatorQuad",
            "title": "Google Maps Compatible for the World",
            "uri": WEB_MERCATOR_QUAD,
            "links": [{ "href": format!("{base}/tileMatrixSets/WebMercatorQuad"), "rel": "self", "type": "application/json", "title": "WebMercatorQuad" }],
        }],
    });
    Ok(json_response(&headers, &body))
}

/// The definition of WebMercatorQuad (OGC 17-083r4, Annex D), zooms 0 to the deepest served.
pub async fn web_mercator_quad(headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    const HALF: f64 = 20_037_508.342_789_244;
    let matrices: Vec<Value> = (0..=MAX_TILE_ZOOM)
        .map(|z| {
            let n = 1u64 << z;
            let cell = 2.0 * HALF / (256.0 * n as f64);
            json!({
                "id": z.to_string(),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF, HALF],
                "matrixWidth": n, "matrixHeight": n,
                "tileWidth": 256, "tileHeight": 256,
            })
        })
        .collect();
    let body = json!({
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": WEB_MERCATOR_QUAD,
        "crs": EPSG_3857,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    });
    Ok(json_response(&headers, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use crate::model::{SkillArea, TargetGroup};
    use crate::mvt::decode::{self, Value};
    use crate::tile::tile_of;
    use serde_json::Value as Json;

    /// Each vector tile holds the GeoJSON tile's features in the same order, with the same
    /// properties (term lists joined, cluster skill-area counts flattened).
    #[test]
    fn vector_tiles_carry_the_geojson_tiles_properties() {
        let areas = [SkillArea::Cloud, SkillArea::DataAi, SkillArea::Iot];
        let initiatives = (0..300)
            .map(|i| {
                let spread = f64::from(i) * 0.013;
                let mut it = initiative(&format!("v{i:03}"), 2.0 + spread, 48.0 + spread / 2.0);
                it.skill_areas = areas[..1 + i as usize % 3].iter().copied().collect();
                it.target_groups = [TargetGroup::Smes, TargetGroup::Educators]
                    .into_iter()
                    .take(1 + i as usize % 2)
                    .collect();
                it
            })
            .collect();
        let snapshot = Snapshot::of(initiatives);
        let (mut clusters, mut singles) = (0, 0);
        for z in [0, 4, 7, 9, 12, 16] {
            // The tiles of the 41st initiative, from the whole line down to itself alone.
            let coord = tile_of(2.0 + 40.0 * 0.013, 48.0 + 20.0 * 0.013, z);
            let filter = Filter::default();
            let geojson: Json =
                serde_json::from_slice(&tiles::tile_geojson(&snapshot, coord, &filter)).unwrap();
            let (layer, extent, features) = decode::tile(&tile_mvt(&snapshot, coord, &filter));
            assert_eq!((layer.as_str(), extent), (LAYER, u64::from(EXTENT)));
            let expected = geojson["features"].as_array().unwrap();
            assert_eq!(features.len(), expected.len(), "zoom {z}");
            for ((point, properties), feature) in features.iter().zip(expected) {
                assert!((0..=i64::from(EXTENT)).contains(&point.0), "{point:?}");
                assert!((0..=i64::from(EXTENT)).contains(&point.1), "{point:?}");
                let get = |key: &str| {
                    properties
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                };
                let text = |v: &Json| Some(Value::Text(v.as_str().unwrap().to_string()));
                let joined = |v: &Json| {
                    let slugs: Vec<&str> = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap())
                        .collect();
                    Some(Value::Text(slugs.join(",")))
                };
                let p = &feature["properties"];
                if p["cluster"] == true {
                    clusters += 1;
                    assert_eq!(get("cluster"), Some(Value::Bool(true)));
                    assert_eq!(get("cluster_id"), text(&p["cluster_id"]));
                    let count = p["point_count"].as_u64().unwrap();
                    assert_eq!(get("point_count"), Some(Value::Uint(count)));
                    let zoom = p["expansion_zoom"].as_u64().unwrap();
                    assert_eq!(get("expansion_zoom"), Some(Value::Uint(zoom)));
                    for (area, n) in p["skill_areas"].as_object().unwrap() {
                        let key = format!("skill_areas.{area}");
                        assert_eq!(get(&key), Some(Value::Uint(n.as_u64().unwrap())), "{key}");
                    }
                    assert_eq!(
                        properties.len(),
                        4 + p["skill_areas"].as_object().unwrap().len()
                    );
                } else {
                    singles += 1;
                    assert_eq!(get("cluster"), Some(Value::Bool(false)));
                    assert_eq!(get("point_count"), Some(Value::Uint(1)));
                    assert_eq!(get("id"), text(&feature["id"]));
                    for key in ["name", "organisation", "city", "country", "kind", "status"] {
                        assert_eq!(get(key), text(&p[key]), "{key}");
                    }
                    assert_eq!(get("skill_areas"), joined(&p["skill_areas"]));
                    assert_eq!(get("target_groups"), joined(&p["target_groups"]));
                }
            }
        }
        assert!(
            clusters > 0 && singles > 0,
            "{clusters} clusters, {singles} initiatives"
        );
    }

    #[test]
    fn every_term_set_is_joined_in_vocabulary_order() {
        let set: TermSet<SkillArea> = [SkillArea::Iot, SkillArea::BasicDigitalSkills]
            .into_iter()
            .collect();
        assert_eq!(joined(&SKILL_AREA_SETS, set), "basic_digital_skills,iot");
        assert_eq!(joined(&SKILL_AREA_SETS, TermSet::<SkillArea>::EMPTY), "");
        let all: TermSet<TargetGroup> = TargetGroup::all().iter().copied().collect();
        assert_eq!(
            joined(&TARGET_GROUP_SETS, all).split(',').count(),
            TargetGroup::all().len()
        );
    }
}
