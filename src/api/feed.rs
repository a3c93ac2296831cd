//! Atom feeds (RFC 4287) of an items query (`f=atom`): the newest changes first, deletions
//! included as entries that say so, so that anyone can follow a region or a theme.
//!
//! Each initiative is one entry whose id is its item URL, stable across changes: a reader
//! sees the entry updated when the record changes, and updated once more, saying so, when it
//! is deleted. A deletion belongs to a query when the record's last state matched it; the
//! store keeps that state beside the tombstone, and the same snapshot queries decide.

use std::fmt::Write as _;

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use jiff::Timestamp;

use crate::api::collection::page_href;
use crate::api::items::ITEMS_PATH;
use crate::api::params::{FILTER_PARAMS, QueryParams};
use crate::api::problem::ApiError;
use crate::api::{AppState, base_url, caching};
use crate::filter::Filter;
use crate::geodesy::LonLatBox;
use crate::markup::escape;
use crate::model::{Initiative, Vocabulary};
use crate::records::InitiativeRef;
use crate::store::Tombstone;

pub const ATOM: &str = "application/atom+xml";

/// Entries in a feed unless `limit` says otherwise.
pub const DEFAULT_ENTRIES: usize = 50;

/// How many of the newest deletions are looked up to find those a filtered query matched;
/// older ones are left out of its feed.
const DELETION_CANDIDATES: usize = 5_000;

/// One entry: an initiative as it is now, or as it was when it was deleted.
enum Entry<'a> {
    Live(InitiativeRef<'a>),
    Deleted(Initiative, Timestamp),
}

impl Entry<'_> {
    fn updated(&self) -> Timestamp {
        match self {
            Entry::Live(record) => record.updated_at,
            Entry::Deleted(_, at) => *at,
        }
    }

    fn id(&self) -> &str {
        match self {
            Entry::Live(record) => record.id,
            Entry::Deleted(record, _) => &record.id,
        }
    }
}

/// The page of the feed: `offset` and `limit` count entries, newest first.
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

/// Answers an items query as an Atom feed.
pub async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    params: &QueryParams,
    (bbox, filter): (Option<LonLatBox>, Filter),
    page: Page,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot.load_full();
    let base = base_url(state, headers);
    // Apart from the query's tag: the same URL may also be answered as GeoJSON (by Accept).
    let etag = caching::etag(&[
        caching::query_etag(&snapshot.version, &base, uri).as_bytes(),
        b"atom",
    ]);
    let wanted = page.offset.saturating_add(page.limit);

    let mut live: Vec<_> = snapshot.matching(bbox.as_ref(), &filter);
    let newest_first = |a: &InitiativeRef<'_>, b: &InitiativeRef<'_>| {
        b.updated_at.cmp(&a.updated_at).then(a.id.cmp(b.id))
    };
    // One more than wanted tells whether there is a next page.
    let keep = wanted.saturating_add(1);
    if live.len() > keep {
        live.select_nth_unstable_by(keep, |a, b| {
            newest_first(&snapshot.get(*a), &snapshot.get(*b))
        });
        live.truncate(keep);
    }
    live.sort_unstable_by(|a, b| newest_first(&snapshot.get(*a), &snapshot.get(*b)));
    // Only deletions at least as new as the oldest live entry shown can be among the newest.
    let cutoff = (live.len() > wanted).then(|| snapshot.get(live[wanted - 1]).updated_at);
    let mut entries: Vec<Entry<'_>> = live
        .iter()
        .map(|slot| Entry::Live(snapshot.get(*slot)))
        .collect();
    let candidates: Vec<&Tombstone> = snapshot
        .tombstones
        .iter()
        .rev()
        .take_while(|t| cutoff.is_none_or(|c| t.deleted_at >= c))
        .take(DELETION_CANDIDATES)
        .collect();
    if let (false, Some(curation)) = (candidates.is_empty(), state.curation.as_ref()) {
        let ids: Vec<String> = candidates.iter().map(|t| t.id.to_string()).collect();
        let states = curation
            .read(move |store| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                store.deleted_states(&ids)
            })
            .await?;
        let former = snapshot.of_others(states);
        for slot in former.matching(bbox.as_ref(), &filter) {
            let record = former.get(slot).to_owned();
            if let Some(t) = candidates.iter().find(|t| *t.id == *record.id) {
                entries.push(Entry::Deleted(record, t.deleted_at));
            }
        }
    }
    entries.sort_by(|a, b| b.updated().cmp(&a.updated()).then(a.id().cmp(b.id())));
    let more = entries.len() > wanted;
    let entries: Vec<Entry<'_>> = entries
        .into_iter()
        .skip(page.offset)
        .take(page.limit)
        .collect();

    let updated = entries
        .iter()
        .map(Entry::updated)
        .max()
        .or(snapshot.last_modified);
    let body = render(&base, uri, params, &entries, updated, more.then_some(&page));
    Ok(caching::respond_dated(
        headers,
        &etag,
        updated,
        ATOM,
        || body,
    ))
}

/// The feed document.
fn render(
    base: &str,
    uri: &Uri,
    params: &QueryParams,
    entries: &[Entry<'_>],
    updated: Option<Timestamp>,
    next: Option<&Page>,
) -> Vec<u8> {
    let filters: Vec<&(String, String)> = params
        .pairs()
        .iter()
        .filter(|(name, _)| FILTER_PARAMS.contains(&name.as_str()) || name == "bbox")
        .collect();
    let view = if filters.is_empty() {
        "every initiative".to_string()
    } else {
        filters
            .iter()
            .map(|(name, value)| format!("{name} = {value}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut map_view = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &filters {
        map_view.append_pair(name, value);
    }
    let self_href = format!("{base}{uri}");

    let mut xml = String::with_capacity(1024 + entries.len() * 1024);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:georss=\"http://www.georss.org/georss\">\n",
    );
    element(&mut xml, 1, "id", &self_href);
    element(
        &mut xml,
        1,
        "title",
        &format!("skillsmap: digital-skills initiatives ({view})"),
    );
    element(
        &mut xml,
        1,
        "subtitle",
        "Initiatives added, changed or removed, newest first",
    );
    element(&mut xml, 1, "updated", &time(updated));
    xml.push_str("  <author><name>skillsmap</name></author>\n");
    element(&mut xml, 1, "generator", "skillsmap");
    link(&mut xml, 1, "self", ATOM, &self_href);
    link(
        &mut xml,
        1,
        "alternate",
        "text/html",
        &format!("{base}/#{}", map_view.finish()),
    );
    if let Some(page) = next {
        let href = page_href(
            base,
            ITEMS_PATH,
            params.pairs(),
            page.offset + page.limit,
            page.limit,
        );
        link(&mut xml, 1, "next", ATOM, &href);
    }
    for entry in entries {
        entry_xml(&mut xml, base, entry);
    }
    xml.push_str("</feed>\n");
    xml.into_bytes()
}

fn entry_xml(xml: &mut String, base: &str, entry: &Entry<'_>) {
    let record = match entry {
        Entry::Live(record) => *record,
        Entry::Deleted(record, _) => record.as_ref(),
    };
    let item = format!("{base}{ITEMS_PATH}/{}", record.id);
    xml.push_str("  <entry>\n");
    element(xml, 2, "id", &item);
    element(xml, 2, "updated", &time(Some(entry.updated())));
    match entry {
        Entry::Live(_) => {
            element(xml, 2, "title", record.name);
            link(xml, 2, "alternate", "application/geo+json", &item);
            if !record.url.is_empty() {
                link(xml, 2, "related", "text/html", record.url);
            }
            for area in record.skill_areas.iter() {
                category(xml, &format!("{base}/vocabularies#skill_area"), area);
            }
            for group in record.target_groups.iter() {
                category(xml, &format!("{base}/vocabularies#target_group"), group);
            }
            category(xml, &format!("{base}/vocabularies#kind"), record.kind);
            let place = format!("{}, {}", record.city, record.country.code());
            let summary = if record.description.is_empty() {
                format!("{} ({place})", record.organisation)
            } else {
                format!("{} ({place})", record.description)
            };
            element(xml, 2, "summary", &summary);
        }
        Entry::Deleted(_, at) => {
            element(xml, 2, "title", &format!("Removed: {}", record.name));
            let _ = writeln!(
                xml,
                "    <category scheme=\"{}\" term=\"deleted\" label=\"Removed from the map\"/>",
                escape(&format!("{base}/vocabularies#change"))
            );
            element(
                xml,
                2,
                "summary",
                &format!(
                    "{} ({}, {}) was removed from the map on {}.",
                    record.name,
                    record.city,
                    record.country.code(),
                    at.strftime("%Y-%m-%d")
                ),
            );
        }
    }
    let _ = writeln!(
        xml,
        "    <georss:point>{} {}</georss:point>",
        record.location.lat, record.location.lon
    );
    xml.push_str("  </entry>\n");
}

fn element(xml: &mut String, depth: usize, name: &str, text: &str) {
    let _ = writeln!(
        xml,
        "{:indent$}<{name}>{}</{name}>",
        "",
        escape(text),
        indent = depth * 2
    );
}

fn link(xml: &mut String, depth: usize, rel: &str, media_type: &str, href: &str) {
    let _ = writeln!(
        xml,
        "{:indent$}<link rel=\"{rel}\" type=\"{media_type}\" href=\"{}\"/>",
        "",
        escape(href),
        indent = depth * 2
    );
}

fn category<V: Vocabulary>(xml: &mut String, scheme: &str, term: V) {
    let _ = writeln!(
        xml,
        "    <category scheme=\"{}\" term=\"{}\" label=\"{}\"/>",
        escape(scheme),
        escape(term.slug()),
        escape(term.label())
    );
}

/// RFC 3339 to the second, as Atom's date constructs want.
fn time(at: Option<Timestamp>) -> String {
    at.unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
