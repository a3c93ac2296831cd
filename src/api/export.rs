//! Streamed exports of a query: CSV with lon/lat columns, and GeoJSON Lines (one Feature a line).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;

use crate::api::caching;
use crate::api::negotiation::{self, MediaTypes};
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::api::selection::Selection;
use crate::index::Slot;
use crate::records::InitiativeRef;
use crate::snapshot::Snapshot;

/// How many initiatives go into one chunk of a streamed body.
const CHUNK: usize = 512;

/// The representations of a list of initiatives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Csv,
    GeoJsonLines,
    /// An Atom feed of the newest changes (see [`crate::api::feed`]).
    Atom,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJsonLines => "application/geo+json-seq",
            Format::Atom => crate::api::feed::ATOM,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Csv => "csv",
            Format::GeoJsonLines => "geojsonl",
            Format::Atom => "atom",
        }
    }
}

/// The format asked for by `f` or, failing that, by `Accept` (406 when it refuses them
/// all); GeoJSON by default.
pub fn negotiate(params: &QueryParams, headers: &HeaderMap) -> Result<Format, ApiError> {
    match params.get("f")? {
        Some("json" | "geojson") => return Ok(Format::GeoJson),
        Some("csv") => return Ok(Format::Csv),
        Some("geojsonl" | "geojsonseq" | "jsonl" | "ndjson") => return Ok(Format::GeoJsonLines),
        Some("atom") => return Ok(Format::Atom),
        Some(other) => {
            return Err(ApiError::invalid(
                "f",
                format!("unsupported format \"{other}\" (expected json, csv, geojsonl or atom)"),
            ));
        }
        None => {}
    }
    negotiation::choose::<MediaTypes, _>(
        headers,
        &[
            (Format::GeoJson, Format::GeoJson.media_type()),
            (Format::GeoJson, "application/json"),
            (Format::Csv, Format::Csv.media_type()),
            (Format::GeoJsonLines, Format::GeoJsonLines.media_type()),
            (Format::GeoJsonLines, "application/x-ndjson"),
            (Format::Atom, Format::Atom.media_type()),
        ],
    )
}

/// Streams `slots` of `snapshot` in `format` (CSV or GeoJSON Lines), a chunk at a time, so
/// that even a full export never holds the whole body.
pub fn streamed(
    headers: &HeaderMap,
    etag_base: &str,
    snapshot: Arc<Snapshot>,
    slots: Vec<Slot>,
    format: Format,
    selection: Selection,
) -> Response {
    let etag = caching::etag(&[etag_base.as_bytes(), format.name().as_bytes()]);
    if caching::client_has(headers, &etag) {
        return caching::not_modified(&etag);
    }
    let chunks = stream::iter((0..slots.len().div_ceil(CHUNK).max(1)).map(move |chunk| {
        let batch =
            &slots[(chunk * CHUNK).min(slots.len())..((chunk + 1) * CHUNK).min(slots.len())];
        let bytes = match format {
            Format::Csv => csv_rows(
                batch.iter().map(|s| snapshot.get(*s)),
                chunk == 0,
                &selection,
            ),
            _ if selection.is_whole() => json_lines(batch.iter().map(|s| snapshot.feature(*s))),
            _ => json_lines(batch.iter().map(|s| selection.shape(&snapshot.feature(*s)))),
        };
        Ok::<Bytes, std::io::Error>(Bytes::from(bytes))
    }));
    let mut response = caching::fresh(&etag, "application/octet-stream", Vec::new());
    *response.body_mut() = Body::from_stream(chunks);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

fn json_lines<F: serde::Serialize>(features: impl Iterator<Item = F>) -> Vec<u8> {
    let mut out = Vec::new();
    for feature in features {
        // Serialising our own types cannot fail; a line is skipped rather than the stream cut.
        if serde_json::to_writer(&mut out, &feature).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

const CSV_HEADER: [&str; 21] = [
    "id",
    "name",
    "description",
    "organisation",
    "url",
    "country",
    "city",
    "lon",
    "lat",
    "skill_areas",
    "target_groups",
    "kind",
    "languages",
    "start",
    "end",
    "updated_at",
    "source",
    "evidence_url",
    "verified_at",
    "status",
    "location_precision",
];

fn csv_rows<'a>(
    initiatives: impl Iterator<Item = InitiativeRef<'a>>,
    with_header: bool,
    selection: &Selection,
) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let kept: Vec<bool> = CSV_HEADER.iter().map(|c| selection.keeps(c)).collect();
    let select = |row: &[String]| -> Vec<String> {
        row.iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v.clone())
            .collect()
    };
    if with_header {
        let header: Vec<String> = CSV_HEADER.iter().map(|c| c.to_string()).collect();
        let _ = writer.write_record(select(&header));
    }
    for i in initiatives {
        let joined = |items: Vec<&str>| items.join(";");
        let row = [
            i.id.to_string(),
            inert(i.name),
            inert(i.description),
            inert(i.organisation),
            i.url.to_string(),
            i.country.code().to_string(),
            inert(i.city),
            i.location.lon.to_string(),
            i.location.lat.to_string(),
            joined(i.skill_areas.iter().map(|t| t.slug()).collect()),
            joined(i.target_groups.iter().map(|t| t.slug()).collect()),
            i.kind.slug().to_string(),
            joined(i.languages.iter().map(|l| l.as_str()).collect()),
            i.start.map(|d| d.to_string()).unwrap_or_default(),
            i.end.map(|d| d.to_string()).unwrap_or_default(),
            i.updated_at.to_string(),
            inert(i.source),
            i.evidence_url.unwrap_or_default().to_string(),
            i.verified_at.map(|d| d.to_string()).unwrap_or_default(),
            i.status.slug().to_string(),
            i.location_precision.slug().to_string(),
        ];
        let _ = writer.write_record(select(&row));
    }
    writer.into_inner().unwrap_or_default()
}

/// Text that a spreadsheet would run as a formula gets a leading apostrophe, so an export
/// opened in a spreadsheet stays data.
pub(crate) fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::Feature;
    use crate::index::tests::initiative;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut a = initiative("a", 13.4, 52.5);
        a.name = "=HYPERLINK(\"http://evil\")".into();
        a.description = "Line one, \"quoted\"\nline two".into();
        let bytes = csv_rows([a.as_ref()].into_iter(), true, &Selection::default());
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.get(7), Some("lon"));
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(row.get(1), Some("'=HYPERLINK(\"http://evil\")"));
        assert_eq!(row.get(2), Some("Line one, \"quoted\"\nline two"));
        assert_eq!((row.get(7), row.get(8)), (Some("13.4"), Some("52.5")));
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        assert_eq!(row.get(column("status")), Some("active"));
        assert_eq!(row.get(column("location_precision")), Some("city"));
        assert_eq!(
            row.get(column("evidence_url")),
            Some("https://example.org/evidence")
        );
        assert_eq!(row.get(column("verified_at")), Some(""));
    }

    #[test]
    fn json_lines_are_one_feature_each() {
        let a = initiative("a", 1.0, 2.0);
        let b = initiative("b", 3.0, 4.0);
        let text = String::from_utf8(json_lines([&a, &b].into_iter().map(Feature::new))).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["id"], "b");
    }
}
