//! End-to-end tests of the answers at the edges: every refusal is problem+json with its
//! status (long and non-UTF-8 path segments, methods on files, declared oversized bodies,
//! timeouts), only the site's own files are served, content negotiation with q-values,
//! conditional writes, the forms of `datetime`, and unknown parameters on every endpoint.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::Value;
use skillsmap::config::{Secret, ServeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "edges-curator-token-0123456789";

async fn curated(timeout: Duration) -> TestServer {
    let mut config = ServeConfig::local(None);
    config.curator_tokens = Some(Secret(format!("edge:{TOKEN}")));
    config.request_timeout = timeout;
    start_with(config, None).await
}

/// Sends a request and returns its status, headers and body (parsed when JSON).
async fn call(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Asserts a problem+json answer whose `status` is the HTTP status.
fn assert_problem(context: &str, status: u16, headers: &reqwest::header::HeaderMap, body: &Value) {
    assert_eq!(
        headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/problem+json"),
        "{context}: {status} {body}"
    );
    assert_eq!(body["status"], status, "{context}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{context}: {body}"
    );
}

#[tokio::test]
async fn long_and_non_utf8_path_segments_are_problems() {
    let server = start(None).await;
    let long = "a".repeat(300);
    for path in [
        format!("/{long}"),
        format!("/{long}.js"),
        format!("/vendor/leaflet/{long}"),
        format!("/vendor/leaflet/images/{long}.png"),
        format!("/collections/initiatives/items/{long}"),
        format!("/clusters/{long}/leaves"),
        format!("/tiles/{long}/0/0.geojson"),
        format!("/regions/{long}.geojson"),
    ] {
        let (status, headers, body) =
            call(Method::GET, &format!("{}{path}", server.base), &[], None).await;
        assert!(matches!(status, 400 | 404), "{path}: {status}");
        assert_problem(&path, status, &headers, &body);
    }
    for (path, parameter) in [
        ("/collections/initiatives/items/%FF", "id"),
        ("/collections/initiatives/items/a%C3", "id"),
        ("/tiles/%FF/0/0.geojson", "z"),
        ("/tiles/0/%FE/0.geojson", "x"),
        ("/clusters/%FF/children", "id"),
        ("/clusters/%FF/leaves", "id"),
        ("/submissions/%FF", "id"),
        ("/regions/%FF.geojson", "level"),
    ] {
        let (status, headers, body) =
            call(Method::GET, &format!("{}{path}", server.base), &[], None).await;
        // Curator routes ask for the token first.
        if path.starts_with("/submissions") {
            assert_eq!(status, 401, "{path}");
        } else {
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(body["parameter"], parameter, "{path}: {body}");
        }
        assert_problem(path, status, &headers, &body);
    }
    let (status, headers, body) =
        call(Method::GET, &format!("{}/%FF%FE", server.base), &[], None).await;
    assert_eq!(status, 404);
    assert_problem("/%FF%FE", status, &headers, &body);
}

#[tokio::test]
async fn files_answer_get_and_head_only() {
    let server = start(None).await;
    for path in ["/app.js", "/index.html", "/vendor/leaflet/leaflet.css"] {
        let url = format!("{}{path}", server.base);
        let head = client().head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        assert!(head.headers().contains_key("etag"), "{path}");
        // (OPTIONS belongs to the CORS layer.)
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let (status, headers, body) = call(method.clone(), &url, &[], Some("x".into())).await;
            assert_eq!(status, 405, "{method} {path}");
            assert_eq!(headers["allow"], "GET, HEAD", "{method} {path}");
            assert_problem(path, status, &headers, &body);
        }
        let (status, headers, body) = call(Method::GET, &format!("{url}?v=2"), &[], None).await;
        assert_eq!(status, 400, "{path}: a file takes no parameters");
        assert_problem(path, status, &headers, &body);
    }
    // An API route's wrong method is a problem too, with the methods it allows.
    let (status, headers, body) = call(
        Method::DELETE,
        &format!("{}/collections", server.base),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 405);
    assert!(headers["allow"].to_str().unwrap().contains("GET"));
    assert_problem("DELETE /collections", status, &headers, &body);
}

#[tokio::test]
async fn only_the_sites_files_are_served() {
    let server = start(None).await;
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let site = skillsmap::api::assets::SiteFiles::list(&web);
    let served = site.paths();
    assert!(served.contains(&"/index.html") && served.contains(&"/app.js"));
    assert!(served.contains(&"/vendor/leaflet/leaflet.js"));
    for path in &served {
        assert!(
            !path.contains("/tests/")
                && !path.contains("node_modules")
                && (!path.ends_with(".json") || path.starts_with("/i18n/")),
            "{path} is not part of the site"
        );
        let response = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // Every other file under web/, tests, manifests and packages included, is not served.
    let mut stack = vec![web.clone()];
    let mut refused = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(&web)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // Packages: their top two levels are enough to show the tree is closed.
            if relative.starts_with("node_modules") && relative.matches('/').count() > 2 {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let url_path = format!("/{relative}");
            if served.contains(&url_path.as_str()) {
                continue;
            }
            let (status, headers, body) = call(
                Method::GET,
                &format!("{}{url_path}", server.base),
                &[],
                None,
            )
            .await;
            assert_eq!(status, 404, "{url_path} must not be served");
            assert_problem(&url_path, status, &headers, &body);
            refused += 1;
        }
    }
    assert!(
        refused >= 5,
        "package.json, its lock file, the tests ...: {refused}"
    );
    for path in [
        "/package.json",
        "/package-lock.json",
        "/tests/helpers.mjs",
        "/node_modules/leaflet/package.json",
        "/vendor/leaflet/leaflet-src.esm.js",
        "/v/0000000000000000/app.js",
    ] {
        let (status, _, _) = call(Method::GET, &format!("{}{path}", server.base), &[], None).await;
        assert_eq!(status, 404, "{path}");
    }
}

/// Writes `head` and `body` on a raw connection and reads the answer's status line and
/// headers, failing if none comes within `within`.
async fn raw_exchange(base: &str, head: &str, body: &[u8], within: Duration) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((_, body)) = text.split_once("\r\n\r\n")
                && body.contains('}')
            {
                break;
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server answers without waiting for the rest of the body");
    String::from_utf8_lossy(&answer).to_lowercase()
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_at_once() {
    // The request timeout is far longer than the test allows itself to wait.
    let server = curated(Duration::from_secs(120)).await;
    for (path, auth) in [
        ("/submissions", String::new()),
        (
            "/collections/initiatives/items",
            format!("Authorization: Bearer {TOKEN}\r\n"),
        ),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/geo+json\r\nContent-Length: 99999999\r\n\r\n"
        );
        let answer = raw_exchange(&server.base, &head, b"{}", Duration::from_secs(20)).await;
        assert!(answer.starts_with("http/1.1 413"), "{path}: {answer}");
        assert!(
            answer.contains("content-type: application/problem+json"),
            "{answer}"
        );
        assert!(answer.contains("\"status\":413"), "{answer}");
    }
    // Just over the submissions' limit, declared.
    let head = "POST /submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/geo+json\r\nContent-Length: 65537\r\n\r\n";
    let answer = raw_exchange(&server.base, head, b"{", Duration::from_secs(20)).await;
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_a_503_with_retry_after() {
    let server = curated(Duration::from_secs(1)).await;
    let head = "POST /submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/geo+json\r\nContent-Length: 100\r\n\r\n";
    let answer = raw_exchange(&server.base, head, b"{}", Duration::from_secs(20)).await;
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("retry-after: "), "{answer}");
    assert!(answer.contains("\"status\":503"), "{answer}");
}

#[tokio::test]
async fn negotiation_follows_q_values() {
    let server = start(None).await;
    let items = format!("{}/collections/initiatives/items?limit=2", server.base);
    let content_type = |headers: &reqwest::header::HeaderMap| {
        headers["content-type"].to_str().unwrap().to_string()
    };
    for (accept, expected) in [
        ("text/csv", "text/csv; charset=utf-8"),
        (
            "application/geo+json;q=0, text/csv",
            "text/csv; charset=utf-8",
        ),
        (
            "application/json;q=0.5, application/geo+json-seq",
            "application/geo+json-seq",
        ),
        (
            "TEXT/CSV;q=0.9, application/*;q=0.8",
            "text/csv; charset=utf-8",
        ),
        ("text/csv;q=0, */*;q=0.1", "application/geo+json"),
        (
            "text/html,application/xhtml+xml,*/*;q=0.8",
            "application/geo+json",
        ),
        ("", "application/geo+json"),
    ] {
        let (status, headers, _) = call(Method::GET, &items, &[("accept", accept)], None).await;
        assert_eq!(status, 200, "{accept}");
        assert_eq!(content_type(&headers), expected, "{accept}");
    }
    for accept in [
        "image/png",
        "application/geo+json;q=0, application/json;q=0, text/*;q=0, application/*;q=0",
    ] {
        let (status, headers, body) = call(Method::GET, &items, &[("accept", accept)], None).await;
        assert_eq!(status, 406, "{accept}");
        assert_problem(accept, status, &headers, &body);
    }
    // `f` names the format outright.
    let (_, headers, _) = call(
        Method::GET,
        &format!("{items}&f=csv"),
        &[("accept", "application/json")],
        None,
    )
    .await;
    assert!(content_type(&headers).starts_with("text/csv"));

    let landing = format!("{}/", server.base);
    for (accept, expected) in [
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/html; charset=utf-8",
        ),
        ("*/*", "application/json"),
        ("text/html;q=0, */*", "application/json"),
        (
            "application/json;q=0.2, text/html;q=0.3",
            "text/html; charset=utf-8",
        ),
    ] {
        let (status, headers, _) = call(Method::GET, &landing, &[("accept", accept)], None).await;
        assert_eq!(status, 200, "{accept}");
        assert_eq!(content_type(&headers), expected, "{accept}");
    }
    let (status, _, _) = call(
        Method::GET,
        &landing,
        &[("accept", "application/json;q=0, text/html;q=0")],
        None,
    )
    .await;
    assert_eq!(status, 406);

    let coverage = format!("{}/coverage", server.base);
    for (accept, expected) in [
        ("text/csv;q=0.5, application/json;q=0.9", "application/json"),
        ("application/json;q=0, */*", "text/csv; charset=utf-8"),
    ] {
        let (status, headers, _) = call(Method::GET, &coverage, &[("accept", accept)], None).await;
        assert_eq!(status, 200, "{accept}");
        assert_eq!(content_type(&headers), expected, "{accept}");
    }
    let (status, _, _) = call(Method::GET, &coverage, &[("accept", "text/html")], None).await;
    assert_eq!(status, 406);
}

#[tokio::test]
async fn writes_honour_if_match_and_if_none_match() {
    let server = curated(Duration::from_secs(30)).await;
    let auth = format!("Bearer {TOKEN}");
    let items = format!("{}/collections/initiatives/items", server.base);
    let (_, _, page) = call(Method::GET, &format!("{items}?limit=1"), &[], None).await;
    let id = page["features"][0]["id"].as_str().unwrap().to_string();
    let url = format!("{items}/{id}");
    let (_, headers, _) = call(Method::GET, &url, &[], None).await;
    let etag = headers["etag"].to_str().unwrap().to_string();
    let patch = |city: &str| Some(format!("{{\"properties\":{{\"city\":\"{city}\"}}}}"));
    let merge = ("content-type", "application/merge-patch+json");

    for (condition, value, expected) in [
        ("if-match", "\"stale\"", 412),
        ("if-match", &format!("W/{etag}") as &str, 412),
        ("if-none-match", &etag as &str, 412),
        ("if-none-match", &format!("W/{etag}") as &str, 412),
        ("if-none-match", "*", 412),
        ("if-match", "not-a-tag", 400),
        ("if-none-match", "\"unterminated", 400),
    ] {
        let (status, headers, body) = call(
            Method::PATCH,
            &url,
            &[("authorization", &auth), merge, (condition, value)],
            patch("Nowhere"),
        )
        .await;
        assert_eq!(status, expected, "{condition}: {value}: {body}");
        assert_problem(condition, status, &headers, &body);
        if status == 400 {
            assert_eq!(body["parameter"], condition);
        }
    }
    let (_, _, unchanged) = call(Method::GET, &url, &[], None).await;
    assert_ne!(
        unchanged["properties"]["city"], "Nowhere",
        "a failed precondition changes nothing"
    );

    let (status, headers, body) = call(
        Method::PATCH,
        &url,
        &[
            ("authorization", &auth),
            merge,
            ("if-match", &format!("\"other\", {etag}")),
            ("if-none-match", "\"other\""),
        ],
        patch("Elsewhere"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new_etag = headers["etag"].to_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let (status, _, _) = call(
        Method::DELETE,
        &url,
        &[("authorization", &auth), ("if-match", &etag)],
        None,
    )
    .await;
    assert_eq!(status, 412, "the old tag no longer matches");

    // `If-Match: *` needs the initiative to exist; `If-None-Match: *` on PUT creates.
    let missing = format!("{items}/made-by-put");
    let (status, _, _) = call(
        Method::DELETE,
        &missing,
        &[("authorization", &auth), ("if-match", "*")],
        None,
    )
    .await;
    assert_eq!(status, 412);
    let (status, _, _) = call(Method::DELETE, &missing, &[("authorization", &auth)], None).await;
    assert_eq!(status, 404);
    let mut record = unchanged.clone();
    record.as_object_mut().unwrap().remove("links");
    record["id"] = "made-by-put".into();
    let geojson = ("content-type", "application/geo+json");
    let (status, headers, body) = call(
        Method::PUT,
        &missing,
        &[("authorization", &auth), geojson, ("if-none-match", "*")],
        Some(record.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .ends_with("/made-by-put")
    );
    let (status, _, _) = call(Method::GET, &missing, &[], None).await;
    assert_eq!(status, 200);
    let (status, headers, body) = call(
        Method::PUT,
        &missing,
        &[("authorization", &auth), geojson, ("if-none-match", "*")],
        Some(record.to_string()),
    )
    .await;
    assert_eq!(status, 412, "it exists now");
    assert_problem("PUT again", status, &headers, &body);
    let (status, _, _) = call(
        Method::DELETE,
        &missing,
        &[
            ("authorization", &auth),
            ("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 412, "changed after that date");
    let (status, _, _) = call(
        Method::DELETE,
        &missing,
        &[("authorization", &auth), ("if-match", "*")],
        None,
    )
    .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn datetime_is_rfc_3339_with_an_offset_or_a_date() {
    let dataset = random_dataset(60, 7);
    let server = start(Some(&dataset)).await;
    let count = |query: String| {
        let base = server.base.clone();
        async move {
            let (status, _, page) = call(
                Method::GET,
                &format!("{base}/collections/initiatives/items?limit=1000&{query}"),
                &[],
                None,
            )
            .await;
            (status, page["numberMatched"].as_u64().unwrap_or(0))
        }
    };
    // The random dataset's records are updated at 12:00 UTC on 1 to 28 January 2026.
    let (status, day) = count("datetime=2026-01-04".into()).await;
    assert_eq!(status, 200);
    assert!(day > 0);
    for same in [
        "datetime=2026-01-04T12:00:00Z",
        "datetime=2026-01-04T13:00:00%2B01:00",
        "datetime=2026-01-04t11:30:00-00:30",
        "datetime=2026-01-04T12:00:00.000Z",
        "datetime=2026-01-04T00:00:00Z/2026-01-04T23:59:59.999999999Z",
        "datetime=2026-01-04/2026-01-04",
    ] {
        assert_eq!(count(same.into()).await, (200, day), "{same}");
    }
    let (status, open) = count("datetime=2026-01-27/..".into()).await;
    assert_eq!(status, 200);
    assert_eq!(count("datetime=2026-01-27/".into()).await, (200, open));
    for bad in [
        "2026-01-04T12:00:00",
        "2026-01-04T12:00Z",
        "2026-01-04 12:00:00Z",
        "2026-01-04T12:00:00%2B0100",
        "2026-1-4",
        "20260104",
        "2026-02-30",
        "2026-01-04T24:00:00Z",
        "../..",
        "2026-01-05/2026-01-04",
        "yesterday",
    ] {
        assert_bad_parameter(
            &format!(
                "{}/collections/initiatives/items?datetime={bad}",
                server.base
            ),
            "datetime",
        )
        .await;
        assert_bad_parameter(
            &format!(
                "{}/collections/initiatives/deletions?datetime={bad}",
                server.base
            ),
            "datetime",
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_on_every_endpoint() {
    let server = curated(Duration::from_secs(30)).await;
    let (_, _, api) = call(Method::GET, &format!("{}/api", server.base), &[], None).await;
    let auth = format!("Bearer {TOKEN}");
    let mut tried = 0;
    for (path, item) in api["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "x")
            .replace("{z}/{x}/{y}", "0/0/0")
            .replace("{tileMatrix}/{tileRow}/{tileCol}", "0/0/0")
            .replace("{cluster_id}", "x")
            .replace("{level}", "country");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let url = format!("{}{concrete}?undocumented=1", server.base);
            let (status, headers, body) = call(
                method.clone(),
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/geo+json"),
                ],
                Some("{}".into()),
            )
            .await;
            assert_eq!(status, 400, "{method} {url}: {body}");
            assert_problem(&url, status, &headers, &body);
            assert_eq!(body["parameter"], "undocumented", "{method} {url}");
            tried += 1;
        }
    }
    assert!(tried >= 30, "{tried} operations");
    let (status, _, body) = call(
        Method::GET,
        &format!("{}/index.html?utm_source=x", server.base),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("utm_source"))
    );
}
