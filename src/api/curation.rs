//! Changing the data over HTTP: public submissions, and curators' moderation, edits
//! (OGC API – Features Part 4 style, with `If-Match`), audit log and deletions feed.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::api::auth::Curator;
use crate::api::caching;
use crate::api::collection::GEOJSON;
use crate::api::conditions::{Current, Preconditions};
use crate::api::idempotency::{self, Begun};
use crate::api::items::{ITEMS_PATH, feature_document};
use crate::api::limits::Deadline;
use crate::api::params::{MAX_OFFSET, PathParams, QueryParams, parse_datetime};
use crate::api::problem::ApiError;
use crate::api::proxy::{ClientIp, rate_key};
use crate::api::{AppState, base_url};
use crate::curation::{self, Curation, Stamp};
use crate::feature::canonical_json;
use crate::model::Initiative;
use crate::store::{Quota, StoreError, StoredResponse, SubmissionStatus};

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

#[derive(Serialize)]
struct Accepted {
    id: String,
    status: SubmissionStatus,
    initiative_id: String,
    message: &'static str,
}

/// `POST /submissions`: anyone may propose an initiative; it waits for a curator.
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    Extension(deadline): Extension<Deadline>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let curation = store(&state)?;
    idempotency::requested_key(&headers)?;
    let raw = body(raw, SUBMISSION_LIMIT)?;
    let key = rate_key(address);
    let writer = format!("public {key}");
    let pending = match idempotency::begin(&state, &headers, &uri, &writer, &raw).await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Fresh(pending) => pending,
    };
    // Counted in the store, so that the limit holds across every replica.
    let quota = Quota {
        per_hour: state.config.submissions_per_hour,
        burst: state.config.submission_burst,
    };
    if let Err(wait) = curation.read(move |store| store.admit(&key, quota)).await? {
        return Err(ApiError::TooManyRequests(wait));
    }
    // After the rate limit, which counts every proposal that arrived whole, however bad.
    require_json(&headers, "application/geo+json")?;
    let value = with_id(&raw)?;
    let stamp = Stamp {
        id: None,
        default_source: "proposed through skillsmap",
        now: jiff::Timestamp::now(),
    };
    let initiative = curation::prepare_value(value, &stamp).map_err(ApiError::InvalidRecord)?;
    let submission_id = format!("s-{:016x}", rand::random::<u64>());
    let client = address.to_string();
    let stored = canonical_json(&initiative);
    let location = format!("{}/submissions/{submission_id}", base_url(&state, &headers));
    let body = serde_json::to_vec(&Accepted {
        id: submission_id.clone(),
        status: SubmissionStatus::Pending,
        initiative_id: initiative.id.to_string(),
        message: "Thank you: a curator will review the proposal before it appears on the map.",
    })
    .unwrap_or_default();
    let guard = idempotency::guard(deadline, pending.as_ref())?;
    let answer = idempotency::record(
        &guard,
        StoredResponse {
            status: StatusCode::ACCEPTED.as_u16(),
            headers: vec![
                (header::CONTENT_TYPE.to_string(), "application/json".into()),
                (header::LOCATION.to_string(), location),
            ],
            body,
        },
    );
    let id = submission_id.clone();
    curation
        .read(move |store| store.submit(&id, &stored, &client, &guard))
        .await?;
    tracing::info!(submission = %submission_id, %address, "submission received");
    Ok(idempotency::respond(&answer))
}

/// `GET /submissions?status=pending&limit=N` (curators).
pub async fn submissions(
    State(state): State<AppState>,
    Curator(_): Curator,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["status", "limit", "offset"]])?;
    let status = params
        .get("status")?
        .map(|s| {
            SubmissionStatus::parse(s).ok_or_else(|| {
                ApiError::invalid("status", "expected pending, approved or rejected")
            })
        })
        .transpose()?;
    let limit = params.limit()?;
    let offset = params.offset()?;
    let (list, total) = store(&state)?
        .read(move |store| {
            Ok((
                store.submissions(status, limit, offset)?,
                store.count_submissions(status)?,
            ))
        })
        .await?;
    Ok(private_json(
        &serde_json::json!({ "submissions": list, "numberMatched": total }),
    ))
}

/// `GET /curator` (curators): who the token belongs to, for pages to show.
pub async fn whoami(Curator(name): Curator, uri: Uri) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    Ok(private_json(&serde_json::json!({ "name": name })))
}

/// `GET /submissions/{id}` (curators).
pub async fn submission(
    State(state): State<AppState>,
    Curator(_): Curator,
    PathParams(id): PathParams<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let wanted = id.clone();
    let found = store(&state)?
        .read(move |store| store.submission(&wanted))
        .await?
        .ok_or(ApiError::NoSuchSubmission(id))?;
    Ok(private_json(&found))
}

/// `POST /submissions/{id}/approve` (curators): publishes it, with corrections if the body
/// holds a corrected Feature.
pub async fn approve(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    idempotency::requested_key(&headers)?;
    let raw = body(raw, RECORD_LIMIT)?;
    let correction = if raw.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        require_json(&headers, "application/geo+json")?;
        Some(raw.clone())
    };
    let pending = match idempotency::begin(&state, &headers, &uri, &curator, &raw).await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Fresh(pending) => pending,
    };
    let guard = idempotency::guard(deadline, pending.as_ref())?;
    let base = base_url(&state, &headers);
    let regions = state.snapshot.load().regions.clone();
    let answer = store(&state)?
        .write(move |store| {
            let answer = |initiative: &Initiative| {
                item_response(&base, &regions, StatusCode::CREATED, initiative)
            };
            let (initiative, revision) = store.approve(
                &id,
                &curator,
                |submitted| {
                    let submitted: Value = serde_json::from_str(submitted)
                        .map_err(|e| StoreError::Corrupt(id.clone(), e.to_string()))?;
                    let mut record = match &correction {
                        Some(raw) => serde_json::from_slice(raw).map_err(|e| {
                            StoreError::Invalid(vec![crate::dataset::FieldProblem::new(
                                "body",
                                format!("not valid JSON: {e}"),
                            )])
                        })?,
                        None => submitted.clone(),
                    };
                    // A correction keeps the proposal's id unless it names another.
                    if let (Some(fields), Some(proposed)) =
                        (record.as_object_mut(), submitted.get("id"))
                    {
                        fields.entry("id").or_insert_with(|| proposed.clone());
                    }
                    let initiative = curation::prepare_value(record, &curator_stamp(None))
                        .map_err(StoreError::Invalid)?;
                    // The answer depends on the record made here: recorded before COMMIT.
                    idempotency::record(&guard, answer(&initiative));
                    Ok(initiative)
                },
                &guard,
            )?;
            Ok((idempotency::record(&guard, answer(&initiative)), revision))
        })
        .await?;
    Ok(idempotency::respond(&answer))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rejection {
    #[serde(default)]
    reason: String,
}

/// `POST /submissions/{id}/reject` (curators), with an optional `{"reason": "..."}`.
pub async fn reject(
    State(state): State<AppState>,
    Curator(curator): Curator,
    Extension(deadline): Extension<Deadline>,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    uri: Uri,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    idempotency::requested_key(&headers)?;
    let raw = body(raw, RECORD_LIMIT)?;
    let rejection: Rejection = if raw.iter().all(u8::is_ascii_whitespace) {
        Rejection::default()
    } else {
        require_json(&headers, "application/json")?;
        serde_json::from_slice(&raw).map_err(|e| {
            ApiError::invalid("body", format!("expected {{\"reason\": \"...\"}}: {e}"))
        })?
    };
    if rejection.reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "reason",
            format!("longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    let pending = match idempotency::begin(&state, &headers, &uri, &curator, &raw).await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Fresh(pending) => pending,
    };
    let guard = idempotency::guard(deadline, pending.as_ref())?;
    let answer = idempotency::record(
        &guard,
        private_stored(&serde_json::json!({ "id": id, "status": SubmissionStatus::Rejected })),
    );
    store(&state)?
        .read(move |store| store.reject(&id, &curator, &rejection.reason, &guard))
        .await?;
    Ok(idempotency::respond(&answer))
}

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

#[derive(Serialize)]
struct AuditPage {
    entries: Vec<AuditView>,
    /// Pass as `after` to read on (oldest-first pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<i64>,
    /// Pass as `before` to read further back (newest-first pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

#[derive(Serialize)]
struct AuditView {
    #[serde(flatten)]
    entry: crate::store::AuditEntry,
    /// The fields whose values differ between `before` and `after`.
    changed: Vec<String>,
}

/// `GET /audit?after=SEQ&limit=N` (curators): every change, oldest first.
pub async fn audit(
    State(state): State<AppState>,
    Curator(_): Curator,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["after", "before", "limit"]])?;
    let limit = params.limit()?;
    let before = params.get("before")?.is_some();
    if before && params.get("after")?.is_some() {
        return Err(ApiError::invalid(
            "before",
            "give either after or before, not both",
        ));
    }
    let bound = if before {
        params.count("before", 0, 0, MAX_OFFSET)? as i64
    } else {
        params.count("after", 0, 0, MAX_OFFSET)? as i64
    };
    let entries = store(&state)?
        .read(move |store| {
            if before {
                store.audit_log_before(bound, limit)
            } else {
                store.audit_log(bound, limit)
            }
        })
        .await?;
    let next_after = (!before && entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let next_before = (before && entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let entries = entries
        .into_iter()
        .map(|entry| AuditView {
            changed: changed_fields(entry.before.as_deref(), entry.after.as_deref()),
            entry,
        })
        .collect();
    Ok(private_json(&AuditPage {
        entries,
        next_after,
        next_before,
    }))
}

/// Names of the members (`properties.*` one by one) that differ between two features.
fn changed_fields(
    before: Option<&serde_json::value::RawValue>,
    after: Option<&serde_json::value::RawValue>,
) -> Vec<String> {
    let parse = |raw: Option<&serde_json::value::RawValue>| {
        raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .unwrap_or(Value::Null)
    };
    let (before, after) = (parse(before), parse(after));
    let mut changed = Vec::new();
    for key in ["id", "geometry"] {
        if before.get(key) != after.get(key) {
            changed.push(key.to_string());
        }
    }
    let empty = serde_json::Map::new();
    let properties = |v: &Value| v.get("properties").and_then(Value::as_object).cloned();
    let (old, new) = (
        properties(&before).unwrap_or_else(|| empty.clone()),
        properties(&after).unwrap_or(empty),
    );
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if old.get(key) != new.get(key) {
            changed.push(format!("properties.{key}"));
        }
    }
    changed
}

#[derive(Serialize)]
struct Deletions<'a> {
    deletions: Vec<&'a crate::store::Tombstone>,
    #[serde(rename = "timeStamp")]
    time_stamp: String,
}

/// `GET /collections/initiatives/deletions?datetime=...`: initiatives deleted in the interval
/// (all by default), so partners pulling changes since a date can drop them too.
pub async fn deletions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["datetime", "f"]])?;
    crate::api::check_format(&params)?;
    let interval = params.get("datetime")?.map(parse_datetime).transpose()?;
    let snapshot = state.snapshot.load_full();
    let etag = caching::query_etag(&snapshot.version, "", &uri);
    Ok(caching::respond(
        &headers,
        &etag,
        "application/json",
        || {
            let deletions = snapshot
                .tombstones
                .iter()
                .filter(|t| interval.is_none_or(|i| i.contains(t.deleted_at)))
                .collect();
            serde_json::to_vec(&Deletions {
                deletions,
                time_stamp: jiff::Timestamp::now().to_string(),
            })
            .unwrap_or_default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_name_each_property() {
        let raw = |v: Value| serde_json::value::RawValue::from_string(v.to_string()).unwrap();
        let before = raw(
            serde_json::json!({"id": "a", "geometry": {"coordinates": [1, 2]},
            "properties": {"name": "A", "city": "X"}}),
        );
        let after = raw(
            serde_json::json!({"id": "a", "geometry": {"coordinates": [1, 3]},
            "properties": {"name": "B", "city": "X", "end": "2027-01-01"}}),
        );
        assert_eq!(
            changed_fields(Some(&before), Some(&after)),
            vec!["geometry", "properties.end", "properties.name"]
        );
        assert_eq!(
            changed_fields(Some(&before), None),
            vec!["id", "geometry", "properties.city", "properties.name"]
        );
    }

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
