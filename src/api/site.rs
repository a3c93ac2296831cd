//! The front-end's own endpoints: page configuration, vocabularies, facet counts, base map.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::AppState;
use crate::api::caching;
use crate::api::params::{FILTER_PARAMS, QueryParams};
use crate::api::problem::ApiError;
use crate::facets::{self, Vocabularies};

/// Where the page's vector base map is served when `--basemap-pmtiles` is given.
pub const PMTILES_PATH: &str = "/basemap/tiles.pmtiles";

/// Deepest zoom of the map over the built-in base map: its place labels go no further, and
/// below it there is nothing more to show.
pub const BUILTIN_MAX_ZOOM: u8 = crate::places::labels::MAX_LABEL_ZOOM;
/// Deepest zoom over a detailed base map (raster tiles or PMTiles).
const DETAILED_MAX_ZOOM: u8 = 18;

pub async fn page_config(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let config = &state.config;
    let detailed = config.basemap_url.is_some() || config.basemap_pmtiles.is_some();
    // The map stops where clusters stop, so that a cluster's members can always be listed.
    let base_zoom = if detailed {
        DETAILED_MAX_ZOOM
    } else {
        BUILTIN_MAX_ZOOM
    };
    let max_zoom = base_zoom.min(config.clustering.cluster_max_zoom.max(1));
    Ok(Json(json!({
        "basemap_url": config.basemap_url,
        "basemap_pmtiles": config.basemap_pmtiles.as_ref().map(|_| PMTILES_PATH),
        "basemap_attribution": config.basemap_attribution,
        "labels": !detailed && state.places.has_geonames,
        "max_zoom": max_zoom,
    }))
    .into_response())
}

pub async fn vocabularies(uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    Ok(Json(Vocabularies::new()).into_response())
}

pub async fn facet_counts(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["bbox"], FILTER_PARAMS])?;
    let bbox = params.bbox()?;
    let filter = params.filter()?;
    let snapshot = state.snapshot.load_full();
    let etag = caching::etag(&[snapshot.version.as_bytes(), uri.to_string().as_bytes()]);
    Ok(caching::respond(
        &headers,
        &etag,
        "application/json",
        || {
            let counts = facets::count(&snapshot, bbox.as_ref(), &filter);
            serde_json::to_vec(&counts).expect("facet counts always serialise")
        },
    ))
}

pub async fn basemap(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    match state.basemap.as_ref() {
        Ok(body) => {
            let etag = caching::etag(&[body]);
            Ok(caching::respond(
                &headers,
                &etag,
                "application/geo+json",
                || body.clone(),
            ))
        }
        Err(reason) => Err(ApiError::Unavailable(reason.clone())),
    }
}
