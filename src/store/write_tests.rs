//! Writes' deadlines, idempotency records and the erasure of submitters' addresses, checked
//! on both back-ends.

use std::time::{Duration, Instant};

use super::tests::{initiative, on_each_store, tamper};
use super::*;

fn keyed(key: &str, fingerprint: &str, body: &str) -> WriteGuard {
    let guard = WriteGuard {
        deadline: Some(Instant::now() + Duration::from_secs(30)),
        key: Some(KeyRecord {
            scope: "alice".into(),
            key: key.into(),
            fingerprint: fingerprint.into(),
            response: Default::default(),
            expired_before: 0.0,
        }),
    };
    let response = StoredResponse {
        status: 201,
        headers: vec![("location".into(), format!("/items/{body}"))],
        body: body.as_bytes().to_vec(),
    };
    guard.key.as_ref().unwrap().response.set(response).unwrap();
    guard
}

#[test]
fn a_key_is_recorded_with_its_write_or_not_at_all() {
    on_each_store("idempotency-records", |location| {
        let mut store = Store::open(location).unwrap();
        assert_eq!(store.keyed_response("alice", "k1", 0.0).unwrap(), None);
        store
            .create(&initiative("a", "Paris"), "alice", &keyed("k1", "f1", "a"))
            .unwrap();
        let found = store.keyed_response("alice", "k1", 0.0).unwrap().unwrap();
        assert_eq!(found.fingerprint, "f1");
        assert_eq!(found.response.status, 201);
        assert_eq!(found.response.body, b"a");
        assert_eq!(
            found.response.headers,
            [("location".into(), "/items/a".into())]
        );
        // Another writer's key of the same name is another key.
        assert_eq!(store.keyed_response("bob", "k1", 0.0).unwrap(), None);
        // A write that fails records nothing.
        let failed = store.create(&initiative("a", "Lyon"), "alice", &keyed("k2", "f2", "x"));
        assert!(matches!(failed, Err(StoreError::AlreadyExists(_))));
        assert_eq!(store.keyed_response("alice", "k2", 0.0).unwrap(), None);
        // A key taken meanwhile (by a request that committed first) refuses the second write,
        // which is rolled back whole.
        let revision = store.revision().unwrap();
        let second = store.create(&initiative("b", "Lyon"), "alice", &keyed("k1", "f1", "b"));
        assert!(matches!(second, Err(StoreError::KeyInUse(_))), "{second:?}");
        assert_eq!(store.revision().unwrap(), revision);
        assert!(!super::tests::live_ids(&mut store).contains(&"b".to_string()));
        // Expired keys are not found, are pruned, and may be taken again.
        let later = epoch_seconds(Timestamp::now()) + 1.0;
        assert_eq!(store.keyed_response("alice", "k1", later).unwrap(), None);
        let mut again = keyed("k1", "f3", "c");
        again.key.as_mut().unwrap().expired_before = later;
        store
            .create(&initiative("c", "Nice"), "alice", &again)
            .unwrap();
        assert_eq!(
            store
                .keyed_response("alice", "k1", 0.0)
                .unwrap()
                .unwrap()
                .fingerprint,
            "f3"
        );
        let pruned = store
            .prune_keys(Timestamp::now() + jiff::SignedDuration::from_secs(10))
            .unwrap();
        assert_eq!(pruned, 1);
        assert_eq!(store.keyed_response("alice", "k1", 0.0).unwrap(), None);
    });
}

#[test]
fn a_write_past_its_deadline_rolls_back() {
    on_each_store("deadline", |location| {
        let mut store = Store::open(location).unwrap();
        let revision = store.revision().unwrap();
        let late = WriteGuard {
            deadline: Some(Instant::now()),
            key: None,
        };
        let refused = store.create(&initiative("late", "Paris"), "alice", &late);
        assert!(
            matches!(refused, Err(StoreError::Unavailable(_))),
            "{refused:?}"
        );
        let refused = store.submit("s-late", "{}", "192.0.2.9", &late);
        assert!(
            matches!(refused, Err(StoreError::Unavailable(_))),
            "{refused:?}"
        );
        assert_eq!(store.revision().unwrap(), revision);
        assert!(super::tests::live_ids(&mut store).is_empty());
        assert_eq!(store.count_submissions(None).unwrap(), 0);
    });
}

#[test]
fn submitters_addresses_are_erased_once_older_than_the_retention() {
    on_each_store("retention", |location| {
        let mut store = Store::open(location).unwrap();
        let text = crate::feature::canonical_json(&initiative("p", "Graz"));
        let none = WriteGuard::none();
        store.submit("s-old", &text, "192.0.2.1", &none).unwrap();
        store.submit("s-new", &text, "192.0.2.2", &none).unwrap();
        store
            .admit(
                "192.0.2.1",
                Quota {
                    per_hour: 30,
                    burst: 10,
                },
            )
            .unwrap()
            .unwrap();
        // Backdated, as if made 40 days ago (the rate-limit row too: it limits nothing now).
        tamper(
            location,
            "UPDATE submissions SET submitted_at = '2020-01-01T00:00:00Z' WHERE id = 's-old';
             UPDATE audit SET at = '2020-01-01T00:00:00Z' WHERE submission_id = 's-old';
             UPDATE rate_limits SET arrival = 1577836800;",
        );
        let cutoff = Timestamp::now() - jiff::SignedDuration::from_hours(30 * 24);
        let erased = store.erase_addresses(cutoff).unwrap();
        assert_eq!(
            erased,
            Erased {
                submissions: 1,
                audit_entries: 1,
                rate_limits: 1
            }
        );
        let old = store.submission("s-old").unwrap().unwrap();
        assert_eq!(old.client, retention::ERASED);
        assert_eq!(old.status, SubmissionStatus::Pending, "the proposal stays");
        assert_eq!(
            store.submission("s-new").unwrap().unwrap().client,
            "192.0.2.2"
        );
        let actors: Vec<String> = store
            .audit_log(0, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.actor)
            .collect();
        assert_eq!(actors, ["public (address erased)", "public 192.0.2.2"]);
        // A second pass finds nothing more.
        assert_eq!(store.erase_addresses(cutoff).unwrap(), Erased::default());
    });
}
