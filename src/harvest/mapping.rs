//! A partner's field names and vocabularies mapped onto ours, read from a TOML file.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// How a partner's records become our initiatives.
///
/// ```toml
/// source = "de-coalition"        # the feed's name in the store and the audit log
/// id = "ref"                     # the partner field holding each record's id
/// list_member = "name"           # list items that are objects give this member
/// [fields]                       # our field = the partner's field (or the first of several)
/// name = "title"
/// url = ["website", "https://partner.example{path}"]  # {field}: a template
/// city = "address.city"          # a dotted path reaches into nested objects
/// skill_areas = "topics"
/// [values.skill_areas]           # the partner's term = ours ("" drops the term)
/// "Cyber-Sicherheit" = "cybersecurity"
/// [defaults]                     # used when a record has no value
/// country = "DE"
/// languages = ["de"]
/// [csv]
/// lon = "longitude"
/// lat = "latitude"
/// [json]                         # plain JSON: an array of records, not GeoJSON
/// records = "data"
/// position = "geoposition"       # "lat,lon" text; or lon = "..." and lat = "..."
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The feed's name; by default the `--source` flag or the source's host or file name.
    pub source: Option<String>,
    /// The partner field (a dotted path, or a template such as `{type}/{id}`) with each
    /// record's id; by default the Feature's `id`, or an `id` property or column.
    pub id: Option<String>,
    /// The member that stands for a list item when the item is an object (such as
    /// `{"id": 6, "name": "Robotics"}`).
    pub list_member: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Theirs>,
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub defaults: Map<String, Value>,
    #[serde(default)]
    pub csv: CsvLayout,
    /// Set for feeds of plain JSON records; GeoJSON otherwise.
    pub json: Option<JsonLayout>,
}

/// The partner's field for one of ours: one name, or several tried in order.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Theirs {
    One(String),
    FirstOf(Vec<String>),
}

impl Theirs {
    fn names(&self) -> &[String] {
        match self {
            Theirs::One(name) => std::slice::from_ref(name),
            Theirs::FirstOf(names) => names,
        }
    }
}

/// Where a CSV file keeps the position and how it separates list values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvLayout {
    pub lon: String,
    pub lat: String,
    pub delimiter: char,
    pub list_separator: char,
}

impl Default for CsvLayout {
    fn default() -> Self {
        CsvLayout {
            lon: "lon".into(),
            lat: "lat".into(),
            delimiter: ',',
            list_separator: ';',
        }
    }
}

/// Where a plain JSON document keeps its records and each record its position.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLayout {
    /// The dotted path of the array of records (`data`, `elements`); empty when the document
    /// is the array itself.
    #[serde(default)]
    pub records: String,
    /// A field holding the position as text, latitude first: `"50.85,4.35"`.
    pub position: Option<String>,
    /// Fields (dotted paths, or several tried in order) holding longitude and latitude.
    pub lon: Option<Theirs>,
    pub lat: Option<Theirs>,
}

impl JsonLayout {
    /// The record's position as [lon, lat], if its fields hold one.
    pub fn position(&self, record: &Map<String, Value>) -> Option<[f64; 2]> {
        if let Some(field) = &self.position {
            let text = lookup(record, field)?.as_str()?;
            let (lat, lon) = text.split_once(',')?;
            return Some([lon.trim().parse().ok()?, lat.trim().parse().ok()?]);
        }
        let number = |theirs: &Option<Theirs>| {
            let value = first_of(record, theirs.as_ref()?.names())?;
            match value.as_ref() {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        Some([number(&self.lon)?, number(&self.lat)?])
    }
}

/// The value a mapping's name stands for: a template (`https://x.org{path}`, `{type}/{id}`)
/// filled in with the record's values (none if one of them is missing or blank), else the
/// value at that path.
fn value_of<'v>(record: &'v Map<String, Value>, name: &str) -> Option<Cow<'v, Value>> {
    if !name.contains('{') {
        return lookup(record, name).map(Cow::Borrowed);
    }
    let mut text = String::new();
    let mut rest = name;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        text.push_str(&rest[..open]);
        match lookup(record, &rest[open + 1..close])? {
            Value::String(s) if !s.trim().is_empty() => text.push_str(s.trim()),
            Value::Number(n) => text.push_str(&n.to_string()),
            _ => return None,
        }
        rest = &rest[close + 1..];
    }
    text.push_str(rest);
    Some(Cow::Owned(Value::String(text)))
}

/// The value at `path` in `record`: the member of that exact name, else the dotted path
/// followed through nested objects (`tags.name`, `owner.email`).
pub fn lookup<'v>(record: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    if let Some(value) = record.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = record.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The first of `names` with a value that is not blank.
fn first_of<'v>(record: &'v Map<String, Value>, names: &[String]) -> Option<Cow<'v, Value>> {
    names
        .iter()
        .filter_map(|name| value_of(record, name))
        .find(|v| !is_blank(v))
}

/// Our properties, in the order a record is built.
const OUR_FIELDS: &[&str] = &[
    "name",
    "description",
    "organisation",
    "url",
    "country",
    "city",
    "skill_areas",
    "target_groups",
    "kind",
    "languages",
    "start",
    "end",
    "source",
    "evidence_url",
    "verified_at",
    "status",
    "location_precision",
];

/// Fields whose value is a list of terms.
const LIST_FIELDS: &[&str] = &["skill_areas", "target_groups", "languages"];

/// Fields whose value is a date: a partner's date-time gives its date.
const DATE_FIELDS: &[&str] = &["start", "end", "verified_at"];

impl Mapping {
    /// Reads a mapping file, naming the line of any mistake.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let mapping: Mapping = toml::from_str(text).map_err(|e| e.to_string())?;
        for ours in mapping.fields.keys().chain(mapping.values.keys()) {
            if !OUR_FIELDS.contains(&ours.as_str()) {
                return Err(format!(
                    "\"{ours}\" is not one of our fields ({})",
                    OUR_FIELDS.join(", ")
                ));
            }
        }
        if let Some(json) = &mapping.json
            && json.position.is_none()
            && (json.lon.is_none() || json.lat.is_none())
        {
            return Err(
                "[json] needs `position` (a \"lat,lon\" field) or both `lon` and `lat`".into(),
            );
        }
        Ok(mapping)
    }

    /// The partner's names for our field (ours, unless the mapping renames it).
    fn theirs<'a>(&'a self, ours: &'a str) -> std::borrow::Cow<'a, [String]> {
        match self.fields.get(ours) {
            Some(theirs) => std::borrow::Cow::Borrowed(theirs.names()),
            None => std::borrow::Cow::Owned(vec![ours.to_string()]),
        }
    }

    /// The record's id in the partner's data.
    pub fn source_id(
        &self,
        feature_id: Option<&Value>,
        properties: &Map<String, Value>,
    ) -> Option<String> {
        let value = match &self.id {
            Some(field) => value_of(properties, field),
            None => feature_id
                .or_else(|| properties.get("id"))
                .map(Cow::Borrowed),
        };
        match value?.as_ref() {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Our properties from the partner's: renamed, terms translated, lists split, dates and
    /// links made whole, defaults filled in. Values are otherwise passed on as they are, for
    /// validation to judge.
    pub fn properties(
        &self,
        theirs: &Map<String, Value>,
        list_separator: char,
    ) -> Map<String, Value> {
        let mut ours = Map::new();
        for field in OUR_FIELDS {
            let given = first_of(theirs, &self.theirs(field));
            let default = self.defaults.get(*field);
            let value = if LIST_FIELDS.contains(field) {
                // A list whose every term is dropped falls back to the default, if any.
                let terms = |value: &Value| -> Vec<Value> {
                    as_list(value, list_separator)
                        .into_iter()
                        .map(|item| self.list_item(item))
                        .map(|term| self.translate(field, term))
                        .filter(|term| term.as_str() != Some(""))
                        .collect()
                };
                let mut list = given.as_deref().map(terms).unwrap_or_default();
                if list.is_empty() {
                    list = default.map(terms).unwrap_or_default();
                }
                if list.is_empty() && given.is_none() {
                    continue;
                }
                Value::Array(list)
            } else {
                let Some(value) = given.as_deref().or(default) else {
                    continue;
                };
                let value = self.translate(field, value.clone());
                if DATE_FIELDS.contains(field) {
                    date_part(value)
                } else {
                    value
                }
            };
            ours.insert(field.to_string(), value);
        }
        ours
    }

    /// A list item as a term: an object stands for its `list_member`.
    fn list_item(&self, item: Value) -> Value {
        match (&item, &self.list_member) {
            (Value::Object(object), Some(member)) => {
                object.get(member).cloned().unwrap_or(Value::Null)
            }
            _ => item,
        }
    }

    fn translate(&self, field: &str, value: Value) -> Value {
        match (&value, self.values.get(field)) {
            (Value::String(term), Some(table)) => table
                .get(term.trim())
                .map_or(value.clone(), |ours| Value::String(ours.clone())),
            _ => value,
        }
    }
}

/// The date of a date-time text (`2024-10-14 09:00:00`, `2024-10-14T09:00:00Z`); anything
/// else unchanged, for validation to judge.
fn date_part(value: Value) -> Value {
    match &value {
        Value::String(text)
            if text.len() > 10
                && text.is_char_boundary(10)
                && text[..10].parse::<jiff::civil::Date>().is_ok()
                && matches!(text.as_bytes()[10], b'T' | b't' | b' ') =>
        {
            Value::String(text[..10].to_string())
        }
        _ => value,
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A list value: an array as it is, or a string split at `separator` (CSV cells, and feeds
/// that join terms in one string).
fn as_list(value: &Value, separator: char) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::String(text) => text
            .split(separator)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect(),
        other => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXAMPLE: &str = r#"
        source = "de-coalition"
        id = "ref"
        [fields]
        name = "title"
        skill_areas = "topics"
        [values.skill_areas]
        "Cyber-Sicherheit" = "cybersecurity"
        [defaults]
        country = "DE"
        languages = ["de"]
    "#;

    #[test]
    fn fields_are_renamed_terms_translated_and_defaults_filled() {
        let mapping = Mapping::parse(EXAMPLE).unwrap();
        let theirs = json!({"ref": 17, "title": "Cyberwerkstatt", "topics": "Cyber-Sicherheit; cloud",
            "country": "", "city": "Köln"});
        let theirs = theirs.as_object().unwrap();
        assert_eq!(mapping.source_id(None, theirs).as_deref(), Some("17"));
        let ours = mapping.properties(theirs, ';');
        assert_eq!(ours["name"], "Cyberwerkstatt");
        assert_eq!(ours["skill_areas"], json!(["cybersecurity", "cloud"]));
        assert_eq!(ours["country"], "DE", "a blank value takes the default");
        assert_eq!(ours["languages"], json!(["de"]));
        assert_eq!(ours["city"], "Köln");
        assert!(!ours.contains_key("title"));
    }

    #[test]
    fn nested_fields_alternatives_objects_dates_and_links() {
        let mapping = Mapping::parse(
            r#"
            id = "path"
            list_member = "name"
            [fields]
            url = ["event_url", "https://codeweek.eu{path}"]
            evidence_url = "https://codeweek.eu{path}"
            organisation = "owner.name"
            skill_areas = "themes"
            start = "start_date"
            [values.skill_areas]
            "Robotics" = "advanced_manufacturing"
            "Other" = ""
            [defaults]
            target_groups = ["general_public"]
            [json]
            records = "data"
            position = "geoposition"
            "#,
        )
        .unwrap();
        let theirs = json!({"path": "/view/7/robots", "event_url": "", "owner": {"name": "Club"},
            "themes": [{"id": 6, "name": "Robotics"}, {"id": 8, "name": "Other"}],
            "start_date": "2024-10-14 09:00:00", "geoposition": "50.85,4.35"});
        let theirs = theirs.as_object().unwrap();
        assert_eq!(
            mapping.source_id(None, theirs).as_deref(),
            Some("/view/7/robots")
        );
        let ours = mapping.properties(theirs, ';');
        assert_eq!(
            ours["url"], "https://codeweek.eu/view/7/robots",
            "a blank first choice"
        );
        assert_eq!(ours["evidence_url"], "https://codeweek.eu/view/7/robots");
        assert_eq!(ours["organisation"], "Club");
        assert_eq!(ours["skill_areas"], json!(["advanced_manufacturing"]));
        assert_eq!(ours["target_groups"], json!(["general_public"]));
        let only_other = json!({"themes": [{"id": 8, "name": "Other"}]});
        let dropped = mapping.properties(only_other.as_object().unwrap(), ';');
        assert_eq!(
            dropped["skill_areas"],
            json!([]),
            "nothing left and no default"
        );
        assert!(
            !dropped.contains_key("url"),
            "a template with a missing field"
        );
        let osm: Mapping = Mapping::parse("id = \"{type}/{id}\"").unwrap();
        let node = json!({"type": "node", "id": 42});
        assert_eq!(
            osm.source_id(None, node.as_object().unwrap()).as_deref(),
            Some("node/42")
        );
        assert_eq!(ours["start"], "2024-10-14");
        assert_eq!(
            mapping.json.as_ref().unwrap().position(theirs),
            Some([4.35, 50.85])
        );
        let lon_lat: JsonLayout =
            toml::from_str("lon = [\"lon\", \"center.lon\"]\nlat = [\"lat\", \"center.lat\"]")
                .unwrap();
        let way = json!({"center": {"lat": 48.2, "lon": 16.37}});
        assert_eq!(
            lon_lat.position(way.as_object().unwrap()),
            Some([16.37, 48.2])
        );
        assert_eq!(date_part(json!("2024-10-14")), json!("2024-10-14"));
        assert_eq!(date_part(json!("2024-10-14Tx")), json!("2024-10-14"));
        assert_eq!(
            date_part(json!("14/10/2024 09:00")),
            json!("14/10/2024 09:00")
        );
    }

    #[test]
    fn mistakes_in_the_mapping_are_named() {
        let layout = Mapping::parse("[json]\nrecords = \"data\"\n").unwrap_err();
        assert!(layout.contains("position"), "{layout}");

        let unknown = Mapping::parse("[fields]\ntitle = \"name\"").unwrap_err();
        assert!(
            unknown.contains("\"title\" is not one of our fields"),
            "{unknown}"
        );
        let typo = Mapping::parse("sorce = \"x\"").unwrap_err();
        assert!(typo.contains("line 1"), "{typo}");
    }
}
