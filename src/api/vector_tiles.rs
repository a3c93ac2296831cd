//! Vector tiles: `/tiles/{z}/{x}/{y}.mvt` (Mapbox Vector Tiles 2.1, the same clusters and
//! counts as the GeoJSON tiles), `/tiles.json` (TileJSON 3.0) and OGC API – Tiles core
//! (`/collections/initiatives/tiles`, the `WebMercatorQuad` tile matrix set).

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
use crate::mvt::{EXTENT, PointFeature, Property, encode_tile};
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
    let text = |s: &str| Property::Text(s.to_owned());
    let features: Vec<PointFeature> = items
        .iter()
        .map(|item| match item {
            TileItem::Cluster(c) => {
                let (x, y) = local(c.lon, c.lat);
                let mut properties = vec![
                    ("cluster", Property::Bool(true)),
                    ("cluster_id", text(&c.id)),
                    ("point_count", Property::Uint(u64::from(c.count))),
                    (
                        "expansion_zoom",
                        Property::Uint(u64::from(c.expansion_zoom)),
                    ),
                ];
                // MVT values are flat: one count per skill area, as `skill_areas.{slug}`.
                properties.extend(
                    c.skill_areas
                        .iter()
                        .map(|(area, n)| (skill_area_key(*area), Property::Uint(u64::from(*n)))),
                );
                PointFeature { x, y, properties }
            }
            TileItem::Initiative(slot) => {
                let i = snapshot.get(*slot);
                let (x, y) = local(i.location.lon, i.location.lat);
                let joined = |slugs: Vec<&str>| Property::Text(slugs.join(","));
                PointFeature {
                    x,
                    y,
                    properties: vec![
                        ("cluster", Property::Bool(false)),
                        ("point_count", Property::Uint(1)),
                        ("id", text(i.id)),
                        ("name", text(i.name)),
                        ("organisation", text(i.organisation)),
                        ("city", text(i.city)),
                        ("country", text(i.country.code())),
                        ("kind", text(i.kind.slug())),
                        (
                            "skill_areas",
                            joined(i.skill_areas.iter().map(|t| t.slug()).collect()),
                        ),
                        (
                            "target_groups",
                            joined(i.target_groups.iter().map(|t| t.slug()).collect()),
                        ),
                        ("status", text(i.status.slug())),
                    ],
                }
            }
        })
        .collect();
    encode_tile(LAYER, &features)
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
