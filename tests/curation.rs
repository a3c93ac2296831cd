//! End-to-end tests of changing data: submissions, moderation, curators' edits with
//! `If-Match`, authentication, tombstones, the audit log and persistence across restarts.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use skillsmap::config::{Secret, ServeConfig};

const ALICE: &str = "alice-token-0123456789abcdef";
const BOB: &str = "bob-token-fedcba9876543210xx";

fn config(store: &TestStore) -> ServeConfig {
    let mut config = ServeConfig::local(None);
    config.db = store.location.clone();
    config.curator_tokens = Some(Secret(format!("alice:{ALICE},bob:{BOB}")));
    config
}

async fn curated(store: &TestStore) -> TestServer {
    start_with(config(store), None).await
}

fn proposal(name: &str) -> Value {
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [16.37, 48.21]},
        "properties": {
            "name": name, "description": "Evening courses in cloud skills for small firms.",
            "organisation": "Test Org", "url": "https://example.org/courses",
            "country": "AT", "city": "Vienna", "skill_areas": ["cloud"],
            "target_groups": ["smes"], "kind": "training", "languages": ["de", "en"]
        }
    })
}

/// Sends `body` (JSON) with `method`, as `token`'s curator when given.
async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = client().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/geo+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
    };
    (status, headers, value)
}

/// Proposes an initiative named `name` as the public would.
async fn propose(base: &str, name: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    send(
        Method::POST,
        &format!("{base}/submissions"),
        None,
        &[],
        Some(&proposal(name)),
    )
    .await
}

async fn matched(base: &str) -> u64 {
    let (_, _, page) = get_json(&format!("{base}/collections/initiatives/items?limit=1")).await;
    page["numberMatched"].as_u64().unwrap()
}

async fn etag_of(base: &str, id: &str) -> String {
    let response = client()
        .get(format!("{base}/collections/initiatives/items/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{id}");
    response.headers()["etag"].to_str().unwrap().to_string()
}

on_each_store! {
    async fn a_submission_is_invisible_until_a_curator_approves_it(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let before = matched(base).await;
    let (status, headers, accepted) = propose(base, "Cloud evenings <b>Wien</b>").await;
    assert_eq!(status, 202, "{accepted}");
    let submission = accepted["id"].as_str().unwrap();
    let initiative = accepted["initiative_id"].as_str().unwrap().to_string();
    assert!(headers["location"].to_str().unwrap().ends_with(submission));
    assert_eq!(matched(base).await, before, "pending work is not public");
    let (status, _, _) = get_json(&format!(
        "{base}/collections/initiatives/items/{initiative}"
    ))
    .await;
    assert_eq!(status, 404);

    let (_, _, pending) = send(
        Method::GET,
        &format!("{base}/submissions?status=pending"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    let listed = pending["submissions"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["client"], "127.0.0.1");

    let (status, headers, created) = send(
        Method::POST,
        &format!("{base}/submissions/{submission}/approve"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], initiative.as_str());
    // Names are kept as text; showing them safely is the job of every page that shows them.
    assert_eq!(created["properties"]["name"], "Cloud evenings <b>Wien</b>");
    assert_eq!(
        headers["etag"].to_str().unwrap(),
        etag_of(base, &initiative).await
    );
    assert_eq!(
        matched(base).await,
        before + 1,
        "visible right after approval"
    );
    let (_, _, near) = get_json(&format!("{base}/near?lon=16.37&lat=48.21&radius_km=10")).await;
    assert!(ids(&near).contains(&initiative));

    let (status, _, problem) = send(
        Method::POST,
        &format!("{base}/submissions/{submission}/approve"),
        Some(BOB),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
}
}

on_each_store! {
    async fn a_rejected_submission_never_appears(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let before = matched(base).await;
    let (_, _, accepted) = propose(base, "Spam").await;
    let submission = accepted["id"].as_str().unwrap();
    let (status, _, _) = send(
        Method::POST,
        &format!("{base}/submissions/{submission}/reject"),
        Some(BOB),
        &[("content-type", "application/json")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, one) = send(
        Method::GET,
        &format!("{base}/submissions/{submission}"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    assert_eq!(one["status"], "rejected");
    assert_eq!(one["decided_by"], "bob");
    let (_, _, who) = send(
        Method::GET,
        &format!("{base}/curator"),
        Some(BOB),
        &[],
        None,
    )
    .await;
    assert_eq!(who["name"], "bob");
    let (_, _, rejected) = send(
        Method::GET,
        &format!("{base}/submissions?status=rejected&offset=0&limit=1"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    assert_eq!(rejected["numberMatched"], 1);
    assert_eq!(matched(base).await, before);
}
}

on_each_store! {
    async fn bad_submissions_get_problems_naming_the_field(store) {
    let mut config = config(&store);
    config.submission_burst = 3;
    let server = start_with(config, None).await;
    let url = format!("{}/submissions", server.base);

    let mut bad = proposal("X");
    bad["properties"]["url"] = json!("javascript:alert(1)");
    bad["properties"]["kind"] = json!("party");
    bad["geometry"]["coordinates"] = json!([200, 48]);
    let (status, headers, problem) = send(Method::POST, &url, None, &[], Some(&bad)).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/problem+json");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["properties.url", "properties.kind", "geometry.coordinates"] {
        assert!(fields.contains(&field), "{field} in {problem}");
    }

    let form = client()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);

    let huge = json!({"type": "Feature", "properties": {"description": "x".repeat(100_000)}});
    let (status, headers, problem) = send(Method::POST, &url, None, &[], Some(&huge)).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");

    // The oversized body was refused from its declared length before the rate limit saw
    // it: one of the burst of three is left.
    let (status, _, problem) = send(Method::POST, &url, None, &[], Some(&proposal("W"))).await;
    assert_eq!(status, 202, "{problem}");
    let (status, headers, problem) =
        send(Method::POST, &url, None, &[], Some(&proposal("Y"))).await;
    assert_eq!(status, 429, "{problem}");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
}
}

/// Every curator endpoint, as (method, path, body).
fn curator_endpoints(submission: &str, id: &str) -> Vec<(Method, String, Option<Value>)> {
    let items = "/collections/initiatives/items";
    vec![
        (Method::GET, "/submissions".into(), None),
        (Method::GET, format!("/submissions/{submission}"), None),
        (
            Method::POST,
            format!("/submissions/{submission}/approve"),
            None,
        ),
        (
            Method::POST,
            format!("/submissions/{submission}/reject"),
            None,
        ),
        (Method::POST, items.into(), Some(proposal("New"))),
        (
            Method::PUT,
            format!("{items}/{id}"),
            Some(proposal("Replaced")),
        ),
        (
            Method::PATCH,
            format!("{items}/{id}"),
            Some(json!({"properties": {"name": "Patched"}})),
        ),
        (Method::DELETE, format!("{items}/{id}"), None),
        (Method::GET, "/audit".into(), None),
        (Method::GET, "/curator".into(), None),
    ]
}

on_each_store! {
    async fn without_a_valid_token_curator_endpoints_answer_401_and_change_nothing(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let (_, _, accepted) = propose(base, "Waiting").await;
    let submission = accepted["id"].as_str().unwrap();
    let id = "digital-innovation-hub-vienna";
    let (_, _, before) = get_json(&format!("{base}/healthz")).await;
    let near_misses = [
        None,
        Some(""),
        Some("alice"),
        Some(&ALICE[..ALICE.len() - 1]),
        Some(&format!("{ALICE}0")),
        Some(&ALICE.to_uppercase()),
        Some("alice-token-0123456789abcdeF"),
    ];
    for (method, path, body) in curator_endpoints(submission, id) {
        for token in &near_misses {
            let (status, headers, problem) = send(
                method.clone(),
                &format!("{base}{path}"),
                token.map(|t| t as &str),
                &[],
                body.as_ref(),
            )
            .await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {problem}");
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
            assert_eq!(problem["status"], 401);
        }
        // Other schemes are not accepted either.
        let basic = client()
            .request(method.clone(), format!("{base}{path}"))
            .basic_auth("alice", Some(ALICE))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401, "{method} {path} with Basic");
    }
    let (_, _, after) = get_json(&format!("{base}/healthz")).await;
    assert_eq!(before["version"], after["version"], "nothing changed");
    let (_, _, audit) = send(
        Method::GET,
        &format!("{base}/audit"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["seed", "submit"]);
}
}

on_each_store! {
    async fn two_curators_editing_the_same_item_one_gets_412(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let url = format!(
        "{base}/collections/initiatives/items/{}",
        first_id(base).await
    );
    let id = url.rsplit('/').next().unwrap().to_string();
    let tag = etag_of(base, &id).await;
    let patch = |name: &str| json!({"properties": {"name": name}});
    let merge = [
        ("if-match", tag.as_str()),
        ("content-type", "application/merge-patch+json"),
    ];
    // Both curators read the same version, then race to change it.
    let (alice, bob) = (patch("Alice's name"), patch("Bob's name"));
    let (a, b) = tokio::join!(
        send(Method::PATCH, &url, Some(ALICE), &merge, Some(&alice)),
        send(Method::PATCH, &url, Some(BOB), &merge, Some(&bob)),
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{} / {}", a.2, b.2);
    let winner = if a.0 == 200 { &a } else { &b };
    let (_, _, now) = get_json(&url).await;
    assert_eq!(now["properties"]["name"], winner.2["properties"]["name"]);
    assert_eq!(winner.1["etag"].to_str().unwrap(), etag_of(base, &id).await);

    // The loser re-reads and succeeds with the fresh tag; a stale PUT or DELETE still fails.
    let fresh = etag_of(base, &id).await;
    let retry = [
        ("if-match", fresh.as_str()),
        ("content-type", "application/merge-patch+json"),
    ];
    let (status, _, _) = send(
        Method::PATCH,
        &url,
        Some(BOB),
        &retry,
        Some(&patch("Bob again")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(
        Method::DELETE,
        &url,
        Some(ALICE),
        &[("if-match", &fresh)],
        None,
    )
    .await;
    assert_eq!(status, 412);
    let (status, _, _) = send(
        Method::PUT,
        &url,
        Some(ALICE),
        &[("if-match", "\"stale\"")],
        Some(&proposal("P")),
    )
    .await;
    assert_eq!(status, 412);
    let (_, _, still) = get_json(&url).await;
    assert_eq!(still["properties"]["name"], "Bob again");
}
}

async fn first_id(base: &str) -> String {
    let (_, _, page) = get_json(&format!("{base}/collections/initiatives/items?limit=1")).await;
    ids(&page)[0].clone()
}

on_each_store! {
    async fn curators_create_replace_patch_and_delete_with_tombstones(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let items = format!("{base}/collections/initiatives/items");
    let mut record = proposal("Data skills lab");
    record["id"] = json!("data-skills-lab-test");
    let (status, headers, created) =
        send(Method::POST, &items, Some(ALICE), &[], Some(&record)).await;
    assert_eq!(status, 201, "{created}");
    let url = headers["location"].to_str().unwrap().to_string();
    assert!(url.ends_with("/collections/initiatives/items/data-skills-lab-test"));
    assert_eq!(created["properties"]["source"], "skillsmap curators");
    let (status, _, _) = send(Method::POST, &items, Some(BOB), &[], Some(&record)).await;
    assert_eq!(status, 409, "ids are unique");

    let mut replaced = record.clone();
    replaced["properties"]["city"] = json!("Graz");
    replaced["geometry"]["coordinates"] = json!([15.44, 47.07]);
    let (status, _, body) = send(Method::PUT, &url, Some(ALICE), &[], Some(&replaced)).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, near) = get_json(&format!("{base}/near?lon=15.44&lat=47.07&radius_km=1")).await;
    assert!(ids(&near).contains(&"data-skills-lab-test".to_string()));

    let mut other_id = replaced.clone();
    other_id["id"] = json!("something-else");
    let (status, _, problem) = send(Method::PUT, &url, Some(ALICE), &[], Some(&other_id)).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "id");

    let invalid = json!({"properties": {"country": "XX"}});
    let (status, _, problem) = send(
        Method::PATCH,
        &url,
        Some(ALICE),
        &[("content-type", "application/merge-patch+json")],
        Some(&invalid),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "properties.country");

    let since = jiff::Timestamp::now().to_string();
    let (status, _, _) = send(Method::DELETE, &url, Some(BOB), &[], None).await;
    assert_eq!(status, 204);
    let (status, _, _) = get_json(&url).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(Method::DELETE, &url, Some(BOB), &[], None).await;
    assert_eq!(status, 404, "deleting twice");

    let (_, _, deletions) = get_json(&format!(
        "{base}/collections/initiatives/deletions?datetime={since}/.."
    ))
    .await;
    let deleted: Vec<&str> = deletions["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["data-skills-lab-test"]);
    let (_, _, none) = get_json(&format!(
        "{base}/collections/initiatives/deletions?datetime=../2000-01-01T00:00:00Z"
    ))
    .await;
    assert!(none["deletions"].as_array().unwrap().is_empty());

    let (_, _, audit) = send(
        Method::GET,
        &format!("{base}/audit"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    let entries = audit["entries"].as_array().unwrap();
    let summary: Vec<(String, String)> = entries
        .iter()
        .skip(1)
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [("alice", "create"), ("alice", "replace"), ("bob", "delete")];
    assert_eq!(
        summary,
        expected.map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let replace = &entries[2];
    assert_eq!(replace["before"]["properties"]["city"], "Vienna");
    assert_eq!(replace["after"]["properties"]["city"], "Graz");
    let changed: Vec<&str> = replace["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(changed.contains(&"properties.city") && changed.contains(&"geometry"));

    let (_, _, latest) = send(
        Method::GET,
        &format!("{base}/audit?before=1000000&limit=2"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    let newest: Vec<&str> = latest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(newest, ["delete", "replace"], "newest first");
    let older = latest["next_before"].as_i64().unwrap();
    let (_, _, rest) = send(
        Method::GET,
        &format!("{base}/audit?before={older}"),
        Some(ALICE),
        &[],
        None,
    )
    .await;
    assert_eq!(rest["entries"][0]["action"], "create");

    // A deleted id may be used again.
    let (status, _, _) = send(Method::POST, &items, Some(ALICE), &[], Some(&record)).await;
    assert_eq!(status, 201);
}
}

/// Everything a partner could read: every item in order, and the deletions.
async fn published(base: &str) -> (Value, Value) {
    let (_, _, items) =
        get_json(&format!("{base}/collections/initiatives/items?limit=10000")).await;
    let (_, _, deletions) = get_json(&format!("{base}/collections/initiatives/deletions")).await;
    (items["features"].clone(), deletions["deletions"].clone())
}

on_each_store! {
    async fn changes_survive_a_restart_and_change_the_version(store) {
    let merge = [("content-type", "application/merge-patch+json")];
    let (version, id, before) = {
        let server = start_with(config(&store), None).await;
        let base = &server.base;
        let items = format!("{base}/collections/initiatives/items");
        let (_, _, health) = get_json(&format!("{base}/healthz")).await;
        let first_two = ids(&get_json(&format!("{items}?limit=2")).await.2);
        let (id, second) = (first_two[0].clone(), first_two[1].clone());
        let patch = json!({"properties": {"city": "Elsewhere"}});
        let (status, _, _) = send(
            Method::PATCH,
            &format!("{items}/{id}"),
            Some(ALICE),
            &merge,
            Some(&patch),
        )
        .await;
        assert_eq!(status, 200);
        // A mix of changes, each published incrementally by the running server.
        let mut record = proposal("Added");
        record["id"] = json!("aaa-added-first");
        let (status, _, _) = send(Method::POST, &items, Some(ALICE), &[], Some(&record)).await;
        assert_eq!(status, 201);
        record["id"] = json!("zzz-deleted-then-revived");
        send(Method::POST, &items, Some(ALICE), &[], Some(&record)).await;
        let revived = format!("{items}/zzz-deleted-then-revived");
        let (status, _, _) = send(Method::DELETE, &revived, Some(BOB), &[], None).await;
        assert_eq!(status, 204);
        let (status, _, _) = send(Method::POST, &items, Some(ALICE), &[], Some(&record)).await;
        assert_eq!(status, 201);
        let gone = format!("{items}/{second}");
        let (status, _, _) = send(Method::DELETE, &gone, Some(BOB), &[], None).await;
        assert_eq!(status, 204);
        let (_, _, after) = get_json(&format!("{base}/healthz")).await;
        assert_ne!(health["version"], after["version"]);
        (after["version"].clone(), id, published(base).await)
    };
    let server = start_with(config(&store), None).await;
    let (_, _, health) = get_json(&format!("{}/healthz", server.base)).await;
    assert_eq!(health["version"], version, "same data, same version");
    let after = published(&server.base).await;
    assert_eq!(
        before.0, after.0,
        "the running server published what a full read gives"
    );
    assert_eq!(before.1, after.1, "and the same deletions");
    assert_eq!(before.1.as_array().unwrap().len(), 1);
    let (_, _, item) = get_json(&format!(
        "{}/collections/initiatives/items/{id}",
        server.base
    ))
    .await;
    assert_eq!(item["properties"]["city"], "Elsewhere");
}
}

#[tokio::test]
async fn a_file_served_read_only_takes_no_changes() {
    let server = start(Some(&random_dataset(20, 3))).await;
    let (status, _, problem) = send(
        Method::POST,
        &format!("{}/submissions", server.base),
        None,
        &[],
        Some(&proposal("X")),
    )
    .await;
    assert_eq!(status, 405, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("read-only"));
}

on_each_store! {
    async fn oversized_headers_and_bodies_are_refused(store) {
    let server = curated(&store).await;
    let address = server.base.trim_start_matches("http://").to_string();
    let many = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(address).unwrap();
        let headers: String = (0..300)
            .map(|i| format!("X-Filler-{i}: {}\r\n", "y".repeat(100)))
            .collect();
        write!(socket, "GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n").unwrap();
        let mut answer = vec![0; 64];
        let n = socket.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(many.starts_with("HTTP/1.1 431"), "{many}");

    let mut record = proposal("Big");
    record["properties"]["description"] = json!("z".repeat(300 * 1024));
    let (status, headers, problem) = send(
        Method::POST,
        &format!("{}/collections/initiatives/items", server.base),
        Some(ALICE),
        &[],
        Some(&record),
    )
    .await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
}
}

on_each_store! {
    async fn a_curator_corrects_a_proposal_while_approving_it(store) {
    let server = curated(&store).await;
    let base = &server.base;
    let (_, _, accepted) = propose(base, "Clod skils").await;
    let submission = accepted["id"].as_str().unwrap();
    let approve = format!("{base}/submissions/{submission}/approve");
    let mut corrected = proposal("Cloud skills");
    corrected["properties"]["kind"] = json!("party");
    let (status, _, problem) =
        send(Method::POST, &approve, Some(ALICE), &[], Some(&corrected)).await;
    assert_eq!(
        status, 400,
        "an invalid correction publishes nothing: {problem}"
    );
    corrected["properties"]["kind"] = json!("training");
    let (status, _, created) =
        send(Method::POST, &approve, Some(ALICE), &[], Some(&corrected)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["id"], accepted["initiative_id"],
        "the proposal's id is kept"
    );
    assert_eq!(created["properties"]["name"], "Cloud skills");
}
}
