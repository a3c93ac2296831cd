//! The store's behaviour, checked on both back-ends: SQLite always, PostgreSQL on the server
//! `SKILLSMAP_TEST_POSTGRES` names (a fresh database per test).

use super::*;
use scratch::{ScratchDatabase, server_url};

pub(super) fn initiative(id: &str, city: &str) -> Initiative {
    let text = format!(
        r#"{{"type":"Feature","id":"{id}","geometry":{{"type":"Point","coordinates":[2.35,48.85]}},
        "properties":{{"name":"N","description":"D","organisation":"O","url":"https://e.org",
        "country":"FR","city":"{city}","skill_areas":["iot"],"target_groups":["smes"],
        "kind":"hub","languages":["fr"],"updated_at":"2026-01-01T00:00:00Z","source":"S"}}}}"#
    );
    dataset::parse_feature(&text).unwrap().0
}

/// Runs `check` on a new SQLite store, then on a new PostgreSQL one when a server is given.
pub(super) fn on_each_store(test: &str, check: impl Fn(&StoreLocation)) {
    let dir = tempfile::tempdir().unwrap();
    check(&StoreLocation::Sqlite(dir.path().join("s.db")));
    if let Some(server) = server_url(test) {
        let database = ScratchDatabase::create(&server).unwrap();
        check(&database.location());
    }
}

/// Runs raw SQL on the store behind `location`, as an operator (or damage) would.
pub(super) fn tamper(location: &StoreLocation, sql: &str) {
    match location {
        StoreLocation::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(sql)
            .unwrap(),
        StoreLocation::Postgres(url) => scratch::admin(url, sql.to_string()).unwrap(),
    }
}

pub(super) fn live_ids(store: &mut Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .changes_since(0)
        .unwrap()
        .live
        .iter()
        .map(|(_, i)| i.id.to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    on_each_store("migrations", |location| {
        let mut store = Store::open(location).unwrap();
        store
            .seed_if_empty(&[initiative("a", "Paris")], "seed")
            .unwrap();
        drop(store);
        let mut again = Store::open(location).unwrap();
        assert_eq!(live_ids(&mut again), ["a"]);
        drop(again);
        tamper(
            location,
            match location {
                StoreLocation::Sqlite(_) => "PRAGMA user_version = 99",
                StoreLocation::Postgres(_) => {
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')"
                }
            },
        );
        assert!(matches!(
            Store::open(location),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    });
}

#[test]
fn seeding_happens_once_even_when_processes_start_together() {
    on_each_store("seeding", |location| {
        let seeded: Vec<Option<u64>> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..3)
                .map(|_| {
                    scope.spawn(|| {
                        let mut store = Store::open(location).unwrap();
                        store
                            .seed_if_empty(
                                &[initiative("a", "Paris"), initiative("b", "Lyon")],
                                "seed",
                            )
                            .unwrap()
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(
            seeded.iter().filter(|s| s.is_some()).count(),
            1,
            "{seeded:?}"
        );
        let mut store = Store::open(location).unwrap();
        assert!(!store.is_empty().unwrap());
        assert_eq!(store.revision().unwrap(), 1);
        assert_eq!(store.audit_log(0, 10).unwrap().len(), 1);
    });
}

#[test]
fn every_change_bumps_the_revision_and_deletes_leave_tombstones() {
    on_each_store("revisions", |location| {
        let mut store = Store::open(location).unwrap();
        let r1 = store
            .seed_if_empty(&[initiative("a", "Paris")], "seed")
            .unwrap()
            .unwrap();
        let r2 = store
            .create(&initiative("b", "Lyon"), "alice", &WriteGuard::none())
            .unwrap();
        assert!(r2 > r1);
        let (_, r3) = store
            .change(
                "a",
                "alice",
                "delete",
                |_| true,
                |_| Ok(None),
                &WriteGuard::none(),
            )
            .unwrap();
        assert!(r3 > r2);
        let all = store.changes_since(0).unwrap();
        assert_eq!(all.revision, r3);
        assert_eq!(all.live.len(), 1);
        assert_eq!(
            all.live[0].0, r2,
            "each record carries the revision that wrote it"
        );
        assert_eq!(all.deleted.len(), 1);
        assert_eq!((all.deleted[0].0, &*all.deleted[0].1.id), (r3, "a"));
        let since = store.changes_since(r2).unwrap();
        assert!(since.live.is_empty());
        assert_eq!(since.deleted.len(), 1);
        assert!(matches!(
            store.create(&initiative("b", "Lyon"), "alice", &WriteGuard::none()),
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(matches!(
            store.change(
                "a",
                "alice",
                "delete",
                |_| true,
                |_| Ok(None),
                &WriteGuard::none()
            ),
            Err(StoreError::NoSuchInitiative(_))
        ));
        assert!(matches!(
            store.change(
                "b",
                "bob",
                "replace",
                |_| false,
                |i| Ok(Some(i)),
                &WriteGuard::none()
            ),
            Err(StoreError::PreconditionFailed(_))
        ));
        // A deleted id may be used again.
        let r4 = store
            .create(&initiative("a", "Nice"), "alice", &WriteGuard::none())
            .unwrap();
        assert_eq!(store.changes_since(r3).unwrap().live[0].0, r4);
        assert_eq!(store.revision().unwrap(), r4);
    });
}

#[test]
fn a_failed_or_empty_change_leaves_no_trace() {
    on_each_store("no-trace", |location| {
        let mut store = Store::open(location).unwrap();
        store
            .seed_if_empty(&[initiative("a", "Paris")], "seed")
            .unwrap();
        let before = store.revision().unwrap();
        let result = store.change(
            "a",
            "alice",
            "replace",
            |_| true,
            |_| Err(StoreError::Invalid(Vec::new())),
            &WriteGuard::none(),
        );
        assert!(matches!(result, Err(StoreError::Invalid(_))));
        assert_eq!(store.revision().unwrap(), before);
        // The same record with only a newer time: nothing is written.
        let (after, revision) = store
            .change(
                "a",
                "alice",
                "replace",
                |_| true,
                |mut i| {
                    i.updated_at = "2027-01-01T00:00:00Z".parse().unwrap();
                    Ok(Some(i))
                },
                &WriteGuard::none(),
            )
            .unwrap();
        assert_eq!(revision, before);
        assert_eq!(
            after.unwrap().updated_at.to_string(),
            "2026-01-01T00:00:00Z",
            "the current record, not the one proposed"
        );
        assert_eq!(store.audit_log(0, 100).unwrap().len(), 1);
        // A real change still counts.
        let (_, changed) = store
            .change(
                "a",
                "alice",
                "replace",
                |_| true,
                |mut i| {
                    i.city = "Lille".into();
                    Ok(Some(i))
                },
                &WriteGuard::none(),
            )
            .unwrap();
        assert_eq!(changed, before + 1);
    });
}

#[test]
fn harvests_upsert_by_origin_retire_what_vanished_and_count_only_changes() {
    on_each_store("harvests", |location| {
        let mut store = Store::open(location).unwrap();
        store
            .create(
                &initiative("curated", "Paris"),
                "alice",
                &WriteGuard::none(),
            )
            .unwrap();
        let origin = |id| Origin {
            source: "feed",
            source_id: id,
        };
        let end = |etag: Option<&'static str>| RunEnd {
            source: "feed",
            location: "file.geojson",
            etag,
            last_modified: None,
            actor: "harvest feed",
            prune_before: Timestamp::UNIX_EPOCH,
        };
        let ((first, repeated), r1) = store
            .harvest(|h| {
                let a = h.upsert(&initiative("f-1", "Lille"), origin("1"), 1)?;
                let b = h.upsert(&initiative("f-2", "Nice"), origin("2"), 1)?;
                let again = h.upsert(&initiative("f-2", "Nice"), origin("2"), 1)?;
                Ok(((a, b), again))
            })
            .unwrap();
        assert_eq!(first, (Upserted::Added, Upserted::Added));
        assert_eq!(repeated, Upserted::Repeated);
        assert_eq!(r1, 2, "one revision for the batch");
        store.harvest(|h| h.finish_run(&end(None))).unwrap();
        // The same records again, with nothing retired: no new revision.
        let (retired, unchanged) = store
            .harvest(|h| {
                h.upsert(&initiative("f-1", "Lille"), origin("1"), 2)?;
                h.upsert(&initiative("f-2", "Nice"), origin("2"), 2)?;
                let retired = h.retire_unlisted("feed", 2, 10)?;
                h.finish_run(&end(Some("\"e\"")))?;
                Ok(retired)
            })
            .unwrap();
        assert!(retired.is_empty());
        assert_eq!(unchanged, r1);
        assert_eq!(
            store.feed_validators("feed", "file.geojson").unwrap(),
            Some((Some("\"e\"".to_string()), None))
        );
        // A curator renames f-1; the feed then moves it: both changes stay.
        store
            .change(
                "f-1",
                "alice",
                "update",
                |_| true,
                |mut i| {
                    i.name = "Curated name".into();
                    Ok(Some(i))
                },
                &WriteGuard::none(),
            )
            .unwrap();
        let ((outcomes, retired), r2) = store
            .harvest(|h| {
                let moved = h.upsert(&initiative("f-1", "Roubaix"), origin("1"), 3)?;
                let clash = h.upsert(&initiative("curated", "Paris"), origin("9"), 3);
                let retired = h.retire_unlisted("feed", 3, 10)?;
                h.finish_run(&end(None))?;
                Ok(((moved, clash.is_err()), retired))
            })
            .unwrap();
        assert_eq!(outcomes, (Upserted::Updated, true));
        assert_eq!(retired, ["f-2"]);
        assert_eq!(r2, r1 + 2, "the curator's change, then the batch's");
        assert_eq!(live_ids(&mut store), ["curated", "f-1"]);
        let f1 = store
            .changes_since(0)
            .unwrap()
            .live
            .into_iter()
            .find(|(_, i)| &*i.id == "f-1")
            .unwrap()
            .1;
        assert_eq!((&*f1.name, &*f1.city), ("Curated name", "Roubaix"));
        let log = store.audit_log(0, 100).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["create", "harvest", "update", "harvest"]);
        let run: serde_json::Value =
            serde_json::from_str(log[3].after.as_ref().unwrap().get()).unwrap();
        assert_eq!(run["retired"], serde_json::json!(["f-2"]));
        assert_eq!(
            run["updated"]["f-1"]["city"],
            serde_json::json!({"before": "Lille", "after": "Roubaix"})
        );
        assert_eq!(run["updated"]["f-1"].as_object().unwrap().len(), 1);
        assert_eq!(
            run["curated"],
            serde_json::json!({}),
            "the feed kept its name"
        );
        // Pruning: harvest entries older than the cut-off go, curators' stay.
        store
            .harvest(|h| {
                h.finish_run(&RunEnd {
                    prune_before: Timestamp::now() + jiff::SignedDuration::from_secs(60),
                    ..end(None)
                })
            })
            .unwrap();
        let actions: Vec<String> = store
            .audit_log(0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["create", "update"]);
    });
}

#[test]
fn submissions_are_decided_once() {
    on_each_store("submissions", |location| {
        let mut store = Store::open(location).unwrap();
        let text = crate::feature::canonical_json(&initiative("p", "Graz"));
        store
            .submit("s-1", &text, "192.0.2.1", &WriteGuard::none())
            .unwrap();
        store
            .submit("s-2", &text, "192.0.2.1", &WriteGuard::none())
            .unwrap();
        assert_eq!(
            store
                .count_submissions(Some(SubmissionStatus::Pending))
                .unwrap(),
            2
        );
        let (approved, revision) = store
            .approve(
                "s-1",
                "alice",
                |feature| read_initiative("p", feature),
                &WriteGuard::none(),
            )
            .unwrap();
        assert_eq!(&*approved.id, "p");
        assert_eq!(store.revision().unwrap(), revision);
        assert!(matches!(
            store.approve(
                "s-1",
                "alice",
                |f| read_initiative("p", f),
                &WriteGuard::none()
            ),
            Err(StoreError::AlreadyDecided(_, "approved"))
        ));
        assert!(matches!(
            store.approve(
                "s-2",
                "alice",
                |f| read_initiative("p", f),
                &WriteGuard::none()
            ),
            Err(StoreError::AlreadyExists(_))
        ));
        store
            .reject("s-2", "bob", "duplicate", &WriteGuard::none())
            .unwrap();
        let s2 = store.submission("s-2").unwrap().unwrap();
        assert_eq!(
            (s2.status, s2.reason.as_deref()),
            (SubmissionStatus::Rejected, Some("duplicate"))
        );
        assert!(matches!(
            store.reject("nope", "bob", "", &WriteGuard::none()),
            Err(StoreError::NoSuchSubmission(_))
        ));
        let listed = store.submissions(None, 10, 0).unwrap();
        assert_eq!(listed.len(), 2);
        let newest_first = store.audit_log_before(i64::MAX, 2).unwrap();
        assert_eq!(newest_first[0].action, "reject");
    });
}

#[test]
fn the_rate_limit_is_shared_by_every_process_on_the_store() {
    on_each_store("rate-limit", |location| {
        let mut one = Store::open(location).unwrap();
        let mut other = Store::open(location).unwrap();
        let quota = Quota {
            per_hour: 2,
            burst: 3,
        };
        let decisions: Vec<bool> = (0..4)
            .map(|i| {
                let store = if i % 2 == 0 { &mut one } else { &mut other };
                store.admit("192.0.2.7", quota).unwrap().is_ok()
            })
            .collect();
        assert_eq!(decisions, [true, true, true, false]);
        let wait = other.admit("192.0.2.7", quota).unwrap().unwrap_err();
        assert!((1..=1800).contains(&wait), "{wait}");
        assert!(one.admit("192.0.2.8", quota).unwrap().is_ok(), "per client");
    });
}

#[test]
fn one_replica_at_a_time_holds_a_feed_and_the_schedule_is_shared() {
    on_each_store("leases", |location| {
        let mut a = Store::open(location).unwrap();
        let mut b = Store::open(location).unwrap();
        assert_eq!(
            a.claim_harvest("feed", "a", 60.0).unwrap(),
            Claim::Granted { failures: 0 }
        );
        assert!(matches!(
            b.claim_harvest("feed", "b", 60.0).unwrap(),
            Claim::Wait { .. }
        ));
        let due = epoch_seconds(Timestamp::now()) + 3600.0;
        b.release_harvest("feed", "b", 0.0, 0).unwrap();
        assert!(
            matches!(
                b.claim_harvest("feed", "b", 60.0).unwrap(),
                Claim::Wait { .. }
            ),
            "only the holder releases"
        );
        a.release_harvest("feed", "a", due, 2).unwrap();
        match b.claim_harvest("feed", "b", 60.0).unwrap() {
            Claim::Wait { until } => assert!((until - due).abs() < 0.01),
            other => panic!("{other:?}"),
        }
        // A holder that died: its lease lapses.
        assert_eq!(
            a.claim_harvest("other", "a", -1.0).unwrap(),
            Claim::Granted { failures: 0 }
        );
        assert_eq!(
            b.claim_harvest("other", "b", 60.0).unwrap(),
            Claim::Granted { failures: 0 }
        );
    });
}

#[test]
fn quotas_follow_the_cell_rate_algorithm() {
    let quota = Quota {
        per_hour: 60,
        burst: 2,
    };
    let t0 = 1_000_000.0;
    let first = quota.decide(None, t0).unwrap();
    let second = quota.decide(Some(first), t0).unwrap();
    let wait = quota.decide(Some(second), t0).unwrap_err();
    assert!((wait - 60.0).abs() < 1e-6, "{wait}");
    assert!(quota.decide(Some(second), t0 + 60.0).is_ok());
}

#[test]
fn an_unreachable_server_is_unavailable_not_a_bug() {
    // Nothing listens on port 1 of the loopback.
    let result = Store::open(&StoreLocation::Postgres(
        "postgres://nobody@127.0.0.1:1/none".into(),
    ));
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn old_sqlite_stores_migrate_to_records_with_status_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A store as schema 3 left it, with a record written before the evidence fields.
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &sqlite::MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        let old = r#"{"type":"Feature","id":"fr-a","geometry":{"type":"Point","coordinates":[2.35,48.85]},
            "properties":{"name":"N","description":"D","organisation":"O","url":"https://e.org",
            "country":"FR","city":"Paris","skill_areas":["iot"],"target_groups":["smes"],
            "kind":"hub","languages":["fr"],"updated_at":"2026-01-01T00:00:00Z","source":"S"}}"#;
        conn.execute(
            "INSERT INTO initiatives (id, feature, updated_at, revision) VALUES ('fr-a', ?1, '2026-01-01T00:00:00Z', 1)",
            [old],
        )
        .unwrap();
        conn.execute("UPDATE meta SET value = 1 WHERE key = 'revision'", [])
            .unwrap();
    }
    let location = StoreLocation::Sqlite(path.clone());
    let mut store = Store::open(&location).unwrap();
    let stored: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT feature FROM initiatives WHERE id = 'fr-a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(value["properties"]["status"], "active");
    assert_eq!(value["properties"]["location_precision"], "city");
    assert!(value["properties"].get("evidence_url").is_none());
    let contents = store.changes_since(0).unwrap();
    assert_eq!(contents.revision, 2, "the migration is a change of its own");
    let record = &contents.live[0].1;
    assert_eq!(record.status, crate::model::Status::Active);
    assert_eq!(record.evidence_url, None);
    assert_eq!(store.audit_log(0, 10).unwrap()[0].action, "migrate");
    // Running again changes nothing.
    drop(store);
    let mut again = Store::open(&location).unwrap();
    assert_eq!(again.revision().unwrap(), 2);
}
