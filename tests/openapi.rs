//! The OpenAPI document against its committed snapshot, and the properties clients rely on.
//!
//! When the API changes on purpose, refresh the snapshot with
//! `UPDATE_OPENAPI_SNAPSHOT=1 cargo test --profile ci --test openapi` and review the diff of
//! `tests/openapi.expected.json` like any other change.

use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openapi.expected.json");

#[test]
fn the_document_matches_its_snapshot() {
    let document = skillsmap::api::openapi::document();
    let text = serde_json::to_string_pretty(&document).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOT").is_some() {
        std::fs::write(SNAPSHOT, &text).unwrap();
    }
    let expected = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        text == expected,
        "the OpenAPI document differs from {SNAPSHOT}; if the change is meant, run \
         UPDATE_OPENAPI_SNAPSHOT=1 cargo test --profile ci --test openapi and review the diff"
    );
}

/// Every `$ref` in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn clients_find_what_they_read() {
    let api = skillsmap::api::openapi::document();
    assert_eq!(api["openapi"], "3.0.3");
    // QGIS and GDAL page by limit's default and maximum, read from components.parameters.
    let limit = &api["components"]["parameters"]["limit"]["schema"];
    assert_eq!(
        (limit["default"].as_u64(), limit["maximum"].as_u64()),
        (Some(100), Some(10_000))
    );
    let items = &api["paths"]["/collections/initiatives/items"]["get"];
    assert!(
        items["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["$ref"] == "#/components/parameters/limit")
    );
    let mut found = Vec::new();
    references(&api, &mut found);
    for target in found {
        let pointer = target.trim_start_matches('#');
        assert!(api.pointer(pointer).is_some(), "{target} resolves");
    }
    let mut ids = Vec::new();
    for (path, item) in api["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            ids.push(id.to_string());
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("400") && responses.contains_key("503"),
                "{method} {path}"
            );
            for (status, response) in responses {
                let Some(content) = response.get("content") else {
                    continue;
                };
                for (media_type, body) in content.as_object().unwrap() {
                    assert!(
                        body.get("schema").is_some(),
                        "{method} {path} {status} {media_type}"
                    );
                }
            }
            if operation.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("413") && responses.contains_key("415"),
                    "{method} {path}"
                );
            }
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    assert!(count >= 30);
}
