//! GeoJSON FeatureCollection responses with OGC API – Features paging members and links.

use serde::Serialize;

use crate::feature::Feature;

pub const GEOJSON: &str = "application/geo+json";

/// A link object as OGC API – Features uses them.
#[derive(Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
    #[serde(rename = "type")]
    pub media_type: &'static str,
    pub title: &'static str,
}

/// A page of features: `Feature`s, or features shaped by a property selection.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureCollection<F: Serialize = Feature<'static>> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<F>,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_matched: Option<usize>,
    number_returned: usize,
    time_stamp: String,
    links: Vec<Link>,
}

impl<F: Serialize> FeatureCollection<F> {
    pub fn new(features: Vec<F>, number_matched: Option<usize>, links: Vec<Link>) -> Self {
        FeatureCollection {
            kind: "FeatureCollection",
            number_returned: features.len(),
            features,
            number_matched,
            time_stamp: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or(jiff::Timestamp::now())
                .to_string(),
            links,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a FeatureCollection always serialises")
    }
}

/// The URL of this page with `offset` and `limit` replaced, for `next`/`prev` links.
pub fn page_href(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    offset: usize,
    limit: usize,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter().filter(|(n, _)| n != "offset" && n != "limit") {
        query.append_pair(name, value);
    }
    query.append_pair("limit", &limit.to_string());
    query.append_pair("offset", &offset.to_string());
    format!("{base}{path}?{}", query.finish())
}

/// Links to the previous and next pages of a listing, where they exist.
pub fn paging_links(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    (offset, limit, matched): (usize, usize, usize),
) -> Vec<Link> {
    let mut links = Vec::new();
    if offset > 0 {
        links.push(Link {
            href: page_href(base, path, pairs, offset.saturating_sub(limit), limit),
            rel: "prev",
            media_type: GEOJSON,
            title: "Previous page",
        });
    }
    if offset.saturating_add(limit) < matched {
        links.push(Link {
            href: page_href(base, path, pairs, offset + limit, limit),
            rel: "next",
            media_type: GEOJSON,
            title: "Next page",
        });
    }
    links
}
