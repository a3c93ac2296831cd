//! HTTP caching: strong ETags from the data version, 304 on `If-None-Match`, CDN-friendly headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long shared caches may serve a response before revalidating it with its ETag.
pub const CACHE_CONTROL: &str = "public, max-age=60, stale-while-revalidate=600";

/// How long a response may be reused: the service's one cache-header policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// API answers: shared caches keep them a minute, then revalidate with the ETag.
    Shared,
    /// Pages and files under unversioned URLs: every use asks the server (a `304` is cheap),
    /// so that a new release shows at once.
    Revalidate,
    /// Files under a versioned URL: the version names their bytes, which never change.
    Immutable,
}

impl Freshness {
    /// The `Cache-Control` value.
    pub fn cache_control(self) -> &'static str {
        match self {
            Freshness::Shared => CACHE_CONTROL,
            Freshness::Revalidate => "no-cache",
            Freshness::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

/// A strong entity tag over everything that determines a response's bytes.
pub fn etag(parts: &[&[u8]]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        hasher.update(part);
        hasher.update(&[0xff]);
    }
    format!("\"{:016x}\"", hasher.digest())
}

/// The entity tag of one initiative: it changes exactly when the initiative does, so it
/// serves `If-Match` on writes as well as `If-None-Match` on reads.
pub fn item_etag(initiative: crate::records::InitiativeRef<'_>) -> String {
    etag(&[crate::feature::json_of(initiative).as_bytes()])
}

/// The entity tag of a query's answer: it depends on the data version, the base URL used in
/// links, and the request's own path and query.
pub fn query_etag(version: &str, base: &str, uri: &axum::http::Uri) -> String {
    etag(&[
        version.as_bytes(),
        base.as_bytes(),
        uri.to_string().as_bytes(),
    ])
}

/// True when the request's `If-None-Match` lists `etag` (or `*`).
pub fn client_has(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// A `304 Not Modified` carrying the validators a cache needs.
pub fn not_modified(etag: &str) -> Response {
    not_modified_for(etag, Freshness::Shared)
}

fn not_modified_for(etag: &str, freshness: Freshness) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_validators(response.headers_mut(), etag, freshness);
    response
}

/// A `200` with `body`, its content type and caching headers.
pub fn fresh(etag: &str, content_type: &'static str, body: impl Into<bytes::Bytes>) -> Response {
    fresh_for(etag, content_type, Freshness::Shared, body)
}

fn fresh_for(
    etag: &str,
    content_type: &'static str,
    freshness: Freshness,
    body: impl Into<bytes::Bytes>,
) -> Response {
    let body: bytes::Bytes = body.into();
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    set_validators(response.headers_mut(), etag, freshness);
    response
}

/// Answers `304` when the client's copy is current, or builds the body and answers `200`.
pub fn respond(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: impl FnOnce() -> Vec<u8>,
) -> Response {
    respond_for(headers, etag, content_type, Freshness::Shared, body)
}

/// Like [`respond`], with the given freshness.
pub fn respond_for(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    freshness: Freshness,
    body: impl FnOnce() -> Vec<u8>,
) -> Response {
    if client_has(headers, etag) {
        not_modified_for(etag, freshness)
    } else {
        fresh_for(etag, content_type, freshness, body())
    }
}

/// Like [`respond`], with a `Last-Modified` date: a client without an entity tag but with
/// `If-Modified-Since` no earlier than it gets `304` (RFC 9110: the tag, when sent, decides).
pub fn respond_dated(
    headers: &HeaderMap,
    etag: &str,
    last_modified: Option<jiff::Timestamp>,
    content_type: &'static str,
    body: impl FnOnce() -> Vec<u8>,
) -> Response {
    let Some(modified) = last_modified else {
        return respond(headers, etag, content_type, body);
    };
    let has_tag = headers.contains_key(header::IF_NONE_MATCH);
    let unchanged = if has_tag {
        client_has(headers, etag)
    } else {
        modified_since(headers).is_some_and(|since| modified.as_second() <= since.as_second())
    };
    let mut response = if unchanged {
        not_modified(etag)
    } else {
        fresh(etag, content_type, body())
    };
    if let Ok(date) = HTTP_DATE.timestamp_to_rfc9110_string(&modified)
        && let Ok(value) = HeaderValue::from_str(&date)
    {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

/// Marks a response (a 200 or a 304) as one language's: `Content-Language`, and a `Vary` that
/// names `Accept-Language`, so that shared caches keep one copy per language.
pub fn in_language(mut response: Response, code: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(code));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding, Accept-Language"),
    );
    response
}

static HTTP_DATE: jiff::fmt::rfc2822::DateTimePrinter = jiff::fmt::rfc2822::DateTimePrinter::new();
static HTTP_DATE_PARSER: jiff::fmt::rfc2822::DateTimeParser =
    jiff::fmt::rfc2822::DateTimeParser::new();

fn modified_since(headers: &HeaderMap) -> Option<jiff::Timestamp> {
    let text = headers.get(header::IF_MODIFIED_SINCE)?.to_str().ok()?;
    HTTP_DATE_PARSER.parse_timestamp(text).ok()
}

fn set_validators(headers: &mut HeaderMap, etag: &str, freshness: Freshness) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(freshness.cache_control()),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
}

/// A JSON document whose entity tag is the hash of its own bytes, serialised once (the
/// metadata resources: landing page, conformance, collections, TileJSON, tile matrix sets).
pub fn json_document(
    headers: &HeaderMap,
    body: &serde_json::Value,
    media_type: &'static str,
) -> Response {
    let bytes = body.to_string().into_bytes();
    let etag = etag(&[&bytes]);
    respond(headers, &etag, media_type, || bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_modified_since_is_honoured_unless_a_tag_is_sent() {
        let modified: jiff::Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let tag = etag(&[b"v"]);
        let ask = |pairs: &[(header::HeaderName, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(name.clone(), value.parse().unwrap());
            }
            respond_dated(&headers, &tag, Some(modified), "application/json", Vec::new).status()
        };
        assert_eq!(ask(&[]), StatusCode::OK);
        assert_eq!(
            ask(&[(header::IF_MODIFIED_SINCE, "Sat, 10 Jan 2026 12:00:00 GMT")]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            ask(&[(header::IF_MODIFIED_SINCE, "Sat, 10 Jan 2026 11:59:59 GMT")]),
            StatusCode::OK
        );
        assert_eq!(
            ask(&[(header::IF_MODIFIED_SINCE, "garbage")]),
            StatusCode::OK
        );
        assert_eq!(
            ask(&[
                (header::IF_MODIFIED_SINCE, "Sat, 10 Jan 2026 12:00:00 GMT"),
                (header::IF_NONE_MATCH, "\"other\"")
            ]),
            StatusCode::OK
        );
        let mut headers = HeaderMap::new();
        let response = respond_dated(&headers, &tag, Some(modified), "application/json", Vec::new);
        assert_eq!(
            response.headers()[header::LAST_MODIFIED],
            "Sat, 10 Jan 2026 12:00:00 GMT"
        );
        headers.clear();
    }

    #[test]
    fn if_none_match_lists_are_understood() {
        let tag = etag(&[b"v1", b"/items"]);
        assert_ne!(tag, etag(&[b"v2", b"/items"]));
        assert_ne!(etag(&[b"ab", b"c"]), etag(&[b"a", b"bc"]));
        let mut headers = HeaderMap::new();
        assert!(!client_has(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            format!("\"x\", W/{tag}").parse().unwrap(),
        );
        assert!(client_has(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, "*".parse().unwrap());
        assert!(client_has(&headers, &tag));
    }
}
