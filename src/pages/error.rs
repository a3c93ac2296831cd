//! Why a page could not be shown, as a readable HTML page in the visitor's language: the
//! pages' one error path (the API's is problem+json).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Visit;
use super::html::{Head, document, escape};
use crate::api::caching;
use crate::api::problem::ApiError;

pub enum PageError {
    NotFound,
    /// A parameter that cannot be used, and why (the API's own explanation, in English).
    BadRequest(String),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NoSuchInitiative(_) | ApiError::NoRoute(_) => PageError::NotFound,
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl PageError {
    pub fn render(self, visit: &Visit) -> Response {
        let (status, title, text) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                visit.t("pages.notFound.title"),
                escape(visit.t("pages.notFound.text")),
            ),
            PageError::BadRequest(reason) => (
                StatusCode::BAD_REQUEST,
                visit.t("pages.badRequest.title"),
                escape(&visit.translations().fill(
                    visit.locale,
                    "pages.badRequest.text",
                    &[("reason", reason)],
                )),
            ),
        };
        let head = Head {
            title: title.to_string(),
            description: title.to_string(),
            extra: "<meta name=\"robots\" content=\"noindex\">\n".into(),
            ..Head::default()
        };
        let main = format!(
            "<h1>{}</h1>\n<p>{text}</p>\n<p><a href=\"{}\">{}</a></p>\n",
            escape(title),
            escape(&visit.href("/initiatives", &[])),
            escape(visit.t("pages.list.link")),
        );
        let body = document(visit, &head, &main);
        let response = (
            status,
            [
                (header::CONTENT_TYPE, super::HTML),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        caching::in_language(response, visit.locale.code())
    }
}
