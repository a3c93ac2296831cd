//! Every claimed conformance class with expressions in both encodings, each compared with a
//! plain evaluation over all records written here without the planner; malformed, unknown
//! and hostile expressions refused with their position.

use super::*;
use crate::filter::Filter;
use crate::model::{Initiative, SkillArea, Status, TargetGroup};
use crate::snapshot::Snapshot;

/// The seed data, with some records closed and some given start, end and verification dates.
fn records() -> Vec<Initiative> {
    let mut all = crate::dataset::parse(crate::server::SEED_DATASET)
        .unwrap()
        .initiatives;
    for (i, it) in all.iter_mut().enumerate() {
        if i % 9 == 0 {
            it.status = Status::Closed;
        }
        it.start =
            (i % 3 == 0).then(|| jiff::civil::date(2020 + (i % 6) as i16, 1 + (i % 12) as i8, 1));
        it.end = (i % 5 != 1).then(|| jiff::civil::date(2021 + (i % 7) as i16, 6, 30));
        it.verified_at = (i % 4 != 0).then(|| jiff::civil::date(2026, 1 + (i % 12) as i8, 10));
        it.updated_at =
            ts("2025-06-01T00:00:00Z") + jiff::SignedDuration::from_hours(i as i64 * 61);
        it.evidence_url = (i % 11 != 0).then(|| "https://example.org/evidence".into());
    }
    all
}

fn ids_matching(snapshot: &Snapshot, text: &str, lang: Lang) -> Vec<String> {
    let filter = Filter {
        statuses: Filter::all_statuses(),
        expression: Some(Expression::parse(text, lang).unwrap_or_else(|e| panic!("{text}: {e}"))),
        ..Filter::default()
    };
    snapshot
        .matching(None, &filter)
        .into_iter()
        .map(|s| snapshot.id(s).to_owned())
        .collect()
}

/// Checks that the text and JSON encodings select exactly what `expected` selects.
fn agree(text: &str, json: &str, expected: impl Fn(&Initiative) -> bool) {
    let all = records();
    let snapshot = Snapshot::of(all.clone());
    let mut want: Vec<String> = all
        .iter()
        .filter(|i| expected(i))
        .map(|i| i.id.to_string())
        .collect();
    want.sort();
    assert!(
        !want.is_empty() && want.len() < all.len(),
        "{text}: a test that selects {} of {}",
        want.len(),
        all.len()
    );
    assert_eq!(ids_matching(&snapshot, text, Lang::Text), want, "{text}");
    assert_eq!(ids_matching(&snapshot, json, Lang::Json), want, "{json}");
}

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn in_box(i: &Initiative, west: f64, south: f64, east: f64, north: f64) -> bool {
    let l = i.location;
    l.lon >= west && l.lon <= east && l.lat >= south && l.lat <= north
}

#[test]
fn basic_cql2() {
    agree(
        "country = 'DE'",
        r#"{"op":"=","args":[{"property":"country"},"DE"]}"#,
        |i| i.country.code() == "DE",
    );
    agree(
        "'hub' <> kind",
        r#"{"op":"<>","args":["hub",{"property":"kind"}]}"#,
        |i| i.kind.slug() != "hub",
    );
    agree(
        "name < 'M' AND NOT (country = 'FR' OR country = 'IT')",
        r#"{"op":"and","args":[{"op":"<","args":[{"property":"name"},"M"]},{"op":"not","args":[{"op":"or","args":[{"op":"=","args":[{"property":"country"},"FR"]},{"op":"=","args":[{"property":"country"},"IT"]}]}]}]}"#,
        |i| &*i.name < "M" && !["FR", "IT"].contains(&i.country.code()),
    );
    agree(
        "updated_at >= TIMESTAMP('2026-01-01T00:00:00Z') and status = 'closed'",
        r#"{"op":"and","args":[{"op":">=","args":[{"property":"updated_at"},{"timestamp":"2026-01-01T00:00:00Z"}]},{"op":"=","args":[{"property":"status"},"closed"]}]}"#,
        |i| i.updated_at >= ts("2026-01-01T00:00:00Z") && i.status == Status::Closed,
    );
    agree(
        "start IS NULL",
        r#"{"op":"isNull","args":[{"property":"start"}]}"#,
        |i| i.start.is_none(),
    );
    agree(
        "evidence_url IS NOT NULL AND verified_at > DATE('2026-06-10')",
        r#"{"op":"and","args":[{"op":"not","args":[{"op":"isNull","args":[{"property":"evidence_url"}]}]},{"op":">","args":[{"property":"verified_at"},{"date":"2026-06-10"}]}]}"#,
        |i| {
            i.evidence_url.is_some()
                && i.verified_at
                    .is_some_and(|d| d > jiff::civil::date(2026, 6, 10))
        },
    );
    // Property against property; a comparison with an absent value is unknown, so neither
    // it nor its negation holds.
    agree(
        "start < end",
        r#"{"op":"<","args":[{"property":"start"},{"property":"end"}]}"#,
        |i| matches!((i.start, i.end), (Some(s), Some(e)) if s < e),
    );
    agree(
        "NOT (start < end)",
        r#"{"op":"not","args":[{"op":"<","args":[{"property":"start"},{"property":"end"}]}]}"#,
        |i| matches!((i.start, i.end), (Some(s), Some(e)) if s >= e),
    );
}

#[test]
fn advanced_comparison_operators() {
    agree(
        "name LIKE '%Digital%'",
        r#"{"op":"like","args":[{"property":"name"},"%Digital%"]}"#,
        |i| i.name.contains("Digital"),
    );
    agree(
        "city NOT LIKE 'B_r%'",
        r#"{"op":"not","args":[{"op":"like","args":[{"property":"city"},"B_r%"]}]}"#,
        |i| !(i.city.starts_with('B') && i.city.chars().nth(2) == Some('r')),
    );
    agree(
        "country IN ('DE', 'AT', 'CH')",
        r#"{"op":"in","args":[{"property":"country"},["DE","AT","CH"]]}"#,
        |i| ["DE", "AT", "CH"].contains(&i.country.code()),
    );
    agree(
        "city NOT IN ('Berlin', 'Paris')",
        r#"{"op":"not","args":[{"op":"in","args":[{"property":"city"},["Berlin","Paris"]]}]}"#,
        |i| !["Berlin", "Paris"].contains(&&*i.city),
    );
    agree(
        "updated_at BETWEEN TIMESTAMP('2025-06-01T00:00:00Z') AND TIMESTAMP('2026-03-01T00:00:00Z')",
        r#"{"op":"between","args":[{"property":"updated_at"},{"timestamp":"2025-06-01T00:00:00Z"},{"timestamp":"2026-03-01T00:00:00Z"}]}"#,
        |i| {
            i.updated_at >= ts("2025-06-01T00:00:00Z") && i.updated_at <= ts("2026-03-01T00:00:00Z")
        },
    );
    agree(
        "name BETWEEN 'C' AND 'F'",
        r#"{"op":"between","args":[{"property":"name"},"C","F"]}"#,
        |i| &*i.name >= "C" && &*i.name <= "F",
    );
}

#[test]
fn case_and_accent_insensitive_comparison() {
    let fold = |s: &str| super::eval::accenti(&s.to_lowercase());
    agree(
        "CASEI(city) = casei('BERLIN')",
        r#"{"op":"=","args":[{"op":"casei","args":[{"property":"city"}]},{"op":"casei","args":["BERLIN"]}]}"#,
        |i| i.city.to_lowercase() == "berlin",
    );
    agree(
        "ACCENTI(CASEI(city)) LIKE ACCENTI(CASEI('KRAKOW%'))",
        r#"{"op":"like","args":[{"op":"accenti","args":[{"op":"casei","args":[{"property":"city"}]}]},{"op":"accenti","args":[{"op":"casei","args":["KRAKOW%"]}]}]}"#,
        |i| fold(&i.city).starts_with("krakow"),
    );
    agree(
        "ACCENTI(city) IN (ACCENTI('Kraków'), ACCENTI('Malmö'), 'Zurich')",
        r#"{"op":"in","args":[{"op":"accenti","args":[{"property":"city"}]},[{"op":"accenti","args":["Kraków"]},{"op":"accenti","args":["Malmö"]},"Zurich"]]}"#,
        |i| ["Krakow", "Malmo", "Zurich"].contains(&super::eval::accenti(&i.city).as_str()),
    );
}

#[test]
fn spatial_functions() {
    agree(
        "S_INTERSECTS(geometry, BBOX(5, 45, 15, 55))",
        r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[5,45,15,55]}]}"#,
        |i| in_box(i, 5.0, 45.0, 15.0, 55.0),
    );
    agree(
        "S_WITHIN(geometry, POLYGON((-10 35, 5 35, 5 45, -10 45, -10 35))) AND kind <> 'hub'",
        r#"{"op":"and","args":[{"op":"s_within","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[-10,35],[5,35],[5,45],[-10,45],[-10,35]]]}]},{"op":"<>","args":[{"property":"kind"},"hub"]}]}"#,
        |i| in_box(i, -10.0, 35.0, 5.0, 45.0) && i.kind.slug() != "hub",
    );
    agree(
        "S_DISJOINT(geometry, MULTIPOLYGON(((0 40, 20 40, 20 60, 0 60, 0 40))))",
        r#"{"op":"s_disjoint","args":[{"property":"geometry"},{"type":"MultiPolygon","coordinates":[[[[0,40],[20,40],[20,60],[0,60],[0,40]]]]}]}"#,
        |i| !in_box(i, 0.0, 40.0, 20.0, 60.0),
    );
    // The arguments either way round: a polygon contains the points within it.
    agree(
        "S_CONTAINS(POLYGON((10 50, 20 50, 20 56, 10 56, 10 50)), geometry)",
        r#"{"op":"s_contains","args":[{"type":"Polygon","coordinates":[[[10,50],[20,50],[20,56],[10,56],[10,50]]]},{"property":"geometry"}]}"#,
        |i| in_box(i, 10.0, 50.0, 20.0, 56.0),
    );
    let all = records();
    let first = &all[3];
    let point = format!("POINT({} {})", first.location.lon, first.location.lat);
    let json = format!(
        r#"{{"op":"s_equals","args":[{{"property":"geometry"}},{{"type":"Point","coordinates":[{},{}]}}]}}"#,
        first.location.lon, first.location.lat
    );
    let here = first.location;
    agree(&format!("S_EQUALS(geometry, {point})"), &json, |i| {
        i.location == here
    });
    agree(
        &format!(
            "S_INTERSECTS(geometry, MULTIPOINT(({} {}), (0 0)))",
            here.lon, here.lat
        ),
        &format!(
            r#"{{"op":"s_intersects","args":[{{"property":"geometry"}},{{"type":"MultiPoint","coordinates":[[{},{}],[0,0]]}}]}}"#,
            here.lon, here.lat
        ),
        |i| i.location == here,
    );
}

#[test]
fn temporal_functions() {
    let t = ts("2026-01-01T00:00:00Z");
    agree(
        "T_AFTER(updated_at, TIMESTAMP('2026-01-01T00:00:00Z'))",
        r#"{"op":"t_after","args":[{"property":"updated_at"},{"timestamp":"2026-01-01T00:00:00Z"}]}"#,
        |i| i.updated_at > t,
    );
    agree(
        "T_BEFORE(updated_at, DATE('2026-01-01'))",
        r#"{"op":"t_before","args":[{"property":"updated_at"},{"date":"2026-01-01"}]}"#,
        |i| i.updated_at < t,
    );
    agree(
        "T_DURING(updated_at, INTERVAL('2026-01-01T00:00:00Z', '..'))",
        r#"{"op":"t_during","args":[{"property":"updated_at"},{"interval":["2026-01-01T00:00:00Z",".."]}]}"#,
        |i| i.updated_at > t,
    );
    // The initiative's own period against a year: intersecting, with an absent end open.
    let (y1, y2) = (
        jiff::civil::date(2023, 1, 1),
        jiff::civil::date(2023, 12, 31),
    );
    agree(
        "T_INTERSECTS(INTERVAL(start, end), INTERVAL('2023-01-01', '2023-12-31'))",
        r#"{"op":"t_intersects","args":[{"interval":[{"property":"start"},{"property":"end"}]},{"interval":["2023-01-01","2023-12-31"]}]}"#,
        |i| i.start.is_none_or(|s| s <= y2) && i.end.is_none_or(|e| e >= y1),
    );
    agree(
        "T_EQUALS(start, DATE('2023-04-01'))",
        r#"{"op":"t_equals","args":[{"property":"start"},{"date":"2023-04-01"}]}"#,
        |i| i.start == Some(jiff::civil::date(2023, 4, 1)),
    );
}

#[test]
fn array_functions() {
    use SkillArea::{Cybersecurity, DataAi};
    agree(
        "A_CONTAINS(skill_areas, ('cybersecurity', 'data_ai'))",
        r#"{"op":"a_contains","args":[{"property":"skill_areas"},["cybersecurity","data_ai"]]}"#,
        |i| i.skill_areas.contains(Cybersecurity) && i.skill_areas.contains(DataAi),
    );
    agree(
        "A_OVERLAPS(target_groups, ('smes', 'women_in_tech'))",
        r#"{"op":"a_overlaps","args":[{"property":"target_groups"},["smes","women_in_tech"]]}"#,
        |i| {
            i.target_groups.contains(TargetGroup::Smes)
                || i.target_groups.contains(TargetGroup::WomenInTech)
        },
    );
    agree(
        "A_CONTAINEDBY(skill_areas, ('cybersecurity', 'data_ai', 'cloud'))",
        r#"{"op":"a_containedby","args":[{"property":"skill_areas"},["cybersecurity","data_ai","cloud"]]}"#,
        |i| {
            i.skill_areas
                .iter()
                .all(|s| [Cybersecurity, DataAi, SkillArea::Cloud].contains(&s))
        },
    );
    agree(
        "A_EQUALS(('cybersecurity'), skill_areas)",
        r#"{"op":"a_equals","args":[["cybersecurity"],{"property":"skill_areas"}]}"#,
        |i| i.skill_areas.iter().eq([Cybersecurity]),
    );
    // Turned around: the literal contains the record's list.
    agree(
        "A_CONTAINS(('cybersecurity', 'data_ai'), skill_areas)",
        r#"{"op":"a_contains","args":[["cybersecurity","data_ai"],{"property":"skill_areas"}]}"#,
        |i| {
            i.skill_areas
                .iter()
                .all(|s| [Cybersecurity, DataAi].contains(&s))
        },
    );
    agree(
        "A_CONTAINS(languages, ('de'))",
        r#"{"op":"a_contains","args":[{"property":"languages"},["de"]]}"#,
        |i| i.languages.iter().any(|l| l.as_str() == "de"),
    );
}

/// The error of a filter in the text encoding, and the character it names.
fn text_error(text: &str) -> (usize, String) {
    match Expression::parse(text, Lang::Text) {
        Ok(_) => panic!("{text}: accepted"),
        Err(
            e @ (CqlError::Syntax {
                at: At::Char(n), ..
            }
            | CqlError::Type {
                at: At::Char(n), ..
            }
            | CqlError::UnknownProperty {
                at: At::Char(n), ..
            }),
        ) => (n, e.to_string()),
        Err(other) => panic!("{text}: {other:?}"),
    }
}

#[test]
fn malformed_and_unknown_expressions_name_their_position() {
    for (text, at) in [
        ("", 1),
        ("country =", 10),
        ("country = 'DE' AND", 19),
        ("colour = 'red'", 1),
        ("country = 'DE' AND colour = 'red'", 20),
        ("kind = 'castle'", 8),
        ("country IN ('DE', 'XX')", 13),
        ("A_CONTAINS(skill_areas, ('knitting'))", 26),
        ("name = 3", 8),
        ("updated_at > 'yesterday'", 14),
        ("S_INTERSECTS(geometry, POINT(200 10))", 29),
        ("S_INTERSECTS(name, POINT(1 1))", 14),
        ("T_AFTER(name, DATE('2026-01-01'))", 9),
        ("FOO(name)", 1),
        ("name LIKE 'a' extra", 15),
        ("(name = 'a'", 12),
        ("name = 'a' OR", 14),
        ("NOT", 4),
        ("geometry = 'x'", 1),
        ("DATE('2026-13-01') = start", 1),
        ("S_INTERSECTS(geometry, BBOX(1, 2, 3))", 24),
        ("S_INTERSECTS(geometry, POLYGON((0 0, 1 0)))", 31),
    ] {
        let (n, message) = text_error(text);
        assert_eq!(n, at, "{text}: {message}");
    }
    for (json, pointer) in [
        (
            r#"{"op":"=","args":[{"property":"colour"},"x"]}"#,
            "/args/0",
        ),
        (
            r#"{"op":"and","args":[true,{"op":"nope","args":[]}]}"#,
            "/args/1",
        ),
        (r#"{"op":"=","args":[{"property":"kind"}]}"#, ""),
        (
            r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[1,2]}]}"#,
            "/args/1/bbox",
        ),
        (
            r#"{"op":"in","args":[{"property":"kind"},["hub","castle"]]}"#,
            "/args/1/0",
        ),
        (r#"[1, 2"#, ""),
    ] {
        match Expression::parse(json, Lang::Json) {
            Err(
                CqlError::Syntax {
                    at: At::Pointer(p), ..
                }
                | CqlError::Type {
                    at: At::Pointer(p), ..
                }
                | CqlError::UnknownProperty {
                    at: At::Pointer(p), ..
                },
            ) => {
                // A vocabulary list names where the list starts; either is a position.
                assert!(pointer.starts_with(&p) || p == pointer, "{json}: {p}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn hostile_expressions_are_refused_quickly() {
    let started = std::time::Instant::now();
    let deep = format!("{}name = 'a'{}", "(".repeat(1_000), ")".repeat(1_000));
    assert!(text_error(&deep).1.contains("nested more than"));
    let nots = format!("{}name = 'a'", "NOT ".repeat(1_000));
    assert!(text_error(&nots).1.contains("nested more than"));
    let functions = format!("{}name{} = 'a'", "CASEI(".repeat(300), ")".repeat(300));
    assert!(text_error(&functions).1.contains("nested more than"));
    let json = format!(
        "{}true{}",
        r#"{"op":"not","args":["#.repeat(100),
        "]}".repeat(100)
    );
    assert!(Expression::parse(&json, Lang::Json).is_err());
    // The limit counts characters, as the document's maxLength does, not bytes.
    let longest = format!("name = '{}'", "é".repeat(MAX_FILTER_CHARS - 9));
    assert_eq!(longest.chars().count(), MAX_FILTER_CHARS);
    assert!(Expression::parse(&longest, Lang::Text).is_ok());
    let long = format!("name = '{}'", "a".repeat(MAX_FILTER_CHARS));
    assert_eq!(
        Expression::parse(&long, Lang::Text).err(),
        Some(CqlError::TooLong)
    );
    assert!(text_error("name = 1e400").1.contains("finite"));
    // Many alternatives are fine and quick.
    let ors: Vec<String> = (0..200).map(|i| format!("name = 'n{i}'")).collect();
    let snapshot = Snapshot::of(records());
    assert!(ids_matching(&snapshot, &ors.join(" OR "), Lang::Text).is_empty());
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn a_spatial_predicate_bounds_the_search() {
    let e = Expression::parse(
        "kind = 'hub' AND S_INTERSECTS(geometry, BBOX(1, 2, 3, 4))",
        Lang::Text,
    )
    .unwrap();
    let b = e.bound().unwrap();
    assert_eq!((b.west, b.south, b.east, b.north), (1.0, 2.0, 3.0, 4.0));
    assert!(
        Expression::parse("S_DISJOINT(geometry, BBOX(1, 2, 3, 4))", Lang::Text)
            .unwrap()
            .bound()
            .is_none()
    );
    assert!(
        Expression::parse(
            "kind = 'hub' OR S_INTERSECTS(geometry, BBOX(1, 2, 3, 4))",
            Lang::Text
        )
        .unwrap()
        .bound()
        .is_none()
    );
    assert!(e.mentions(Field::Kind) && !e.mentions(Field::Status));
}

/// The shape of a filter's plan: how many conjuncts the term bitmaps answer, whether a
/// residual is left to test per record, and whether the R-tree searches a box.
fn shape(text: &str) -> (usize, bool, bool) {
    let e = Expression::parse(text, Lang::Text).unwrap();
    (
        e.indexed().len(),
        e.residual().is_some(),
        e.bound().is_some(),
    )
}

#[test]
fn every_plan_shape_answers_like_a_record_by_record_evaluation() {
    let cases = [
        // Term bitmaps only.
        (
            "A_OVERLAPS(skill_areas, ('cybersecurity', 'data_ai')) AND country IN ('DE', 'FR', 'IT', 'ES')",
            (2, false, false),
        ),
        (
            "A_CONTAINS(target_groups, ('smes')) AND kind <> 'hub'",
            (2, false, false),
        ),
        (
            "A_EQUALS(skill_areas, ('cybersecurity'))",
            (1, false, false),
        ),
        (
            "A_CONTAINEDBY(skill_areas, ('cybersecurity', 'data_ai', 'cloud'))",
            (1, false, false),
        ),
        ("TRUE AND status = 'closed'", (2, false, false)),
        // The R-tree only.
        (
            "S_INTERSECTS(geometry, BBOX(5, 45, 15, 55))",
            (0, true, true),
        ),
        (
            "S_WITHIN(geometry, POLYGON((-10 35, 20 35, 5 60, -10 35)))",
            (0, true, true),
        ),
        // Both.
        (
            "S_INTERSECTS(geometry, BBOX(-10, 35, 25, 60)) AND A_OVERLAPS(target_groups, ('smes', 'women_in_tech')) AND country <> 'DE'",
            (2, true, true),
        ),
        // A residual beside the bitmaps.
        (
            "name LIKE '%i%' AND kind IN ('hub', 'training')",
            (1, true, false),
        ),
        (
            "updated_at > TIMESTAMP('2025-09-01T00:00:00Z') AND location_precision = 'city'",
            (1, true, false),
        ),
        // OR of terms is a union of bitmaps; OR with anything else is left to the records.
        (
            "country = 'DE' OR A_OVERLAPS(skill_areas, ('cloud'))",
            (1, false, false),
        ),
        ("country = 'DE' OR name LIKE 'A%'", (0, true, false)),
        // NOT of terms is a complement; NOT of a residual stays three-valued per record.
        (
            "NOT (kind = 'hub' OR A_CONTAINEDBY(target_groups, ('smes')))",
            (1, false, false),
        ),
        ("NOT (start < end) AND NOT country = 'FR'", (1, true, false)),
        (
            "S_DISJOINT(geometry, BBOX(0, 40, 20, 60)) AND NOT A_CONTAINS(skill_areas, ('data_ai'))",
            (1, true, false),
        ),
    ];
    let snapshot = Snapshot::of(records());
    let everything = snapshot.all();
    // A box with few records has the indexed conditions tested on each, one with many takes
    // them from the term bitmaps: both plans are checked.
    let areas = [
        crate::geodesy::LonLatBox {
            west: 12.0,
            south: 51.5,
            east: 14.5,
            north: 53.5,
        },
        crate::geodesy::LonLatBox {
            west: -5.0,
            south: 40.0,
            east: 20.0,
            north: 58.0,
        },
    ];
    let held = |area: &crate::geodesy::LonLatBox| {
        everything
            .iter()
            .filter(|s| area.contains(snapshot.location(**s)))
            .count()
    };
    let one_by_one = crate::snapshot::TESTED_ONE_BY_ONE;
    assert!(
        (1..=one_by_one).contains(&held(&areas[0])) && held(&areas[1]) > one_by_one,
        "{} and {}",
        held(&areas[0]),
        held(&areas[1])
    );
    for (text, want) in cases {
        assert_eq!(shape(text), want, "{text}");
        let expression = Expression::parse(text, Lang::Text).unwrap();
        // Beside simple filters too: they are planned into the same bitmaps.
        let simple = Filter {
            skill_areas: Some(
                [
                    SkillArea::Cybersecurity,
                    SkillArea::DataAi,
                    SkillArea::Cloud,
                ]
                .into_iter()
                .collect(),
            ),
            ..Filter::default()
        };
        for (first, filter) in [true, false].into_iter().zip([
            Filter {
                statuses: Filter::all_statuses(),
                expression: Some(expression.clone()),
                ..Filter::default()
            },
            Filter {
                expression: Some(expression.clone()),
                ..simple
            },
        ]) {
            // The reference: every record tested on its own, unplanned.
            let brute: Vec<_> = everything
                .iter()
                .copied()
                .filter(|s| snapshot.matches(*s, &filter))
                .collect();
            assert!(
                (!first || !brute.is_empty()) && brute.len() < everything.len(),
                "{text}: {}",
                brute.len()
            );
            assert_eq!(snapshot.matching(None, &filter), brute, "{text}");
            for area in &areas {
                let in_area: Vec<_> = brute
                    .iter()
                    .copied()
                    .filter(|s| area.contains(snapshot.location(*s)))
                    .collect();
                assert_eq!(
                    snapshot.matching(Some(area), &filter),
                    in_area,
                    "{text} in {area:?}"
                );
            }
            let center = crate::model::Location {
                lon: 10.0,
                lat: 50.0,
            };
            let mut near: Vec<_> = snapshot
                .within(center, 800_000.0, &filter)
                .iter()
                .map(|h| h.slot)
                .collect();
            near.sort_unstable();
            let near_brute: Vec<_> = brute
                .iter()
                .copied()
                .filter(|s| crate::geodesy::distance_m(center, snapshot.location(*s)) <= 800_000.0)
                .collect();
            assert_eq!(near, near_brute, "{text} near");
        }
    }
}
