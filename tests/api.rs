//! End-to-end tests of the query API against a real server on an ephemeral port.

mod common;

use std::collections::HashSet;

use common::*;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

/// Which features of the dataset a query should match, computed independently of the server.
type Predicate = Box<dyn Fn(&Value) -> bool>;

fn features(dataset: &Value) -> &Vec<Value> {
    dataset["features"].as_array().unwrap()
}

fn has(feature: &Value, field: &str, value: &str) -> bool {
    match &feature["properties"][field] {
        Value::Array(values) => values.iter().any(|v| v == value),
        other => other == value,
    }
}

/// Follows `next` links from `url` and returns every feature id, in order.
async fn all_pages(url: &str) -> (Vec<String>, usize) {
    let mut ids_seen = Vec::new();
    let mut next = Some(url.to_string());
    let mut matched = None;
    let mut pages = 0;
    while let Some(url) = next {
        let (status, _, page) = get_json(&url).await;
        assert_eq!(status, 200, "{url}: {page}");
        assert_eq!(
            page["numberReturned"].as_u64().unwrap() as usize,
            page["features"].as_array().unwrap().len()
        );
        let this_matched = page["numberMatched"].as_u64().unwrap() as usize;
        assert_eq!(*matched.get_or_insert(this_matched), this_matched);
        ids_seen.extend(ids(&page));
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        pages += 1;
        assert!(pages < 10_000, "paging does not end");
    }
    (ids_seen, matched.unwrap_or(0))
}

#[tokio::test]
async fn radius_queries_match_a_brute_force_haversine_scan() {
    let dataset = random_dataset(3_000, 1);
    let server = start(Some(&dataset)).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let all = features(&dataset);
    for round in 0..60 {
        let center = if round % 3 == 0 {
            (
                rng.random_range(-180.0..=180.0),
                rng.random_range(-90.0..=90.0),
            )
        } else {
            coords(&all[rng.random_range(0..all.len())])
        };
        let radius_km = rng.random_range(0.0..800.0);
        let kind = KINDS[round % KINDS.len()];
        let filter = if round % 2 == 0 {
            format!("&kind={kind}")
        } else {
            String::new()
        };
        let url = format!(
            "{}/near?lon={}&lat={}&radius_km={radius_km}&limit=10000{filter}",
            server.base, center.0, center.1
        );
        let (status, _, got) = get_json(&url).await;
        assert_eq!(status, 200, "{url}");
        let mut expected: Vec<(f64, String)> = all
            .iter()
            .filter(|f| filter.is_empty() || has(f, "kind", kind))
            .map(|f| {
                (
                    haversine_m(center, coords(f)),
                    f["id"].as_str().unwrap().to_string(),
                )
            })
            .filter(|(d, _)| *d <= radius_km * 1000.0)
            .collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let got_ids = ids(&got);
        let expected_ids: Vec<String> = expected.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(got_ids, expected_ids, "{url}");
        assert_eq!(
            got["numberMatched"].as_u64().unwrap() as usize,
            expected.len()
        );
        for (feature, (distance, _)) in got["features"].as_array().unwrap().iter().zip(&expected) {
            let reported = feature["properties"]["distance_m"].as_f64().unwrap();
            assert!(
                (reported - distance).abs() < 0.02,
                "{reported} vs {distance}"
            );
        }
    }
}

#[tokio::test]
async fn nearest_k_without_a_radius_matches_brute_force() {
    let dataset = random_dataset(2_000, 3);
    let server = start(Some(&dataset)).await;
    let center = (12.0, 50.0);
    let (_, _, got) = get_json(&format!("{}/near?lon=12&lat=50&limit=25", server.base)).await;
    let mut expected: Vec<(f64, String)> = features(&dataset)
        .iter()
        .map(|f| {
            (
                haversine_m(center, coords(f)),
                f["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected: Vec<String> = expected.into_iter().take(25).map(|(_, id)| id).collect();
    assert_eq!(ids(&got), expected);
}

#[tokio::test]
async fn paging_returns_every_feature_exactly_once() {
    let dataset = random_dataset(1_000, 4);
    let server = start(Some(&dataset)).await;
    let (seen, matched) = all_pages(&format!(
        "{}/collections/initiatives/items?limit=37",
        server.base
    ))
    .await;
    assert_eq!(matched, 1_000);
    assert_eq!(seen.len(), 1_000);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 1_000);

    let url = format!(
        "{}/collections/initiatives/items?limit=11&bbox=5,40,25,55&kind=hub",
        server.base
    );
    let (seen, matched) = all_pages(&url).await;
    let expected: Vec<String> = features(&dataset)
        .iter()
        .filter(|f| {
            let (lon, lat) = coords(f);
            (5.0..=25.0).contains(&lon) && (40.0..=55.0).contains(&lat) && has(f, "kind", "hub")
        })
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(matched, expected.len());
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn paging_links_step_forward_and_back() {
    let dataset = random_dataset(50, 5);
    let server = start(Some(&dataset)).await;
    let (_, _, page) = get_json(&format!(
        "{}/collections/initiatives/items?limit=20&offset=20",
        server.base
    ))
    .await;
    let rels: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert!(
        rels.contains(&"prev") && rels.contains(&"next") && rels.contains(&"self"),
        "{rels:?}"
    );
    let (_, _, last) = get_json(&format!(
        "{}/collections/initiatives/items?limit=20&offset=40",
        server.base
    ))
    .await;
    assert_eq!(last["numberReturned"], 10);
    assert!(
        !last["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "next")
    );
    let (_, _, beyond) = get_json(&format!(
        "{}/collections/initiatives/items?offset=5000",
        server.base
    ))
    .await;
    assert_eq!(beyond["numberReturned"], 0);
}

#[tokio::test]
async fn every_filter_matches_brute_force() {
    let dataset = random_dataset(1_500, 6);
    let server = start(Some(&dataset)).await;
    let all = features(&dataset);
    let cases: Vec<(String, Predicate)> = vec![
        (
            "country=DE,gr".into(),
            Box::new(|f| has(f, "country", "DE") || has(f, "country", "GR")),
        ),
        (
            "skill_area=iot".into(),
            Box::new(|f| has(f, "skill_areas", "iot")),
        ),
        (
            "skill_area=cloud,cybersecurity".into(),
            Box::new(|f| has(f, "skill_areas", "cloud") || has(f, "skill_areas", "cybersecurity")),
        ),
        (
            "target_group=women_in_tech".into(),
            Box::new(|f| has(f, "target_groups", "women_in_tech")),
        ),
        (
            "kind=coalition".into(),
            Box::new(|f| has(f, "kind", "coalition")),
        ),
        (
            "q=KRAKOW%20cybersecurite".into(),
            Box::new(|f| {
                f["properties"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("Kraków")
            }),
        ),
        (
            // Every word must occur somewhere in name, organisation, city or description.
            "q=organisation%2012".into(),
            Box::new(|f| {
                let p = &f["properties"];
                ["name", "organisation", "city", "description"]
                    .iter()
                    .any(|field| p[*field].as_str().unwrap().contains("12"))
            }),
        ),
        (
            "country=FR&kind=hub&skill_area=data_ai".into(),
            Box::new(|f| {
                has(f, "country", "FR") && has(f, "kind", "hub") && has(f, "skill_areas", "data_ai")
            }),
        ),
    ];
    for (query, predicate) in cases {
        let expected: Vec<String> = all
            .iter()
            .filter(|f| predicate(f))
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        assert!(
            !expected.is_empty(),
            "{query} matches nothing; the test would prove little"
        );
        let (seen, matched) = all_pages(&format!(
            "{}/collections/initiatives/items?limit=500&{query}",
            server.base
        ))
        .await;
        assert_eq!(matched, expected.len(), "{query}");
        assert_eq!(seen, expected, "{query}");

        // The same filter combined with a radius query.
        let center = (13.4, 52.5);
        let (_, _, near) = get_json(&format!(
            "{}/near?lon=13.4&lat=52.5&radius_km=400&limit=10000&{query}",
            server.base
        ))
        .await;
        let mut expected_near: Vec<&Value> = all
            .iter()
            .filter(|f| predicate(f) && haversine_m(center, coords(f)) <= 400_000.0)
            .collect();
        expected_near.sort_by(|a, b| {
            haversine_m(center, coords(a)).total_cmp(&haversine_m(center, coords(b)))
        });
        let expected_near: HashSet<&str> = expected_near
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        let got_near: HashSet<String> = ids(&near).into_iter().collect();
        assert_eq!(got_near.len(), expected_near.len(), "{query}");
        assert!(
            expected_near.iter().all(|id| got_near.contains(*id)),
            "{query}"
        );
    }
}

#[tokio::test]
async fn bounding_boxes_across_the_antimeridian_match_brute_force() {
    let dataset = random_dataset(2_000, 7);
    let server = start(Some(&dataset)).await;
    let (seen, matched) = all_pages(&format!(
        "{}/collections/initiatives/items?limit=1000&bbox=150,-60,-150,60",
        server.base
    ))
    .await;
    let expected: Vec<String> = features(&dataset)
        .iter()
        .filter(|f| {
            let (lon, lat) = coords(f);
            (lon >= 150.0 || lon <= -150.0) && (-60.0..=60.0).contains(&lat)
        })
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(matched, expected.len());
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn bad_parameters_get_a_problem_naming_them() {
    let server = start(None).await;
    let cases = [
        ("/near?lat=abc&lon=1", "lat"),
        ("/near?lat=NaN&lon=1", "lat"),
        ("/near?lat=95&lon=1", "lat"),
        ("/near?lat=45&lon=-181", "lon"),
        ("/near?lon=1", "lat"),
        ("/near?lat=45&lon=1&radius_km=-5", "radius_km"),
        ("/near?lat=45&lon=1&radius_km=inf", "radius_km"),
        ("/near?lat=45&lon=1&radius_km=1e12", "radius_km"),
        ("/near?lat=45&lon=1&limit=0", "limit"),
        ("/near?lat=45&lon=1&limit=100000000000000000000000", "limit"),
        ("/near?lat=45&lon=1&kind=castle", "kind"),
        ("/near?lat=45&lat=46&lon=1", "lat"),
        ("/collections/initiatives/items?bbox=1,2,3", "bbox"),
        ("/collections/initiatives/items?bbox=1,2,3,4,5", "bbox"),
        ("/collections/initiatives/items?bbox=0,50,10,40", "bbox"),
        ("/collections/initiatives/items?bbox=0,0,10,x", "bbox"),
        ("/collections/initiatives/items?limit=-1", "limit"),
        ("/collections/initiatives/items?limit=10001", "limit"),
        ("/collections/initiatives/items?offset=1.5", "offset"),
        ("/collections/initiatives/items?country=EL", "country"),
        (
            "/collections/initiatives/items?skill_area=magic",
            "skill_area",
        ),
        (
            "/collections/initiatives/items?target_group=cats",
            "target_group",
        ),
        ("/collections/initiatives/items?colour=red", "colour"),
        ("/collections/initiatives/items?f=xml", "f"),
    ];
    for (path, parameter) in cases {
        assert_bad_parameter(&format!("{}{path}", server.base), parameter).await;
    }
}

#[tokio::test]
async fn items_are_found_by_id_and_unknown_ones_are_404() {
    let dataset = random_dataset(10, 8);
    let server = start(Some(&dataset)).await;
    let (status, content_type, feature) = get_json(&format!(
        "{}/collections/initiatives/items/t-00003",
        server.base
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/geo+json");
    assert_eq!(feature["type"], "Feature");
    assert_eq!(feature["id"], "t-00003");
    assert_eq!(feature["geometry"], features(&dataset)[3]["geometry"]);
    for path in ["/collections/initiatives/items/nope", "/nothing/here"] {
        let (status, content_type, body) = get_json(&format!("{}{path}", server.base)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["status"], 404);
    }
    let response = client()
        .post(format!("{}/near", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn responses_carry_etags_and_honour_if_none_match() {
    let server = start(None).await;
    let url = format!("{}/collections/initiatives/items?limit=5", server.base);
    assert_revalidates(&url, &format!("{url}&offset=5")).await;
}

#[tokio::test]
async fn the_seed_data_is_served_by_default() {
    let server = start(None).await;
    let (status, _, health) = get_json(&format!("{}/healthz", server.base)).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    let count = health["initiatives"].as_u64().unwrap();
    let embedded: Value = serde_json::from_str(skillsmap::server::SEED_DATASET).unwrap();
    assert_eq!(
        count as usize,
        embedded["features"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn exports_stream_every_match_as_csv_or_geojson_lines() {
    let dataset = random_dataset(1_500, 9);
    let server = start(Some(&dataset)).await;
    let expected: Vec<&Value> = features(&dataset)
        .iter()
        .filter(|f| has(f, "kind", "hub"))
        .collect();

    let response = client()
        .get(format!(
            "{}/collections/initiatives/items?kind=hub",
            server.base
        ))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let (lon_at, lat_at) = (
        columns.iter().position(|c| c == "lon").unwrap(),
        columns.iter().position(|c| c == "lat").unwrap(),
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), expected.len(), "every match, not one page");
    for (row, feature) in rows.iter().zip(&expected) {
        assert_eq!(row.get(0).unwrap(), feature["id"].as_str().unwrap());
        let (lon, lat) = coords(feature);
        assert_eq!(row.get(lon_at).unwrap().parse::<f64>().unwrap(), lon);
        assert_eq!(row.get(lat_at).unwrap().parse::<f64>().unwrap(), lat);
    }
    let again = client()
        .get(format!(
            "{}/collections/initiatives/items?kind=hub",
            server.base
        ))
        .header("accept", "text/csv")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let lines = get_text(&format!(
        "{}/collections/initiatives/items?kind=hub&f=geojsonl",
        server.base
    ))
    .await;
    let ids: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected_ids: Vec<String> = expected
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected_ids);
}
