//! Radius queries in-process: skillsmap's SpatialIndex on N generated initiatives, at 5 km and
//! 50 km around centres drawn like the data, on 1 and 2 threads. Every case runs [`ROUNDS`]
//! times, the cases interleaved, and prints one line with the median
//! (`radius <km> threads <n> qps <q> mean_hits <h> mode <Count|Sorted>`); `bench/run`
//! compares it with PostGIS. Also writes the centres as CSV (`bench-centres-N.csv`) for
//! PostGIS and the HTTP paths, so every side queries around the same places.
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
const RUN_FOR: Duration = Duration::from_secs(2);
const ROUNDS: usize = 3;

fn main() {
    let Some((data, count)) = common::bench_dataset("radius") else {
        return;
    };
    let dir = data
        .parent()
        .expect("in the target's tmp folder")
        .to_path_buf();
    let snapshot = load_snapshot(&ServeConfig::local(Some(data))).expect("generated data is valid");
    let index = &snapshot;

    // Centres: positions of random initiatives, so queries land where the data is.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let centres: Vec<Location> = (0..CENTRES)
        .map(|_| index.location(rng.random_range(0..index.len()) as u32))
        .collect();
    write_csv(
        &dir.join(format!("bench-centres-{count}.csv")),
        centres.iter().copied(),
    );
    println!("files {}", dir.display());

    let cases: Vec<(f64, usize, Mode)> = [5.0, 50.0]
        .into_iter()
        .flat_map(|km| [1, 2].into_iter().map(move |t| (km, t)))
        .flat_map(|(km, t)| [Mode::Count, Mode::Sorted].map(|m| (km, t, m)))
        .collect();
    // rates[case] and mean hits per round; rounds interleave the cases, so a burst of load
    // from elsewhere on the machine lands on several cases rather than one.
    let mut rates = vec![Vec::new(); cases.len()];
    let mut mean_hits = vec![0.0; cases.len()];
    for _ in 0..ROUNDS {
        for (case, &(radius_km, threads, mode)) in cases.iter().enumerate() {
            let (rate, queries, hits) = run(index, &centres, radius_km * 1000.0, threads, mode);
            rates[case].push(rate);
            mean_hits[case] = hits as f64 / queries.max(1) as f64;
        }
    }
    for (case, &(radius_km, threads, mode)) in cases.iter().enumerate() {
        let qps = common::median(&rates[case]);
        println!(
            "radius {radius_km} threads {threads} qps {qps:.0} mean_hits {:.1} mode {mode:?}",
            mean_hits[case]
        );
        let key = format!("radius_{radius_km}km_{threads}t_{mode:?}").to_lowercase();
        common::figure(&key, qps);
        common::figure(&format!("{key}_hits"), mean_hits[case]);
    }
}

/// What a query produces: a count (as PostGIS's `count(*)`), or every hit sorted by
/// distance (as `/near` needs).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Count,
    Sorted,
}

/// Runs radius queries on `threads` threads for about [`RUN_FOR`]; returns the queries per
/// second (each thread's count over its own elapsed time, summed), queries and hits.
fn run(
    index: &skillsmap::snapshot::Snapshot,
    centres: &[Location],
    radius_m: f64,
    threads: usize,
    mode: Mode,
) -> (f64, u64, u64) {
    let filter = Filter::default();
    let started = Instant::now();
    let deadline = started + RUN_FOR;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let filter = &filter;
                scope.spawn(move || {
                    let (mut queries, mut hits, mut i) = (0u64, 0u64, t);
                    while Instant::now() < deadline {
                        for _ in 0..8 {
                            let centre = centres[i % centres.len()];
                            hits += match mode {
                                Mode::Count => index.count_within(centre, radius_m, filter),
                                Mode::Sorted => index.within(centre, radius_m, filter).len(),
                            } as u64;
                            i += threads;
                            queries += 1;
                        }
                    }
                    let rate = queries as f64 / started.elapsed().as_secs_f64();
                    (rate, queries, hits)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0.0, 0, 0), |(r, q, h), (wr, wq, wh)| {
                (r + wr, q + wq, h + wh)
            })
    })
}

fn write_csv(path: &std::path::Path, points: impl Iterator<Item = Location>) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for (id, p) in points.enumerate() {
        writeln!(out, "{},{},{}", id + 1, p.lon, p.lat).unwrap();
    }
}
