//! End-to-end tests of clustered tiles and cluster endpoints against a real server.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::Value;

/// The XYZ tile holding a point, computed independently of the server's maths.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u64, u64) {
    let n = f64::from(1u32 << z);
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor().clamp(0.0, n - 1.0);
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
        .floor()
        .clamp(0.0, n - 1.0);
    (x as u64, y as u64)
}

/// Tiles that may hold something: those of the data and their neighbours.
fn candidate_tiles(dataset: &Value, z: u32) -> Vec<(u64, u64)> {
    let max = (1u64 << z) - 1;
    let mut tiles = HashSet::new();
    for f in dataset["features"].as_array().unwrap() {
        let (lon, lat) = coords(f);
        let (x, y) = tile_of(lon, lat, z);
        for dx in -1i64..=1 {
            for dy in -1i64..=1 {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx >= 0 && ny >= 0 && nx as u64 <= max && ny as u64 <= max {
                    tiles.insert((nx as u64, ny as u64));
                }
            }
        }
    }
    tiles.into_iter().collect()
}

/// Sums `point_count` over every tile of a zoom, checking each feature lies in its tile.
async fn total_at_zoom(server: &TestServer, dataset: &Value, z: u32, query: &str) -> u64 {
    let mut total = 0;
    for (x, y) in candidate_tiles(dataset, z) {
        let url = format!("{}/tiles/{z}/{x}/{y}.geojson?{query}", server.base);
        let (status, content_type, tile) = get_json(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(content_type, "application/geo+json");
        for feature in tile["features"].as_array().unwrap() {
            let (lon, lat) = coords(feature);
            assert_eq!(
                tile_of(lon, lat, z),
                (x, y),
                "{url}: feature outside its tile: {feature}"
            );
            let p = &feature["properties"];
            if p["cluster"] == true {
                let count = p["point_count"].as_u64().unwrap();
                assert!(count >= 2);
                assert!(p["expansion_zoom"].as_u64().unwrap() > u64::from(z));
                let by_area: u64 = p["skill_areas"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum();
                assert!(by_area >= count, "every member has at least one skill area");
                total += count;
            } else {
                assert!(feature["id"].is_string());
                assert!(p["name"].is_string());
                total += 1;
            }
        }
    }
    total
}

#[tokio::test]
async fn every_zoom_counts_every_matching_initiative_exactly_once() {
    let dataset = random_dataset(1_200, 21);
    let server = start(Some(&dataset)).await;
    let all = dataset["features"].as_array().unwrap();
    let hubs = all
        .iter()
        .filter(|f| f["properties"]["kind"] == "hub")
        .count() as u64;
    let iot_de = all
        .iter()
        .filter(|f| {
            f["properties"]["country"] == "DE"
                && f["properties"]["skill_areas"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a == "iot")
        })
        .count() as u64;
    let krakow = all
        .iter()
        .filter(|f| {
            f["properties"]["description"]
                .as_str()
                .unwrap()
                .contains("Kraków")
        })
        .count() as u64;
    // Low zooms hold big clusters, middle ones a mix, 17 (above the cluster zooms) only
    // single initiatives; each is checked with and without filters.
    for z in [0, 2, 5, 8, 17] {
        assert_eq!(total_at_zoom(&server, &dataset, z, "").await, 1_200, "z{z}");
        assert_eq!(
            total_at_zoom(&server, &dataset, z, "kind=hub").await,
            hubs,
            "z{z} kind"
        );
        assert_eq!(
            total_at_zoom(&server, &dataset, z, "country=DE&skill_area=iot").await,
            iot_de,
            "z{z} DE iot"
        );
        if z < 8 {
            assert_eq!(
                total_at_zoom(&server, &dataset, z, "q=krakow").await,
                krakow,
                "z{z} q"
            );
        }
    }
}

#[tokio::test]
async fn clusters_break_up_into_children_and_list_their_leaves() {
    let dataset = random_dataset(2_000, 22);
    let server = start(Some(&dataset)).await;
    let (_, _, world) = get_json(&format!(
        "{}/tiles/0/0/0.geojson?kind=hub,training",
        server.base
    ))
    .await;
    let cluster = world["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["cluster"] == true)
        .max_by_key(|f| f["properties"]["point_count"].as_u64().unwrap())
        .expect("a cluster at zoom 0")
        .clone();
    let id = cluster["properties"]["cluster_id"].as_str().unwrap();
    let count = cluster["properties"]["point_count"].as_u64().unwrap();

    let (status, _, children) = get_json(&format!(
        "{}/clusters/{id}/children?kind=hub,training",
        server.base
    ))
    .await;
    assert_eq!(status, 200);
    let sum: u64 = children["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["properties"]["point_count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(sum, count);

    let mut members = Vec::new();
    let mut offset = 0;
    loop {
        let url = format!(
            "{}/clusters/{id}/leaves?kind=hub,training&limit=100&offset={offset}",
            server.base
        );
        let (status, _, page) = get_json(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(page["numberMatched"].as_u64().unwrap(), count);
        let page_ids = ids(&page);
        for f in page["features"].as_array().unwrap() {
            assert!(["hub", "training"].contains(&f["properties"]["kind"].as_str().unwrap()));
        }
        if page_ids.is_empty() {
            break;
        }
        offset += page_ids.len();
        members.extend(page_ids);
    }
    assert_eq!(members.len() as u64, count);
    assert_eq!(members.iter().collect::<HashSet<_>>().len() as u64, count);

    for bad in ["nonsense", "0-999999-x", "3-0-deadbeef"] {
        let (status, content_type, body) =
            get_json(&format!("{}/clusters/{bad}/children", server.base)).await;
        assert_eq!(status, 404, "{bad}: {body}");
        assert_eq!(content_type, "application/problem+json");
    }
}

#[tokio::test]
async fn bad_tile_coordinates_are_rejected_with_a_problem() {
    let server = start(None).await;
    let cases = [
        ("/tiles/21/0/0.geojson", "z"),
        ("/tiles/99999999999/0/0.geojson", "z"),
        ("/tiles/-1/0/0.geojson", "z"),
        ("/tiles/a/0/0.geojson", "z"),
        ("/tiles/3/8/0.geojson", "x"),
        ("/tiles/3/x/0.geojson", "x"),
        ("/tiles/3/0/8.geojson", "y"),
        ("/tiles/3/0/0.png", "y"),
        ("/tiles/3/0/0.geojson?kind=castle", "kind"),
        ("/tiles/3/0/0.geojson?zoom=3", "zoom"),
    ];
    for (path, parameter) in cases {
        assert_bad_parameter(&format!("{}{path}", server.base), parameter).await;
    }
}

#[tokio::test]
async fn tiles_are_cacheable_and_compressed() {
    let server = start(Some(&random_dataset(500, 23))).await;
    let url = format!("{}/tiles/0/0/0.geojson", server.base);
    assert_revalidates(&url, &format!("{url}?kind=hub")).await;
    // A client that leaves bodies as sent, so the encoding header stays visible.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    for encoding in ["gzip", "br"] {
        let response = raw
            .get(&url)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding);
    }
}

#[tokio::test]
async fn the_seed_data_clusters_at_low_zoom() {
    let server = start(None).await;
    let (_, _, world) = get_json(&format!("{}/tiles/0/0/0.geojson", server.base)).await;
    let features = world["features"].as_array().unwrap();
    assert!(
        features.iter().any(|f| f["properties"]["cluster"] == true),
        "{world}"
    );
    let (_, _, health) = get_json(&format!("{}/healthz", server.base)).await;
    let total: u64 = features
        .iter()
        .map(|f| f["properties"]["point_count"].as_u64().unwrap_or(1))
        .sum();
    // Closed initiatives stay off the map by default; the health count holds them all.
    assert_eq!(total, seed_active_count() as u64);
    assert_eq!(health["initiatives"].as_u64().unwrap(), seed_count() as u64);
}
