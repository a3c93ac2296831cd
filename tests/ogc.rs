//! End-to-end tests of the OGC API – Features resources a generic client discovers the feed by.

mod common;

use common::*;

#[tokio::test]
async fn the_landing_page_is_json_for_clients_and_the_map_for_browsers() {
    let server = start(None).await;
    for request in [
        client().get(format!("{}/?f=json", server.base)),
        client()
            .get(format!("{}/", server.base))
            .header("accept", "application/json"),
        // What generic clients such as OWSLib send.
        client()
            .get(format!("{}/", server.base))
            .header("accept", "*/*"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let landing: serde_json::Value = response.json().await.unwrap();
        let rels: Vec<&str> = landing["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        for rel in ["self", "conformance", "data"] {
            assert!(rels.contains(&rel), "{rels:?}");
        }
    }
    let page = client()
        .get(format!("{}/", server.base))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/json;q=0.9",
        )
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (status, _, _) = get_json(&format!("{}/?f=xml", server.base)).await;
    assert_eq!(status, 400);
    let (status, _, _) = get_json(&format!("{}/?f=json&colour=red", server.base)).await;
    assert_eq!(
        status, 400,
        "the JSON landing page refuses unknown parameters"
    );
    // Unknown parameters are refused on every endpoint alike, the map page included.
    let tagged = client()
        .get(format!("{}/?utm_source=newsletter", server.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 400);
    assert_eq!(tagged.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn conformance_collections_and_queryables() {
    let dataset = random_dataset(300, 41);
    let server = start(Some(&dataset)).await;
    let (_, _, conformance) = get_json(&format!("{}/conformance", server.base)).await;
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"));

    let (_, _, collections) = get_json(&format!("{}/collections", server.base)).await;
    let collection = &collections["collections"][0];
    assert_eq!(collection["id"], "initiatives");
    let (_, _, same) = get_json(&format!("{}/collections/initiatives", server.base)).await;
    assert_eq!(&same, collection);
    let bbox: Vec<f64> = collection["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for f in dataset["features"].as_array().unwrap() {
        let (lon, lat) = coords(f);
        assert!(lon >= bbox[0] && lat >= bbox[1] && lon <= bbox[2] && lat <= bbox[3]);
    }
    let items = collection["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "items")
        .unwrap();
    let (status, _, page) = get_json(items["href"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(page["numberMatched"], 300);
    let deletions = collection["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["href"].as_str().unwrap().ends_with("/deletions"))
        .expect("the collection links to its deletions");
    let (status, _, deleted) = get_json(deletions["href"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(deleted["deletions"].as_array().unwrap().is_empty());

    let (_, _, queryables) = get_json(&format!(
        "{}/collections/initiatives/queryables",
        server.base
    ))
    .await;
    assert!(
        queryables["properties"]["kind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "hub")
    );
}

#[tokio::test]
async fn datetime_selects_by_update_time() {
    let dataset = random_dataset(300, 42);
    let server = start(Some(&dataset)).await;
    let updated =
        |f: &serde_json::Value| f["properties"]["updated_at"].as_str().unwrap().to_string();
    let all = dataset["features"].as_array().unwrap();
    let cases = [
        (
            "2026-01-20T00:00:00Z/..",
            Box::new(|u: &str| u >= "2026-01-20T00:00:00Z") as Box<dyn Fn(&str) -> bool>,
        ),
        (
            "../2026-01-03T12:00:00Z",
            Box::new(|u: &str| u <= "2026-01-03T12:00:00Z"),
        ),
        (
            "2026-01-05",
            Box::new(|u: &str| u.starts_with("2026-01-05")),
        ),
        (
            "2026-01-10T12:00:00Z",
            Box::new(|u: &str| u == "2026-01-10T12:00:00Z"),
        ),
    ];
    for (datetime, keep) in cases {
        let expected = all.iter().filter(|f| keep(&updated(f))).count();
        assert!(expected > 0, "{datetime}");
        let (status, _, page) = get_json(&format!(
            "{}/collections/initiatives/items?limit=1000&datetime={datetime}",
            server.base
        ))
        .await;
        assert_eq!(status, 200, "{datetime}: {page}");
        assert_eq!(
            page["numberMatched"].as_u64().unwrap() as usize,
            expected,
            "{datetime}"
        );
    }
}

/// A harmless value for each documented query parameter.
fn sample(name: &str) -> &'static str {
    match name {
        "country" => "DE",
        "skill_area" => "iot",
        "target_group" => "smes",
        "kind" => "hub",
        "q" => "digital",
        "datetime" => "2026-01-01T00:00:00Z/..",
        "bbox" => "-10,30,30,60",
        "limit" => "5",
        "offset" => "0",
        "f" => "json",
        "lat" => "50",
        "lon" => "10",
        "radius_km" => "500",
        "nuts" => "DE,FR1",
        "level" => "nuts2",
        "gap_km" => "50",
        "status" => "all",
        "location_precision" => "city",
        "filter" => "kind = 'hub' AND S_INTERSECTS(geometry, BBOX(-10, 30, 30, 60))",
        "filter-lang" => "cql2-text",
        "filter-crs" => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "sortby" => "-updated_at,name",
        "properties" => "name,url",
        "skipGeometry" => "true",
        "region" => "DE",
        "k" => "3",
        "lang" => "pl",
        other => panic!("no sample for documented parameter {other}"),
    }
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_server_accepts() {
    let dataset = random_dataset(200, 43);
    let server = start(Some(&dataset)).await;
    let response = client()
        .get(format!("{}/api", server.base))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/vnd.oai.openapi+json")
    );
    let api: serde_json::Value = response.json().await.unwrap();
    assert!(
        api["openapi"].as_str().unwrap().starts_with("3.0"),
        "{}",
        api["openapi"]
    );
    let (_, _, world) = get_json(&format!("{}/tiles/0/0/0.geojson", server.base)).await;
    let cluster_id = world["features"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|f| f["properties"]["cluster_id"].as_str())
        .unwrap()
        .to_string();
    let paths = api["paths"].as_object().unwrap();
    for expected in [
        "/collections/initiatives/items",
        "/near",
        "/tiles/{z}/{x}/{y}.geojson",
        "/conformance",
        "/api",
    ] {
        assert!(paths.contains_key(expected), "{expected} missing");
    }
    let secured = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter(|operation| operation.get("security").is_some())
        .count();
    assert_eq!(
        secured, 10,
        "the curator endpoints declare their bearer token"
    );
    assert_eq!(
        api["components"]["securitySchemes"]["curator"]["scheme"],
        "bearer"
    );
    // Every public read is tried with every parameter it documents.
    let public_reads = paths.iter().filter(|(_, item)| {
        item.get("get")
            .is_some_and(|get| get.get("security").is_none())
    });
    for (path, item) in public_reads {
        // Shared parameters are references into components.parameters.
        let parameters: Vec<serde_json::Value> = item["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|p| match p["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.trim_start_matches("#/components/parameters/");
                    api["components"]["parameters"][name].clone()
                }
                None => p,
            })
            .collect();
        let concrete = path
            .replace("{id}", "t-00001")
            .replace("{z}/{x}/{y}", "0/0/0")
            .replace("{tileMatrix}/{tileRow}/{tileCol}", "0/0/0")
            .replace("{cluster_id}", &cluster_id)
            .replace("{level}", "nuts1");
        let query: Vec<String> = parameters
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                format!("{name}={}", sample(name))
            })
            .collect();
        let url = format!("{}{concrete}?{}", server.base, query.join("&"));
        let response = client()
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "every documented parameter is accepted: {url}"
        );
        let refused = client()
            .get(format!("{url}&undocumented=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            400,
            "an undocumented parameter is refused: {url}"
        );
    }
}

#[tokio::test]
async fn incremental_pulls_get_last_modified_and_304() {
    let dataset = random_dataset(100, 44);
    let server = start(Some(&dataset)).await;
    let url = format!("{}/collections/initiatives/items", server.base);
    let first = client().get(&url).send().await.unwrap();
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    // The newest updated_at of the random dataset is 2026-01-28T12:00:00Z.
    assert_eq!(last_modified, "Wed, 28 Jan 2026 12:00:00 GMT");
    let again = client()
        .get(&url)
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let older = client()
        .get(&url)
        .header("if-modified-since", "Tue, 27 Jan 2026 12:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(older.status(), 200);
    let item = client().get(format!("{url}/t-00003")).send().await.unwrap();
    assert_eq!(
        item.headers()["last-modified"],
        "Sun, 04 Jan 2026 12:00:00 GMT"
    );
}
