//! Fetching a partner's feed (a file or an http(s) URL, with limits) and reading its records:
//! GeoJSON FeatureCollections, OGC API – Features pages linked by `next`, CSV, and plain JSON
//! arrays of records.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Map, Value};
use url::Url;

use super::HarvestError;
use super::geojson;
use super::mapping::{CsvLayout, JsonLayout, Mapping, lookup};

/// How far a fetch may go before it is abandoned.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The whole of one response, from the request to the last byte.
    pub timeout: Duration,
    /// Largest body accepted (after decompression).
    pub max_bytes: usize,
    pub max_redirects: usize,
    /// Most `next` pages followed in one run.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            max_bytes: 256 * 1024 * 1024,
            max_redirects: 5,
            max_pages: 10_000,
        }
    }
}

/// Where the records come from.
#[derive(Clone, Debug)]
pub enum Location {
    File(PathBuf),
    Web(Url),
}

impl Location {
    pub fn parse(text: &str) -> Result<Location, HarvestError> {
        if text.starts_with("http://") || text.starts_with("https://") {
            Url::parse(text)
                .map(Location::Web)
                .map_err(|e| HarvestError::Source(format!("\"{text}\" is not a URL: {e}")))
        } else if text.contains("://") {
            Err(HarvestError::Source(format!(
                "\"{text}\": only files and http(s) URLs can be harvested"
            )))
        } else {
            Ok(Location::File(PathBuf::from(text)))
        }
    }

    /// A default name for the feed: the host, or the file's stem.
    pub fn default_name(&self) -> String {
        match self {
            Location::Web(url) => url.host_str().unwrap_or("feed").to_string(),
            Location::File(path) => path
                .file_stem()
                .map_or("file".into(), |s| s.to_string_lossy().into_owned()),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Web(url) => write!(f, "{url}"),
        }
    }
}

/// The validators of the last successful fetch, for a conditional GET.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a page's records are read from: a response held in memory (at most `max_bytes`),
/// or a file, read as it is parsed.
pub enum Content {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// One response body and what describes it.
pub struct Body {
    pub content: Content,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Where the body came from after redirects, to resolve relative links.
    pub url: Option<Url>,
}

/// What a fetch found.
pub enum Fetched {
    NotModified,
    Body(Body),
}

/// Fetches over HTTP with reqwest (rustls, gzip), within `Limits`.
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Fetcher, HarvestError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "skillsmap/",
                env!("CARGO_PKG_VERSION"),
                " (harvest)"
            ))
            .connect_timeout(Duration::from_secs(10).min(limits.timeout))
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::limited(limits.max_redirects))
            .gzip(true)
            .build()
            .map_err(|e| HarvestError::Source(format!("cannot make an HTTP client: {e}")))?;
        Ok(Fetcher { client, limits })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Reads `location`; a URL is fetched conditionally when `validators` are given.
    pub async fn fetch(
        &self,
        location: &Location,
        validators: Option<&Validators>,
    ) -> Result<Fetched, HarvestError> {
        match location {
            Location::File(path) => {
                let size = tokio::fs::metadata(path)
                    .await
                    .and_then(|m| {
                        std::fs::File::open(path)?;
                        Ok(m.len())
                    })
                    .map_err(|e| {
                        HarvestError::Source(format!("cannot read {}: {e}", path.display()))
                    })?;
                if size > self.limits.max_bytes as u64 {
                    return Err(HarvestError::TooLarge {
                        origin: location.to_string(),
                        limit: self.limits.max_bytes,
                    });
                }
                Ok(Fetched::Body(Body {
                    content: Content::File(path.clone()),
                    content_type: None,
                    validators: Validators::default(),
                    url: None,
                }))
            }
            Location::Web(url) => self.get(url, validators).await,
        }
    }

    async fn get(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Fetched, HarvestError> {
        let failed = |reason: String| HarvestError::Fetch {
            url: url.to_string(),
            reason,
        };
        let mut request = self.client.get(url.clone()).header(
            reqwest::header::ACCEPT,
            "application/geo+json, application/json;q=0.9, text/csv;q=0.8",
        );
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
            }
        }
        let response = request.send().await.map_err(|e| failed(describe(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(failed(format!("the server answered {status}")));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let final_url = response.url().clone();
        let too_large = || HarvestError::TooLarge {
            origin: url.to_string(),
            limit: self.limits.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.limits.max_bytes as u64)
        {
            return Err(too_large());
        }
        // Counted as it arrives: a server may lie about the length, or send none.
        let mut bytes = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(describe(&e)))?;
            if bytes.len() + chunk.len() > self.limits.max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(Body {
            content: Content::Bytes(bytes),
            content_type,
            validators,
            url: Some(final_url),
        }))
    }
}

/// reqwest's error with its causes, which hold the useful part ("too many redirects", ...).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else {
        error.to_string()
    };
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// One record as the partner wrote it.
#[derive(Clone, Debug)]
pub struct Record {
    /// Where it is in the feed, for reports: `feature 12 (page 2)`, `line 7`.
    pub position: String,
    pub feature_id: Option<Value>,
    pub geometry: Option<Value>,
    pub properties: Map<String, Value>,
}

/// A record that could not even be read as a record.
#[derive(Clone, Debug)]
pub struct Unreadable {
    pub position: String,
    pub reason: String,
}

/// Takes each record of a page as it is read; returns false to stop reading.
pub type Emit<'a> = dyn FnMut(Result<Record, Unreadable>) -> bool + 'a;

/// Why a page's reading stopped early: the taker of its records gave up.
pub(super) const STOPPED: &str = "the harvest stopped reading";

/// Reads a body as the mapping says (plain JSON records), else as CSV or GeoJSON (a
/// FeatureCollection or an OGC API items page), whichever it looks like, handing each record
/// to `emit` as it is read; returns the next page's URL if the feed is paged. GeoJSON and CSV
/// are read incrementally: a file's records are never all in memory at once.
pub fn read_page(
    body: &Body,
    mapping: &Mapping,
    page: usize,
    emit: &mut Emit<'_>,
) -> Result<Option<Url>, HarvestError> {
    if let Some(layout) = &mapping.json {
        return read_json_records(&whole(body)?, layout, emit);
    }
    let csv = &mapping.csv;
    let looks_csv = body
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/csv"))
        || body
            .url
            .as_ref()
            .is_some_and(|u| u.path().ends_with(".csv"))
        || !first_byte(body)?.is_some_and(|b| b == b'{' || b == b'[');
    match (&body.content, looks_csv) {
        (Content::Bytes(bytes), true) => read_csv(bytes.as_slice(), csv, emit),
        (Content::File(path), true) => read_csv(open(path)?, csv, emit),
        (Content::Bytes(bytes), false) => read_geojson(
            serde_json::Deserializer::from_slice(bytes),
            body.url.as_ref(),
            page,
            emit,
        ),
        (Content::File(path), false) => read_geojson(
            serde_json::Deserializer::from_reader(std::io::BufReader::new(open(path)?)),
            body.url.as_ref(),
            page,
            emit,
        ),
    }
}

fn open(path: &std::path::Path) -> Result<std::fs::File, HarvestError> {
    std::fs::File::open(path)
        .map_err(|e| HarvestError::Source(format!("cannot read {}: {e}", path.display())))
}

/// The whole body, for the formats read in one piece.
fn whole(body: &Body) -> Result<std::borrow::Cow<'_, [u8]>, HarvestError> {
    match &body.content {
        Content::Bytes(bytes) => Ok(bytes.as_slice().into()),
        Content::File(path) => std::fs::read(path)
            .map(Into::into)
            .map_err(|e| HarvestError::Source(format!("cannot read {}: {e}", path.display()))),
    }
}

/// The body's first byte that is not white space, to tell JSON from CSV.
fn first_byte(body: &Body) -> Result<Option<u8>, HarvestError> {
    let first = |bytes: &[u8]| bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    match &body.content {
        Content::Bytes(bytes) => Ok(first(bytes)),
        Content::File(path) => {
            use std::io::Read;
            let mut start = Vec::with_capacity(4096);
            open(path)?
                .take(4096)
                .read_to_end(&mut start)
                .map_err(|e| {
                    HarvestError::Source(format!("cannot read {}: {e}", path.display()))
                })?;
            Ok(first(&start))
        }
    }
}

/// A body as JSON, or why it is not JSON (line and column).
fn parse_json(bytes: &[u8]) -> Result<Value, HarvestError> {
    serde_json::from_slice(bytes).map_err(|e| not_json(&e))
}

fn not_json(e: &serde_json::Error) -> HarvestError {
    if e.is_data() {
        HarvestError::Malformed(e.to_string())
    } else {
        HarvestError::Malformed(format!(
            "not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    }
}

/// A GeoJSON FeatureCollection (or OGC API items page), read one feature at a time.
fn read_geojson<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
    url: Option<&Url>,
    page: usize,
    emit: &mut Emit<'_>,
) -> Result<Option<Url>, HarvestError> {
    let mut collection = geojson::Collection::new(page, emit);
    serde::Deserializer::deserialize_map(&mut deserializer, &mut collection)
        .and_then(|()| deserializer.end())
        .map_err(|e| not_json(&e))?;
    if !collection.is_collection() {
        return Err(HarvestError::Malformed(
            "not a GeoJSON FeatureCollection".into(),
        ));
    }
    if !collection.had_features() {
        return Err(HarvestError::Malformed(
            "\"features\" is not an array".into(),
        ));
    }
    Ok(collection.links().and_then(|links| next_link(links, url)))
}

/// Plain JSON: the array of records at `layout.records`, each an object whose position is
/// in the fields the layout names.
fn read_json_records(
    bytes: &[u8],
    layout: &JsonLayout,
    emit: &mut Emit<'_>,
) -> Result<Option<Url>, HarvestError> {
    let malformed = |reason: String| HarvestError::Malformed(reason);
    let document = parse_json(bytes)?;
    let records = match (layout.records.as_str(), &document) {
        ("", Value::Array(records)) => records,
        (path, Value::Object(object)) if !path.is_empty() => lookup(object, path)
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(format!("\"{path}\" is not an array of records")))?,
        _ => {
            return Err(malformed(format!(
                "expected {} (see [json] records in the mapping)",
                if layout.records.is_empty() {
                    "an array of records".to_string()
                } else {
                    format!("an object with \"{}\"", layout.records)
                }
            )));
        }
    };
    for (n, record) in records.iter().enumerate() {
        let position = format!("record {n}");
        let read = match record.as_object() {
            None => Err(Unreadable {
                position,
                reason: "not a JSON object".into(),
            }),
            Some(object) => Ok(Record {
                position,
                feature_id: None,
                geometry: layout.position(object).map(
                    |coordinates| serde_json::json!({"type": "Point", "coordinates": coordinates}),
                ),
                properties: object.clone(),
            }),
        };
        if !emit(read) {
            return Err(HarvestError::Source(STOPPED.into()));
        }
    }
    Ok(None)
}

/// The `next` link of an OGC API items page, resolved against the page's URL.
fn next_link(links: &Value, base: Option<&Url>) -> Option<Url> {
    let href = links
        .as_array()?
        .iter()
        .find(|link| link.get("rel").and_then(Value::as_str) == Some("next"))?
        .get("href")?
        .as_str()?;
    match base {
        Some(base) => base.join(href).ok(),
        None => Url::parse(href).ok(),
    }
}

fn read_csv(
    input: impl std::io::Read,
    layout: &CsvLayout,
    emit: &mut Emit<'_>,
) -> Result<Option<Url>, HarvestError> {
    let delimiter = u8::try_from(layout.delimiter).map_err(|_| {
        HarvestError::Mapping("the CSV delimiter must be one ASCII character".into())
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| HarvestError::Malformed(format!("unreadable CSV header: {e}")))?
        .clone();
    for column in [&layout.lon, &layout.lat] {
        if !headers.iter().any(|h| h == column) {
            return Err(HarvestError::Malformed(format!(
                "the CSV has no \"{column}\" column (set [csv] lon/lat in the mapping)"
            )));
        }
    }
    for (n, row) in reader.records().enumerate() {
        let read = (|| {
            let row = row.map_err(|e| Unreadable {
                position: format!("row {}", n + 1),
                reason: e.to_string(),
            })?;
            let line = row.position().map_or(n + 2, |p| p.line() as usize);
            let mut properties = Map::new();
            for (name, cell) in headers.iter().zip(row.iter()) {
                if !cell.trim().is_empty() {
                    properties.insert(name.to_string(), Value::String(cell.trim().to_string()));
                }
            }
            let coordinate = |column: &str| {
                properties
                    .get(column)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<f64>().ok())
            };
            let geometry = match (coordinate(&layout.lon), coordinate(&layout.lat)) {
                (Some(lon), Some(lat)) => Some(serde_json::json!({
                    "type": "Point", "coordinates": [lon, lat]
                })),
                _ => None,
            };
            Ok(Record {
                position: format!("line {line}"),
                feature_id: None,
                geometry,
                properties,
            })
        })();
        if !emit(read) {
            return Err(HarvestError::Source(STOPPED.into()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page's records all at once.
    struct Page {
        records: Vec<Result<Record, Unreadable>>,
        next: Option<Url>,
    }

    fn read_all(body: &Body, mapping: &Mapping, page: usize) -> Result<Page, HarvestError> {
        let mut records = Vec::new();
        let next = read_page(body, mapping, page, &mut |record| {
            records.push(record);
            true
        })?;
        Ok(Page { records, next })
    }

    fn body(text: &str, url: Option<&str>) -> Body {
        Body {
            content: Content::Bytes(text.as_bytes().to_vec()),
            content_type: None,
            validators: Validators::default(),
            url: url.map(|u| Url::parse(u).unwrap()),
        }
    }

    #[test]
    fn ogc_pages_link_to_the_next_page_relative_or_absolute() {
        let page = r#"{"type":"FeatureCollection","features":[{"id":"a","properties":{"x":1}}, 5],
            "links":[{"rel":"self","href":"?offset=0"},{"rel":"next","href":"items?offset=10"}]}"#;
        let read = read_all(
            &body(page, Some("http://h/c/items?offset=0")),
            &Mapping::default(),
            1,
        )
        .unwrap();
        assert_eq!(read.next.unwrap().as_str(), "http://h/c/items?offset=10");
        assert_eq!(read.records.len(), 2);
        assert!(read.records[1].is_err(), "a number is not a feature");
    }

    #[test]
    fn csv_rows_get_points_from_their_columns_and_line_numbers() {
        let layout = Mapping {
            csv: CsvLayout {
                lon: "x".into(),
                ..CsvLayout::default()
            },
            ..Mapping::default()
        };
        let text = "id,name,x,lat\n1,A,4.3,50.8\n2,\"B, with comma\",,50\n";
        let read = read_all(&body(text, None), &layout, 1).unwrap();
        let rows: Vec<Record> = read.records.into_iter().map(Result::unwrap).collect();
        assert_eq!(rows[0].position, "line 2");
        assert_eq!(rows[0].geometry.as_ref().unwrap()["coordinates"][0], 4.3);
        assert!(rows[1].geometry.is_none());
        assert_eq!(rows[1].properties["name"], "B, with comma");
        let missing = read_all(&body("a,b\n1,2\n", None), &Mapping::default(), 1);
        assert!(matches!(missing, Err(HarvestError::Malformed(_))));
    }

    #[test]
    fn json_records_come_from_their_array_with_positions_from_their_fields() {
        let mapping =
            Mapping::parse("[json]\nrecords = \"data\"\nposition = \"geoposition\"\n").unwrap();
        let text = r#"{"data": [{"title": "A", "geoposition": "50.85,4.35"},
            {"title": "B", "geoposition": "somewhere"}, 7]}"#;
        let read = read_all(&body(text, None), &mapping, 1).unwrap();
        assert_eq!(read.records.len(), 3);
        let first = read.records[0].as_ref().unwrap();
        assert_eq!(first.position, "record 0");
        assert_eq!(
            first.geometry.as_ref().unwrap()["coordinates"],
            serde_json::json!([4.35, 50.85])
        );
        assert_eq!(first.properties["title"], "A");
        assert!(read.records[1].as_ref().unwrap().geometry.is_none());
        assert!(read.records[2].is_err());
        let wrong = read_all(&body(r#"{"items": []}"#, None), &mapping, 1);
        assert!(matches!(wrong, Err(HarvestError::Malformed(m)) if m.contains("\"data\"")));
    }

    #[test]
    fn only_files_and_web_urls_are_sources() {
        assert!(matches!(
            Location::parse("https://x.org/f"),
            Ok(Location::Web(_))
        ));
        assert!(matches!(
            Location::parse("data/f.csv"),
            Ok(Location::File(_))
        ));
        assert!(Location::parse("ftp://x.org/f").is_err());
    }
}
