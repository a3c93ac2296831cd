//! `/places` search over the full gazetteer (GeoNames' European cities of 1,000+ inhabitants,
//! the countries and NUTS regions, the seed data's cities): the time of each search as one
//! types every prefix of many place names, and of the label tiles; p50, p99 and max.
//! Run with `cargo bench --bench places` (needs `npm ci --prefix web`).

mod common;

use std::time::Instant;

use skillsmap::config::ServeConfig;
use skillsmap::places::Places;
use skillsmap::server::load_snapshot;
use skillsmap::tile::tile_of;

fn report(label: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    println!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} |",
        micros.len(),
        common::percentile(&micros, 0.5),
        common::percentile(&micros, 0.99),
        micros.last().copied().unwrap_or(0.0),
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark skipped outside `cargo bench --bench places`");
        return;
    }
    let config = ServeConfig::local(None);
    let snapshot = load_snapshot(&config).expect("the seed data loads");
    let started = Instant::now();
    let places = Places::load(&config.web_dir, &snapshot.regions, &snapshot);
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        places.has_geonames,
        "GeoNames is missing: run `npm ci --prefix web`"
    );

    // What a visitor types: every prefix (1 to 12 characters) of every 7th place name, each
    // with a limit of 10, and a few prefixes that match nothing.
    let mut queries: Vec<String> = Vec::new();
    let gazetteer = places.gazetteer();
    for place in gazetteer.places().iter().step_by(7) {
        let chars: Vec<char> = place.name.chars().collect();
        for len in 1..=chars.len().min(12) {
            queries.push(chars[..len].iter().collect());
        }
    }
    queries.extend(["zzqx", "qqq", "xylophone"].map(String::from));
    // Warm the caches once.
    for q in queries.iter().take(1000) {
        std::hint::black_box(places.search(q, 10));
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut by_length: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let mut results = 0usize;
    for q in &queries {
        let t = Instant::now();
        let found = std::hint::black_box(places.search(q, 10));
        let micros = t.elapsed().as_secs_f64() * 1e6;
        results += found.len();
        times.push(micros);
        by_length[q.chars().count().min(4) - 1].push(micros);
    }

    // Label tiles of every zoom 3-14 over Europe's cities.
    let mut label_times = Vec::new();
    let mut labelled = 0usize;
    for z in 3..=14u8 {
        for place in gazetteer.places().iter().step_by(97) {
            let at = place.location;
            let tile = tile_of(at.lon, at.lat, z);
            let t = Instant::now();
            labelled += std::hint::black_box(places.labels(tile)).len();
            label_times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }

    println!(
        "gazetteer: {} places, {} names indexed, built in {load_ms:.0} ms\n",
        gazetteer.places().len(),
        gazetteer.name_count()
    );
    println!("| what | searches | p50 µs | p99 µs | max µs |");
    println!("| --- | --- | --- | --- | --- |");
    report("every prefix, limit 10", times);
    for (i, label) in [
        "1 character",
        "2 characters",
        "3 characters",
        "4+ characters",
    ]
    .iter()
    .enumerate()
    {
        report(label, std::mem::take(&mut by_length[i]));
    }
    report("label tile, zooms 3-14", label_times);
    println!(
        "\n{results} results over {} searches; {labelled} labels over the tiles",
        queries.len()
    );
}
