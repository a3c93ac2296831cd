//! OGC API – Features resources: landing page (JSON or the map), conformance, collections, queryables.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::api::collection::GEOJSON;
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching, check_format};
use crate::country::Country;
use crate::model::{Kind, SkillArea, TargetGroup, Vocabulary};
use crate::snapshot::Snapshot;

const JSON: &str = "application/json";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const COLLECTION_ID: &str = "initiatives";

/// The classes of OGC API – Features Part 1 this service implements.
const CONFORMS_TO: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

/// True unless the client asks for the page (`f=html`, or an `Accept` preferring HTML).
fn wants_json(params: &QueryParams, headers: &HeaderMap) -> Result<bool, ApiError> {
    match params.get("f")? {
        Some("json") => return Ok(true),
        Some("html") => return Ok(false),
        Some(other) => {
            return Err(ApiError::invalid(
                "f",
                format!("unsupported format \"{other}\" (expected json or html)"),
            ));
        }
        None => {}
    }
    // Browsers name text/html explicitly; generic clients (OWSLib, curl) send */* or
    // nothing, and get JSON.
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |media: &str| accept.find(media);
    Ok(
        match (position("application/json"), position("text/html")) {
            (Some(json), Some(html)) => json < html,
            (None, Some(_)) => false,
            _ => true,
        },
    )
}

/// A JSON document whose entity tag is the hash of its own bytes, serialised once.
fn json_response(headers: &HeaderMap, body: Value) -> Response {
    let bytes = body.to_string().into_bytes();
    let etag = caching::etag(&[&bytes]);
    caching::respond(headers, &etag, JSON, || bytes)
}

/// `/`: the landing page as JSON for API clients, the map for browsers.
#[utoipa::path(get, path = "/", params(crate::api::openapi::FormatParams), responses((status = 200, description = "Landing page: JSON for API clients, the map for browsers", content_type = "application/json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
pub async fn landing(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    request: Request,
) -> Result<Response, ApiError> {
    // The page ignores parameters it does not know (campaign tags, old links); the JSON
    // landing page refuses them, as OGC API - Features asks.
    let params = QueryParams::parse(uri.query());
    if !wants_json(&params, &headers)? {
        let page = ServeFile::new(state.config.web_dir.join("index.html"));
        return Ok(page
            .oneshot(request)
            .await
            .map_err(|_| ApiError::Internal)?
            .into_response());
    }
    params.reject_unknown(&[&["f"]])?;
    let base = base_url(&state, &headers);
    let body = json!({
        "title": "skillsmap",
        "description": "European digital-skills initiatives: hubs, coalitions, competence centres, training and funding, as GeoJSON.",
        "links": [
            link(&format!("{base}/?f=json"), "self", JSON, "This document"),
            link(&format!("{base}/"), "alternate", "text/html", "The map"),
            link(&format!("{base}/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "The API definition (OpenAPI 3.0)"),
            link(&format!("{base}/conformance"), "conformance", JSON, "Conformance classes"),
            link(&format!("{base}/collections"), "data", JSON, "Collections"),
        ],
    });
    Ok(json_response(&headers, body))
}

#[utoipa::path(get, path = "/conformance", params(crate::api::openapi::FormatParams), responses((status = 200, description = "Conformance classes", content_type = "application/json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
pub async fn conformance(headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    Ok(json_response(
        &headers,
        json!({ "conformsTo": CONFORMS_TO }),
    ))
}

#[utoipa::path(get, path = "/collections", params(crate::api::openapi::FormatParams), responses((status = 200, description = "The collections", content_type = "application/json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    let base = base_url(&state, &headers);
    let snapshot = state.snapshot.load();
    let body = json!({
        "links": [link(&format!("{base}/collections"), "self", JSON, "Collections")],
        "collections": [collection_document(&base, &snapshot)],
    });
    Ok(json_response(&headers, body))
}

#[utoipa::path(get, path = "/collections/initiatives", params(crate::api::openapi::FormatParams), responses((status = 200, description = "The initiatives collection with its extent", content_type = "application/json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
pub async fn collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    let base = base_url(&state, &headers);
    let snapshot = state.snapshot.load();
    Ok(json_response(
        &headers,
        collection_document(&base, &snapshot),
    ))
}

/// The queryable properties as a JSON Schema (OGC API – Features Part 3 style).
#[utoipa::path(get, path = "/collections/initiatives/queryables", params(crate::api::openapi::FormatParams), responses((status = 200, description = "Queryable properties (JSON Schema)", content_type = "application/schema+json"), (status = 400, description = "A parameter is invalid or unknown", content_type = "application/problem+json")))]
pub async fn queryables(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    let base = base_url(&state, &headers);
    let slugs = |all: Vec<&'static str>| json!({ "type": "string", "enum": all });
    let body = json!({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": format!("{base}/collections/{COLLECTION_ID}/queryables"),
        "type": "object",
        "title": "Digital-skills initiatives",
        "properties": {
            "country": slugs(Country::all().map(|c| c.code()).collect()),
            "skill_area": slugs(SkillArea::ALL.iter().map(|t| Vocabulary::slug(*t)).collect()),
            "target_group": slugs(TargetGroup::ALL.iter().map(|t| Vocabulary::slug(*t)).collect()),
            "kind": slugs(Kind::ALL.iter().map(|t| Vocabulary::slug(*t)).collect()),
            "q": { "type": "string", "description": "Free text over name, organisation, city and description" },
            "updated_at": { "type": "string", "format": "date-time" },
        },
        "additionalProperties": false,
    });
    Ok(json_response(&headers, body))
}

fn collection_document(base: &str, snapshot: &Snapshot) -> Value {
    let bbox = snapshot
        .extent()
        .map_or(vec![-180.0, -90.0, 180.0, 90.0], |b| {
            vec![b.west, b.south, b.east, b.north]
        });
    let interval = json!([[
        snapshot.first_modified.map(|t| t.to_string()),
        snapshot.last_modified.map(|t| t.to_string()),
    ]]);
    let here = format!("{base}/collections/{COLLECTION_ID}");
    json!({
        "id": COLLECTION_ID,
        "title": "Digital-skills initiatives",
        "description": "Training, digital innovation hubs, coalitions, competence centres, funding, awareness and networks for digital skills in Europe.",
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {
            "spatial": { "bbox": [bbox], "crs": CRS84 },
            "temporal": { "interval": interval, "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" },
        },
        "links": [
            link(&here, "self", JSON, "This collection"),
            link(&format!("{here}/items"), "items", GEOJSON, "The initiatives"),
            link(&format!("{here}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "Queryable properties"),
            link(&format!("{here}/deletions"), "related", JSON, "Deleted initiatives (id and time), for pulling changes since a date"),
        ],
    })
}

fn link(href: &str, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}
