//! HTML pages the server writes itself, readable without JavaScript by any browser and by
//! search engines: the list of initiatives with its filters as links, one page per
//! initiative, the sitemap and robots.txt. Texts come from the interface's catalogues.

mod error;
mod html;
pub mod initiative;
pub mod list;
pub mod sitemap;

use std::sync::Arc;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use crate::api::params::QueryParams;
use crate::api::{AppState, base_url, caching, negotiation};
use crate::translations::{Locale, Translations};
pub use error::PageError;

/// The media type of every page.
const HTML: &str = "text/html; charset=utf-8";

/// Serves a page: reads the visit (a query parameter outside `allowed` and `lang` is refused),
/// then answers with `respond`'s page, or its error as a readable page in the visitor's language.
pub fn serve(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    allowed: &[&str],
    respond: impl FnOnce(&Visit) -> Result<Response, PageError>,
) -> Response {
    match Visit::start(state, headers, uri, allowed) {
        Ok(visit) => respond(&visit).unwrap_or_else(|error| error.render(&visit)),
        Err(refusal) => refusal,
    }
}

/// One visit to a page: the visitor's language and how to link back to this site.
pub struct Visit {
    pub locale: Locale,
    /// Whether the query chose the language; then every link keeps it.
    explicit: bool,
    pub base: String,
    path: String,
    pub params: QueryParams,
    translations: Arc<Translations>,
}

impl Visit {
    /// Reads the request; a parameter outside `allowed` (or `lang`) or an unknown language
    /// gets the readable 400 page, in English when the language is what is wrong.
    #[allow(clippy::result_large_err)]
    pub fn start(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
        allowed: &[&str],
    ) -> Result<Visit, Response> {
        let params = QueryParams::parse(uri.query());
        let language = negotiation::language(&params, headers);
        let mut visit = Visit {
            locale: *language.as_ref().unwrap_or(&Locale::En),
            explicit: params.get("lang").ok().flatten().is_some() && language.is_ok(),
            base: base_url(state, headers),
            path: uri.path().to_string(),
            params,
            translations: state.translations.clone(),
        };
        let checked = language.and_then(|_| visit.params.reject_unknown(&[allowed, &["lang"]]));
        match checked {
            Ok(()) => Ok(visit),
            Err(error) => {
                visit.params = QueryParams::parse(None);
                Err(PageError::from(error).render(&visit))
            }
        }
    }

    /// The interface text `key` in the visitor's language.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.translations.text(self.locale, key)
    }

    pub fn translations(&self) -> &Translations {
        &self.translations
    }

    /// A link to `path` with `pairs` as its query, and the language when the visitor chose it.
    pub fn href(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if self.explicit {
            query.append_pair("lang", self.locale.code());
        }
        let query = query.finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }

    /// This page in another language.
    fn in_language(&self, locale: Locale) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.params.pairs() {
            if name != "lang" {
                query.append_pair(name, value);
            }
        }
        query.append_pair("lang", locale.code());
        format!("{}?{}", self.path, query.finish())
    }

    /// The page: `304` when the client's copy (tagged from `validators`, the language and the
    /// address) is current, else the body `write` produces; either way in the visitor's
    /// language, so caches keep one copy per language.
    pub fn respond(
        &self,
        validators: &[&[u8]],
        last_modified: Option<jiff::Timestamp>,
        headers: &HeaderMap,
        uri: &Uri,
        write: impl FnOnce() -> String,
    ) -> Response {
        let mut parts = validators.to_vec();
        let uri = uri.to_string();
        parts.extend([
            self.locale.code().as_bytes(),
            self.base.as_bytes(),
            uri.as_bytes(),
        ]);
        let etag = caching::etag(&parts);
        let response =
            caching::respond_dated(headers, &etag, last_modified, HTML, || write().into_bytes());
        caching::in_language(response, self.locale.code())
    }
}
