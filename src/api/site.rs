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

pub async fn page_config(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    Ok(Json(json!({
        "basemap_url": state.config.basemap_url,
        "basemap_attribution": state.config.basemap_attribution,
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
