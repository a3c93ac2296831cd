//! `/coverage` and `/regions/{level}.geojson`: initiatives per region, per inhabitant and per
//! skill area, and the share of each region far from any of them, as a table or a choropleth;
//! countries are named in the visitor's language, NUTS regions by their official names.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use serde::Serialize;

use crate::api::caching;
use crate::api::export::inert;
use crate::api::negotiation::{self, MediaTypes};
use crate::api::params::{FILTER_PARAMS, PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::api::shedding;
use crate::api::{AppState, base_url, check_format};
use crate::country::Country;
use crate::filter::Filter;
use crate::model::SkillArea;
use crate::regions::coverage::{self, Coverage, CoverageRow};
use crate::regions::source::GISCO_ATTRIBUTION;
use crate::regions::{Level, RegionLayer};
use crate::snapshot::Snapshot;
use crate::translations::{Locale, country_name};

const COVERAGE_PARAMS: &[&str] = &["level", "gap_km", "f", "lang"];
const REGIONS_PARAMS: &[&str] = &["gap_km", "f", "lang"];

/// Gap distance when none is given, and the largest accepted, in kilometres.
pub const DEFAULT_GAP_KM: f64 = 50.0;
const MAX_GAP_KM: f64 = 1000.0;

const CSV: &str = "text/csv; charset=utf-8";
const GEOJSON: &str = "application/geo+json";

/// What a coverage query asks for.
struct CoverageQuery {
    level: Level,
    gap_km: f64,
    filter: Filter,
    /// The filter parameters as given, repeated in links.
    filter_pairs: Vec<(String, String)>,
    /// The language of the countries' names (`lang`, else `Accept-Language`).
    locale: Locale,
    /// Whether `lang` named it: links then name it too (else the client's header decides again).
    lang_given: bool,
}

fn level(text: &str) -> Result<Level, ApiError> {
    Level::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "level",
            format!(
                "unknown level \"{text}\" (expected one of {})",
                Level::expected()
            ),
        )
    })
}

/// `gap_km`, in (0, 1000], [`DEFAULT_GAP_KM`] when absent.
pub fn gap_km(params: &QueryParams) -> Result<f64, ApiError> {
    let gap_km = params.number("gap_km")?.unwrap_or(DEFAULT_GAP_KM);
    if gap_km <= 0.0 || gap_km > MAX_GAP_KM {
        return Err(ApiError::invalid(
            "gap_km",
            format!("{gap_km} is out of range (0, {MAX_GAP_KM}] kilometres"),
        ));
    }
    Ok(gap_km)
}

fn query(
    params: &QueryParams,
    headers: &HeaderMap,
    level_text: Option<&str>,
) -> Result<CoverageQuery, ApiError> {
    let level = level(level_text.unwrap_or("country"))?;
    Ok(CoverageQuery {
        locale: negotiation::language(params, headers)?,
        lang_given: params.get("lang")?.is_some(),
        level,
        gap_km: gap_km(params)?,
        filter: params.filter()?,
        filter_pairs: params
            .pairs()
            .iter()
            .filter(|(name, _)| FILTER_PARAMS.contains(&name.as_str()))
            .cloned()
            .collect(),
    })
}

/// The layer of `level`, or 503 saying how to install it.
pub fn layer(snapshot: &Snapshot, level: Level) -> Result<&RegionLayer, ApiError> {
    snapshot
        .regions
        .layer(level)
        .map_err(|reason| ApiError::Unavailable(reason.to_string()))
}

/// Writes computed figures as a response body.
type Render = fn(&Snapshot, &CoverageQuery, &Coverage, &str) -> Vec<u8>;

/// Runs the figures on a blocking thread (at a million initiatives they take a while),
/// once for every client asking the same (`etag` names the request and the data version).
async fn figures(
    state: &AppState,
    etag: &str,
    snapshot: Arc<Snapshot>,
    query: Arc<CoverageQuery>,
    render: Render,
    base: String,
) -> Result<bytes::Bytes, ApiError> {
    let places = state.places.clone();
    let compute = shedding::off_thread(move || {
        let layer = layer(&snapshot, query.level)?;
        let mut figures = coverage::compute(
            &snapshot,
            layer,
            &query.filter,
            query.gap_km * 1000.0,
            &places.demand,
        );
        name_countries(&mut figures, query.level, query.locale);
        Ok(render(&snapshot, &query, &figures, &base))
    });
    state.heavy.get_or_compute(etag.to_string(), compute).await
}

/// At the country level, each country by its name in `locale`. NUTS regions keep the official
/// names Eurostat gives them (in the region's own language, Latin script): those are names, not
/// labels to translate, and they are the same in every language's answer.
fn name_countries(figures: &mut Coverage<'_>, level: Level, locale: Locale) {
    if level != Level::Country {
        return;
    }
    for row in &mut figures.rows {
        if let Ok(country) = Country::parse(row.code) {
            row.name = country_name(locale, country);
        }
    }
}

/// The entity tag of a coverage answer: the request, the data version and the answer's
/// language, which a request without `lang` takes from its `Accept-Language`, so that neither
/// a client nor the figures' cache ever gets another language's body.
fn answer_etag(snapshot: &Snapshot, base: &str, uri: &Uri, format: &str, locale: Locale) -> String {
    caching::etag(&[
        caching::query_etag(&snapshot.version, base, uri).as_bytes(),
        format.as_bytes(),
        locale.code().as_bytes(),
    ])
}

pub async fn coverage(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[COVERAGE_PARAMS, FILTER_PARAMS])?;
    let csv = match params.get("f")? {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "f",
                format!("unsupported format \"{other}\" (expected json or csv)"),
            ));
        }
        None => negotiation::choose::<MediaTypes, _>(
            &headers,
            &[(false, "application/json"), (true, CSV)],
        )?,
    };
    let query = query(&params, &headers, params.get("level")?)?;
    let snapshot = state.snapshot.load_full();
    layer(&snapshot, query.level)?;
    let base = base_url(&state, &headers);
    let format = if csv { "csv" } else { "json" };
    let language = query.locale.code();
    let etag = answer_etag(&snapshot, &base, &uri, format, query.locale);
    if caching::client_has(&headers, &etag) {
        return Ok(caching::in_language(caching::not_modified(&etag), language));
    }
    let level = query.level;
    let (render, content_type): (Render, _) = if csv {
        (csv_table, CSV)
    } else {
        (json_table, "application/json")
    };
    let body = figures(&state, &etag, snapshot, Arc::new(query), render, base).await?;
    let mut response = caching::fresh(&etag, content_type, body);
    if csv {
        let disposition = format!("attachment; filename=\"coverage-{}.csv\"", level.slug());
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(caching::in_language(response, language))
}

pub async fn regions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams(file): PathParams<String>,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[REGIONS_PARAMS, FILTER_PARAMS])?;
    check_format(&params)?;
    let level_text = file.strip_suffix(".geojson").ok_or_else(|| {
        ApiError::invalid(
            "level",
            format!("\"{file}\" must be a level followed by .geojson"),
        )
    })?;
    let query = query(&params, &headers, Some(level_text))?;
    let snapshot = state.snapshot.load_full();
    layer(&snapshot, query.level)?;
    let base = base_url(&state, &headers);
    let language = query.locale.code();
    let etag = answer_etag(&snapshot, &base, &uri, "geojson", query.locale);
    if caching::client_has(&headers, &etag) {
        return Ok(caching::in_language(caching::not_modified(&etag), language));
    }
    let body = figures(&state, &etag, snapshot, Arc::new(query), choropleth, base).await?;
    Ok(caching::in_language(
        caching::fresh(&etag, GEOJSON, body),
        language,
    ))
}

/// Where the boundaries and figures come from, as their terms ask.
fn attribution(level: Level) -> String {
    let boundaries = match level {
        Level::Country => {
            "Country boundaries: Natural Earth (public domain), via world-atlas".to_string()
        }
        _ => format!(
            "NUTS 2021 boundaries: Eurostat GISCO, {GISCO_ATTRIBUTION} (non-commercial use)"
        ),
    };
    format!(
        "{boundaries}. Population: Eurostat, 1 January 2024 (demo_pjan), and national statistical offices for IS, LI, NO and CH."
    )
}

#[derive(Serialize)]
struct Link {
    href: String,
    rel: &'static str,
    #[serde(rename = "type")]
    media_type: &'static str,
    title: &'static str,
}

/// The query string of a coverage request without `level` and `f`, for related links.
fn shared_query(query: &CoverageQuery, base: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in extra {
        out.append_pair(name, value);
    }
    out.append_pair("gap_km", &query.gap_km.to_string());
    for (name, value) in &query.filter_pairs {
        out.append_pair(name, value);
    }
    if query.lang_given {
        out.append_pair("lang", query.locale.code());
    }
    format!("{base}{path}?{}", out.finish())
}

#[derive(Serialize)]
struct Table<'a> {
    level: &'static str,
    gap_km: f64,
    matched: usize,
    outside_regions: usize,
    attribution: String,
    regions: &'a [CoverageRow<'a>],
    links: Vec<Link>,
}

fn json_table(_: &Snapshot, query: &CoverageQuery, figures: &Coverage, base: &str) -> Vec<u8> {
    let level = query.level.slug();
    let links = vec![
        Link {
            href: shared_query(query, base, "/coverage", &[("level", level)]),
            rel: "self",
            media_type: "application/json",
            title: "This table",
        },
        Link {
            href: shared_query(query, base, "/coverage", &[("level", level), ("f", "csv")]),
            rel: "alternate",
            media_type: "text/csv",
            title: "This table as CSV",
        },
        Link {
            href: shared_query(query, base, &format!("/regions/{level}.geojson"), &[]),
            rel: "alternate",
            media_type: GEOJSON,
            title: "The regions with these figures, for a choropleth",
        },
    ];
    serde_json::to_vec(&Table {
        level,
        gap_km: query.gap_km,
        matched: figures.matched,
        outside_regions: figures.outside_regions,
        attribution: attribution(query.level),
        regions: &figures.rows,
        links,
    })
    .unwrap_or_else(|_| unreachable!("coverage tables always serialise"))
}

fn csv_table(_: &Snapshot, _: &CoverageQuery, figures: &Coverage, _: &str) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec![
        "code",
        "name",
        "country",
        "count",
        "population",
        "per_100k",
        "gap_share",
        "nearest_km",
        "area_km2",
        "people",
        "people_far",
        "people_gap_share",
    ];
    header.extend(SkillArea::ALL.iter().map(|a| a.slug()));
    let _ = writer.write_record(&header);
    let optional = |v: Option<String>| v.unwrap_or_default();
    for row in &figures.rows {
        let mut record = vec![
            inert(row.code),
            inert(row.name),
            inert(row.country),
            row.count.to_string(),
            optional(row.population.map(|p| p.to_string())),
            optional(row.per_100k.map(|p| p.to_string())),
            row.gap_share.to_string(),
            optional(row.nearest_km.map(|k| k.to_string())),
            row.area_km2.to_string(),
            row.people.to_string(),
            row.people_far.to_string(),
            optional(row.people_gap_share.map(|s| s.to_string())),
        ];
        record.extend(row.by_skill_area.iter().map(|(_, n)| n.to_string()));
        let _ = writer.write_record(&record);
    }
    writer.into_inner().unwrap_or_default()
}

/// A region's outline as a GeoJSON Feature, with `properties` beside it (a row of figures
/// for the choropleth, the code alone for the outline files).
#[derive(Serialize)]
struct RegionFeature<'a, P> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: &'a serde_json::value::RawValue,
    properties: P,
}

/// Where a level's outlines are among the site's files: `/outlines/{level}.geojson`.
pub fn outlines_path(level: Level) -> String {
    format!("/outlines/{}.geojson", level.slug())
}

/// The code of a region, as the only property of its outline.
#[derive(Serialize)]
struct RegionCode<'a> {
    code: &'a str,
}

/// The outline file of a level: each region's outline named by its code (`id` and the `code`
/// property), no figures. The same for every query, so the coverage view loads it once as a
/// site file and joins `/coverage`'s rows to it by code.
pub fn outline_file(layer: &RegionLayer) -> Vec<u8> {
    #[derive(Serialize)]
    struct Outlines<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        features: Vec<RegionFeature<'a, RegionCode<'a>>>,
    }
    let features = layer
        .regions()
        .iter()
        .zip(layer.outlines())
        .map(|(region, geometry)| RegionFeature {
            kind: "Feature",
            id: &region.code,
            geometry,
            properties: RegionCode { code: &region.code },
        })
        .collect();
    serde_json::to_vec(&Outlines {
        kind: "FeatureCollection",
        features,
    })
    .unwrap_or_else(|_| unreachable!("region collections always serialise"))
}

#[derive(Serialize)]
struct Choropleth<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    level: &'static str,
    gap_km: f64,
    matched: usize,
    outside_regions: usize,
    attribution: String,
    features: Vec<RegionFeature<'a, &'a CoverageRow<'a>>>,
}

fn choropleth(snapshot: &Snapshot, query: &CoverageQuery, figures: &Coverage, _: &str) -> Vec<u8> {
    let outlines = match snapshot.regions.layer(query.level) {
        Ok(layer) => layer.outlines(),
        Err(_) => &[],
    };
    let features = figures
        .rows
        .iter()
        .zip(outlines)
        .map(|(row, geometry)| RegionFeature {
            kind: "Feature",
            id: row.code,
            geometry,
            properties: row,
        })
        .collect();
    serde_json::to_vec(&Choropleth {
        kind: "FeatureCollection",
        level: query.level.slug(),
        gap_km: query.gap_km,
        matched: figures.matched,
        outside_regions: figures.outside_regions,
        attribution: attribution(query.level),
        features,
    })
    .unwrap_or_else(|_| unreachable!("region collections always serialise"))
}
