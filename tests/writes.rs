//! Writes are all-or-nothing for the client, on both store back-ends: a write held up by
//! another process's lock answers 503 with `Retry-After` within the request's time and is
//! never committed later; `Idempotency-Key` makes retrying it safe; submitters' addresses
//! are erased after their retention.

mod common;

use std::time::{Duration, Instant};

use common::processes::{Replica, eventually};
use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "writes-token-0123456789";

/// Another session holding the store's write lock until released.
enum Holder {
    Sqlite(std::process::Child),
    Postgres(tokio_postgres::Client),
}

/// Takes the store's lock from another process (SQLite: an exclusive transaction) or
/// session (PostgreSQL: the tables writes touch, locked exclusively).
async fn hold_lock(store: &TestStore) -> Holder {
    match &store.location {
        skillsmap::store::StoreLocation::Sqlite(_) => {
            let mut holder = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3, sys\n\
                     c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
                     c.execute('BEGIN EXCLUSIVE')\n\
                     print('locked', flush=True)\n\
                     sys.stdin.readline()\n\
                     c.execute('ROLLBACK')\n",
                    &store.arg(),
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("python3 runs");
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert_eq!(line.trim(), "locked");
            Holder::Sqlite(holder)
        }
        skillsmap::store::StoreLocation::Postgres(url) => {
            let (config, tls) = skillsmap::store::postgres::connection_config(url).unwrap();
            let (client, connection) = config.connect(tls).await.unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(
                    "BEGIN; LOCK TABLE initiatives, submissions IN ACCESS EXCLUSIVE MODE",
                )
                .await
                .unwrap();
            Holder::Postgres(client)
        }
    }
}

async fn release(holder: Holder) {
    match holder {
        Holder::Sqlite(mut child) => {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
            assert!(child.wait().unwrap().success());
        }
        Holder::Postgres(client) => client.batch_execute("ROLLBACK").await.unwrap(),
    }
}

fn record(id: &str, name: &str) -> Value {
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
        "properties": {
            "name": name, "description": "d", "organisation": "o",
            "url": "https://example.org/held", "country": "DE", "city": "Berlin",
            "skill_areas": ["cloud"], "target_groups": ["smes"], "kind": "training",
            "languages": ["en"], "updated_at": "2026-01-01T00:00:00Z", "source": "test"
        }
    })
}

async fn create(base: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(format!("{base}/collections/initiatives/items"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/geo+json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

fn stored_ids(store: &TestStore) -> Vec<String> {
    let mut opened = store.open();
    everything(&mut opened)
        .initiatives
        .iter()
        .map(|i| i.id.to_string())
        .collect()
}

on_each_store! {
    async fn a_write_held_up_by_a_lock_answers_503_in_time_is_never_committed_and_is_retried_once(store) {
        let replica = Replica::spawn(
            &store.arg(),
            &[],
            &[
                ("SKILLSMAP_CURATOR_TOKENS", &format!("tester:{TOKEN}")),
                // Shorter than the store's own lock wait (5 s): the deadline must bound it.
                ("SKILLSMAP_REQUEST_TIMEOUT", "3s"),
            ],
        );
        replica.ready().await;
        let held = record("held-1", "Written under a lock");
        let holder = hold_lock(&store).await;
        let started = Instant::now();
        // Two requests with one key at once: one waits for the lock, the other is told that
        // its key is in flight.
        let (first, second) = tokio::join!(
            create(&replica.base, &held, Some("\"retry-me\"")),
            create(&replica.base, &held, Some("\"retry-me\"")),
        );
        let waited = started.elapsed();
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        println!("under another session's lock: {statuses:?} after {waited:?}");
        assert_eq!(statuses, [409, 503]);
        let refused = if first.status() == 503 { first } else { second };
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        assert!(waited < Duration::from_millis(4500), "answered within the request's time: {waited:?}");
        release(holder).await;
        assert!(!stored_ids(&store).contains(&"held-1".to_string()), "the refused write was committed");

        // The client retries with the same key: created once, then the same answer again.
        let created = create(&replica.base, &held, Some("\"retry-me\"")).await;
        assert_eq!(created.status(), 201);
        let location = created.headers()["location"].clone();
        let etag = created.headers()["etag"].clone();
        let body = created.bytes().await.unwrap();
        let replayed = create(&replica.base, &held, Some("\"retry-me\"")).await;
        assert_eq!(replayed.status(), 201, "replayed, not 409 for an existing record");
        assert_eq!(replayed.headers()["location"], location);
        assert_eq!(replayed.headers()["etag"], etag);
        assert_eq!(replayed.bytes().await.unwrap(), body);
        // The same key on another request is refused; without a key the record exists.
        let other = create(&replica.base, &record("held-2", "Another"), Some("\"retry-me\"")).await;
        assert_eq!(other.status(), 422);
        assert_eq!(other.headers()["content-type"], "application/problem+json");
        assert!(!stored_ids(&store).contains(&"held-2".to_string()));
        assert_eq!(create(&replica.base, &held, None).await.status(), 409);
        for bad in ["", "\"\"", &"k".repeat(256), "\"unterminated"] {
            let refused = create(&replica.base, &record("held-3", "Bad key"), Some(bad)).await;
            assert_eq!(refused.status(), 400, "key {bad:?}");
            let problem: Value = refused.json().await.unwrap();
            assert_eq!(problem["status"], 400);
        }
        let ids = stored_ids(&store);
        assert_eq!(ids.iter().filter(|id| *id == "held-1").count(), 1);
        assert!(!ids.contains(&"held-3".to_string()));
        // One create in the audit log for the record, however often it was sent.
        let audit: Value = client()
            .get(format!("{}/audit?limit=1000", replica.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let creates = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["initiative_id"] == "held-1")
            .count();
        assert_eq!(creates, 1);
    }
}

on_each_store! {
    async fn proposals_approvals_and_rejections_replay_under_their_key(store) {
        let replica = Replica::spawn(
            &store.arg(),
            &[],
            &[("SKILLSMAP_CURATOR_TOKENS", &format!("tester:{TOKEN}"))],
        );
        replica.ready().await;
        let propose = |key: &'static str, id: &'static str| {
            client()
                .post(format!("{}/submissions", replica.base))
                .header("content-type", "application/geo+json")
                .header("idempotency-key", key)
                .body(record(id, "Proposed").to_string())
                .send()
        };
        let first = propose("p-1", "proposed-1").await.unwrap();
        assert_eq!(first.status(), 202);
        let first: Value = first.json().await.unwrap();
        let again: Value = propose("p-1", "proposed-1").await.unwrap().json().await.unwrap();
        assert_eq!(again, first, "the same submission, not a second one");
        let second: Value = propose("p-2", "proposed-2").await.unwrap().json().await.unwrap();
        let decide = |path: String, key: &'static str| {
            client()
                .post(format!("{}{path}", replica.base))
                .bearer_auth(TOKEN)
                .header("idempotency-key", key)
                .send()
        };
        let approve = format!("/submissions/{}/approve", first["id"].as_str().unwrap());
        let approved = decide(approve.clone(), "a-1").await.unwrap();
        assert_eq!(approved.status(), 201);
        let approved_body = approved.bytes().await.unwrap();
        let again = decide(approve, "a-1").await.unwrap();
        assert_eq!(again.status(), 201, "replayed, not 409 already approved");
        assert_eq!(again.bytes().await.unwrap(), approved_body);
        let reject = format!("/submissions/{}/reject", second["id"].as_str().unwrap());
        assert_eq!(decide(reject.clone(), "r-1").await.unwrap().status(), 200);
        assert_eq!(decide(reject.clone(), "r-1").await.unwrap().status(), 200);
        assert_eq!(decide(reject, "r-2").await.unwrap().status(), 409, "a new key is a new request");
        let pending: Value = client()
            .get(format!("{}/submissions", replica.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(pending["numberMatched"], 2, "two proposals, each made once");
    }
}

on_each_store! {
    async fn submitters_addresses_are_erased_after_their_retention(store) {
        let replica = Replica::spawn(
            &store.arg(),
            &[],
            &[
                ("SKILLSMAP_CURATOR_TOKENS", &format!("tester:{TOKEN}")),
                ("SKILLSMAP_ADDRESS_RETENTION", "2s"),
            ],
        );
        replica.ready().await;
        let proposed = client()
            .post(format!("{}/submissions", replica.base))
            .header("content-type", "application/geo+json")
            .body(record("kept-briefly", "Proposed").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(proposed.status(), 202);
        let clients = || async {
            let listed: Value = client()
                .get(format!("{}/submissions", replica.base))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            listed["submissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["client"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(clients().await, ["127.0.0.1"], "kept while within the retention");
        let erased = eventually(Duration::from_secs(10), || async {
            clients().await == ["erased"]
        })
        .await;
        assert!(erased, "the address is erased after 2 s: {:?}", clients().await);
    }
}

/// Creates `id` under its own key until the answer is not 503; returns the last status.
async fn create_until_answered(base: &str, id: &str, limit: Duration) -> u16 {
    let started = Instant::now();
    loop {
        let status = create(base, &record(id, "Written during an outage"), Some(id))
            .await
            .status()
            .as_u16();
        if status != 503 || started.elapsed() > limit {
            return status;
        }
        // Retry-After says seconds; a test retries sooner, sampling the recovery.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn writes_across_a_postgresql_outage_answer_503_lose_nothing_and_retry_once() {
    if skillsmap::store::scratch::server_url("writes outage").is_none() {
        return;
    }
    let cluster = common::processes::PostgresCluster::start();
    let replica = Replica::spawn(
        &cluster.url,
        &[],
        &[("SKILLSMAP_CURATOR_TOKENS", &format!("tester:{TOKEN}"))],
    );
    replica.ready().await;
    let health = || async {
        client()
            .get(format!("{}/healthz", replica.base))
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()
    };
    // A client writes one record after another; the cluster stops under it.
    // (It stops after four refusals.)
    let created = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let base = replica.base.clone();
        let created = created.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in 0..60 {
                let id = format!("outage-{i:02}");
                let answer =
                    create(&base, &record(&id, "Written during an outage"), Some(&id)).await;
                let status = answer.status().as_u16();
                if status == 201 {
                    created.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                if status == 503 {
                    assert!(answer.headers().contains_key("retry-after"), "{id}");
                }
                answers.push((id, status));
                if answers.iter().filter(|(_, s)| *s == 503).count() >= 4 {
                    break;
                }
                // The writing client's pace: a write every 50 ms until the outage has been
                // met four times.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            answers
        })
    };
    let writing = eventually(Duration::from_secs(10), || async {
        created.load(std::sync::atomic::Ordering::SeqCst) >= 3
    })
    .await;
    assert!(writing, "writes succeed before the outage");
    cluster.stop();
    let degraded = eventually(Duration::from_secs(10), || async {
        health()
            .await
            .is_some_and(|h| h["status"] == "degraded" && h["store"].is_string())
    })
    .await;
    assert!(degraded, "/healthz says degraded, with the reason");
    let answers = writer.await.unwrap();
    cluster.restart();
    let statuses: Vec<u16> = answers.iter().map(|(_, s)| *s).collect();
    println!("answers across the outage: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "only 201 or 503: {statuses:?}"
    );
    assert!(statuses.contains(&503), "some writes met the outage");
    // Each refused write retried with its key: created once (or its recorded answer replayed).
    for (id, status) in &answers {
        if *status == 503 {
            assert_eq!(
                create_until_answered(&replica.base, id, Duration::from_secs(30)).await,
                201,
                "{id}"
            );
        }
    }
    let recovered = eventually(Duration::from_secs(10), || async {
        health().await.is_some_and(|h| h["status"] == "ok")
    })
    .await;
    assert!(recovered, "healthy again without a restart");
    let mut opened = skillsmap::store::Store::open(&cluster.url.parse().unwrap()).unwrap();
    let ids: Vec<String> = everything(&mut opened)
        .initiatives
        .iter()
        .map(|i| i.id.to_string())
        .filter(|id| id.starts_with("outage-"))
        .collect();
    assert_eq!(
        ids.len(),
        answers.len(),
        "every write acknowledged or retried is there, once"
    );
}
