//! Coverage benchmark: `/coverage?level=nuts3` over HTTP (in-process server, loopback) on the
//! seed data and on N generated initiatives, unfiltered and filtered, the first request (which
//! builds the level's sampling grid) and then repeated ones; and what region assignment adds
//! to start-up. Run: `cargo bench --bench coverage` (N from SKILLSMAP_BENCH_COUNT, default
//! 1,000,000).

use std::path::PathBuf;
use std::time::Instant;

mod common;

use skillsmap::config::ServeConfig;
use skillsmap::model::Location;
use skillsmap::server::{Server, load_snapshot};

const REPEATS: usize = 20;
const QUERIES: &[(&str, &str)] = &[
    ("unfiltered", "level=nuts3"),
    (
        "cybersecurity for SMEs",
        "level=nuts3&skill_area=cybersecurity&target_group=smes",
    ),
    ("kind=hub, gap 20 km", "level=nuts3&kind=hub&gap_km=20"),
];

fn main() {
    let Some((data, count)) = common::bench_dataset("coverage") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!("\n## Coverage benchmark\n");
    println!(
        "machine: {} cores; HTTP on loopback, server in-process; {REPEATS} repeats after the first\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| data | query | first request ms | p50 ms | max ms | regions | matched |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    runtime.block_on(run("seed (292)", None));
    let label = format!("generated ({count})");
    runtime.block_on(run(&label, Some(data.clone())));

    // What assignment costs at start-up, alone, on the same positions.
    let snapshot = load_snapshot(&ServeConfig::local(Some(data))).expect("valid data");
    let positions: Vec<Location> = snapshot.base().records.locations().to_vec();
    let started = Instant::now();
    let (placement, _) = snapshot.regions.assign(&positions);
    let assign_ms = started.elapsed().as_secs_f64() * 1000.0;
    let placed = placement
        .iter()
        .filter(|p| p.get(skillsmap::regions::Level::Nuts3).is_some())
        .count();
    println!(
        "\nregion assignment of {count} initiatives (country + NUTS 3, coarser levels by code): {assign_ms:.0} ms on {} threads; {placed} placed in a NUTS 3 region",
        rayon::current_num_threads()
    );
}

async fn run(label: &str, data: Option<PathBuf>) {
    let started = Instant::now();
    let server = Server::bind(ServeConfig::local(data))
        .await
        .expect("server starts");
    let startup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let base = format!("http://{}", server.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    eprintln!("{label}: server ready in {startup_ms:.0} ms");
    let client = reqwest::Client::new();
    for (name, query) in QUERIES {
        let url = format!("{base}/coverage?{query}");
        let mut times = Vec::with_capacity(REPEATS + 1);
        let mut last = serde_json::Value::Null;
        for _ in 0..=REPEATS {
            let started = Instant::now();
            let response = client.get(&url).send().await.expect("answer");
            assert_eq!(response.status(), 200, "{url}");
            last = response.json().await.expect("JSON");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let first = times.remove(0);
        times.sort_by(f64::total_cmp);
        println!(
            "| {label} | {name} | {first:.1} | {:.1} | {:.1} | {} | {} |",
            times[times.len() / 2],
            times[times.len() - 1],
            last["regions"].as_array().map_or(0, Vec::len),
            last["matched"],
        );
    }
    let _ = stop.send(());
    let _ = handle.await;
}
