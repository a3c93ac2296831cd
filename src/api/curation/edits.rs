//! Curators' edits of initiatives (OGC API – Features Part 4 style): create, replace, patch
//! and delete, guarded by `If-Match` / `If-None-Match` / `If-Unmodified-Since`.

use super::{RECORD_LIMIT, curator_stamp, item_answer, json_body, store, with_id};
use crate::api::AppState;
use crate::api::auth::Curator;
use crate::api::caching;
use crate::api::conditions::{Current, Preconditions};
use crate::api::idempotency::{self, Begun};
use crate::api::limits::Deadline;
use crate::api::params::{PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::curation;
use crate::feature::canonical_json;
use crate::model::Initiative;
use crate::store::StoreError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;

/// `POST /collections/initiatives/items` (curators): adds an initiative.
pub async fn create(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    idempotency::requested_key(&headers)?;
    let raw = json_body(&headers, raw, "application/geo+json", RECORD_LIMIT)?;
    let pending = match idempotency::begin(&state, &headers, &uri, &curator, &raw).await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Fresh(pending) => pending,
    };
    let value = with_id(&raw)?;
    let initiative =
        curation::prepare_value(value, &curator_stamp(None)).map_err(ApiError::InvalidRecord)?;
    let guard = idempotency::guard(deadline, pending.as_ref())?;
    let answer = idempotency::record(
        &guard,
        item_answer(&state, &headers, StatusCode::CREATED, &initiative),
    );
    store(&state)?
        .write(move |store| Ok(((), store.create(&initiative, &curator, &guard)?)))
        .await?;
    Ok(idempotency::respond(&answer))
}

/// `PUT /collections/initiatives/items/{id}` (curators): replaces an initiative.
pub async fn replace(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let preconditions = Preconditions::from_headers(&headers)?;
    let raw = json_body(&headers, raw, "application/geo+json", RECORD_LIMIT)?;
    let initiative =
        curation::prepare(&raw, &curator_stamp(Some(&id))).map_err(ApiError::InvalidRecord)?;
    if preconditions.only_if_absent() {
        // `If-None-Match: *`: create under this id, and only if nothing lives there.
        let stored = initiative.clone();
        let guard = idempotency::guard(deadline, None)?;
        let created = store(&state)?
            .write(move |store| Ok(((), store.create(&stored, &curator, &guard)?)))
            .await;
        return match created {
            Ok(()) => Ok(idempotency::respond(&item_answer(
                &state,
                &headers,
                StatusCode::CREATED,
                &initiative,
            ))),
            Err(StoreError::AlreadyExists(id)) => Err(precondition_failed(&id, &preconditions)),
            Err(e) => Err(e.into()),
        };
    }
    change(
        &state,
        (preconditions, deadline),
        &headers,
        (curator, "replace"),
        id,
        move |_| Ok(Some(initiative)),
    )
    .await
}

/// `PATCH /collections/initiatives/items/{id}` (curators): a JSON Merge Patch (RFC 7396)
/// applied to the current record, which must still validate afterwards.
pub async fn patch(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let preconditions = Preconditions::from_headers(&headers)?;
    let raw = json_body(&headers, raw, "application/merge-patch+json", RECORD_LIMIT)?;
    let patch: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::invalid("body", format!("not a JSON merge patch: {e}")))?;
    if !patch.is_object() {
        return Err(ApiError::invalid("body", "a merge patch must be an object"));
    }
    let url_id = id.clone();
    change(
        &state,
        (preconditions, deadline),
        &headers,
        (curator, "patch"),
        id,
        move |current| {
            let mut value: Value = serde_json::from_str(&canonical_json(&current))
                .map_err(|e| StoreError::Corrupt(current.id.to_string(), e.to_string()))?;
            json_patch::merge(&mut value, &patch);
            curation::prepare_value(value, &curator_stamp(Some(&url_id)))
                .map(Some)
                .map_err(StoreError::Invalid)
        },
    )
    .await
}

/// `DELETE /collections/initiatives/items/{id}` (curators): retires it, leaving a tombstone.
pub async fn delete(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let preconditions = Preconditions::from_headers(&headers)?;
    change(
        &state,
        (preconditions, deadline),
        &headers,
        (curator, "delete"),
        id,
        |_| Ok(None),
    )
    .await
}

/// Applies `edit` to the current record if the request's preconditions hold for it, in
/// the same transaction; with none in the store, 412 if they needed one, else 404.
async fn change(
    state: &AppState,
    (preconditions, deadline): (Preconditions, Deadline),
    headers: &HeaderMap,
    (curator, action): (String, &'static str),
    id: String,
    edit: impl FnOnce(Initiative) -> Result<Option<Initiative>, StoreError> + Send + 'static,
) -> Result<Response, ApiError> {
    let allows_absent = preconditions.allow(None);
    let preconditions = Arc::new(preconditions);
    let checked = preconditions.clone();
    let guard = idempotency::guard(deadline, None)?;
    let result = store(state)?
        .write(move |store| {
            store.change(
                &id,
                &curator,
                action,
                |current| {
                    checked.allow(Some(Current {
                        etag: &caching::item_etag(current.as_ref()),
                        modified: current.updated_at,
                    }))
                },
                edit,
                &guard,
            )
        })
        .await;
    match result {
        Ok(Some(initiative)) => Ok(idempotency::respond(&item_answer(
            state,
            headers,
            StatusCode::OK,
            &initiative,
        ))),
        Ok(None) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(StoreError::NoSuchInitiative(id)) if !allows_absent => {
            Err(precondition_failed(&id, &preconditions))
        }
        Err(StoreError::PreconditionFailed(id)) => Err(precondition_failed(&id, &preconditions)),
        Err(e) => Err(e.into()),
    }
}

fn precondition_failed(id: &str, preconditions: &Preconditions) -> ApiError {
    ApiError::PreconditionFailed(format!(
        "the initiative \"{id}\" {}; nothing was changed",
        preconditions.why_not()
    ))
}
