//! The front-end's own endpoints: page configuration, vocabularies, facet counts and static files.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::services::ServeDir;

use crate::api::AppState;
use crate::api::caching;
use crate::api::params::{FILTER_PARAMS, QueryParams};
use crate::api::problem::ApiError;
use crate::facets::{self, Vocabularies};

pub async fn page_config(State(state): State<AppState>) -> Response {
    Json(json!({
        "basemap_url": state.config.basemap_url,
        "basemap_attribution": state.config.basemap_attribution,
    }))
    .into_response()
}

#[utoipa::path(get, path = "/vocabularies", responses((status = 200, description = "The vocabularies with labels, and the countries", content_type = "application/json")))]
pub async fn vocabularies(uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    Ok(Json(Vocabularies::new()).into_response())
}

#[utoipa::path(get, path = "/facets", params(crate::api::openapi::AreaParams, crate::api::openapi::FilterParams), responses((status = 200, description = "Counts per term; each facet applies every filter but its own", content_type = "application/json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
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
) -> Result<Response, ApiError> {
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

/// Static files of the front-end; npm's Leaflet build under `/vendor/leaflet/`.
pub fn static_files(state: &AppState) -> (ServeDir, ServeDir) {
    let web = &state.config.web_dir;
    (
        ServeDir::new(web),
        ServeDir::new(web.join("node_modules/leaflet/dist")),
    )
}
