//! Reading and validating initiative datasets (GeoJSON), reporting every problem by feature and field.

mod record;
pub mod review;

use std::borrow::Cow;
use std::fmt;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::model::Initiative;
pub use record::{parse_feature, slug, valid_id, valid_location};

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

/// Reads, validates and reviews a dataset file as `skillsmap check` does: the validation's
/// warnings plus the evidence review's (see [`review`]) as of `today`.
pub fn check_file(
    path: &std::path::Path,
    today: jiff::civil::Date,
) -> Result<Dataset, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut dataset = parse(&text).map_err(DatasetError::Invalid)?;
    let lines = feature_lines(&text);
    dataset
        .warnings
        .extend(review::review(&dataset.initiatives, &lines, today));
    // Stable: each feature's warnings stay in field order.
    dataset.warnings.sort_by_key(|p| p.feature);
    Ok(dataset)
}

/// How many warnings name each field, most first, for a report's closing summary.
pub fn count_by_field(problems: &[Problem]) -> Vec<(&str, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for problem in problems {
        *counts
            .entry(problem.field.as_deref().unwrap_or("dataset"))
            .or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
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
    let mut lines = Lines::new(text);
    for (index, (raw, result)) in features.iter().zip(results).enumerate() {
        let line = lines.of(raw.get());
        let id = match &result {
            Ok((initiative, warnings)) if !warnings.is_empty() => Some(initiative.id.to_string()),
            Err(_) => feature_id(raw.get()),
            Ok(_) => None,
        };
        let locate = |field: String, message: String| Problem {
            feature: Some(index),
            id: id.clone(),
            line: Some(line),
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
    report.warnings.sort_by_key(|p| p.feature);
    if report.errors.is_empty() {
        Ok(Dataset {
            initiatives,
            warnings: report.warnings,
        })
    } else {
        Err(report)
    }
}

/// A valid record with its warnings, or every problem found in it.
pub type FeatureResult = Result<(Initiative, Vec<FieldProblem>), Vec<FieldProblem>>;

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
    Lines::new(text).of(slice)
}

/// Line numbers of sub-slices of one text asked in increasing order: each question counts
/// only the newlines since the previous one, so a whole file costs one pass.
struct Lines<'t> {
    text: &'t str,
    offset: usize,
    line: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Self {
        Lines {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The one-based line on which `slice` starts.
    fn of(&mut self, slice: &str) -> usize {
        let offset = (slice.as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len());
        if offset < self.offset {
            *self = Lines::new(self.text);
        }
        self.line += self.text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line
    }
}

/// The first line of every feature of a dataset's text, in file order (empty if the text is
/// not a FeatureCollection), for placing problems found after parsing.
pub fn feature_lines(text: &str) -> Vec<usize> {
    let Ok(collection) = serde_json::from_str::<RawCollection>(text) else {
        return Vec::new();
    };
    let mut lines = Lines::new(text);
    collection
        .features
        .unwrap_or_default()
        .iter()
        .map(|raw| lines.of(raw.get()))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Location, LocationPrecision, Status};

    fn feature(id: &str, lon: f64, lat: f64, country: &str) -> String {
        format!(
            r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},
            "properties":{{"name":"N","description":"D","organisation":"O","url":"https://example.org/",
            "country":"{country}","city":"C","skill_areas":["data_ai"],"target_groups":["smes"],
            "kind":"hub","languages":["en"],"updated_at":"2026-01-01T00:00:00Z","source":"test",
            "evidence_url":"https://example.org/about","verified_at":"2026-11-30","status":"active",
            "location_precision":"city"}}}}"#
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
        // Each test feature spans six lines, so the third starts on line 13.
        assert_eq!(swapped.line, Some(13));
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
    fn the_evidence_fields_are_read() {
        let closed = feature("de-a", 13.4, 52.5, "DE")
            .replace(r#""status":"active""#, r#""status":"closed""#)
            .replace(
                r#""location_precision":"city""#,
                r#""location_precision":"address""#,
            );
        let dataset = parse(&collection(&[closed])).unwrap();
        let initiative = &dataset.initiatives[0];
        assert_eq!(initiative.status, Status::Closed);
        assert_eq!(initiative.location_precision, LocationPrecision::Address);
        assert_eq!(
            initiative.evidence_url.as_deref(),
            Some("https://example.org/about")
        );
        assert_eq!(initiative.verified_at, Some("2026-11-30".parse().unwrap()));
        assert!(dataset.warnings.is_empty(), "{:?}", dataset.warnings);
    }

    #[test]
    fn missing_evidence_fields_are_warnings_with_defaults() {
        let bare = feature("de-a", 13.4, 52.5, "DE").replace(
            r#""evidence_url":"https://example.org/about","verified_at":"2026-11-30","status":"active",
            "location_precision":"city""#,
            r#""other":1"#,
        );
        let dataset = parse(&collection(&[feature("de-z", 13.4, 52.5, "DE"), bare])).unwrap();
        let initiative = &dataset.initiatives[1];
        assert_eq!(initiative.status, Status::Active);
        assert_eq!(initiative.location_precision, LocationPrecision::City);
        assert_eq!(initiative.evidence_url, None);
        let warned: Vec<_> = dataset
            .warnings
            .iter()
            .map(|w| (w.feature, w.id.as_deref(), w.line, w.field.as_deref()))
            .collect();
        assert_eq!(
            warned,
            [
                (
                    Some(1),
                    Some("de-a"),
                    Some(7),
                    Some("properties.evidence_url")
                ),
                (
                    Some(1),
                    Some("de-a"),
                    Some(7),
                    Some("properties.verified_at")
                ),
                (Some(1), Some("de-a"), Some(7), Some("properties.status")),
                (
                    Some(1),
                    Some("de-a"),
                    Some(7),
                    Some("properties.location_precision")
                ),
            ]
        );
        assert!(dataset.warnings[2].message.contains("taken as \"active\""));
    }

    #[test]
    fn a_non_http_evidence_url_is_a_warning_and_dropped() {
        let ftp = feature("de-a", 13.4, 52.5, "DE")
            .replace("https://example.org/about", "javascript:alert(1)");
        let dataset = parse(&collection(&[ftp])).unwrap();
        assert_eq!(dataset.initiatives[0].evidence_url, None);
        assert_eq!(
            dataset.warnings[0].field.as_deref(),
            Some("properties.evidence_url")
        );
        assert!(dataset.warnings[0].message.contains("http(s)"));
    }

    #[test]
    fn wrong_status_precision_or_date_are_errors() {
        let bad = feature("de-a", 13.4, 52.5, "DE")
            .replace(r#""status":"active""#, r#""status":"dissolved""#)
            .replace(
                r#""location_precision":"city""#,
                r#""location_precision":"street""#,
            )
            .replace(
                r#""verified_at":"2026-11-30""#,
                r#""verified_at":"30/11/2026""#,
            );
        let report = parse(&collection(&[bad])).unwrap_err();
        let fields: Vec<_> = report
            .errors
            .iter()
            .map(|p| p.field.as_deref().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "properties.verified_at",
                "properties.status",
                "properties.location_precision"
            ]
        );
        assert!(
            report.errors[1]
                .message
                .contains("expected one of active, closed")
        );
    }

    #[test]
    fn ids_are_slugs() {
        assert!(valid_id("de-edih-saxony_2").is_ok());
        for bad in ["", "-x", "De", "a b", "a/b", &"x".repeat(101)] {
            assert!(valid_id(bad).is_err(), "{bad}");
        }
    }
}
