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

/// Writes `dataset` pretty-printed (a line per member) and runs `skillsmap check` on it;
/// returns the output and the file.
fn check_pretty(
    dir: &tempfile::TempDir,
    name: &str,
    dataset: &serde_json::Value,
) -> (std::process::Output, std::path::PathBuf) {
    let path = write(dir, name, &serde_json::to_string_pretty(dataset).unwrap());
    let output = Command::new(binary())
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    (output, path)
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
    let (output, _) = check_pretty(&dir, "bad.geojson", &dataset);
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

/// Today in UTC, as `check` sees it.
fn today() -> jiff::civil::Date {
    jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
}

#[test]
fn check_warns_about_weak_evidence_but_accepts_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut dataset = random_dataset(8, 3);
    let fresh = today().to_string();
    for (i, feature) in dataset["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        // Distinct points inside Belgium, so that only the evidence is in question.
        feature["geometry"]["coordinates"] = serde_json::json!([4.0 + i as f64 / 10.0, 50.8]);
        let properties = &mut feature["properties"];
        properties["country"] = "BE".into();
        properties["description"] = format!("Record {i}, described on its own.").into();
        properties["evidence_url"] = format!("https://example.org/{i}/about").into();
        properties["verified_at"] = fresh.clone().into();
        properties["status"] = "active".into();
        properties["location_precision"] = "city".into();
    }
    let features = dataset["features"].as_array_mut().unwrap();
    features[0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("evidence_url");
    features[1]["properties"]["evidence_url"] = "ftp://example.org/list.txt".into();
    features[2]["properties"]["verified_at"] = "2024-01-31".into();
    features[4]["properties"]["description"] = features[3]["properties"]["description"].clone();
    for feature in &mut features[5..8] {
        feature["geometry"]["coordinates"] = serde_json::json!([4.3517, 50.8503]);
        feature["properties"]["location_precision"] = "address".into();
    }
    let (output, path) = check_pretty(&dir, "weak.geojson", &dataset);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "warnings are not errors:\n{stdout}"
    );
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    for expected in [
        "feature 0 (id \"t-00000\") at line",
        "properties.evidence_url: missing",
        "feature 1 (id \"t-00001\")",
        "\"ftp://example.org/list.txt\" must be an absolute http(s) URL; ignored",
        "feature 2 (id \"t-00002\")",
        "properties.verified_at: 2024-01-31 is more than a year before today",
        "feature 4 (id \"t-00004\")",
        "properties.description: the same description as feature 3 (id \"t-00003\")",
        "feature 5 (id \"t-00005\")",
        "properties.location_precision: \"address\", but 3 records share the point",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // One for each of 0, 1, 2 and 4, and one for each record on the shared point.
    assert_eq!(warnings.len(), 7, "{stdout}");
    assert!(stdout.contains("0 errors, 7 warning(s)"), "{stdout}");
    // The line is the feature's own: pretty-printed features are many lines apart.
    let line_of = |feature: &str| -> usize {
        let w = warnings.iter().find(|w| w.contains(feature)).unwrap();
        let at = w.find("at line ").unwrap() + "at line ".len();
        w[at..].split(',').next().unwrap().parse().unwrap()
    };
    assert!(line_of("feature 2 ") > line_of("feature 1 "));
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().nth(line_of("feature 2 ") - 1).unwrap();
    assert!(line.trim_start().starts_with('{'), "{line}");
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
    // The port is taken before the data loads: wait for the health check to say ok.
    let body = loop {
        let body = reqwest::blocking_get(&format!("http://{addr}/healthz"));
        if body.contains("\"ok\"") || Instant::now() > deadline {
            break body;
        }
        assert!(body.contains("\"loading\""), "{body}");
        // Polls the health check until it says ok (bounded by `deadline` above).
        std::thread::sleep(Duration::from_millis(50));
    };
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
