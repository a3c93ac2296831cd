//! skillsmap: a map service for European digital-skills initiatives.
//!
//! # Layout
//! - [`model`]: the `Initiative` record and its controlled vocabularies.
//! - [`country`]: the European countries known to the service.
//! - [`dataset`]: reading and validating GeoJSON datasets (`skillsmap check`).
//! - [`geodesy`]: great-circle distances and longitude/latitude boxes.
//! - [`tile`]: Web Mercator tile maths (`TileCoord`, Morton codes).
//! - [`filter`]: attribute and free-text filters, and the CQL2 expression beside them.
//! - [`cql2`]: CQL2 filters (text and JSON): parser, queryables, plan and evaluation.
//! - [`records`]: initiatives held column-wise (attributes in arrays, texts in an arena).
//! - [`index`]: `SpatialIndex`, the R-tree over one part's positions.
//! - [`cluster`]: `ClusterTree`, the cluster hierarchy behind the tiles.
//! - [`facets`]: counts per vocabulary term for the filter panel.
//! - [`bitmap`]: fixed-length bit sets (filters over cluster leaves, hidden records).
//! - [`feature`]: initiatives as GeoJSON Features.
//! - [`mvt`]: Mapbox Vector Tiles: the protocol-buffer encoding of a tile's points.
//! - [`basemap`]: Europe's country outlines, one level of detail per zoom range.
//! - [`regions`]: countries and NUTS regions, point-in-region assignment, coverage figures.
//! - [`places`]: the gazetteer: place names found by prefix (`/places`), the map's labels.
//! - [`snapshot`]: the immutable read model (a shared base and a delta of recent changes),
//!   how a change produces the next one, and the base saved beside the store.
//! - [`store`]: the store, SQLite or PostgreSQL: initiatives, tombstones, submissions, audit
//!   log, harvest state, rate limits and leases.
//! - [`curation`]: validating incoming records, writing them, publishing new snapshots.
//! - [`retention`]: erasing submitters' addresses and pruning expired records on schedule.
//! - [`follow`]: publishing what other processes commit to the store (LISTEN/NOTIFY, polling).
//! - [`harvest`]: fetching partners' feeds, mapping and validating them into the store.
//! - [`api`]: the HTTP API (axum), its errors as problem+json, caching.
//! - [`pages`]: HTML pages written by the server (the list, one page per initiative, the
//!   sitemap), readable without JavaScript.
//! - [`translations`]: the interface's texts in each language, from `web/i18n`.
//! - [`markup`]: escaping text for HTML and XML, in one place.
//! - [`generate`]: synthetic datasets for scale tests and benchmarks.
//! - [`config`]: the service configuration.
//! - [`server`]: start-up (listening first, answering "loading" until the data is in).
//! - [`connections`]: accepting connections: timeouts, a cap below the file limit, bounded
//!   graceful shutdown.

pub mod api;
pub mod basemap;
pub mod bitmap;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod country;
pub mod cql2;
pub mod curation;
pub mod dataset;
pub mod facets;
pub mod feature;
pub mod filter;
pub mod follow;
pub mod generate;
pub mod geodesy;
pub mod harvest;
pub mod index;
pub mod markup;
pub mod model;
pub mod mvt;
pub mod pages;
pub mod places;
pub mod records;
pub mod regions;
pub mod retention;
pub mod server;
pub mod snapshot;
pub mod store;
pub mod tile;
pub mod translations;
