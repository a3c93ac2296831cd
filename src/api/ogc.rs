//! OGC API – Features resources: landing page (JSON or the map), conformance, collections, queryables.

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::collection::GEOJSON;
use crate::api::negotiation::{self, MediaTypes};
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching, check_format};
use crate::country::Country;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, Vocabulary};
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

/// The two representations of the landing page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Landing {
    Json,
    Html,
}

/// The landing page's representation: by `f`, or else by `Accept` (browsers name
/// `text/html`; generic clients such as OWSLib and curl send `*/*` or nothing, and get JSON).
fn landing_format(params: &QueryParams, headers: &HeaderMap) -> Result<Landing, ApiError> {
    match params.get("f")? {
        Some("json") => Ok(Landing::Json),
        Some("html") => Ok(Landing::Html),
        Some(other) => Err(ApiError::invalid(
            "f",
            format!("unsupported format \"{other}\" (expected json or html)"),
        )),
        None => negotiation::choose::<MediaTypes, _>(
            headers,
            &[(Landing::Json, JSON), (Landing::Html, "text/html")],
        ),
    }
}

/// A JSON document whose entity tag is the hash of its own bytes, serialised once.
fn json_response(headers: &HeaderMap, body: Value) -> Response {
    typed_json_response(headers, body, JSON)
}

fn typed_json_response(headers: &HeaderMap, body: Value, media_type: &'static str) -> Response {
    let bytes = body.to_string().into_bytes();
    let etag = caching::etag(&[&bytes]);
    caching::respond(headers, &etag, media_type, || bytes)
}

/// `/`: the landing page as JSON for API clients, the map for browsers.
pub async fn landing(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["f"]])?;
    if landing_format(&params, &headers)? == Landing::Html {
        let page = Uri::from_static("/index.html");
        return state.site.serve(&method, &page, &headers).await;
    }
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

pub async fn conformance(headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    check_format(&QueryParams::accepting(&uri, &[&["f"]])?)?;
    Ok(json_response(
        &headers,
        json!({ "conformsTo": CONFORMS_TO }),
    ))
}

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
            "status": {
                "type": "string",
                "enum": Status::ALL.iter().map(|t| Vocabulary::slug(*t)).chain(["all"]).collect::<Vec<_>>(),
                "default": "active",
                "description": "Closed initiatives are kept for history and shown only when asked for (`closed` or `all`)",
            },
            "location_precision": slugs(LocationPrecision::ALL.iter().map(|t| Vocabulary::slug(*t)).collect()),
            "q": { "type": "string", "description": "Free text over name, organisation, city and description" },
            "updated_at": { "type": "string", "format": "date-time" },
        },
        "additionalProperties": false,
    });
    Ok(typed_json_response(
        &headers,
        body,
        "application/schema+json",
    ))
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
            link(&format!("{here}/items?f=atom"), "items", crate::api::feed::ATOM, "The newest changes, as an Atom feed (any items query takes f=atom)"),
            link(&format!("{here}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "Queryable properties"),
            link(&format!("{here}/deletions"), "related", JSON, "Deleted initiatives (id and time), for pulling changes since a date"),
        ],
    })
}

fn link(href: &str, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}
