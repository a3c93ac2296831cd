//! Crash safety: the real binary is killed with SIGKILL in the middle of a stream of writes,
//! restarted, and every write it acknowledged must be there, in a store that passes
//! `PRAGMA integrity_check`.

mod common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

const TOKEN: &str = "crash-test-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `skillsmap serve` on the store `db` and waits until it answers.
async fn launch(db: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(binary())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(db)
        .env("SKILLSMAP_CURATOR_TOKENS", format!("tester:{TOKEN}"))
        .env("SKILLSMAP_SUBMISSION_BURST", "1000000")
        .env("SKILLSMAP_LOG", "warn,topojson=error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(response) = client().get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not answer within 30 s");
}

fn record(id: &str, lon: f64, lat: f64) -> Value {
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "name": format!("Crash test {id}"), "description": "A record written under fire.",
            "organisation": "Tests", "url": "https://example.org", "country": "DE",
            "city": "Berlin", "skill_areas": ["cloud"], "target_groups": ["smes"],
            "kind": "training", "languages": ["de"]
        }
    })
}

/// What the writers were told was done.
#[derive(Default)]
struct Acknowledged {
    created: Vec<String>,
    submissions: Vec<String>,
    /// The last city value a PATCH of the counter item was acknowledged with, and whether a
    /// later one was in flight when the server died.
    patched: Option<u64>,
    in_flight: Option<u64>,
}

async fn write_until_killed(
    base: String,
    task: usize,
    round: usize,
    acks: Arc<Mutex<Acknowledged>>,
) {
    let http = client();
    for n in 0.. {
        let id = format!("crash-{round}-{task}-{n}");
        let result = match n % 3 {
            0 | 1 => http
                .post(format!("{base}/collections/initiatives/items"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/geo+json")
                .body(record(&id, 13.0 + task as f64 * 0.01, 52.0 + n as f64 * 1e-4).to_string())
                .send()
                .await
                .map(|r| (r.status().as_u16(), id.clone())),
            _ => http
                .post(format!("{base}/submissions"))
                .header("content-type", "application/geo+json")
                .body(record(&id, 13.0, 52.0).to_string())
                .send()
                .await
                .map(|r| (r.status().as_u16(), id.clone())),
        };
        match result {
            Ok((201, id)) => acks.lock().unwrap().created.push(id),
            Ok((202, id)) => acks.lock().unwrap().submissions.push(id),
            Ok((status, id)) => panic!("{id}: unexpected {status}"),
            Err(_) => return, // the server is gone
        }
    }
}

async fn patch_until_killed(base: String, acks: Arc<Mutex<Acknowledged>>) {
    let url = format!("{base}/collections/initiatives/items/crash-counter");
    let start = acks.lock().unwrap().patched.map_or(0, |k| k + 1);
    for k in start.. {
        acks.lock().unwrap().in_flight = Some(k);
        let sent = client()
            .patch(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/merge-patch+json")
            .body(json!({"properties": {"city": format!("step {k}")}}).to_string())
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == 200 => acks.lock().unwrap().patched = Some(k),
            Ok(response) => panic!("patch {k}: {}", response.status()),
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let acks = Arc::new(Mutex::new(Acknowledged::default()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);

    for round in 0..3 {
        let (mut child, base) = launch(&db).await;
        if round == 0 {
            let response = client()
                .post(format!("{base}/collections/initiatives/items"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/geo+json")
                .body(record("crash-counter", 13.5, 52.5).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }
        let mut writers: Vec<_> = (0..4)
            .map(|task| tokio::spawn(write_until_killed(base.clone(), task, round, acks.clone())))
            .collect();
        writers.push(tokio::spawn(patch_until_killed(base.clone(), acks.clone())));
        tokio::time::sleep(Duration::from_millis(rng.random_range(400..1500))).await;
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        child.wait().unwrap();
        for writer in writers {
            writer
                .await
                .expect("writers saw only 201/202/200 or a dead server");
        }
    }

    let acks = std::mem::take(&mut *acks.lock().unwrap());
    assert!(
        acks.created.len() > 20,
        "enough writes were made: {}",
        acks.created.len()
    );
    let integrity: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");

    let (child, base) = launch(&db).await;
    let _kill_on_exit = KillOnDrop(child);
    let (_, _, page) = get_json(&format!("{base}/collections/initiatives/items?limit=10000")).await;
    let present: HashSet<String> = ids(&page).into_iter().collect();
    let lost: Vec<&String> = acks
        .created
        .iter()
        .filter(|id| !present.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");

    let submitted: HashSet<String> = client()
        .get(format!("{base}/submissions?limit=10000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["feature"]["id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&String> = acks
        .submissions
        .iter()
        .filter(|id| !submitted.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged submissions lost: {lost:?}");

    let (_, _, counter) = get_json(&format!(
        "{base}/collections/initiatives/items/crash-counter"
    ))
    .await;
    let city = counter["properties"]["city"].as_str().unwrap();
    let acknowledged = acks.patched.expect("some patches were acknowledged");
    // The last acknowledged value, or the one in flight when the process died.
    let allowed: Vec<String> = [Some(acknowledged), acks.in_flight]
        .into_iter()
        .flatten()
        .map(|k| format!("step {k}"))
        .collect();
    assert!(
        allowed.iter().any(|a| a == city),
        "{city} not in {allowed:?}"
    );
    eprintln!(
        "{} creates, {} submissions and {} patches acknowledged over 3 kills; none lost",
        acks.created.len(),
        acks.submissions.len(),
        acknowledged + 1
    );
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
