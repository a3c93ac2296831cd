//! The framework's ceiling for `bench/run`: an axum server on the same runtime settings as
//! skillsmap whose handlers return fixed bodies. `GET /` answers a 15-byte body; `GET
//! /bytes/{n}` answers a body of exactly `n` bytes, cut from one buffer built at start (so the
//! handler copies nothing), for comparing an endpoint with what axum does when it has nothing
//! to compute but the same bytes to send. `bench/run` asks it, path by path, for the size of
//! skillsmap's real answer to the same request.
//! Run: `cargo run --release --example ceiling -- 127.0.0.1:18182`

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

/// The largest body `/bytes/{n}` serves: well above any answer the benchmark requests.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18182".into());
    let app = Router::new()
        .route("/", get(|| async { r#"{"status":"ok"}"# }))
        .route("/bytes/{n}", get(sized))
        .with_state(filler());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}

/// A body of `n` bytes: a slice of the shared buffer (a reference count, no copy).
async fn sized(State(body): State<Bytes>, Path(n): Path<usize>) -> Response {
    if n > body.len() {
        return (StatusCode::BAD_REQUEST, "larger than the ceiling's buffer").into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.slice(..n),
    )
        .into_response()
}

/// JSON-like text (a feature repeated) of [`MAX_BODY`] bytes.
fn filler() -> Bytes {
    let feature = br#"{"type":"Feature","id":"gen-123456","geometry":{"type":"Point","coordinates":[13.40512,52.52001]},"properties":{"name":"Berlin Digital Academy 123456","city":"Berlin"}},"#;
    Bytes::from(
        feature
            .iter()
            .copied()
            .cycle()
            .take(MAX_BODY)
            .collect::<Vec<u8>>(),
    )
}
