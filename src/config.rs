//! The service's configuration: one struct, from command-line flags and `SKILLSMAP_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `skillsmap serve` runs.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "SKILLSMAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// A GeoJSON dataset to serve instead of the seed data built into the binary.
    #[arg(long, env = "SKILLSMAP_DATA")]
    pub data: Option<PathBuf>,

    /// The public base URL used in links (e.g. https://skillsmap.example.org); by default
    /// links use the request's Host header.
    #[arg(long, env = "SKILLSMAP_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl ServeConfig {
    /// A configuration for tests and embedding: the given data, any free loopback port.
    pub fn local(data: Option<PathBuf>) -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            public_url: None,
        }
    }
}
