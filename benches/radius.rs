//! Radius queries in-process: skillsmap's SpatialIndex on N generated initiatives, at 5 km and
//! 50 km around centres drawn like the data, on 1 and 2 threads. Prints one line per case
//! (`radius <km> threads <n> qps <q> mean_hits <h>`); `bench/run` compares it with PostGIS.
//! Also writes the points and centres as CSV for the PostGIS side, so both see the same data.
//! Run: `cargo bench --bench radius` (N from SKILLSMAP_BENCH_COUNT, default 1,000,000).

use std::io::Write;
use std::time::{Duration, Instant};

mod common;

use rand::{RngExt, SeedableRng};
use skillsmap::config::ServeConfig;
use skillsmap::filter::Filter;
use skillsmap::model::Location;
use skillsmap::server::load_snapshot;

const CENTRES: usize = 10_000;
const RUN_FOR: Duration = Duration::from_secs(10);

fn main() {
    let Some((data, _)) = common::bench_dataset("radius") else {
        return;
    };
    let dir = data
        .parent()
        .expect("in the target's tmp folder")
        .to_path_buf();
    let snapshot = load_snapshot(&ServeConfig::local(Some(data))).expect("generated data is valid");
    let index = &snapshot.index;

    // Centres: positions of random initiatives, so queries land where the data is.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let centres: Vec<Location> = (0..CENTRES)
        .map(|_| index.get(rng.random_range(0..index.len()) as u32).location)
        .collect();
    write_csv(
        &dir.join("bench-points.csv"),
        index.initiatives().iter().map(|i| i.location),
    );
    write_csv(&dir.join("bench-centres.csv"), centres.iter().copied());
    println!("files {}", dir.display());

    for radius_km in [5.0, 50.0] {
        for threads in [1, 2] {
            for mode in [Mode::Count, Mode::Sorted] {
                let (queries, hits) = run(index, &centres, radius_km * 1000.0, threads, mode);
                let qps = queries as f64 / RUN_FOR.as_secs_f64();
                println!(
                    "radius {radius_km} threads {threads} qps {qps:.0} mean_hits {:.1} mode {mode:?}",
                    hits as f64 / queries.max(1) as f64
                );
            }
        }
    }
}

/// What a query produces: a count (as PostGIS's `count(*)`), or every hit sorted by
/// distance (as `/near` needs).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Count,
    Sorted,
}

/// Runs radius queries on `threads` threads for [`RUN_FOR`]; returns queries and hits.
fn run(
    index: &skillsmap::index::SpatialIndex,
    centres: &[Location],
    radius_m: f64,
    threads: usize,
    mode: Mode,
) -> (u64, u64) {
    let filter = Filter::default();
    let deadline = Instant::now() + RUN_FOR;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let filter = &filter;
                scope.spawn(move || {
                    let (mut queries, mut hits, mut i) = (0u64, 0u64, t);
                    while Instant::now() < deadline {
                        for _ in 0..64 {
                            let centre = centres[i % centres.len()];
                            hits += match mode {
                                Mode::Count => index.count_within(centre, radius_m, filter),
                                Mode::Sorted => index.within(centre, radius_m, filter).len(),
                            } as u64;
                            i += threads;
                            queries += 1;
                        }
                    }
                    (queries, hits)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0, 0), |(q, h), (wq, wh)| (q + wq, h + wh))
    })
}

fn write_csv(path: &std::path::Path, points: impl Iterator<Item = Location>) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for (id, p) in points.enumerate() {
        writeln!(out, "{},{},{}", id + 1, p.lon, p.lat).unwrap();
    }
}
