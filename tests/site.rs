//! End-to-end tests of the endpoints behind the web page: facets, vocabularies, static files.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn facets_count_each_term_with_every_other_filter_applied() {
    let dataset = random_dataset(800, 31);
    let server = start(Some(&dataset)).await;
    let (status, _, facets) = get_json(&format!(
        "{}/facets?kind=hub&country=DE,FR&bbox=-10,35,30,60",
        server.base
    ))
    .await;
    assert_eq!(status, 200);
    let in_box = |f: &&Value| {
        let (lon, lat) = coords(f);
        (-10.0..=30.0).contains(&lon) && (35.0..=60.0).contains(&lat)
    };
    let all: Vec<&Value> = dataset["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(in_box)
        .collect();
    let country_ok =
        |f: &Value| ["DE", "FR"].contains(&f["properties"]["country"].as_str().unwrap());
    let kind_ok = |f: &Value| f["properties"]["kind"] == "hub";
    assert_eq!(
        facets["total"],
        all.iter().filter(|f| country_ok(f) && kind_ok(f)).count()
    );
    for kind in KINDS {
        let expected = all
            .iter()
            .filter(|f| country_ok(f) && f["properties"]["kind"] == *kind)
            .count();
        assert_eq!(
            facets["kind"][kind].as_u64().unwrap_or(0) as usize,
            expected,
            "kind {kind}"
        );
    }
    for country in COUNTRIES {
        let expected = all
            .iter()
            .filter(|f| kind_ok(f) && f["properties"]["country"] == *country)
            .count();
        assert_eq!(
            facets["country"][country].as_u64().unwrap_or(0) as usize,
            expected,
            "country {country}"
        );
    }
    for area in SKILL_AREAS {
        let expected = all
            .iter()
            .filter(|f| country_ok(f) && kind_ok(f))
            .filter(|f| {
                f["properties"]["skill_areas"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == area)
            })
            .count();
        assert_eq!(
            facets["skill_area"][area].as_u64().unwrap_or(0) as usize,
            expected,
            "area {area}"
        );
    }
}

#[tokio::test]
async fn vocabularies_and_page_configuration() {
    let server = start(None).await;
    let (_, _, vocabularies) = get_json(&format!("{}/vocabularies", server.base)).await;
    let labels: Vec<&str> = vocabularies["skill_areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"Data & AI"));
    assert_eq!(
        vocabularies["countries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["group"] == "eu")
            .count(),
        27
    );
    let (_, _, config) = get_json(&format!("{}/config.json", server.base)).await;
    assert!(
        config["basemap_url"].is_null(),
        "no third-party host by default"
    );
}

#[tokio::test]
async fn static_files_are_served_and_cannot_be_walked_out_of() {
    let server = start(None).await;
    let page = client()
        .get(format!("{}/", server.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    for path in [
        "/../Cargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e/Cargo.toml",
        "/vendor/leaflet/../../../../Cargo.toml",
    ] {
        let response = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("[package]"),
            "{path} leaked a file outside web/"
        );
        assert!(status.is_client_error(), "{path}: {status}");
    }
}

#[tokio::test]
async fn the_base_layer_is_country_outlines() {
    let server = start(None).await;
    let (status, content_type, countries) =
        get_json(&format!("{}/basemap/countries.geojson", server.base)).await;
    assert_eq!(status, 200, "{countries}");
    assert_eq!(content_type, "application/geo+json");
    let features = countries["features"].as_array().unwrap();
    assert!(features.len() > 150);
    assert!(
        features
            .iter()
            .any(|f| f["properties"]["name"] == "Germany")
    );
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let server = start(None).await;
    for path in [
        "/",
        "/app.js",
        "/collections/initiatives/items?limit=1",
        "/nothing",
        "/near?lat=x",
        "/initiatives",
        "/initiatives/nothing",
        "/sitemap.xml",
    ] {
        let response = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}
