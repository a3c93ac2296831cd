//! Every API error, turned into an `application/problem+json` response (RFC 9457) in one place.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a request failed, as the API tells its client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("parameter \"{parameter}\": {reason}")]
    InvalidParameter { parameter: String, reason: String },
    #[error("unknown query parameter \"{0}\"")]
    UnknownParameter(String),
    #[error("no initiative with id \"{0}\"")]
    NoSuchInitiative(String),
    #[error("{0}")]
    NoSuchCluster(String),
    #[error("nothing here: {0}")]
    NoRoute(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("the server failed to answer this request")]
    Internal,
}

impl ApiError {
    pub fn invalid(parameter: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            parameter: parameter.into(),
            reason: reason.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter { .. } | ApiError::UnknownParameter(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NoSuchInitiative(_) | ApiError::NoSuchCluster(_) | ApiError::NoRoute(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::InvalidParameter { .. } => "Invalid parameter",
            ApiError::UnknownParameter(_) => "Unknown parameter",
            ApiError::NoSuchInitiative(_) => "Initiative not found",
            ApiError::NoSuchCluster(_) => "Cluster not found",
            ApiError::NoRoute(_) => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Unavailable(_) => "Not available",
            ApiError::Internal => "Internal error",
        }
    }

    fn parameter(&self) -> Option<&str> {
        match self {
            ApiError::InvalidParameter { parameter, .. } => Some(parameter),
            ApiError::UnknownParameter(name) => Some(name),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ProblemBody {
            kind: "about:blank",
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            parameter: self.parameter(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response()
    }
}
