//! The service's configuration: one struct, from command-line flags and `SKILLSMAP_*` variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::ClusterOptions;
use crate::regions::RegionArgs;
use crate::store::StoreLocation;

/// Highest submission rate or burst that can be configured.
pub const MAX_RATE: u32 = 1_000_000;

/// How `skillsmap serve` runs.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address and port to listen on.
    #[arg(long, env = "SKILLSMAP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The store, created and seeded with the built-in data on first start: an SQLite file
    /// (`:memory:` keeps it in memory, lost at exit), or a PostgreSQL database as
    /// `postgres://user:password@host:port/database` (`?sslmode=require` for TLS), which any
    /// number of replicas can share.
    #[arg(long, env = "SKILLSMAP_DB", default_value = "skillsmap.db")]
    pub db: StoreLocation,

    /// Serve this GeoJSON dataset read-only instead of the store (no submissions or edits).
    #[arg(long, env = "SKILLSMAP_DATA")]
    pub data: Option<PathBuf>,

    /// A TOML file of partner feeds to harvest on a schedule (`[[feed]]` with `source`,
    /// `mapping`, `every`); see the README.
    #[arg(long, env = "SKILLSMAP_HARVEST")]
    pub harvest: Option<PathBuf>,

    /// Days the audit log keeps the entries of harvest runs (one per run, with the records
    /// it changed); older ones are pruned at the end of each run. Curators' entries stay.
    #[arg(long, env = "SKILLSMAP_HARVEST_AUDIT_DAYS", default_value_t = DEFAULT_HARVEST_AUDIT_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    pub harvest_audit_days: u32,

    /// Curator tokens as `name:token` entries separated by commas. Prefer the environment
    /// variable or `--curator-tokens-file`: other users of the machine can read command lines.
    #[arg(long, env = "SKILLSMAP_CURATOR_TOKENS", hide_env_values = true, value_parser = secret)]
    pub curator_tokens: Option<Secret>,

    /// A file of curator tokens, one `name:token` a line (`#` starts a comment).
    #[arg(long, env = "SKILLSMAP_CURATOR_TOKENS_FILE")]
    pub curator_tokens_file: Option<PathBuf>,

    /// Submissions accepted from one client address per hour (after the burst).
    #[arg(long, env = "SKILLSMAP_SUBMISSIONS_PER_HOUR", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=MAX_RATE as i64))]
    pub submissions_per_hour: u32,

    /// Submissions one client address may send in quick succession.
    #[arg(long, env = "SKILLSMAP_SUBMISSION_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=MAX_RATE as i64))]
    pub submission_burst: u32,

    /// The public base URL used in links (e.g. https://skillsmap.example.org); by default
    /// links use the request's Host header (or a trusted proxy's `X-Forwarded-Host`).
    #[arg(long, env = "SKILLSMAP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Reverse proxies (addresses or CIDR blocks, comma-separated) whose `Forwarded` /
    /// `X-Forwarded-For`, `-Proto` and `-Host` headers are believed; from anyone else those
    /// headers are ignored.
    #[arg(long, env = "SKILLSMAP_TRUSTED_PROXIES", value_delimiter = ',', value_parser = proxy_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Folder of the web front-end (its npm packages installed in `node_modules`).
    #[arg(long, env = "SKILLSMAP_WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,

    /// Optional raster tile layer for the map, as an XYZ URL template
    /// (e.g. https://tile.example.org/{z}/{x}/{y}.png). Without it the page uses no other host.
    #[arg(long, env = "SKILLSMAP_BASEMAP_URL")]
    pub basemap_url: Option<String>,

    /// Longest time a request may take, its body's arrival included, before the server
    /// answers 503 with Retry-After (e.g. 30s, 2m).
    #[arg(long, env = "SKILLSMAP_REQUEST_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub request_timeout: Duration,

    /// Longest time a client may take to send a request's line and headers, from its first
    /// byte; a slower connection is closed.
    #[arg(long, env = "SKILLSMAP_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_timeout: Duration,

    /// Longest time a client may take to send a request's body once its headers are in;
    /// a slower one is answered 408.
    #[arg(long, env = "SKILLSMAP_BODY_TIMEOUT", default_value = "20s", value_parser = duration)]
    pub body_timeout: Duration,

    /// How long a kept-alive connection may wait for its next request before it is closed
    /// (longer than a proxy's keep-alive towards the service, e.g. nginx's 60 s).
    #[arg(long, env = "SKILLSMAP_IDLE_TIMEOUT", default_value = "75s", value_parser = duration)]
    pub idle_timeout: Duration,

    /// Most connections open at once; by default, and at most, the process's open-file
    /// limit less a reserve for the store, feeds and logs. Past it the longest-idle
    /// connection is closed to make room.
    #[arg(long, env = "SKILLSMAP_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// Cheap reads (pages of items, tiles, single records, the site) answered at once;
    /// as many more may wait in the queue, the rest are refused with 503.
    #[arg(long, env = "SKILLSMAP_CHEAP_BUDGET", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub cheap_budget: u32,

    /// Heavy reads (coverage, suggestions, choropleths, full exports) answered at once;
    /// by default the number of cores.
    #[arg(long, env = "SKILLSMAP_HEAVY_BUDGET", value_parser = clap::value_parser!(u32).range(1..))]
    pub heavy_budget: Option<u32>,

    /// Writes answered at once.
    #[arg(long, env = "SKILLSMAP_WRITE_BUDGET", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub write_budget: u32,

    /// Longest wait in a class's queue before a request is refused with 503.
    #[arg(long, env = "SKILLSMAP_QUEUE_WAIT", default_value = "2s", value_parser = duration)]
    pub queue_wait: Duration,

    /// How long an `Idempotency-Key` and the response recorded under it are kept: a retry
    /// with the key within this time gets the recorded response.
    #[arg(long, env = "SKILLSMAP_IDEMPOTENCY_RETENTION", default_value = "24h", value_parser = duration)]
    pub idempotency_retention: Duration,

    /// How long submitters' addresses are kept (with their submissions, in the audit log and
    /// for the rate limit) before they are erased (GDPR storage limitation); 720h is 30 days.
    #[arg(long, env = "SKILLSMAP_ADDRESS_RETENTION", default_value = "720h", value_parser = duration)]
    pub address_retention: Duration,

    /// How long SIGTERM waits for requests in flight before the process exits anyway.
    #[arg(long, env = "SKILLSMAP_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,

    /// A vector base map the operator provides (a PMTiles extract, e.g. of OpenStreetMap),
    /// served by this service at /basemap/tiles.pmtiles with range requests and drawn in the
    /// page in place of the country outlines: streets, still with no other host.
    #[arg(
        long,
        env = "SKILLSMAP_BASEMAP_PMTILES",
        conflicts_with = "basemap_url"
    )]
    pub basemap_pmtiles: Option<PathBuf>,

    #[command(flatten)]
    pub clustering: ClusteringArgs,

    #[command(flatten)]
    pub regions: RegionArgs,

    /// Attribution shown for `--basemap-url` or `--basemap-pmtiles` (required by most tile
    /// providers and by OpenStreetMap's licence).
    #[arg(long, env = "SKILLSMAP_BASEMAP_ATTRIBUTION")]
    pub basemap_attribution: Option<String>,
}

impl ServeConfig {
    /// A configuration for tests and embedding: the given data (or an in-memory store seeded
    /// with the built-in data), any free loopback port.
    pub fn local(data: Option<PathBuf>) -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: StoreLocation::Sqlite(PathBuf::from(":memory:")),
            data,
            harvest: None,
            harvest_audit_days: DEFAULT_HARVEST_AUDIT_DAYS,
            curator_tokens: None,
            curator_tokens_file: None,
            submissions_per_hour: 30,
            submission_burst: 10,
            public_url: None,
            trusted_proxies: Vec::new(),
            web_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/web")),
            basemap_url: None,
            basemap_pmtiles: None,
            basemap_attribution: None,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(75),
            max_connections: None,
            shutdown_grace: Duration::from_secs(10),
            idempotency_retention: Duration::from_secs(24 * 3600),
            address_retention: Duration::from_secs(30 * 24 * 3600),
            cheap_budget: 256,
            heavy_budget: None,
            write_budget: 16,
            queue_wait: Duration::from_secs(2),
            clustering: ClusteringArgs::default(),
            regions: RegionArgs::default(),
        }
    }
}

/// How map tiles cluster initiatives (see `ClusterOptions`).
#[derive(clap::Args, Clone, Debug)]
pub struct ClusteringArgs {
    /// Cluster radius, in pixels of a tile `--cluster-extent` pixels wide.
    #[arg(long, env = "SKILLSMAP_CLUSTER_RADIUS", default_value_t = 60.0, value_parser = positive)]
    pub cluster_radius: f64,
    /// Tile width in pixels that the radius refers to.
    #[arg(long, env = "SKILLSMAP_CLUSTER_EXTENT", default_value_t = 256.0, value_parser = positive)]
    pub cluster_extent: f64,
    /// Lowest zoom with clusters of its own.
    #[arg(long, env = "SKILLSMAP_CLUSTER_MIN_ZOOM", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=20))]
    pub cluster_min_zoom: u8,
    /// Highest zoom with clusters; above it tiles hold single initiatives.
    #[arg(long, env = "SKILLSMAP_CLUSTER_MAX_ZOOM", default_value_t = 16, value_parser = clap::value_parser!(u8).range(0..=20))]
    pub cluster_max_zoom: u8,
}

impl Default for ClusteringArgs {
    fn default() -> Self {
        let options = ClusterOptions::default();
        ClusteringArgs {
            cluster_radius: options.radius_px,
            cluster_extent: options.extent,
            cluster_min_zoom: options.min_zoom,
            cluster_max_zoom: options.max_zoom,
        }
    }
}

impl ClusteringArgs {
    pub fn options(&self) -> Result<ClusterOptions, String> {
        if self.cluster_min_zoom > self.cluster_max_zoom {
            return Err("--cluster-min-zoom must not exceed --cluster-max-zoom".into());
        }
        Ok(ClusterOptions {
            radius_px: self.cluster_radius,
            extent: self.cluster_extent,
            min_zoom: self.cluster_min_zoom,
            max_zoom: self.cluster_max_zoom,
        })
    }
}

/// A value that must never appear in logs.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn secret(text: &str) -> Result<Secret, String> {
    Ok(Secret(text.to_string()))
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.7`, taken as `/32` or `/128`).
fn proxy_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("\"{text}\" is not an address or a CIDR block such as 10.0.0.0/8"))
}

/// How many days harvest runs' audit entries are kept by default.
pub const DEFAULT_HARVEST_AUDIT_DAYS: u32 = 90;

/// `n` days as a duration.
pub fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// A duration such as `90s`, `6h` or `1h 30m` (jiff's friendly format or ISO 8601), at
/// least one second.
pub fn duration(text: &str) -> Result<Duration, String> {
    let parsed: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("\"{text}\" is not a duration such as 6h or 90s ({e})"))?;
    Duration::try_from(parsed)
        .ok()
        .filter(|d| *d >= Duration::from_secs(1))
        .ok_or_else(|| format!("\"{text}\" must be at least 1s"))
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("\"{text}\" is not a positive number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        clustering: ClusteringArgs,
    }

    #[test]
    fn command_line_defaults_are_the_cluster_defaults() {
        let flags = Flags::parse_from(["skillsmap"]);
        assert_eq!(
            flags.clustering.options().unwrap(),
            ClusterOptions::default()
        );
        let bad = Flags::try_parse_from(["skillsmap", "--cluster-radius", "-1"]);
        assert!(bad.is_err());
        let inverted = Flags::parse_from([
            "skillsmap",
            "--cluster-min-zoom",
            "9",
            "--cluster-max-zoom",
            "3",
        ]);
        assert!(inverted.clustering.options().is_err());
    }
}
