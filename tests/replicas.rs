//! Several replicas on one PostgreSQL store, as real processes behind nginx: seeding once,
//! propagation, a killed replica, PostgreSQL stopped mid-stream, and the rate limit behind a
//! trusted proxy. Each test skips with a notice where no PostgreSQL is configured (and
//! fails in CI, which always has one).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::processes::{Nginx, PostgresCluster, Replica, eventually};
use common::*;
use serde_json::{Value, json};
use skillsmap::store::scratch::{ScratchDatabase, server_url};

const TOKEN: &str = "replica-test-token-0123456789";

/// These tests time propagation on a small machine: they take turns rather than compete.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn curator_env() -> Vec<(&'static str, String)> {
    vec![
        ("SKILLSMAP_CURATOR_TOKENS", format!("tester:{TOKEN}")),
        // The refused writes of the outage test would fill the log, one line each.
        ("SKILLSMAP_LOG", "warn,tower_http=off,topojson=error".into()),
    ]
}

fn replica(db: &str, args: &[&str]) -> Replica {
    let env = curator_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Replica::spawn(db, args, &env)
}

fn record(id: &str, city: &str) -> Value {
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [4.35, 50.85]},
        "properties": {
            "name": format!("Replica test {id}"), "description": "Written through the balancer.",
            "organisation": "Test", "url": "https://example.org", "country": "BE",
            "city": city, "skill_areas": ["cloud"], "target_groups": ["smes"],
            "kind": "training", "languages": ["en"]
        }
    })
}

async fn create(base: &str, id: &str) -> Result<reqwest::Response, reqwest::Error> {
    client()
        .post(format!("{base}/collections/initiatives/items"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/geo+json")
        .timeout(Duration::from_secs(20))
        .body(record(id, "Brussels").to_string())
        .send()
        .await
}

async fn health(base: &str) -> Option<Value> {
    let response = client()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

async fn item_status(base: &str, id: &str) -> u16 {
    client()
        .get(format!("{base}/collections/initiatives/items/{id}"))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test]
async fn two_replicas_starting_together_on_an_empty_database_seed_it_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = server_url("replicas seeding") else {
        return;
    };
    let database = ScratchDatabase::create(&server).unwrap();
    let (a, b) = (replica(database.url(), &[]), replica(database.url(), &[]));
    a.ready().await;
    b.ready().await;
    let (ha, hb) = (
        health(&a.base).await.unwrap(),
        health(&b.base).await.unwrap(),
    );
    assert_eq!(ha["version"], hb["version"], "the same data on both");
    assert_eq!(ha["initiatives"], seed_count());
    let audit: Value = client()
        .get(format!("{}/audit?limit=1000", a.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seeds = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "seed")
        .count();
    assert_eq!(seeds, 1, "seeded once: {audit}");
}

#[tokio::test]
async fn every_replica_shows_each_write_within_a_second_and_a_killed_one_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = server_url("replicas propagation") else {
        return;
    };
    let database = ScratchDatabase::create(&server).unwrap();
    let mut a = replica(database.url(), &["--trusted-proxies", "127.0.0.1"]);
    a.ready().await;
    let b = replica(database.url(), &["--trusted-proxies", "127.0.0.1"]);
    b.ready().await;
    let nginx = Nginx::start(&[&a, &b]).await;

    // Public reads through the balancer all along; none may fail.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (stop, failures, base) = (stop.clone(), failures.clone(), nginx.base.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let url = format!("{base}/collections/initiatives/items?limit=5");
                match client().get(&url).send().await {
                    Ok(r) if r.status() == 200 => reads += 1,
                    Ok(r) => failures.lock().unwrap().push(r.status().to_string()),
                    Err(e) => failures.lock().unwrap().push(e.to_string()),
                }
            }
            reads
        })
    };

    // Writes through the balancer: each must be on both replicas within 1 s of its answer.
    let mut slowest = Duration::ZERO;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let id = format!("propagated-{i:03}");
        let response = create(&nginx.base, &id).await.unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let answered = Instant::now();
        let everywhere = eventually(Duration::from_secs(1), || async {
            item_status(&a.base, &id).await == 200 && item_status(&b.base, &id).await == 200
        })
        .await;
        assert!(everywhere, "{id} was not on both replicas within 1 s");
        slowest = slowest.max(answered.elapsed());
        acknowledged.push(id);
    }
    eprintln!("slowest propagation of 20 writes: {slowest:?}");

    // Kill replica A in the middle of a stream of writes.
    let writer = {
        let base = nginx.base.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..60 {
                let id = format!("during-kill-{i:03}");
                if let Ok(r) = create(&base, &id).await
                    && r.status() == 201
                {
                    acked.push(id);
                }
            }
            acked
        })
    };
    let killed_after = eventually(Duration::from_secs(20), || async {
        item_status(&b.base, "during-kill-010").await == 200
    })
    .await;
    assert!(killed_after, "the writes went on");
    a.kill();
    let during = writer.await.unwrap();
    assert!(
        during.len() >= 30,
        "writes went on through B: {}",
        during.len()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.await.unwrap();
    let failed = failures.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} of {reads} reads failed: {failed:?}",
        failed.len()
    );

    // Nothing acknowledged is lost: B, and a fresh replica, hold every acknowledged write.
    let fresh = replica(database.url(), &[]);
    fresh.ready().await;
    for id in acknowledged.iter().chain(&during) {
        assert_eq!(item_status(&b.base, id).await, 200, "{id} on B");
        assert_eq!(
            item_status(&fresh.base, id).await,
            200,
            "{id} on a new replica"
        );
    }
    eprintln!(
        "{} writes acknowledged ({} while a replica was killed), {reads} reads, none lost or failed",
        acknowledged.len() + during.len(),
        during.len()
    );
}

#[tokio::test]
async fn with_postgresql_stopped_reads_go_on_writes_wait_and_everything_resumes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    if server_url("replicas outage").is_none() {
        return;
    }
    let cluster = PostgresCluster::start();
    let a = replica(&cluster.url, &[]);
    let b = replica(&cluster.url, &[]);
    a.ready().await;
    b.ready().await;
    let mut acknowledged = HashSet::new();
    for i in 0..5 {
        let id = format!("before-{i}");
        assert_eq!(create(&a.base, &id).await.unwrap().status(), 201);
        acknowledged.insert(id);
    }
    let synced = eventually(Duration::from_secs(2), || async {
        health(&a.base).await.map(|h| h["version"].clone())
            == health(&b.base).await.map(|h| h["version"].clone())
    })
    .await;
    assert!(synced);
    let version = health(&a.base).await.unwrap()["version"].clone();

    cluster.stop();
    let stopped = Instant::now();
    let degraded = eventually(Duration::from_secs(5), || async {
        health(&a.base)
            .await
            .is_some_and(|h| h["status"] == "degraded")
            && health(&b.base)
                .await
                .is_some_and(|h| h["status"] == "degraded")
    })
    .await;
    assert!(degraded, "/healthz says degraded");
    // Ten seconds of outage: reads answer from the snapshot, writes are refused politely.
    let mut refused = 0;
    while stopped.elapsed() < Duration::from_secs(10) {
        for replica in [&a, &b] {
            let h = health(&replica.base).await.expect("reads go on");
            assert_eq!(h["version"], version, "the same data version");
            let read = client()
                .get(format!(
                    "{}/collections/initiatives/items/before-1",
                    replica.base
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(read.status(), 200);
            let id = format!("during-{refused}");
            let write = create(&replica.base, &id).await.unwrap();
            let status = write.status().as_u16();
            if status == 201 {
                panic!("a write was acknowledged while PostgreSQL was down");
            }
            assert_eq!(status, 503);
            let retry = write.headers()["retry-after"].to_str().unwrap().to_string();
            assert!(retry.parse::<u64>().unwrap() >= 1);
            assert_eq!(
                write.headers()["content-type"],
                "application/problem+json",
                "a problem, with Retry-After {retry}"
            );
            let problem: Value = write.json().await.unwrap();
            assert_eq!(problem["status"], 503);
            refused += 1;
        }
    }
    cluster.restart();

    // No restart of the replicas: writes succeed again by themselves.
    let resumed = Instant::now();
    let writable = eventually(Duration::from_secs(30), || async {
        create(&b.base, "after-outage")
            .await
            .is_ok_and(|r| r.status() == 201 || r.status() == 409)
    })
    .await;
    assert!(writable, "writes resumed");
    acknowledged.insert("after-outage".to_string());
    eprintln!(
        "{refused} writes refused with 503 during 10 s; writes resumed {:?} after PostgreSQL restarted",
        resumed.elapsed()
    );
    let recovered = eventually(Duration::from_secs(10), || async {
        health(&a.base).await.is_some_and(|h| h["status"] == "ok")
            && item_status(&a.base, "after-outage").await == 200
    })
    .await;
    assert!(recovered, "replica A caught up and is healthy again");
    for id in &acknowledged {
        assert_eq!(item_status(&a.base, id).await, 200, "{id}");
        assert_eq!(item_status(&b.base, id).await, 200, "{id}");
    }
    for i in 0..refused {
        assert_eq!(item_status(&a.base, &format!("during-{i}")).await, 404);
    }
}

/// A client on its own loopback address (127.0.0.2, ...), as if on another machine.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

async fn propose(client: &reqwest::Client, base: &str, forged: Option<&str>) -> reqwest::Response {
    let mut proposal = record("ignored", "Ghent");
    proposal.as_object_mut().unwrap().remove("id");
    let mut request = client
        .post(format!("{base}/submissions"))
        .header("content-type", "application/geo+json")
        .body(proposal.to_string());
    if let Some(forged) = forged {
        request = request
            .header("x-forwarded-for", forged)
            .header("x-forwarded-host", "evil.example");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_rate_limit_holds_across_replicas_and_counts_forwarded_clients_only_from_trusted_proxies()
 {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = server_url("replicas rate limit") else {
        return;
    };
    let database = ScratchDatabase::create(&server).unwrap();
    let args = [
        "--trusted-proxies",
        "127.0.0.1",
        "--submission-burst",
        "3",
        "--submissions-per-hour",
        "1",
    ];
    let (a, b) = (
        replica(database.url(), &args),
        replica(database.url(), &args),
    );
    a.ready().await;
    b.ready().await;
    let nginx = Nginx::start(&[&a, &b]).await;

    // Through the proxy, 127.0.0.2's submissions land on both replicas, yet it gets three.
    let two = client_from([127, 0, 0, 2]);
    let mut statuses = Vec::new();
    for forged in [
        None,
        Some("198.51.100.1"),
        Some("198.51.100.2"),
        Some("198.51.100.3"),
    ] {
        let response = propose(&two, &nginx.base, forged).await;
        if response.status() == 202 {
            let location = response.headers()["location"].to_str().unwrap();
            assert!(location.starts_with(&nginx.base), "{location}");
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [202, 202, 202, 429],
        "a forged X-Forwarded-For changes nothing"
    );
    let refused = propose(&two, &nginx.base, None).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // Another client behind the same proxy has its own allowance.
    let three = client_from([127, 0, 0, 3]);
    assert_eq!(propose(&three, &nginx.base, None).await.status(), 202);

    // From a peer that is not a trusted proxy, forwarding headers are ignored altogether.
    let four = client_from([127, 0, 0, 4]);
    let mut direct = Vec::new();
    for (i, replica) in [&a, &b, &a, &b].iter().enumerate() {
        let forged = format!("203.0.113.{i}");
        let response = propose(&four, &replica.base, Some(&forged)).await;
        if response.status() == 202 {
            let location = response.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with(&replica.base),
                "not evil.example: {location}"
            );
        }
        direct.push(response.status().as_u16());
    }
    assert_eq!(direct, [202, 202, 202, 429]);
}
