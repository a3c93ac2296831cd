//! Query-string parsing: typed parameters, filters and bbox, each error naming its parameter.

use crate::api::problem::ApiError;
use crate::country::{Country, CountrySet};
use crate::cql2::{Expression, Lang};
use jiff::Timestamp;

use crate::filter::{Filter, TimeInterval};
use crate::geodesy::LonLatBox;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, TermSet, Vocabulary};
use crate::regions::code::NutsFilter;

/// The filter parameters every query endpoint accepts.
pub const FILTER_PARAMS: &[&str] = &[
    "country",
    "skill_area",
    "target_group",
    "kind",
    "q",
    "datetime",
    "nuts",
    "status",
    "location_precision",
    "filter",
    "filter-lang",
    "filter-crs",
];

/// The one CRS a CQL2 filter's geometries may be given in (WGS 84, longitude first).
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;
/// Largest offset (and audit sequence number) accepted: what a signed 64-bit integer holds,
/// as the OpenAPI document states.
pub const MAX_OFFSET: usize = i64::MAX as usize;

/// Longest free-text query accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// Path parameters, refused as a problem naming the segment when they are not what the
/// route expects (a segment that is not UTF-8 once percent-decoded, for instance) instead
/// of the framework's plain-text rejection.
pub struct PathParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => {
                    ApiError::invalid(key, "is not UTF-8 once percent-decoded")
                }
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. } => ApiError::invalid(key, e.body_text()),
                _ => ApiError::invalid("path", e.body_text()),
            }),
            Err(other) => Err(ApiError::invalid("path", other.body_text())),
        }
    }
}

/// The decoded query string of one request.
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        QueryParams { pairs }
    }

    /// The query of `uri`, refusing any parameter outside `allowed`.
    pub fn accepting(uri: &axum::http::Uri, allowed: &[&[&str]]) -> Result<Self, ApiError> {
        let params = Self::parse(uri.query());
        params.reject_unknown(allowed)?;
        Ok(params)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Rejects any parameter not in one of `allowed`, as OGC API – Features asks.
    pub fn reject_unknown(&self, allowed: &[&[&str]]) -> Result<(), ApiError> {
        match self
            .pairs
            .iter()
            .find(|(name, _)| !allowed.iter().any(|set| set.contains(&name.as_str())))
        {
            Some((name, _)) => Err(ApiError::UnknownParameter(name.clone())),
            None => Ok(()),
        }
    }

    /// The value of a parameter given at most once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::invalid(name, "given more than once"));
        }
        Ok(first)
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.get(name)?.map(|v| parse_number(name, v)).transpose()
    }

    pub fn required_number(&self, name: &str) -> Result<f64, ApiError> {
        self.number(name)?
            .ok_or_else(|| ApiError::invalid(name, "is required"))
    }

    /// A whole number in `0..=max`, or `default` when absent.
    pub fn count(
        &self,
        name: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        let Some(text) = self.get(name)? else {
            return Ok(default);
        };
        let value: usize = text
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid(name, format!("\"{text}\" is not a whole number")))?;
        if value < min || value > max {
            return Err(ApiError::invalid(
                name,
                format!("{value} is out of range [{min}, {max}]"),
            ));
        }
        Ok(value)
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        self.count("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    }

    pub fn offset(&self) -> Result<usize, ApiError> {
        self.count("offset", 0, 0, MAX_OFFSET)
    }

    /// `bbox=minLon,minLat,maxLon,maxLat` (or the six-number 3D form); minLon > maxLon
    /// means the box crosses the antimeridian.
    pub fn bbox(&self) -> Result<Option<LonLatBox>, ApiError> {
        let Some(text) = self.get("bbox")? else {
            return Ok(None);
        };
        let numbers = text
            .split(',')
            .map(|part| parse_number("bbox", part))
            .collect::<Result<Vec<_>, _>>()?;
        let (west, south, east, north) = match numbers[..] {
            [w, s, e, n] | [w, s, _, e, n, _] => (w, s, e, n),
            _ => {
                return Err(ApiError::invalid(
                    "bbox",
                    format!(
                        "needs 4 numbers (minLon,minLat,maxLon,maxLat), got {}",
                        numbers.len()
                    ),
                ));
            }
        };
        for lon in [west, east] {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(ApiError::invalid(
                    "bbox",
                    format!("longitude {lon} is out of range [-180, 180]"),
                ));
            }
        }
        for lat in [south, north] {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(ApiError::invalid(
                    "bbox",
                    format!("latitude {lat} is out of range [-90, 90]"),
                ));
            }
        }
        if south > north {
            return Err(ApiError::invalid(
                "bbox",
                format!("minLat {south} is greater than maxLat {north}"),
            ));
        }
        Ok(Some(LonLatBox {
            west,
            south,
            east,
            north,
        }))
    }

    /// The attribute and text filters.
    pub fn filter(&self) -> Result<Filter, ApiError> {
        let countries = self
            .list("country")?
            .map(|codes| {
                codes
                    .iter()
                    .map(|code| {
                        Country::parse(&code.to_ascii_uppercase())
                            .map_err(|e| ApiError::invalid("country", e))
                    })
                    .collect::<Result<CountrySet, _>>()
            })
            .transpose()?;
        let mut filter = Filter {
            countries,
            skill_areas: self.terms::<SkillArea>("skill_area")?,
            target_groups: self.terms::<TargetGroup>("target_group")?,
            kinds: self.terms::<Kind>("kind")?,
            precisions: self.terms::<LocationPrecision>("location_precision")?,
            words: Vec::new(),
            updated: self.get("datetime")?.map(parse_datetime).transpose()?,
            nuts: self
                .list("nuts")?
                .map(NutsFilter::parse)
                .transpose()
                .map_err(|e| ApiError::invalid("nuts", e))?,
            statuses: self.statuses()?,
            expression: self.expression()?,
        };
        // A CQL2 filter that tests the status decides it alone, unless `status` is given.
        if self.get("status")?.is_none()
            && filter
                .expression
                .as_ref()
                .is_some_and(|e| e.mentions(crate::cql2::Field::Status))
        {
            filter.statuses = Filter::all_statuses();
        }
        if let Some(q) = self.get("q")? {
            if q.chars().count() > MAX_QUERY_CHARS {
                return Err(ApiError::invalid(
                    "q",
                    format!("longer than {MAX_QUERY_CHARS} characters"),
                ));
            }
            filter = filter.with_text(q);
        }
        Ok(filter)
    }

    /// `filter` in the encoding `filter-lang` names (CQL2 text by default), its geometries
    /// in the CRS `filter-crs` names (only CRS84 is served).
    fn expression(&self) -> Result<Option<Expression>, ApiError> {
        let lang = match self.get("filter-lang")? {
            None => Lang::Text,
            Some(name) => Lang::named(name).ok_or_else(|| {
                ApiError::invalid(
                    "filter-lang",
                    format!("unsupported \"{name}\" (expected cql2-text or cql2-json)"),
                )
            })?,
        };
        if let Some(crs) = self.get("filter-crs")?
            && crs != CRS84
        {
            return Err(ApiError::invalid(
                "filter-crs",
                format!("unsupported \"{crs}\" (only {CRS84} is served)"),
            ));
        }
        self.get("filter")?
            .map(|text| Expression::parse(text, lang))
            .transpose()
            .map_err(|e| ApiError::invalid("filter", e.to_string()))
    }

    /// `status`: terms, or `all`; only active initiatives when absent.
    fn statuses(&self) -> Result<TermSet<Status>, ApiError> {
        if self
            .list("status")?
            .is_some_and(|values| values.contains(&"all"))
        {
            return Ok(Filter::all_statuses());
        }
        Ok(self
            .terms::<Status>("status")?
            .unwrap_or_else(Filter::default_statuses))
    }

    /// A comma-separated list; `None` when absent or empty.
    fn list(&self, name: &str) -> Result<Option<Vec<&str>>, ApiError> {
        let Some(text) = self.get(name)? else {
            return Ok(None);
        };
        let items: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Ok((!items.is_empty()).then_some(items))
    }

    fn terms<T: Vocabulary>(&self, name: &str) -> Result<Option<TermSet<T>>, ApiError> {
        let Some(slugs) = self.list(name)? else {
            return Ok(None);
        };
        slugs
            .iter()
            .map(|slug| {
                T::from_slug(slug).ok_or_else(|| {
                    ApiError::invalid(
                        name,
                        format!(
                            "unknown value \"{slug}\" (expected one of {})",
                            T::expected()
                        ),
                    )
                })
            })
            .collect::<Result<TermSet<T>, _>>()
            .map(Some)
    }
}

/// OGC API `datetime`: an instant, or `start/end` with `..` (or nothing) for an open end.
/// Each bound is an RFC 3339 date-time with its offset (`2026-01-01T10:00:00Z`,
/// `2026-01-01T12:00:00.5+02:00`) or a full date, which stands for its whole day (UTC).
pub fn parse_datetime(text: &str) -> Result<TimeInterval, ApiError> {
    let invalid = |why: String| ApiError::invalid("datetime", why);
    let bound = |part: &str, end_of_day: bool| -> Result<Option<Timestamp>, ApiError> {
        if part.is_empty() || part == ".." {
            return Ok(None);
        }
        rfc3339_bound(part, end_of_day).map(Some).ok_or_else(|| {
            invalid(format!(
                "\"{part}\" is not an RFC 3339 date-time with an offset (2026-01-31T09:30:00Z) or a date (2026-01-31)"
            ))
        })
    };
    let interval = match text.split_once('/') {
        Some((start, end)) => {
            if start.contains('/') || end.contains('/') {
                return Err(invalid("an interval has one '/'".into()));
            }
            if (start.is_empty() || start == "..") && (end.is_empty() || end == "..") {
                return Err(invalid("an interval needs at least one bound".into()));
            }
            TimeInterval {
                start: bound(start, false)?,
                end: bound(end, true)?,
            }
        }
        None if text.is_empty() || text == ".." => {
            return Err(invalid("an instant cannot be open".into()));
        }
        None => TimeInterval {
            start: bound(text, false)?,
            end: bound(text, true)?,
        },
    };
    if let (Some(start), Some(end)) = (interval.start, interval.end)
        && start > end
    {
        return Err(invalid(format!(
            "the interval \"{text}\" ends before it starts"
        )));
    }
    Ok(interval)
}

/// One bound: `full-date "T" partial-time time-offset` of RFC 3339 §5.6 (`T` and `Z` in
/// either case), or a `full-date` alone, its first or last instant (UTC).
fn rfc3339_bound(text: &str, end_of_day: bool) -> Option<Timestamp> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let full_date = |s: &str| {
        let b = s.as_bytes();
        s.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && digits(&s[..4], 4)
            && digits(&s[5..7], 2)
            && digits(&s[8..], 2)
    };
    if full_date(text) {
        let date: jiff::civil::Date = text.parse().ok()?;
        let time = if end_of_day {
            jiff::civil::Time::MAX
        } else {
            jiff::civil::Time::MIN
        };
        return jiff::tz::TimeZone::UTC
            .to_timestamp(date.to_datetime(time))
            .ok();
    }
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let time = rest.strip_prefix(['T', 't'])?;
    // HH:MM:SS, then an optional fraction, then Z or ±HH:MM.
    let (hms, rest) = (time.get(..8)?, time.get(8..)?);
    let hms_ok = {
        let b = hms.as_bytes();
        b[2] == b':'
            && b[5] == b':'
            && digits(&hms[..2], 2)
            && digits(&hms[3..5], 2)
            && digits(&hms[6..], 2)
    };
    let offset = match rest.strip_prefix('.') {
        Some(fraction) => {
            let end = fraction
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(fraction.len());
            (end > 0).then(|| &fraction[end..])?
        }
        None => rest,
    };
    let offset_ok = offset.eq_ignore_ascii_case("z")
        || (offset.len() == 6
            && offset.starts_with(['+', '-'])
            && offset.as_bytes()[3] == b':'
            && digits(&offset[1..3], 2)
            && digits(&offset[4..], 2));
    if !(full_date(date) && hms_ok && offset_ok) {
        return None;
    }
    text.to_ascii_uppercase().parse::<Timestamp>().ok()
}

fn parse_number(name: &str, text: &str) -> Result<f64, ApiError> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(name, format!("\"{text}\" is not a number")))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            name,
            format!("\"{text}\" is not a finite number"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> QueryParams {
        QueryParams::parse(Some(q))
    }

    fn parameter_of(e: ApiError) -> String {
        match e {
            ApiError::InvalidParameter { parameter, .. }
            | ApiError::UnknownParameter(parameter) => parameter,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bbox_accepts_four_or_six_numbers_and_the_antimeridian() {
        let b = params("bbox=170,-10,-170,10").bbox().unwrap().unwrap();
        assert!(b.crosses_antimeridian());
        assert!(params("bbox=0,0,0,1,1,0").bbox().unwrap().is_some());
        assert!(params("").bbox().unwrap().is_none());
    }

    #[test]
    fn bad_bboxes_name_the_parameter() {
        for q in [
            "bbox=1,2,3",
            "bbox=a,b,c,d",
            "bbox=0,10,1,5",
            "bbox=0,0,200,1",
            "bbox=0,-91,1,1",
            "bbox=NaN,0,1,1",
            "bbox=inf,0,1,1",
            "bbox=",
        ] {
            assert_eq!(parameter_of(params(q).bbox().unwrap_err()), "bbox", "{q}");
        }
    }

    #[test]
    fn limits_and_counts() {
        assert_eq!(params("").limit().unwrap(), DEFAULT_LIMIT);
        assert_eq!(params("limit=5").limit().unwrap(), 5);
        for q in [
            "limit=0",
            "limit=-1",
            "limit=10001",
            "limit=1e3",
            "limit=99999999999999999999999",
            "limit=x",
        ] {
            assert_eq!(parameter_of(params(q).limit().unwrap_err()), "limit", "{q}");
        }
        assert_eq!(
            parameter_of(params("offset=-3").offset().unwrap_err()),
            "offset"
        );
    }

    #[test]
    fn filters_parse_lists_and_reject_unknown_terms() {
        let f = params("country=de,FR&skill_area=cybersecurity,data_ai&kind=hub&q=Kraków")
            .filter()
            .unwrap();
        assert!(f.countries.unwrap().contains(Country::parse("FR").unwrap()));
        assert!(f.skill_areas.unwrap().contains(SkillArea::DataAi));
        assert_eq!(f.words, vec!["krakow"]);
        assert!(params("country=").filter().unwrap().is_empty());
        assert_eq!(
            parameter_of(params("kind=castle").filter().unwrap_err()),
            "kind"
        );
        assert_eq!(
            parameter_of(params("country=XX").filter().unwrap_err()),
            "country"
        );
        assert_eq!(
            parameter_of(
                params("target_group=smes&target_group=educators")
                    .filter()
                    .unwrap_err()
            ),
            "target_group"
        );
    }

    #[test]
    fn status_defaults_to_active_and_takes_all() {
        let statuses = |q: &str| params(q).filter().unwrap().statuses;
        assert_eq!(statuses(""), TermSet::of(Status::Active));
        assert_eq!(statuses("status="), TermSet::of(Status::Active));
        assert_eq!(statuses("status=closed"), TermSet::of(Status::Closed));
        assert_eq!(statuses("status=all"), Filter::all_statuses());
        assert_eq!(statuses("status=active,closed"), Filter::all_statuses());
        let e = params("status=gone").filter().unwrap_err();
        assert_eq!(parameter_of(e), "status");
        let precise = params("location_precision=address").filter().unwrap();
        assert!(
            precise
                .precisions
                .unwrap()
                .contains(LocationPrecision::Address)
        );
        let e = params("location_precision=gps").filter().unwrap_err();
        assert_eq!(parameter_of(e), "location_precision");
    }

    #[test]
    fn datetime_instants_and_intervals() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let open_end = params("datetime=2026-01-01T00:00:00Z/..")
            .filter()
            .unwrap()
            .updated
            .unwrap();
        assert_eq!(
            open_end,
            TimeInterval {
                start: Some(t("2026-01-01T00:00:00Z")),
                end: None
            }
        );
        let open_start = params("datetime=/2026-01-01T00:00:00Z")
            .filter()
            .unwrap()
            .updated
            .unwrap();
        assert_eq!(open_start.start, None);
        let day = params("datetime=2026-03-04")
            .filter()
            .unwrap()
            .updated
            .unwrap();
        assert!(
            day.contains(t("2026-03-04T23:59:59Z")) && !day.contains(t("2026-03-05T00:00:00Z"))
        );
        let instant = params("datetime=2026-03-04T10:00:00Z")
            .filter()
            .unwrap()
            .updated
            .unwrap();
        assert!(
            instant.contains(t("2026-03-04T10:00:00Z"))
                && !instant.contains(t("2026-03-04T10:00:01Z"))
        );
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let offset = params("datetime=2026-03-04T12:00:00.250%2B02:00")
            .filter()
            .unwrap()
            .updated
            .unwrap();
        assert_eq!(offset.start, Some(t("2026-03-04T10:00:00.25Z")));
        let lower = params("datetime=2026-03-04t10:00:00z/..").filter().unwrap();
        assert_eq!(
            lower.updated.unwrap().start,
            Some(t("2026-03-04T10:00:00Z"))
        );
        for bad in [
            "datetime=yesterday",
            "datetime=..",
            "datetime=../..",
            "datetime=/",
            "datetime=2026-03-04T10:00:00",
            "datetime=2026-03-04T10:00Z",
            "datetime=2026-03-04 10:00:00Z",
            "datetime=2026-03-04T10:00:00.Z",
            "datetime=2026-03-04T10:00:00%2B0200",
            "datetime=2026-03-04T10:00:00%2B02",
            "datetime=2026-3-4",
            "datetime=20260304",
            "datetime=2026-03-04T25:00:00Z",
            "datetime=2026-02-30",
            "datetime=%2B2026-03-04",
            "datetime=2026-03-04T10:00:00Z[Europe/Paris]",
            "datetime= 2026-03-04",
            "datetime=2026-02-01/2026-01-01",
            "datetime=a/b/c",
            "datetime=2026-13-01",
        ] {
            assert_eq!(
                parameter_of(params(bad).filter().unwrap_err()),
                "datetime",
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_parameters_are_rejected() {
        let p = params("limit=3&colour=red");
        assert_eq!(
            parameter_of(p.reject_unknown(&[&["limit"]]).unwrap_err()),
            "colour"
        );
        assert!(params("limit=3").reject_unknown(&[&["limit"]]).is_ok());
    }
}
