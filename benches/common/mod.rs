//! What every benchmark shares: running only under `cargo bench`, the generated dataset,
//! and the few statistics and memory readings the benchmarks report.

// Each benchmark uses its own part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The generated dataset a benchmark runs on, written once (atomically) and reused; `None`
/// outside `cargo bench`, where benchmarks are built and run as tests and must do nothing.
/// N comes from SKILLSMAP_BENCH_COUNT (default 1,000,000). `skillsmap generate --count N
/// --out target/tmp/bench-N.geojson` writes the same file (seed 1), so `bench/run` makes it
/// with the binary and the benchmarks find it.
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

/// The value below which a share `p` (0 to 1) of `values` lies; NaN for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 0.5)
}

/// A figure for `bench/run`'s table: appended as `<key> <value>` to the file named by
/// SKILLSMAP_BENCH_FIGURES, if set.
pub fn figure(key: &str, value: f64) {
    let Some(path) = std::env::var_os("SKILLSMAP_BENCH_FIGURES") else {
        return;
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the figures file can be written");
    writeln!(file, "{key} {value:.3}").unwrap();
}

/// A `/proc/<pid>/status` memory figure (`VmRSS`, `VmHWM`) in MB; `pid` None is this process.
pub fn status_mb(pid: Option<u32>, key: &str) -> f64 {
    let path = pid.map_or("/proc/self/status".to_string(), |p| {
        format!("/proc/{p}/status")
    });
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Resets this process's peak resident size (`VmHWM`) to its current one, so that a later
/// reading is the peak of what ran in between (Linux 4.0 and later).
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
