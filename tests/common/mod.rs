//! Shared test support: a real server on an ephemeral port, and random datasets.

#![allow(dead_code)]

pub mod processes;

use std::path::PathBuf;

use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use skillsmap::config::ServeConfig;
use skillsmap::server::Server;

pub const SKILL_AREAS: &[&str] = &[
    "basic_digital_skills",
    "digital_business",
    "data_ai",
    "iot",
    "cybersecurity",
    "cloud",
    "software_development",
    "advanced_manufacturing",
];
pub const TARGET_GROUPS: &[&str] = &["smes", "employees", "job_seekers", "women_in_tech"];
pub const KINDS: &[&str] = &["training", "hub", "coalition", "competence_centre"];
pub const COUNTRIES: &[&str] = &["DE", "FR", "IT", "PL", "GR"];

/// A server running in this process on 127.0.0.1 with a free port; stops when dropped.
pub struct TestServer {
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _data: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a server on `dataset` (a FeatureCollection), or on the seed data when `None`.
pub async fn start(dataset: Option<&Value>) -> TestServer {
    let (dir, path) = match dataset {
        Some(value) => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("data.geojson");
            std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
            (Some(dir), Some(path))
        }
        None => (None, None),
    };
    start_with(ServeConfig::local(path), dir).await
}

pub async fn start_with(config: ServeConfig, dir: Option<tempfile::TempDir>) -> TestServer {
    let server = Server::bind(config).await.expect("server starts");
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    TestServer {
        base: format!("http://{addr}"),
        shutdown: Some(tx),
        _data: dir,
    }
}

/// One random initiative, as a GeoJSON Feature.
pub fn feature(i: usize, lon: f64, lat: f64, rng: &mut impl rand::Rng) -> Value {
    let pick = |rng: &mut dyn rand::Rng, terms: &[&str]| -> Vec<String> {
        let mut chosen: Vec<String> = terms
            .iter()
            .filter(|_| rng.random_bool(0.3))
            .map(|t| t.to_string())
            .collect();
        if chosen.is_empty() {
            chosen.push(terms[rng.random_range(0..terms.len())].to_string());
        }
        chosen
    };
    let country = COUNTRIES[i % COUNTRIES.len()];
    json!({
        "type": "Feature",
        "id": format!("t-{i:05}"),
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "name": format!("Initiative {i}"),
            "description": if i.is_multiple_of(7) { "Cybersécurité pour les PME à Kraków" } else { "Digital skills for everyone" },
            "organisation": format!("Organisation {}", i % 13),
            "url": format!("https://example.org/{i}"),
            "country": country,
            "city": "Somewhere",
            "skill_areas": pick(rng, SKILL_AREAS),
            "target_groups": pick(rng, TARGET_GROUPS),
            "kind": KINDS[rng.random_range(0..KINDS.len())],
            "languages": ["en"],
            "updated_at": format!("2026-01-{:02}T12:00:00Z", 1 + i % 28),
            "source": "test"
        }
    })
}

/// `n` random initiatives: most around European cities, some anywhere on Earth.
pub fn random_dataset(n: usize, seed: u64) -> Value {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let centres = [
        (13.4, 52.5),
        (2.35, 48.85),
        (21.0, 52.2),
        (23.7, 37.98),
        (12.5, 41.9),
    ];
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let (lon, lat) = if i.is_multiple_of(4) {
                (
                    rng.random_range(-180.0..=180.0),
                    rng.random_range(-90.0..=90.0),
                )
            } else {
                let (clon, clat) = centres[rng.random_range(0..centres.len())];
                (
                    clon + rng.random_range(-3.0..3.0),
                    clat + rng.random_range(-2.0..2.0),
                )
            };
            feature(i, lon, lat, &mut rng)
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// How many initiatives the built-in seed data holds.
pub fn seed_count() -> usize {
    let seed: Value = serde_json::from_str(skillsmap::server::SEED_DATASET).unwrap();
    seed["features"].as_array().unwrap().len()
}

/// The ids of the built-in seed data's closed initiatives (kept for history, off the map by
/// default).
pub fn seed_closed_ids() -> Vec<String> {
    let seed: Value = serde_json::from_str(skillsmap::server::SEED_DATASET).unwrap();
    seed["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["status"] == "closed")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// How many of the built-in seed data's initiatives are active (what the map shows by default).
pub fn seed_active_count() -> usize {
    seed_count() - seed_closed_ids().len()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Asserts HTTP revalidation of `url`: a 200 with a strong ETag and a public Cache-Control;
/// sending the tag back gives 304 with the same tag; and `other_url` (another representation)
/// with that tag still gives 200. Returns the tag.
pub async fn assert_revalidates(url: &str, other_url: &str) -> String {
    let first = client().get(url).send().await.unwrap();
    assert_eq!(first.status(), 200, "{url}");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong etag: {etag}"
    );
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    let again = client()
        .get(url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "{url}");
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    let other = client()
        .get(other_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another representation: {other_url}");
    etag
}

/// Asserts that `url` is refused with a 400 problem+json naming `parameter`.
pub async fn assert_bad_parameter(url: &str, parameter: &str) {
    let (status, content_type, body) = get_json(url).await;
    assert_eq!(status, 400, "{url}");
    assert_eq!(content_type, "application/problem+json", "{url}");
    assert_eq!(body["status"], 400, "{url}");
    assert_eq!(body["parameter"], parameter, "{url}: {body}");
    assert!(
        body["detail"].as_str().unwrap().contains(parameter),
        "{url}: {body}"
    );
}

/// The body of a GET as text.
pub async fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The region with `code` of a `/coverage` table.
pub fn region_row(table: &Value, code: &str) -> Value {
    table["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("no region {code}"))
        .clone()
}

pub async fn get_json(url: &str) -> (reqwest::StatusCode, String, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    (status, content_type, value)
}

/// Great-circle distance in metres, written independently of the library's.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.771_4;
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

pub fn coords(feature: &Value) -> (f64, f64) {
    let c = &feature["geometry"]["coordinates"];
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

pub fn ids(collection: &Value) -> Vec<String> {
    collection["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_skillsmap"))
}

/// The store one test runs on: an SQLite file in a folder of its own, or a fresh database on
/// the PostgreSQL server `SKILLSMAP_TEST_POSTGRES` names; removed when dropped.
pub struct TestStore {
    pub location: skillsmap::store::StoreLocation,
    _dir: Option<tempfile::TempDir>,
    _database: Option<skillsmap::store::scratch::ScratchDatabase>,
}

impl TestStore {
    pub fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        TestStore {
            location: dir.path().join("store.db").into(),
            _dir: Some(dir),
            _database: None,
        }
    }

    /// `None`, with a notice, when no PostgreSQL server is configured outside CI (in CI that
    /// is an error: see `scratch::server_url`).
    pub fn postgres(test: &str) -> Option<TestStore> {
        let server = skillsmap::store::scratch::server_url(test)?;
        let database = skillsmap::store::scratch::ScratchDatabase::create(&server)
            .expect("a scratch database on the test server");
        Some(TestStore {
            location: database.location(),
            _dir: None,
            _database: Some(database),
        })
    }

    /// The location as `--db` takes it.
    pub fn arg(&self) -> String {
        match &self.location {
            skillsmap::store::StoreLocation::Sqlite(path) => path.display().to_string(),
            skillsmap::store::StoreLocation::Postgres(url) => url.clone(),
        }
    }

    pub fn open(&self) -> skillsmap::store::Store {
        skillsmap::store::Store::open(&self.location).expect("the store opens")
    }
}

/// Defines the test `name` twice, as `name::sqlite` and `name::postgres`: the body runs with
/// `$store` bound to a [`TestStore`] of each back-end.
#[macro_export]
macro_rules! on_each_store {
    ($(#[$meta:meta])* async fn $name:ident($store:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn test_body($store: $crate::common::TestStore) $body

            #[tokio::test]
            async fn sqlite() {
                test_body($crate::common::TestStore::sqlite()).await
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(store) = $crate::common::TestStore::postgres(module_path!()) {
                    test_body(store).await
                }
            }
        }
    };
}

/// Everything a store holds: the live initiatives in id order, and the tombstones.
pub struct Everything {
    pub initiatives: Vec<skillsmap::model::Initiative>,
    pub tombstones: Vec<skillsmap::store::Tombstone>,
}

pub fn everything(store: &mut skillsmap::store::Store) -> Everything {
    let all = store.changes_since(0).expect("the store reads");
    let mut initiatives: Vec<_> = all.live.into_iter().map(|(_, i)| i).collect();
    initiatives.sort_by(|a, b| a.id.cmp(&b.id));
    Everything {
        initiatives,
        tombstones: all.deleted.into_iter().map(|(_, t)| t).collect(),
    }
}
