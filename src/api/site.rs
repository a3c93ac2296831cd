//! The front-end's own endpoints: page configuration (with where the base map is),
//! vocabularies, facet counts.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::AppState;
use crate::api::params::{FILTER_PARAMS, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{caching, negotiation};
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
    // The built-in outlines (drawn when no other base map is configured, and used for
    // countries' extents): each level's versioned URL and the zoom from which it is drawn.
    let (outlines, outlines_error) = match state.basemap.as_ref() {
        Ok(levels) => (
            json!(
                levels
                    .iter()
                    .map(|level| json!({ "url": state.site.url(&level.path), "min_zoom": level.min_zoom }))
                    .collect::<Vec<_>>()
            ),
            None,
        ),
        Err(reason) => (serde_json::Value::Null, Some(reason.clone())),
    };
    // Each loaded level's region outlines for the coverage view (figures come from
    // `/coverage`), at their versioned URLs.
    let region_outlines: serde_json::Map<String, serde_json::Value> = state
        .snapshot
        .load()
        .regions
        .layers()
        .map(|layer| {
            let url = state
                .site
                .url(&crate::api::coverage::outlines_path(layer.level));
            (layer.level.slug().to_string(), json!(url))
        })
        .collect();
    Ok(Json(json!({
        "outlines": outlines,
        "region_outlines": region_outlines,
        "outlines_error": outlines_error,
        "basemap_url": config.basemap_url,
        "basemap_pmtiles": config.basemap_pmtiles.as_ref().map(|_| PMTILES_PATH),
        "basemap_attribution": config.basemap_attribution,
        "labels": !detailed && state.places.has_geonames,
        "max_zoom": max_zoom,
    }))
    .into_response())
}

/// The vocabularies' labels in the visitor's language (`lang`, else `Accept-Language`).
pub async fn vocabularies(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["lang"]])?;
    let locale = negotiation::language(&params, &headers)?;
    let response = Json(Vocabularies::new(&state.translations, locale)).into_response();
    Ok(caching::in_language(response, locale.code()))
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
