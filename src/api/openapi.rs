//! The OpenAPI 3.0 document at `/api`, generated from the handlers' annotations and the
//! parameter declarations below.

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::{IntoParams, OpenApi};

use crate::api::params::QueryParams;
use crate::api::problem::ApiError;

/// The filters every query endpoint takes; values are comma-separated, any of them matches.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParams {
    /// ISO 3166-1 alpha-2 codes, e.g. `DE,AT` (Greece is `GR`).
    country: Option<String>,
    /// Skill areas, e.g. `cybersecurity,data_ai` (see `/vocabularies`).
    skill_area: Option<String>,
    /// Target groups, e.g. `smes,job_seekers`.
    target_group: Option<String>,
    /// Kinds, e.g. `hub,training`.
    kind: Option<String>,
    /// Free text over name, organisation, city and description; case- and accent-insensitive,
    /// every word must occur.
    q: Option<String>,
    /// `updated_at` within an instant, a date, or an interval `start/end` (`..` open).
    datetime: Option<String>,
    /// NUTS 2021 codes at any level, e.g. `DE21,FR1`; a code matches the regions under it.
    nuts: Option<String>,
}

/// Paging and area of the items listing.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ItemsParams {
    /// `minLon,minLat,maxLon,maxLat` (WGS84); `minLon > maxLon` crosses the antimeridian.
    bbox: Option<String>,
    /// Page size, 1 to 10000 (default 100); for `f=csv` or `f=geojsonl`, all matches by default.
    #[param(minimum = 1)]
    limit: Option<u64>,
    /// How many matches to skip.
    offset: Option<u64>,
    /// `json` (GeoJSON, default), `csv` or `geojsonl`.
    f: Option<String>,
}

/// A point and how far around it to look.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NearParams {
    /// Latitude in degrees, -90 to 90.
    lat: f64,
    /// Longitude in degrees, -180 to 180.
    lon: f64,
    /// Radius in kilometres (great-circle); without it, the `limit` nearest.
    radius_km: Option<f64>,
    /// At most this many results, 1 to 10000 (default 100).
    limit: Option<u64>,
    /// `json` only.
    f: Option<String>,
}

/// What to look for in the gazetteer.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PlacesParams {
    /// The beginning of a place name, in any case, with or without accents, in its own
    /// spelling or script, an exonym or an ASCII form (`tart`, `Munchen`, `Lodz`); 1 to 100
    /// characters with at least one letter or digit.
    q: String,
    /// At most this many places, 1 to 50 (default 10).
    limit: Option<u64>,
    /// `json` only.
    f: Option<String>,
}

/// A page of a cluster's members.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LeavesParams {
    /// Page size, 1 to 10000 (default 100).
    limit: Option<u64>,
    /// How many members to skip.
    offset: Option<u64>,
}

/// An area for facet counts.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AreaParams {
    /// `minLon,minLat,maxLon,maxLat` (WGS84).
    bbox: Option<String>,
}

/// The grouping and gap distance of a coverage table.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CoverageParams {
    /// `country` (default), `nuts0`, `nuts1`, `nuts2` or `nuts3`.
    level: Option<String>,
    /// Distance in km beyond which a place counts as a gap (default 50, up to 1000).
    gap_km: Option<f64>,
    /// `json` (default) or `csv`.
    f: Option<String>,
}

/// The gap distance of a choropleth.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RegionsParams {
    /// Distance in km beyond which a place counts as a gap (default 50, up to 1000).
    gap_km: Option<f64>,
    /// `json` only.
    f: Option<String>,
}

/// The representation of a JSON resource.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FormatParams {
    /// `json` (and on the landing page, `html`).
    f: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "skillsmap",
        description = "European digital-skills initiatives as an OGC API - Features service, with clustered map tiles."
    ),
    paths(
        crate::api::ogc::landing,
        crate::api::ogc::conformance,
        crate::api::ogc::collections,
        crate::api::ogc::collection,
        crate::api::ogc::queryables,
        crate::api::items::list,
        crate::api::items::one,
        crate::api::near::near,
        crate::api::places::places,
        crate::api::places::labels,
        crate::api::tiles::tile,
        crate::api::tiles::children,
        crate::api::tiles::leaves,
        crate::api::site::facet_counts,
        crate::api::site::vocabularies,
        crate::api::curation::submit,
        crate::api::curation::submissions,
        crate::api::curation::submission,
        crate::api::curation::approve,
        crate::api::curation::reject,
        crate::api::curation::create,
        crate::api::curation::replace,
        crate::api::curation::patch,
        crate::api::curation::delete,
        crate::api::curation::audit,
        crate::api::curation::whoami,
        crate::api::curation::deletions,
        crate::api::coverage::coverage,
        crate::api::coverage::regions,
        api_document,
    ),
    modifiers(&CuratorToken)
)]
pub struct ApiDoc;

/// Declares the curators' bearer token scheme that the write endpoints require.
struct CuratorToken;

impl utoipa::Modify for CuratorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "curator",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of this service.
#[utoipa::path(get, path = "/api", responses((status = 200, description = "This OpenAPI 3.0 document", content_type = "application/vnd.oai.openapi+json;version=3.0")))]
pub async fn api_document(uri: axum::http::Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let mut response = Json(ApiDoc::openapi()).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"),
    );
    Ok(response)
}
