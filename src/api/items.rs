//! `/collections/initiatives/items`: the initiatives as pages of GeoJSON, and one by id.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use crate::api::caching;
use crate::api::collection::{FeatureCollection, GEOJSON, Link, paging_links};
use crate::api::export::{self, Format};
use crate::api::feed;
use crate::api::params::{FILTER_PARAMS, MAX_LIMIT, PathParams, QueryParams};
use crate::api::problem::ApiError;
use crate::api::selection::{SELECTION_PARAMS, Selection};
use crate::api::{AppState, base_url, check_format};
use crate::feature::Feature;

pub const ITEMS_PATH: &str = "/collections/initiatives/items";
const ITEMS_PARAMS: &[&str] = &["bbox", "limit", "offset", "f"];

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[ITEMS_PARAMS, FILTER_PARAMS, SELECTION_PARAMS])?;
    let format = export::negotiate(&params, &headers)?;
    let bbox = params.bbox()?;
    let filter = params.filter()?;
    let selection = Selection::from_params(&params)?;
    // Exports are not paged unless asked to be: a partner can take everything at once.
    let limit = match format {
        Format::GeoJson => params.limit()?,
        Format::Atom => params.count("limit", feed::DEFAULT_ENTRIES, 1, MAX_LIMIT)?,
        _ => params.count("limit", usize::MAX, 1, MAX_LIMIT)?,
    };
    let offset = params.offset()?;
    if format == Format::Atom {
        let page = feed::Page { offset, limit };
        return feed::respond(&state, &headers, &uri, &params, (bbox, filter), page).await;
    }

    let snapshot = state.snapshot.load_full();
    let base = base_url(&state, &headers);
    let etag = caching::query_etag(&snapshot.version, &base, &uri);
    if format != Format::GeoJson {
        let mut slots = snapshot.matching(bbox.as_ref(), &filter);
        selection.sort(&snapshot, &mut slots);
        let slots: Vec<_> = slots.into_iter().skip(offset).take(limit).collect();
        return Ok(export::streamed(
            &headers, &etag, snapshot, slots, format, selection,
        ));
    }
    let last_modified = snapshot.last_modified;
    Ok(caching::respond_dated(
        &headers,
        &etag,
        last_modified,
        GEOJSON,
        || {
            let mut slots = snapshot.matching(bbox.as_ref(), &filter);
            selection.sort(&snapshot, &mut slots);
            let page = slots.iter().skip(offset).take(limit);
            let mut links = vec![Link {
                href: format!("{base}{uri}"),
                rel: "self",
                media_type: GEOJSON,
                title: "This page",
            }];
            links.extend(paging_links(
                &base,
                ITEMS_PATH,
                params.pairs(),
                (offset, limit, slots.len()),
            ));
            let matched = Some(slots.len());
            if selection.is_whole() {
                let features = page.map(|slot| snapshot.feature(*slot)).collect();
                FeatureCollection::new(features, matched, links).to_bytes()
            } else {
                let features = page
                    .map(|slot| selection.shape(&snapshot.feature(*slot)))
                    .collect();
                FeatureCollection::new(features, matched, links).to_bytes()
            }
        },
    ))
}

pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let params = QueryParams::accepting(&uri, &[&["f"]])?;
    check_format(&params)?;
    let snapshot = state.snapshot.load_full();
    let slot = snapshot
        .slot_of(&id)
        .ok_or_else(|| ApiError::NoSuchInitiative(id.clone()))?;
    let initiative = snapshot.get(slot);
    let base = base_url(&state, &headers);
    let body = feature_document(snapshot.feature(slot), &id, &base);
    let etag = caching::item_etag(initiative);
    Ok(caching::respond_dated(
        &headers,
        &etag,
        Some(initiative.updated_at),
        GEOJSON,
        || body,
    ))
}

/// One initiative as a GeoJSON Feature with its `self` and `collection` links.
pub fn feature_document(feature: Feature<'_>, id: &str, base: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct FeatureWithLinks<'a> {
        #[serde(flatten)]
        feature: Feature<'a>,
        links: [Link; 2],
    }
    // Serialising plain strings and numbers cannot fail.
    serde_json::to_vec(&FeatureWithLinks {
        feature,
        links: [
            Link {
                href: format!("{base}{ITEMS_PATH}/{id}"),
                rel: "self",
                media_type: GEOJSON,
                title: "This initiative",
            },
            Link {
                href: format!("{base}/collections/initiatives"),
                rel: "collection",
                media_type: "application/json",
                title: "The initiatives collection",
            },
        ],
    })
    .unwrap_or_default()
}
