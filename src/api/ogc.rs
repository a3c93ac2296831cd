//! OGC API – Features resources: landing page (JSON or the map), conformance, collections, queryables.

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::collection::GEOJSON;
use crate::api::negotiation::{self, MediaTypes};
use crate::api::params::{CRS84, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching, check_format, metadata_request};

use crate::snapshot::Snapshot;

const JSON: &str = "application/json";
pub const COLLECTION_ID: &str = "initiatives";

/// The classes of OGC API – Features Part 1 this service implements.
const CONFORMS_TO: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-features-6/1.0/conf/properties-selection",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
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

fn json_response(headers: &HeaderMap, body: Value) -> Response {
    caching::json_document(headers, &body, JSON)
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
            link(&format!("{base}/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON, "Tile matrix sets"),
            link(&format!("{base}/tiles.json"), "describedby", JSON, "TileJSON 3.0 of the vector tiles"),
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
    let base = metadata_request(&state, &headers, &uri)?;
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
    let base = metadata_request(&state, &headers, &uri)?;
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
    let base = metadata_request(&state, &headers, &uri)?;
    let body = json!({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": format!("{base}/collections/{COLLECTION_ID}/queryables"),
        "type": "object",
        "title": "Digital-skills initiatives",
        "description": "The properties a CQL2 filter (filter=) may name: the features' own",
        "properties": crate::cql2::queryable_schemas(),
        "additionalProperties": false,
    });
    Ok(caching::json_document(
        &headers,
        &body,
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
            link(&format!("{here}/tiles"), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "Vector tiles (Mapbox Vector Tiles, WebMercatorQuad)"),
            link(&format!("{here}/deletions"), "related", JSON, "Deleted initiatives (id and time), for pulling changes since a date"),
        ],
    })
}

fn link(href: &str, rel: &str, media_type: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": media_type, "title": title })
}
