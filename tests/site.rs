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
    // A facet counts its term with every filter applied except its own.
    let check =
        |facet: &str, term: &str, others: &dyn Fn(&Value) -> bool, has: &dyn Fn(&Value) -> bool| {
            let expected = all.iter().filter(|f| others(f) && has(f)).count();
            assert_eq!(
                facets[facet][term].as_u64().unwrap_or(0) as usize,
                expected,
                "{facet} {term}"
            );
        };
    for kind in KINDS {
        check("kind", kind, &country_ok, &|f| {
            f["properties"]["kind"] == *kind
        });
    }
    for country in COUNTRIES {
        check("country", country, &kind_ok, &|f| {
            f["properties"]["country"] == *country
        });
    }
    for area in SKILL_AREAS {
        check("skill_area", area, &|f| country_ok(f) && kind_ok(f), &|f| {
            f["properties"]["skill_areas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == area)
        });
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
async fn the_base_layer_is_europes_outlines_by_level_of_detail() {
    let server = start(None).await;
    let (status, _, config) = get_json(&format!("{}/config.json", server.base)).await;
    assert_eq!(status, 200, "{config}");
    let levels = config["outlines"].as_array().unwrap();
    assert!(levels.len() >= 2, "{config}");
    assert_eq!(levels[0]["min_zoom"], 0);
    let mut sizes = Vec::new();
    for level in levels {
        let url = level["url"].as_str().unwrap();
        assert!(url.starts_with("/v/"), "{url} is versioned");
        let response = get_versioned(client().get(format!("{}{url}", server.base)), url).await;
        assert_eq!(response.headers()["content-type"], "application/geo+json");
        let body = response.bytes().await.unwrap();
        sizes.push(body.len());
        let countries: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let names: Vec<&str> = countries["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["name"].as_str())
            .collect();
        assert!(
            names.contains(&"Germany") && names.contains(&"Malta"),
            "{names:?}"
        );
        assert!(
            !names.contains(&"Brazil"),
            "{url}: only Europe and its neighbours"
        );
    }
    // Coarse first; the first level is all a first visit loads.
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    assert!(sizes[0] < 150_000, "{sizes:?}");
    // The whole world's outlines are gone.
    let (status, _, _) = get_json(&format!("{}/basemap/countries.geojson", server.base)).await;
    assert_eq!(status, 404);
}

/// Sends `request` for the versioned file `url` and checks it is served to be kept a year.
async fn get_versioned(request: reqwest::RequestBuilder, url: &str) -> reqwest::Response {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable",
        "{url}"
    );
    assert!(response.headers().contains_key("etag"), "{url}");
    response
}

#[tokio::test]
async fn pages_are_revalidated_and_versioned_files_cached_for_a_year() {
    let server = start(None).await;
    // A client that leaves the body compressed, to see the encoding.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let compressed = raw
        .get(format!("{}/", server.base))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let page = client()
        .get(format!("{}/", server.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let etag = page.headers()["etag"].to_str().unwrap().to_string();
    let html = page.text().await.unwrap();
    let revalidated = client()
        .get(format!("{}/", server.base))
        .header("accept", "text/html")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    // Every file the page refers to is under one versioned prefix.
    let references: Vec<&str> = html
        .split(['"'])
        .filter(|part| part.starts_with("/v/"))
        .collect();
    assert!(
        references.iter().any(|r| r.ends_with("/app.js"))
            && references
                .iter()
                .any(|r| r.ends_with("/vendor/leaflet/leaflet.js")),
        "{references:?}"
    );
    for reference in &references {
        let request = raw
            .get(format!("{}{reference}", server.base))
            .header("accept-encoding", "gzip");
        let response = get_versioned(request, reference).await;
        let media_type = response.headers()["content-type"].to_str().unwrap();
        if media_type.starts_with("text/") {
            assert_eq!(
                response.headers()["content-encoding"],
                "gzip",
                "{reference}"
            );
        }
    }
    // The same files under their plain paths are revalidated, not kept.
    let plain = client()
        .get(format!("{}/app.js", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    for page in ["/about.html", "/moderate.html"] {
        let response = client()
            .get(format!("{}{page}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-cache", "{page}");
        assert!(response.headers().contains_key("etag"), "{page}");
    }
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
