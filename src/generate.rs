//! Synthetic datasets of any size, spread like real initiatives around European cities, for scale tests.

use std::io::Write;

use rand::{Rng, RngExt, SeedableRng};

use crate::country::Country;
use crate::feature::Feature;
use crate::model::{
    Initiative, Kind, Language, Location, LocationPrecision, SkillArea, Status, TargetGroup,
    TermSet,
};

/// A real city: name, country, longitude, latitude, and population in thousands (rounded;
/// only the relative weights matter).
struct City(&'static str, &'static str, f64, f64, u32, &'static str);

#[rustfmt::skip]
const CITIES: &[City] = &[
    City("Berlin", "DE", 13.40, 52.52, 3750, "de"), City("Hamburg", "DE", 9.99, 53.55, 1850, "de"),
    City("Munich", "DE", 11.58, 48.14, 1500, "de"), City("Cologne", "DE", 6.96, 50.94, 1080, "de"),
    City("Frankfurt am Main", "DE", 8.68, 50.11, 760, "de"), City("Stuttgart", "DE", 9.18, 48.78, 630, "de"),
    City("Leipzig", "DE", 12.37, 51.34, 600, "de"), City("Dresden", "DE", 13.74, 51.05, 560, "de"),
    City("Paris", "FR", 2.35, 48.86, 2100, "fr"), City("Marseille", "FR", 5.37, 43.30, 870, "fr"),
    City("Lyon", "FR", 4.84, 45.76, 520, "fr"), City("Toulouse", "FR", 1.44, 43.60, 500, "fr"),
    City("Lille", "FR", 3.06, 50.63, 235, "fr"), City("Bordeaux", "FR", -0.58, 44.84, 260, "fr"),
    City("Nantes", "FR", -1.55, 47.22, 320, "fr"), City("Rome", "IT", 12.50, 41.90, 2750, "it"),
    City("Milan", "IT", 9.19, 45.46, 1370, "it"), City("Naples", "IT", 14.27, 40.85, 910, "it"),
    City("Turin", "IT", 7.69, 45.07, 840, "it"), City("Bologna", "IT", 11.34, 44.49, 390, "it"),
    City("Florence", "IT", 11.26, 43.77, 360, "it"), City("Palermo", "IT", 13.36, 38.12, 630, "it"),
    City("Madrid", "ES", -3.70, 40.42, 3300, "es"), City("Barcelona", "ES", 2.17, 41.39, 1640, "es"),
    City("Valencia", "ES", -0.38, 39.47, 800, "es"), City("Seville", "ES", -5.98, 37.39, 680, "es"),
    City("Bilbao", "ES", -2.93, 43.26, 345, "es"), City("Málaga", "ES", -4.42, 36.72, 580, "es"),
    City("Warsaw", "PL", 21.01, 52.23, 1860, "pl"), City("Kraków", "PL", 19.94, 50.06, 800, "pl"),
    City("Wrocław", "PL", 17.04, 51.11, 670, "pl"), City("Łódź", "PL", 19.46, 51.76, 660, "pl"),
    City("Poznań", "PL", 16.93, 52.41, 540, "pl"), City("Gdańsk", "PL", 18.65, 54.35, 490, "pl"),
    City("Amsterdam", "NL", 4.90, 52.37, 930, "nl"), City("Rotterdam", "NL", 4.48, 51.92, 660, "nl"),
    City("Eindhoven", "NL", 5.47, 51.44, 240, "nl"), City("Brussels", "BE", 4.35, 50.85, 1220, "fr"),
    City("Antwerp", "BE", 4.40, 51.22, 540, "nl"), City("Ghent", "BE", 3.72, 51.05, 265, "nl"),
    City("Liège", "BE", 5.57, 50.63, 195, "fr"), City("Vienna", "AT", 16.37, 48.21, 2000, "de"),
    City("Graz", "AT", 15.44, 47.07, 300, "de"), City("Linz", "AT", 14.29, 48.31, 210, "de"),
    City("Prague", "CZ", 14.42, 50.08, 1360, "cs"), City("Brno", "CZ", 16.61, 49.20, 400, "cs"),
    City("Bratislava", "SK", 17.11, 48.15, 480, "sk"), City("Košice", "SK", 21.26, 48.72, 230, "sk"),
    City("Budapest", "HU", 19.04, 47.50, 1700, "hu"), City("Debrecen", "HU", 21.63, 47.53, 200, "hu"),
    City("Bucharest", "RO", 26.10, 44.43, 1720, "ro"), City("Cluj-Napoca", "RO", 23.60, 46.77, 290, "ro"),
    City("Iași", "RO", 27.60, 47.16, 270, "ro"), City("Timișoara", "RO", 21.23, 45.75, 250, "ro"),
    City("Sofia", "BG", 23.32, 42.70, 1280, "bg"), City("Plovdiv", "BG", 24.75, 42.14, 340, "bg"),
    City("Athens", "GR", 23.73, 37.98, 3150, "el"), City("Thessaloniki", "GR", 22.94, 40.64, 800, "el"),
    City("Lisbon", "PT", -9.14, 38.72, 2870, "pt"), City("Porto", "PT", -8.61, 41.15, 1740, "pt"),
    City("Dublin", "IE", -6.26, 53.35, 1450, "en"), City("Cork", "IE", -8.47, 51.90, 220, "en"),
    City("Copenhagen", "DK", 12.57, 55.68, 1380, "da"), City("Aarhus", "DK", 10.20, 56.16, 360, "da"),
    City("Stockholm", "SE", 18.07, 59.33, 1000, "sv"), City("Gothenburg", "SE", 11.97, 57.71, 600, "sv"),
    City("Malmö", "SE", 13.00, 55.60, 360, "sv"), City("Helsinki", "FI", 24.94, 60.17, 680, "fi"),
    City("Tampere", "FI", 23.76, 61.50, 250, "fi"), City("Oulu", "FI", 25.47, 65.01, 215, "fi"),
    City("Tallinn", "EE", 24.75, 59.44, 460, "et"), City("Tartu", "EE", 26.72, 58.38, 97, "et"),
    City("Riga", "LV", 24.11, 56.95, 610, "lv"), City("Vilnius", "LT", 25.28, 54.69, 600, "lt"),
    City("Kaunas", "LT", 23.90, 54.90, 300, "lt"), City("Ljubljana", "SI", 14.51, 46.06, 295, "sl"),
    City("Maribor", "SI", 15.65, 46.55, 97, "sl"), City("Zagreb", "HR", 15.98, 45.81, 770, "hr"),
    City("Split", "HR", 16.44, 43.51, 160, "hr"), City("Nicosia", "CY", 33.37, 35.17, 330, "el"),
    City("Limassol", "CY", 33.04, 34.71, 240, "el"), City("Valletta", "MT", 14.51, 35.90, 400, "mt"),
    City("Luxembourg", "LU", 6.13, 49.61, 135, "fr"), City("Oslo", "NO", 10.75, 59.91, 710, "no"),
    City("Bergen", "NO", 5.32, 60.39, 290, "no"), City("Reykjavík", "IS", -21.94, 64.15, 140, "is"),
    City("Zurich", "CH", 8.54, 47.37, 430, "de"), City("Geneva", "CH", 6.14, 46.20, 200, "fr"),
    City("Vaduz", "LI", 9.52, 47.14, 6, "de"), City("Belgrade", "RS", 20.46, 44.79, 1380, "sr"),
    City("Novi Sad", "RS", 19.83, 45.27, 340, "sr"), City("Podgorica", "ME", 19.26, 42.44, 190, "sr"),
    City("Skopje", "MK", 21.43, 41.99, 530, "mk"), City("Tirana", "AL", 19.82, 41.33, 560, "sq"),
    City("Sarajevo", "BA", 18.41, 43.86, 280, "bs"), City("Chișinău", "MD", 28.86, 47.01, 640, "ro"),
    City("Kyiv", "UA", 30.52, 50.45, 2950, "uk"), City("Lviv", "UA", 24.03, 49.84, 720, "uk"),
    City("Istanbul", "TR", 28.98, 41.01, 15600, "tr"), City("Ankara", "TR", 32.85, 39.93, 5700, "tr"),
    City("Tbilisi", "GE", 44.79, 41.72, 1200, "ka"),
];

const NAME_STARTS: &[&str] = &[
    "Digital", "Smart", "Future", "Data", "Cyber", "Tech", "Open", "Skills",
];
const NAME_ENDS: &[&str] = &[
    "Academy",
    "Hub",
    "Lab",
    "School",
    "Network",
    "Programme",
    "Centre",
    "Bootcamp",
];

/// Writes `count` synthetic initiatives as a GeoJSON FeatureCollection. The same seed gives
/// the same file.
pub fn write_dataset(out: &mut impl Write, count: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let total_weight: u64 = CITIES.iter().map(|c| u64::from(c.4)).sum();
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    for i in 0..count {
        let initiative = synthetic(i, pick_city(&mut rng, total_weight), &mut rng);
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, &Feature::new(&initiative))?;
    }
    out.write_all(b"\n]}\n")
}

fn pick_city(rng: &mut impl Rng, total_weight: u64) -> &'static City {
    let mut target = rng.random_range(0..total_weight);
    for city in CITIES {
        if target < u64::from(city.4) {
            return city;
        }
        target -= u64::from(city.4);
    }
    &CITIES[0]
}

fn synthetic(i: usize, city: &City, rng: &mut impl Rng) -> Initiative {
    // Initiatives gather near city centres and thin out with distance: a normal spread
    // whose width grows with the city's size (about 3 km for small towns, 20 km for the largest).
    let spread_km = 3.0 + (f64::from(city.4) / 1000.0).sqrt() * 5.0;
    let (dx, dy) = normal_pair(rng);
    let lat = (city.3 + dy * spread_km / 111.0).clamp(-89.0, 89.0);
    let lon = city.2 + dx * spread_km / (111.0 * city.3.to_radians().cos());
    let kind = Kind::ALL[rng.random_range(0..Kind::ALL.len())];
    let name = format!(
        "{} {} {} {i}",
        city.0,
        NAME_STARTS[rng.random_range(0..NAME_STARTS.len())],
        NAME_ENDS[rng.random_range(0..NAME_ENDS.len())]
    );
    let updated_at = jiff::Timestamp::from_second(1_700_000_000 + rng.random_range(0..90_000_000))
        .expect("in range");
    Initiative {
        id: format!("gen-{i}").into(),
        description: format!(
            "Synthetic {} initiative near {} for scale tests.",
            kind.label().to_lowercase(),
            city.0
        )
        .into(),
        organisation: format!("Synthetic organisation {}", i % 997).into(),
        url: format!("https://example.org/initiatives/{i}").into(),
        country: Country::parse(city.1).expect("the city table uses known codes"),
        city: city.0.into(),
        location: Location { lon, lat },
        skill_areas: some_terms(rng, SkillArea::ALL),
        target_groups: some_terms(rng, TargetGroup::ALL),
        kind,
        languages: [city.5, "en"]
            .iter()
            .filter_map(|code| Language::parse(code))
            .collect(),
        start: None,
        end: None,
        updated_at,
        source: "synthetic".into(),
        name: name.into(),
        evidence_url: Some(format!("https://example.org/initiatives/{i}/about").into()),
        verified_at: Some(jiff::tz::TimeZone::UTC.to_datetime(updated_at).date()),
        // Every one active, so that the default view (active only) and the peers the
        // benchmarks compare with see the same records.
        status: Status::Active,
        location_precision: if i.is_multiple_of(2) {
            LocationPrecision::Address
        } else {
            LocationPrecision::City
        },
    }
}

/// One to three terms, each term equally likely.
fn some_terms<T: crate::model::Vocabulary>(rng: &mut impl Rng, all: &[T]) -> TermSet<T> {
    let n = rng.random_range(1..=3);
    (0..n)
        .map(|_| all[rng.random_range(0..all.len())])
        .collect()
}

/// Two independent standard normal numbers (Box–Muller).
fn normal_pair(rng: &mut impl Rng) -> (f64, f64) {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random_range(0.0..1.0);
    let r = (-2.0 * u.ln()).sqrt();
    let angle = 2.0 * std::f64::consts::PI * v;
    (r * angle.cos(), r * angle.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_data_is_valid_reproducible_and_uses_every_term() {
        let mut first = Vec::new();
        write_dataset(&mut first, 2_000, 42).unwrap();
        let mut second = Vec::new();
        write_dataset(&mut second, 2_000, 42).unwrap();
        assert_eq!(first, second);
        let dataset = crate::dataset::parse(std::str::from_utf8(&first).unwrap()).unwrap();
        assert_eq!(dataset.initiatives.len(), 2_000);
        assert!(
            dataset.warnings.is_empty(),
            "{:?}",
            dataset.warnings.first()
        );
        for area in SkillArea::ALL {
            assert!(
                dataset
                    .initiatives
                    .iter()
                    .any(|i| i.skill_areas.contains(*area))
            );
        }
        for group in TargetGroup::ALL {
            assert!(
                dataset
                    .initiatives
                    .iter()
                    .any(|i| i.target_groups.contains(*group))
            );
        }
        for kind in Kind::ALL {
            assert!(dataset.initiatives.iter().any(|i| i.kind == *kind));
        }
        let berlin = dataset
            .initiatives
            .iter()
            .filter(|i| &*i.city == "Berlin")
            .count();
        let vaduz = dataset
            .initiatives
            .iter()
            .filter(|i| &*i.city == "Vaduz")
            .count();
        assert!(berlin > vaduz * 10, "weights by size: {berlin} vs {vaduz}");
    }
}
