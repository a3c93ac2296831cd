//! Changing the data over HTTP: public submissions, and curators' moderation, edits
//! (OGC API – Features Part 4 style, with `If-Match`), audit log and deletions feed.

mod edits;
mod history;
mod submissions;

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::api::caching;
use crate::api::collection::GEOJSON;
use crate::api::idempotency;
use crate::api::items::{ITEMS_PATH, feature_document};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url};
use crate::curation::{self, Curation, Stamp};
use crate::model::Initiative;
use crate::store::StoredResponse;
pub use edits::{create, delete, patch, replace};
pub use history::{audit, deletions};
pub use submissions::{approve, reject, submission, submissions, submit, whoami};

/// Largest submission accepted; a real initiative's record is a few kilobytes.
pub const SUBMISSION_LIMIT: usize = 64 * 1024;
/// Largest record a curator may send.
pub const RECORD_LIMIT: usize = 256 * 1024;
/// Longest rejection reason kept.
const MAX_REASON_CHARS: usize = 2000;

fn store(state: &AppState) -> Result<&Arc<Curation>, ApiError> {
    state.curation.as_ref().ok_or(ApiError::ReadOnly)
}

/// The body, or 413 when it is over the route's limit, or 408 when it came too slowly.
fn body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let mut cause: Option<&dyn std::error::Error> = Some(&rejection);
        while let Some(error) = cause {
            if error.is::<tower_http::timeout::TimeoutError>() {
                return ApiError::BodyTimedOut;
            }
            cause = error.source();
        }
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::invalid("body", rejection.body_text())
        }
    })
}

/// A JSON body of at most `limit` bytes.
fn json_body(
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    expected: &'static str,
    limit: usize,
) -> Result<Bytes, ApiError> {
    require_json(headers, expected)?;
    body(raw, limit)
}

/// Accepts JSON (GeoJSON, merge patches) only, so that a form post from another site
/// cannot pass for an API call.
fn require_json(headers: &HeaderMap, expected: &'static str) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim();
    let json = essence.eq_ignore_ascii_case("application/json")
        || essence.eq_ignore_ascii_case("application/geo+json")
        || essence.eq_ignore_ascii_case("application/merge-patch+json");
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(given.to_string(), expected))
    }
}

/// The record sent, given a fresh id if it has none (the server names new records).
fn with_id(raw: &[u8]) -> Result<Value, ApiError> {
    let mut value: Value = serde_json::from_slice(raw).map_err(|e| {
        ApiError::InvalidRecord(vec![crate::dataset::FieldProblem::new(
            "body",
            format!("not valid JSON: {e}"),
        )])
    })?;
    if let Some(feature) = value.as_object_mut()
        && !feature.contains_key("id")
    {
        let name = feature
            .get("properties")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str);
        feature.insert("id".into(), Value::String(curation::new_id(name)));
    }
    Ok(value)
}

fn curator_stamp(id: Option<&str>) -> Stamp<'_> {
    Stamp {
        id,
        default_source: "skillsmap curators",
        now: jiff::Timestamp::now(),
    }
}

/// The changed initiative with its new ETag (and its address, when created), with the
/// regions the store derives for it (as the published snapshot will show them).
fn item_response(
    base: &str,
    regions: &crate::regions::Regions,
    status: StatusCode,
    initiative: &Initiative,
) -> StoredResponse {
    let (_, nuts) = regions.place(initiative.location);
    let feature = crate::feature::Feature::new(initiative).with_nuts(&nuts);
    let mut headers = vec![(header::CONTENT_TYPE.to_string(), GEOJSON.to_string())];
    headers.push((
        header::ETAG.to_string(),
        caching::item_etag(initiative.as_ref()),
    ));
    if status == StatusCode::CREATED {
        headers.push((
            header::LOCATION.to_string(),
            format!("{base}{ITEMS_PATH}/{}", initiative.id),
        ));
    }
    StoredResponse {
        status: status.as_u16(),
        headers,
        body: feature_document(feature, &initiative.id, base),
    }
}

/// [`item_response`] for this request.
fn item_answer(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    initiative: &Initiative,
) -> StoredResponse {
    let regions = state.snapshot.load().regions.clone();
    item_response(&base_url(state, headers), &regions, status, initiative)
}

/// Curator-only answers must never be stored by shared caches.
fn private_stored(value: &impl Serialize) -> StoredResponse {
    StoredResponse {
        status: StatusCode::OK.as_u16(),
        headers: vec![
            (header::CONTENT_TYPE.to_string(), "application/json".into()),
            (header::CACHE_CONTROL.to_string(), "no-store".into()),
        ],
        body: serde_json::to_vec(value).unwrap_or_default(),
    }
}

fn private_json(value: &impl Serialize) -> Response {
    idempotency::respond(&private_stored(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_bodies_are_accepted() {
        let with = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, t.parse().unwrap());
            require_json(&h, "application/json")
        };
        assert!(with("application/geo+json; charset=utf-8").is_ok());
        assert!(with("Application/JSON").is_ok());
        assert!(with("text/plain").is_err());
        assert!(with("application/x-www-form-urlencoded").is_err());
        assert!(require_json(&HeaderMap::new(), "application/json").is_err());
    }
}
