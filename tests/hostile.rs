//! Property tests: random and hostile query strings and paths never make the API answer 500
//! or panic, and every refusal is a problem+json naming what was wrong.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use skillsmap::api::{AppState, router};
use skillsmap::config::ServeConfig;
use skillsmap::server::load_snapshot;
use tower::ServiceExt;

fn app() -> axum::Router {
    let config = ServeConfig::local(None);
    let snapshot = load_snapshot(&config).expect("the seed data loads");
    router(AppState::read_only(snapshot, config))
}

const PATHS: &[&str] = &[
    "/collections/initiatives/items",
    "/near",
    "/tiles/3/4/2.geojson",
    "/facets",
    "/clusters/0-0-x/leaves",
    "/collections/initiatives/items/de-x",
    "/",
    "/conformance",
];

const NAMES: &[&str] = &[
    "bbox",
    "limit",
    "offset",
    "f",
    "lat",
    "lon",
    "radius_km",
    "country",
    "skill_area",
    "target_group",
    "kind",
    "q",
    "datetime",
    "x",
];

/// Values that have broken parsers elsewhere: numbers at the edges, NaN and infinities,
/// separators, escapes, very long and non-ASCII text.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NaN".to_string()),
        Just("-inf".to_string()),
        Just("1e309".to_string()),
        Just("-0".to_string()),
        Just("18446744073709551616".to_string()),
        Just(",,,".to_string()),
        Just("%00%ff%fe".to_string()),
        Just("..%2f..%2f".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("-180,-90,180,90".to_string()),
        Just("180,90,-180,-90".to_string()),
        Just("2026-02-30/..".to_string()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
        "-?[0-9]{1,25}(\\.[0-9]{0,20})?(e-?[0-9]{1,4})?",
        "([-0-9.e]{1,8},){0,7}[-0-9.e]{0,8}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec((prop::sample::select(NAMES), hostile_value()), 0..6).prop_map(
        |pairs| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (name, value) in pairs {
                q.append_pair(name, &value);
            }
            q.finish()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn no_query_yields_a_server_error(path in prop::sample::select(PATHS), query in query()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = APP.with(|app| app.clone());
        let uri = format!("{path}?{query}");
        let response = runtime.block_on(async {
            app.oneshot(Request::get(&uri).header("accept", "application/json").body(Body::empty()).unwrap()).await.unwrap()
        });
        let status = response.status();
        prop_assert!(!status.is_server_error(), "{uri} gave {status}");
        if status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED {
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            prop_assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{}", uri);
        }
    }

    #[test]
    fn no_path_yields_a_server_error(segments in proptest::collection::vec("[-a-zA-Z0-9._%~]{0,12}", 1..5)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = APP.with(|app| app.clone());
        for prefix in ["/tiles", "/clusters", "/collections/initiatives/items", "/vendor/leaflet", ""] {
            let uri = format!("{prefix}/{}", segments.join("/"));
            let Ok(request) = Request::get(&uri).body(Body::empty()) else { continue };
            let response = runtime.block_on(async { app.clone().oneshot(request).await.unwrap() });
            prop_assert!(!response.status().is_server_error(), "{uri} gave {}", response.status());
        }
    }
}

thread_local! {
    static APP: axum::Router = app();
    static CURATED: axum::Router = curated_app();
}

const TOKEN: &str = "hostile-test-token-0123456789";

/// The full service on an in-memory store, with a curator and no practical rate limit.
fn curated_app() -> axum::Router {
    let mut config = ServeConfig::local(None);
    config.curator_tokens = Some(skillsmap::config::Secret(format!("t:{TOKEN}")));
    config.submission_burst = skillsmap::config::MAX_RATE;
    router(skillsmap::server::app_state(config).expect("the store opens"))
}

/// JSON values that have broken validators elsewhere.
fn hostile_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    let leaf = prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!("javascript:alert(1)")),
        Just(json!("<img src=x onerror=alert(1)>")),
        Just(json!("\u{0}\u{202e}")),
        Just(json!("x".repeat(5000))),
        "\\PC{0,30}".prop_map(serde_json::Value::from),
        any::<f64>().prop_map(
            |f| serde_json::Number::from_f64(f).map_or(json!(null), serde_json::Value::Number)
        ),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid proposal with some members replaced by hostile values.
fn hostile_record() -> impl Strategy<Value = serde_json::Value> {
    const FIELDS: &[&str] = &[
        "/type",
        "/id",
        "/geometry",
        "/geometry/type",
        "/geometry/coordinates",
        "/geometry/coordinates/0",
        "/properties",
        "/properties/name",
        "/properties/url",
        "/properties/country",
        "/properties/skill_areas",
        "/properties/kind",
        "/properties/languages",
        "/properties/start",
        "/properties/end",
        "/properties/source",
    ];
    proptest::collection::vec((prop::sample::select(FIELDS), hostile_json()), 0..4).prop_map(
        |changes| {
            let mut record = serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [4.35, 50.85]},
                "properties": {
                    "name": "Hub", "description": "d", "organisation": "o",
                    "url": "https://example.org", "country": "BE", "city": "Brussels",
                    "skill_areas": ["iot"], "target_groups": ["smes"], "kind": "hub",
                    "languages": ["fr"], "start": "2024-01-01"
                }
            });
            for (pointer, value) in changes {
                if let Some(slot) = record.pointer_mut(pointer) {
                    *slot = value;
                }
            }
            record
        },
    )
}

fn send(app: &axum::Router, request: Request<Body>) -> axum::response::Response {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { app.clone().oneshot(request).await.unwrap() })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_submission_yields_a_server_error(record in hostile_record()) {
        let app = CURATED.with(|app| app.clone());
        let request = Request::post("/submissions")
            .header("content-type", "application/geo+json")
            .body(Body::from(record.to_string()))
            .unwrap();
        let response = send(&app, request);
        let status = response.status();
        prop_assert!(
            status == StatusCode::ACCEPTED || status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{record} gave {status}"
        );
        if status != StatusCode::ACCEPTED {
            prop_assert_eq!(&response.headers()["content-type"], "application/problem+json");
        }
    }

    #[test]
    fn no_curator_write_yields_a_server_error(
        record in hostile_record(),
        method in prop::sample::select(&["POST", "PUT", "PATCH"][..]),
        raw in proptest::option::of("\\PC{0,40}"),
    ) {
        let app = CURATED.with(|app| app.clone());
        let path = if method == "POST" {
            "/collections/initiatives/items".to_string()
        } else {
            "/collections/initiatives/items/digital-innovation-hub-vienna".to_string()
        };
        let body = raw.unwrap_or_else(|| record.to_string());
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", if method == "PATCH" { "application/merge-patch+json" } else { "application/geo+json" })
            .body(Body::from(body.clone()))
            .unwrap();
        let response = send(&app, request);
        let status = response.status();
        prop_assert!(!status.is_server_error(), "{method} {path} {body} gave {status}");
        if status.is_client_error() {
            prop_assert_eq!(&response.headers()["content-type"], "application/problem+json");
        }
    }
}
