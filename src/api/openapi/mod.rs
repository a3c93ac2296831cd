//! The OpenAPI 3.0 document at `/api`: every operation with its parameters (types, enums,
//! patterns, limits), request bodies, each status it can answer with media types and
//! schemas, and links between operations.
//!
//! It is written out here rather than derived from the handlers: OGC API – Features asks for
//! OpenAPI 3.0 (utoipa 5 writes 3.1), and clients such as QGIS read the paging limits from
//! `components.parameters`, which derive macros do not produce. Tests keep it true: every
//! documented parameter is accepted and every other refused (`tests/ogc.rs`), the document
//! matches its committed snapshot (`tests/openapi.rs`), and schemathesis checks the live
//! server against it (`scripts/schemathesis`).

mod components;
mod paths;

use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api::caching;
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;

/// The media type of the document.
pub const MEDIA_TYPE: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "skillsmap",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "European digital-skills initiatives as an OGC API - Features service, with clustered map tiles, coverage by region, public submissions and curation. Every error is application/problem+json (RFC 9457); unknown query parameters are refused with 400.",
            "license": { "name": "MIT" },
        },
        "paths": paths::paths(),
        "components": {
            "schemas": components::schemas(),
            "parameters": components::parameters(),
            "responses": components::responses(),
            "securitySchemes": {
                "curator": { "type": "http", "scheme": "bearer", "description": "A curator's token (SKILLSMAP_CURATOR_TOKENS)" },
            },
        },
    })
}

/// `GET /api`.
pub async fn api_document(headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let bytes = serde_json::to_vec(&document()).unwrap_or_default();
    let etag = caching::etag(&[&bytes]);
    let mut response = caching::respond(&headers, &etag, "application/json", || bytes);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    Ok(response)
}
