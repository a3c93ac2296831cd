//! The site's own files: an explicit set (the pages with their modules, styles and images,
//! and the few vendored files they load from npm packages), never the rest of `web/`
//! (tests, manifests, `node_modules` as a tree).
//!
//! The set is listed once at start-up; a request for anything else is a 404 problem without
//! touching the file system, so no path (however long, however encoded) reaches it. Files are
//! read when asked for, so an edited page shows on reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::api::caching;
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;

/// The extensions of `web/`'s own top-level files that are part of the site, with their
/// media types. Not `json` or `md`: `package.json`, its lock file and the READMEs are not.
const SITE_TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
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
/// Leaflet's ES module and style sheet, and the images the style sheet refers to;
/// protomaps-leaflet's browser build, which draws an operator's PMTiles base map.
const VENDORED: &[(&str, &str)] = &[
    (
        "/vendor/leaflet/leaflet-src.esm.js",
        "leaflet/dist/leaflet-src.esm.js",
    ),
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

struct SiteFile {
    path: PathBuf,
    media_type: &'static str,
}

/// The files of the site, by URL path.
pub struct SiteFiles {
    files: HashMap<String, SiteFile>,
}

fn media_type_of(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?;
    SITE_TYPES
        .iter()
        .find(|(e, _)| *e == extension)
        .map(|(_, media_type)| *media_type)
}

impl SiteFiles {
    /// Lists the site's files under `web_dir`: its top-level files of the site's types and
    /// the vendored files that exist.
    pub fn list(web_dir: &Path) -> SiteFiles {
        let mut files = HashMap::new();
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
                files.insert(format!("/{name}"), SiteFile { path, media_type });
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
                files.insert(
                    format!("/{CATALOGUES}/{name}"),
                    SiteFile {
                        path,
                        media_type: JSON,
                    },
                );
            }
        }
        for (url, file) in VENDORED {
            let path = web_dir.join("node_modules").join(file);
            if let (true, Some(media_type)) = (path.is_file(), media_type_of(&path)) {
                files.insert((*url).to_string(), SiteFile { path, media_type });
            }
        }
        if files.is_empty() {
            tracing::warn!(web_dir = %web_dir.display(), "no site files found: the map page is not served");
        }
        SiteFiles { files }
    }

    /// The URL paths served, sorted (for tests and logs).
    pub fn paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.files.keys().map(String::as_str).collect();
        paths.sort_unstable();
        paths
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
        let file = self
            .files
            .get(url_path)
            .ok_or_else(|| ApiError::NoRoute(shorten(url_path)))?;
        if method != Method::GET && method != Method::HEAD {
            let mut response = ApiError::MethodNotAllowed.into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOWED));
            return Ok(response);
        }
        QueryParams::accepting(uri, &[])?;
        let body = tokio::fs::read(&file.path).await.map_err(|e| {
            tracing::warn!(path = %file.path.display(), error = %e, "a site file cannot be read");
            ApiError::NoRoute(shorten(url_path))
        })?;
        let etag = caching::etag(&[&body]);
        Ok(caching::respond(headers, &etag, file.media_type, || body))
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
                "/vendor/leaflet/leaflet-src.esm.js",
                "/vendor/leaflet/leaflet.css"
            ]
        );
    }

    #[test]
    fn long_paths_are_cut_in_details() {
        assert_eq!(shorten("/a").as_str(), "/a");
        assert!(shorten(&"é".repeat(1000)).chars().count() <= 201);
    }
}
