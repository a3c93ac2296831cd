//! `Idempotency-Key` on the POSTs that write (the IETF httpapi draft "The Idempotency-Key
//! HTTP Header Field"): a client that lost an answer retries with the same key and gets the
//! answer of the write that was made, instead of making it twice.
//!
//! The key is recorded with a fingerprint of the request and the response sent, in the
//! write's own transaction (see `store::guard`): every replica sharing the store sees it.
//! A retry with the same request replays the response; the same key on another request is
//! 422; the same key while its first request runs is 409. Keys expire after
//! `--idempotency-retention` and are pruned (see `retention`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::api::limits::Deadline;
use crate::api::problem::ApiError;
use crate::store::{KeyRecord, StoredResponse, WriteGuard, epoch_seconds};

/// The request header.
pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// Longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 255;
/// The characters a key may hold: enough for UUIDs, ULIDs, base64 and base64url and
/// `scope:counter` forms, and nothing a header would need escaping for. The server's check
/// and the OpenAPI pattern (`KEY_PATTERN`) are both built from this one list, so the
/// documented set and the accepted set are the same.
const KEY_SYMBOLS: &str = "._~:+/=-";
/// The header's value as a JSON Schema (ECMA 262) pattern: a key, bare or quoted as the
/// draft's structured-field string.
pub fn key_pattern() -> String {
    let class = format!("[A-Za-z0-9{KEY_SYMBOLS}]{{1,{MAX_KEY_CHARS}}}");
    format!("^({class}|\"{class}\")$")
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || KEY_SYMBOLS.contains(c)
}

/// The keys of the writes this replica is running now (writer's scope, key).
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

/// A key held in flight until dropped (the request answered, or its client gone).
pub struct Claim {
    in_flight: Arc<InFlight>,
    entry: (String, String),
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut keys = self.in_flight.0.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(&self.entry);
    }
}

/// A write with a key, not made before: what to record with it.
pub struct Pending {
    scope: String,
    key: String,
    fingerprint: String,
    expired_before: f64,
    _claim: Claim,
}

/// What to do with a write request.
pub enum Begun {
    /// Its key answered this request before: send that answer again.
    Replay(Response),
    /// Make the write (recording its key, if it has one).
    Fresh(Option<Pending>),
}

/// The key the request sent, if any: 1 to 255 of the key characters, bare or quoted (the
/// draft's structured field); anything else is 400, as `key_pattern` documents.
pub fn requested_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(&HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |reason: &str| ApiError::invalid("Idempotency-Key", reason);
    if values.next().is_some() {
        return Err(bad("give one key, not several"));
    }
    let text = value
        .to_str()
        .map_err(|_| bad("expected printable ASCII characters"))?
        .trim();
    let key = match text.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or_else(|| bad("a quoted key must end with its quote"))?,
        None => text,
    };
    if key.is_empty() || key.len() > MAX_KEY_CHARS {
        return Err(bad(&format!(
            "expected 1 to {MAX_KEY_CHARS} characters, got {}",
            key.len()
        )));
    }
    if !key.chars().all(is_key_char) {
        return Err(bad(&format!(
            "expected letters, digits and {KEY_SYMBOLS} only"
        )));
    }
    Ok(Some(key.to_string()))
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Looks the request's key up, for `writer` (a curator's name, or a public client's
/// address): replay, refuse (422, or 409 while in flight here), or go ahead.
pub async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    writer: &str,
    body: &[u8],
) -> Result<Begun, ApiError> {
    let Some(key) = requested_key(headers)? else {
        return Ok(Begun::Fresh(None));
    };
    let curation = state.curation.clone().ok_or(ApiError::ReadOnly)?;
    // Hashed, so that the records hold no address of a public client.
    let scope = hex_sha256(&[writer.as_bytes()]);
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let fingerprint = hex_sha256(&[
        b"POST",
        target.as_bytes(),
        writer.as_bytes(),
        hex_sha256(&[body]).as_bytes(),
    ]);
    let entry = (scope.clone(), key.clone());
    let claim = {
        let mut keys = state.in_flight.0.lock().unwrap_or_else(|p| p.into_inner());
        if !keys.insert(entry.clone()) {
            return Err(ApiError::IdempotencyKeyInFlight(key));
        }
        Claim {
            in_flight: state.in_flight.clone(),
            entry,
        }
    };
    let retention = jiff::SignedDuration::try_from(state.config.idempotency_retention)
        .unwrap_or(jiff::SignedDuration::MAX);
    let expired_before = epoch_seconds(
        jiff::Timestamp::now()
            .checked_sub(retention)
            .unwrap_or(jiff::Timestamp::MIN),
    );
    let (wanted_scope, wanted_key) = (scope.clone(), key.clone());
    let found = curation
        .read(move |store| store.keyed_response(&wanted_scope, &wanted_key, expired_before))
        .await?;
    match found {
        Some(found) if found.fingerprint == fingerprint => {
            Ok(Begun::Replay(respond(&found.response)))
        }
        Some(_) => Err(ApiError::IdempotencyKeyReused(key)),
        None => Ok(Begun::Fresh(Some(Pending {
            scope,
            key,
            fingerprint,
            expired_before,
            _claim: claim,
        }))),
    }
}

/// The guard for a write due by `deadline`, recording `pending`'s key if there is one; the
/// write begins here (see [`Deadline::begin`]).
pub fn guard(deadline: Deadline, pending: Option<&Pending>) -> Result<WriteGuard, ApiError> {
    Ok(WriteGuard {
        deadline: Some(deadline.begin()?),
        key: pending.map(|p| KeyRecord {
            scope: p.scope.clone(),
            key: p.key.clone(),
            fingerprint: p.fingerprint.clone(),
            response: Default::default(),
            expired_before: p.expired_before,
        }),
    })
}

/// Gives the write's answer to its key's record (before COMMIT), and returns the answer to
/// send: the one recorded, when the transaction recorded one already.
pub fn record(guard: &WriteGuard, response: StoredResponse) -> StoredResponse {
    match &guard.key {
        Some(key) => key.response.get_or_init(|| response).clone(),
        None => response,
    }
}

/// A stored response as sent.
pub fn respond(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Result<Option<String>, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(&HEADER, HeaderValue::from_str(value).unwrap());
        requested_key(&headers)
    }

    #[test]
    fn keys_are_quoted_or_bare_strings_of_at_most_255_key_characters() {
        assert_eq!(requested_key(&HeaderMap::new()).unwrap(), None);
        assert_eq!(
            key("\"8e03978e-40d5\"").unwrap().as_deref(),
            Some("8e03978e-40d5")
        );
        assert_eq!(
            key("tenant:42/a+b=_~.").unwrap().as_deref(),
            Some("tenant:42/a+b=_~.")
        );
        assert_eq!(key(&"k".repeat(255)).unwrap().unwrap().len(), 255);
        let long = "k".repeat(256);
        for bad in [
            "",
            "\"\"",
            "\"open",
            &long,
            "tab\there",
            "abc def",
            "{}",
            "[1]",
            "a\"b",
        ] {
            let refused = key(bad).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    /// The documented pattern and the server's check accept the same values.
    #[test]
    fn the_documented_pattern_is_the_rule_the_server_applies() {
        let pattern = regex::Regex::new(&key_pattern()).unwrap();
        let long = "k".repeat(256);
        for value in [
            "abc",
            "\"abc\"",
            "tenant:42/a+b=_~.",
            "",
            "\"\"",
            "\"open",
            "close\"",
            &long,
            "abc def",
            "{}",
            "[1]",
            "a\"b",
            "é",
            "0",
            "true",
            "a,b",
        ] {
            assert_eq!(
                pattern.is_match(value),
                key(value).is_ok(),
                "{value:?}: pattern and server disagree"
            );
        }
    }
}
