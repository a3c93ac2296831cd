//! Preconditions of a write (RFC 9110 §13): `If-Match`, `If-Unmodified-Since` and
//! `If-None-Match`, evaluated in the RFC's order against the record as it is in the store.

use axum::http::{HeaderMap, HeaderName, header};
use jiff::Timestamp;

use crate::api::problem::ApiError;

/// An entity tag as sent by a client.
#[derive(Debug, PartialEq, Eq)]
struct EntityTag {
    weak: bool,
    /// The quoted opaque part, quotes included, as this server writes its tags.
    opaque: String,
}

/// The value of `If-Match` or `If-None-Match`.
#[derive(Debug, PartialEq, Eq)]
enum Tags {
    Any,
    List(Vec<EntityTag>),
}

/// The current state of the resource a write addresses: its strong entity tag and when it
/// last changed, or nothing when it does not exist.
#[derive(Clone, Copy)]
pub struct Current<'a> {
    pub etag: &'a str,
    pub modified: Timestamp,
}

/// The preconditions a write request carries.
#[derive(Debug, Default)]
pub struct Preconditions {
    if_match: Option<Tags>,
    if_none_match: Option<Tags>,
    if_unmodified_since: Option<Timestamp>,
}

impl Preconditions {
    /// Reads the write preconditions from `headers`; a malformed `If-Match` or
    /// `If-None-Match` is refused with 400 naming the header (an unreadable
    /// `If-Unmodified-Since` is ignored, as RFC 9110 §13.1.4 asks).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        Ok(Preconditions {
            if_match: tags(headers, &header::IF_MATCH)?,
            if_none_match: tags(headers, &header::IF_NONE_MATCH)?,
            if_unmodified_since: headers
                .get(header::IF_UNMODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|text| HTTP_DATE.parse_timestamp(text).ok()),
        })
    }

    /// True when the request asks to write only where nothing exists (`If-None-Match: *`
    /// without `If-Match`): a PUT that creates.
    pub fn only_if_absent(&self) -> bool {
        self.if_match.is_none() && self.if_none_match == Some(Tags::Any)
    }

    /// What the failed preconditions asked for, for a 412's detail.
    pub fn why_not(&self) -> &'static str {
        match (&self.if_match, &self.if_none_match) {
            (Some(Tags::Any), _) => "does not exist, and If-Match: * asks for it to",
            (Some(_), _) => "changed since it was read, or never had the ETag that If-Match names",
            (None, Some(Tags::Any)) => "already exists, and If-None-Match: * asks that it not",
            (None, Some(_)) => "still has an ETag that If-None-Match names",
            (None, None) => "changed after the date If-Unmodified-Since names",
        }
    }

    /// Whether the write may go ahead on `current` (RFC 9110 §13.2.2, steps 1 to 3).
    pub fn allow(&self, current: Option<Current<'_>>) -> bool {
        match (&self.if_match, current) {
            (Some(Tags::Any), None) => return false,
            (Some(Tags::List(tags)), current) => {
                // Strong comparison: a weak tag never matches.
                let matched =
                    current.is_some_and(|c| tags.iter().any(|t| !t.weak && t.opaque == c.etag));
                if !matched {
                    return false;
                }
            }
            (None, Some(c)) => {
                if let Some(since) = self.if_unmodified_since
                    && c.modified.as_second() > since.as_second()
                {
                    return false;
                }
            }
            _ => {}
        }
        match (&self.if_none_match, current) {
            (Some(Tags::Any), Some(_)) => false,
            // Weak comparison.
            (Some(Tags::List(tags)), Some(c)) => !tags.iter().any(|t| t.opaque == c.etag),
            _ => true,
        }
    }
}

static HTTP_DATE: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();

/// `"*" / #entity-tag` from every occurrence of the header.
fn tags(headers: &HeaderMap, name: &HeaderName) -> Result<Option<Tags>, ApiError> {
    let values: Vec<_> = headers.get_all(name).iter().collect();
    if values.is_empty() {
        return Ok(None);
    }
    let malformed = || {
        ApiError::invalid(
            name.as_str(),
            "expected * or a list of entity tags such as \"abc\" or W/\"abc\"",
        )
    };
    let mut list = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| malformed())?;
        for item in list_items(text) {
            if item == "*" {
                return Ok(Some(Tags::Any));
            }
            list.push(entity_tag(item).ok_or_else(malformed)?);
        }
    }
    // An empty list is well formed (RFC 9110 §5.6.1): it matches nothing.
    Ok(Some(Tags::List(list)))
}

/// The non-empty items of a comma-separated header list; a comma inside an entity tag's
/// quotes is part of the tag (etagc allows it), not a separator.
fn list_items(text: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    text.split(move |c| {
        if c == '"' {
            quoted = !quoted;
        }
        c == ',' && !quoted
    })
    .map(str::trim)
    .filter(|i| !i.is_empty())
}

/// `[ "W/" ] DQUOTE *etagc DQUOTE`, where etagc excludes the quote, space and controls.
fn entity_tag(text: &str) -> Option<EntityTag> {
    let (weak, quoted) = match text.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let valid = inner
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80);
    valid.then(|| EntityTag {
        weak,
        opaque: quoted.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(HeaderName, &str)]) -> Preconditions {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), value.parse().unwrap());
        }
        Preconditions::from_headers(&headers).unwrap()
    }

    const TAG: &str = "\"0123456789abcdef\"";

    fn current() -> Option<Current<'static>> {
        Some(Current {
            etag: TAG,
            modified: "2026-01-10T12:00:00Z".parse().unwrap(),
        })
    }

    #[test]
    fn if_match_needs_the_current_strong_tag() {
        assert!(with(&[]).allow(current()));
        assert!(with(&[]).allow(None));
        assert!(with(&[(header::IF_MATCH, TAG)]).allow(current()));
        assert!(with(&[(header::IF_MATCH, &format!("\"x\", {TAG}"))]).allow(current()));
        assert!(!with(&[(header::IF_MATCH, "\"x\"")]).allow(current()));
        assert!(!with(&[(header::IF_MATCH, &format!("W/{TAG}"))]).allow(current()));
        assert!(with(&[(header::IF_MATCH, "*")]).allow(current()));
        // Nothing to match: `*` and any tag fail.
        assert!(!with(&[(header::IF_MATCH, "*")]).allow(None));
        assert!(!with(&[(header::IF_MATCH, TAG)]).allow(None));
    }

    #[test]
    fn if_none_match_refuses_what_matches() {
        let star = with(&[(header::IF_NONE_MATCH, "*")]);
        assert!(star.only_if_absent());
        assert!(!star.allow(current()));
        assert!(star.allow(None));
        assert!(!with(&[(header::IF_NONE_MATCH, &format!("W/{TAG}"))]).allow(current()));
        assert!(with(&[(header::IF_NONE_MATCH, "\"other\"")]).allow(current()));
        let both = with(&[(header::IF_MATCH, TAG), (header::IF_NONE_MATCH, "*")]);
        assert!(!both.only_if_absent());
        assert!(!both.allow(current()));
    }

    #[test]
    fn if_unmodified_since_applies_without_if_match() {
        let before = "Sat, 10 Jan 2026 11:59:59 GMT";
        let at = "Sat, 10 Jan 2026 12:00:00 GMT";
        assert!(!with(&[(header::IF_UNMODIFIED_SINCE, before)]).allow(current()));
        assert!(with(&[(header::IF_UNMODIFIED_SINCE, at)]).allow(current()));
        assert!(with(&[(header::IF_UNMODIFIED_SINCE, "garbage")]).allow(current()));
        assert!(
            with(&[
                (header::IF_UNMODIFIED_SINCE, before),
                (header::IF_MATCH, TAG)
            ])
            .allow(current())
        );
    }

    #[test]
    fn empty_lists_match_nothing() {
        assert!(!with(&[(header::IF_MATCH, "")]).allow(current()));
        assert!(with(&[(header::IF_NONE_MATCH, " , ")]).allow(current()));
    }

    #[test]
    fn a_comma_inside_a_tag_is_part_of_it() {
        let tags = with(&[(header::IF_NONE_MATCH, "W/\"~,G\"\t ,  , \"x\"")]);
        match tags.if_none_match {
            Some(Tags::List(list)) => {
                let opaque: Vec<_> = list.iter().map(|t| t.opaque.as_str()).collect();
                assert_eq!(opaque, ["\"~,G\"", "\"x\""]);
            }
            _ => panic!("a list of two tags"),
        }
    }

    #[test]
    fn malformed_tags_are_refused() {
        for bad in ["abc", "\"abc", "W/abc", "\"a\"b\"", "\"a b\""] {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, bad.parse().unwrap());
            assert!(Preconditions::from_headers(&headers).is_err(), "{bad}");
        }
    }
}
