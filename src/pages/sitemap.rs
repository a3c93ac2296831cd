//! `/sitemap.xml` (the list and every initiative's page, each with the date it last changed)
//! and `/robots.txt`, which points crawlers at it.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::html::{escape, segment};
use super::list::LIST_PATH;
use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching};
use crate::filter::Filter;

pub async fn sitemap(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let snapshot = state.snapshot.load_full();
    let base = base_url(&state, &headers);
    let etag = caching::query_etag(&snapshot.version, &base, &uri);
    Ok(caching::respond_dated(
        &headers,
        &etag,
        snapshot.last_modified,
        "application/xml; charset=utf-8",
        || {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
            );
            let _ = write!(xml, "<url><loc>{}{LIST_PATH}</loc>", escape(&base));
            if let Some(modified) = snapshot.last_modified {
                let _ = write!(xml, "<lastmod>{modified}</lastmod>");
            }
            xml.push_str("</url>\n");
            // Closed initiatives keep their pages, for history.
            let every = Filter {
                statuses: Filter::all_statuses(),
                ..Filter::default()
            };
            for slot in snapshot.matching(None, &every) {
                let initiative = snapshot.get(slot);
                let _ = writeln!(
                    xml,
                    "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
                    escape(&format!("{base}{LIST_PATH}/{}", segment(initiative.id))),
                    initiative.updated_at
                );
            }
            xml.push_str("</urlset>\n");
            xml.into_bytes()
        },
    ))
}

pub async fn robots(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    QueryParams::accepting(&uri, &[])?;
    let base = base_url(&state, &headers);
    let body =
        format!("User-agent: *\nAllow: /\nDisallow: /moderate.html\nSitemap: {base}/sitemap.xml\n");
    let etag = caching::etag(&[body.as_bytes()]);
    Ok(caching::respond(
        &headers,
        &etag,
        "text/plain; charset=utf-8",
        || body.into_bytes(),
    ))
}
