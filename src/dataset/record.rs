//! One record: a GeoJSON Feature validated field by field into an initiative.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{FeatureResult, FieldProblem, strip_position};
use crate::country::Country;
use crate::model::{
    Initiative, Kind, Language, Location, LocationPrecision, Status, TermSet, Vocabulary,
};

/// Longest accepted values, so one record cannot balloon memory or the page.
const MAX_ID: usize = 100;
const MAX_SHORT_TEXT: usize = 300;
const MAX_DESCRIPTION: usize = 5_000;
const MAX_URL: usize = 2_000;

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
    #[serde(borrow)]
    pub evidence_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub verified_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub location_precision: Option<Cow<'a, str>>,
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
/// wrong.
fn initiative_from_parts(
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
    let kind = required(&p.kind, "properties.kind", &mut problems)
        .and_then(|slug| check(term::<Kind>(slug), "properties.kind", &mut problems));
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
    let evidence_url = evidence_url(&p.evidence_url, &mut warnings);
    let verified_at = optional_date(&p.verified_at, "properties.verified_at", &mut problems);
    if matches!(verified_at, Some(None)) {
        warnings.push(FieldProblem::new(
            "properties.verified_at",
            "missing: the date the record was last checked against its evidence",
        ));
    }
    let status = term_or_default::<Status>(
        &p.status,
        "properties.status",
        (&mut problems, &mut warnings),
    );
    let location_precision = term_or_default::<LocationPrecision>(
        &p.location_precision,
        "properties.location_precision",
        (&mut problems, &mut warnings),
    );
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
        evidence_url,
        verified_at: verified_at.flatten(),
        status: status.unwrap_or_default(),
        location_precision: location_precision.unwrap_or_default(),
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

/// A term of a vocabulary, or why the slug is none of its terms.
fn term<T: Vocabulary>(slug: &str) -> Result<T, String> {
    T::from_slug(slug).ok_or_else(|| {
        format!(
            "unknown term \"{slug}\" (expected one of {})",
            T::expected()
        )
    })
}

/// An optional term: absent is the vocabulary's default (with a warning, so that files meant
/// to carry it learn they do not); wrong is an error. `None` when wrong.
fn term_or_default<T: Vocabulary + Default>(
    value: &Option<Cow<'_, str>>,
    field: &str,
    (problems, warnings): (&mut Vec<FieldProblem>, &mut Vec<FieldProblem>),
) -> Option<T> {
    match value.as_deref().map(str::trim) {
        None | Some("") => {
            let default = T::default();
            warnings.push(FieldProblem::new(
                field,
                format!("missing; taken as \"{}\"", default.slug()),
            ));
            Some(default)
        }
        Some(slug) => check(term::<T>(slug), field, problems),
    }
}

/// The evidence page, if it is a usable link. A missing or unusable one is a warning, not an
/// error (older files and partners' feeds have none); an unusable one is dropped so that it is
/// never served as a link.
fn evidence_url(
    value: &Option<Cow<'_, str>>,
    warnings: &mut Vec<FieldProblem>,
) -> Option<Box<str>> {
    let field = "properties.evidence_url";
    match value.as_deref().map(str::trim) {
        None | Some("") => {
            warnings.push(FieldProblem::new(
                field,
                "missing: the page that states the initiative's name, place and activity",
            ));
            None
        }
        Some(url) => match valid_url(url) {
            Ok(url) => Some(url),
            Err(why) => {
                warnings.push(FieldProblem::new(field, format!("{why}; ignored")));
                None
            }
        },
    }
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
        match term::<T>(slug) {
            Ok(term) => set.insert(term),
            Err(why) => {
                ok = false;
                problems.push(FieldProblem::new(format!("{field}[{i}]"), why));
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
