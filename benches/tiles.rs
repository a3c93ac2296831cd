//! Tile benchmark at scale: start-up and memory of the real server on N generated initiatives,
//! server-side tile times per zoom (unfiltered and filtered), and supercluster on the same
//! points and tiles in the same run. Run: `cargo bench --bench tiles` (N from
//! SKILLSMAP_BENCH_COUNT, default 1,000,000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use rand::{RngExt, SeedableRng};
use skillsmap::api::params::QueryParams;
use skillsmap::api::tiles::tile_geojson;
use skillsmap::config::ServeConfig;
use skillsmap::filter::Filter;
use skillsmap::server::load_snapshot;
use skillsmap::snapshot::Snapshot;
use skillsmap::tile::{MAX_TILE_ZOOM, TileCoord, tile_of};

const SAMPLE_POINTS: usize = 300;
const FILTERS: &[&str] = &[
    "kind=hub",
    "skill_area=cybersecurity&target_group=smes",
    "country=DE,FR",
    "q=berlin",
];

fn main() {
    let Some((data, count)) = common::bench_dataset("tiles") else {
        return;
    };
    let dir = data
        .parent()
        .expect("in the target's tmp folder")
        .to_path_buf();

    let server = server_startup(&data);
    let started = Instant::now();
    let snapshot = load_snapshot(&ServeConfig::local(Some(data.clone())))
        .expect("the generated data is valid");
    let in_process_ms = started.elapsed().as_secs_f64() * 1000.0;
    let tiles = sample_tiles(&snapshot);
    let unfiltered = time_tiles(&snapshot, &tiles, &Filter::default());
    let (cold_ms, filtered) = time_filtered(&snapshot, &tiles);
    let peer = supercluster(&dir, &snapshot, &tiles);

    println!("\n## Tile benchmark: {count} initiatives\n");
    println!("machine: {} cores, {} GiB memory\n", cores(), memory_gib());
    println!("| measure | skillsmap | supercluster | ratio |");
    println!("| --- | --- | --- | --- |");
    let build_ratio = peer.as_ref().map(|p| p.build_ms / server.startup_ms);
    row(
        "start-up to first answer, ms (skillsmap: load + validate + R-tree + clusters; supercluster: index build only)",
        server.startup_ms,
        peer.as_ref().map(|p| p.build_ms),
        build_ratio,
    );
    row(
        "  same, in-process load_snapshot, ms",
        in_process_ms,
        None,
        None,
    );
    row(
        "resident memory after start-up, MB",
        server.rss_mb,
        peer.as_ref().map(|p| p.rss_mb),
        None,
    );
    row(
        "peak resident memory during start-up, MB",
        server.peak_mb,
        None,
        None,
    );
    println!(
        "\n| zoom | tiles | unfiltered p50 ms | unfiltered p99 ms | filtered p50 ms | filtered p99 ms | supercluster p50 ms | supercluster p99 ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for z in 0..=MAX_TILE_ZOOM {
        let n = tiles.iter().filter(|t| t.z == z).count();
        let (u50, u99) = percentiles(&unfiltered, z);
        let (f50, f99) = percentiles(&filtered, z);
        let peer_zoom = peer.as_ref().and_then(|p| p.zooms.get(&z).copied());
        let fmt = |v: Option<(f64, f64)>| {
            v.map_or("–".to_string(), |(a, b)| format!("{a:.3} | {b:.3}"))
        };
        println!(
            "| {z} | {n} | {u50:.3} | {u99:.3} | {f50:.3} | {f99:.3} | {} |",
            fmt(peer_zoom)
        );
    }
    let all_u: Vec<f64> = unfiltered.iter().map(|(_, ms)| *ms).collect();
    let all_f: Vec<f64> = filtered.iter().map(|(_, ms)| *ms).collect();
    println!(
        "\nall zooms: unfiltered p99 {:.3} ms, filtered p99 {:.3} ms (filters: {}); first tile of a new filter (builds its bitmap): {:.1} ms median",
        pct(&all_u, 0.99),
        pct(&all_f, 0.99),
        FILTERS.join(" | "),
        median(&cold_ms)
    );
    if let Some(p) = &peer {
        let p99_peer: Vec<f64> = p.zooms.values().map(|(_, p99)| *p99).collect();
        println!(
            "supercluster: index build {:.0} ms, resident {:.0} MB; worst per-zoom p99 {:.3} ms",
            p.build_ms,
            p.rss_mb,
            p99_peer.iter().cloned().fold(0.0, f64::max)
        );
    }
}

fn row(label: &str, ours: f64, theirs: Option<f64>, ratio: Option<f64>) {
    let theirs = theirs.map_or("–".into(), |v| format!("{v:.0}"));
    let ratio = ratio.map_or("–".into(), |r| format!("{r:.2}×"));
    println!("| {label} | {ours:.0} | {theirs} | {ratio} |");
}

struct ServerFigures {
    startup_ms: f64,
    rss_mb: f64,
    peak_mb: f64,
}

/// Launches the real binary and times it from launch to its first answer on /healthz.
fn server_startup(data: &Path) -> ServerFigures {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skillsmap"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("SKILLSMAP_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited during start-up")
            .unwrap();
        if let Some(at) = line.find("addr=") {
            break line[at + 5..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
    };
    while !http_ok(&addr, "/healthz") {
        std::thread::sleep(Duration::from_millis(5));
    }
    let startup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let figures = ServerFigures {
        startup_ms,
        rss_mb: kib("VmRSS:") / 1024.0,
        peak_mb: kib("VmHWM:") / 1024.0,
    };
    let _ = child.kill();
    let _ = child.wait();
    figures
}

fn http_ok(addr: &str, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// The tiles at every zoom that hold randomly chosen initiatives (so weighted like the data).
fn sample_tiles(snapshot: &Snapshot) -> Vec<TileCoord> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let initiatives = snapshot.index.initiatives();
    let mut tiles = Vec::new();
    for _ in 0..SAMPLE_POINTS {
        let at = initiatives[rng.random_range(0..initiatives.len())].location;
        for z in 0..=MAX_TILE_ZOOM {
            tiles.push(tile_of(at.lon, at.lat, z));
        }
    }
    tiles.sort_by_key(|t| (t.z, t.x, t.y));
    tiles.dedup();
    tiles
}

fn time_tiles(snapshot: &Snapshot, tiles: &[TileCoord], filter: &Filter) -> Vec<(u8, f64)> {
    tiles
        .iter()
        .map(|tile| {
            let started = Instant::now();
            let body = tile_geojson(snapshot, *tile, filter);
            std::hint::black_box(body);
            (tile.z, started.elapsed().as_secs_f64() * 1000.0)
        })
        .collect()
}

/// Every filter over every sampled tile; the first tile of each filter builds its bitmap and
/// is reported apart.
fn time_filtered(snapshot: &Snapshot, tiles: &[TileCoord]) -> (Vec<f64>, Vec<(u8, f64)>) {
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for query in FILTERS {
        let filter = QueryParams::parse(Some(query)).filter().unwrap();
        let started = Instant::now();
        std::hint::black_box(tile_geojson(snapshot, tiles[0], &filter));
        cold.push(started.elapsed().as_secs_f64() * 1000.0);
        warm.extend(time_tiles(snapshot, tiles, &filter));
    }
    (cold, warm)
}

struct PeerFigures {
    build_ms: f64,
    rss_mb: f64,
    zooms: std::collections::BTreeMap<u8, (f64, f64)>,
}

/// Runs supercluster (node) on the same points and tiles; `None` if node is unavailable.
fn supercluster(dir: &Path, snapshot: &Snapshot, tiles: &[TileCoord]) -> Option<PeerFigures> {
    let peer_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/supercluster");
    if !peer_dir.join("node_modules/supercluster").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&peer_dir)
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            eprintln!("supercluster: npm ci failed; skipping the peer");
            return None;
        }
    }
    let points = dir.join("bench-points.f64");
    let mut bytes = Vec::with_capacity(snapshot.index.len() * 16);
    for initiative in snapshot.index.initiatives() {
        bytes.extend_from_slice(&initiative.location.lon.to_le_bytes());
        bytes.extend_from_slice(&initiative.location.lat.to_le_bytes());
    }
    std::fs::write(&points, bytes).unwrap();
    let tile_list = dir.join("bench-tiles.json");
    let coords: Vec<[u32; 3]> = tiles.iter().map(|t| [u32::from(t.z), t.x, t.y]).collect();
    std::fs::write(&tile_list, serde_json::to_vec(&coords).unwrap()).unwrap();
    let output = Command::new("node")
        .args(["--max-old-space-size=16000", "--expose-gc", "run.mjs"])
        .arg(&points)
        .arg(&tile_list)
        .arg(snapshot.clusters.options().radius_px.to_string())
        .arg(snapshot.clusters.options().extent.to_string())
        .current_dir(&peer_dir)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "supercluster failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let zooms = result["zooms"]
        .as_object()?
        .iter()
        .map(|(z, v)| {
            (
                z.parse().unwrap(),
                (v["p50"].as_f64().unwrap(), v["p99"].as_f64().unwrap()),
            )
        })
        .collect();
    Some(PeerFigures {
        build_ms: result["build_ms"].as_f64()?,
        rss_mb: result["rss_mb"].as_f64()?,
        zooms,
    })
}

fn percentiles(samples: &[(u8, f64)], z: u8) -> (f64, f64) {
    let values: Vec<f64> = samples
        .iter()
        .filter(|(zoom, _)| *zoom == z)
        .map(|(_, ms)| *ms)
        .collect();
    (pct(&values, 0.5), pct(&values, 0.99))
}

fn pct(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    pct(values, 0.5)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn memory_gib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| (kib + 512 * 1024) / 1024 / 1024)
}
