//! `/near`: initiatives around a place, nearest first, within a radius or the k nearest.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use crate::api::caching;
use crate::api::collection::{FeatureCollection, GEOJSON};
use crate::api::params::{DEFAULT_LIMIT, FILTER_PARAMS, MAX_LIMIT, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, check_format};
use crate::geodesy::max_distance_m;
use crate::model::Location;

const NEAR_PARAMS: &[&str] = &["lat", "lon", "radius_km", "limit", "f"];

/// A point and what to look for around it.
struct NearQuery {
    center: Location,
    radius_m: Option<f64>,
    limit: usize,
}

fn near_query(params: &QueryParams) -> Result<NearQuery, ApiError> {
    let lat = params.required_number("lat")?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::invalid(
            "lat",
            format!("{lat} is out of range [-90, 90]"),
        ));
    }
    let lon = params.required_number("lon")?;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::invalid(
            "lon",
            format!("{lon} is out of range [-180, 180]"),
        ));
    }
    let max_km = max_distance_m() / 1000.0;
    let radius_m = match params.number("radius_km")? {
        Some(km) if km < 0.0 => {
            return Err(ApiError::invalid("radius_km", format!("{km} is negative")));
        }
        Some(km) if km > max_km => {
            return Err(ApiError::invalid(
                "radius_km",
                format!("{km} is more than half the Earth's circumference ({max_km:.0} km)"),
            ));
        }
        Some(km) => Some(km * 1000.0),
        None => None,
    };
    let limit = params.count("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    Ok(NearQuery {
        center: Location { lon, lat },
        radius_m,
        limit,
    })
}

pub async fn near(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[NEAR_PARAMS, FILTER_PARAMS])?;
    check_format(&params)?;
    let query = near_query(&params)?;
    let filter = params.filter()?;
    let snapshot = state.snapshot.load_full();
    let base = base_url(&state, &headers);
    let etag = caching::query_etag(&snapshot.version, &base, &uri);
    Ok(caching::respond(&headers, &etag, GEOJSON, || {
        let (hits, matched) = match query.radius_m {
            Some(radius) => {
                let (hits, matched) =
                    snapshot.nearest_within(query.center, radius, query.limit, &filter);
                (hits, Some(matched))
            }
            None => (snapshot.nearest(query.center, query.limit, &filter), None),
        };
        let features = hits
            .iter()
            .map(|hit| snapshot.feature(hit.slot).with_distance(hit.distance_m))
            .collect();
        FeatureCollection::new(features, matched, Vec::new()).to_bytes()
    }))
}
