//! Public proposals (`POST /submissions`, rate-limited) and curators' moderation of them:
//! listing, reading, approving (which publishes the initiative) and rejecting.

use super::{
    MAX_REASON_CHARS, RECORD_LIMIT, SUBMISSION_LIMIT, body, curator_stamp, item_response,
    private_json, private_stored, require_json, store, with_id,
};
use crate::api::auth::Curator;
use crate::api::idempotency::{self, Begun};
use crate::api::limits::Deadline;
use crate::api::params::{PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::api::proxy::{ClientIp, rate_key};
use crate::api::{AppState, base_url};
use crate::curation::{self, Stamp};
use crate::feature::canonical_json;
use crate::model::Initiative;
use crate::store::{Quota, StoreError, StoredResponse, SubmissionStatus};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

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
