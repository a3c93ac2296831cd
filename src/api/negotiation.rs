//! Proactive content negotiation (RFC 9110 §12.5): choosing among a resource's offers by
//! the client's `Accept` (media types), `Accept-Language` (languages) or `Accept-Encoding`
//! (content codings), with q-values.
//!
//! The rules are the RFC's: each offer gets the weight of the most specific range that
//! matches it; `q=0` refuses; names are case-insensitive; `*/*`, `type/*` and `*` are
//! wildcards; the best weight wins and ties go to the server's order of preference (the
//! order of the offers). A header that is absent, empty or holds no well-formed range
//! accepts anything. When every offer is refused the answer is 406.

use axum::http::{HeaderMap, HeaderName, header};

use crate::api::problem::ApiError;
use crate::translations::Locale;

/// How one kind of negotiation header's ranges match offers.
pub trait Ranges {
    /// The request header holding the ranges.
    const HEADER: HeaderName;

    /// How specifically `range` (its parameters other than `q` included) matches `offer`:
    /// `None` when it does not match; more specific ranges give larger numbers.
    fn specificity(range: &str, offer: &str) -> Option<usize>;
}

/// Media types in `Accept` (RFC 9110 §12.5.1).
pub struct MediaTypes;

/// Language tags in `Accept-Language` (RFC 9110 §12.5.4, basic filtering of RFC 4647).
pub struct Languages;

/// Content codings in `Accept-Encoding` (RFC 9110 §12.5.3).
pub struct Encodings;

/// Weights are kept in thousandths, as q-values have at most three decimals.
type Weight = u16;

/// One element of the header: a range and its weight.
struct Element<'a> {
    range: &'a str,
    weight: Weight,
}

/// The elements of every occurrence of the header; malformed ones are skipped.
fn elements(headers: &HeaderMap, name: &HeaderName) -> Vec<(String, Weight)> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(element)
        .map(|e| (e.range.to_string(), e.weight))
        .collect()
}

/// `range *( OWS ";" OWS parameter )`: the range keeps its parameters up to `q`; what
/// follows `q` are accept-extensions, which are ignored.
fn element(text: &str) -> Option<Element<'_>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut weight = 1000;
    let mut range_end = text.len();
    let mut offset = 0;
    for part in text.split(';') {
        let start = offset;
        offset += part.len() + 1;
        let Some((name, value)) = part.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            weight = qvalue(value.trim())?;
            range_end = start.saturating_sub(1);
            break;
        }
    }
    let range = text[..range_end].trim();
    (!range.is_empty()).then_some(Element { range, weight })
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn qvalue(text: &str) -> Option<Weight> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_ok = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    let thousandths: Weight = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" if digits_ok => Some(thousandths),
        "1" if digits_ok && thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The offer the client prefers among `offers` (each a value and its name, in the
/// server's order of preference), or 406 when the client's header refuses them all.
pub fn choose<R: Ranges, T: Copy>(
    headers: &HeaderMap,
    offers: &[(T, &str)],
) -> Result<T, ApiError> {
    let ranges = elements(headers, &R::HEADER);
    let first = offers.first().map(|(value, _)| *value);
    let well_formed: Vec<&(String, Weight)> = ranges
        .iter()
        .filter(|(range, _)| R::specificity(range, range).is_some() || range == "*")
        .collect();
    if well_formed.is_empty() {
        return first.ok_or_else(|| not_acceptable(offers));
    }
    let mut best: Option<(T, Weight)> = None;
    for (value, offer) in offers {
        let weight = weight_of::<R>(&well_formed, offer);
        if weight > 0 && best.is_none_or(|(_, b)| weight > b) {
            best = Some((*value, weight));
        }
    }
    best.map(|(value, _)| value)
        .ok_or_else(|| not_acceptable(offers))
}

/// The weight the most specific of `ranges` matching `offer` gives it (0 when none does);
/// among equally specific ranges, the first decides.
fn weight_of<R: Ranges>(ranges: &[&(String, Weight)], offer: &str) -> Weight {
    ranges
        .iter()
        .filter_map(|(range, weight)| R::specificity(range, offer).map(|s| (s, *weight)))
        .fold(None::<(usize, Weight)>, |best, (s, w)| match best {
            Some((bs, _)) if bs >= s => best,
            _ => Some((s, w)),
        })
        .map_or(0, |(_, w)| w)
}

/// Whether the client's header names `offer`, or a wildcard over it, with a weight above 0.
/// An absent header names nothing: for `Accept-Encoding` that means no coding is sent.
pub fn accepts<R: Ranges>(headers: &HeaderMap, offer: &str) -> bool {
    let ranges = elements(headers, &R::HEADER);
    let ranges: Vec<&(String, Weight)> = ranges.iter().collect();
    weight_of::<R>(&ranges, offer) > 0
}

/// The visitor's language among the interface's: `lang` when the query names one, else the
/// best match of `Accept-Language` (a regional range such as `de-AT` falling back to its
/// language, as RFC 4647's lookup does), else English. A `lang` the interface does not speak
/// is refused with 400, naming the parameter.
pub fn language(
    params: &crate::api::params::QueryParams,
    headers: &HeaderMap,
) -> Result<Locale, ApiError> {
    if let Some(code) = params.get("lang")? {
        return Locale::parse(code).ok_or_else(|| {
            let known: Vec<&str> = Locale::ALL.iter().map(|l| l.code()).collect();
            ApiError::invalid(
                "lang",
                format!("\"{code}\" is not one of {}", known.join(", ")),
            )
        });
    }
    let mut ranges = elements(headers, &header::ACCEPT_LANGUAGE);
    // Stable: among equal weights the client's order stands.
    ranges.sort_by_key(|(_, weight)| std::cmp::Reverse(*weight));
    let named = ranges
        .iter()
        .filter(|(range, weight)| *weight > 0 && range != "*")
        .find_map(|(range, _)| Locale::parse(&range.split('-').next()?.to_ascii_lowercase()));
    // Only a wildcard (or nothing) named: the first language it does not refuse.
    let offers: Vec<(Locale, &str)> = Locale::ALL.iter().map(|l| (*l, l.code())).collect();
    Ok(named
        .or_else(|| choose::<Languages, _>(headers, &offers).ok())
        .unwrap_or(Locale::En))
}

fn not_acceptable<T>(offers: &[(T, &str)]) -> ApiError {
    let names: Vec<&str> = offers.iter().map(|(_, name)| *name).collect();
    ApiError::NotAcceptable(names.join(", "))
}

/// A media type or range: `type/subtype` and its parameters, names lower-cased.
struct MediaType {
    kind: String,
    subtype: String,
    parameters: Vec<(String, String)>,
}

fn media_type(text: &str) -> Option<MediaType> {
    let mut parts = text.split(';');
    let (kind, subtype) = parts.next()?.trim().split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return None;
    }
    let parameters = parts
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            Some((
                name.trim().to_ascii_lowercase(),
                value.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    Some(MediaType {
        kind: kind.to_ascii_lowercase(),
        subtype: subtype.to_ascii_lowercase(),
        parameters,
    })
}

impl Ranges for MediaTypes {
    const HEADER: HeaderName = header::ACCEPT;

    fn specificity(range: &str, offer: &str) -> Option<usize> {
        let MediaType {
            kind,
            subtype,
            parameters,
        } = media_type(range)?;
        let MediaType {
            kind: offer_kind,
            subtype: offer_subtype,
            parameters: offer_parameters,
        } = media_type(offer)?;
        if kind == "*" && subtype != "*" {
            return None;
        }
        let matches = (kind == "*" || kind == offer_kind)
            && (subtype == "*" || subtype == offer_subtype)
            && parameters.iter().all(|(name, value)| {
                offer_parameters
                    .iter()
                    .any(|(n, v)| n == name && v.eq_ignore_ascii_case(value))
            });
        matches.then(|| match (kind.as_str(), subtype.as_str()) {
            ("*", _) => 0,
            (_, "*") => 1,
            _ => 2 + parameters.len(),
        })
    }
}

impl Ranges for Languages {
    const HEADER: HeaderName = header::ACCEPT_LANGUAGE;

    fn specificity(range: &str, offer: &str) -> Option<usize> {
        let well_formed = |tag: &str| {
            tag.split('-').all(|subtag| {
                (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        };
        if range == "*" {
            return Some(0);
        }
        if !well_formed(range) || !well_formed(offer) {
            return None;
        }
        let (range, offer) = (range.to_ascii_lowercase(), offer.to_ascii_lowercase());
        let matches = offer == range
            || offer
                .strip_prefix(&range)
                .is_some_and(|rest| rest.starts_with('-'));
        matches.then(|| range.split('-').count())
    }
}

impl Ranges for Encodings {
    const HEADER: HeaderName = header::ACCEPT_ENCODING;

    fn specificity(range: &str, offer: &str) -> Option<usize> {
        match range {
            "*" => Some(0),
            _ => range.eq_ignore_ascii_case(offer).then_some(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Rep {
        Json,
        Csv,
        Html,
    }

    const OFFERS: &[(Rep, &str)] = &[
        (Rep::Json, "application/json"),
        (Rep::Csv, "text/csv; charset=utf-8"),
        (Rep::Html, "text/html"),
    ];

    fn with(name: HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(name.clone(), value.parse().unwrap());
        }
        headers
    }

    fn accept(value: &str) -> Result<Rep, ApiError> {
        choose::<MediaTypes, _>(&with(header::ACCEPT, &[value]), OFFERS)
    }

    #[test]
    fn without_a_preference_the_server_chooses() {
        assert_eq!(
            choose::<MediaTypes, _>(&HeaderMap::new(), OFFERS).unwrap(),
            Rep::Json
        );
        for value in ["", "*/*", "garbage", " , ", "text"] {
            assert_eq!(accept(value).unwrap(), Rep::Json, "{value:?}");
        }
    }

    #[test]
    fn q_values_rank_and_zero_refuses() {
        assert_eq!(accept("text/csv").unwrap(), Rep::Csv);
        assert_eq!(
            accept("application/json;q=0.5, text/csv").unwrap(),
            Rep::Csv
        );
        assert_eq!(
            accept("application/json;q=0.9, text/csv;q=0.8").unwrap(),
            Rep::Json
        );
        // A browser: HTML named, everything else through */*.
        assert_eq!(
            accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8").unwrap(),
            Rep::Html
        );
        // q=0 refuses even when a wildcard would allow it.
        assert_eq!(accept("application/json;q=0, */*").unwrap(), Rep::Csv);
        assert_eq!(accept("*/*;q=0, text/html").unwrap(), Rep::Html);
        assert!(matches!(
            accept("application/json;q=0, text/*;q=0"),
            Err(ApiError::NotAcceptable(_))
        ));
        assert!(matches!(
            accept("image/png"),
            Err(ApiError::NotAcceptable(_))
        ));
        // Malformed q-values make their element void, not the header.
        assert_eq!(accept("text/csv;q=2, text/html").unwrap(), Rep::Html);
        assert_eq!(
            accept("text/csv;q=0.0001, text/html;q=0.5").unwrap(),
            Rep::Html
        );
        assert_eq!(accept("text/csv;q=1.000").unwrap(), Rep::Csv);
    }

    #[test]
    fn names_are_case_insensitive_and_wildcards_match_a_type() {
        assert_eq!(accept("TEXT/CSV").unwrap(), Rep::Csv);
        assert_eq!(
            accept("Text/*;Q=0.4, application/*;q=0.3").unwrap(),
            Rep::Csv
        );
        assert_eq!(accept("text/csv;charset=UTF-8").unwrap(), Rep::Csv);
        // A parameter the offer lacks makes the range not match it.
        assert!(accept("text/csv;header=absent").is_err());
        // `*/json` is no media range: it is ignored like any malformed element.
        assert_eq!(accept("*/json").unwrap(), Rep::Json);
    }

    #[test]
    fn the_most_specific_range_decides() {
        assert_eq!(
            accept("text/*;q=0.9, text/html;q=0.1, */*;q=0.2").unwrap(),
            Rep::Csv
        );
        assert_eq!(
            accept("text/csv;charset=utf-8;q=0, text/csv, */*;q=0.1").unwrap(),
            Rep::Json
        );
        // Several header lines are one list.
        let two = with(header::ACCEPT, &["application/json;q=0", "text/html"]);
        assert_eq!(choose::<MediaTypes, _>(&two, OFFERS).unwrap(), Rep::Html);
    }

    #[test]
    fn languages_match_by_prefix() {
        let offers = [("en", "en"), ("de", "de"), ("fr-BE", "fr-BE")];
        let ask =
            |value: &str| choose::<Languages, _>(&with(header::ACCEPT_LANGUAGE, &[value]), &offers);
        assert_eq!(ask("de-AT, de;q=0.9, en;q=0.5").unwrap(), "de");
        assert_eq!(ask("FR").unwrap(), "fr-BE");
        assert_eq!(ask("fr-CH, *;q=0.1").unwrap(), "en");
        assert_eq!(ask("*, en;q=0").unwrap(), "de");
        assert!(ask("pl").is_err());
        assert_eq!(
            choose::<Languages, _>(&HeaderMap::new(), &offers).unwrap(),
            "en"
        );
    }

    #[test]
    fn the_visitors_language() {
        let ask = |query: &str, value: &str| {
            let params = crate::api::params::QueryParams::parse(Some(query));
            language(&params, &with(header::ACCEPT_LANGUAGE, &[value]))
        };
        assert_eq!(ask("", "").unwrap(), Locale::En);
        assert_eq!(ask("", "pl, en;q=0.5").unwrap(), Locale::Pl);
        assert_eq!(ask("", "sv, de-AT;q=0.8, en;q=0.5").unwrap(), Locale::De);
        assert_eq!(ask("", "de-AT").unwrap(), Locale::De);
        assert_eq!(ask("", "sv, *;q=0.1").unwrap(), Locale::En);
        assert_eq!(ask("", "*, en;q=0").unwrap(), Locale::Fr);
        assert_eq!(ask("", "sv").unwrap(), Locale::En);
        assert_eq!(ask("lang=it", "pl").unwrap(), Locale::It);
        assert!(ask("lang=sv", "pl").is_err());
        assert!(ask("lang=it&lang=fr", "").is_err());
    }

    #[test]
    fn codings_are_accepted_by_name_or_wildcard() {
        let takes =
            |value: &str| accepts::<Encodings>(&with(header::ACCEPT_ENCODING, &[value]), "br");
        assert!(takes("gzip, deflate, br, zstd"));
        assert!(takes("BR;q=0.5"));
        assert!(takes("gzip, *"));
        assert!(!takes("gzip"));
        assert!(!takes("br;q=0, gzip"));
        assert!(
            !takes("*, br;q=0"),
            "the named coding is more specific than the wildcard"
        );
        assert!(!takes(""));
        assert!(
            !accepts::<Encodings>(&HeaderMap::new(), "br"),
            "no header, no coding"
        );
    }
}
