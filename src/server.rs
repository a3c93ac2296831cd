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
use crate::connections::{self, App, Limits};
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
        let basemap = scope.spawn(|| basemap::europe_levels(&config.web_dir));
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
    // The outlines are site files: served compressed and cached like the page's own.
    let (outlines, mut generated) = match basemap {
        Ok(levels) => {
            let (outlines, generated) = levels
                .into_iter()
                .enumerate()
                .map(|(index, level)| {
                    let path = basemap::level_path(index);
                    (
                        basemap::OutlineLevel {
                            min_zoom: level.min_zoom,
                            path: path.clone(),
                        },
                        crate::api::assets::GeneratedFile {
                            path,
                            media_type: "application/geo+json",
                            body: level.geojson,
                        },
                    )
                })
                .unzip();
            (Ok(outlines), generated)
        }
        Err(reason) => (Err(reason), Vec::new()),
    };
    // Each level's outlines are a site file too, loaded by the coverage view once per level
    // (and cached by the browser) while the figures come from `/coverage` per query.
    generated.extend(
        regions
            .layers()
            .map(|layer| crate::api::assets::GeneratedFile {
                path: crate::api::coverage::outlines_path(layer.level),
                media_type: "application/geo+json",
                body: crate::api::coverage::outline_file(layer),
            }),
    );
    let places = Arc::new(crate::places::Places::build(geonames, &regions, &snapshot));
    let snapshot: SharedSnapshot = Arc::new(ArcSwap::from_pointee(snapshot));
    let curation = store.map(|store| Arc::new(Curation::new(store, snapshot.clone(), &config.db)));
    let state = AppState {
        snapshot,
        site: Arc::new(crate::api::assets::SiteFiles::with_generated(
            &config.web_dir,
            generated,
        )),
        config: Arc::new(config),
        basemap: Arc::new(outlines),
        curation,
        curators: Arc::new(curators),
        store_status: Arc::new(StoreStatus::default()),
        places,
        translations: Arc::new(crate::translations::Translations::load()),
        heavy: Default::default(),
        in_flight: Default::default(),
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

/// Binds the listening socket, before anything slow, so that a busy port is reported at once.
async fn listen(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Reads the feeds' settings, the store or dataset, the regions and the places, off the
/// async threads.
async fn load(config: ServeConfig) -> Result<(AppState, Vec<ScheduledFeed>), ServeError> {
    let mut feeds = match &config.harvest {
        Some(path) => read_feeds(path).map_err(|e| ServeError::Config(e.to_string()))?,
        None => Vec::new(),
    };
    for feed in &mut feeds {
        feed.audit_retention = crate::config::days(config.harvest_audit_days);
    }
    if !feeds.is_empty() && config.data.is_some() {
        return Err(ServeError::Config(
            "--harvest needs the store: it cannot be used with --data".into(),
        ));
    }
    let state = tokio::task::spawn_blocking(move || app_state(config))
        .await
        .map_err(|e| ServeError::Config(format!("start-up failed: {e}")))??;
    Ok((state, feeds))
}

impl Server {
    /// Binds the listening socket, then loads the data; fails before serving anything if
    /// either fails.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        let listener = listen(config.listen).await?;
        let (state, feeds) = load(config).await?;
        Ok(Server {
            listener,
            state,
            feeds,
        })
    }

    /// Prepares the regions' sampling grids and outlines, and the site files compressed at
    /// their best, on a thread of their own, so that no request waits for them.
    pub fn warm_up(&self) {
        warm_up(&self.state);
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight (for at
    /// most the shutdown grace).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        tracing::info!(addr = %self.local_addr()?, "listening");
        let limits = Limits::new(&self.state.config);
        let app: App = Arc::default();
        start(&app, self.state, self.feeds);
        connections::serve(self.listener, app, api::loading, limits, shutdown).await?;
        Ok(())
    }
}

/// `skillsmap serve`: listens at once and answers that it is loading (503, `Retry-After`)
/// while the data loads, then serves until `shutdown` completes.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = listen(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening; loading the data");
    let limits = Limits::new(&config);
    let app: App = Arc::default();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let serving = tokio::spawn(connections::serve(
        listener,
        app.clone(),
        api::loading,
        limits,
        stopped(stopping.clone()),
    ));
    let stop = Arc::new(stop);
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown.await;
            let _ = stop.send(true);
        }
    });
    let loaded = tokio::select! {
        loaded = load(config) => loaded,
        () = stopped(stopping) => Err(ServeError::Config("stopped while loading".into())),
    };
    match loaded {
        Ok((state, feeds)) => {
            warm_up(&state);
            start(&app, state, feeds);
            tracing::info!("serving");
        }
        Err(e) => {
            let _ = stop.send(true);
            let _ = serving.await;
            return Err(e);
        }
    }
    serving
        .await
        .map_err(|e| ServeError::Config(format!("the server failed: {e}")))??;
    Ok(())
}

fn warm_up(state: &AppState) {
    let regions = state.snapshot.load().regions.clone();
    let site = state.site.clone();
    std::thread::spawn(move || {
        regions.warm_up();
        site.precompress();
    });
}

/// How often a store that refused writes (full, read-only) is tried again.
const WRITE_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts following the store, merging the read model and the harvests, and puts the
/// router in place of the loading answer.
fn start(app: &App, state: AppState, feeds: Vec<ScheduledFeed>) {
    if let Some(curation) = &state.curation {
        tokio::spawn(follow(
            curation.clone(),
            state.config.db.clone(),
            state.store_status.clone(),
        ));
        tokio::spawn(curation.clone().merge_forever());
        tokio::spawn(curation.clone().probe_forever(WRITE_PROBE_EVERY));
        tokio::spawn(crate::retention::erase_forever(
            curation.clone(),
            crate::retention::Retention {
                addresses: state.config.address_retention,
                idempotency_keys: state.config.idempotency_retention,
            },
        ));
        let holder = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let regions = state.snapshot.load().regions.clone();
        for feed in feeds {
            tokio::spawn(run_forever(
                feed,
                (curation.clone(), regions.clone()),
                holder.clone(),
            ));
        }
    }
    app.store(Some(Arc::new(api::router(state))));
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
