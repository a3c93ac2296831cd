//! Every operation of the API: its parameters, request body, and each status it can answer
//! with the media types and schemas of the body, and links to the operations that follow.

use serde_json::{Map, Value, json};

use super::MEDIA_TYPE;
use super::components::{reference, schema};
use crate::api::params::{FILTER_PARAMS, MAX_OFFSET};
use crate::api::places::{DEFAULT_PLACES_LIMIT, MAX_PLACE_QUERY_CHARS};
use crate::geodesy::max_distance_m;
use crate::places::names::MAX_RESULTS;
use crate::regions::Level;

/// A shared parameter, by name.
fn shared(name: &str) -> Value {
    reference("parameters", name)
}

/// The filters every query endpoint takes.
fn filters() -> Vec<Value> {
    FILTER_PARAMS.iter().map(|p| shared(p)).collect()
}

fn path_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

fn id_parameter(description: &str) -> Value {
    path_parameter(
        "id",
        description,
        json!({ "type": "string", "minLength": 1 }),
    )
}

/// `f`, with the formats this operation offers.
fn format(formats: &[&str], description: &str) -> Value {
    json!({ "name": "f", "in": "query", "required": false, "description": description,
            "schema": { "type": "string", "enum": formats } })
}

fn json_only() -> Value {
    format(&["json"], "The representation: json")
}

/// A response by name from `components.responses`.
fn common(name: &str) -> Value {
    reference("responses", name)
}

fn body(description: &str, content: &[(&str, Value)]) -> Value {
    let content: Map<String, Value> = content
        .iter()
        .map(|(media_type, schema)| ((*media_type).to_string(), json!({ "schema": schema })))
        .collect();
    json!({ "description": description, "content": content })
}

fn with_headers(mut response: Value, headers: Value) -> Value {
    response["headers"] = headers;
    response
}

fn cache_headers() -> Value {
    json!({
        "ETag": { "description": "Strong entity tag of this representation", "schema": { "type": "string" } },
        "Cache-Control": { "schema": { "type": "string" } },
    })
}

/// What `lang` changes in a coverage answer (and what it leaves alone).
const COVERAGE_NAMES: &str = "The language of the countries' names at level country; without it, the best of Accept-Language, else English. NUTS regions keep their official names (Eurostat's, in the region's own language), whatever the language";

/// `lang`: one of the interface's languages, chosen over `Accept-Language`.
fn language() -> Value {
    language_of("The labels' language; without it, the best of Accept-Language, else English")
}

/// `lang`, described for what it changes in one operation's answer.
fn language_of(description: &str) -> Value {
    let codes: Vec<&str> = crate::translations::Locale::ALL
        .iter()
        .map(|l| l.code())
        .collect();
    json!({ "name": "lang", "in": "query", "required": false, "description": description,
            "schema": { "type": "string", "enum": codes } })
}

fn language_headers() -> Value {
    json!({
        "Content-Language": { "description": "The labels' language", "schema": { "type": "string" } },
        "Vary": { "schema": { "type": "string" } },
    })
}

/// A cached answer in one language: its validators and its language.
fn cache_and_language_headers() -> Value {
    let mut headers = cache_headers();
    if let (Some(all), Value::Object(language)) = (headers.as_object_mut(), language_headers()) {
        all.extend(language);
    }
    headers
}

fn item_headers() -> Value {
    json!({
        "ETag": { "description": "The initiative's entity tag, for If-Match", "schema": { "type": "string" } },
    })
}

fn created_headers() -> Value {
    json!({
        "ETag": { "description": "The initiative's entity tag, for If-Match", "schema": { "type": "string" } },
        "Location": { "description": "The initiative's URL", "schema": { "type": "string" } },
    })
}

/// Responses every operation can give: refused parameters, and the request timeout.
fn responses(pairs: Vec<(&str, Value)>) -> Value {
    let mut map: Map<String, Value> = pairs
        .into_iter()
        .map(|(status, response)| (status.to_string(), response))
        .collect();
    map.entry("400").or_insert_with(|| common("BadRequest"));
    map.entry("503").or_insert_with(|| common("Unavailable"));
    Value::Object(map)
}

fn json_ok(description: &str, schema_name: &str) -> Value {
    with_headers(
        body(description, &[("application/json", schema(schema_name))]),
        cache_headers(),
    )
}

fn geojson_ok(description: &str, schema_name: &str) -> Value {
    with_headers(
        body(
            description,
            &[("application/geo+json", schema(schema_name))],
        ),
        cache_headers(),
    )
}

fn private_ok(description: &str, schema_name: &str) -> Value {
    body(description, &[("application/json", schema(schema_name))])
}

/// An operation; `curator` ones declare the bearer token. One taking a filter can be sent a
/// URI too long for the HTTP library.
fn operation(id: &str, summary: &str, parameters: Vec<Value>, mut responses: Value) -> Value {
    if let (true, Some(map)) = (
        parameters.contains(&shared("filter")),
        responses.as_object_mut(),
    ) {
        map.insert("414".into(), common("UriTooLong"));
    }
    json!({ "operationId": id, "summary": summary, "parameters": parameters, "responses": responses })
}

/// A POST that takes `Idempotency-Key`: its refusals of a reused key (422) or of one still in
/// flight (409).
fn idempotent(mut operation: Value) -> Value {
    if let Some(responses) = operation["responses"].as_object_mut() {
        responses.insert("409".into(), common("Conflict"));
        responses.insert("422".into(), common("IdempotencyKeyReused"));
    }
    operation
}

fn curator(mut operation: Value) -> Value {
    operation["security"] = json!([{ "curator": [] }]);
    if let Some(responses) = operation["responses"].as_object_mut() {
        responses.insert("401".into(), common("Unauthorized"));
    }
    operation
}

fn with_body(
    mut operation: Value,
    description: &str,
    required: bool,
    content: &[(&str, Value)],
) -> Value {
    let content: Map<String, Value> = content
        .iter()
        .map(|(media_type, schema)| ((*media_type).to_string(), json!({ "schema": schema })))
        .collect();
    operation["requestBody"] =
        json!({ "description": description, "required": required, "content": content });
    if let Some(responses) = operation["responses"].as_object_mut() {
        responses.insert("408".into(), common("RequestTimeout"));
        responses.insert("413".into(), common("PayloadTooLarge"));
        responses.insert("415".into(), common("UnsupportedMediaType"));
    }
    operation
}

/// Links from an answer holding an initiative to the operations on it.
fn item_links(id: &str) -> Value {
    let by_id = |operation: &str| json!({ "operationId": operation, "parameters": { "id": id } });
    json!({
        "GetInitiative": by_id("getInitiative"),
        "ReplaceInitiative": by_id("replaceInitiative"),
        "PatchInitiative": by_id("patchInitiative"),
        "DeleteInitiative": by_id("deleteInitiative"),
    })
}

fn with_links(mut response: Value, links: Value) -> Value {
    response["links"] = links;
    response
}

pub fn paths() -> Value {
    let feature_input = [
        ("application/geo+json", schema("InitiativeInput")),
        ("application/json", schema("InitiativeInput")),
    ];
    let items_parameters: Vec<Value> = [
        shared("bbox"),
        shared("limit"),
        shared("offset"),
        format(
            &["json", "geojson", "csv", "geojsonl", "geojsonseq", "jsonl", "ndjson", "atom"],
            "The representation: GeoJSON (json, geojson; the default), CSV (csv), GeoJSON Lines (geojsonl and its aliases) or an Atom feed of the newest changes, deletions included (atom; 50 entries unless limit says otherwise); without it, Accept decides",
        ),
        shared("sortby"),
        shared("properties"),
        shared("skipGeometry"),
    ]
    .into_iter()
    .chain(filters())
    .collect();
    let items_ok = with_headers(
        body(
            "A page of initiatives (GeoJSON), every match as CSV or GeoJSON Lines, or an Atom feed (RFC 4287) of the newest changes",
            &[
                ("application/geo+json", schema("SelectedFeatureCollection")),
                ("text/csv", json!({ "type": "string" })),
                ("application/geo+json-seq", json!({ "type": "string" })),
                ("application/atom+xml", json!({ "type": "string" })),
            ],
        ),
        json!({
            "ETag": { "schema": { "type": "string" } },
            "Last-Modified": { "description": "The newest updated_at (GeoJSON pages), or the newest change (Atom feeds)", "schema": { "type": "string" } },
        }),
    );
    let item_get = with_links(
        with_headers(
            body(
                "One initiative",
                &[("application/geo+json", schema("Initiative"))],
            ),
            json!({
                "ETag": { "description": "The initiative's entity tag, for If-Match", "schema": { "type": "string" } },
                "Last-Modified": { "description": "Its updated_at", "schema": { "type": "string" } },
            }),
        ),
        item_links("$request.path.id"),
    );
    let changed = |description: &str| {
        with_links(
            with_headers(
                body(
                    description,
                    &[("application/geo+json", schema("Initiative"))],
                ),
                item_headers(),
            ),
            item_links("$response.body#/id"),
        )
    };
    let created = |description: &str| {
        with_links(
            with_headers(
                body(
                    description,
                    &[("application/geo+json", schema("Initiative"))],
                ),
                created_headers(),
            ),
            item_links("$response.body#/id"),
        )
    };
    let conditional = vec![
        shared("If-Match"),
        shared("If-None-Match"),
        shared("If-Unmodified-Since"),
    ];
    let item_id = || id_parameter("The initiative's id");
    let submission_id = || id_parameter("The submission's id");
    let submission_links = json!({
        "GetSubmission": { "operationId": "getSubmission", "parameters": { "id": "$response.body#/id" } },
        "ApproveSubmission": { "operationId": "approveSubmission", "parameters": { "id": "$response.body#/id" } },
        "RejectSubmission": { "operationId": "rejectSubmission", "parameters": { "id": "$response.body#/id" } },
    });
    let cluster_id = || {
        path_parameter(
            "cluster_id",
            "A cluster id from a tile (it changes when the data does)",
            json!({ "type": "string", "minLength": 1 }),
        )
    };
    let level = Level::ALL.map(Level::slug);
    let coverage_parameters: Vec<Value> = [
        json!({ "name": "level", "in": "query", "required": false, "description": "The regions to count by",
                "schema": { "type": "string", "enum": level, "default": "country" } }),
        shared("gap_km"),
        format(&["json", "csv"], "The representation: json (the default) or csv; without it, Accept decides"),
        language_of(COVERAGE_NAMES),
    ]
    .into_iter()
    .chain(filters())
    .collect();
    let regions_parameters: Vec<Value> = [
        path_parameter(
            "level",
            "The regions: country, nuts0, nuts1, nuts2 or nuts3",
            json!({ "type": "string", "enum": level }),
        ),
        shared("gap_km"),
        json_only(),
        language_of(COVERAGE_NAMES),
    ]
    .into_iter()
    .chain(filters())
    .collect();

    let suggest = json!({ "get": operation("getCoverageSuggestions", "Where the next matching initiative would reach the most uncovered people: the greedy maximum-coverage picks among a region's towns (all of Europe without region; k at most 20)",
            [vec![
                json!({ "name": "region", "in": "query", "required": false, "description": "A country (ISO) or NUTS code; all of Europe when absent",
                        "schema": { "type": "string", "minLength": 1 } }),
                json!({ "name": "k", "in": "query", "required": false, "description": "How many towns to pick",
                        "schema": { "type": "integer", "minimum": 1, "maximum": 20, "default": 5 } }),
                shared("gap_km"),
            ], filters()].concat(),
            responses(vec![("200", json_ok("The picks with their added and running total of people", "Suggestions")), ("304", common("NotModified"))])) });
    let mut paths = json!({
        "/": { "get": operation("getLandingPage", "The landing page: JSON for API clients, the map for browsers",
            vec![format(&["json", "html"], "The representation: json or html; without it, Accept decides (browsers get the map)")],
            responses(vec![
                ("200", with_headers(body("The landing page", &[
                    ("application/json", schema("LandingPage")),
                    ("text/html", json!({ "type": "string" })),
                ]), cache_headers())),
                ("304", common("NotModified")),
                ("406", common("NotAcceptable")),
            ])) },
        "/conformance": { "get": operation("getConformance", "The OGC API conformance classes implemented",
            vec![json_only()],
            responses(vec![("200", json_ok("Conformance classes", "Conformance")), ("304", common("NotModified"))])) },
        "/api": { "get": operation("getApiDefinition", "This OpenAPI document", vec![],
            responses(vec![
                ("200", with_headers(body("This OpenAPI 3.0 document", &[(MEDIA_TYPE, json!({ "type": "object" }))]), cache_headers())),
                ("304", common("NotModified")),
            ])) },
        "/collections": { "get": operation("getCollections", "The collections", vec![json_only()],
            responses(vec![("200", json_ok("The collections", "Collections")), ("304", common("NotModified"))])) },
        "/collections/initiatives": { "get": operation("getCollection", "The initiatives collection with its extent", vec![json_only()],
            responses(vec![("200", json_ok("The collection", "Collection")), ("304", common("NotModified"))])) },
        "/collections/initiatives/queryables": { "get": operation("getQueryables", "The queryable properties (JSON Schema)", vec![json_only()],
            responses(vec![
                ("200", with_headers(body("Queryable properties", &[("application/schema+json", schema("Queryables"))]), cache_headers())),
                ("304", common("NotModified")),
            ])) },
        "/collections/initiatives/items": {
            "get": operation("getInitiatives", "Initiatives matching the query, a page at a time (or all, exported)",
                items_parameters,
                responses(vec![("200", items_ok), ("304", common("NotModified")), ("406", common("NotAcceptable"))])),
            "post": idempotent(curator(with_body(operation("createInitiative", "Adds an initiative", vec![shared("Idempotency-Key")],
                responses(vec![
                    ("201", created("Created")),
                    ("405", common("MethodNotAllowed")),
                    ("409", common("Conflict")),
                ])), "A GeoJSON Feature (id optional)", true, &feature_input))),
        },
        "/collections/initiatives/items/{id}": {
            "get": operation("getInitiative", "One initiative", vec![item_id(), json_only()],
                responses(vec![("200", item_get), ("304", common("NotModified")), ("404", common("NotFound"))])),
            "put": curator(with_body(operation("replaceInitiative", "Replaces an initiative; with If-None-Match: * creates it under this id if none exists",
                [vec![item_id()], conditional.clone()].concat(),
                responses(vec![
                    ("200", changed("Replaced")),
                    ("201", created("Created (If-None-Match: *)")),
                    ("404", common("NotFound")),
                    ("405", common("MethodNotAllowed")),
                    ("412", common("PreconditionFailed")),
                ])), "The whole new GeoJSON Feature", true, &[
                    ("application/geo+json", schema("InitiativeReplacement")),
                    ("application/json", schema("InitiativeReplacement")),
                ])),
            "patch": curator(with_body(operation("patchInitiative", "Applies a JSON Merge Patch (RFC 7396) to an initiative",
                [vec![item_id()], conditional.clone()].concat(),
                responses(vec![
                    ("200", changed("Changed")),
                    ("404", common("NotFound")),
                    ("405", common("MethodNotAllowed")),
                    ("412", common("PreconditionFailed")),
                ])), "The patch", true, &[("application/merge-patch+json", schema("MergePatch"))])),
            "delete": curator(operation("deleteInitiative", "Deletes an initiative, leaving a tombstone in the deletions feed",
                [vec![item_id()], conditional].concat(),
                responses(vec![
                    ("204", json!({ "description": "Deleted" })),
                    ("404", common("NotFound")),
                    ("405", common("MethodNotAllowed")),
                    ("412", common("PreconditionFailed")),
                ]))),
        },
        "/collections/initiatives/deletions": { "get": operation("getDeletions", "Initiatives deleted (id and time), for partners pulling changes since a date",
            vec![shared("datetime"), json_only()],
            responses(vec![("200", json_ok("Deleted initiatives", "Deletions")), ("304", common("NotModified"))])) },
        "/submissions": {
            "post": idempotent(with_body(operation("submitInitiative", "Proposes an initiative; a curator reviews it before it appears", vec![shared("Idempotency-Key")],
                responses(vec![
                    ("202", with_links(with_headers(body("Stored as pending", &[("application/json", schema("SubmissionAccepted"))]),
                        json!({ "Location": { "description": "The submission's URL (for curators)", "schema": { "type": "string" } } })),
                        submission_links.clone())),
                    ("405", common("MethodNotAllowed")),
                    ("429", common("TooManyRequests")),
                ])), "A proposed initiative (id optional; updated_at and source are set by the server); at most 64 KiB", true, &feature_input)),
            "get": curator(operation("listSubmissions", "The proposals, newest first",
                vec![
                    json!({ "name": "status", "in": "query", "required": false, "schema": { "type": "string", "enum": ["pending", "approved", "rejected"] } }),
                    shared("limit"),
                    shared("offset"),
                ],
                responses(vec![("200", private_ok("Submissions and numberMatched", "Submissions")), ("405", common("MethodNotAllowed"))]))),
        },
        "/submissions/{id}": { "get": curator(operation("getSubmission", "One proposal", vec![submission_id()],
            responses(vec![("200", private_ok("The submission", "Submission")), ("404", common("NotFound")), ("405", common("MethodNotAllowed"))]))) },
        "/submissions/{id}/approve": { "post": idempotent(curator(with_body(operation("approveSubmission", "Publishes a proposal, optionally corrected",
            vec![submission_id(), shared("Idempotency-Key")],
            responses(vec![
                ("201", created("Published")),
                ("404", common("NotFound")),
                ("405", common("MethodNotAllowed")),
                ("409", common("Conflict")),
            ])), "Optionally, a corrected GeoJSON Feature to publish instead", false, &feature_input))) },
        "/submissions/{id}/reject": { "post": idempotent(curator(with_body(operation("rejectSubmission", "Declines a proposal",
            vec![submission_id(), shared("Idempotency-Key")],
            responses(vec![
                ("200", private_ok("Rejected", "Rejected")),
                ("404", common("NotFound")),
                ("405", common("MethodNotAllowed")),
                ("409", common("Conflict")),
            ])), "Optionally, why", false, &[("application/json", schema("Rejection"))]))) },
        "/audit": { "get": curator(operation("getAudit", "Every change: who, when, what, before and after",
            vec![
                json!({ "name": "after", "in": "query", "required": false, "description": "Entries after this sequence number, oldest first (the default)", "schema": { "type": "integer", "minimum": 0, "maximum": MAX_OFFSET } }),
                json!({ "name": "before", "in": "query", "required": false, "description": "Entries before this sequence number, newest first (not with after)", "schema": { "type": "integer", "minimum": 0, "maximum": MAX_OFFSET } }),
                shared("limit"),
            ],
            responses(vec![("200", private_ok("Audit entries", "AuditPage")), ("405", common("MethodNotAllowed"))]))) },
        "/curator": { "get": curator(operation("getCurator", "Who the token belongs to", vec![],
            responses(vec![("200", private_ok("The curator's name", "Curator"))]))) },
        "/near": { "get": operation("getNear", "Initiatives nearest a point first, within a radius or the k nearest",
            [vec![
                json!({ "name": "lat", "in": "query", "required": true, "description": "Latitude in degrees", "schema": { "type": "number", "minimum": -90, "maximum": 90 } }),
                json!({ "name": "lon", "in": "query", "required": true, "description": "Longitude in degrees", "schema": { "type": "number", "minimum": -180, "maximum": 180 } }),
                json!({ "name": "radius_km", "in": "query", "required": false, "description": "Great-circle radius in km (without it, the limit nearest)", "schema": { "type": "number", "minimum": 0, "maximum": max_distance_m() / 1000.0 } }),
                shared("limit"),
                json_only(),
            ], filters()].concat(),
            responses(vec![("200", geojson_ok("Initiatives nearest first, each with distance_m", "FeatureCollection")), ("304", common("NotModified"))])) },
        "/places": { "get": operation("getPlaces", "Places (cities, countries, NUTS regions, the initiatives' cities) whose name starts with q, as one types",
            vec![
                json!({ "name": "q", "in": "query", "required": true, "description": "The beginning of a place name or of a later word of it, in any case, with or without accents, in its own spelling or script, an exonym or an ASCII form (tart, Munchen, Lodz); at least one letter or digit", "schema": { "type": "string", "minLength": 1, "maxLength": MAX_PLACE_QUERY_CHARS } }),
                json!({ "name": "limit", "in": "query", "required": false, "description": "At most this many places", "schema": { "type": "integer", "minimum": 1, "maximum": MAX_RESULTS, "default": DEFAULT_PLACES_LIMIT } }),
                json_only(),
            ],
            responses(vec![("200", geojson_ok("Best match first, then by population", "PlaceCollection")), ("304", common("NotModified"))])) },
        "/places/labels/{z}/{x}/{y}.geojson": { "get": operation("getPlaceLabels", "The place names the base map shows in an XYZ tile at that zoom, placed so that none overlap",
            vec![
                path_parameter("z", "Zoom", json!({ "type": "integer", "minimum": 0, "maximum": 20 })),
                path_parameter("x", "Column from the west, 0 to 2^z - 1", json!({ "type": "integer", "minimum": 0 })),
                path_parameter("y", "Row from the north, 0 to 2^z - 1", json!({ "type": "integer", "minimum": 0 })),
            ],
            responses(vec![("200", geojson_ok("The tile's labels", "LabelCollection")), ("304", common("NotModified"))])) },
        "/tiles/{z}/{x}/{y}.geojson": { "get": operation("getTile", "Clusters and initiatives in an XYZ map tile (Web Mercator)",
            [vec![
                path_parameter("z", "Zoom", json!({ "type": "integer", "minimum": 0, "maximum": 20 })),
                path_parameter("x", "Column from the west, 0 to 2^z - 1", json!({ "type": "integer", "minimum": 0 })),
                path_parameter("y", "Row from the north, 0 to 2^z - 1", json!({ "type": "integer", "minimum": 0 })),
            ], filters()].concat(),
            responses(vec![
                ("200", with_links(geojson_ok("The tile", "TileCollection"), json!({
                    "ClusterChildren": { "operationId": "getClusterChildren",
                        "parameters": { "cluster_id": "$response.body#/features/0/properties/cluster_id" } },
                    "ClusterLeaves": { "operationId": "getClusterLeaves",
                        "parameters": { "cluster_id": "$response.body#/features/0/properties/cluster_id" } },
                }))),
                ("304", common("NotModified")),
            ])) },
        "/clusters/{cluster_id}/children": { "get": operation("getClusterChildren", "The items one zoom below a cluster",
            [vec![cluster_id()], filters()].concat(),
            responses(vec![("200", geojson_ok("Clusters and initiatives", "TileCollection")), ("304", common("NotModified")), ("404", common("NotFound"))])) },
        "/clusters/{cluster_id}/leaves": { "get": operation("getClusterLeaves", "A cluster's initiatives, a page at a time",
            [vec![cluster_id(), shared("limit"), shared("offset")], filters()].concat(),
            responses(vec![("200", geojson_ok("A page of the cluster's initiatives", "FeatureCollection")), ("304", common("NotModified")), ("404", common("NotFound"))])) },
        "/facets": { "get": operation("getFacets", "Counts per term; each facet applies every filter but its own",
            [vec![shared("bbox")], filters()].concat(),
            responses(vec![("200", json_ok("Counts", "Facets")), ("304", common("NotModified"))])) },
        "/vocabularies": { "get": operation("getVocabularies", "The vocabularies with labels in the visitor's language (lang, else Accept-Language, else English), and the countries",
            vec![language()],
            responses(vec![
                ("200", with_headers(private_ok("Vocabularies", "Vocabularies"), language_headers())),
            ])) },
        "/coverage": { "get": operation("getCoverage", "Initiatives per region: count, per 100,000 inhabitants, per skill area, gap share",
            coverage_parameters,
            responses(vec![
                ("200", with_headers(body("One row per region", &[
                    ("application/json", schema("CoverageTable")),
                    ("text/csv", json!({ "type": "string" })),
                ]), cache_and_language_headers())),
                ("304", common("NotModified")),
                ("406", common("NotAcceptable")),
            ])) },
        "/coverage/suggest": suggest,
        "/regions/{level}.geojson": { "get": operation("getRegions", "A level's regions with the coverage figures, for a choropleth",
            regions_parameters,
            responses(vec![("200", with_headers(geojson_ok("The regions", "RegionCollection"), cache_and_language_headers())), ("304", common("NotModified"))])) },
        "/healthz": { "get": operation("getHealth", "Status (ok, or degraded while the store cannot be reached or takes no writes), number of initiatives, data version, store revision", vec![],
            responses(vec![("200", private_ok("Healthy or degraded", "Health"))])) },
        "/readyz": { "get": operation("getReadiness", "For load balancers: ready whenever this replica can answer reads, also while the store is down", vec![],
            responses(vec![("200", private_ok("Ready", "Ready"))])) },
        "/config.json": { "get": operation("getPageConfig", "The map page's settings", vec![],
            responses(vec![("200", private_ok("The page's settings", "PageConfig"))])) },
    });
    if let (Some(map), Value::Object(more)) = (paths.as_object_mut(), vector_tile_paths()) {
        map.extend(more);
    }
    paths
}

/// The vector tiles: MVT by XYZ and by OGC API – Tiles, TileJSON, the tile matrix set.
fn vector_tile_paths() -> Value {
    let mvt_ok = with_headers(
        body(
            "The tile (Mapbox Vector Tile 2.1, layer initiatives, extent 4096)",
            &[(
                "application/vnd.mapbox-vector-tile",
                json!({ "type": "string", "format": "binary" }),
            )],
        ),
        cache_headers(),
    );
    let any_json = |description: &str| {
        with_headers(
            body(
                description,
                &[("application/json", json!({ "type": "object" }))],
            ),
            cache_headers(),
        )
    };
    let zxy = vec![
        path_parameter(
            "z",
            "Zoom",
            json!({ "type": "integer", "minimum": 0, "maximum": 20 }),
        ),
        path_parameter(
            "x",
            "Column from the west, 0 to 2^z - 1",
            json!({ "type": "integer", "minimum": 0 }),
        ),
        path_parameter(
            "y",
            "Row from the north, 0 to 2^z - 1",
            json!({ "type": "integer", "minimum": 0 }),
        ),
    ];
    let ogc = vec![
        path_parameter(
            "tileMatrix",
            "Zoom",
            json!({ "type": "integer", "minimum": 0, "maximum": 20 }),
        ),
        path_parameter(
            "tileRow",
            "Row from the north",
            json!({ "type": "integer", "minimum": 0 }),
        ),
        path_parameter(
            "tileCol",
            "Column from the west",
            json!({ "type": "integer", "minimum": 0 }),
        ),
    ];
    json!({
        "/tiles/{z}/{x}/{y}.mvt": { "get": operation("getVectorTile", "Clusters and initiatives in an XYZ map tile as a Mapbox Vector Tile (the same items as the GeoJSON tile)",
            [zxy, filters()].concat(),
            responses(vec![("200", mvt_ok.clone()), ("304", common("NotModified"))])) },
        "/tiles.json": { "get": operation("getTileJson", "TileJSON 3.0 of the vector tiles; the filters given are carried into the tile URL",
            filters(), responses(vec![("200", any_json("TileJSON")), ("304", common("NotModified"))])) },
        "/collections/initiatives/tiles": { "get": operation("getTilesets", "The vector tilesets of the initiatives (OGC API - Tiles)",
            vec![json_only()], responses(vec![("200", any_json("Tilesets")), ("304", common("NotModified"))])) },
        "/collections/initiatives/tiles/WebMercatorQuad": { "get": operation("getTileset", "The tileset's metadata",
            vec![json_only()], responses(vec![("200", any_json("Tileset")), ("304", common("NotModified"))])) },
        "/collections/initiatives/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}": { "get": operation("getCollectionTile", "A vector tile (OGC API - Tiles)",
            [ogc, filters()].concat(),
            responses(vec![("200", mvt_ok), ("304", common("NotModified"))])) },
        "/tileMatrixSets": { "get": operation("getTileMatrixSets", "The tile matrix sets served",
            vec![json_only()], responses(vec![("200", any_json("Tile matrix sets")), ("304", common("NotModified"))])) },
        "/tileMatrixSets/WebMercatorQuad": { "get": operation("getWebMercatorQuad", "The WebMercatorQuad tile matrix set",
            vec![json_only()], responses(vec![("200", any_json("WebMercatorQuad")), ("304", common("NotModified"))])) },
    })
}
