//! `/places`: places found by name as one types, and `/places/labels/{z}/{x}/{y}.geojson`,
//! the base map's place labels per tile.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::api::caching;
use crate::api::collection::GEOJSON;
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::api::tiles::{Format, tile_coord};
use crate::api::{AppState, check_format};
use crate::places::geonames::GEONAMES_ATTRIBUTION;
use crate::places::names::{MAX_RESULTS, search_key};
use crate::places::{Match, Place, PlaceKind};

const PLACES_PARAMS: &[&str] = &["q", "limit", "f"];
pub const DEFAULT_PLACES_LIMIT: usize = 10;
/// Longest query accepted, in characters (place names are shorter).
pub const MAX_PLACE_QUERY_CHARS: usize = 100;

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct PlaceProperties<'a> {
    name: &'a str,
    country: &'a str,
    kind: PlaceKind,
    population: Option<u32>,
    /// The spelling the query matched, when it is not the name shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    matched: Option<&'a str>,
}

#[derive(Serialize)]
struct PlaceFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bbox: Option<[f64; 4]>,
    geometry: Point,
    properties: PlaceProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlaceCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<PlaceFeature<'a>>,
    number_returned: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'static str>,
}

fn point(place: &Place) -> Point {
    // Five decimals: about a metre, as GeoNames gives them.
    let round = |v: f64| (v * 1e5).round() / 1e5;
    Point {
        kind: "Point",
        coordinates: [round(place.location.lon), round(place.location.lat)],
    }
}

fn place_feature(found: &Match) -> PlaceFeature<'_> {
    let place = &found.place;
    let differs = search_key(&found.matched) != search_key(&place.name);
    PlaceFeature {
        kind: "Feature",
        id: &place.id,
        bbox: place.bbox.map(|b| [b.west, b.south, b.east, b.north]),
        geometry: point(place),
        properties: PlaceProperties {
            name: &place.name,
            country: &place.country,
            kind: place.kind,
            population: place.population,
            matched: differs.then_some(&*found.matched),
        },
    }
}

/// The folded query and the limit, or why they are unusable.
fn places_query(params: &QueryParams) -> Result<(String, usize), ApiError> {
    let q = params
        .get("q")?
        .ok_or_else(|| ApiError::invalid("q", "is required: the beginning of a place name"))?;
    if q.chars().count() > MAX_PLACE_QUERY_CHARS {
        return Err(ApiError::invalid(
            "q",
            format!("longer than {MAX_PLACE_QUERY_CHARS} characters"),
        ));
    }
    if search_key(q).is_empty() {
        return Err(ApiError::invalid(
            "q",
            "has no letter or digit to search for",
        ));
    }
    let limit = params.count("limit", DEFAULT_PLACES_LIMIT, 1, MAX_RESULTS)?;
    Ok((q.to_string(), limit))
}

pub async fn places(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[PLACES_PARAMS])?;
    check_format(&params)?;
    let (q, limit) = places_query(&params)?;
    let snapshot = state.snapshot.load_full();
    let places = state.places.clone();
    let etag = caching::etag(&[
        places.version.as_bytes(),
        snapshot.version.as_bytes(),
        uri.to_string().as_bytes(),
    ]);
    places.follow(snapshot);
    Ok(caching::respond(&headers, &etag, GEOJSON, || {
        let found = places.search(&q, limit);
        let features: Vec<PlaceFeature> = found.iter().map(place_feature).collect();
        serde_json::to_vec(&PlaceCollection {
            kind: "FeatureCollection",
            number_returned: features.len(),
            features,
            attribution: places.has_geonames.then_some(GEONAMES_ATTRIBUTION),
        })
        .expect("places always serialise")
    }))
}

#[derive(Serialize)]
struct LabelProperties<'a> {
    name: &'a str,
    population: Option<u32>,
    capital: bool,
}

#[derive(Serialize)]
struct LabelFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Point,
    properties: LabelProperties<'a>,
}

#[derive(Serialize)]
struct LabelCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<LabelFeature<'a>>,
}

pub async fn labels(
    State(state): State<AppState>,
    Path((z, x, y)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let (tile, format) = tile_coord(&z, &x, &y)?;
    if format == Format::Mvt {
        return Err(ApiError::invalid(
            "y",
            format!("\"{y}\": label tiles are served as .geojson only"),
        ));
    }
    let places = state.places.clone();
    let etag = caching::etag(&[places.version.as_bytes(), uri.path().as_bytes()]);
    Ok(caching::respond(&headers, &etag, GEOJSON, || {
        let features = places
            .labels(tile)
            .into_iter()
            .map(|place| LabelFeature {
                kind: "Feature",
                id: &place.id,
                geometry: point(place),
                properties: LabelProperties {
                    name: &place.name,
                    population: place.population,
                    capital: place.capital,
                },
            })
            .collect();
        serde_json::to_vec(&LabelCollection {
            kind: "FeatureCollection",
            features,
        })
        .expect("labels always serialise")
    }))
}
