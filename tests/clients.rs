//! Real OGC API – Features clients read the live service: GDAL's OAPIF driver and OWSLib.
//! `scripts/test` installs them (Debian's gdal-bin and python3-owslib).

mod common;

use std::process::Command;

use common::*;

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is not installed ({e}); run scripts/test, which installs it")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn gdal_reads_the_collection_and_every_feature() {
    let dataset = random_dataset(1_234, 51);
    let server = start(Some(&dataset)).await;
    let source = format!("OAPIF:{}/", server.base);
    let (info, copy, spatial) = {
        let source = source.clone();
        tokio::task::spawn_blocking(move || {
            let info = run("ogrinfo", &["-ro", "-so", &source, "initiatives"]);
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("copy.geojson");
            let out = out.to_str().unwrap().to_string();
            run(
                "ogr2ogr",
                &[
                    "-f",
                    "GeoJSON",
                    &out,
                    &source,
                    "initiatives",
                    "-oo",
                    "PAGE_SIZE=500",
                ],
            );
            let copy: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
            let spatial = run(
                "ogrinfo",
                &[
                    "-ro",
                    "-so",
                    &source,
                    "initiatives",
                    "-spat",
                    "5",
                    "40",
                    "25",
                    "55",
                ],
            );
            (info, copy, spatial)
        })
        .await
        .unwrap()
    };
    assert!(info.contains("Feature Count: 1234"), "{info}");
    assert!(info.contains("Geometry: Point"), "{info}");
    let copied = copy["features"].as_array().unwrap();
    assert_eq!(copied.len(), 1_234);
    let mut copied_ids: Vec<&str> = copied
        .iter()
        .map(|f| f["properties"]["id"].as_str().or(f["id"].as_str()).unwrap())
        .collect();
    copied_ids.sort_unstable();
    copied_ids.dedup();
    assert_eq!(copied_ids.len(), 1_234, "every feature exactly once");
    let in_box = dataset["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let (lon, lat) = coords(f);
            (5.0..=25.0).contains(&lon) && (40.0..=55.0).contains(&lat)
        })
        .count();
    assert!(
        spatial.contains(&format!("Feature Count: {in_box}")),
        "expected {in_box}:\n{spatial}"
    );
}

#[tokio::test]
async fn owslib_lists_collections_and_pages_through_items() {
    let dataset = random_dataset(777, 52);
    let server = start(Some(&dataset)).await;
    let script = r#"
import sys
from owslib.ogcapi.features import Features
api = Features(sys.argv[1])
ids = [c['id'] for c in api.collections()['collections']]
seen, offset, matched = [], 0, None
while True:
    page = api.collection_items('initiatives', limit=100, offset=offset)
    matched = page['numberMatched']
    if not page['features']:
        break
    seen += [f['id'] for f in page['features']]
    offset += len(page['features'])
print(','.join(ids), matched, len(seen), len(set(seen)))
"#;
    let base = format!("{}/", server.base);
    let out = tokio::task::spawn_blocking(move || run("/usr/bin/python3", &["-c", script, &base]))
        .await
        .unwrap();
    assert_eq!(out.trim(), "initiatives 777 777 777");
}
