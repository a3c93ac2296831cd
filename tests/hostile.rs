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
}
