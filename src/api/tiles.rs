//! `/tiles/{z}/{x}/{y}.geojson` (and `.mvt`, see [`vector_tiles`]) and `/clusters/{id}/...`: clustered map tiles and cluster contents.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::api::caching;
use crate::api::collection::{FeatureCollection, GEOJSON, paging_links};
use crate::api::params::{FILTER_PARAMS, PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, vector_tiles};
use crate::cluster::{ClusterError, TileItem};
use crate::feature::TileFeature;
use crate::filter::Filter;
use crate::snapshot::Snapshot;
use crate::tile::TileCoord;

#[derive(Serialize)]
struct TileCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<TileFeature<'a>>,
}

fn tile_collection(snapshot: &Snapshot, items: &[TileItem]) -> Vec<u8> {
    let features = items
        .iter()
        .map(|item| match item {
            TileItem::Cluster(cluster) => TileFeature::cluster(cluster),
            TileItem::Initiative(slot) => TileFeature::initiative(snapshot.get(*slot)),
        })
        .collect();
    serde_json::to_vec(&TileCollection {
        kind: "FeatureCollection",
        features,
    })
    .expect("tiles always serialise")
}

/// The encodings of a tile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    GeoJson,
    Mvt,
}

/// A tile's coordinates, and its encoding by the row's suffix (`.geojson` or `.mvt`).
pub(crate) fn tile_coord(z: &str, x: &str, y_file: &str) -> Result<(TileCoord, Format), ApiError> {
    let (y, format) = match (y_file.strip_suffix(".geojson"), y_file.strip_suffix(".mvt")) {
        (Some(y), _) => (y, Format::GeoJson),
        (_, Some(y)) => (y, Format::Mvt),
        _ => {
            return Err(ApiError::invalid(
                "y",
                format!("\"{y_file}\" must be a row number followed by .geojson or .mvt"),
            ));
        }
    };
    let coord = parse_coord(("z", z), ("x", x), ("y", y))?;
    Ok((coord, format))
}

/// Tile coordinates from the texts of the parameters that name them (`z`, `x`, `y` here,
/// `tileMatrix`, `tileCol`, `tileRow` in OGC API – Tiles), each error naming its parameter.
pub(crate) fn parse_coord(
    (z_name, z): (&str, &str),
    (x_name, x): (&str, &str),
    (y_name, y): (&str, &str),
) -> Result<TileCoord, ApiError> {
    let number = |name: &str, text: &str| {
        text.parse::<u64>()
            .map_err(|_| ApiError::invalid(name, format!("\"{text}\" is not a whole number")))
    };
    let zoom = number(z_name, z)?;
    let zoom = u32::try_from(zoom)
        .map_err(|_| ApiError::invalid(z_name, format!("zoom {zoom} is out of range")))?;
    TileCoord::new(zoom, number(x_name, x)?, number(y_name, y)?).map_err(|(name, reason)| {
        let name = match name {
            "z" => z_name,
            "x" => x_name,
            _ => y_name,
        };
        ApiError::invalid(name, reason)
    })
}

pub async fn tile(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams((z, x, y)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (coord, format) = tile_coord(&z, &x, &y)?;
    respond(&state, &headers, &uri, coord, format)
}

/// A tile in either encoding: the filters checked, and the same ETag, 304 and compression.
pub(crate) fn respond(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    coord: TileCoord,
    format: Format,
) -> Result<Response, ApiError> {
    let filter = QueryParams::accepting(uri, &[FILTER_PARAMS])?.filter()?;
    let snapshot = state.snapshot.load_full();
    let etag = caching::etag(&[snapshot.version.as_bytes(), uri.to_string().as_bytes()]);
    Ok(match format {
        Format::GeoJson => caching::respond(headers, &etag, GEOJSON, || {
            tile_geojson(&snapshot, coord, &filter)
        }),
        Format::Mvt => caching::respond(headers, &etag, vector_tiles::MVT, || {
            vector_tiles::tile_mvt(&snapshot, coord, &filter)
        }),
    })
}

/// The body of a tile: what the handler does besides parsing and caching (benchmarks time it).
pub fn tile_geojson(snapshot: &Snapshot, coord: TileCoord, filter: &Filter) -> Vec<u8> {
    let items = snapshot.tile(coord, filter);
    tile_collection(snapshot, &items)
}

fn cluster_problem(e: ClusterError) -> ApiError {
    ApiError::NoSuchCluster(e.to_string())
}

pub async fn children(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[FILTER_PARAMS])?;
    let filter = params.filter()?;
    let snapshot = state.snapshot.load_full();
    let items = snapshot
        .cluster_children(&id, &filter)
        .map_err(cluster_problem)?;
    let etag = caching::etag(&[snapshot.version.as_bytes(), uri.to_string().as_bytes()]);
    Ok(caching::respond(&headers, &etag, GEOJSON, || {
        tile_collection(&snapshot, &items)
    }))
}

pub async fn leaves(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["limit", "offset"], FILTER_PARAMS])?;
    let filter = params.filter()?;
    let limit = params.limit()?;
    let offset = params.offset()?;
    let snapshot = state.snapshot.load_full();
    let (slots, total) = snapshot
        .cluster_leaves(&id, &filter, (offset, limit))
        .map_err(cluster_problem)?;
    let base = base_url(&state, &headers);
    let etag = caching::query_etag(&snapshot.version, &base, &uri);
    Ok(caching::respond(&headers, &etag, GEOJSON, || {
        let features = slots.iter().map(|s| snapshot.feature(*s)).collect();
        let path = format!("/clusters/{id}/leaves");
        let links = paging_links(&base, &path, params.pairs(), (offset, limit, total));
        FeatureCollection::new(features, Some(total), links).to_bytes()
    }))
}
