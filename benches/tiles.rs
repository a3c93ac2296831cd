//! Tile benchmark at scale: start-up and memory of the real server on N generated initiatives,
//! the cluster hierarchy's build alone (time and peak memory, on 1 and 2 threads), server-side
//! tile times per zoom (unfiltered and filtered), and supercluster on the same points and
//! tiles in the same run. Run: `cargo bench --bench tiles` (N from SKILLSMAP_BENCH_COUNT,
//! default 1,000,000); `bench/run` runs it and collects its figures.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{median, percentile as pct};
use rand::{RngExt, SeedableRng};
use skillsmap::api::params::QueryParams;
use skillsmap::api::tiles::tile_geojson;
use skillsmap::cluster::{ClusterOptions, ClusterTree};
use skillsmap::config::ServeConfig;
use skillsmap::country::Country;
use skillsmap::filter::Filter;
use skillsmap::model::{Initiative, Kind, Location, SkillArea, TargetGroup, TermSet};
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
/// Launches of the server, and builds of each cluster index, whose median is reported.
const ROUNDS: usize = 3;
/// The child process that builds the cluster hierarchy alone: `tiles cluster-build <points>`.
const CLUSTER_BUILD: &str = "cluster-build";
type BuildMeasure = (&'static str, fn(&BuildFigures) -> f64, bool);
/// What the cluster builds are compared on: label, figure, and whether the ratio is theirs
/// over ours (times: how many times faster) or ours over theirs (memory: what share).
const BUILD_MEASURES: [BuildMeasure; 3] = [
    (
        "cluster index build alone, ms (supercluster: load())",
        |b| b.ms,
        true,
    ),
    (
        "  peak resident memory of the build above its input, MB",
        |b| b.growth_mb,
        false,
    ),
    (
        "  peak resident memory of the whole process during the build, MB",
        |b| b.peak_mb,
        false,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CLUSTER_BUILD) {
        return cluster_build_child(Path::new(&args[2]));
    }
    let Some((data, count)) = common::bench_dataset("tiles") else {
        return;
    };
    let dir = data
        .parent()
        .expect("in the target's tmp folder")
        .to_path_buf();

    let launches: Vec<ServerFigures> = (0..ROUNDS).map(|_| server_startup(&data)).collect();
    let server = ServerFigures {
        startup_ms: median(&launches.iter().map(|l| l.startup_ms).collect::<Vec<_>>()),
        rss_mb: median(&launches.iter().map(|l| l.rss_mb).collect::<Vec<_>>()),
        peak_mb: median(&launches.iter().map(|l| l.peak_mb).collect::<Vec<_>>()),
    };
    let started = Instant::now();
    let snapshot = load_snapshot(&ServeConfig::local(Some(data.clone())))
        .expect("the generated data is valid");
    let in_process_ms = started.elapsed().as_secs_f64() * 1000.0;
    let tiles = sample_tiles(&snapshot);
    let unfiltered = time_tiles(&snapshot, &tiles, &Filter::default());
    let (cold_ms, filtered) = time_filtered(&snapshot, &tiles);
    let points = write_points(&dir, &snapshot);
    let options = snapshot.clustering();
    let ours: Vec<BuildFigures> = [1, 2]
        .into_iter()
        .map(|threads| {
            let rounds: Vec<BuildFigures> = (0..ROUNDS)
                .map(|_| cluster_build(&points, threads))
                .collect();
            BuildFigures::median(&rounds)
        })
        .collect();
    drop(snapshot);
    let peer = supercluster(&dir, &points, &tiles, options);

    println!("\n## Tile benchmark: {count} initiatives\n");
    println!(
        "machine: {} cores, {} GiB memory; medians of {ROUNDS} launches and {ROUNDS} builds\n",
        cores(),
        memory_gib()
    );
    println!("| measure | skillsmap | supercluster | ratio |");
    println!("| --- | --- | --- | --- |");
    let peer_build = peer.as_ref().map(|p| &p.build);
    for (threads, build) in [1, 2].into_iter().zip(&ours) {
        for (label, value, faster_is_more) in BUILD_MEASURES {
            let theirs = peer_build.map(value);
            let ratio = theirs.map(|t| {
                if faster_is_more {
                    t / value(build)
                } else {
                    value(build) / t
                }
            });
            row(
                &format!("{label}, skillsmap on {threads} thread(s)"),
                value(build),
                theirs,
                ratio,
            );
        }
    }
    for (label, value) in [
        (
            "start-up to first answer, ms (load + validate + R-tree + clusters)",
            server.startup_ms,
        ),
        ("  same, in-process load_snapshot, ms", in_process_ms),
        ("resident memory after start-up, MB", server.rss_mb),
        ("peak resident memory during start-up, MB", server.peak_mb),
    ] {
        row(label, value, None, None);
    }
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
        common::figure(&format!("tile_z{z}_p50_ms"), u50);
        common::figure(&format!("tile_z{z}_p99_ms"), u99);
        if let Some((p50, p99)) = peer_zoom {
            common::figure(&format!("supercluster_tile_z{z}_p50_ms"), p50);
            common::figure(&format!("supercluster_tile_z{z}_p99_ms"), p99);
        }
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
    println!(
        "cluster index alone: the same points (lon/lat from a file; skillsmap also records a skill area per point for its filter bitmaps), the same options (radius {} px at extent {}, zooms {}-{}), a fresh process per build; memory is VmHWM after resetting it just before the build.",
        options.radius_px, options.extent, options.min_zoom, options.max_zoom
    );

    common::figure("startup_ms", server.startup_ms);
    common::figure("startup_rss_mb", server.rss_mb);
    common::figure("startup_peak_mb", server.peak_mb);
    common::figure("load_snapshot_ms", in_process_ms);
    common::figure("tile_all_p99_ms", pct(&all_u, 0.99));
    common::figure("tile_filtered_all_p99_ms", pct(&all_f, 0.99));
    for (threads, build) in [1, 2].into_iter().zip(&ours) {
        common::figure(&format!("cluster_build_{threads}t_ms"), build.ms);
        common::figure(
            &format!("cluster_build_{threads}t_growth_mb"),
            build.growth_mb,
        );
        common::figure(&format!("cluster_build_{threads}t_peak_mb"), build.peak_mb);
    }
    if let Some(p) = &peer {
        common::figure("supercluster_build_ms", p.build.ms);
        common::figure("supercluster_build_growth_mb", p.build.growth_mb);
        common::figure("supercluster_build_peak_mb", p.build.peak_mb);
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
    let figures = ServerFigures {
        startup_ms,
        rss_mb: common::status_mb(Some(child.id()), "VmRSS"),
        peak_mb: common::status_mb(Some(child.id()), "VmHWM"),
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
    let locations = snapshot.base().records.locations();
    let mut tiles = Vec::new();
    for _ in 0..SAMPLE_POINTS {
        let at = locations[rng.random_range(0..locations.len())];
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

/// One build of a cluster index: its time, the peak resident memory of the process during
/// it, and that peak above the resident memory just before (the build's own cost).
#[derive(Clone, Copy)]
struct BuildFigures {
    ms: f64,
    peak_mb: f64,
    growth_mb: f64,
}

impl BuildFigures {
    fn median(rounds: &[BuildFigures]) -> BuildFigures {
        let of = |f: fn(&BuildFigures) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
        BuildFigures {
            ms: of(|b| b.ms),
            peak_mb: of(|b| b.peak_mb),
            growth_mb: of(|b| b.growth_mb),
        }
    }
}

/// The points as little-endian f64 pairs (lon, lat), the input of both cluster builds.
fn write_points(dir: &Path, snapshot: &Snapshot) -> std::path::PathBuf {
    let points = dir.join(format!("bench-points-{}.f64", snapshot.len()));
    let mut bytes = Vec::with_capacity(snapshot.len() * 16);
    for location in snapshot.base().records.locations() {
        bytes.extend_from_slice(&location.lon.to_le_bytes());
        bytes.extend_from_slice(&location.lat.to_le_bytes());
    }
    std::fs::write(&points, bytes).unwrap();
    points
}

/// Builds skillsmap's cluster hierarchy alone in a fresh process on `threads` threads.
fn cluster_build(points: &Path, threads: usize) -> BuildFigures {
    let output = Command::new(std::env::current_exe().unwrap())
        .arg(CLUSTER_BUILD)
        .arg(points)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("the benchmark can run itself");
    assert!(output.status.success(), "cluster build failed");
    let text = String::from_utf8(output.stdout).unwrap();
    let value = |key: &str| {
        text.split_whitespace()
            .skip_while(|w| *w != key)
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    BuildFigures {
        ms: value("build_ms"),
        peak_mb: value("peak_mb"),
        growth_mb: value("growth_mb"),
    }
}

/// The child side of [`cluster_build`]: reads the points, makes them initiatives (with one
/// skill area each, so the filter bitmaps have something to hold), and times the build.
fn cluster_build_child(points: &Path) {
    let bytes = std::fs::read(points).expect("the points file");
    let country = Country::parse("DE").unwrap();
    let initiatives: Vec<Initiative> = bytes
        .chunks_exact(16)
        .enumerate()
        .map(|(i, pair)| Initiative {
            id: Box::default(),
            name: Box::default(),
            description: Box::default(),
            organisation: Box::default(),
            url: Box::default(),
            country,
            city: Box::default(),
            location: Location {
                lon: f64::from_le_bytes(pair[..8].try_into().unwrap()),
                lat: f64::from_le_bytes(pair[8..].try_into().unwrap()),
            },
            skill_areas: [SkillArea::ALL[i % SkillArea::ALL.len()]]
                .into_iter()
                .collect(),
            target_groups: TermSet::<TargetGroup>::EMPTY,
            kind: Kind::Hub,
            languages: Box::default(),
            start: None,
            end: None,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            source: Box::default(),
            evidence_url: None,
            verified_at: None,
            status: Default::default(),
            location_precision: Default::default(),
        })
        .collect();
    drop(bytes);
    let records = skillsmap::records::Records::from_initiatives(&initiatives);
    drop(initiatives);
    // Start the thread pool before the baseline, as node has its runtime up before its build.
    rayon::broadcast(|_| ());
    common::reset_peak_memory();
    let before = common::status_mb(None, "VmRSS");
    let started = Instant::now();
    let tree = ClusterTree::build(&records, ClusterOptions::default(), "bench");
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let peak = common::status_mb(None, "VmHWM");
    std::hint::black_box(&tree);
    println!(
        "build_ms {ms:.1} peak_mb {peak:.1} growth_mb {:.1}",
        peak - before
    );
}

struct PeerFigures {
    build: BuildFigures,
    zooms: std::collections::BTreeMap<u8, (f64, f64)>,
}

/// Runs supercluster (node) on the same points: [`ROUNDS`] builds, each in a fresh process,
/// the last also answering the same tiles. `None` if node or the package is unavailable.
fn supercluster(
    dir: &Path,
    points: &Path,
    tiles: &[TileCoord],
    options: ClusterOptions,
) -> Option<PeerFigures> {
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
    let tile_list = dir.join("bench-tiles.json");
    let coords: Vec<[u32; 3]> = tiles.iter().map(|t| [u32::from(t.z), t.x, t.y]).collect();
    std::fs::write(&tile_list, serde_json::to_vec(&coords).unwrap()).unwrap();
    let mut builds = Vec::new();
    let mut zooms = std::collections::BTreeMap::new();
    for round in 0..ROUNDS {
        let mut command = Command::new("node");
        command
            .args(["--max-old-space-size=16000", "--expose-gc", "run.mjs"])
            .arg(points)
            .arg(options.radius_px.to_string())
            .arg(options.extent.to_string())
            .arg(options.min_zoom.to_string())
            .arg(options.max_zoom.to_string())
            .current_dir(&peer_dir);
        if round + 1 == ROUNDS {
            command.arg(&tile_list);
        }
        let output = command.output().ok()?;
        if !output.status.success() {
            eprintln!(
                "supercluster failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return None;
        }
        let result: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        builds.push(BuildFigures {
            ms: result["build_ms"].as_f64()?,
            peak_mb: result["peak_mb"].as_f64()?,
            growth_mb: result["growth_mb"].as_f64()?,
        });
        if let Some(per_zoom) = result["zooms"].as_object() {
            zooms = per_zoom
                .iter()
                .map(|(z, v)| {
                    (
                        z.parse().unwrap(),
                        (v["p50"].as_f64().unwrap(), v["p99"].as_f64().unwrap()),
                    )
                })
                .collect();
        }
    }
    Some(PeerFigures {
        build: BuildFigures::median(&builds),
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
