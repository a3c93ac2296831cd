//! Starting the service: load and validate the data, build the snapshot, listen, shut down gracefully.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::basemap;
use crate::config::ServeConfig;
use crate::dataset::{self, DatasetError};
use crate::regions::{Regions, RegionsError};
use crate::snapshot::{Snapshot, content_version};

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
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads and validates the configured dataset (or the seed data) into a snapshot.
pub fn load_snapshot(config: &ServeConfig) -> Result<Snapshot, ServeError> {
    let clustering = config.clustering.options().map_err(ServeError::Config)?;
    let regions = Arc::new(Regions::load(&config.regions, &config.web_dir)?);
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
    for warning in &dataset.warnings {
        tracing::warn!(%warning, "dataset warning");
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

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Loads the data and binds the listening socket; fails before serving anything if either fails.
    pub async fn bind(config: ServeConfig) -> Result<Server, ServeError> {
        let snapshot = load_snapshot(&config)?;
        tracing::info!(
            initiatives = snapshot.index.len(),
            version = %snapshot.version,
            "dataset loaded"
        );
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let basemap = basemap::countries_geojson(&config.web_dir).map_err(|e| {
            tracing::warn!(error = %e, "country outlines unavailable; the map has no base layer");
            e.to_string()
        });
        let state = AppState {
            snapshot: Arc::new(ArcSwap::from_pointee(snapshot)),
            config: Arc::new(config),
            basemap: Arc::new(basemap),
        };
        Ok(Server { listener, state })
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
        axum::serve(self.listener, api::router(self.state))
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
