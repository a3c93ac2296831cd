//! Production faults against the real binary: slow clients under a low open-file limit,
//! a busy port while loading, bounded shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::processes::{Replica, eventually, free_port};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens `n` connections that send a request head one byte at a time, every `every`, and
/// never finish it; counts those the server has closed.
async fn slow_clients(port: u16, n: usize, every: Duration) -> Arc<AtomicUsize> {
    let closed = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await else {
            closed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let closed = closed.clone();
        tokio::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let mut sent = 0;
            loop {
                let byte = [head.get(sent).copied().unwrap_or(b'a')];
                sent += 1;
                let mut buf = [0u8; 64];
                tokio::select! {
                    read = reader.read(&mut buf) => {
                        // The server closed the connection (or answered and closed).
                        if matches!(read, Ok(0) | Err(_)) {
                            break;
                        }
                    }
                    written = writer.write_all(&byte) => {
                        if written.is_err() {
                            break;
                        }
                        // The pace of a slow client: one header byte every `every`.
                        tokio::time::sleep(every).await;
                    }
                }
            }
            closed.fetch_add(1, Ordering::Relaxed);
        });
    }
    closed
}

/// Open files of process `pid`.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[tokio::test]
async fn a_flood_of_slow_clients_under_a_low_file_limit_does_not_lock_out_health() {
    let store = TestStore::sqlite();
    let files = 256;
    let replica = Replica::spawn_on(
        free_port(),
        Some(files),
        &store.arg(),
        &["--header-timeout", "3s"],
        &[],
    );
    replica.ready().await;
    let pid = replica.child.id();
    // More slow clients than the process may open files.
    let flood = 400;
    let closed = slow_clients(replica.port, flood, Duration::from_millis(300)).await;
    let health = format!("{}/healthz", replica.base);
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        // A fresh connection each time, as a load balancer's probe makes.
        let probe = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        let response = probe.get(&health).send().await.expect("/healthz answers");
        assert_eq!(response.status(), 200);
        slowest = slowest.max(started.elapsed());
        assert!(
            open_files(pid) < files as usize,
            "the server stays below its file limit"
        );
        // Samples health ten times a second for the flood's whole length.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("slowest /healthz during a flood of {flood} slow clients: {slowest:?}");
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
    // Every slow client is closed: evicted, or cut at the header timeout.
    let all_closed = eventually(Duration::from_secs(10), || async {
        closed.load(Ordering::Relaxed) == flood
    })
    .await;
    assert!(
        all_closed,
        "{} of {flood} slow clients closed",
        closed.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn a_slow_head_is_cut_at_the_header_timeout_and_an_idle_connection_at_the_idle_timeout() {
    let store = TestStore::sqlite();
    let replica = Replica::spawn(
        &store.arg(),
        &["--header-timeout", "1s", "--idle-timeout", "2s"],
        &[],
    );
    replica.ready().await;
    let started = Instant::now();
    let closed = slow_clients(replica.port, 1, Duration::from_millis(200)).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            closed.load(Ordering::Relaxed) == 1
        })
        .await
    );
    let slow = started.elapsed();
    assert!(slow >= Duration::from_millis(900), "cut after {slow:?}");
    // A kept-alive connection that asked once, then says nothing.
    let mut stream = TcpStream::connect(("127.0.0.1", replica.port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let closed_after = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break started.elapsed(),
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the idle connection was never closed"),
        }
    };
    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered first");
    assert!(
        closed_after >= Duration::from_millis(1900) && closed_after < Duration::from_secs(5),
        "idle connection closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn the_port_is_taken_before_loading_and_health_says_loading_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("large.geojson");
    let generated = std::process::Command::new(binary())
        .args(["generate", "--count", "200000", "--out"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(generated.success());
    let data = data.display().to_string();
    let port = free_port();
    let first = Replica::spawn_on(port, None, "unused.db", &["--data", &data], &[]);
    // The port is bound before the data loads: health answers at once, saying so.
    let url = format!("{}/healthz", first.base);
    let items = format!("{}/collections/initiatives/items?limit=1", first.base);
    let mut seen_loading = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    let answered = loop {
        if Instant::now() > deadline {
            break false;
        }
        let done = match client().get(&url).send().await {
            Ok(r) if r.status() == 503 => {
                assert!(r.headers().contains_key("retry-after"));
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["status"], "loading");
                if !seen_loading {
                    // Every other path is a problem meanwhile.
                    let other = client().get(&items).send().await.unwrap();
                    if other.status() == 503 {
                        assert!(other.headers().contains_key("retry-after"));
                        assert_eq!(other.headers()["content-type"], "application/problem+json");
                        let body: serde_json::Value = other.json().await.unwrap();
                        assert_eq!(body["status"], 503);
                    }
                }
                seen_loading = true;
                false
            }
            Ok(r) => r.status() == 200,
            Err(_) => false,
        };
        if done {
            break true;
        }
        // Polls until the condition above holds (bounded by the loop's own deadline).
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(answered && seen_loading, "loading seen: {seen_loading}");
    // A second server on the same port says so at once, without loading anything.
    let started = Instant::now();
    let second = std::process::Command::new(binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            &data,
        ])
        .env("SKILLSMAP_LOG", "error")
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigterm_with_slow_clients_connected_ends_within_the_grace() {
    let store = TestStore::sqlite();
    let mut replica = Replica::spawn(&store.arg(), &["--shutdown-grace", "2s"], &[]);
    replica.ready().await;
    let _closed = slow_clients(replica.port, 50, Duration::from_millis(200)).await;
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &replica.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    eventually(Duration::from_secs(10), || {
        status = replica.child.try_wait().unwrap();
        std::future::ready(status.is_some())
    })
    .await;
    let status = status.expect("the server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    let took = started.elapsed();
    println!("SIGTERM with 50 slow clients: exited after {took:?}");
    // Nothing was in flight: the slow heads are not waited for.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// CPU time process `pid` has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

/// How long process `pid` took to go quiet (its CPU time growing by at most two ticks, what
/// the store's polling costs, in half a second), or `None` if it did not within `limit`.
async fn quiet_within(pid: u32, limit: Duration) -> Option<Duration> {
    let from = Instant::now();
    while from.elapsed() < limit {
        let before = cpu_ticks(pid);
        // Quiet is a rate (CPU time per interval), so time itself is measured here: the
        // interval the counter is sampled over, not a wait standing in for an event.
        tokio::time::sleep(Duration::from_millis(500)).await;
        if cpu_ticks(pid) - before <= 2 {
            return Some(from.elapsed());
        }
    }
    None
}

#[tokio::test]
async fn a_burst_on_coverage_is_shed_with_retry_after_and_the_process_is_idle_soon_after() {
    let store = TestStore::sqlite();
    let replica = Replica::spawn(&store.arg(), &["--heavy-budget", "2"], &[]);
    replica.ready().await;
    let pid = replica.child.id();
    // Start-up's own work goes on after it answers (the site files are compressed once, at
    // brotli's best, on a thread of their own): the burst starts on a quiet process.
    let settled = quiet_within(pid, Duration::from_secs(120)).await;
    assert!(
        settled.is_some(),
        "the process is still busy 120 s after start-up"
    );
    // Different gap distances: no two requests can share an answer.
    let burst = 300;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let requests = (0..burst).map(|i| {
        let url = format!(
            "{}/coverage?level=nuts3&gap_km={}",
            replica.base,
            10.0 + i as f64 / 10.0
        );
        let client = impatient.clone();
        async move {
            match client.get(&url).send().await {
                Ok(r) => {
                    let retry = r.headers().contains_key("retry-after");
                    let problem = r
                        .headers()
                        .get("content-type")
                        .is_some_and(|t| t == "application/problem+json");
                    Some((r.status().as_u16(), retry && problem))
                }
                // The client gave up and left.
                Err(_) => None,
            }
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers
        .iter()
        .filter(|a| matches!(a, Some((200, _))))
        .count();
    let shed: Vec<_> = answers
        .iter()
        .filter_map(|a| a.filter(|(status, _)| *status == 503))
        .collect();
    let left = answers.iter().filter(|a| a.is_none()).count();
    println!(
        "burst of {burst} on /coverage?level=nuts3: {ok} answered, {} shed with 503, {left} clients left",
        shed.len()
    );
    assert!(!shed.is_empty(), "some requests are shed");
    assert!(
        shed.iter().all(|(_, retry_problem)| *retry_problem),
        "every 503 is a problem with Retry-After"
    );
    // Once the clients have gone, the process goes quiet within seconds: its CPU time
    // stops growing (at most a tick or two per half second for the store's polling).
    let quiet = quiet_within(pid, Duration::from_secs(10)).await;
    println!("idle {quiet:?} after the burst");
    assert!(
        quiet.is_some(),
        "the process is still busy 10 s after the clients left"
    );
    // And it still answers.
    let health = client()
        .get(format!("{}/healthz", replica.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_write_refused_while_another_process_holds_the_lock_is_never_committed() {
    let store = TestStore::sqlite();
    let token = "hardening-token-0123456789";
    let replica = Replica::spawn(
        &store.arg(),
        &[],
        &[("SKILLSMAP_CURATOR_TOKENS", &format!("tester:{token}"))],
    );
    replica.ready().await;
    // Another process takes the store's write lock and keeps it until told to let go.
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
    let record = serde_json::json!({
        "type": "Feature", "id": "held-lock-1",
        "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
        "properties": {
            "name": "Written under a lock", "description": "d", "organisation": "o",
            "url": "https://example.org/held", "country": "DE", "city": "Berlin",
            "skill_areas": ["cloud"], "target_groups": ["smes"], "kind": "training",
            "languages": ["en"], "updated_at": "2026-01-01T00:00:00Z", "source": "test"
        }
    });
    let started = Instant::now();
    let create = |record: serde_json::Value| {
        client()
            .post(format!("{}/collections/initiatives/items", replica.base))
            .bearer_auth(token)
            .header("content-type", "application/geo+json")
            .body(record.to_string())
            .send()
    };
    let answer = create(record.clone()).await.unwrap();
    let waited = started.elapsed();
    println!(
        "create under another process's lock: {} after {waited:?}",
        answer.status()
    );
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    assert!(
        waited < Duration::from_secs(30),
        "answered before the request timeout"
    );
    // Let go of the lock; the refused write must not appear, now or later.
    use std::io::Write;
    holder.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(holder.wait().unwrap().success());
    let probe = serde_json::json!({"type": "Feature", "id": "after-lock"});
    let mut after = record.clone();
    after["id"] = probe["id"].clone();
    let created = create(after).await.unwrap();
    assert_eq!(created.status(), 201, "writes go through again");
    let mut opened = store.open();
    let everything = everything(&mut opened);
    let ids: Vec<&str> = everything.initiatives.iter().map(|i| &*i.id).collect();
    assert!(ids.contains(&"after-lock"));
    assert!(
        !ids.contains(&"held-lock-1"),
        "the refused write was committed"
    );
}
