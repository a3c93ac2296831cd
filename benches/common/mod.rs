//! What every benchmark shares: running only under `cargo bench`, and the generated dataset.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The generated dataset a benchmark runs on, written once (atomically) and reused; `None`
/// outside `cargo bench`, where benchmarks are built and run as tests and must do nothing.
/// N comes from SKILLSMAP_BENCH_COUNT (default 1,000,000).
pub fn bench_dataset(name: &str) -> Option<(PathBuf, usize)> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark skipped outside `cargo bench --bench {name}`");
        return None;
    }
    let count: usize = std::env::var("SKILLSMAP_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{count}.geojson"));
    if !path.exists() {
        let started = Instant::now();
        let partial = path.with_extension("partial");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&partial).unwrap());
        skillsmap::generate::write_dataset(&mut out, count, 1).unwrap();
        out.flush().unwrap();
        drop(out);
        std::fs::rename(&partial, &path).unwrap();
        eprintln!(
            "generated {count} initiatives in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Some((path, count))
}
