//! The queryables: the features' own property names, their types, and their JSON Schemas
//! (what `/collections/initiatives/queryables` serves and what filters may name).

use serde_json::{Value as Json, json};

use crate::country::Country;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    Description,
    Organisation,
    Url,
    City,
    Source,
    EvidenceUrl,
    Nuts1,
    Nuts2,
    Nuts3,
    Country,
    Kind,
    Status,
    LocationPrecision,
    SkillAreas,
    TargetGroups,
    Languages,
    Start,
    End,
    VerifiedAt,
    UpdatedAt,
    Geometry,
}

/// What a property holds, for checking a filter's comparisons before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Text,
    Number,
    Bool,
    Date,
    Timestamp,
    TextArray,
    Geometry,
}

impl Field {
    /// How many terms a vocabulary property's vocabulary has (0 for other properties): the
    /// bits [`super::eval::term_bits`] may set.
    pub fn term_count(self) -> usize {
        match self {
            Field::Country => Country::all().count(),
            Field::Kind => Kind::ALL.len(),
            Field::Status => Status::ALL.len(),
            Field::LocationPrecision => LocationPrecision::ALL.len(),
            Field::SkillAreas => SkillArea::ALL.len(),
            Field::TargetGroups => TargetGroup::ALL.len(),
            _ => 0,
        }
    }
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Number => "a number",
            Type::Bool => "a boolean",
            Type::Date => "a date",
            Type::Timestamp => "a timestamp",
            Type::TextArray => "an array",
            Type::Geometry => "a geometry",
        }
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, Type::Date | Type::Timestamp)
    }
}

/// Every queryable: name, field, type, and whether it may be absent (`IS NULL`).
const FIELDS: &[(&str, Field, Type, bool)] = &[
    ("id", Field::Id, Type::Text, false),
    ("name", Field::Name, Type::Text, false),
    ("description", Field::Description, Type::Text, false),
    ("organisation", Field::Organisation, Type::Text, false),
    ("url", Field::Url, Type::Text, false),
    ("city", Field::City, Type::Text, false),
    ("country", Field::Country, Type::Text, false),
    ("kind", Field::Kind, Type::Text, false),
    ("status", Field::Status, Type::Text, false),
    (
        "location_precision",
        Field::LocationPrecision,
        Type::Text,
        false,
    ),
    ("skill_areas", Field::SkillAreas, Type::TextArray, false),
    ("target_groups", Field::TargetGroups, Type::TextArray, false),
    ("languages", Field::Languages, Type::TextArray, false),
    ("start", Field::Start, Type::Date, true),
    ("end", Field::End, Type::Date, true),
    ("updated_at", Field::UpdatedAt, Type::Timestamp, false),
    ("verified_at", Field::VerifiedAt, Type::Date, true),
    ("source", Field::Source, Type::Text, false),
    ("evidence_url", Field::EvidenceUrl, Type::Text, true),
    ("nuts1", Field::Nuts1, Type::Text, true),
    ("nuts2", Field::Nuts2, Type::Text, true),
    ("nuts3", Field::Nuts3, Type::Text, true),
    ("geometry", Field::Geometry, Type::Geometry, false),
];

impl Field {
    /// The field a property name stands for (names are case-sensitive, as in the features).
    pub fn named(name: &str) -> Option<Field> {
        FIELDS.iter().find(|f| f.0 == name).map(|f| f.1)
    }

    pub fn name(self) -> &'static str {
        FIELDS.iter().find(|f| f.1 == self).map_or("?", |f| f.0)
    }

    pub fn kind(self) -> Type {
        FIELDS
            .iter()
            .find(|f| f.1 == self)
            .map_or(Type::Text, |f| f.2)
    }

    /// Every queryable's name, for the error that names an unknown one.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FIELDS.iter().map(|f| f.0)
    }
}

/// The JSON Schema of every queryable, keyed by name.
pub fn schemas() -> serde_json::Map<String, Json> {
    let terms = |all: Vec<&'static str>| json!({ "type": "string", "enum": all });
    let date = json!({ "type": "string", "format": "date" });
    let text = |title: &str| json!({ "type": "string", "title": title });
    let mut out = serde_json::Map::new();
    for (name, field, _, _) in FIELDS {
        let schema = match field {
            Field::Country => terms(Country::all().map(|c| c.code()).collect()),
            Field::Kind => terms(Kind::ALL.iter().map(|t| t.slug()).collect()),
            Field::Status => terms(Status::ALL.iter().map(|t| t.slug()).collect()),
            Field::LocationPrecision => {
                terms(LocationPrecision::ALL.iter().map(|t| t.slug()).collect())
            }
            Field::SkillAreas => {
                json!({ "type": "array", "items": terms(SkillArea::ALL.iter().map(|t| t.slug()).collect()) })
            }
            Field::TargetGroups => {
                json!({ "type": "array", "items": terms(TargetGroup::ALL.iter().map(|t| t.slug()).collect()) })
            }
            Field::Languages => {
                json!({ "type": "array", "items": { "type": "string", "pattern": "^[a-z]{2}$" } })
            }
            Field::Start | Field::End | Field::VerifiedAt => date.clone(),
            Field::UpdatedAt => json!({ "type": "string", "format": "date-time" }),
            Field::Url | Field::EvidenceUrl => json!({ "type": "string", "format": "uri" }),
            Field::Geometry => {
                json!({ "$ref": "https://geojson.org/schema/Point.json", "format": "geometry-point", "x-ogc-role": "primary-geometry" })
            }
            Field::Id => json!({ "type": "string", "x-ogc-role": "id" }),
            Field::Nuts1 | Field::Nuts2 | Field::Nuts3 => {
                text("NUTS 2021 region the initiative lies in")
            }
            _ => json!({ "type": "string" }),
        };
        out.insert((*name).to_owned(), schema);
    }
    out
}
