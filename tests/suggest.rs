//! `/coverage/suggest` over HTTP: the greedy picks add up, and opening an initiative where the
//! first pick says brings exactly the people it promised within reach.

mod common;

use common::*;
use serde_json::{Value, json};
use skillsmap::config::{Secret, ServeConfig};

const CURATOR: &str = "dora-token-0123456789abcdef";
const QUERY: &str = "skill_area=cybersecurity&target_group=smes&gap_km=50";

async fn suggestions(base: &str, region: &str, k: usize) -> Value {
    let (status, content_type, body) = get_json(&format!(
        "{base}/coverage/suggest?region={region}&k={k}&{QUERY}"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json");
    body
}

/// Picks: running totals that add up, gains that never grow (each pick counts only what
/// the ones before left), and nothing beyond the people far from help.
fn check_picks(answer: &Value, k: usize) -> Vec<Value> {
    let picks = answer["picks"].as_array().unwrap().clone();
    assert!(!picks.is_empty() && picks.len() <= k, "{answer}");
    let mut total = 0;
    let mut last_gain = u64::MAX;
    for pick in &picks {
        let added = pick["added"].as_u64().unwrap();
        assert!(added > 0 && added <= last_gain, "{answer}");
        total += added;
        assert_eq!(pick["total"].as_u64().unwrap(), total, "{answer}");
        last_gain = added;
    }
    assert!(total <= answer["people_far"].as_u64().unwrap());
    assert!(answer["people_far"].as_u64().unwrap() <= answer["people"].as_u64().unwrap());
    picks
}

#[tokio::test]
async fn opening_the_first_pick_brings_its_people_within_reach() {
    let store = TestStore::sqlite();
    let mut config = ServeConfig::local(None);
    config.db = store.location.clone();
    config.curator_tokens = Some(Secret(format!("dora:{CURATOR}")));
    let server = start_with(config, None).await;
    let base = &server.base;

    let before = suggestions(base, "DE", 3).await;
    let picks = check_picks(&before, 3);
    let first = &picks[0];

    let record = json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [first["lon"], first["lat"]]},
        "properties": {
            "name": "Suggested security clinic", "description": "Opened where the map said.",
            "organisation": "Test Org", "url": "https://example.org/clinic",
            "country": "DE", "city": first["name"], "skill_areas": ["cybersecurity"],
            "target_groups": ["smes"], "kind": "training", "languages": ["de"]
        }
    });
    let response = client()
        .post(format!("{base}/collections/initiatives/items"))
        .bearer_auth(CURATOR)
        .header("content-type", "application/geo+json")
        .body(record.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let after = suggestions(base, "DE", 2).await;
    check_picks(&after, 2);
    assert_eq!(
        after["matched"].as_u64().unwrap(),
        before["matched"].as_u64().unwrap() + 1
    );
    assert_eq!(
        after["people_far"].as_u64().unwrap(),
        before["people_far"].as_u64().unwrap() - first["added"].as_u64().unwrap(),
        "the first pick's people are within reach now: {before} {after}"
    );
    // What the greedy would pick second is now the best single choice.
    assert_eq!(
        after["picks"][0]["added"], picks[1]["added"],
        "{before} {after}"
    );
}

#[tokio::test]
async fn suggestions_answer_for_europe_and_refuse_what_they_cannot_mean() {
    let server = start(None).await;
    let base = &server.base;
    let europe = get_json(&format!("{base}/coverage/suggest?k=4&{QUERY}"))
        .await
        .2;
    check_picks(&europe, 4);
    let germany = suggestions(base, "DE", 4).await;
    assert!(germany["people"].as_u64() < europe["people"].as_u64());
    assert!(
        germany["picks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["country"] == "DE"),
        "{germany}"
    );

    assert_bad_parameter(&format!("{base}/coverage/suggest?region=XX9"), "region").await;
    assert_bad_parameter(&format!("{base}/coverage/suggest?k=0"), "k").await;
    assert_bad_parameter(&format!("{base}/coverage/suggest?k=21"), "k").await;
    assert_bad_parameter(&format!("{base}/coverage/suggest?gap_km=-1"), "gap_km").await;
    assert_revalidates(
        &format!("{base}/coverage/suggest?region=DE&k=2"),
        &format!("{base}/coverage/suggest?region=DE&k=3"),
    )
    .await;
}
