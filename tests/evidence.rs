//! End-to-end tests of the evidence fields and of closed initiatives: hidden from the map,
//! lists, exports and coverage unless asked for, found by id, and described to clients.

mod common;

use common::{
    assert_bad_parameter, client, get_json, get_text, ids, random_dataset, seed_active_count,
    seed_closed_ids, start, start_with,
};
use serde_json::{Value, json};
use skillsmap::config::{Secret, ServeConfig};

/// A random dataset in which every fifth initiative is closed and every third is placed on
/// its address, each with its evidence.
fn dataset_with_closed(n: usize) -> (Value, usize) {
    let mut dataset = random_dataset(n, 16);
    let mut closed = 0;
    for (i, feature) in dataset["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        let properties = feature["properties"].as_object_mut().unwrap();
        properties.insert(
            "evidence_url".into(),
            json!(format!("https://example.org/{i}/about")),
        );
        properties.insert("verified_at".into(), json!("2026-11-30"));
        let status = if i.is_multiple_of(5) {
            closed += 1;
            "closed"
        } else {
            "active"
        };
        properties.insert("status".into(), json!(status));
        let precision = if i.is_multiple_of(3) {
            "address"
        } else {
            "city"
        };
        properties.insert("location_precision".into(), json!(precision));
    }
    (dataset, closed)
}

#[tokio::test]
async fn closed_initiatives_are_listed_only_when_asked_for() {
    let (dataset, closed) = dataset_with_closed(300);
    let total = 300;
    let server = start(Some(&dataset)).await;
    let items = |query: &str| {
        format!(
            "{}/collections/initiatives/items?limit=10000{query}",
            server.base
        )
    };
    let (_, _, default) = get_json(&items("")).await;
    assert_eq!(default["numberMatched"], total - closed);
    assert!(
        default["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["status"] == "active")
    );
    let (_, _, only_closed) = get_json(&items("&status=closed")).await;
    assert_eq!(only_closed["numberMatched"], closed);
    assert!(ids(&only_closed).iter().all(|id| {
        let n: usize = id.trim_start_matches("t-").parse().unwrap();
        n.is_multiple_of(5)
    }));
    let (_, _, all) = get_json(&items("&status=all")).await;
    assert_eq!(all["numberMatched"], total);
    let (_, _, both) = get_json(&items("&status=active,closed")).await;
    assert_eq!(ids(&both), ids(&all));
    // The address filter combines with the status one.
    let (_, _, precise) = get_json(&items("&status=all&location_precision=address")).await;
    assert_eq!(precise["numberMatched"], total.div_ceil(3));

    // A closed initiative is still there by id, with its evidence.
    let (status, _, one) = get_json(&format!(
        "{}/collections/initiatives/items/t-00005",
        server.base
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["properties"]["status"], "closed");
    assert_eq!(
        one["properties"]["evidence_url"],
        "https://example.org/5/about"
    );
    assert_eq!(one["properties"]["verified_at"], "2026-11-30");
    assert_eq!(one["properties"]["location_precision"], "city");

    assert_bad_parameter(&items("&status=dissolved"), "status").await;
    assert_bad_parameter(&items("&location_precision=gps"), "location_precision").await;
}

#[tokio::test]
async fn tiles_near_facets_and_coverage_leave_closed_ones_out_by_default() {
    let (dataset, closed) = dataset_with_closed(400);
    let server = start(Some(&dataset)).await;
    let base = &server.base;
    let tile_total = |query: &'static str| async move {
        let (_, _, tile) = get_json(&format!("{base}/tiles/0/0/0.geojson{query}")).await;
        tile["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["point_count"].as_u64().unwrap_or(1))
            .sum::<u64>()
    };
    assert_eq!(tile_total("").await, 400 - closed as u64);
    assert_eq!(tile_total("?status=all").await, 400);
    assert_eq!(tile_total("?status=closed").await, closed as u64);

    let (_, _, near) = get_json(&format!("{base}/near?lat=52.5&lon=13.4&limit=10000")).await;
    assert!(
        near["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["status"] == "active")
    );

    let (_, _, facets) = get_json(&format!("{base}/facets")).await;
    assert_eq!(facets["total"], 400 - closed);
    assert_eq!(facets["status"]["closed"], closed);

    let (_, _, coverage) = get_json(&format!("{base}/coverage?level=country")).await;
    assert_eq!(coverage["matched"], 400 - closed);
    let (_, _, coverage) = get_json(&format!("{base}/coverage?level=country&status=all")).await;
    assert_eq!(coverage["matched"], 400);
}

#[tokio::test]
async fn exports_and_queryables_carry_the_new_fields() {
    let (dataset, _) = dataset_with_closed(50);
    let server = start(Some(&dataset)).await;
    let body = get_text(&format!(
        "{}/collections/initiatives/items?f=csv&status=all",
        server.base
    ))
    .await;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 50);
    let first = rows.iter().find(|r| &r[0] == "t-00000").unwrap();
    assert_eq!(&first[column("status")], "closed");
    assert_eq!(&first[column("location_precision")], "address");
    assert_eq!(&first[column("verified_at")], "2026-11-30");
    assert_eq!(
        &first[column("evidence_url")],
        "https://example.org/0/about"
    );

    let lines = get_text(&format!(
        "{}/collections/initiatives/items?f=geojsonl&status=closed",
        server.base
    ))
    .await;
    assert_eq!(lines.lines().count(), 10);
    assert!(lines.lines().all(|l| l.contains("\"status\":\"closed\"")));

    let (_, _, queryables) = get_json(&format!(
        "{}/collections/initiatives/queryables",
        server.base
    ))
    .await;
    assert_eq!(
        queryables["properties"]["status"]["enum"],
        json!(["active", "closed"])
    );
    assert_eq!(
        queryables["properties"]["location_precision"]["enum"],
        json!(["address", "city"])
    );
    let (_, _, vocabularies) = get_json(&format!("{}/vocabularies", server.base)).await;
    assert_eq!(vocabularies["statuses"][1]["slug"], "closed");
}

#[tokio::test]
async fn a_curator_closes_an_initiative_and_it_leaves_the_map() {
    const TOKEN: &str = "carol-token-0123456789abcdef";
    let mut config = ServeConfig::local(None);
    config.curator_tokens = Some(Secret(format!("carol:{TOKEN}")));
    let server = start_with(config, None).await;
    let base = &server.base;
    let tile_total = || async move {
        let (_, _, tile) = get_json(&format!("{base}/tiles/0/0/0.geojson")).await;
        tile["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["point_count"].as_u64().unwrap_or(1))
            .sum::<u64>()
    };
    assert_eq!(tile_total().await, seed_active_count() as u64);
    let (_, _, first) = get_json(&format!("{base}/collections/initiatives/items?limit=1")).await;
    let id = first["features"][0]["id"].as_str().unwrap().to_string();
    let id = &id;
    let patch = |body: Value| async move {
        client()
            .patch(format!("{base}/collections/initiatives/items/{id}"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    };
    let refused = patch(json!({"properties": {"evidence_url": "javascript:alert(1)"}})).await;
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem.to_string().contains("properties.evidence_url"),
        "{problem}"
    );

    let closed = patch(json!({"properties": {
        "status": "closed",
        "evidence_url": "https://example.org/news/closed",
        "verified_at": "2026-11-30"
    }}))
    .await;
    assert_eq!(closed.status(), 200);
    // The change lives in the snapshot's delta: the base's fast path must not count it.
    assert_eq!(tile_total().await, seed_active_count() as u64 - 1);
    let (_, _, items) = get_json(&format!("{base}/collections/initiatives/items?limit=1")).await;
    assert_eq!(items["numberMatched"], seed_active_count() - 1);
    let (_, _, closed) = get_json(&format!(
        "{base}/collections/initiatives/items?status=closed"
    ))
    .await;
    let mut expected = seed_closed_ids();
    expected.push(id.clone());
    expected.sort();
    let mut got = ids(&closed);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(
        closed["features"][0]["properties"]["evidence_url"],
        "https://example.org/news/closed"
    );
    let (status, _, one) = get_json(&format!("{base}/collections/initiatives/items/{id}")).await;
    assert_eq!(
        (status.as_u16(), &one["properties"]["status"]),
        (200, &json!("closed"))
    );
}
