//! Harvesting partner feeds end to end, against a local HTTP server that plays the partner:
//! paging, a malformed record, a changed and a vanished record, conditional GET, a 500, a slow
//! response, a redirect loop, an oversized body, CSV with a mapping, the CLI and `--harvest`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use common::*;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use skillsmap::harvest::mapping::Mapping;
use skillsmap::harvest::source::{Fetcher, Limits, Location};
use skillsmap::harvest::{self, Feed, HarvestError, Summary};
use skillsmap::store::Store;

/// What the partner publishes; tests change it between runs.
struct Partner {
    /// Record ids and the city of each; a city of "" makes that record invalid.
    records: Vec<(String, String)>,
    page_size: usize,
    /// Bumped whenever the records change; the partner's ETag.
    version: u32,
    requests: usize,
    /// What the last request said it could decode.
    accept_encoding: String,
}

type Shared = Arc<Mutex<Partner>>;

fn partner_record(id: &str, city: &str) -> Value {
    let n: f64 = id.trim_start_matches("K-").parse().unwrap();
    let url = if city.is_empty() {
        "javascript:alert(1)"
    } else {
        "https://partner.example/"
    };
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [10.0 + n * 0.01, 50.0]},
        "properties": {
            "title": format!("Partner course {id}"), "description": "A course.",
            "organisation": "Partner", "url": url, "country": "DE", "city": city,
            "topics": "Cyber-Sicherheit;cloud", "audience": ["smes"], "type": "Schulung"
        }
    })
}

const MAPPING: &str = r#"
    [fields]
    name = "title"
    skill_areas = "topics"
    target_groups = "audience"
    kind = "type"
    [values.skill_areas]
    "Cyber-Sicherheit" = "cybersecurity"
    [values.kind]
    "Schulung" = "training"
    [defaults]
    languages = ["de"]
"#;

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn items(
    State(partner): State<Shared>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let mut partner = partner.lock().unwrap();
    partner.requests += 1;
    partner.accept_encoding = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let etag = format!("\"v{}\"", partner.version);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let page = q.page.unwrap_or(1);
    let start = (page - 1) * partner.page_size;
    let features: Vec<Value> = partner
        .records
        .iter()
        .skip(start)
        .take(partner.page_size)
        .map(|(id, city)| partner_record(id, city))
        .collect();
    let mut links = vec![json!({"rel": "self", "href": format!("items?page={page}")})];
    if start + partner.page_size < partner.records.len() {
        // Relative, as many servers write them.
        links.push(json!({"rel": "next", "href": format!("items?page={}", page + 1)}));
    }
    let body = json!({"type": "FeatureCollection", "features": features, "links": links});
    ([(header::ETAG, etag)], axum::Json(body)).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(10)).await;
    "{}"
}

async fn huge() -> Response {
    // Streamed without a length, so only counting the bytes can catch it.
    let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
    let stream =
        futures_util::stream::iter((0..64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    axum::body::Body::from_stream(stream).into_response()
}

async fn csv() -> Response {
    let text = "ref;titel;laenge;breite;themen;art;land;stadt;url;gruppen\n\
                1;Cyberwerkstatt;6.96;50.94;Cyber-Sicherheit|Cloud-Dienste;Schulung;DE;Köln;https://a.example;smes\n\
                2;Ohne Ort;;;cloud;Schulung;DE;Bonn;https://b.example;smes\n";
    ([(header::CONTENT_TYPE, "text/csv")], text).into_response()
}

/// Starts the partner on a free port; returns its base URL.
async fn start_partner(partner: Shared) -> String {
    let app = Router::new()
        .route("/items", get(items))
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/slow", get(slow))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/huge", get(huge))
        .route("/courses.csv", get(csv))
        .with_state(partner)
        // Compressed whenever the harvester accepts it, as most servers do.
        .layer(tower_http::compression::CompressionLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn partner_with(n: usize) -> Shared {
    let mut records: Vec<(String, String)> = (0..n)
        .map(|i| (format!("K-{i}"), "Frankfurt".to_string()))
        .collect();
    records[5].1 = String::new(); // one malformed record, on page 2
    Arc::new(Mutex::new(Partner {
        records,
        page_size: 4,
        version: 1,
        requests: 0,
        accept_encoding: String::new(),
    }))
}

async fn run(
    store: &mut Store,
    source: &str,
    mapping: &str,
    limits: Limits,
) -> Result<Summary, HarvestError> {
    let feed = Feed::new(
        Location::parse(source)?,
        Mapping::parse(mapping).unwrap(),
        Some("partner".into()),
    )?;
    let fetcher = Fetcher::new(limits)?;
    let validators = harvest::last_validators(store, &feed)?;
    let outcome =
        harvest::collect(&feed, &fetcher, validators.as_ref(), &ProgressBar::hidden()).await?;
    Ok(harvest::apply(store, &feed, outcome)?.0)
}

fn new_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.db")).unwrap()
}

/// The store's live initiatives in id order.
fn live(store: &mut Store) -> Vec<skillsmap::model::Initiative> {
    let mut live: Vec<_> = store
        .changes_since(0)
        .unwrap()
        .live
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    live
}

fn live_ids(store: &mut Store) -> Vec<String> {
    live(store).iter().map(|i| i.id.to_string()).collect()
}

#[tokio::test]
async fn a_paged_feed_is_harvested_and_changes_on_the_second_run() {
    let partner = partner_with(11);
    let base = start_partner(partner.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir);
    let url = format!("{base}/items");

    let first = run(&mut store, &url, MAPPING, Limits::default())
        .await
        .unwrap();
    assert_eq!(
        (first.added, first.updated, first.unchanged),
        (10, 0, 0),
        "{first}"
    );
    assert_eq!(first.rejected.len(), 1);
    assert_eq!(first.rejected[0].position, "feature 1 (page 2)");
    assert_eq!(first.rejected[0].source_id.as_deref(), Some("K-5"));
    assert!(
        first.rejected[0].reason.contains("properties.url"),
        "{:?}",
        first.rejected
    );
    assert_eq!(partner.lock().unwrap().requests, 3, "three pages");
    assert!(
        partner.lock().unwrap().accept_encoding.contains("gzip"),
        "pages were fetched gzip-compressed"
    );
    let contents = live(&mut store);
    let one = contents.iter().find(|i| &*i.id == "partner-k-0").unwrap();
    assert_eq!(&*one.name, "Partner course K-0");
    assert_eq!(
        one.skill_areas.iter().map(|a| a.slug()).collect::<Vec<_>>(),
        ["cybersecurity", "cloud"]
    );
    assert_eq!(one.kind.slug(), "training");

    // Unchanged feed: the partner answers 304 to our conditional request.
    let same = run(&mut store, &url, MAPPING, Limits::default())
        .await
        .unwrap();
    assert!(same.not_modified, "{same}");

    {
        let mut p = partner.lock().unwrap();
        p.records[0].1 = "Mainz".into(); // changed
        p.records.remove(3); // vanished
        p.version += 1;
    }
    let second = run(&mut store, &url, MAPPING, Limits::default())
        .await
        .unwrap();
    assert_eq!(
        (second.added, second.updated, second.unchanged),
        (0, 1, 8),
        "{second}"
    );
    assert_eq!(second.retired, ["partner-k-3"]);
    assert_eq!(second.rejected.len(), 1, "still malformed, still reported");
    let tombstones = store.changes_since(0).unwrap().deleted;
    assert!(tombstones.iter().any(|(_, t)| &*t.id == "partner-k-3"));
    let contents = live(&mut store);
    let changed = contents.iter().find(|i| &*i.id == "partner-k-0").unwrap();
    assert_eq!(&*changed.city, "Mainz");
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[tokio::test]
async fn an_unusable_source_changes_nothing() {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir);
    run(
        &mut store,
        &format!("{base}/items"),
        MAPPING,
        Limits::default(),
    )
    .await
    .unwrap();
    let before = (store.revision().unwrap(), live_ids(&mut store));
    let quick = Limits {
        timeout: Duration::from_secs(1),
        max_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let cases = [
        ("/broken", "500"),
        ("/slow", "timed out"),
        ("/loop", "redirect"),
        ("/huge", "larger than the limit of 1048576 bytes"),
        ("/courses.csv", "no \"lon\" column"),
    ];
    for (path, expected) in cases {
        let error = run(&mut store, &format!("{base}{path}"), MAPPING, quick)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(expected), "{path}: {error}");
    }
    let unreachable = run(&mut store, "http://127.0.0.1:1/items", MAPPING, quick)
        .await
        .unwrap_err();
    assert!(
        matches!(unreachable, HarvestError::Fetch { .. }),
        "{unreachable}"
    );
    assert_eq!(
        (store.revision().unwrap(), live_ids(&mut store)),
        before,
        "nothing retired or changed"
    );
}

#[tokio::test]
async fn csv_feeds_map_columns_and_terms() {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(&dir);
    let mapping = r#"
        id = "ref"
        [fields]
        name = "titel"
        skill_areas = "themen"
        kind = "art"
        country = "land"
        city = "stadt"
        target_groups = "gruppen"
        [values.skill_areas]
        "Cyber-Sicherheit" = "cybersecurity"
        "Cloud-Dienste" = "cloud"
        [values.kind]
        "Schulung" = "training"
        [defaults]
        description = "(no description)"
        organisation = "Partner"
        languages = ["de"]
        [csv]
        lon = "laenge"
        lat = "breite"
        delimiter = ";"
        list_separator = "|"
    "#;
    let summary = run(
        &mut store,
        &format!("{base}/courses.csv"),
        mapping,
        Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.added, 1, "{summary}");
    assert_eq!(summary.rejected[0].position, "line 3");
    assert!(
        summary.rejected[0].reason.contains("geometry"),
        "{:?}",
        summary.rejected
    );
    let contents = live(&mut store);
    let one = &contents[0];
    assert_eq!((&*one.id, &*one.city), ("partner-1", "Köln"));
    assert_eq!((one.location.lon, one.location.lat), (6.96, 50.94));
    assert_eq!(
        one.skill_areas.iter().map(|a| a.slug()).collect::<Vec<_>>(),
        ["cybersecurity", "cloud"]
    );
}

#[tokio::test]
async fn the_cli_reports_a_summary_and_fails_on_an_unusable_source() {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, format!("source = \"partner\"\n{MAPPING}")).unwrap();
    let db = dir.path().join("store.db");
    let import = |url: String| {
        let mapping = mapping.clone();
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(binary())
                .args(["import", &url, "--timeout", "2s"])
                .arg("--mapping")
                .arg(&mapping)
                .arg("--db")
                .arg(&db)
                .env("SKILLSMAP_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let ok = import(format!("{base}/items")).await.unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(
        stdout.contains("7 added, 0 updated, 0 unchanged, 1 rejected, 0 retired"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rejected feature 1 (page 2) (id K-5): "),
        "{stdout}"
    );
    assert!(
        stdout.contains("properties.url: \"javascript:alert(1)\" must be"),
        "{stdout}"
    );
    let failed = import(format!("{base}/broken")).await.unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("500"), "{stderr}");
    // A new store was seeded first, as `serve` would have done.
    let mut store = Store::open(&db).unwrap();
    assert_eq!(live(&mut store).len(), 292 + 7);
}

#[tokio::test]
async fn the_service_harvests_feeds_on_a_schedule_and_survives_failing_ones() {
    let partner = partner_with(8);
    let base = start_partner(partner.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mapping.toml"), MAPPING).unwrap();
    let feeds = dir.path().join("feeds.toml");
    std::fs::write(
        &feeds,
        format!(
            "[[feed]]\nname = \"partner\"\nsource = \"{base}/items\"\nmapping = \"mapping.toml\"\nevery = \"1s\"\n\n\
             [[feed]]\nname = \"broken\"\nsource = \"{base}/broken\"\nevery = \"1s\"\n"
        ),
    )
    .unwrap();
    let mut config = skillsmap::config::ServeConfig::local(None);
    config.harvest = Some(feeds);
    let server = start_with(config, None).await;
    let url = format!("{}/collections/initiatives/items/partner-k-0", server.base);
    assert_eq!(
        wait_for_status(&url, 200).await,
        200,
        "the scheduled harvest published the feed"
    );
    {
        let mut p = partner.lock().unwrap();
        p.records.retain(|(id, _)| id != "K-1");
        p.version += 1;
    }
    let gone = format!("{}/collections/initiatives/items/partner-k-1", server.base);
    assert_eq!(
        wait_for_status(&gone, 404).await,
        404,
        "the next run retired the vanished record"
    );
    let (status, _, health) = get_json(&format!("{}/healthz", server.base)).await;
    assert_eq!(
        status, 200,
        "the failing feed did not take the service down"
    );
    assert_eq!(health["initiatives"], 292 + 6);
}

/// Polls `url` for up to ten seconds until it answers `wanted`; returns the last status.
async fn wait_for_status(url: &str, wanted: u16) -> u16 {
    let mut status = 0;
    for _ in 0..100 {
        status = client().get(url).send().await.unwrap().status().as_u16();
        if status == wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}
