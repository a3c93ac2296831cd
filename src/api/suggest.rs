//! `/coverage/suggest`: the towns of a region (or of all Europe) where one more matching
//! initiative would bring the most uncovered people within the gap distance.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::api::coverage::gap_km;
use crate::api::params::{FILTER_PARAMS, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching};
use crate::regions::coverage::nearby;
use crate::regions::suggest::{MAX_PICKS, suggest};
use crate::regions::{Level, RegionId};
use crate::snapshot::Snapshot;

const SUGGEST_PARAMS: &[&str] = &["region", "k", "gap_km"];

/// Picks when `k` is not given.
const DEFAULT_PICKS: usize = 5;

#[derive(Serialize)]
struct PickOut<'a> {
    id: &'a str,
    name: &'a str,
    country: &'a str,
    lon: f64,
    lat: f64,
    population: u32,
    /// Uncovered people this pick brings within the gap distance (after the picks before).
    added: u64,
    /// The picks' added people so far.
    total: u64,
}

#[derive(Serialize)]
struct Answer<'a> {
    region: Option<&'a str>,
    gap_km: f64,
    k: usize,
    matched: usize,
    /// Inhabitants of the region's populated places of 1,000 or more.
    people: u64,
    /// Those farther than `gap_km` from every matching initiative today.
    people_far: u64,
    picks: Vec<PickOut<'a>>,
    attribution: &'static str,
}

/// The region a code names: a country (ISO) first, then a NUTS region of any level.
fn region(snapshot: &Snapshot, code: &str) -> Result<(Level, RegionId), ApiError> {
    Level::ALL
        .iter()
        .find_map(|level| {
            let layer = snapshot.regions.layer(*level).ok()?;
            layer.by_code(code).map(|id| (*level, id))
        })
        .ok_or_else(|| {
            ApiError::invalid(
                "region",
                format!("unknown region \"{code}\" (expected a country or NUTS code)"),
            )
        })
}

pub async fn suggestions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[SUGGEST_PARAMS, FILTER_PARAMS])?;
    let k = params.count("k", DEFAULT_PICKS, 1, MAX_PICKS)?;
    let gap_km = gap_km(&params)?;
    let filter = params.filter()?;
    let code = params.get("region")?.map(str::to_owned);
    let snapshot = state.snapshot.load_full();
    crate::api::coverage::layer(&snapshot, Level::Nuts3)?;
    let found = code.as_deref().map(|c| region(&snapshot, c)).transpose()?;
    let base = base_url(&state, &headers);
    let etag = caching::query_etag(&snapshot.version, &base, &uri);
    if caching::client_has(&headers, &etag) {
        return Ok(caching::not_modified(&etag));
    }
    let places = state.places.clone();
    let body = tokio::task::spawn_blocking(move || {
        let demand = &places.demand;
        let towns: Vec<u32> = match found {
            Some((level, id)) => demand.in_region(level, id).to_vec(),
            None => (0..demand.towns().len() as u32).collect(),
        };
        let slots = snapshot.matching(None, &filter);
        let nearby = nearby(&snapshot, &filter, &slots);
        let found = suggest(demand, &towns, &nearby, gap_km * 1000.0, k);
        serde_json::to_vec(&Answer {
            region: code.as_deref(),
            gap_km,
            k,
            matched: slots.len(),
            people: found.people,
            people_far: found.people_far,
            picks: found
                .picks
                .iter()
                .map(|(town, pick)| PickOut {
                    id: &town.id,
                    name: &town.name,
                    country: &town.country,
                    lon: town.location.lon,
                    lat: town.location.lat,
                    population: town.population,
                    added: pick.added,
                    total: pick.total,
                })
                .collect(),
            attribution: crate::places::geonames::GEONAMES_ATTRIBUTION,
        })
        .unwrap_or_else(|_| unreachable!("suggestions always serialise"))
    })
    .await
    .map_err(|_| ApiError::Internal)?;
    Ok(caching::fresh(&etag, "application/json", body))
}
