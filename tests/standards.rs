//! The partners' standards end to end against a real server: CQL2 filters on every query
//! endpoint compared with a plain evaluation of the dataset, sorting and property selection
//! with stable paging, vector tiles decoded by GDAL with the counts of the GeoJSON tiles, and
//! GDAL's and OWSLib's filters.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The dataset's features a CQL2 test filter selects, by a plain reading of its JSON.
fn hubs_in_box(dataset: &Value) -> Vec<&Value> {
    dataset["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let (lon, lat) = coords(f);
            f["properties"]["kind"] == "hub"
                && (0.0..=20.0).contains(&lon)
                && (40.0..=60.0).contains(&lat)
        })
        .collect()
}

const HUBS_IN_BOX: &str = "kind = 'hub' AND S_INTERSECTS(geometry, BBOX(0, 40, 20, 60))";

/// The sum of `point_count` over every GeoJSON tile of zoom `z`.
async fn tile_total(base: &str, z: u32, query: &str) -> u64 {
    let mut total = 0;
    for x in 0..1u32 << z {
        for y in 0..1u32 << z {
            let (_, _, tile) = get_json(&format!("{base}/tiles/{z}/{x}/{y}.geojson?{query}")).await;
            total += tile["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["properties"]["point_count"].as_u64().unwrap_or(1))
                .sum::<u64>();
        }
    }
    total
}

#[tokio::test]
async fn a_cql2_filter_applies_on_every_query_endpoint() {
    let dataset = random_dataset(800, 61);
    let server = start(Some(&dataset)).await;
    let base = &server.base;
    let filter = encode(HUBS_IN_BOX);
    let expected = hubs_in_box(&dataset);
    assert!(expected.len() > 10, "a meaningful test: {}", expected.len());

    let (status, _, page) = get_json(&format!(
        "{base}/collections/initiatives/items?limit=1000&filter={filter}"
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberMatched"], expected.len());
    let mut want: Vec<&str> = expected.iter().map(|f| f["id"].as_str().unwrap()).collect();
    want.sort_unstable();
    assert_eq!(ids(&page), want);

    // The JSON encoding agrees.
    let json = r#"{"op":"and","args":[{"op":"=","args":[{"property":"kind"},"hub"]},{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[0,40,20,60]}]}]}"#;
    let (_, _, same) = get_json(&format!(
        "{base}/collections/initiatives/items?limit=1000&filter-lang=cql2-json&filter={}",
        encode(json)
    ))
    .await;
    assert_eq!(ids(&same), want);

    // Combined with bbox and a simple filter: all must hold.
    let in_de = expected
        .iter()
        .filter(|f| f["properties"]["country"] == "DE" && coords(f).0 <= 10.0)
        .count();
    let (_, _, both) = get_json(&format!("{base}/collections/initiatives/items?limit=1000&filter={filter}&country=DE&bbox=-10,30,10,70")).await;
    assert_eq!(both["numberMatched"], in_de);

    let (_, _, facets) = get_json(&format!("{base}/facets?filter={filter}")).await;
    assert_eq!(facets["total"], expected.len());
    assert_eq!(facets["kind"]["hub"], expected.len());

    let (_, _, near) = get_json(&format!(
        "{base}/near?lat=50&lon=10&radius_km=20000&limit=1000&filter={filter}"
    ))
    .await;
    assert_eq!(near["numberMatched"], expected.len(), "{near}");

    for z in [0, 2, 3] {
        assert_eq!(
            tile_total(base, z, &format!("filter={filter}")).await,
            expected.len() as u64,
            "zoom {z}"
        );
    }

    let (status, _, coverage) =
        get_json(&format!("{base}/coverage?level=country&filter={filter}")).await;
    if status == 200 {
        assert_eq!(coverage["matched"], expected.len());
    }

    let csv = get_text(&format!(
        "{base}/collections/initiatives/items?f=csv&filter={filter}"
    ))
    .await;
    assert_eq!(csv.lines().count(), expected.len() + 1);
}

#[tokio::test]
async fn bad_filters_are_problems_naming_the_parameter_and_position() {
    let server = start(None).await;
    let items = format!("{}/collections/initiatives/items", server.base);
    for (query, parameter) in [
        (format!("filter={}", encode("kind = ")), "filter"),
        (format!("filter={}", encode("colour = 'red'")), "filter"),
        (format!("filter={}", encode("kind = 'castle'")), "filter"),
        (
            format!(
                "filter={}",
                encode(&format!("{}kind = 'hub'", "NOT ".repeat(5000)))
            ),
            "filter",
        ),
        (
            format!("filter={}&filter-lang=cql2-json", encode("{\"op\":\"=\"")),
            "filter",
        ),
        (
            "filter-lang=cql2-xml&filter=true".to_string(),
            "filter-lang",
        ),
        (
            format!(
                "filter-crs={}&filter=true",
                encode("http://www.opengis.net/def/crs/EPSG/0/4326")
            ),
            "filter-crs",
        ),
        ("sortby=colour".to_string(), "sortby"),
        ("properties=secret".to_string(), "properties"),
        ("skipGeometry=maybe".to_string(), "skipGeometry"),
    ] {
        assert_bad_parameter(&format!("{items}?{query}"), parameter).await;
    }
    let (_, _, problem) = get_json(&format!(
        "{items}?filter={}",
        encode("kind = 'hub' AND colour = 1")
    ))
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("at character 18"),
        "{problem}"
    );
    // The same refusal on tiles, /near and facets: one filter path.
    for path in [
        "/tiles/0/0/0.mvt",
        "/tiles/0/0/0.geojson",
        "/facets",
        "/near?lat=1&lon=1&radius_km=5",
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        assert_bad_parameter(
            &format!("{}{path}{sep}filter={}", server.base, encode("colour = 1")),
            "filter",
        )
        .await;
    }
}

#[tokio::test]
async fn sorting_pages_stably_and_selection_trims_features() {
    let dataset = random_dataset(230, 62);
    let server = start(Some(&dataset)).await;
    let mut want: Vec<&Value> = dataset["features"].as_array().unwrap().iter().collect();
    let text = |f: &Value, k: &str| f["properties"][k].as_str().unwrap().to_string();
    want.sort_by(|a, b| {
        text(b, "updated_at")
            .cmp(&text(a, "updated_at"))
            .then(text(a, "name").cmp(&text(b, "name")))
            .then(a["id"].as_str().cmp(&b["id"].as_str()))
    });
    let want: Vec<&str> = want.iter().map(|f| f["id"].as_str().unwrap()).collect();
    let mut url = format!(
        "{}/collections/initiatives/items?sortby=-updated_at,name&limit=40&properties=name,url&skipGeometry=true",
        server.base
    );
    let mut seen = Vec::new();
    loop {
        let (status, _, page) = get_json(&url).await;
        assert_eq!(status, 200, "{page}");
        for f in page["features"].as_array().unwrap() {
            assert_eq!(f["geometry"], Value::Null);
            let mut keys: Vec<&String> = f["properties"].as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["name", "url"]);
        }
        seen.extend(ids(&page));
        match page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(next) => {
                url = next["href"].as_str().unwrap().to_string();
                assert!(url.contains("sortby=-updated_at%2Cname"), "{url}");
            }
            None => break,
        }
    }
    assert_eq!(seen, want);
    let csv = get_text(&format!("{}/collections/initiatives/items?f=csv&properties=name,url&skipGeometry=true&sortby=name&limit=3", server.base)).await;
    assert_eq!(csv.lines().next(), Some("id,name,url"));
    let lines = get_text(&format!(
        "{}/collections/initiatives/items?f=geojsonl&properties=kind&limit=2",
        server.base
    ))
    .await;
    for line in lines.lines() {
        let f: Value = serde_json::from_str(line).unwrap();
        assert_eq!(f["properties"].as_object().unwrap().len(), 1);
        assert!(f["geometry"]["coordinates"].is_array());
    }
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is not installed ({e}); run scripts/test, which installs it")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// The point counts of a vector tile as GDAL's MVT driver reads them.
fn gdal_point_counts(bytes: &[u8], z: u32, x: u32, y: u32) -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{z}/{x}"));
    std::fs::create_dir_all(&path).unwrap();
    let file = path.join(format!("{y}.pbf"));
    std::fs::write(&file, bytes).unwrap();
    let (out, _) = run(
        "ogrinfo",
        &["-ro", "-al", "-q", file.to_str().unwrap()],
        &[],
    );
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("point_count (Integer"))
        .map(|l| l.rsplit("= ").next().unwrap().trim().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn vector_tiles_hold_the_geojson_tiles_counts() {
    let dataset = random_dataset(900, 63);
    let server = start(Some(&dataset)).await;
    let base = server.base.clone();
    let filter = encode(HUBS_IN_BOX);
    for query in [
        String::new(),
        "skill_area=cybersecurity".to_string(),
        format!("filter={filter}"),
    ] {
        for z in [0u32, 2, 4] {
            let mut mvt_total = 0;
            let mut geojson_total = 0;
            let n = 1u32 << z;
            // Every tile of the smaller zooms; a band of tiles over Europe at zoom 4.
            let (xs, ys) = if z < 4 { (0..n, 0..n) } else { (6..11, 3..7) };
            for x in xs.clone() {
                for y in ys.clone() {
                    let response = client()
                        .get(format!("{base}/tiles/{z}/{x}/{y}.mvt?{query}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    assert_eq!(
                        response.headers()["content-type"],
                        "application/vnd.mapbox-vector-tile"
                    );
                    let bytes = response.bytes().await.unwrap().to_vec();
                    let counts =
                        tokio::task::spawn_blocking(move || gdal_point_counts(&bytes, z, x, y))
                            .await
                            .unwrap();
                    let (_, _, tile) =
                        get_json(&format!("{base}/tiles/{z}/{x}/{y}.geojson?{query}")).await;
                    let features = tile["features"].as_array().unwrap();
                    assert_eq!(counts.len(), features.len(), "{z}/{x}/{y}?{query}");
                    mvt_total += counts.iter().sum::<u64>();
                    geojson_total += features
                        .iter()
                        .map(|f| f["properties"]["point_count"].as_u64().unwrap_or(1))
                        .sum::<u64>();
                }
            }
            assert_eq!(mvt_total, geojson_total, "zoom {z}?{query}");
            if z < 4 {
                let (_, _, page) = get_json(&format!(
                    "{base}/collections/initiatives/items?limit=1&{query}"
                ))
                .await;
                assert_eq!(
                    mvt_total,
                    page["numberMatched"].as_u64().unwrap(),
                    "conservation at zoom {z}?{query}"
                );
            }
        }
    }
    // The OGC API – Tiles URL serves the same tile (row before column), and revalidates.
    let xyz = client()
        .get(format!("{base}/tiles/3/4/2.mvt"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let ogc = client()
        .get(format!(
            "{base}/collections/initiatives/tiles/WebMercatorQuad/3/2/4"
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(xyz, ogc);
    assert_revalidates(
        &format!("{base}/tiles/3/4/2.mvt"),
        &format!("{base}/tiles/3/4/2.geojson"),
    )
    .await;
    let (_, _, tilejson) = get_json(&format!("{base}/tiles.json?kind=hub")).await;
    assert_eq!(tilejson["tilejson"], "3.0.0");
    assert_eq!(
        tilejson["tiles"][0],
        format!("{base}/tiles/{{z}}/{{x}}/{{y}}.mvt?kind=hub")
    );
    assert_eq!(tilejson["vector_layers"][0]["id"], "initiatives");
    let (_, _, tileset) = get_json(&format!(
        "{base}/collections/initiatives/tiles/WebMercatorQuad"
    ))
    .await;
    let item = tileset["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .unwrap();
    assert!(
        item["href"]
            .as_str()
            .unwrap()
            .ends_with("/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    );
    let (_, _, tms) = get_json(&format!("{base}/tileMatrixSets/WebMercatorQuad")).await;
    assert_eq!(tms["tileMatrices"][20]["matrixWidth"], 1 << 20);
    assert_bad_parameter(
        &format!("{base}/collections/initiatives/tiles/WebMercatorQuad/3/9/1"),
        "tileRow",
    )
    .await;
}

#[tokio::test]
async fn gdal_and_owslib_filter_through_the_service() {
    let dataset = random_dataset(640, 64);
    let server = start(Some(&dataset)).await;
    let hubs = dataset["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == "hub")
        .count();
    let source = format!("OAPIF:{}/", server.base);
    let (out, debug) = tokio::task::spawn_blocking(move || {
        run(
            "ogrinfo",
            &[
                "-ro",
                "-so",
                &source,
                "initiatives",
                "-where",
                "kind = 'hub'",
            ],
            &[("CPL_DEBUG", "ON")],
        )
    })
    .await
    .unwrap();
    assert!(
        out.contains(&format!("Feature Count: {hubs}")),
        "expected {hubs}:\n{out}"
    );
    // Debian's GDAL 3.6.2 evaluates this -where itself, after paging through every item (the
    // line below says whether a filter reached the server); the count must be right either way.
    eprintln!(
        "GDAL sent a filter to the server: {}",
        debug.contains("filter=")
    );

    let script = r#"
import sys
from owslib.ogcapi.features import Features
api = Features(sys.argv[1])
page = api.collection_items('initiatives', filter="kind = 'hub' AND A_OVERLAPS(skill_areas, ('cybersecurity'))", limit=1000)
print(page['numberMatched'], len(page['features']))
"#;
    let expected = dataset["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["properties"]["kind"] == "hub"
                && f["properties"]["skill_areas"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == "cybersecurity")
        })
        .count();
    let base = format!("{}/", server.base);
    let (out, _) =
        tokio::task::spawn_blocking(move || run("/usr/bin/python3", &["-c", script, &base], &[]))
            .await
            .unwrap();
    assert_eq!(out.trim(), format!("{expected} {expected}"));
}
