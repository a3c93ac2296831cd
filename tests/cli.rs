//! End-to-end tests of the command line: `check`, and `serve` refusing bad data.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_accepts_the_seed_data() {
    let output = Command::new(binary())
        .args(["check", "data/initiatives.geojson"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("0 errors"), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_feature_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut dataset = random_dataset(5, 1);
    let features = dataset["features"].as_array_mut().unwrap();
    features[1]["properties"]["country"] = "EL".into();
    features[2]["geometry"]["coordinates"] = serde_json::json!([52.5, 113.4]);
    features[3]["properties"]["skill_areas"] = serde_json::json!(["data_ai", "knitting"]);
    features[4]["id"] = features[0]["id"].clone();
    features[4]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("url");
    let path = write(
        &dir,
        "bad.geojson",
        &serde_json::to_string_pretty(&dataset).unwrap(),
    );
    let output = Command::new(binary())
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for expected in [
        "feature 1 (id \"t-00001\")",
        "properties.country: \"EL\" is not an ISO 3166-1 code; use \"GR\"",
        "feature 2",
        "geometry.coordinates",
        "swapped",
        "properties.skill_areas[1]: unknown term \"knitting\"",
        "feature 4",
        "duplicate id",
        "properties.url: missing",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn check_reports_malformed_json_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "broken.geojson",
        "{\"type\": \"FeatureCollection\",\n  \"features\": [\n    {\"type\": \"Feature\",, }\n]}",
    );
    let output = Command::new(binary())
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.contains("line 3, column"), "{stdout}");
    assert!(stdout.contains("malformed JSON"), "{stdout}");
}

#[test]
fn check_names_a_missing_file() {
    let output = Command::new(binary())
        .args(["check", "/nonexistent/x.geojson"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("/nonexistent/x.geojson"));
}

#[test]
fn serve_refuses_an_invalid_dataset_with_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut dataset = random_dataset(3, 2);
    dataset["features"][2]["properties"]["kind"] = "castle".into();
    let path = write(
        &dir,
        "bad.geojson",
        &serde_json::to_string(&dataset).unwrap(),
    );
    let output = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("feature 2") && stderr.contains("properties.kind"),
        "{stderr}"
    );
}

const SECRET: &str = "never-log-this-token-0123";

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    // Run where the default store may be created: the working directory.
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--web-dir"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
        .current_dir(dir.path())
        .env("SKILLSMAP_LOG", "info")
        .env("SKILLSMAP_CURATOR_TOKENS", format!("alice:{SECRET}"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        assert!(Instant::now() < deadline, "server did not start");
        let line = lines.next().expect("server exited early").unwrap();
        assert!(!line.contains(SECRET), "a token was logged: {line}");
        if let Some(at) = line.find("addr=") {
            break line[at + 5..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
    };
    let body = reqwest::blocking_get(&format!("http://{addr}/healthz"));
    assert!(body.contains("\"ok\""), "{body}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let store = dir.path().join("skillsmap.db");
    assert!(
        store.exists(),
        "the default store is created in the working directory"
    );
}

mod reqwest {
    /// A tiny blocking GET for tests that run the binary (no async runtime here).
    pub fn blocking_get(url: &str) -> String {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}
