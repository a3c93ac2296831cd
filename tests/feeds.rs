//! Atom feeds of items queries (`f=atom`), read by an independent parser (feedparser, which
//! `scripts/test` installs as Debian's python3-feedparser) while the data changes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use skillsmap::config::{Secret, ServeConfig};

const CURATOR: &str = "carol-token-0123456789abcdef";

/// What feedparser makes of a feed: its version, whether it was well-formed, the feed's
/// members and each entry's.
const PARSE: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
links = lambda x: [{"rel": l.get("rel"), "href": l.get("href"), "type": l.get("type")} for l in x.get("links", [])]
print(json.dumps({
    "version": d.version,
    "bozo": bool(d.bozo),
    "problem": str(d.get("bozo_exception", "")),
    "feed": {"id": d.feed.get("id"), "title": d.feed.get("title"),
             "updated": d.feed.get("updated"), "author": d.feed.get("author"),
             "links": links(d.feed)},
    "entries": [{"id": e.get("id"), "title": e.get("title"), "updated": e.get("updated"),
                 "terms": [t.get("term") for t in e.get("tags", [])],
                 "summary": e.get("summary"), "links": links(e)} for e in d.entries],
}))
"#;

fn parse(feed: &[u8]) -> Value {
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(feed).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "feedparser failed (scripts/test installs python3-feedparser):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Fetches and parses a feed, checking what RFC 4287 requires of every feed and entry.
async fn feed(url: &str) -> Value {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml",
        "{url}"
    );
    let body = response.bytes().await.unwrap();
    let parsed = tokio::task::spawn_blocking(move || parse(&body))
        .await
        .unwrap();
    assert_eq!(parsed["version"], "atom10", "{parsed}");
    assert_eq!(parsed["bozo"], false, "{}", parsed["problem"]);
    for member in ["id", "title", "updated", "author"] {
        assert!(
            parsed["feed"][member].is_string(),
            "feed {member}: {parsed}"
        );
    }
    assert!(
        parsed["feed"]["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "self" && l["href"].as_str().unwrap().contains("f=atom")),
        "{parsed}"
    );
    for entry in parsed["entries"].as_array().unwrap() {
        for member in ["id", "title", "updated"] {
            assert!(entry[member].is_string(), "entry {member}: {entry}");
        }
    }
    parsed
}

fn entries(feed: &Value) -> &Vec<Value> {
    feed["entries"].as_array().unwrap()
}

fn entry_ids(feed: &Value) -> Vec<String> {
    entries(feed)
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn send(method: Method, url: &str, body: Option<Value>) -> StatusCode {
    let mut request = client().request(method, url).bearer_auth(CURATOR);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/geo+json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        response.text().await.unwrap()
    );
    status
}

fn initiative(id: &str, name: &str) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": [15.44, 47.07]},
        "properties": {
            "name": name, "description": "Security clinics for small firms <b>& their staff</b>.",
            "organisation": "Feed Test Org", "url": "https://example.org/clinics",
            "country": "AT", "city": "Graz", "skill_areas": ["cybersecurity"],
            "target_groups": ["smes"], "kind": "training", "languages": ["de"]
        }
    })
}

async fn curated(store: &TestStore) -> TestServer {
    let mut config = ServeConfig::local(None);
    config.db = store.location.clone();
    config.curator_tokens = Some(Secret(format!("carol:{CURATOR}")));
    start_with(config, None).await
}

on_each_store! {
    /// A reader following a filtered feed sees an initiative appear, change and go, as one
    /// entry with a stable id; a deletion outside the filter stays out of it.
    async fn following_a_feed_through_creates_patches_and_deletes(store) {
        let server = curated(&store).await;
        let base = &server.base;
        let items = format!("{base}/collections/initiatives/items");
        let view = format!("{items}?f=atom&country=AT&skill_area=cybersecurity&limit=5");

        let before = feed(&view).await;
        assert!(!entry_ids(&before).contains(&"at-feed-clinic".to_string()));

        send(Method::POST, &items, Some(initiative("at-feed-clinic", "Clinic \"Graz\" <one>"))).await;
        let created = feed(&view).await;
        let first = &entries(&created)[0];
        assert_eq!(entry_ids(&created)[0], "at-feed-clinic", "{created}");
        assert_eq!(first["title"], "Clinic \"Graz\" <one>");
        assert!(first["terms"].as_array().unwrap().contains(&json!("cybersecurity")));
        assert!(first["summary"].as_str().unwrap().contains("<b>& their staff</b>"));

        let patch = json!({"properties": {"name": "Graz security clinic"}});
        let response = client()
            .patch(format!("{items}/at-feed-clinic"))
            .bearer_auth(CURATOR)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
        let patched = feed(&view).await;
        let ids = entry_ids(&patched);
        assert_eq!(ids[0], "at-feed-clinic");
        assert_eq!(ids.iter().filter(|id| *id == "at-feed-clinic").count(), 1);
        assert_eq!(entries(&patched)[0]["title"], "Graz security clinic");
        assert_eq!(entries(&patched)[0]["id"], first["id"], "the entry id is stable");

        // A German record's deletion is outside this view but in the unfiltered feed.
        let german = get_json(&format!("{items}?country=DE&limit=1")).await.2["features"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        send(Method::DELETE, &format!("{items}/{german}"), None).await;
        send(Method::DELETE, &format!("{items}/at-feed-clinic"), None).await;

        let deleted = feed(&view).await;
        assert_eq!(entry_ids(&deleted)[0], "at-feed-clinic");
        let removal = &entries(&deleted)[0];
        assert_eq!(removal["id"], first["id"]);
        assert!(removal["terms"].as_array().unwrap().contains(&json!("deleted")), "{removal}");
        assert!(removal["title"].as_str().unwrap().starts_with("Removed: "));
        assert!(!entry_ids(&deleted).contains(&german), "{deleted}");

        let everything = feed(&format!("{items}?f=atom&limit=2")).await;
        let mut newest = entry_ids(&everything);
        newest.sort();
        let mut expected = vec![german.clone(), "at-feed-clinic".to_string()];
        expected.sort();
        assert_eq!(newest, expected);
    }
}

/// The unfiltered feed is the newest of every live initiative and every deletion, compared
/// with the items and deletions listings, and pages on with a `next` link.
#[tokio::test]
async fn the_feed_is_the_newest_changes_of_the_whole_collection() {
    let store = TestStore::sqlite();
    let server = curated(&store).await;
    let items = format!("{}/collections/initiatives/items", server.base);
    for i in 0..4 {
        let id = format!("at-feed-{i}");
        send(
            Method::POST,
            &items,
            Some(initiative(&id, &format!("Clinic {i}"))),
        )
        .await;
    }
    send(Method::DELETE, &format!("{items}/at-feed-1"), None).await;

    // Every change, newest first, from the listings.
    let (_, _, all) = get_json(&format!("{items}?limit=10000")).await;
    let mut changes: Vec<(String, String)> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let at = f["properties"]["updated_at"].as_str().unwrap();
            (normalise(at), f["id"].as_str().unwrap().to_string())
        })
        .collect();
    let (_, _, deletions) = get_json(&format!(
        "{}/collections/initiatives/deletions",
        server.base
    ))
    .await;
    for t in deletions["deletions"].as_array().unwrap() {
        changes.push((
            normalise(t["deleted_at"].as_str().unwrap()),
            t["id"].as_str().unwrap().to_string(),
        ));
    }
    changes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

    let first = feed(&format!("{items}?f=atom&limit=3")).await;
    let ids = entry_ids(&first);
    assert_eq!(ids.len(), 3);
    let expected: Vec<String> = changes.iter().take(3).map(|c| c.1.clone()).collect();
    let mut got = ids.clone();
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want, "{first}");
    assert!(ids.contains(&"at-feed-1".to_string()));

    let next = first["feed"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap_or_else(|| panic!("a next link: {first}"))["href"]
        .as_str()
        .unwrap()
        .to_string();
    let second = feed(&next).await;
    let later = entry_ids(&second);
    assert_eq!(later.len(), 3);
    assert!(
        later.iter().all(|id| !ids.contains(id)),
        "{later:?} {ids:?}"
    );
}

/// Atom seconds: the listings' timestamps to the second, for comparing orders.
fn normalise(at: &str) -> String {
    at.parse::<jiff::Timestamp>().unwrap().to_string()
}

#[tokio::test]
async fn feeds_are_negotiated_and_revalidated() {
    let store = TestStore::sqlite();
    let server = curated(&store).await;
    let items = format!("{}/collections/initiatives/items", server.base);
    let url = format!("{items}?country=AT");

    let atom = client()
        .get(&url)
        .header("accept", "application/atom+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(atom.headers()["content-type"], "application/atom+xml");
    let atom_tag = atom.headers()["etag"].to_str().unwrap().to_string();
    let geojson = client().get(&url).send().await.unwrap();
    assert_eq!(geojson.headers()["content-type"], "application/geo+json");
    assert_ne!(
        geojson.headers()["etag"],
        atom_tag.as_str(),
        "one tag per representation"
    );

    let feed_url = format!("{url}&f=atom");
    let first = client().get(&feed_url).send().await.unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let again = client()
        .get(&feed_url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    send(
        Method::POST,
        &items,
        Some(initiative("at-feed-new", "New clinic")),
    )
    .await;
    send(Method::DELETE, &format!("{items}/at-feed-new"), None).await;
    let changed = client()
        .get(&feed_url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    // The deletion is newer than anything live: Last-Modified must move with it.
    let since = client()
        .get(&feed_url)
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(since.status(), 200);
    assert_ne!(since.headers()["last-modified"], modified.as_str());

    assert_bad_parameter(&format!("{items}?f=rss"), "f").await;
    assert_bad_parameter(&format!("{items}?f=atom&limit=0"), "limit").await;
}
