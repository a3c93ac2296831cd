//! The document's reusable parts: schemas of every body, the shared parameters (QGIS and
//! GDAL read `limit`'s default and maximum from here), the common error responses.

use serde_json::{Value, json};

use crate::api::coverage::DEFAULT_GAP_KM;
use crate::api::params::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET};
use crate::country::Country;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, Vocabulary};
use crate::regions::Level;

/// A `$ref` to a component.
pub fn reference(kind: &str, name: &str) -> Value {
    json!({ "$ref": format!("#/components/{kind}/{name}") })
}

pub fn schema(name: &str) -> Value {
    reference("schemas", name)
}

fn slugs<T: Vocabulary>() -> Vec<&'static str> {
    T::all().iter().map(|t| t.slug()).collect()
}

/// An optional term a proposal may leave out or send as null (the default applies).
fn optional_term<T: Vocabulary>(description: &str) -> Value {
    let mut terms: Vec<Value> = slugs::<T>().into_iter().map(Value::from).collect();
    terms.push(Value::Null);
    json!({ "type": "string", "enum": terms, "nullable": true, "description": description })
}

fn country_codes() -> Vec<&'static str> {
    Country::all().map(|c| c.code()).collect()
}

/// A comma-separated list of terms, as the filters take them.
fn term_list(terms: &[&str]) -> String {
    let one = terms.join("|");
    format!("^\\s*({one})?\\s*(,\\s*({one})?\\s*)*$")
}

/// A decimal number as the query parser reads it (surrounding spaces allowed).
const NUMBER: &str = "\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*";

/// An RFC 3339 date-time with offset, or a full date.
const INSTANT: &str = "\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])([Tt]([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?([Zz]|[+-]([01]\\d|2[0-3]):[0-5]\\d))?";

/// Text a record's field may hold: something besides spaces, and no control character
/// other than tab and line feed.
const TEXT: &str = "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$";

pub fn schemas() -> Value {
    let link = json!({
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": { "type": "string" },
            "rel": { "type": "string" },
            "type": { "type": "string" },
            "title": { "type": "string" },
        },
    });
    let links = json!({ "type": "array", "items": schema("Link") });
    let point = json!({
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": { "type": "string", "enum": ["Point"] },
            "coordinates": {
                "description": "[longitude, latitude] in WGS84 degrees",
                "type": "array",
                "minItems": 2,
                "maxItems": 3,
                "items": { "type": "number", "minimum": -180, "maximum": 180 },
            },
        },
    });
    let term_array = |terms: Vec<&'static str>| json!({ "type": "array", "minItems": 1, "items": { "type": "string", "enum": terms } });
    let properties = json!({
        "type": "object",
        "required": ["name", "description", "organisation", "url", "country", "city",
                     "skill_areas", "target_groups", "kind", "languages", "updated_at", "source"],
        "properties": {
            "name": { "type": "string" },
            "description": { "type": "string" },
            "organisation": { "type": "string" },
            "url": { "type": "string" },
            "country": { "type": "string", "enum": country_codes() },
            "city": { "type": "string" },
            "skill_areas": term_array(slugs::<SkillArea>()),
            "target_groups": term_array(slugs::<TargetGroup>()),
            "kind": { "type": "string", "enum": slugs::<Kind>() },
            "languages": { "type": "array", "items": { "type": "string", "pattern": "^[a-z]{2}$" } },
            "start": { "type": "string", "format": "date" },
            "end": { "type": "string", "format": "date" },
            "updated_at": { "type": "string", "format": "date-time" },
            "source": { "type": "string" },
            "evidence_url": { "type": "string", "description": "The page that states the initiative's name, place and activity" },
            "verified_at": { "type": "string", "format": "date", "description": "The day the record was last checked against its evidence" },
            "status": { "type": "string", "enum": slugs::<Status>(), "description": "closed: dissolved or ended, kept for history" },
            "location_precision": { "type": "string", "enum": slugs::<LocationPrecision>(), "description": "address: the building's point; city: the city's centre" },
            "nuts1": { "type": "string" },
            "nuts2": { "type": "string" },
            "nuts3": { "type": "string" },
            "distance_m": { "type": "number", "minimum": 0, "description": "Metres from the query point (/near only)" },
        },
    });
    let feature = json!({
        "description": "An initiative as a GeoJSON Feature",
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string" },
            "geometry": schema("Point"),
            "properties": schema("InitiativeProperties"),
            "links": links,
        },
    });
    // What a client sends: the server sets `updated_at` (and `source` when absent) and
    // checks every field as `skillsmap check` does.
    let text = |max: usize| json!({ "type": "string", "pattern": TEXT, "maxLength": max });
    let feature_input = json!({
        "description": "An initiative as a GeoJSON Feature, as a client sends it: `updated_at` is set by the server, `source` when absent, `id` (a slug) when absent on creation",
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,99}$" },
            "geometry": schema("Point"),
            "properties": {
                "type": "object",
                "required": ["name", "description", "organisation", "url", "country", "city",
                             "skill_areas", "target_groups", "kind", "languages"],
                "properties": {
                    "name": text(300),
                    "description": text(5000),
                    "organisation": text(300),
                    "url": { "type": "string", "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$", "maxLength": 2000 },
                    "country": { "type": "string", "enum": country_codes() },
                    "city": text(300),
                    "skill_areas": term_array(slugs::<SkillArea>()),
                    "target_groups": term_array(slugs::<TargetGroup>()),
                    "kind": { "type": "string", "enum": slugs::<Kind>() },
                    "languages": { "type": "array", "minItems": 1, "items": { "type": "string", "pattern": "^[a-z]{2}$" } },
                    "start": { "type": "string", "format": "date", "nullable": true },
                    "end": { "type": "string", "format": "date", "nullable": true },
                    "source": { "maxLength": 300, "pattern": format!("^\\s*$|{TEXT}"),
                                "description": "Where the record comes from, a string; when blank or not a string, the server sets its own" },
                    "evidence_url": { "type": "string", "pattern": "^\\s*$|^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$", "maxLength": 2000, "nullable": true,
                                      "description": "Optional (blank or null: none): the page that states the initiative's name, place and activity" },
                    "verified_at": { "type": "string", "format": "date", "nullable": true, "description": "Optional: the day the record was checked against its evidence" },
                    "status": optional_term::<Status>("Optional, active by default"),
                    "location_precision": optional_term::<LocationPrecision>("Optional, city by default"),
                },
            },
        },
    });
    // `properties` and `skipGeometry` pick what the items' features carry, so those
    // features promise only what a selection cannot remove.
    let mut selected_properties = properties.clone();
    if let Some(object) = selected_properties.as_object_mut() {
        object.remove("required");
        object.insert(
            "description".into(),
            json!("The properties `properties` selects (all when absent)"),
        );
    }
    let mut selected_point = point.clone();
    selected_point["nullable"] = json!(true);
    selected_point["description"] = json!("null with skipGeometry=true");
    let mut selected_feature = feature.clone();
    selected_feature["description"] = json!(
        "An initiative as a GeoJSON Feature, with the properties and geometry the query selects"
    );
    selected_feature["properties"]["geometry"] = selected_point;
    selected_feature["properties"]["properties"] = selected_properties;
    let collection = json!({
        "description": "A page of initiatives (GeoJSON FeatureCollection, OGC API - Features)",
        "type": "object",
        "required": ["type", "features", "numberReturned", "timeStamp"],
        "properties": {
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": schema("Initiative") },
            "numberMatched": { "type": "integer", "minimum": 0 },
            "numberReturned": { "type": "integer", "minimum": 0 },
            "timeStamp": { "type": "string", "format": "date-time" },
            "links": links,
        },
    });
    let mut selected_collection = collection.clone();
    selected_collection["description"] = json!(
        "A page of initiatives (GeoJSON FeatureCollection, OGC API - Features), each with the properties and geometry the query selects"
    );
    selected_collection["properties"]["features"]["items"] = schema("SelectedInitiative");
    let tile_feature = json!({
        "description": "A cluster (with counts) or an initiative (with what a map needs)",
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string" },
            "geometry": schema("Point"),
            "properties": {
                "type": "object",
                "required": ["cluster"],
                "properties": {
                    "cluster": { "type": "boolean" },
                    "cluster_id": { "type": "string" },
                    "point_count": { "type": "integer", "minimum": 1 },
                    "expansion_zoom": { "type": "integer", "minimum": 0, "maximum": 20 },
                    "skill_areas": {},
                    "name": { "type": "string" },
                    "organisation": { "type": "string" },
                    "city": { "type": "string" },
                    "country": { "type": "string" },
                    "kind": { "type": "string", "enum": slugs::<Kind>() },
                    "target_groups": { "type": "array", "items": { "type": "string" } },
                },
            },
        },
    });
    let tile = json!({
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": schema("TileFeature") },
        },
    });
    let problem = json!({
        "description": "RFC 9457 problem details",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer", "minimum": 400, "maximum": 599 },
            "detail": { "type": "string" },
            "parameter": { "type": "string", "description": "The parameter (or header) that was wrong" },
            "errors": {
                "description": "Every problem with a submitted record, each naming its field",
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": { "field": { "type": "string" }, "message": { "type": "string" } },
                },
            },
        },
    });
    let counts =
        json!({ "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } });
    let terms = json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["slug", "label"],
            "properties": { "slug": { "type": "string" }, "label": { "type": "string" } },
        },
    });
    let skill_counts: serde_json::Map<String, Value> = SkillArea::ALL
        .iter()
        .map(|a| {
            (
                a.slug().to_string(),
                json!({ "type": "integer", "minimum": 0 }),
            )
        })
        .collect();
    let coverage_row = json!({
        "type": "object",
        "required": ["code", "name", "country", "count", "by_skill_area", "gap_share", "area_km2", "people", "people_far"],
        "properties": {
            "code": { "type": "string" },
            "name": { "type": "string", "description": "At level country, the country's name in the answer's language (Content-Language); at NUTS levels, the region's official name as Eurostat gives it (in the region's own language, Latin script), never translated" },
            "country": { "type": "string", "description": "ISO 3166-1 alpha-2 code of the region's country" },
            "count": { "type": "integer", "minimum": 0 },
            "population": { "type": "integer", "minimum": 0, "nullable": true },
            "per_100k": { "type": "number", "minimum": 0, "nullable": true },
            "by_skill_area": { "type": "object", "properties": skill_counts },
            "gap_share": { "type": "number", "minimum": 0, "maximum": 1 },
            "nearest_km": { "type": "number", "minimum": 0, "nullable": true },
            "area_km2": { "type": "number", "minimum": 0 },
            "people": { "type": "integer", "minimum": 0, "description": "Inhabitants of the region's populated places of 1,000 or more (GeoNames)" },
            "people_far": { "type": "integer", "minimum": 0, "description": "Those of them farther than gap_km from every matching initiative" },
            "people_gap_share": { "type": "number", "minimum": 0, "maximum": 1, "nullable": true },
        },
    });
    let coverage_summary = |extra: (&str, Value)| {
        let mut properties = json!({
            "level": { "type": "string", "enum": Level::ALL.map(Level::slug) },
            "gap_km": { "type": "number" },
            "matched": { "type": "integer", "minimum": 0 },
            "outside_regions": { "type": "integer", "minimum": 0 },
            "attribution": { "type": "string" },
        });
        properties[extra.0] = extra.1;
        properties
    };
    let object = |required: &[&str], properties: Value| json!({ "type": "object", "required": required, "properties": properties });
    let suggestions = object(
        &[
            "region",
            "gap_km",
            "k",
            "matched",
            "people",
            "people_far",
            "picks",
            "attribution",
        ],
        json!({
            "region": { "type": "string", "nullable": true }, "gap_km": { "type": "number" },
            "k": { "type": "integer", "minimum": 1, "maximum": 20 }, "matched": { "type": "integer", "minimum": 0 },
            "people": { "type": "integer", "minimum": 0 }, "people_far": { "type": "integer", "minimum": 0 },
            "attribution": { "type": "string" },
            "picks": { "type": "array", "maxItems": 20, "items": object(&["id", "name", "country", "lon", "lat", "population", "added", "total"], json!({
                "id": { "type": "string" }, "name": { "type": "string" }, "country": { "type": "string" },
                "lon": { "type": "number" }, "lat": { "type": "number" },
                "population": { "type": "integer", "minimum": 0 },
                "added": { "type": "integer", "minimum": 0 }, "total": { "type": "integer", "minimum": 0 } })) } }),
    );
    let submission = object(
        &["id", "status", "submitted_at", "client", "feature"],
        json!({
            "id": { "type": "string" },
            "status": { "type": "string", "enum": ["pending", "approved", "rejected"] },
            "submitted_at": { "type": "string", "format": "date-time" },
            "client": { "type": "string" },
            "feature": { "type": "object" },
            "decided_by": { "type": "string" },
            "decided_at": { "type": "string", "format": "date-time" },
            "reason": { "type": "string" },
            "initiative_id": { "type": "string" },
        }),
    );
    let audit_entry = object(
        &["seq", "at", "actor", "action", "changed"],
        json!({
            "seq": { "type": "integer", "minimum": 1 },
            "at": { "type": "string", "format": "date-time" },
            "actor": { "type": "string" },
            "action": { "type": "string" },
            "initiative_id": { "type": "string" },
            "submission_id": { "type": "string" },
            "before": { "type": "object", "description": "The record before the change" },
            "after": {
                "type": "object",
                "description": "The record after the change; for a harvest run (action `harvest`, one entry per run) what the run did: `added` and `retired` (lists of ids), `updated` (per record id, each changed field with its `before` and `after`) and `curated` (per record id, the fields the feed changed whose curators' values were kept)",
            },
            "detail": { "type": "string" },
            "changed": {
                "type": "array", "items": { "type": "string" },
                "description": "The fields whose values differ between `before` and `after` (empty for a harvest run: see `after.updated`)",
            },
        }),
    );
    let place_feature = object(
        &["type", "id", "geometry", "properties"],
        json!({
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string", "description": "geonames:ID, country:CC, nuts:CODE or initiatives:CC:name" },
            "bbox": {
                "description": "A region's extent: west, south, east, north",
                "type": "array", "minItems": 4, "maxItems": 4, "items": { "type": "number" },
            },
            "geometry": schema("Point"),
            "properties": object(&["name", "country", "kind", "population"], json!({
                "name": { "type": "string", "description": "The place's own name" },
                "country": { "type": "string" },
                "kind": { "type": "string", "enum": ["city", "region"] },
                "population": { "type": "integer", "minimum": 0, "nullable": true },
                "matched": { "type": "string", "description": "The spelling that matched, when it is not the name" },
            })),
        }),
    );
    let page_config = object(
        &[
            "basemap_url",
            "basemap_pmtiles",
            "basemap_attribution",
            "labels",
            "max_zoom",
            "outlines",
            "outlines_error",
            "region_outlines",
        ],
        json!({
            "outlines": { "type": "array", "nullable": true, "description": "The built-in country outlines (drawn when no other base map is configured), by level of detail: each level's versioned URL among the site's files and the zoom from which it is drawn",
                "items": object(&["url", "min_zoom"], json!({ "url": { "type": "string" }, "min_zoom": { "type": "integer", "minimum": 0 } })) },
            "outlines_error": { "type": "string", "nullable": true, "description": "Why the built-in outlines are unavailable" },
            "region_outlines": { "type": "object", "description": "Each loaded region level's outlines (GeoJSON, no figures: join `/coverage`'s rows by code), at its versioned URL among the site's files",
                "additionalProperties": { "type": "string" } },
            "basemap_url": { "type": "string", "nullable": true },
            "basemap_pmtiles": { "type": "string", "nullable": true, "description": "Where the operator's PMTiles base map is served, when there is one" },
            "basemap_attribution": { "type": "string", "nullable": true },
            "labels": { "type": "boolean", "description": "Whether the page draws place labels from /places/labels" },
            "max_zoom": { "type": "integer", "minimum": 1, "maximum": 20, "description": "The map's deepest zoom" },
        }),
    );
    let place_collection = object(
        &["type", "features", "numberReturned"],
        json!({
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": schema("PlaceFeature") },
            "numberReturned": { "type": "integer", "minimum": 0 },
            "attribution": { "type": "string", "description": "GeoNames' attribution, when its places are loaded" },
        }),
    );
    let label = object(
        &["type", "id", "geometry", "properties"],
        json!({
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string" },
            "geometry": schema("Point"),
            "properties": object(&["name", "population", "capital"], json!({
                "name": { "type": "string" },
                "population": { "type": "integer", "minimum": 0, "nullable": true },
                "capital": { "type": "boolean" },
            })),
        }),
    );
    let label_collection = object(
        &["type", "features"],
        json!({
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": label },
        }),
    );
    let mut replacement = feature_input.clone();
    replacement["description"] = json!(
        "The whole new GeoJSON Feature of the initiative; its `id` is the URL's (a different string is refused, anything else replaced)"
    );
    replacement["properties"]["id"] = json!({ "description": "The id in the URL" });
    let mut schemas = json!({
        "Link": link,
        "Point": point,
        "InitiativeProperties": properties,
        "Initiative": feature,
        "InitiativeReplacement": replacement,
        "InitiativeInput": feature_input,
        "MergePatch": {
            "description": "A JSON Merge Patch (RFC 7396) of the initiative's Feature; the result must validate",
            "type": "object",
        },
        "FeatureCollection": collection,
        "TileFeature": tile_feature,
        "TileCollection": tile,
        "Problem": problem,
        "LandingPage": object(&["links"], json!({
            "title": { "type": "string" }, "description": { "type": "string" }, "links": links })),
        "Conformance": object(&["conformsTo"], json!({
            "conformsTo": { "type": "array", "items": { "type": "string" } } })),
        "Collection": object(&["id", "links"], json!({
            "id": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
            "itemType": { "type": "string" }, "crs": { "type": "array", "items": { "type": "string" } },
            "storageCrs": { "type": "string" }, "extent": { "type": "object" }, "links": links })),
        "Collections": object(&["collections", "links"], json!({
            "collections": { "type": "array", "items": schema("Collection") }, "links": links })),
        "Queryables": object(&["type", "properties"], json!({
            "$schema": { "type": "string" }, "$id": { "type": "string" }, "type": { "type": "string" },
            "title": { "type": "string" }, "properties": { "type": "object" },
            "additionalProperties": { "type": "boolean" } })),
        "Facets": object(&["total", "skill_area", "target_group", "kind", "country", "status"], json!({
            "total": { "type": "integer", "minimum": 0 }, "skill_area": counts,
            "target_group": counts, "kind": counts, "country": counts, "status": counts })),
        "Vocabularies": object(&["skill_areas", "target_groups", "kinds", "statuses", "location_precisions", "countries"], json!({
            "skill_areas": terms, "target_groups": terms, "kinds": terms, "statuses": terms,
            "location_precisions": terms,
            "countries": { "type": "array", "items": object(&["code", "name", "group"], json!({
                "code": { "type": "string" }, "name": { "type": "string" },
                "group": { "type": "string", "enum": ["eu", "efta", "candidate", "other_europe"] } })) } })),
        "CoverageRow": coverage_row,
        "Suggestions": suggestions,
        "CoverageTable": object(&["level", "gap_km", "matched", "outside_regions", "attribution", "regions", "links"],
            coverage_summary(("regions", json!({ "type": "array", "items": schema("CoverageRow") })))
                .as_object().map(|m| { let mut m = m.clone(); m.insert("links".into(), links.clone()); Value::Object(m) })
                .unwrap_or_default()),
        "RegionCollection": object(&["type", "level", "gap_km", "matched", "outside_regions", "attribution", "features"],
            coverage_summary(("features", json!({ "type": "array", "items": object(&["type", "id", "geometry", "properties"], json!({
                "type": { "type": "string", "enum": ["Feature"] }, "id": { "type": "string" },
                "geometry": { "type": "object" }, "properties": schema("CoverageRow") })) })))
                .as_object().map(|m| { let mut m = m.clone(); m.insert("type".into(), json!({ "type": "string", "enum": ["FeatureCollection"] })); Value::Object(m) })
                .unwrap_or_default()),
        "Deletions": object(&["deletions", "timeStamp"], json!({
            "deletions": { "type": "array", "items": object(&["id", "deleted_at"], json!({
                "id": { "type": "string" }, "deleted_at": { "type": "string", "format": "date-time" } })) },
            "timeStamp": { "type": "string", "format": "date-time" } })),
        "SubmissionAccepted": object(&["id", "status", "initiative_id", "message"], json!({
            "id": { "type": "string" }, "status": { "type": "string", "enum": ["pending"] },
            "initiative_id": { "type": "string" }, "message": { "type": "string" } })),
        "Submission": submission,
        "Submissions": object(&["submissions", "numberMatched"], json!({
            "submissions": { "type": "array", "items": schema("Submission") },
            "numberMatched": { "type": "integer", "minimum": 0 } })),
        "Rejection": {
            "type": "object",
            "additionalProperties": false,
            "properties": { "reason": { "type": "string", "maxLength": 2000 } },
        },
        "Rejected": object(&["id", "status"], json!({
            "id": { "type": "string" }, "status": { "type": "string", "enum": ["rejected"] } })),
        "AuditPage": object(&["entries"], json!({
            "entries": { "type": "array", "items": audit_entry },
            "next_after": { "type": "integer" }, "next_before": { "type": "integer" } })),
        "Curator": object(&["name"], json!({ "name": { "type": "string" } })),
        "Health": object(&["status", "initiatives", "version", "revision"], json!({
            "status": { "type": "string", "enum": ["ok", "degraded"] }, "initiatives": { "type": "integer", "minimum": 0 },
            "version": { "type": "string" }, "revision": { "type": "integer", "minimum": 0 },
            "store": { "type": "string", "description": "Why the store cannot be reached or takes no writes, e.g. its disk is full (when degraded)" } })),
        "Ready": object(&["ready", "version", "revision", "writable"], json!({
            "ready": { "type": "boolean" }, "version": { "type": "string" },
            "revision": { "type": "integer", "minimum": 0 }, "writable": { "type": "boolean" } })),
        "PageConfig": page_config,
    });
    // The gazetteer's answers and the selected features (one json! more would pass the
    // macro's recursion limit).
    if let Some(map) = schemas.as_object_mut() {
        map.insert("SelectedInitiative".into(), selected_feature);
        map.insert("SelectedFeatureCollection".into(), selected_collection);
        map.insert("PlaceFeature".into(), place_feature);
        map.insert("PlaceCollection".into(), place_collection);
        map.insert("LabelCollection".into(), label_collection);
    }
    schemas
}

/// The query and header parameters shared by several operations, by name.
pub fn parameters() -> Value {
    use crate::api::params::CRS84;
    let query = |name: &str, description: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema });
    let list = |terms: Vec<&str>| json!({ "type": "string", "pattern": term_list(&terms) });
    // `"*" / #entity-tag` as the server reads it: list elements may be empty, a tag is
    // visible ASCII other than the quote.
    let tags =
        "^[ \\t]*((\\*|(W/)?\"[!#-~]*\")[ \\t]*)?(,[ \\t]*((\\*|(W/)?\"[!#-~]*\")[ \\t]*)?)*$";
    let mut parameters = json!({
        "limit": query("limit", "Page size (for f=csv and f=geojsonl, every match unless given; for f=atom, 50 entries)",
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT })),
        "offset": query("offset", "How many matches to skip",
            json!({ "type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0 })),
        "bbox": {
            "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "minLon,minLat,maxLon,maxLat (WGS84; or the six numbers of a 3D box); minLon > maxLon crosses the antimeridian",
            "schema": { "type": "string", "pattern": format!("^{NUMBER},{NUMBER},{NUMBER},{NUMBER}(,{NUMBER},{NUMBER})?$") },
        },
        "skill_area": query("skill_area", "Skill areas, comma-separated (any matches)", list(slugs::<SkillArea>())),
        "target_group": query("target_group", "Target groups, comma-separated (any matches)", list(slugs::<TargetGroup>())),
        "kind": query("kind", "Kinds, comma-separated (any matches)", list(slugs::<Kind>())),
        "status": query("status", "Statuses, comma-separated, or all; without it only active initiatives (closed ones are kept for history)",
            list(slugs::<Status>().into_iter().chain(["all"]).collect())),
        "location_precision": query("location_precision", "What the point stands for, comma-separated: address (the building) or city (its centre)",
            list(slugs::<LocationPrecision>())),
        "q": query("q", "Free text over name, organisation, city and description; case- and accent-insensitive, every word must occur",
            json!({ "type": "string", "maxLength": 200 })),
        "datetime": query("datetime", "updated_at within an instant, a date (its whole day, UTC) or an interval start/end (.. or nothing for an open end); RFC 3339 date-times with their offset",
            json!({ "type": "string", "pattern": format!("^({INSTANT}|({INSTANT}|\\.\\.)?/({INSTANT}|\\.\\.)?)$") })),
        "nuts": query("nuts", "NUTS 2021 codes at any level, comma-separated; a code matches the regions under it (DE2 takes in DE21 and DE212)",
            json!({ "type": "string", "pattern": "^\\s*([A-Za-z]{2}[A-Za-z0-9]{0,3})?\\s*(,\\s*([A-Za-z]{2}[A-Za-z0-9]{0,3})?\\s*)*$" })),
        "filter": query("filter", "A CQL2 filter (OGC API - Features Part 3) over the queryables (/collections/initiatives/queryables), combined with every other filter: comparisons, LIKE, BETWEEN, IN, IS NULL, CASEI, ACCENTI, S_INTERSECTS and the other spatial functions, T_ functions, A_ functions. Errors name the position.",
            json!({ "type": "string", "maxLength": crate::cql2::MAX_FILTER_CHARS })),
        "filter-lang": query("filter-lang", "The encoding of filter",
            json!({ "type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text" })),
        "filter-crs": query("filter-crs", "The CRS of the filter's geometries: only WGS 84 longitude/latitude",
            json!({ "type": "string", "enum": [CRS84], "default": CRS84 })),
        "sortby": {
            "name": "sortby", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "Sort keys, comma-separated, each a property with - for descending (e.g. -updated_at,name); ties in id order",
            "schema": { "type": "array", "items": { "type": "string", "enum": sort_keys() } },
        },
        "properties": {
            "name": "properties", "in": "query", "required": false, "style": "form", "explode": false,
            "description": "The properties each feature carries (id always), comma-separated; for CSV the columns",
            "schema": { "type": "array", "items": { "type": "string", "enum": crate::api::selection::PROPERTIES } },
        },
        "skipGeometry": query("skipGeometry", "true: features without geometry (null), CSV without lon and lat",
            json!({ "type": "boolean", "default": false })),
        "gap_km": query("gap_km", "Distance in km beyond which a place counts as far from any initiative",
            json!({ "type": "number", "exclusiveMinimum": true, "minimum": 0, "maximum": 1000, "default": DEFAULT_GAP_KM })),
        "If-Match": {
            "name": "If-Match", "in": "header", "required": false,
            "description": "Change only if the initiative's current ETag is listed (* : if it exists); otherwise 412",
            "schema": { "type": "string", "pattern": tags },
        },
        "If-None-Match": {
            "name": "If-None-Match", "in": "header", "required": false,
            "description": "Change only if the initiative's current ETag is not listed (* : only if it does not exist; a PUT then creates it); otherwise 412",
            "schema": { "type": "string", "pattern": tags },
        },
        "Idempotency-Key": {
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Makes retrying this POST safe (IETF draft \"The Idempotency-Key HTTP Header Field\"): a unique string of 1 to 255 letters, digits and . _ ~ : + / = -, bare or quoted (otherwise 400). A retry with the same key and the same request gets the first answer again (same status and body) without writing twice; the same key with another request is 422; while the first request is still being answered, 409. Keys are kept 24 hours by default",
            "schema": { "type": "string", "pattern": crate::api::idempotency::key_pattern() },
        },
        "If-Unmodified-Since": {
            "name": "If-Unmodified-Since", "in": "header", "required": false,
            "description": "Without If-Match: change only if the initiative has not changed since this HTTP date",
            "schema": { "type": "string" },
        },
    });
    if let Some(map) = parameters.as_object_mut() {
        // The country pattern accepts either case, as the server does.
        let codes: Vec<String> = country_codes()
            .iter()
            .map(|c| {
                c.chars()
                    .map(|ch| format!("[{}{}]", ch.to_ascii_uppercase(), ch.to_ascii_lowercase()))
                    .collect()
            })
            .collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        map.insert(
            "country".into(),
            query(
                "country",
                "ISO 3166-1 alpha-2 codes, comma-separated, either case (any matches; Greece is GR)",
                json!({ "type": "string", "pattern": term_list(&codes) }),
            ),
        );
    }
    parameters
}

/// Every `sortby` key: each sortable property, ascending or (with -) descending.
fn sort_keys() -> Vec<String> {
    crate::api::selection::SORTABLE
        .iter()
        .flat_map(|p| [p.to_string(), format!("-{p}")])
        .collect()
}

/// A response whose body is a problem.
pub fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": schema("Problem") } },
    })
}

/// The error answers many operations share.
pub fn responses() -> Value {
    let mut unauthorized =
        problem_response("No valid curator token (send Authorization: Bearer TOKEN)");
    unauthorized["headers"] = json!({
        "WWW-Authenticate": { "description": "Bearer realm=\"skillsmap curators\"", "schema": { "type": "string" } },
    });
    let retry = json!({ "Retry-After": { "description": "Seconds to wait before trying again", "schema": { "type": "integer", "minimum": 1 } } });
    let mut too_many = problem_response("Too many submissions from this address");
    too_many["headers"] = retry.clone();
    let mut unavailable = problem_response(
        "The service is loading its data, overloaded, or its store is busy or unreachable, or the request took too long (Retry-After says when to try again); or a resource it needs is not installed",
    );
    unavailable["headers"] = json!({ "Retry-After": { "description": "Seconds to wait before trying again (absent when a resource is not installed)", "schema": { "type": "integer", "minimum": 1 } } });
    // The HTTP library answers this itself, before the server sees the request.
    let uri_too_long = json!({ "description": "The URI is longer than 65,534 bytes (no body); a filter within its maxLength always fits" });
    json!({
        "UriTooLong": uri_too_long,
        "BadRequest": problem_response("A parameter, header or the body is invalid, or a query parameter is unknown; `parameter` names it"),
        "Unauthorized": unauthorized,
        "NotFound": problem_response("No such resource"),
        "MethodNotAllowed": problem_response("This server serves a dataset file read-only (started with --data)"),
        "NotAcceptable": problem_response("None of the representations is acceptable to the request's Accept"),
        "Conflict": problem_response("The id is taken, the submission was already decided, or a request with the same Idempotency-Key is still being answered"),
        "IdempotencyKeyReused": problem_response("The Idempotency-Key was used for a different request (method, path, body or sender); nothing was changed"),
        "PreconditionFailed": problem_response("If-Match, If-None-Match or If-Unmodified-Since does not hold; nothing was changed"),
        "RequestTimeout": problem_response("The body did not arrive within the body timeout"),
        "PayloadTooLarge": problem_response("The body (as declared by Content-Length, or as it arrives) is over the limit"),
        "UnsupportedMediaType": problem_response("The body is not JSON"),
        "TooManyRequests": too_many,
        "Unavailable": unavailable,
        "NotModified": {
            "description": "The client's copy (If-None-Match, or If-Modified-Since) is current",
            "headers": { "ETag": { "schema": { "type": "string" } } },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::params::FILTER_PARAMS;

    #[test]
    fn every_filter_is_a_shared_parameter() {
        let parameters = parameters();
        for name in FILTER_PARAMS {
            assert_eq!(parameters[name]["name"], *name, "{name}");
        }
    }
}
