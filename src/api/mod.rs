//! The HTTP API: the router, shared state, and concerns common to every endpoint.

pub mod caching;
pub mod collection;
pub mod items;
pub mod near;
pub mod ogc;
pub mod params;
pub mod problem;
pub mod site;
pub mod tiles;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;
use crate::snapshot::SharedSnapshot;
use params::QueryParams;
use problem::ApiError;

/// What every handler can reach: the current snapshot and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub snapshot: SharedSnapshot,
    pub config: Arc<ServeConfig>,
    /// Country outlines for the base layer, or why they are missing.
    pub basemap: Arc<Result<Vec<u8>, String>>,
}

/// Longest time a request may take before the server answers 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    let (web, leaflet) = site::static_files(&state);
    let not_found = axum::handler::HandlerWithoutStateExt::into_service(no_route);
    Router::new()
        .route("/", get(ogc::landing))
        .route("/conformance", get(ogc::conformance))
        .route("/collections", get(ogc::collections))
        .route("/collections/initiatives", get(ogc::collection))
        .route("/collections/initiatives/queryables", get(ogc::queryables))
        .route("/healthz", get(health))
        .route("/config.json", get(site::page_config))
        .route("/vocabularies", get(site::vocabularies))
        .route("/facets", get(site::facet_counts))
        .route("/basemap/countries.geojson", get(site::basemap))
        .route(items::ITEMS_PATH, get(items::list))
        .route("/collections/initiatives/items/{id}", get(items::one))
        .route("/near", get(near::near))
        .route("/tiles/{z}/{x}/{y}", get(tiles::tile))
        .route("/clusters/{id}/children", get(tiles::children))
        .route("/clusters/{id}/leaves", get(tiles::leaves))
        .nest_service("/vendor/leaflet", leaflet.fallback(not_found.clone()))
        .fallback_service(web.fallback(not_found))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
                .expose_headers([header::ETAG, header::LAST_MODIFIED]),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal.into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let snapshot = state.snapshot.load();
    axum::Json(serde_json::json!({
        "status": "ok",
        "initiatives": snapshot.index.len(),
        "version": snapshot.version,
    }))
    .into_response()
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_string())
}

/// The absolute URL prefix for links: the configured public URL, or this request's host.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Only GeoJSON is offered here; `f` may ask for it by name.
pub fn check_format(params: &QueryParams) -> Result<(), ApiError> {
    match params.get("f")? {
        None | Some("json" | "geojson") => Ok(()),
        Some(other) => Err(ApiError::invalid(
            "f",
            format!("unsupported format \"{other}\" (expected json)"),
        )),
    }
}
