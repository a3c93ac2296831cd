//! What changed and who changed it: the audit log for curators and the public feed of
//! deletions (so that mirrors can drop what was removed).

use super::{private_json, store};
use crate::api::AppState;
use crate::api::auth::Curator;
use crate::api::caching;
use crate::api::params::{MAX_OFFSET, QueryParams, parse_datetime};
use crate::api::problem::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

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
}
