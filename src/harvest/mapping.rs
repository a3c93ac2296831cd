//! A partner's field names and vocabularies mapped onto ours, read from a TOML file.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// How a partner's records become our initiatives.
///
/// ```toml
/// source = "de-coalition"        # the feed's name in the store and the audit log
/// id = "ref"                     # the partner field holding each record's id
/// [fields]                       # our field = the partner's field
/// name = "title"
/// skill_areas = "topics"
/// [values.skill_areas]           # the partner's term = ours
/// "Cyber-Sicherheit" = "cybersecurity"
/// [defaults]                     # used when a record has no value
/// country = "DE"
/// languages = ["de"]
/// [csv]
/// lon = "longitude"
/// lat = "latitude"
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The feed's name; by default the `--source` flag or the source's host or file name.
    pub source: Option<String>,
    /// The partner field with each record's id; by default the Feature's `id`, or an `id`
    /// property or column.
    pub id: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub defaults: Map<String, Value>,
    #[serde(default)]
    pub csv: CsvLayout,
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
        Ok(mapping)
    }

    /// The partner's name for our field.
    fn theirs<'a>(&'a self, ours: &'a str) -> &'a str {
        self.fields.get(ours).map_or(ours, String::as_str)
    }

    /// The record's id in the partner's data.
    pub fn source_id(
        &self,
        feature_id: Option<&Value>,
        properties: &Map<String, Value>,
    ) -> Option<String> {
        let value = match &self.id {
            Some(field) => properties.get(field),
            None => feature_id.or_else(|| properties.get("id")),
        };
        match value? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Our properties from the partner's: renamed, terms translated, lists split, defaults
    /// filled in. Values are otherwise passed on as they are, for validation to judge.
    pub fn properties(
        &self,
        theirs: &Map<String, Value>,
        list_separator: char,
    ) -> Map<String, Value> {
        let mut ours = Map::new();
        for field in OUR_FIELDS {
            let value = theirs
                .get(self.theirs(field))
                .filter(|v| !is_blank(v))
                .or_else(|| self.defaults.get(*field));
            let Some(value) = value else { continue };
            let value = if LIST_FIELDS.contains(field) {
                Value::Array(
                    as_list(value, list_separator)
                        .into_iter()
                        .map(|term| self.translate(field, term))
                        .collect(),
                )
            } else {
                self.translate(field, value.clone())
            };
            ours.insert(field.to_string(), value);
        }
        ours
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
    fn mistakes_in_the_mapping_are_named() {
        let unknown = Mapping::parse("[fields]\ntitle = \"name\"").unwrap_err();
        assert!(
            unknown.contains("\"title\" is not one of our fields"),
            "{unknown}"
        );
        let typo = Mapping::parse("sorce = \"x\"").unwrap_err();
        assert!(typo.contains("line 1"), "{typo}");
    }
}
