//! The site's own files: an explicit set (the pages with their modules, styles and images,
//! the few vendored files they load from npm packages, and files made at start-up such as
//! the base map's outlines), never the rest of `web/` (tests, manifests, `node_modules` as a
//! tree).
//!
//! The set is read once at start-up, and its content names a site version. Every file but a
//! page is served twice: under `/v/{version}/…`, cached for a year as immutable (a new
//! release is a new version, so a new URL), and under its plain path, revalidated on each
//! use. Pages are only served under their plain paths, revalidated, with their references to
//! site files pointing at the versioned URLs; modules import each other by relative paths,
//! so they stay under the version of the page that loaded them. A request for anything else
//! is a 404 problem without touching the file system.

mod compressed;
mod versioned;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::api::caching::{self, Freshness};
use crate::api::negotiation::{self, Encodings};
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
/// The extensions of `web/`'s own top-level files that are part of the site, with their
/// media types. Not `json` or `md`: `package.json`, its lock file and the READMEs are not.
const SITE_TYPES: &[(&str, &str)] = &[
    ("html", HTML),
    ("js", "text/javascript; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("ico", "image/x-icon"),
    ("woff2", "font/woff2"),
];

/// The folder of the interface's message catalogues (`web/i18n/{lang}.json`, served at
/// `/i18n/{lang}.json`): the only JSON files of the site.
const CATALOGUES: &str = "i18n";
const JSON: &str = "application/json";

/// Files of npm packages the pages load: (URL path, path under `web/node_modules`).
/// Leaflet's minified browser build (a classic script defining `L`; its ES module ships
/// unminified only) and style sheet, and the images the style sheet refers to;
/// protomaps-leaflet's browser build, which draws an operator's PMTiles base map.
const VENDORED: &[(&str, &str)] = &[
    ("/vendor/leaflet/leaflet.js", "leaflet/dist/leaflet.js"),
    ("/vendor/leaflet/leaflet.css", "leaflet/dist/leaflet.css"),
    (
        "/vendor/leaflet/images/layers.png",
        "leaflet/dist/images/layers.png",
    ),
    (
        "/vendor/leaflet/images/layers-2x.png",
        "leaflet/dist/images/layers-2x.png",
    ),
    (
        "/vendor/leaflet/images/marker-icon.png",
        "leaflet/dist/images/marker-icon.png",
    ),
    (
        "/vendor/leaflet/images/marker-icon-2x.png",
        "leaflet/dist/images/marker-icon-2x.png",
    ),
    (
        "/vendor/leaflet/images/marker-shadow.png",
        "leaflet/dist/images/marker-shadow.png",
    ),
    (
        "/vendor/protomaps-leaflet/protomaps-leaflet.js",
        "protomaps-leaflet/dist/protomaps-leaflet.js",
    ),
];

/// The methods a file answers.
const ALLOWED: &str = "GET, HEAD";

const HTML: &str = "text/html; charset=utf-8";

/// A file made at start-up rather than read from `web/`.
pub struct GeneratedFile {
    /// Its URL path, such as `/basemap/europe-0.geojson`.
    pub path: String,
    pub media_type: &'static str,
    pub body: Vec<u8>,
}

struct SiteFile {
    body: Vec<u8>,
    media_type: &'static str,
    etag: String,
    /// The body at brotli's best (`None` when that is no smaller), made by
    /// [`SiteFiles::precompress`] or by the first request that takes it.
    brotli: OnceLock<Option<Vec<u8>>>,
}

impl SiteFile {
    /// The body at brotli's best, made on first use; `None` when that is no smaller.
    fn brotli(&self) -> Option<&Vec<u8>> {
        self.brotli
            .get_or_init(|| compressed::brotli(&self.body, self.media_type))
            .as_ref()
    }
}

/// The files of the site, by URL path, and the version their content names.
pub struct SiteFiles {
    files: HashMap<String, Arc<SiteFile>>,
    version: String,
}

fn media_type_of(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?;
    SITE_TYPES
        .iter()
        .find(|(e, _)| *e == extension)
        .map(|(_, media_type)| *media_type)
}

/// The files of the site's types under `web_dir` (top level, catalogues, vendored), by URL
/// path.
fn site_paths(web_dir: &Path) -> Vec<(String, PathBuf, &'static str)> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(web_dir)
        .map(|dir| dir.filter_map(Result::ok).collect::<Vec<_>>())
        .unwrap_or_default();
    for entry in entries {
        let path = entry.path();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let (Some(name), Some(media_type)) = (
            entry.file_name().to_str().map(String::from),
            media_type_of(&path),
        ) else {
            continue;
        };
        if is_file && !name.starts_with('.') {
            found.push((format!("/{name}"), path, media_type));
        }
    }
    let catalogues = std::fs::read_dir(web_dir.join(CATALOGUES))
        .map(|dir| dir.filter_map(Result::ok).collect::<Vec<_>>())
        .unwrap_or_default();
    for entry in catalogues {
        let path = entry.path();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let Some(name) = entry.file_name().to_str().map(String::from) else {
            continue;
        };
        if is_file && !name.starts_with('.') && name.ends_with(".json") {
            found.push((format!("/{CATALOGUES}/{name}"), path, JSON));
        }
    }
    for (url, file) in VENDORED {
        let path = web_dir.join("node_modules").join(file);
        if let (true, Some(media_type)) = (path.is_file(), media_type_of(&path)) {
            found.push(((*url).to_string(), path, media_type));
        }
    }
    found
}

impl SiteFiles {
    /// Reads the site's files under `web_dir`: its top-level files of the site's types and
    /// the vendored files that exist.
    pub fn list(web_dir: &Path) -> SiteFiles {
        SiteFiles::with_generated(web_dir, Vec::new())
    }

    /// Like [`SiteFiles::list`], with files made at start-up added to the set.
    pub fn with_generated(web_dir: &Path, generated: Vec<GeneratedFile>) -> SiteFiles {
        let mut contents: HashMap<String, (Vec<u8>, &'static str)> = HashMap::new();
        for (url, path, media_type) in site_paths(web_dir) {
            match std::fs::read(&path) {
                Ok(body) => {
                    contents.insert(url, (body, media_type));
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "a site file cannot be read");
                }
            }
        }
        for file in generated {
            contents.insert(file.path, (file.body, file.media_type));
        }
        if contents.is_empty() {
            tracing::warn!(web_dir = %web_dir.display(), "no site files found: the map page is not served");
        }
        let version = versioned::site_version(
            contents
                .iter()
                .map(|(path, (body, _))| (path.as_str(), body.as_slice())),
        );
        let prefix = versioned::prefix(&version);
        let is_asset = |path: &str| contents.get(path).is_some_and(|(_, t)| *t != HTML);
        let pages: Vec<(String, Vec<u8>)> = contents
            .iter()
            .filter(|(_, (_, media_type))| *media_type == HTML)
            .map(|(path, (body, _))| {
                let page = String::from_utf8_lossy(body);
                let rewritten = versioned::point_at_versions(&page, &prefix, &is_asset);
                (path.clone(), rewritten.into_bytes())
            })
            .collect();
        for (path, body) in pages {
            if let Some(entry) = contents.get_mut(&path) {
                entry.0 = body;
            }
        }
        let files = contents
            .into_iter()
            .map(|(path, (body, media_type))| {
                let etag = caching::etag(&[&body]);
                (
                    path,
                    Arc::new(SiteFile {
                        body,
                        media_type,
                        etag,
                        brotli: OnceLock::new(),
                    }),
                )
            })
            .collect();
        SiteFiles { files, version }
    }

    /// Compresses every file at brotli's best quality (seconds of one core: run it on a
    /// thread of its own, after start-up), so that no visitor waits for it. The smallest go
    /// first: the page's modules are ready soonest.
    pub fn precompress(&self) {
        let mut files: Vec<&Arc<SiteFile>> = self.files.values().collect();
        files.sort_by_key(|file| file.body.len());
        for file in files {
            file.brotli();
        }
    }

    /// The URL paths served, sorted (for tests and logs).
    pub fn paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.files.keys().map(String::as_str).collect();
        paths.sort_unstable();
        paths
    }

    /// The version the site's content names.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The versioned URL of the site file at `path` (such as `/app.js`): the one way asset
    /// URLs are built on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", versioned::prefix(&self.version))
    }

    /// Answers a request for `uri`: the file with a strong ETag (304 when the client's copy
    /// is current); 404 for anything outside the set, 405 for methods other than GET and
    /// HEAD, 400 for a query (files take no parameters).
    pub async fn serve(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Response, ApiError> {
        self.serve_file(method, uri.path(), headers, uri).await
    }

    /// Like [`SiteFiles::serve`] for the file at `url_path`, with `uri`'s query.
    pub async fn serve_file(
        &self,
        method: &Method,
        url_path: &str,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Response, ApiError> {
        let not_found = || ApiError::NoRoute(shorten(url_path));
        let (path, freshness) = match versioned::strip(url_path) {
            // Another version's URL (an old page, another release's replica) is not found
            // rather than answered with other bytes that caches would keep for a year.
            Some((version, path)) if version == self.version => (path, Freshness::Immutable),
            Some(_) => return Err(not_found()),
            None => (url_path, Freshness::Revalidate),
        };
        let file = self.files.get(path).ok_or_else(not_found)?;
        if freshness == Freshness::Immutable && file.media_type == HTML {
            return Err(not_found());
        }
        if method != Method::GET && method != Method::HEAD {
            let mut response = ApiError::MethodNotAllowed.into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOWED));
            return Ok(response);
        }
        QueryParams::accepting(uri, &[])?;
        // A client that takes brotli always gets the file at brotli's best: made now (off the
        // async threads) if start-up's pass has not reached it yet.
        let packed = match (
            negotiation::accepts::<Encodings>(headers, "br"),
            file.brotli.get(),
        ) {
            (false, _) => None,
            (true, Some(done)) => done.clone(),
            (true, None) => {
                let file = file.clone();
                tokio::task::spawn_blocking(move || file.brotli().cloned())
                    .await
                    .map_err(|_| ApiError::Internal)?
            }
        };
        let coded = packed.is_some();
        let mut response =
            caching::respond_for(headers, &file.etag, file.media_type, freshness, || {
                packed.unwrap_or_else(|| file.body.clone())
            });
        // The compression layer leaves a response that names its coding as it is (`Vary`
        // already names `Accept-Encoding`).
        if coded && response.status().is_success() {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        }
        Ok(response)
    }
}

/// A path as named in a problem's detail: long ones are cut, so the detail stays readable.
pub fn shorten(path: &str) -> String {
    const MAX: usize = 200;
    match path.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_own_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path();
        for name in [
            "index.html",
            "app.js",
            "style.css",
            "package.json",
            "package-lock.json",
            "README.md",
            ".hidden.js",
        ] {
            std::fs::write(web.join(name), "x").unwrap();
        }
        std::fs::create_dir_all(web.join("tests")).unwrap();
        std::fs::create_dir_all(web.join("i18n")).unwrap();
        std::fs::write(web.join("i18n/fr.json"), "{}").unwrap();
        std::fs::write(web.join("i18n/notes.md"), "x").unwrap();
        std::fs::write(web.join("tests/a.test.js"), "x").unwrap();
        let leaflet = web.join("node_modules/leaflet/dist");
        std::fs::create_dir_all(&leaflet).unwrap();
        for name in ["leaflet-src.esm.js", "leaflet.js", "leaflet.css"] {
            std::fs::write(leaflet.join(name), "x").unwrap();
        }
        let site = SiteFiles::list(web);
        assert_eq!(
            site.paths(),
            vec![
                "/app.js",
                "/i18n/fr.json",
                "/index.html",
                "/style.css",
                "/vendor/leaflet/leaflet.css",
                "/vendor/leaflet/leaflet.js"
            ]
        );
    }

    async fn get(site: &SiteFiles, path: &str, headers: &HeaderMap) -> Response {
        let uri: Uri = path.parse().unwrap();
        match site.serve(&Method::GET, &uri, headers).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }

    async fn text(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn versioned_files_are_immutable_and_pages_revalidated() {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path();
        std::fs::write(
            web.join("index.html"),
            r#"<script type="module" src="/app.js"></script><a href="/about.html">a</a>"#,
        )
        .unwrap();
        std::fs::write(web.join("about.html"), "about").unwrap();
        std::fs::write(web.join("app.js"), "import './map.js';").unwrap();
        let generated = GeneratedFile {
            path: "/basemap/europe-0.geojson".into(),
            media_type: "application/geo+json",
            body: b"{}".to_vec(),
        };
        let site = SiteFiles::with_generated(web, vec![generated]);
        let none = HeaderMap::new();

        let page = get(&site, "/index.html", &none).await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = page.headers()[header::ETAG].clone();
        let html = text(page).await;
        let script = site.url("/app.js");
        assert!(html.contains(&format!(r#"src="{script}""#)), "{html}");
        assert!(html.contains(r#"href="/about.html""#), "{html}");

        let mut revalidating = HeaderMap::new();
        revalidating.insert(header::IF_NONE_MATCH, etag);
        let again = get(&site, "/index.html", &revalidating).await;
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()[header::CACHE_CONTROL], "no-cache");

        for path in [script.clone(), site.url("/basemap/europe-0.geojson")] {
            let file = get(&site, &path, &none).await;
            assert_eq!(file.status(), 200, "{path}");
            assert_eq!(
                file.headers()[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable",
                "{path}"
            );
            assert!(file.headers().contains_key(header::ETAG), "{path}");
        }
        let plain = get(&site, "/app.js", &none).await;
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(text(plain).await, "import './map.js';");

        // Pages are never immutable; another version and unknown files are not found.
        let other = script.replace(site.version(), "0000000000000000");
        for path in [site.url("/index.html"), other, site.url("/nothing.js")] {
            assert_eq!(get(&site, &path, &none).await.status(), 404, "{path}");
        }
    }

    #[tokio::test]
    async fn precompressed_files_go_to_clients_that_take_brotli() {
        let dir = tempfile::tempdir().unwrap();
        let script = "export const answer = 42;\n".repeat(200);
        std::fs::write(dir.path().join("app.js"), &script).unwrap();
        let site = SiteFiles::list(dir.path());
        let mut takes_br = HeaderMap::new();
        takes_br.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br"),
        );
        // Compressed on first use when start-up's pass has not reached it yet.
        let packed = get(&site, "/app.js", &takes_br).await;
        assert_eq!(packed.status(), 200);
        assert_eq!(packed.headers()[header::CONTENT_ENCODING], "br");
        let vary = packed.headers()[header::VARY]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(vary.contains("accept-encoding"), "{vary}");
        let etag = packed.headers()[header::ETAG].clone();
        let body = axum::body::to_bytes(packed.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(body.len() < script.len() / 10, "{} bytes", body.len());
        let mut unpacked = String::new();
        std::io::Read::read_to_string(
            &mut brotli::Decompressor::new(&body[..], 4096),
            &mut unpacked,
        )
        .unwrap();
        assert_eq!(unpacked, script);
        // Others get the file itself; a revalidation is a 304 with no coding.
        let mut gzip_only = HeaderMap::new();
        gzip_only.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, br;q=0"),
        );
        let plain = get(&site, "/app.js", &gzip_only).await;
        assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(text(plain).await, script);
        takes_br.insert(header::IF_NONE_MATCH, etag);
        let unchanged = get(&site, "/app.js", &takes_br).await;
        assert_eq!(unchanged.status(), 304);
        assert!(!unchanged.headers().contains_key(header::CONTENT_ENCODING));
    }

    #[test]
    fn the_version_changes_with_any_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "1").unwrap();
        let before = SiteFiles::list(dir.path()).version().to_string();
        std::fs::write(dir.path().join("app.js"), "2").unwrap();
        assert_ne!(SiteFiles::list(dir.path()).version(), before);
    }

    #[test]
    fn long_paths_are_cut_in_details() {
        assert_eq!(shorten("/a").as_str(), "/a");
        assert!(shorten(&"é".repeat(1000)).chars().count() <= 201);
    }
}
