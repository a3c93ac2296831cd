//! Reading and validating initiative datasets (GeoJSON), reporting every problem by feature and field.

use std::borrow::Cow;
use std::fmt;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::country::Country;
use crate::model::{Initiative, Kind, Language, Location, TermSet, Vocabulary};

/// Longest accepted values, so one record cannot balloon memory or the page.
const MAX_ID: usize = 100;
const MAX_SHORT_TEXT: usize = 300;
const MAX_DESCRIPTION: usize = 5_000;
const MAX_URL: usize = 2_000;

/// One thing wrong with a dataset: where (feature index, id, line, field) and what.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// Zero-based position of the feature in `features`, when the problem belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// One-based line of the problem (the feature's first line for field problems).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Dotted path of the field, e.g. `properties.country` or `geometry.coordinates`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.feature {
            write!(f, "feature {index}")?;
            if let Some(id) = &self.id {
                write!(f, " (id \"{id}\")")?;
            }
            if let Some(line) = self.line {
                write!(f, " at line {line}")?;
            }
        } else if let Some(line) = self.line {
            write!(f, "line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        } else {
            write!(f, "dataset")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A problem with one field of a record, before it is placed in a dataset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything found wrong with a dataset; errors make it unusable, warnings do not.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.errors {
            writeln!(f, "error: {problem}")?;
        }
        for problem in &self.warnings {
            writeln!(f, "warning: {problem}")?;
        }
        write!(
            f,
            "{} error(s), {} warning(s)",
            self.errors.len(),
            self.warnings.len()
        )
    }
}

/// Why a dataset could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid dataset:\n{0}")]
    Invalid(Report),
}

/// A validated dataset: the initiatives in file order, and what was worth a warning.
#[derive(Debug)]
pub struct Dataset {
    pub initiatives: Vec<Initiative>,
    pub warnings: Vec<Problem>,
}

/// Reads and validates a dataset file.
pub fn read_file(path: &std::path::Path) -> Result<Dataset, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(DatasetError::Invalid)
}

#[derive(Deserialize)]
struct RawCollection<'a> {
    #[serde(rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    features: Option<Vec<&'a RawValue>>,
}

/// Parses and validates a GeoJSON FeatureCollection of initiatives. Either every feature is
/// valid and the dataset is returned, or the report lists every problem found.
pub fn parse(text: &str) -> Result<Dataset, Report> {
    let collection: RawCollection = serde_json::from_str(text).map_err(|e| Report {
        errors: vec![json_problem(&e)],
        warnings: vec![],
    })?;
    let mut report = Report::default();
    if collection.kind.as_deref() != Some("FeatureCollection") {
        report.errors.push(dataset_problem(
            "type",
            "the top level must be a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")",
        ));
    }
    let Some(features) = collection.features else {
        report
            .errors
            .push(dataset_problem("features", "missing \"features\" array"));
        return Err(report);
    };

    let results: Vec<_> = features
        .par_iter()
        .map(|raw| parse_feature(raw.get()))
        .collect();

    report
        .errors
        .extend(duplicate_ids(text, &features, &results));
    if report.errors.is_empty()
        && results
            .par_iter()
            .all(|r| matches!(r, Ok((_, w)) if w.is_empty()))
    {
        // The common case of a clean file: no positions to report, so move in parallel.
        let initiatives = results
            .into_par_iter()
            .filter_map(|r| r.ok().map(|(initiative, _)| initiative))
            .collect();
        return Ok(Dataset {
            initiatives,
            warnings: Vec::new(),
        });
    }
    let mut initiatives = Vec::with_capacity(results.len());
    for (index, (raw, result)) in features.iter().zip(results).enumerate() {
        let locate = |field: String, message: String| Problem {
            feature: Some(index),
            id: feature_id(raw.get()),
            line: Some(line_of(text, raw.get())),
            column: None,
            field: Some(field),
            message,
        };
        match result {
            Ok((initiative, warnings)) => {
                report
                    .warnings
                    .extend(warnings.into_iter().map(|w| locate(w.field, w.message)));
                initiatives.push(initiative);
            }
            Err(problems) => report
                .errors
                .extend(problems.into_iter().map(|p| locate(p.field, p.message))),
        }
    }
    report.errors.sort_by_key(|p| p.feature);
    if report.errors.is_empty() {
        Ok(Dataset {
            initiatives,
            warnings: report.warnings,
        })
    } else {
        Err(report)
    }
}

type FeatureResult = Result<(Initiative, Vec<FieldProblem>), Vec<FieldProblem>>;

/// A problem for every feature whose id an earlier feature already has. Sorting the ids
/// (in parallel) finds them without a second copy of every id.
fn duplicate_ids(text: &str, features: &[&RawValue], results: &[FeatureResult]) -> Vec<Problem> {
    let fallback: Vec<Option<String>> = results
        .par_iter()
        .zip(features)
        .map(|(result, raw)| match result {
            Ok(_) => None,
            Err(_) => feature_id(raw.get()),
        })
        .collect();
    let id_of = |index: usize| -> Option<&str> {
        match &results[index] {
            Ok((initiative, _)) => Some(&*initiative.id),
            Err(_) => fallback[index].as_deref(),
        }
    };
    let mut order: Vec<usize> = (0..results.len()).filter(|i| id_of(*i).is_some()).collect();
    order.par_sort_unstable_by(|a, b| id_of(*a).cmp(&id_of(*b)).then(a.cmp(b)));
    order
        .windows(2)
        .filter(|pair| id_of(pair[0]) == id_of(pair[1]))
        .map(|pair| {
            // Each later duplicate names the first feature with that id.
            let first = order[order.partition_point(|i| id_of(*i) < id_of(pair[1]))];
            Problem {
                feature: Some(pair[1]),
                id: id_of(pair[1]).map(str::to_owned),
                line: Some(line_of(text, features[pair[1]].get())),
                column: None,
                field: Some("id".into()),
                message: format!("duplicate id; feature {first} has the same id"),
            }
        })
        .collect()
}

fn dataset_problem(field: &str, message: &str) -> Problem {
    Problem {
        feature: None,
        id: None,
        line: None,
        column: None,
        field: Some(field.into()),
        message: message.into(),
    }
}

fn json_problem(e: &serde_json::Error) -> Problem {
    Problem {
        feature: None,
        id: None,
        line: Some(e.line()),
        column: Some(e.column()),
        field: None,
        message: format!("malformed JSON: {}", strip_position(&e.to_string())),
    }
}

/// serde_json appends " at line L column C"; the report shows those as fields instead.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |cut| &message[..cut])
}

/// One-based line on which `slice` (a sub-slice of `text`) starts.
fn line_of(text: &str, slice: &str) -> usize {
    let offset = (slice.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The feature's id, if it has a readable one, to help locate problems.
fn feature_id(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<IdOnly>(raw).ok()?.id? {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// The wire shape of one feature, every member optional so that validation can say what is
/// missing instead of failing on the first absent field.
#[derive(Deserialize)]
struct RawFeature<'a> {
    #[serde(rename = "type")]
    kind: Option<Cow<'a, str>>,
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    geometry: Option<RawGeometry<'a>>,
    #[serde(borrow)]
    properties: Option<RawProperties<'a>>,
}

/// A geometry whose coordinates are read only once its type is known to be a Point.
#[derive(Deserialize)]
struct RawGeometry<'a> {
    #[serde(rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    coordinates: Option<&'a RawValue>,
}

/// The properties of a feature. Unknown members are ignored so that partners' extra fields
/// (and our own computed ones, such as region codes) round-trip without error.
#[derive(Deserialize, Default)]
pub(crate) struct RawProperties<'a> {
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub organisation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub country: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub city: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub skill_areas: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub target_groups: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub languages: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub start: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub end: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub source: Option<Cow<'a, str>>,
}

/// Validates one GeoJSON feature (as JSON text) into an initiative, with any warnings.
pub fn parse_feature(raw: &str) -> FeatureResult {
    let feature: RawFeature = match serde_json::from_str(raw) {
        Ok(feature) => feature,
        Err(_) => return Err(vec![type_problem(raw)]),
    };
    let mut problems = Vec::new();
    if feature.kind.as_deref() != Some("Feature") {
        problems.push(FieldProblem::new("type", "must be \"Feature\""));
    }
    let id = match &feature.id {
        Some(serde_json::Value::String(id)) => Some(id.as_str()),
        Some(_) => {
            problems.push(FieldProblem::new("id", "must be a string slug"));
            None
        }
        None => {
            problems.push(FieldProblem::new(
                "id",
                "missing (the feature's own \"id\" member)",
            ));
            None
        }
    };
    let location = feature_location(feature.geometry.as_ref(), &mut problems);
    let properties = match feature.properties {
        Some(properties) => properties,
        None => {
            problems.push(FieldProblem::new("properties", "missing"));
            RawProperties::default()
        }
    };
    initiative_from_parts(id, location, properties, problems)
}

/// Builds an initiative from its id, location and properties, adding to `problems` whatever is
/// wrong. Shared by dataset files and by single records submitted over the API.
pub(crate) fn initiative_from_parts(
    id: Option<&str>,
    location: Option<Location>,
    p: RawProperties<'_>,
    mut problems: Vec<FieldProblem>,
) -> Result<(Initiative, Vec<FieldProblem>), Vec<FieldProblem>> {
    let mut warnings = Vec::new();
    let id = id.and_then(|id| check(valid_id(id), "id", &mut problems));
    let name = text(&p.name, "properties.name", MAX_SHORT_TEXT, &mut problems);
    let description = text(
        &p.description,
        "properties.description",
        MAX_DESCRIPTION,
        &mut problems,
    );
    let organisation = text(
        &p.organisation,
        "properties.organisation",
        MAX_SHORT_TEXT,
        &mut problems,
    );
    let city = text(&p.city, "properties.city", MAX_SHORT_TEXT, &mut problems);
    let source = text(
        &p.source,
        "properties.source",
        MAX_SHORT_TEXT,
        &mut problems,
    );
    let url = required(&p.url, "properties.url", &mut problems)
        .and_then(|url| check(valid_url(url), "properties.url", &mut problems));
    let country = required(&p.country, "properties.country", &mut problems)
        .and_then(|code| check(Country::parse(code), "properties.country", &mut problems));
    let skill_areas = terms(&p.skill_areas, "properties.skill_areas", &mut problems);
    let target_groups = terms(&p.target_groups, "properties.target_groups", &mut problems);
    let kind = required(&p.kind, "properties.kind", &mut problems).and_then(|slug| {
        let parsed = Kind::from_slug(slug).ok_or_else(|| {
            format!(
                "unknown kind \"{slug}\" (expected one of {})",
                Kind::expected()
            )
        });
        check(parsed, "properties.kind", &mut problems)
    });
    let languages = languages(&p.languages, &mut problems);
    let start = optional_date(&p.start, "properties.start", &mut problems);
    let end = optional_date(&p.end, "properties.end", &mut problems);
    if let (Some(Some(start)), Some(Some(end))) = (start, end)
        && end < start
    {
        problems.push(FieldProblem::new(
            "properties.end",
            "is before properties.start",
        ));
    }
    let updated_at =
        required(&p.updated_at, "properties.updated_at", &mut problems).and_then(|t| {
            let parsed = t.parse::<jiff::Timestamp>().map_err(|_| {
                format!("\"{t}\" is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z")
            });
            check(parsed, "properties.updated_at", &mut problems)
        });
    if let (Some(country), Some(location)) = (country, location)
        && !country.roughly_contains(location.lon, location.lat)
    {
        warnings.push(FieldProblem::new(
            "geometry.coordinates",
            format!(
                "[{}, {}] lies outside {} ({})",
                location.lon,
                location.lat,
                country.name(),
                country
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Every value below is Some: a None would have added a problem above.
    let initiative = Initiative {
        id: id.unwrap_or_default().into(),
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        organisation: organisation.unwrap_or_default(),
        url: url.unwrap_or_default(),
        country: country.expect("checked"),
        city: city.unwrap_or_default(),
        location: location.expect("checked"),
        skill_areas: skill_areas.unwrap_or(TermSet::EMPTY),
        target_groups: target_groups.unwrap_or(TermSet::EMPTY),
        kind: kind.expect("checked"),
        languages: languages.unwrap_or_default(),
        start: start.flatten(),
        end: end.flatten(),
        updated_at: updated_at.expect("checked"),
        source: source.unwrap_or_default(),
    };
    Ok((initiative, warnings))
}

/// Re-reads a feature that failed typed parsing to name the field with the wrong type.
fn type_problem(raw: &str) -> FieldProblem {
    let deserializer = &mut serde_json::Deserializer::from_str(raw);
    match serde_path_to_error::deserialize::<_, RawFeature>(deserializer) {
        Err(e) => {
            let inner = strip_position(&e.inner().to_string()).to_string();
            FieldProblem::new(e.path().to_string(), inner)
        }
        Ok(_) => FieldProblem::new("feature", "unreadable feature"),
    }
}

fn feature_location(
    geometry: Option<&RawGeometry>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Location> {
    let Some(geometry) = geometry else {
        problems.push(FieldProblem::new(
            "geometry",
            "missing (a Point is required)",
        ));
        return None;
    };
    if geometry.kind.as_deref() != Some("Point") {
        problems.push(FieldProblem::new("geometry.type", "must be \"Point\""));
        return None;
    }
    let Some(coordinates) = geometry.coordinates else {
        problems.push(FieldProblem::new("geometry.coordinates", "missing"));
        return None;
    };
    let position: Result<geojson::Position, String> = serde_json::from_str(coordinates.get())
        .map_err(|_| "a position must be an array of numbers [longitude, latitude]".into());
    let location = position.and_then(|p| valid_location(p.as_slice()));
    check(location, "geometry.coordinates", problems)
}

/// Checks a [lon, lat] (or [lon, lat, height]) position.
pub fn valid_location(position: &[f64]) -> Result<Location, String> {
    let (lon, lat) = match position {
        [lon, lat] | [lon, lat, _] => (*lon, *lat),
        _ => return Err("a position must be [longitude, latitude]".into()),
    };
    if !lon.is_finite() || !lat.is_finite() {
        return Err("coordinates must be finite numbers".into());
    }
    let lon_ok = (-180.0..=180.0).contains(&lon);
    let lat_ok = (-90.0..=90.0).contains(&lat);
    match (lon_ok, lat_ok) {
        (true, true) => Ok(Location { lon, lat }),
        (true, false) if (-90.0..=90.0).contains(&lon) => Err(format!(
            "latitude {lat} is out of range [-90, 90]; lon/lat look swapped (GeoJSON order is [longitude, latitude])"
        )),
        (true, false) => Err(format!("latitude {lat} is out of range [-90, 90]")),
        (false, _) => Err(format!("longitude {lon} is out of range [-180, 180]")),
    }
}

/// Pushes the error of `result`, if any, as a problem with `field`; passes the value on.
fn check<T>(result: Result<T, String>, field: &str, problems: &mut Vec<FieldProblem>) -> Option<T> {
    result
        .map_err(|message| problems.push(FieldProblem::new(field, message)))
        .ok()
}

fn required<'s>(
    value: &'s Option<Cow<'_, str>>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<&'s str> {
    match value.as_deref().map(str::trim) {
        Some("") | None => {
            problems.push(FieldProblem::new(field, "missing or empty"));
            None
        }
        Some(value) => Some(value),
    }
}

fn text(
    value: &Option<Cow<'_, str>>,
    field: &str,
    max: usize,
    problems: &mut Vec<FieldProblem>,
) -> Option<Box<str>> {
    let value = required(value, field, problems)?;
    let checked = if value.chars().count() > max {
        Err(format!("longer than {max} characters"))
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Err("contains control characters".into())
    } else {
        Ok(value.into())
    };
    check(checked, field, problems)
}

/// `text` as slug material: lowercase ASCII letters and digits, every other run of
/// characters one `-`, accents dropped; at most `max` bytes, no `-` at either end.
pub fn slug(text: &str, max: usize) -> String {
    let mut slug = String::new();
    for c in deunicode::deunicode(text).chars() {
        if slug.len() >= max {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// A slug: lowercase ASCII letters and digits, with `-` or `_` between them.
pub fn valid_id(id: &str) -> Result<&str, String> {
    let bytes = id.as_bytes();
    let shaped = !bytes.is_empty()
        && bytes.len() <= MAX_ID
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_');
    if shaped {
        Ok(id)
    } else {
        Err(format!(
            "\"{id}\" is not a slug (1 to {MAX_ID} of a-z, 0-9, '-', '_', starting with a letter or digit)"
        ))
    }
}

fn valid_url(url: &str) -> Result<Box<str>, String> {
    if url.len() > MAX_URL {
        return Err(format!("longer than {MAX_URL} characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("\"{url}\" is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("\"{url}\" must be an absolute http(s) URL"));
    }
    Ok(url.into())
}

fn terms<T: Vocabulary>(
    values: &Option<Vec<Cow<'_, str>>>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<TermSet<T>> {
    let Some(values) = values.as_ref().filter(|v| !v.is_empty()) else {
        problems.push(FieldProblem::new(
            field,
            "missing or empty (at least one term is required)",
        ));
        return None;
    };
    let mut set = TermSet::EMPTY;
    let mut ok = true;
    for (i, slug) in values.iter().enumerate() {
        match T::from_slug(slug) {
            Some(term) => set.insert(term),
            None => {
                ok = false;
                problems.push(FieldProblem::new(
                    format!("{field}[{i}]"),
                    format!(
                        "unknown term \"{slug}\" (expected one of {})",
                        T::expected()
                    ),
                ));
            }
        }
    }
    ok.then_some(set)
}

fn languages(
    values: &Option<Vec<Cow<'_, str>>>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Box<[Language]>> {
    let field = "properties.languages";
    let Some(values) = values.as_ref().filter(|v| !v.is_empty()) else {
        problems.push(FieldProblem::new(
            field,
            "missing or empty (ISO 639-1 codes such as \"en\")",
        ));
        return None;
    };
    let mut languages = Vec::with_capacity(values.len());
    for (i, code) in values.iter().enumerate() {
        match Language::parse(code) {
            Some(language) if !languages.contains(&language) => languages.push(language),
            Some(_) => {}
            None => problems.push(FieldProblem::new(
                format!("{field}[{i}]"),
                format!("\"{code}\" is not an ISO 639-1 code (two lowercase letters)"),
            )),
        }
    }
    Some(languages.into_boxed_slice())
}

/// `None` when invalid (a problem was recorded), `Some(None)` when absent.
fn optional_date(
    value: &Option<Cow<'_, str>>,
    field: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<Option<jiff::civil::Date>> {
    match value.as_deref() {
        None => Some(None),
        Some(text) => {
            let parsed = text
                .parse::<jiff::civil::Date>()
                .map_err(|_| format!("\"{text}\" is not a date of the form YYYY-MM-DD"));
            check(parsed, field, problems).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(id: &str, lon: f64, lat: f64, country: &str) -> String {
        format!(
            r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},
            "properties":{{"name":"N","description":"D","organisation":"O","url":"https://example.org/",
            "country":"{country}","city":"C","skill_areas":["data_ai"],"target_groups":["smes"],
            "kind":"hub","languages":["en"],"updated_at":"2026-01-01T00:00:00Z","source":"test"}}}}"#
        )
    }

    fn collection(features: &[String]) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",\n")
        )
    }

    #[test]
    fn a_valid_feature_becomes_an_initiative() {
        let dataset = parse(&collection(&[feature("de-a", 13.4, 52.5, "DE")])).unwrap();
        let initiative = &dataset.initiatives[0];
        assert_eq!(&*initiative.id, "de-a");
        assert_eq!(
            initiative.location,
            Location {
                lon: 13.4,
                lat: 52.5
            }
        );
        assert_eq!(initiative.country.code(), "DE");
        assert!(dataset.warnings.is_empty());
    }

    #[test]
    fn coordinates_are_read_exactly() {
        // Correct rounding matters: clients compare coordinates with what they sent.
        let (lon, lat) = (21.987_654_321_098_765_f64, 39.059_622_038_534_684_f64);
        let dataset = parse(&collection(&[feature("gr-a", lon, lat, "GR")])).unwrap();
        assert_eq!(dataset.initiatives[0].location, Location { lon, lat });
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let report = parse("{\"type\": \"FeatureCollection\",\n \"features\": [,]}").unwrap_err();
        let problem = &report.errors[0];
        assert_eq!(problem.line, Some(2));
        assert!(problem.column.is_some());
        assert!(problem.message.starts_with("malformed JSON"));
    }

    #[test]
    fn every_problem_is_reported_with_feature_and_field() {
        let bad = feature("fr-b", 2.35, 48.85, "EL").replace("\"hub\"", "\"castle\"");
        let swapped = feature("de-c", 52.5, 113.4, "DE");
        let report = parse(&collection(&[
            feature("de-a", 13.4, 52.5, "DE"),
            bad,
            swapped,
        ]))
        .unwrap_err();
        let fields: Vec<_> = report
            .errors
            .iter()
            .map(|p| (p.feature.unwrap(), p.field.clone().unwrap()))
            .collect();
        assert!(
            fields.contains(&(1, "properties.country".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&(1, "properties.kind".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&(2, "geometry.coordinates".into())),
            "{fields:?}"
        );
        let swapped = report.errors.iter().find(|p| p.feature == Some(2)).unwrap();
        assert!(swapped.message.contains("swapped"), "{}", swapped.message);
        // Each test feature spans four lines, so the third starts on line 9.
        assert_eq!(swapped.line, Some(9));
    }

    #[test]
    fn swapped_coordinates_inside_range_are_warned_about() {
        let dataset = parse(&collection(&[feature("de-a", 52.5, 13.4, "DE")])).unwrap();
        assert_eq!(dataset.warnings.len(), 1);
        assert!(dataset.warnings[0].message.contains("outside Germany"));
    }

    #[test]
    fn duplicate_ids_and_missing_fields_are_errors() {
        let missing = feature("de-b", 13.4, 52.5, "DE").replace(r#""name":"N","#, "");
        let report = parse(&collection(&[
            feature("de-a", 13.4, 52.5, "DE"),
            feature("de-a", 13.4, 52.5, "DE"),
            missing,
        ]))
        .unwrap_err();
        let messages: Vec<_> = report.errors.iter().map(|p| p.to_string()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("feature 1") && m.contains("duplicate id")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("feature 2") && m.contains("properties.name: missing")),
            "{messages:?}"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let bad = feature("de-a", 13.4, 52.5, "DE").replace(r#""name":"N""#, r#""name":5"#);
        let report = parse(&collection(&[bad])).unwrap_err();
        assert_eq!(report.errors[0].field.as_deref(), Some("properties.name"));
    }

    #[test]
    fn urls_must_be_http() {
        let bad = feature("de-a", 13.4, 52.5, "DE")
            .replace("https://example.org/", "javascript:alert(1)");
        let report = parse(&collection(&[bad])).unwrap_err();
        assert_eq!(report.errors[0].field.as_deref(), Some("properties.url"));
    }

    #[test]
    fn ids_are_slugs() {
        assert!(valid_id("de-edih-saxony_2").is_ok());
        for bad in ["", "-x", "De", "a b", "a/b", &"x".repeat(101)] {
            assert!(valid_id(bad).is_err(), "{bad}");
        }
    }
}
