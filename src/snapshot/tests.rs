//! Queries checked against brute force, and snapshots built change by change checked against
//! snapshots built from scratch on the same data.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand::{RngExt, SeedableRng};

use super::*;
use crate::geodesy::distance_m;
use crate::index::tests::initiative;
use crate::model::{Kind, SkillArea, TermSet};
use crate::regions::tests::square;
use crate::regions::{Level, RegionLayer, Regions};
use crate::tile::tile_of;

fn random_initiatives(n: usize, seed: u64) -> Vec<Initiative> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let (lon, lat) = if i % 5 == 0 {
                (
                    rng.random_range(-180.0..=180.0),
                    rng.random_range(-85.0..=85.0),
                )
            } else {
                (
                    13.4 + rng.random_range(-2.0..2.0),
                    52.5 + rng.random_range(-1.0..1.0),
                )
            };
            let mut it = initiative(&format!("p{i:05}"), lon, lat);
            if i % 3 == 0 {
                it.kind = Kind::Training;
            }
            it
        })
        .collect()
}

fn training() -> Filter {
    Filter {
        kinds: Some([Kind::Training].into_iter().collect::<TermSet<Kind>>()),
        ..Filter::default()
    }
}

#[test]
fn radius_matches_brute_force() {
    let snapshot = Snapshot::of(random_initiatives(5_000, 7));
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    for _ in 0..200 {
        let center = Location {
            lon: rng.random_range(-180.0..=180.0),
            lat: rng.random_range(-90.0..=90.0),
        };
        let radius = rng.random_range(0.0..3_000_000.0);
        let got: Vec<&str> = snapshot
            .within(center, radius, &training())
            .iter()
            .map(|h| snapshot.id(h.slot))
            .collect();
        let mut expected: Vec<(f64, &str)> = snapshot
            .all()
            .into_iter()
            .filter(|s| snapshot.attributes(*s).kind == Kind::Training)
            .map(|s| (distance_m(center, snapshot.location(s)), snapshot.id(s)))
            .filter(|(d, _)| *d <= radius)
            .collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        let expected: Vec<&str> = expected.into_iter().map(|(_, s)| s).collect();
        assert_eq!(got, expected, "center {center:?} radius {radius}");
    }
}

#[test]
fn the_nearest_within_are_the_first_of_the_listing_and_nearest_is_exact() {
    let snapshot = Snapshot::of(random_initiatives(3_000, 13));
    let center = Location {
        lon: -179.5,
        lat: 40.0,
    };
    for radius in [0.0, 800_000.0, 3_000_000.0, 3.0e7] {
        let listed = snapshot.within(center, radius, &Filter::default());
        assert_eq!(
            snapshot.count_within(center, radius, &Filter::default()),
            listed.len()
        );
        for limit in [0, 1, 7, 100, 5_000] {
            let (hits, matched) =
                snapshot.nearest_within(center, radius, limit, &Filter::default());
            assert_eq!(matched, listed.len(), "{radius} {limit}");
            assert_eq!(hits, listed[..limit.min(listed.len())], "{radius} {limit}");
        }
    }
    let all = snapshot.within(center, 3.0e7, &Filter::default());
    assert_eq!(snapshot.nearest(center, 25, &Filter::default()), all[..25]);
    assert_eq!(
        snapshot.nearest(center, 5_000, &Filter::default()).len(),
        3_000
    );
}

#[test]
fn boxes_across_the_antimeridian_match_brute_force() {
    let snapshot = Snapshot::of(random_initiatives(5_000, 11));
    let area = LonLatBox {
        west: 150.0,
        south: -40.0,
        east: -160.0,
        north: 30.0,
    };
    let got = snapshot.matching(Some(&area), &Filter::default());
    let expected: Vec<Slot> = snapshot
        .all()
        .into_iter()
        .filter(|s| area.contains(snapshot.location(*s)))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert_eq!(snapshot.by_id("p00042").unwrap().id, "p00042");
    assert!(snapshot.by_id("nope").is_none());
}

/// Counts every item of every tile of zoom `z` that holds data, checking that each lies in
/// its tile; returns the total.
fn total_at_zoom(snapshot: &Snapshot, z: u8, filter: &Filter) -> u32 {
    let mut tiles: Vec<TileCoord> = snapshot
        .all()
        .into_iter()
        .flat_map(|s| {
            let at = snapshot.location(s);
            tile_of(at.lon, at.lat, z).neighbourhood(1)
        })
        .collect();
    tiles.sort_by_key(|t| (t.x, t.y));
    tiles.dedup();
    let mut total = 0;
    for tile in tiles {
        for item in snapshot.tile(tile, filter) {
            let (lon, lat) = match &item {
                TileItem::Cluster(c) => {
                    total += c.count;
                    (c.lon, c.lat)
                }
                TileItem::Initiative(slot) => {
                    total += 1;
                    let at = snapshot.location(*slot);
                    (at.lon, at.lat)
                }
            };
            assert_eq!(tile_of(lon, lat, z), tile, "item outside its tile");
        }
    }
    total
}

#[test]
fn every_zoom_counts_every_initiative_once() {
    let snapshot = Snapshot::of(random_initiatives(3_000, 3));
    let expected_training = snapshot.matching(None, &training()).len() as u32;
    for z in [0, 1, 3, 5, 8, 12, 16, 17, 20] {
        assert_eq!(
            total_at_zoom(&snapshot, z, &Filter::default()),
            3_000,
            "z{z}"
        );
        assert_eq!(
            total_at_zoom(&snapshot, z, &training()),
            expected_training,
            "z{z} filtered"
        );
    }
}

#[test]
fn low_zooms_cluster_and_clusters_open() {
    let snapshot = Snapshot::of(random_initiatives(2_000, 3));
    let world = snapshot.tile(TileCoord::new(0, 0, 0).unwrap(), &Filter::default());
    assert!(world.len() < 200, "{} items at z0", world.len());
    let biggest = world
        .iter()
        .filter_map(|i| match i {
            TileItem::Cluster(c) => Some(c),
            _ => None,
        })
        .max_by_key(|c| c.count)
        .unwrap();
    assert!(biggest.expansion_zoom >= 1);
    assert_eq!(
        biggest.skill_areas,
        vec![(SkillArea::DataAi, biggest.count)]
    );
    // Its children add up to it, and its leaves are its members.
    let children = snapshot
        .cluster_children(&biggest.id, &Filter::default())
        .unwrap();
    let sum: u32 = children
        .iter()
        .map(|c| match c {
            TileItem::Cluster(c) => c.count,
            TileItem::Initiative(_) => 1,
        })
        .sum();
    assert_eq!(sum, biggest.count);
    let (page, total) = snapshot
        .cluster_leaves(&biggest.id, &Filter::default(), (0, 10))
        .unwrap();
    assert_eq!((page.len(), total), (10, biggest.count as usize));
    assert_eq!(
        snapshot.cluster_children("0-0-other", &Filter::default()),
        Err(ClusterError::Stale("0-0-other".into()))
    );
    assert!(matches!(
        snapshot.cluster_children("junk", &Filter::default()),
        Err(ClusterError::Malformed(_))
    ));
}

#[test]
fn empty_and_identical_data() {
    let empty = Snapshot::of(Vec::new());
    for z in [0, 10, 20] {
        assert!(
            empty
                .tile(TileCoord::new(z, 0, 0).unwrap(), &Filter::default())
                .is_empty()
        );
    }
    // Many initiatives at one place (city-level coordinates) stay one cluster up to the
    // highest cluster zoom, and expand just above it.
    let same = Snapshot::of(
        (0..50)
            .map(|i| initiative(&format!("s{i}"), 4.35, 50.85))
            .collect(),
    );
    let at16 = same.tile(tile_of(4.35, 50.85, 16), &Filter::default());
    match &at16[..] {
        [TileItem::Cluster(c)] => assert_eq!((c.count, c.expansion_zoom), (50, 17)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        same.tile(tile_of(4.35, 50.85, 17), &Filter::default())
            .len(),
        50
    );
}

/// One change to the data, as the store would report it.
#[derive(Clone, Debug)]
enum Step {
    /// Create or replace the record with this number, at a position and kind.
    Put(u16, f64, f64, bool),
    Delete(u16),
    /// A harvest: many puts in one revision.
    Batch(Vec<(u16, f64, f64, bool)>),
    /// Merge the delta into the base.
    Merge,
}

fn step() -> impl Strategy<Value = Step> {
    let put = (0u16..60, 0.0f64..2.0, 50.0f64..51.0, any::<bool>());
    prop_oneof![
        4 => put.clone().prop_map(|(n, lon, lat, t)| Step::Put(n, lon, lat, t)),
        2 => (0u16..60).prop_map(Step::Delete),
        1 => proptest::collection::vec(put, 1..15).prop_map(Step::Batch),
        1 => Just(Step::Merge),
    ]
}

fn record(n: u16, lon: f64, lat: f64, is_training: bool, revision: u64) -> Initiative {
    let mut it = initiative(&format!("r{n:02}"), lon, lat);
    it.kind = if is_training {
        Kind::Training
    } else {
        Kind::Hub
    };
    it.name = format!("Record {n} rev {revision}").into();
    it.updated_at = jiff::Timestamp::from_second(1_700_000_000 + revision as i64).unwrap();
    it
}

fn test_regions() -> SharedRegions {
    Arc::new(Regions::from_layers(vec![RegionLayer::new(
        Level::Nuts2,
        "test".into(),
        vec![
            square("AA11", 0.0, 50.0, 1.0, 51.0),
            square("AA12", 1.0, 50.0, 2.0, 51.0),
        ],
    )]))
}

/// What a client sees of a snapshot: every answer the property test compares.
fn answers(snapshot: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let filters = [
        Filter::default(),
        training(),
        Filter::default().with_text("rev"),
        Filter {
            nuts: Some(crate::regions::code::NutsFilter::parse(["AA12"]).unwrap()),
            ..Filter::default()
        },
        // Planned against the term bitmaps (kind), the R-tree (the box) and per record
        // (the name), over a base with hidden records and a delta.
        Filter {
            expression: Some(
                crate::cql2::Expression::parse(
                    "NOT kind = 'hub' AND S_INTERSECTS(geometry, BBOX(0.2, 50, 1.5, 51)) \
                     AND name LIKE '%rev%'",
                    crate::cql2::Lang::Text,
                )
                .unwrap(),
            ),
            ..Filter::default()
        },
    ];
    let area = LonLatBox {
        west: 0.3,
        south: 50.2,
        east: 1.4,
        north: 50.9,
    };
    let center = Location {
        lon: 1.0,
        lat: 50.5,
    };
    for filter in &filters {
        let features = |slots: Vec<Slot>| -> Vec<String> {
            slots
                .into_iter()
                .map(|s| serde_json::to_string(&snapshot.feature(s)).unwrap())
                .collect()
        };
        out.push(format!(
            "items {:?}",
            features(snapshot.matching(None, filter))
        ));
        out.push(format!(
            "bbox {:?}",
            features(snapshot.matching(Some(&area), filter))
        ));
        let near: Vec<(String, f64)> = snapshot
            .nearest_within(center, 40_000.0, 7, filter)
            .0
            .iter()
            .map(|h| (snapshot.id(h.slot).to_string(), h.distance_m))
            .collect();
        out.push(format!("near {near:?}"));
        let nearest: Vec<String> = snapshot
            .nearest(center, 5, filter)
            .iter()
            .map(|h| snapshot.id(h.slot).to_string())
            .collect();
        out.push(format!("nearest {nearest:?}"));
        out.push(format!(
            "facets {:?}",
            crate::facets::count(snapshot, Some(&area), filter)
        ));
        let layer = snapshot.regions.layer(Level::Nuts2).unwrap();
        let coverage = crate::regions::coverage::compute(
            snapshot,
            layer,
            filter,
            20_000.0,
            &Default::default(),
        );
        let rows: Vec<(u32, f64)> = coverage
            .rows
            .iter()
            .map(|r| (r.count, r.gap_share))
            .collect();
        out.push(format!(
            "coverage {} {} {rows:?}",
            coverage.matched, coverage.outside_regions
        ));
        // Tiles: the clusters may be drawn differently, but every zoom counts every match
        // exactly once, and the leaves of all clusters are exactly the matches.
        let matches = snapshot.matching(None, filter).len() as u32;
        for z in [0, 6, 9, 12, 17] {
            assert_eq!(total_at_zoom(snapshot, z, filter), matches, "z{z}");
        }
        let mut members: Vec<String> = Vec::new();
        for tile in [tile_of(1.0, 50.5, 3)] {
            for item in snapshot.tile(tile, filter) {
                match item {
                    TileItem::Initiative(s) => members.push(snapshot.id(s).into()),
                    TileItem::Cluster(c) => {
                        let (slots, total) =
                            snapshot.cluster_leaves(&c.id, filter, (0, 10_000)).unwrap();
                        assert_eq!(total, c.count as usize);
                        members.extend(slots.into_iter().map(|s| snapshot.id(s).to_string()));
                    }
                }
            }
        }
        members.sort();
        out.push(format!("tile members {members:?}"));
    }
    out.push(format!(
        "times {:?} {:?} {}",
        snapshot.first_modified,
        snapshot.last_modified,
        snapshot.len()
    ));
    let tombstones: Vec<&str> = snapshot.tombstones.iter().map(|t| &*t.id).collect();
    out.push(format!("tombstones {tombstones:?}"));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random streams of creates, replacements, deletions, harvests and merges, applied one
    /// by one: after every step each answer equals that of a snapshot built from scratch.
    #[test]
    fn incremental_snapshots_answer_like_rebuilt_ones(
        seed in proptest::collection::vec((0u16..60, 0.0f64..2.0, 50.0f64..51.0, any::<bool>()), 0..40),
        steps in proptest::collection::vec(step(), 1..25),
    ) {
        let regions = test_regions();
        let clustering = ClusterOptions::default();
        let mut live: BTreeMap<u16, Initiative> = BTreeMap::new();
        let mut dead: BTreeMap<u16, Tombstone> = BTreeMap::new();
        for (n, lon, lat, t) in seed {
            live.insert(n, record(n, lon, lat, t, 1));
        }
        let changes = Changes {
            revision: 1,
            instance: "test".into(),
            live: live.values().map(|i| (1, i.clone())).collect(),
            deleted: Vec::new(),
        };
        let mut snapshot = Snapshot::from_store(changes, clustering, regions.clone());
        let mut revision = 1;
        for step in steps {
            revision += 1;
            let mut changes = Changes {
                revision,
                instance: "test".into(),
                live: Vec::new(),
                deleted: Vec::new(),
            };
            let mut put = |n: u16, lon: f64, lat: f64, t: bool, changes: &mut Changes| {
                let it = record(n, lon, lat, t, revision);
                dead.remove(&n);
                live.insert(n, it.clone());
                changes.live.retain(|(_, i)| i.id != it.id);
                changes.live.push((revision, it));
            };
            let merge = matches!(step, Step::Merge);
            match step {
                Step::Put(n, lon, lat, t) => put(n, lon, lat, t, &mut changes),
                Step::Batch(puts) => {
                    for (n, lon, lat, t) in puts {
                        put(n, lon, lat, t, &mut changes);
                    }
                }
                Step::Delete(n) => {
                    if let Some(gone) = live.remove(&n) {
                        let tombstone = Tombstone {
                            id: gone.id.clone(),
                            deleted_at: jiff::Timestamp::from_second(1_800_000_000 + revision as i64).unwrap(),
                        };
                        dead.insert(n, tombstone.clone());
                        changes.deleted.push((revision, tombstone));
                    }
                }
                Step::Merge => {}
            }
            snapshot = if merge {
                let base = Arc::new(merge_base(&snapshot));
                let at = snapshot.revision;
                Snapshot::rebase(&snapshot, base, at)
            } else {
                snapshot.apply(changes)
            };
            let scratch = Snapshot::from_store(
                Changes {
                    revision: snapshot.revision,
                    instance: "test".into(),
                    live: live.values().map(|i| (0, i.clone())).collect(),
                    deleted: dead.values().map(|t| (0, t.clone())).collect(),
                },
                clustering,
                regions.clone(),
            );
            prop_assert_eq!(snapshot.version.clone(), scratch.version.clone());
            let (got, expected) = (answers(&snapshot), answers(&scratch));
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(g, e);
            }
        }
    }
}

#[test]
fn a_merge_started_before_later_changes_keeps_them() {
    let regions = test_regions();
    let clustering = ClusterOptions::default();
    let first: Vec<Initiative> = (0..20).map(|n| record(n, 0.5, 50.5, false, 1)).collect();
    let start = Snapshot::from_store(
        Changes {
            revision: 1,
            instance: "i".into(),
            live: first.iter().map(|i| (1, i.clone())).collect(),
            deleted: Vec::new(),
        },
        clustering,
        regions.clone(),
    );
    let changed = start.apply(Changes {
        revision: 2,
        instance: "i".into(),
        live: vec![(2, record(3, 1.5, 50.5, true, 2))],
        deleted: Vec::new(),
    });
    // The merge reads revision 2; revision 3 arrives while it runs.
    let base = Arc::new(merge_base(&changed));
    let later = changed.apply(Changes {
        revision: 3,
        instance: "i".into(),
        live: vec![(3, record(4, 1.6, 50.6, true, 3))],
        deleted: vec![(
            3,
            Tombstone {
                id: "r05".into(),
                deleted_at: jiff::Timestamp::from_second(1_900_000_000).unwrap(),
            },
        )],
    });
    let rebased = Snapshot::rebase(&later, base, 2);
    assert_eq!(
        rebased.delta_size(),
        1 + 2,
        "one delta record hiding two base ones"
    );
    assert_eq!(answers(&rebased), answers(&later));
    assert_eq!(rebased.len(), 19);
    assert_eq!(rebased.by_id("r04").unwrap().name, "Record 4 rev 3");
    assert_eq!(rebased.by_id("r03").unwrap().name, "Record 3 rev 2");
    assert!(rebased.by_id("r05").is_none());
}

#[test]
fn a_saved_base_reads_back_the_same_and_damage_is_detected() {
    let regions = test_regions();
    let clustering = ClusterOptions::default();
    let mut initiatives = random_initiatives(2_000, 21);
    initiatives[7].start = Some(jiff::civil::date(2021, 3, 4));
    initiatives[8].languages = Box::new([]);
    initiatives[9].description = "Łódź, Kraków — Ελλάδα".into();
    let snapshot = Snapshot::from_store(
        Changes {
            revision: 9,
            instance: "inst".into(),
            live: initiatives.iter().map(|i| (9, i.clone())).collect(),
            deleted: Vec::new(),
        },
        clustering,
        regions.clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db.readmodel");
    let stamp = persist::Stamp {
        instance: "inst".into(),
        revision: 9,
        fingerprint: persist::fingerprint(clustering, &regions.fingerprint()),
    };
    persist::save(&path, snapshot.base(), &stamp).unwrap();
    let same = |s: &persist::Stamp| *s == stamp;
    let (base, read) = persist::load(&path, same).unwrap();
    assert_eq!(read, stamp);
    let loaded = Snapshot::from_base(
        Arc::new(base),
        snapshot.version.clone(),
        9,
        clustering,
        regions.clone(),
    );
    assert_eq!(answers(&loaded), answers(&snapshot));
    for slot in snapshot.all() {
        assert_eq!(loaded.get(slot), snapshot.get(slot));
        assert_eq!(loaded.placement(slot), snapshot.placement(slot));
    }

    // A stamp the caller does not accept (another store, other settings): not used.
    assert!(matches!(
        persist::load(&path, |s| s.instance == "another"),
        Err(persist::PersistError::Foreign(_))
    ));
    // Truncated anywhere, or one byte changed anywhere: detected, never served.
    let bytes = std::fs::read(&path).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    for _ in 0..40 {
        let cut = rng.random_range(0..bytes.len());
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(persist::load(&path, same).is_err(), "cut at {cut}");
        let mut flipped = bytes.clone();
        let at = rng.random_range(0..bytes.len());
        flipped[at] ^= 1 << rng.random_range(0..8);
        std::fs::write(&path, &flipped).unwrap();
        assert!(persist::load(&path, same).is_err(), "flip at {at}");
    }
    std::fs::write(&path, b"not a read model at all").unwrap();
    assert!(matches!(
        persist::load(&path, same),
        Err(persist::PersistError::Foreign(_))
    ));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        persist::load(&path, same),
        Err(persist::PersistError::Missing)
    ));
}
