//! The HTTP API: the router, shared state, and concerns common to every endpoint.

pub mod assets;
pub mod auth;
pub mod caching;
pub mod collection;
pub mod conditions;
pub mod coverage;
pub mod curation;
pub mod export;
pub mod feed;
pub mod idempotency;
pub mod items;
pub mod limits;
pub mod near;
pub mod negotiation;
pub mod ogc;
pub mod openapi;
pub mod params;
pub mod places;
pub mod problem;
pub mod proxy;
pub mod selection;
pub mod shedding;
pub mod site;
pub mod suggest;
pub mod tiles;
pub mod vector_tiles;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;
use crate::pages;
use crate::snapshot::SharedSnapshot;
use params::QueryParams;
use problem::ApiError;

/// What every handler can reach: the current snapshot and the configuration.
#[derive(Clone)]
pub struct AppState {
    pub snapshot: SharedSnapshot,
    pub config: Arc<ServeConfig>,
    /// Where the base layer's country outlines are, by level of detail (among the site's
    /// files), or why they are missing.
    pub basemap: Arc<Result<Vec<crate::basemap::OutlineLevel>, String>>,
    /// The store and its publisher; `None` when serving a file read-only.
    pub curation: Option<Arc<crate::curation::Curation>>,
    pub curators: Arc<auth::Curators>,
    /// The store's condition as this replica last saw it, for `/healthz`.
    pub store_status: Arc<crate::follow::StoreStatus>,
    /// The pages and the files they load, the only files served.
    pub site: Arc<assets::SiteFiles>,
    /// The gazetteer: `/places` and the map's labels.
    pub places: crate::places::SharedPlaces,
    /// The interface's texts in each language, for the pages and the API's labels.
    pub translations: Arc<crate::translations::Translations>,
    /// Heavy answers, computed once per request and data version.
    pub heavy: shedding::HeavyAnswers,
    /// The idempotency keys of the writes this replica is answering now.
    pub in_flight: Arc<idempotency::InFlight>,
}

impl AppState {
    /// State for a read-only snapshot (no store, no curators), as tests and embedders need.
    pub fn read_only(snapshot: crate::snapshot::Snapshot, config: ServeConfig) -> Self {
        let places = Arc::new(crate::places::Places::load(
            &config.web_dir,
            &snapshot.regions,
            &snapshot,
        ));
        AppState {
            places,
            snapshot: Arc::new(arc_swap::ArcSwap::from_pointee(snapshot)),
            site: Arc::new(assets::SiteFiles::list(&config.web_dir)),
            config: Arc::new(config),
            basemap: Arc::new(Err("no base map".into())),
            curation: None,
            curators: Arc::new(auth::Curators::default()),
            store_status: Arc::default(),
            translations: Arc::new(crate::translations::Translations::load()),
            heavy: shedding::HeavyAnswers::default(),
            in_flight: Arc::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let pmtiles = state.config.basemap_pmtiles.clone();
    let basemap_origin = state.config.basemap_url.as_deref().and_then(origin_of);
    let timeout = state.config.request_timeout;
    let body_timeout = state.config.body_timeout;
    let budgets = Arc::new(shedding::Budgets::new(&state.config));
    let router = Router::new()
        .route("/", get(ogc::landing))
        .route("/conformance", get(ogc::conformance))
        .route("/api", get(openapi::api_document))
        .route("/collections", get(ogc::collections))
        .route("/collections/initiatives", get(ogc::collection))
        .route("/collections/initiatives/queryables", get(ogc::queryables))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/config.json", get(site::page_config))
        .route("/vocabularies", get(site::vocabularies))
        .route("/facets", get(site::facet_counts))
        .route(items::ITEMS_PATH, get(items::list).post(curation::create))
        .route(
            "/collections/initiatives/items/{id}",
            get(items::one)
                .put(curation::replace)
                .patch(curation::patch)
                .delete(curation::delete),
        )
        .route(
            "/collections/initiatives/deletions",
            get(curation::deletions),
        )
        .route(
            "/submissions",
            get(curation::submissions)
                .post(curation::submit)
                .layer(DefaultBodyLimit::max(curation::SUBMISSION_LIMIT))
                .layer(from_fn_with_state(
                    curation::SUBMISSION_LIMIT,
                    limits::declared_length,
                )),
        )
        .route("/submissions/{id}", get(curation::submission))
        .route("/submissions/{id}/approve", post(curation::approve))
        .route("/submissions/{id}/reject", post(curation::reject))
        .route("/audit", get(curation::audit))
        .route("/curator", get(curation::whoami))
        .route("/near", get(near::near))
        .route("/places", get(places::places))
        .route("/places/labels/{z}/{x}/{y}", get(places::labels))
        .route("/coverage", get(coverage::coverage))
        .route("/coverage/suggest", get(suggest::suggestions))
        .route("/regions/{level}", get(coverage::regions))
        .route("/tiles/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles.json", get(vector_tiles::tilejson))
        .route(
            "/collections/initiatives/tiles",
            get(vector_tiles::tilesets),
        )
        .route(
            "/collections/initiatives/tiles/WebMercatorQuad",
            get(vector_tiles::tileset),
        )
        .route(
            "/collections/initiatives/tiles/WebMercatorQuad/{tile_matrix}/{tile_row}/{tile_col}",
            get(vector_tiles::ogc_tile),
        )
        .route("/tileMatrixSets", get(vector_tiles::tile_matrix_sets))
        .route(
            "/tileMatrixSets/WebMercatorQuad",
            get(vector_tiles::web_mercator_quad),
        )
        .route("/clusters/{id}/children", get(tiles::children))
        .route("/clusters/{id}/leaves", get(tiles::leaves))
        .route(pages::list::LIST_PATH, get(pages::list::page))
        .route("/initiatives/{id}", get(pages::initiative::page))
        .route("/sitemap.xml", get(pages::sitemap::sitemap))
        .route("/robots.txt", get(pages::sitemap::robots));
    // The operator's vector base map: one file, read in ranges by the page (tower-http's
    // ServeFile answers Range with 206); not compressed, so that ranges stay byte ranges.
    let router = match pmtiles {
        Some(path) => router.route_service(
            site::PMTILES_PATH,
            tower_http::services::ServeFile::new(path),
        ),
        None => router,
    };
    router
        .fallback(site_file)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy::resolve,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(curation::RECORD_LIMIT))
        .layer(from_fn_with_state(
            curation::RECORD_LIMIT,
            limits::declared_length,
        ))
        .layer(from_fn_with_state(budgets, shedding::shed))
        .layer(from_fn_with_state(timeout, limits::deadline))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal.into_response()
        }))
        .layer(from_fn(problem::every_error_is_a_problem))
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(NotPartial)))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
                .expose_headers([header::ETAG, header::LAST_MODIFIED]),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(basemap_origin.as_deref()),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(TraceLayer::new_for_http())
}

/// Why the store cannot take writes now: unreachable, or refusing them (full, read-only).
fn store_problem(state: &AppState) -> Option<String> {
    state.store_status.problem().or_else(|| {
        state
            .curation
            .as_ref()
            .and_then(|curation| curation.write_trouble())
    })
}

/// `/healthz`: `ok`, or `degraded` with the reason while the store cannot be reached or
/// takes no writes (reads go on from the last snapshot; writes answer 503 or 507).
async fn health(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let snapshot = state.snapshot.load();
    let problem = store_problem(&state);
    let mut body = serde_json::json!({
        "status": if problem.is_some() { "degraded" } else { "ok" },
        "initiatives": snapshot.len(),
        "version": snapshot.version,
        "revision": snapshot.revision,
    });
    if let Some(problem) = problem {
        body["store"] = serde_json::Value::String(problem);
    }
    Ok(uncached(axum::Json(body).into_response()))
}

/// Seconds a client is asked to wait while the service loads its data.
const LOADING_RETRY_AFTER: u64 = 2;

/// The answer to every request while the data loads: `/healthz` says `loading`, every other
/// path is a problem; both 503 with `Retry-After`.
pub fn loading(uri: &Uri) -> Response {
    if uri.path() != "/healthz" {
        return ApiError::Loading(LOADING_RETRY_AFTER).into_response();
    }
    let body = axum::Json(serde_json::json!({ "status": "loading" }));
    let mut response = uncached((StatusCode::SERVICE_UNAVAILABLE, body).into_response());
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(LOADING_RETRY_AFTER));
    response
}

/// `/readyz`, for load balancers: 200 whenever this replica can answer reads, which it can
/// from its snapshot even while the store is down (taking every replica out of the balancer
/// then would turn a write outage into a full one).
async fn ready(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let snapshot = state.snapshot.load();
    Ok(uncached(
        axum::Json(serde_json::json!({
            "ready": true,
            "version": snapshot.version,
            "revision": snapshot.revision,
            "writable": state.curation.is_some() && store_problem(&state).is_none(),
        }))
        .into_response(),
    ))
}

fn uncached(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Every path without a route of its own: one of the site's files, or 404.
async fn site_file(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.site.serve(&method, &uri, &headers).await
}

/// Compression would turn a byte range (206) into other bytes: ranges are sent as they are.
#[derive(Clone, Copy)]
struct NotPartial;

impl Predicate for NotPartial {
    fn should_compress<B: axum::body::HttpBody>(&self, response: &axum::http::Response<B>) -> bool {
        response.status() != StatusCode::PARTIAL_CONTENT
            && !response.headers().contains_key(header::CONTENT_RANGE)
    }
}

/// Only this origin's scripts, styles, data and frames; images also from the optional
/// raster base map's origin.
fn content_security_policy(basemap_origin: Option<&str>) -> HeaderValue {
    let images = basemap_origin.map_or("'self' data:".to_string(), |o| format!("'self' data: {o}"));
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// `scheme://host[:port]` of a URL template such as `https://tile.example.org/{z}/{x}/{y}.png`.
fn origin_of(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    let host = rest.split('/').next()?;
    // Leaflet's `{s}` subdomain placeholder becomes a CSP wildcard.
    let host = host
        .strip_prefix("{s}.")
        .map_or(host.to_string(), |rest| format!("*.{rest}"));
    let safe = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]*".contains(&b));
    (matches!(scheme, "http" | "https") && !host.is_empty() && safe)
        .then(|| format!("{scheme}://{host}"))
}

/// The absolute URL prefix for links: the configured public URL, or the host (and scheme) a
/// trusted proxy forwarded, or this request's host.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    // Forwarding headers reach here only from a trusted proxy (see `proxy`).
    let (proto, forwarded_host) = proxy::forwarded_origin(headers);
    let host = forwarded_host
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{}://{host}", proto.as_deref().unwrap_or("http"))
}

/// The preamble of a JSON metadata resource: no parameter but `f`, which may only ask for
/// JSON; gives the base URL its links start with.
pub fn metadata_request(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, ApiError> {
    check_format(&QueryParams::accepting(uri, &[&["f"]])?)?;
    Ok(base_url(state, headers))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_map_origins_for_the_content_security_policy() {
        let origin = |t: &str| origin_of(t);
        assert_eq!(
            origin("https://tile.example.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://tile.example.org")
        );
        assert_eq!(
            origin("https://{s}.tile.example.org:8443/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.example.org:8443")
        );
        for bad in [
            "javascript:alert(1)",
            "https://evil.org; script-src *",
            "ftp://x.org/{z}",
            "tiles/{z}/{x}/{y}.png",
        ] {
            assert_eq!(origin(bad), None, "{bad}");
        }
        let csp = content_security_policy(Some("https://tile.example.org"));
        assert!(
            csp.to_str()
                .unwrap()
                .contains("img-src 'self' data: https://tile.example.org;")
        );
    }
}
