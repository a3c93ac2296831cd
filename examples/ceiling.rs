//! The framework's ceiling for `bench/run`: an axum server on the same runtime settings as
//! skillsmap whose one handler returns a fixed small body. Each endpoint's throughput over
//! this one says how close it comes to what axum can do on the machine.
//! Run: `cargo run --release --example ceiling -- 127.0.0.1:18182`

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18182".into());
    let app = Router::new().route("/", get(|| async { r#"{"status":"ok"}"# }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
