//! End-to-end tests of `/coverage` and `/regions/{level}.geojson`: sums, zero-count regions,
//! CSV, refusals, the `nuts` filter, hand-made boundaries, URL sources and missing packages.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{Value, json};
use skillsmap::config::ServeConfig;
use skillsmap::regions::RegionSource;

/// Sum of the rows' counts.
fn counted(table: &Value) -> u64 {
    table["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn every_region_is_listed_and_the_sums_add_up() {
    let server = start(None).await;
    for (level, regions) in [
        ("country", 50),
        ("nuts0", 37),
        ("nuts1", 125),
        ("nuts2", 334),
        ("nuts3", 1514),
    ] {
        for filter in [
            "",
            "&skill_area=cybersecurity&target_group=smes",
            "&kind=hub&country=DE,FR",
        ] {
            let url = format!("{}/coverage?level={level}{filter}", server.base);
            let (status, content_type, table) = get_json(&url).await;
            assert_eq!(status, 200, "{url}");
            assert_eq!(content_type, "application/json");
            let rows = table["regions"].as_array().unwrap();
            assert_eq!(rows.len(), regions, "{url}");
            let matched = table["matched"].as_u64().unwrap();
            assert_eq!(
                counted(&table),
                matched - table["outside_regions"].as_u64().unwrap(),
                "{url}"
            );
            // The same filter on the items gives the same total.
            let (_, _, items) = get_json(&format!(
                "{}/collections/initiatives/items?limit=1{filter}",
                server.base
            ))
            .await;
            assert_eq!(items["numberMatched"].as_u64().unwrap(), matched, "{url}");
            for row in rows {
                let share = row["gap_share"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&share), "{row}");
                let by_area: u64 = row["by_skill_area"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum();
                assert!(by_area >= row["count"].as_u64().unwrap(), "{row}");
            }
        }
    }
    // Regions without initiatives are listed with zero, and per capita where the
    // population is known.
    let (_, _, countries) = get_json(&format!(
        "{}/coverage?level=country&kind=funding",
        server.base
    ))
    .await;
    let rows = countries["regions"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["count"] == 0));
    let germany = rows.iter().find(|r| r["code"] == "DE").unwrap();
    assert_eq!(germany["population"], 83_445_000);
    let expected = germany["count"].as_f64().unwrap() * 1e5 / 83_445_000.0;
    assert!((germany["per_100k"].as_f64().unwrap() - expected).abs() < 1e-3);
    let (_, _, nuts2) = get_json(&format!("{}/coverage?level=nuts2", server.base)).await;
    let region = |code: &str| region_row(&nuts2, code);
    // Built in: the NUTS regions whose Eurostat figure was found, and the regions that are
    // their whole country.
    let paris = region("FR10");
    assert_eq!(paris["population"], 12_329_432);
    let expected = paris["count"].as_f64().unwrap() * 1e5 / 12_329_432.0;
    assert!((paris["per_100k"].as_f64().unwrap() - expected).abs() < 1e-3);
    let cyprus = rows.iter().find(|r| r["code"] == "CY").unwrap();
    assert_eq!(region("CY00")["population"], cyprus["population"]);
    assert!(
        region("AL01")["per_100k"].is_null(),
        "no figure, no per-capita value"
    );
    assert!(
        nuts2["attribution"]
            .as_str()
            .unwrap()
            .contains("EuroGeographics")
    );
}

#[tokio::test]
async fn initiatives_carry_their_regions_and_filter_by_them() {
    let server = start(None).await;
    let (_, _, table) = get_json(&format!("{}/coverage?level=nuts2", server.base)).await;
    let busiest = table["regions"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|r| r["count"].as_u64().unwrap())
        .unwrap();
    let code = busiest["code"].as_str().unwrap();
    let (_, _, items) = get_json(&format!(
        "{}/collections/initiatives/items?nuts={code}&limit=1000",
        server.base
    ))
    .await;
    assert_eq!(items["numberMatched"], busiest["count"]);
    for feature in items["features"].as_array().unwrap() {
        let p = &feature["properties"];
        assert_eq!(p["nuts2"], code, "{feature}");
        assert!(p["nuts3"].as_str().unwrap().starts_with(code));
        assert_eq!(p["nuts1"].as_str().unwrap(), &code[..3]);
    }
    // A prefix at a coarser level holds at least as many; several codes add up.
    let (_, _, country) = get_json(&format!(
        "{}/collections/initiatives/items?nuts={}&limit=1",
        server.base,
        &code[..2].to_lowercase()
    ))
    .await;
    assert!(country["numberMatched"].as_u64() >= busiest["count"].as_u64());
    let (_, _, filtered) =
        get_json(&format!("{}/coverage?level=nuts2&nuts={code}", server.base)).await;
    assert_eq!(filtered["matched"], busiest["count"]);
    assert_eq!(counted(&filtered), busiest["count"].as_u64().unwrap());
    assert_bad_parameter(
        &format!("{}/collections/initiatives/items?nuts=D", server.base),
        "nuts",
    )
    .await;
    assert_bad_parameter(
        &format!("{}/tiles/0/0/0.geojson?nuts=DE-1", server.base),
        "nuts",
    )
    .await;
}

#[tokio::test]
async fn csv_has_one_header_and_a_row_per_region() {
    let server = start(None).await;
    for (url, accept) in [
        (format!("{}/coverage?level=nuts1&f=csv", server.base), "*/*"),
        (format!("{}/coverage?level=nuts1", server.base), "text/csv"),
    ] {
        let response = client()
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("coverage-nuts1.csv")
        );
        let text = response.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(&header[..4], ["code", "name", "country", "count"]);
        assert!(
            header.contains(&"gap_share".to_string())
                && header.contains(&"cybersecurity".to_string())
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 125);
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }
    let json_url = format!("{}/coverage?level=nuts1", server.base);
    assert_revalidates(&json_url, &format!("{json_url}&f=csv")).await;
}

#[tokio::test]
async fn bad_levels_and_gap_distances_are_refused() {
    let server = start(None).await;
    let base = &server.base;
    for level in ["nuts4", "NUTS2", "", "region"] {
        assert_bad_parameter(&format!("{base}/coverage?level={level}"), "level").await;
    }
    for gap in ["0", "-5", "abc", "1e9", "NaN", "inf", "1001"] {
        assert_bad_parameter(
            &format!("{base}/coverage?level=nuts2&gap_km={gap}"),
            "gap_km",
        )
        .await;
    }
    assert_bad_parameter(&format!("{base}/coverage?level=nuts2&f=xml"), "f").await;
    assert_bad_parameter(&format!("{base}/coverage?level=nuts2&bbox=0,0,1,1"), "bbox").await;
    assert_bad_parameter(&format!("{base}/regions/nuts9.geojson"), "level").await;
    assert_bad_parameter(&format!("{base}/regions/nuts2.json"), "level").await;
    assert_bad_parameter(&format!("{base}/regions/nuts2.geojson?gap_km=0"), "gap_km").await;
    assert_bad_parameter(
        &format!("{base}/regions/nuts2.geojson?level=nuts1"),
        "level",
    )
    .await;
}

#[tokio::test]
async fn the_choropleth_has_the_same_figures() {
    let server = start(None).await;
    let query = "skill_area=cybersecurity&target_group=smes&gap_km=50";
    let (status, content_type, regions) =
        get_json(&format!("{}/regions/nuts2.geojson?{query}", server.base)).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/geo+json");
    let (_, _, table) = get_json(&format!("{}/coverage?level=nuts2&{query}", server.base)).await;
    let features = regions["features"].as_array().unwrap();
    assert_eq!(features.len(), 334);
    for (feature, row) in features.iter().zip(table["regions"].as_array().unwrap()) {
        assert_eq!(&feature["properties"], row);
        assert_eq!(feature["id"], row["code"]);
        assert!(matches!(
            feature["geometry"]["type"].as_str(),
            Some("MultiPolygon")
        ));
    }
    assert_eq!(regions["matched"], table["matched"]);
    // The links of the table lead to this choropleth and to the CSV.
    let links = table["links"].as_array().unwrap();
    assert!(links.iter().any(|l| {
        l["href"]
            .as_str()
            .unwrap()
            .contains("/regions/nuts2.geojson?")
    }));
    let url = format!("{}/regions/nuts1.geojson", server.base);
    assert_revalidates(&url, &format!("{url}?gap_km=20")).await;
}

/// A GISCO-style GeoJSON of hand-made NUTS 3 squares (and holes, islands).
fn hand_made_nuts3() -> Value {
    let square = |w: f64, s: f64, e: f64, n: f64| json!([[[w, s], [e, s], [e, n], [w, n], [w, s]]]);
    let region = |code: &str, geometry: Value| json!({"type": "Feature", "properties": {"NUTS_ID": code, "LEVL_CODE": 3, "CNTR_CODE": &code[..2], "NAME_LATN": format!("Region {code}")}, "geometry": geometry});
    json!({"type": "FeatureCollection", "features": [
        region("DE111", json!({"type": "Polygon", "coordinates": square(10.0, 50.0, 11.0, 51.0)})),
        region("DE112", json!({"type": "Polygon", "coordinates": square(11.0, 50.0, 12.0, 51.0)})),
        // A ring with a hole, and the region in the hole.
        region("DE211", json!({"type": "Polygon", "coordinates": [
            [[10.0, 52.0], [14.0, 52.0], [14.0, 54.0], [10.0, 54.0], [10.0, 52.0]],
            [[11.0, 52.5], [13.0, 52.5], [13.0, 53.5], [11.0, 53.5], [11.0, 52.5]]]})),
        region("DE300", json!({"type": "Polygon", "coordinates": square(11.0, 52.5, 13.0, 53.5)})),
        // Two islands.
        region("DK011", json!({"type": "MultiPolygon", "coordinates": [square(8.0, 55.0, 8.5, 55.5), square(9.0, 55.0, 9.5, 55.5)]})),
        // A region nobody is in.
        region("FR101", json!({"type": "Polygon", "coordinates": square(2.0, 48.0, 3.0, 49.0)})),
    ]})
}

fn dataset_at(points: &[(f64, f64)]) -> Value {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5);
    let features: Vec<Value> = points
        .iter()
        .enumerate()
        .map(|(i, (lon, lat))| feature(i, *lon, *lat, &mut rng))
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

async fn start_with_regions(
    dataset: &Value,
    sources: Vec<RegionSource>,
    dir: tempfile::TempDir,
) -> TestServer {
    let data = dir.path().join("data.geojson");
    std::fs::write(&data, serde_json::to_vec(dataset).unwrap()).unwrap();
    let mut config = ServeConfig::local(Some(data));
    config.regions.regions = sources;
    config.regions.regions_cache = Some(dir.path().join("cache"));
    start_with(config, Some(dir)).await
}

#[tokio::test]
async fn hand_made_regions_place_every_point_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nuts3.geojson");
    std::fs::write(&file, serde_json::to_vec(&hand_made_nuts3()).unwrap()).unwrap();
    let points = [
        (10.5, 50.5),  // DE111
        (11.0, 50.5),  // on the DE111/DE112 border: DE111, the lower code
        (11.0, 51.0),  // on the corner of DE111 and DE112's top edge
        (11.5, 50.5),  // DE112
        (12.0, 53.0),  // in the hole: DE300
        (10.5, 53.0),  // in the ring: DE211
        (11.0, 53.0),  // on the hole's edge: DE211 (lower than DE300)
        (8.25, 55.25), // first island
        (9.25, 55.25), // second island
        (9.55, 55.25), // 3 km off the second island: still DK011
        (5.0, 45.0),   // nowhere
    ];
    let source = RegionSource::parse(&format!("nuts3={}", file.display())).unwrap();
    let server = start_with_regions(&dataset_at(&points), vec![source], dir).await;
    let (status, _, table) = get_json(&format!("{}/coverage?level=nuts3", server.base)).await;
    assert_eq!(status, 200, "{table}");
    let counts: Vec<(String, u64)> = table["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("DE111", 3),
        ("DE112", 1),
        ("DE211", 2),
        ("DE300", 1),
        ("DK011", 3),
        ("FR101", 0),
    ];
    assert_eq!(counts, expected.map(|(c, n)| (c.to_string(), n)));
    assert_eq!(table["matched"], 11);
    assert_eq!(table["outside_regions"], 1);
    // FR101 is far from everything; DE111 is covered all over at 200 km.
    let (_, _, wide) = get_json(&format!("{}/coverage?level=nuts3&gap_km=200", server.base)).await;
    let row = |code: &str| region_row(&wide, code);
    assert_eq!(row("FR101")["gap_share"], 1.0);
    assert!(row("FR101")["nearest_km"].as_f64().unwrap() > 300.0);
    assert_eq!(row("DE111")["gap_share"], 0.0);
    // The codes are on the features and the other NUTS levels (from npm or absent) follow.
    let (_, _, one) = get_json(&format!(
        "{}/collections/initiatives/items/t-00004",
        server.base
    ))
    .await;
    assert_eq!(one["properties"]["nuts3"], "DE300");
}

/// Serves `body` to every HTTP request on a loopback port; returns the URL and a stopper.
async fn serve_once_then(
    body: &'static str,
    status: &'static str,
) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/geo+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (format!("http://{addr}/nuts3.geojson"), handle)
}

// Start-up blocks its thread while it fetches: the peer needs another worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_from_a_url_are_fetched_once_and_cached() {
    let body: &'static str = Box::leak(
        serde_json::to_string(&hand_made_nuts3())
            .unwrap()
            .into_boxed_str(),
    );
    let (url, peer) = serve_once_then(body, "200 OK").await;
    let dir = tempfile::tempdir().unwrap();
    let cache: PathBuf = dir.path().join("cache");
    let dataset = dataset_at(&[(10.5, 50.5)]);
    let source = RegionSource::parse(&format!("nuts3={url}")).unwrap();
    let server = start_with_regions(&dataset, vec![source.clone()], dir).await;
    let (_, _, table) = get_json(&format!("{}/coverage?level=nuts3", server.base)).await;
    assert_eq!(table["regions"].as_array().unwrap().len(), 6);
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        1,
        "one cached file"
    );
    // The peer is gone: the cached copy serves.
    peer.abort();
    let _ = peer.await;
    let mut config = ServeConfig::local(None);
    config.regions.regions = vec![source];
    config.regions.regions_cache = Some(cache.clone());
    let again = start_with(config, None).await;
    let (status, _, _) = get_json(&format!("{}/coverage?level=nuts3", again.base)).await;
    assert_eq!(status, 200);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_malformed_sources_stop_the_start_with_a_clear_error() {
    // Nothing listens on port 9 of loopback.
    let (bad_url, peer) = serve_once_then("{\"type\":\"Nonsense\"}", "200 OK").await;
    let (missing_url, gone) = serve_once_then("not here", "404 Not Found").await;
    for (location, expected) in [
        (
            "http://127.0.0.1:9/nuts2.geojson".to_string(),
            "cannot fetch",
        ),
        (bad_url, "FeatureCollection"),
        (missing_url, "404"),
        ("/nonexistent/nuts2.geojson".to_string(), "cannot read"),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::local(None);
        config.regions.regions = vec![RegionSource::parse(&format!("nuts2={location}")).unwrap()];
        config.regions.regions_cache = Some(cache.path().to_path_buf());
        let error = match skillsmap::server::Server::bind(config).await {
            Ok(_) => panic!("{location} should fail"),
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains("--regions nuts2") && error.contains(expected),
            "{error}"
        );
    }
    peer.abort();
    gone.abort();
}

#[tokio::test]
async fn without_the_npm_packages_coverage_says_how_to_install_them() {
    let empty = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::local(None);
    config.web_dir = empty.path().to_path_buf();
    let server = start_with(config, Some(empty)).await;
    for path in [
        "/coverage?level=nuts2",
        "/coverage",
        "/regions/nuts3.geojson",
    ] {
        let (status, content_type, problem) = get_json(&format!("{}{path}", server.base)).await;
        assert_eq!(status, 503, "{path}");
        assert_eq!(content_type, "application/problem+json");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("npm ci --prefix web"),
            "{problem}"
        );
    }
    // The rest of the service works.
    let (status, _, items) = get_json(&format!(
        "{}/collections/initiatives/items?limit=1",
        server.base
    ))
    .await;
    assert_eq!(status, 200);
    assert!(items["features"][0]["properties"].get("nuts2").is_none());
}

#[tokio::test]
async fn a_population_file_gives_per_capita_figures_for_nuts_regions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("population.csv");
    std::fs::write(&file, "code,population\nBE10,1249597\n").unwrap();
    let mut config = ServeConfig::local(None);
    config.regions.population = Some(file);
    let server = start_with(config, Some(dir)).await;
    let (_, _, table) = get_json(&format!("{}/coverage?level=nuts2", server.base)).await;
    let brussels = table["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "BE10")
        .unwrap();
    assert_eq!(brussels["population"], 1_249_597);
    let expected = brussels["count"].as_f64().unwrap() * 1e5 / 1_249_597.0;
    assert!(
        (brussels["per_100k"].as_f64().unwrap() - expected).abs() < 1e-3,
        "{brussels}"
    );
}
