//! Starting the service: load and validate the data, build the snapshot, listen, shut down gracefully.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::api::auth::Curators;
use crate::api::{self, AppState};
use crate::basemap;
use crate::config::Secret;
use crate::config::ServeConfig;
use crate::curation::{Curation, CurationError, OpenedStore};
use crate::dataset::{self, DatasetError};
use crate::follow::{StoreStatus, follow};
use crate::harvest::schedule::{ScheduledFeed, read_feeds, run_forever};
use crate::regions::{Regions, RegionsError, SharedRegions};
use crate::snapshot::{SharedSnapshot, Snapshot, content_version};
use crate::store::StoreLocation;

/// The curated seed dataset, built into the binary so that `serve` works anywhere.
pub const SEED_DATASET: &str = include_str!("../data/initiatives.geojson");

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Regions(#[from] RegionsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot open the store {location}: {source}")]
    Store {
        location: String,
        source: CurationError,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// How many of a served file's warnings are logged one by one.
const MAX_LOGGED_WARNINGS: usize = 10;

/// Reads and validates the configured dataset file (or the seed data) into a read-only
/// snapshot, without a store.
pub fn load_snapshot(config: &ServeConfig) -> Result<Snapshot, ServeError> {
    let regions = Arc::new(Regions::load(&config.regions, &config.web_dir)?);
    load_snapshot_in(config, regions)
}

fn load_snapshot_in(config: &ServeConfig, regions: SharedRegions) -> Result<Snapshot, ServeError> {
    let clustering = config.clustering.options().map_err(ServeError::Config)?;
    let text: Cow<str> = match &config.data {
        Some(path) => {
            Cow::Owned(
                std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
                    path: path.display().to_string(),
                    source,
                })?,
            )
        }
        None => Cow::Borrowed(SEED_DATASET),
    };
    let started = std::time::Instant::now();
    let dataset = dataset::parse(&text).map_err(DatasetError::Invalid)?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dataset parsed and validated"
    );
    // A partner's file may lack the evidence fields on every record: show a few warnings
    // and how many there are of each, not a line per record.
    for warning in dataset.warnings.iter().take(MAX_LOGGED_WARNINGS) {
        tracing::warn!(%warning, "dataset warning");
    }
    if dataset.warnings.len() > MAX_LOGGED_WARNINGS {
        let by_field: Vec<String> = dataset::count_by_field(&dataset.warnings)
            .into_iter()
            .map(|(field, n)| format!("{field} {n}"))
            .collect();
        tracing::warn!(
            total = dataset.warnings.len(),
            by_field = %by_field.join(", "),
            "more dataset warnings: `skillsmap check` lists them all"
        );
    }
    let version = content_version(text.as_bytes());
    // The text can be as large as the parsed records: free it before building the indexes.
    drop(text);
    Ok(Snapshot::build(
        dataset.initiatives,
        version,
        clustering,
        regions,
    ))
}

/// The curators from `SKILLSMAP_CURATOR_TOKENS` / `--curator-tokens` and the tokens file.
fn load_curators(config: &ServeConfig) -> Result<Curators, ServeError> {
    let mut curators = Curators::default();
    if let Some(Secret(text)) = &config.curator_tokens {
        curators
            .add(text, "SKILLSMAP_CURATOR_TOKENS")
            .map_err(ServeError::Config)?;
    }
    if let Some(path) = &config.curator_tokens_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServeError::Config(format!("cannot read {}: {e}", path.display())))?;
        curators
            .add(&text, &path.display().to_string())
            .map_err(ServeError::Config)?;
    }
    if curators.is_empty() && config.data.is_none() {
        tracing::warn!(
            "no curator tokens configured: submissions are stored, but nobody can approve them"
        );
    }
    Ok(curators)
}

/// Everything the handlers need: the store (or the read-only file), curators, the base map.
pub fn app_state(config: ServeConfig) -> Result<AppState, ServeError> {
    let clustering = config.clustering.options().map_err(ServeError::Config)?;
    let curators = load_curators(&config)?;
    let store_error = |source| ServeError::Store {
        location: config.db.to_string(),
        source,
    };
    // The store with its saved read model, the regions, the base map and GeoNames' places
    // are read at once, each on a thread of its own.
    let (regions, opened, basemap, geonames) = std::thread::scope(|scope| {
        let opened = config
            .data
            .is_none()
            .then(|| scope.spawn(|| open_waiting(&config.db)));
        let basemap = scope.spawn(|| basemap::countries_geojson(&config.web_dir));
        let geonames = scope.spawn(|| crate::places::geonames::load(&config.web_dir));
        // Regions and places do not change with the data: loaded once, shared by every
        // snapshot.
        let regions = Regions::load(&config.regions, &config.web_dir);
        let join = |e| ServeError::Config(format!("start-up failed: {e:?}"));
        let opened = opened.map(|h| h.join().map_err(join));
        (
            regions,
            opened,
            basemap.join().map_err(join),
            geonames.join().map_err(join),
        )
    });
    let regions = Arc::new(regions?);
    let geonames = geonames?;
    let (snapshot, store) = match opened {
        None => (load_snapshot_in(&config, regions.clone())?, None),
        Some(opened) => {
            let (store, snapshot) = opened?
                .map_err(store_error)?
                .first_snapshot(clustering, regions.clone())
                .map_err(store_error)?;
            (snapshot, Some(store))
        }
    };
    tracing::info!(
        initiatives = snapshot.len(),
        version = %snapshot.version,
        "dataset loaded"
    );
    let basemap = basemap?.map_err(|e| {
        tracing::warn!(error = %e, "country outlines unavailable; the map has no base layer");
        e.to_string()
    });
    let places = Arc::new(crate::places::Places::build(geonames, &regions, &snapshot));
    let snapshot: SharedSnapshot = Arc::new(ArcSwap::from_pointee(snapshot));
    let curation = store.map(|store| Arc::new(Curation::new(store, snapshot.clone(), &config.db)));
    let state = AppState {
        snapshot,
        site: Arc::new(crate::api::assets::SiteFiles::list(&config.web_dir)),
        config: Arc::new(config),
        basemap: Arc::new(basemap),
        curation,
        curators: Arc::new(curators),
        store_status: Arc::new(StoreStatus::default()),
        places,
    };
    Ok(state)
}

/// Opens (and seeds, if new) the store at `location` with its saved read model, waiting for
/// it while it is unavailable (PostgreSQL starting, unreachable or failing over) with
/// backoff, and saying so in the log; any other failure stops the start.
fn open_waiting(location: &StoreLocation) -> Result<OpenedStore, CurationError> {
    let mut retry = std::time::Duration::from_millis(500);
    loop {
        match OpenedStore::open(location, SEED_DATASET) {
            Err(CurationError::Store(e)) if e.is_outage() => {
                tracing::warn!(
                    store = %location,
                    error = %e,
                    retry_in_ms = retry.as_millis() as u64,
                    "the store is unavailable; retrying"
                );
                std::thread::sleep(retry);
                retry = (retry * 2).min(std::time::Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    feeds: Vec<ScheduledFeed>,
}

impl Server {
    /// Loads the data and binds the listening socket; fails before serving anything if either fails.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        let listen = config.listen;
        let feeds = match &config.harvest {
            Some(path) => read_feeds(path).map_err(|e| ServeError::Config(e.to_string()))?,
            None => Vec::new(),
        };
        if !feeds.is_empty() && config.data.is_some() {
            return Err(ServeError::Config(
                "--harvest needs the store: it cannot be used with --data".into(),
            ));
        }
        let state = app_state(config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: listen,
                source,
            })?;
        Ok(Server {
            listener,
            state,
            feeds,
        })
    }

    /// Prepares the regions' sampling grids and outlines on a thread of their own, so that
    /// the first coverage query need not wait for them.
    pub fn warm_up_regions(&self) {
        let regions = self.state.snapshot.load().regions.clone();
        std::thread::spawn(move || regions.warm_up());
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        tracing::info!(addr = %self.local_addr()?, "listening");
        if let Some(curation) = &self.state.curation {
            tokio::spawn(follow(
                curation.clone(),
                self.state.config.db.clone(),
                self.state.store_status.clone(),
            ));
            tokio::spawn(curation.clone().merge_forever());
            let holder = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
            let regions = self.state.snapshot.load().regions.clone();
            for feed in self.feeds {
                tokio::spawn(run_forever(
                    feed,
                    (curation.clone(), regions.clone()),
                    holder.clone(),
                ));
            }
        }
        // Connection info gives submissions' rate limit its key: the client's address.
        let app = api::router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
