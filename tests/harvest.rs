//! Harvesting partner feeds end to end, against a local HTTP server that plays the partner:
//! paging, a malformed record, a changed and a vanished record, conditional GET, a 500, a slow
//! response, a redirect loop, an oversized body, CSV with a mapping, the CLI and `--harvest`,
//! and the ready mappings of `mappings/` on responses in their sources' exact formats.

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
use skillsmap::store::{Store, StoreLocation, WriteGuard};

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

/// A partner's record; `city` may be `city|title` to give the record another title.
fn partner_record(id: &str, city: &str) -> Value {
    let n: f64 = id.trim_start_matches("K-").parse().unwrap();
    let default_title = format!("Partner course {id}");
    let (city, title) = city.split_once('|').unwrap_or((city, &default_title));
    let url = if city.is_empty() {
        "javascript:alert(1)"
    } else {
        "https://partner.example/"
    };
    json!({
        "type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [10.0 + n * 0.01, 50.0]},
        "properties": {
            "title": title, "description": "A course.",
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

/// A response in a public source's own format, from `tests/fixtures`.
async fn fixture(name: &'static str) -> Response {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(path).unwrap();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
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
        .route(
            "/api/events/geobox",
            get(|| fixture("codeweek-geobox.json")),
        )
        .route(
            "/api/interpreter",
            get(|| fixture("overpass-hackerspaces.json")),
        )
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
    let tools = harvest::Tools {
        fetcher: &fetcher,
        progress: &ProgressBar::hidden(),
        countries: None,
        audit_retention: Duration::from_secs(86_400),
    };
    Ok(
        harvest::run(&feed, &tools, &mut harvest::Target::Own(store))
            .await?
            .0,
    )
}

fn live_ids(store: &mut Store) -> Vec<String> {
    everything(store)
        .initiatives
        .iter()
        .map(|i| i.id.to_string())
        .collect()
}

on_each_store! {
    async fn a_paged_feed_is_harvested_and_changes_on_the_second_run(store) {
    let partner = partner_with(11);
    let base = start_partner(partner.clone()).await;
    let mut store = store.open();
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
    let contents = everything(&mut store);
    let one = contents
        .initiatives
        .iter()
        .find(|i| &*i.id == "partner-k-0")
        .unwrap();
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
    let contents = everything(&mut store);
    assert!(contents.tombstones.iter().any(|t| &*t.id == "partner-k-3"));
    let changed = contents
        .initiatives
        .iter()
        .find(|i| &*i.id == "partner-k-0")
        .unwrap();
    assert_eq!(&*changed.city, "Mainz");
    if let Store::Sqlite(sqlite) = &store {
        assert_eq!(sqlite.integrity_check().unwrap(), "ok");
    }
}
}

on_each_store! {
    async fn an_unusable_source_changes_nothing(store) {
    let base = start_partner(partner_with(8)).await;
    let mut store = store.open();
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
}

on_each_store! {
    async fn csv_feeds_map_columns_and_terms(store) {
    let base = start_partner(partner_with(8)).await;
    let mut store = store.open();
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
    let contents = everything(&mut store);
    let one = &contents.initiatives[0];
    assert_eq!((&*one.id, &*one.city), ("partner-1", "Köln"));
    assert_eq!((one.location.lon, one.location.lat), (6.96, 50.94));
    assert_eq!(
        one.skill_areas.iter().map(|a| a.slug()).collect::<Vec<_>>(),
        ["cybersecurity", "cloud"]
    );
}
}

on_each_store! {
    async fn the_cli_reports_a_summary_and_fails_on_an_unusable_source(store) {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, format!("source = \"partner\"\n{MAPPING}")).unwrap();
    let db = store.arg();
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
    let mut store = store.open();
    assert_eq!(everything(&mut store).initiatives.len(), seed_count() + 7);
}
}

on_each_store! {
    async fn the_service_harvests_feeds_on_a_schedule_and_survives_failing_ones(store) {
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
    config.db = store.location.clone();
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
    assert_eq!(health["initiatives"], seed_count() + 6);
}
}

/// Runs `skillsmap import URL --mapping mappings/MAPPING` into `db`, as a partner would.
async fn import_with_ready_mapping(url: String, mapping: &str, db: &std::path::Path) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let mapping = format!("{root}/mappings/{mapping}");
    let db = db.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary())
            .args(["import", &url, "--mapping", &mapping])
            .arg("--db")
            .arg(&db)
            .args(["--web-dir", &format!("{root}/web")])
            .env("SKILLSMAP_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn stored(store: &mut Store, id: &str) -> Value {
    let initiative = everything(store)
        .initiatives
        .into_iter()
        .find(|i| &*i.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the store"));
    serde_json::from_str(&skillsmap::feature::canonical_json(&initiative)).unwrap()
}

#[tokio::test]
async fn code_week_activities_are_harvested_with_the_ready_mapping() {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let url = format!("{base}/api/events/geobox?lat1=35&long1=-10&lat2=55&long2=25");
    let stdout = import_with_ready_mapping(url.clone(), "codeweek-events.toml", &db).await;
    assert!(
        stdout.contains("3 added, 0 updated, 0 unchanged, 1 rejected, 0 retired"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "rejected record 3 (id /view/880390/untitled-draft): properties.description: missing or empty"
        ),
        "{stdout}"
    );
    let mut store = Store::open(&StoreLocation::Sqlite(db.clone())).unwrap();
    let brussels = stored(
        &mut store,
        "codeweek-view-880101-robots-in-the-library-build-and-code-a-line-follower",
    );
    let p = &brussels["properties"];
    assert_eq!(
        brussels["geometry"]["coordinates"],
        json!([4.3528, 50.8466])
    );
    assert_eq!(
        p["country"], "BE",
        "from the point: the API names no country"
    );
    assert_eq!(p["city"], "Rue de la Montagne 34, 1000 Bruxelles, Belgium");
    assert_eq!(p["organisation"], "Bibliothèque de la Montagne");
    assert_eq!(p["url"], "https://library.example.org/robots");
    assert_eq!(
        p["evidence_url"],
        "https://codeweek.eu/view/880101/robots-in-the-library-build-and-code-a-line-follower"
    );
    assert_eq!(p["skill_areas"], json!(["iot", "software_development"]));
    assert_eq!(p["target_groups"], json!(["young_people"]));
    assert_eq!(p["languages"], json!(["fr", "nl"]));
    assert_eq!(
        (&p["start"], &p["end"]),
        (&json!("2026-10-10"), &json!("2026-10-10"))
    );
    assert_eq!(p["kind"], "awareness");
    assert_eq!(p["status"], "active");
    assert_eq!(p["location_precision"], "address");

    let lisbon = stored(
        &mut store,
        "codeweek-view-880214-introducao-a-inteligencia-artificial-para-professores",
    );
    let p = &lisbon["properties"];
    assert_eq!(p["country"], "PT");
    assert_eq!(
        p["url"], p["evidence_url"],
        "no link of its own: its Code Week page"
    );
    assert_eq!(p["skill_areas"], json!(["data_ai"]));
    assert_eq!(p["target_groups"], json!(["educators"]));
    let krakow = stored(&mut store, "codeweek-view-880377-hour-of-code-w-krakowie");
    let p = &krakow["properties"];
    assert_eq!(p["country"], "PL");
    assert_eq!(
        p["skill_areas"],
        json!(["software_development"]),
        "only \"Other\": the default"
    );
    assert_eq!(p["target_groups"], json!(["job_seekers"]));
    drop(store);

    let again = import_with_ready_mapping(url, "codeweek-events.toml", &db).await;
    assert!(
        again.contains("0 added, 0 updated, 3 unchanged, 1 rejected, 0 retired"),
        "{again}"
    );
}

#[tokio::test]
async fn openstreetmap_hackerspaces_are_harvested_with_the_ready_mapping() {
    let base = start_partner(partner_with(8)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let url = format!(
        "{base}/api/interpreter?data=%5Bout%3Ajson%5D%3Bnwr%5Bleisure%3Dhackerspace%5D%3Bout%20center%3B"
    );
    let stdout = import_with_ready_mapping(url, "osm-hackerspaces-de.toml", &db).await;
    assert!(
        stdout.contains("2 added, 0 updated, 0 unchanged, 1 rejected, 0 retired"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rejected record 2 (id node/1000000003): properties.name: missing"),
        "{stdout}"
    );
    let mut store = Store::open(&StoreLocation::Sqlite(db.clone())).unwrap();
    let node = stored(&mut store, "osm-hackerspaces-de-node-1000000001");
    let p = &node["properties"];
    assert_eq!(node["geometry"]["coordinates"], json!([13.3841, 52.5301]));
    assert_eq!(p["name"], "Beispiel Hackspace Berlin");
    assert_eq!(p["city"], "Berlin");
    assert_eq!(p["url"], "https://hackspace.example.org/");
    assert_eq!(
        p["evidence_url"],
        "https://www.openstreetmap.org/node/1000000001"
    );
    assert_eq!(
        p["description"],
        "Offene Werkstatt mit Elektronik-Labor und wöchentlichem Programmierabend."
    );
    // The way with the same number is another record, placed on its centre.
    let way = stored(&mut store, "osm-hackerspaces-de-way-1000000001");
    let p = &way["properties"];
    assert_eq!(way["geometry"]["coordinates"], json!([11.5755, 48.1374]));
    assert_eq!(p["organisation"], "Beispiel e.V.");
    assert_eq!(p["url"], "https://www.openstreetmap.org/way/1000000001");
    assert_eq!(p["city"], "München");
    assert_eq!(p["location_precision"], "address");
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

on_each_store! {
    async fn a_curated_field_survives_the_next_harvest_and_the_feeds_other_changes_land(store) {
    let partner = partner_with(8);
    let base = start_partner(partner.clone()).await;
    let mut store = store.open();
    let url = format!("{base}/items");
    run(&mut store, &url, MAPPING, Limits::default()).await.unwrap();
    // A curator renames a harvested record (the feed's later updates used to be refused).
    store
        .change(
            "partner-k-0",
            "alice",
            "update",
            |_| true,
            |mut record| {
                record.name = "Named by a curator".into();
                Ok(Some(record))
            },
            &WriteGuard::none(),
        )
        .unwrap();
    {
        let mut p = partner.lock().unwrap();
        p.records[0].1 = "Mainz|Renamed by the partner".into();
        p.version += 1;
    }
    let second = run(&mut store, &url, MAPPING, Limits::default()).await.unwrap();
    assert_eq!((second.updated, second.rejected.len()), (1, 1), "{second}");
    let record = stored(&mut store, "partner-k-0");
    assert_eq!(record["properties"]["name"], "Named by a curator");
    assert_eq!(record["properties"]["city"], "Mainz");

    let log = store.audit_log(0, 1000).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("harvest")).count(),
        2,
        "one entry per run: {actions:?}"
    );
    let curator = log.iter().find(|e| e.actor == "alice").unwrap();
    assert_eq!(curator.initiative_id.as_deref(), Some("partner-k-0"));
    let last = log.last().unwrap();
    assert_eq!((last.action.as_str(), last.actor.as_str()), ("harvest", "harvest partner"));
    let run2: Value = serde_json::from_str(last.after.as_ref().unwrap().get()).unwrap();
    assert_eq!(
        run2["updated"],
        json!({"partner-k-0": {"city": {"before": "Frankfurt", "after": "Mainz"}}}),
        "only the changed record, only its changed field"
    );
    assert_eq!(run2["curated"], json!({"partner-k-0": ["name"]}));
    assert_eq!((run2["added"].as_array().unwrap().len(), run2["retired"].as_array().unwrap().len()), (0, 0));
    let first: Value = serde_json::from_str(
        log.iter().find(|e| e.action == "harvest").unwrap().after.as_ref().unwrap().get(),
    )
    .unwrap();
    assert_eq!(first["added"].as_array().unwrap().len(), 7);
    assert_eq!(first["updated"], json!({}));

    // The curator's value stays on later runs too, while the feed's base moves on.
    {
        let mut p = partner.lock().unwrap();
        p.records[0].1 = "Bonn|Renamed again".into();
        p.version += 1;
    }
    run(&mut store, &url, MAPPING, Limits::default()).await.unwrap();
    let record = stored(&mut store, "partner-k-0");
    assert_eq!(
        (&record["properties"]["name"], &record["properties"]["city"]),
        (&json!("Named by a curator"), &json!("Bonn"))
    );
}
}

/// `skillsmap import FILE --db DB --name NAME` as a child process.
fn import_command(file: &std::path::Path, db: &str, name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(binary());
    command
        .arg("import")
        .arg(file)
        .args(["--db", db, "--name", name])
        .env("SKILLSMAP_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// A generated dataset of `count` records in `dir`.
fn generated(dir: &std::path::Path, count: usize, seed: u64) -> std::path::PathBuf {
    let out = dir.join(format!("feed-{count}-{seed}.geojson"));
    let done = std::process::Command::new(binary())
        .args([
            "generate",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    out
}

const CURATOR: &str = "alice-token-0123456789abcdef";

on_each_store! {
    async fn curators_are_answered_during_a_large_import_and_none_of_their_edits_is_lost(store) {
    let dir = tempfile::tempdir().unwrap();
    let count = 30_000;
    let data = generated(dir.path(), count, 1);
    let mut config = skillsmap::config::ServeConfig::local(None);
    config.db = store.location.clone();
    config.curator_tokens = Some(skillsmap::config::Secret(format!("alice:{CURATOR}")));
    let server = start_with(config, None).await;
    let (_, _, page) = get_json(&format!("{}/collections/initiatives/items?limit=5", server.base)).await;
    let targets = ids(&page);
    let mut import = import_command(&data, &store.arg(), "big").spawn().unwrap();
    let mut expected = std::collections::HashMap::new();
    let (mut beside, mut n) = (0, 0);
    loop {
        let running = import.try_wait().unwrap().is_none();
        let id = &targets[n % targets.len()];
        let name = format!("Curated while harvesting {n}");
        let answer = client()
            .patch(format!("{}/collections/initiatives/items/{id}", server.base))
            .bearer_auth(CURATOR)
            .header("content-type", "application/merge-patch+json")
            .json(&json!({"properties": {"name": name}}))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert!(status.is_success(), "PATCH {n} answered {status}: {}", answer.text().await.unwrap());
        expected.insert(id.clone(), name);
        n += 1;
        if !running {
            break;
        }
        beside += 1;
    }
    let output = import.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("{count} added")), "{stdout}");
    assert!(beside >= 3, "only {beside} PATCHes went beside the import");
    for (id, name) in expected {
        let (status, _, item) =
            get_json(&format!("{}/collections/initiatives/items/{id}", server.base)).await;
        assert_eq!(status, 200);
        assert_eq!(item["properties"]["name"], json!(name), "{id}");
    }
    let mut store = store.open();
    assert_eq!(everything(&mut store).initiatives.len(), seed_count() + count);
}
}

on_each_store! {
    async fn an_import_killed_mid_run_leaves_whole_batches_and_the_next_run_completes_it(store) {
    let dir = tempfile::tempdir().unwrap();
    let count = 20_000;
    let first = generated(dir.path(), count, 1);
    let changed = generated(dir.path(), count, 2);
    let ok = import_command(&first, &store.arg(), "feed").output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut reader = store.open();
    let before = reader.revision().unwrap();
    let live = everything(&mut reader).initiatives.len();

    // The same feed with every record changed; killed once its first batch is committed.
    let mut import = import_command(&changed, &store.arg(), "feed").spawn().unwrap();
    while reader.revision().unwrap() == before {
        assert!(import.try_wait().unwrap().is_none(), "the import ended before it was killed");
        // Samples the store's revision: a batch's commit has no other outside sign.
        std::thread::sleep(Duration::from_millis(2));
    }
    import.kill().unwrap();
    import.wait().unwrap();
    let after_kill = everything(&mut reader);
    assert_eq!(after_kill.initiatives.len(), live, "nothing retired by the killed run");
    assert!(after_kill.tombstones.is_empty());
    if let Store::Sqlite(sqlite) = &reader {
        assert_eq!(sqlite.integrity_check().unwrap(), "ok");
    }
    let redone = import_command(&changed, &store.arg(), "feed").output().unwrap();
    let stdout = String::from_utf8_lossy(&redone.stdout);
    assert!(redone.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 retired"), "{stdout}");
    let updated: usize = stdout
        .split(", ")
        .find_map(|part| part.strip_suffix(" updated"))
        .and_then(|n| n.rsplit(' ').next().unwrap().parse().ok())
        .unwrap();
    assert!(updated > 0 && updated < count, "the killed run stopped mid-way: {stdout}");
    let done = everything(&mut reader);
    assert_eq!(done.initiatives.len(), live);
    assert!(done.tombstones.is_empty());
    // The interrupted run's changes are in the audit entry of the run that completed it.
    let log = reader.audit_log(0, 100).unwrap();
    let run: Value = serde_json::from_str(log.last().unwrap().after.as_ref().unwrap().get()).unwrap();
    assert_eq!(run["updated"].as_object().unwrap().len(), count, "{}", log.last().unwrap().detail.as_deref().unwrap_or(""));
}
}
