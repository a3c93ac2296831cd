//! End-to-end tests of the HTML pages the server writes itself: the list with its filters and
//! paging, one initiative's page (escaping, JSON-LD, canonical URL), the 404 and 400 pages, the
//! sitemap and robots.txt, languages and caching.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{client, random_dataset, start};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Every page entry links here.
const LIST: &str = "/initiatives";

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or_default())
}

/// An attribute value as the page wrote it, its entities undone.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The `href` of the page's `<link rel="{rel}">`, if any.
fn head_link(html: &str, rel: &str) -> Option<String> {
    let marker = format!("<link rel=\"{rel}\" href=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

/// The ids the list's entries link to, in order.
fn entry_ids(html: &str) -> Vec<String> {
    let list = &html[html.find("<ol class=\"initiatives\"").unwrap_or(html.len())..];
    list.split("<li><a href=\"/initiatives/")
        .skip(1)
        .map(|rest| {
            let href = &rest[..rest.find('"').unwrap()];
            let path = href.split('?').next().unwrap();
            unescape(path)
        })
        .collect()
}

/// The `href` of every link whose text is `text`.
fn links_named(html: &str, text: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find('"')?;
            let text_start = rest.find('>')? + 1;
            let text_end = rest.find("</a>")?;
            (rest[text_start..text_end] == *text).then(|| unescape(&rest[..end]))
        })
        .collect()
}

/// The page's schema.org data block, parsed.
fn json_ld(html: &str) -> Value {
    let marker = "<script type=\"application/ld+json\">";
    let start = html.find(marker).expect("a JSON-LD block") + marker.len();
    let end = html[start..].find("</script>").unwrap() + start;
    serde_json::from_str(&html[start..end]).expect("JSON-LD parses")
}

fn number_matched(collection: &Value) -> usize {
    collection["numberMatched"].as_u64().unwrap() as usize
}

/// A dataset of `random_dataset`'s initiatives plus records that exercise the page: a course
/// in German, a hostile one and one with no single language.
fn dataset() -> Value {
    let mut data = random_dataset(120, 15);
    let features = data["features"].as_array_mut().unwrap();
    features.push(json!({
        "type": "Feature",
        "id": "de-kurs",
        "geometry": {"type": "Point", "coordinates": [13.4, 52.52]},
        "properties": {
            "name": "Bundesamt für Sicherheit in der Informationstechnik: Kurs",
            "description": "Ein Kurs zur Cybersicherheit.",
            "organisation": "BSI",
            "url": "https://example.org/kurs",
            "country": "DE", "city": "Berlin",
            "skill_areas": ["cybersecurity"], "target_groups": ["smes"], "kind": "training",
            "languages": ["de"], "start": "2025-01-01",
            "updated_at": "2026-02-03T04:05:06Z", "source": "test",
            "evidence_url": "https://example.org/evidence", "verified_at": "2026-01-15"
        }
    }));
    features.push(json!({
        "type": "Feature",
        "id": "hostile",
        "geometry": {"type": "Point", "coordinates": [4.35, 50.85]},
        "properties": {
            "name": "<script>alert(1)</script> \"quoted\" & 'single' \u{202e}evil",
            "description": "</script><script>alert(2)</script><!-- ]]> &amp;",
            "organisation": "\u{5d0}\u{5e8}\u{5d2}\u{5d5}\u{5df} <b>bold</b>",
            "url": "https://example.org/a?b=\"c\"&d=<e>",
            "country": "BE", "city": "Bru\"ssels' <i>",
            "skill_areas": ["iot"], "target_groups": ["smes"], "kind": "hub",
            "languages": ["fr", "nl", "xx"],
            "updated_at": "2026-02-01T00:00:00Z", "source": "test"
        }
    }));
    data
}

#[tokio::test]
async fn the_list_pages_through_every_initiative_with_rel_links() {
    let data = dataset();
    let server = start(Some(&data)).await;
    let all = data["features"].as_array().unwrap().len();
    let (status, headers, first) = get(&format!("{}{LIST}", server.base), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(first.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(
        first.contains(&format!("{all} initiatives match. Showing 1 to 50")),
        "{first}"
    );
    assert_eq!(
        head_link(&first, "canonical").as_deref(),
        Some(format!("{}{LIST}", server.base).as_str())
    );
    assert_eq!(head_link(&first, "prev"), None);
    assert!(first.contains("<a href=\"/initiatives?offset=50\" rel=\"next\">Next page</a>"));

    // Following "next" visits every initiative once; "prev" leads back.
    let mut seen = Vec::new();
    let mut url = format!("{}{LIST}", server.base);
    let mut pages = 0;
    loop {
        let (status, _, html) = get(&url, &[]).await;
        assert_eq!(status, 200, "{url}");
        let ids = entry_ids(&html);
        assert!(ids.len() <= 50 && !ids.is_empty(), "{url}: {}", ids.len());
        seen.extend(ids);
        pages += 1;
        if pages > 1 {
            let previous = head_link(&html, "prev").expect("a previous page");
            assert!(html.contains("rel=\"prev\">Previous page</a>"));
            let (status, _, back) = get(&format!("{}{previous}", server.base), &[]).await;
            assert_eq!(status, 200);
            assert!(back.contains(&format!("Page {} of 3", pages - 1)) || pages == 2);
        }
        match head_link(&html, "next") {
            Some(next) => url = format!("{}{next}", server.base),
            None => break,
        }
    }
    assert_eq!(pages, all.div_ceil(50));
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    let expected: BTreeSet<String> = data["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen.len(), unique.len(), "no initiative twice");
    assert_eq!(unique, expected);

    // Past the end: an empty page that still links back, not an error.
    let (status, _, beyond) = get(&format!("{}{LIST}?offset=5000", server.base), &[]).await;
    assert_eq!(status, 200);
    assert!(beyond.contains("No initiative matches these filters."));
    assert!(head_link(&beyond, "prev").is_some());
}

#[tokio::test]
async fn filters_are_links_whose_counts_match_the_api() {
    let data = dataset();
    let server = start(Some(&data)).await;
    let (_, _, page) = get(&format!("{}{LIST}", server.base), &[]).await;
    for (name, value, text) in [
        ("country", "DE", "Germany"),
        ("kind", "training", "Training"),
        ("skill_area", "cybersecurity", "Cybersecurity"),
        ("target_group", "smes", "SMEs"),
    ] {
        let links = links_named(&page, text);
        assert_eq!(links.len(), 1, "{name}: {links:?}");
        let link = &links[0];
        assert_eq!(link, &format!("{LIST}?{name}={value}"));
        let (_, _, api) = common::get_json(&format!(
            "{}/collections/initiatives/items?{name}={value}&limit=1",
            server.base
        ))
        .await;
        let expected = number_matched(&api);
        assert!(expected > 0, "{name}");
        // The link shows the count it leads to.
        assert!(
            page.contains(&format!(
                "<a href=\"{}\">{text}</a> <span class=\"n\">({expected})</span>",
                link.replace('&', "&amp;")
            )),
            "{name}={value}: {expected}"
        );
        let (status, _, filtered) = get(&format!("{}{link}", server.base), &[]).await;
        assert_eq!(status, 200);
        let noun = if expected == 1 {
            "initiative matches"
        } else {
            "initiatives match"
        };
        assert!(
            filtered.contains(&format!("{expected} {noun}")),
            "{name}={value}: {expected}"
        );
        // The chosen term is marked, and "All" takes it off again.
        assert!(filtered.contains(&format!(
            "<a href=\"{}\" aria-current=\"true\">{text}</a>",
            link.replace('&', "&amp;")
        )));
        assert!(filtered.contains("<li><a href=\"/initiatives\">All</a></li>"));
        // Filters combine: another filter's links keep this one.
        assert!(filtered.contains(&format!("{name}={value}&amp;")) || name == "target_group");
    }
    // Every entry of a filtered list is what the filter asks for.
    let (_, _, germany) = get(&format!("{}{LIST}?country=DE", server.base), &[]).await;
    let ids = entry_ids(&germany);
    assert!(!ids.is_empty());
    let by_id: BTreeMap<&str, &Value> = data["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f))
        .collect();
    for id in &ids {
        assert_eq!(by_id[id.as_str()]["properties"]["country"], "DE", "{id}");
    }
    // A filter the API refuses is a readable 400 page naming the problem.
    for query in [
        "country=ZZ",
        "offset=-1",
        "nonsense=1",
        "lang=xx",
        "kind=hub&kind=hub",
    ] {
        let (status, headers, body) = get(&format!("{}{LIST}?{query}", server.base), &[]).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            header(&headers, "content-type"),
            "text/html; charset=utf-8",
            "{query}"
        );
        assert!(
            body.contains("<h1>This address is not understood</h1>"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn an_initiatives_page_shows_its_details_in_the_visitors_language() {
    let server = start(Some(&dataset())).await;
    let url = format!("{}{LIST}/de-kurs", server.base);
    let (status, headers, page) = get(&url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-language"), "en");
    assert!(
        page.contains("<h1 lang=\"de\" dir=\"auto\">Bundesamt für Sicherheit in der Informationstechnik: Kurs</h1>"),
        "{page}"
    );
    assert!(
        page.contains("<title>Bundesamt für Sicherheit in der Informationstechnik: Kurs</title>")
    );
    assert_eq!(head_link(&page, "canonical"), Some(url.clone()));
    assert!(page.contains("<dt>Languages</dt><dd>German</dd>"));
    assert!(page.contains("<li>Cybersecurity</li>"));
    assert!(page.contains("<a class=\"website\" href=\"https://example.org/kurs\">"));
    assert!(page.contains("<a href=\"https://example.org/evidence\">evidence</a>"));
    assert!(page.contains("<time datetime=\"2026-01-15\">2026-01-15</time>"));
    assert!(page.contains("<dt>Status</dt><dd>Active</dd>"));
    let data = json_ld(&page);
    assert_eq!(data["@context"], "https://schema.org");
    assert_eq!(data["@type"], "EducationalOrganization");
    assert_eq!(data["@id"], url);
    assert_eq!(data["url"], "https://example.org/kurs");
    assert_eq!(data["address"]["addressCountry"], "DE");
    assert_eq!(data["geo"]["latitude"], 52.52);
    assert_eq!(data["knowsAbout"], json!(["Cybersecurity"]));

    // In French, by Accept-Language: labels and language names in French.
    let (status, headers, french) = get(&url, &[("accept-language", "fr-BE, en;q=0.5")]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-language"), "fr");
    assert!(
        header(&headers, "vary").contains("Accept-Language"),
        "{headers:?}"
    );
    assert!(french.starts_with("<!doctype html>\n<html lang=\"fr\">"));
    assert!(
        french.contains("<dt>Langues</dt><dd>allemand</dd>"),
        "{french}"
    );
    assert!(french.contains("<li>Cybersécurité</li>"));
    // The country in French too, no longer an English name marked as such.
    assert!(french.contains("Allemagne"), "{french}");
    assert!(!french.contains("Germany"));
    assert_eq!(json_ld(&french)["knowsAbout"], json!(["Cybersécurité"]));
    // `lang` wins over the header, and the switch offers the others.
    let (_, headers, polish) = get(&format!("{url}?lang=pl"), &[("accept-language", "fr")]).await;
    assert_eq!(header(&headers, "content-language"), "pl");
    assert!(polish.contains("<dt>Języki</dt><dd>niemiecki</dd>"));
    assert!(polish.contains("Niemcy"));
    assert!(polish.contains(
        "<a href=\"/initiatives/de-kurs?lang=de\" lang=\"de\" hreflang=\"de\">Deutsch</a>"
    ));
    assert!(polish.contains("hreflang=\"pl\" aria-current=\"true\">Polski</a>"));
    // A hub is an Organization.
    let (_, _, hub) = get(&format!("{}{LIST}/hostile", server.base), &[]).await;
    assert_eq!(json_ld(&hub)["@type"], "Organization");
}

#[tokio::test]
async fn every_record_field_is_escaped() {
    let data = dataset();
    let server = start(Some(&data)).await;
    let hostile = &data["features"].as_array().unwrap().last().unwrap()["properties"];
    for lang in ["en", "de"] {
        let (status, _, page) =
            get(&format!("{}{LIST}/hostile?lang={lang}", server.base), &[]).await;
        assert_eq!(status, 200);
        // One script element only: the JSON-LD block, which no text could close.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert_eq!(page.matches("</script>").count(), 1);
        for raw in ["<b>", "<i>", "<!--", "alert(1)</", "\"quoted\""] {
            assert!(!page.contains(raw), "{raw} in {page}");
        }
        assert!(page.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &#39;single&#39; \u{202e}evil"
        ));
        // Texts that may run right to left are isolated.
        assert!(page.contains(
            "<span dir=\"auto\">\u{5d0}\u{5e8}\u{5d2}\u{5d5}\u{5df} &lt;b&gt;bold&lt;/b&gt;</span>"
        ));
        assert!(page.contains("href=\"https://example.org/a?b=&quot;c&quot;&amp;d=&lt;e&gt;\""));
        // Several languages, one unknown: no `lang` on the name, the unknown one as its code.
        assert!(page.contains("<h1 dir=\"auto\">"));
        assert!(page.contains("XX</dd>"));
        let data = json_ld(&page);
        for field in ["name", "description"] {
            assert_eq!(data[field], hostile[field], "{field}");
        }
        assert_eq!(data["address"]["addressLocality"], hostile["city"]);
        assert_eq!(data["url"], hostile["url"]);
    }
    // The list escapes the same record.
    let (_, _, list) = get(&format!("{}{LIST}?country=BE", server.base), &[]).await;
    assert_eq!(list.matches("<script").count(), 0);
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[tokio::test]
async fn the_list_names_and_sorts_countries_in_the_visitors_language() {
    let server = start(Some(&dataset())).await;
    let (_, _, german) = get(&format!("{}{LIST}?lang=de", server.base), &[]).await;
    let belgium = german.find(">Belgien").expect("Belgium in German");
    let germany = german.find(">Deutschland").expect("Germany in German");
    assert!(belgium < germany, "sorted by the German names");
    assert!(!german.contains("Germany"), "{german}");
    let (_, _, spanish) = get(&format!("{}{LIST}?lang=es", server.base), &[]).await;
    let belgium = spanish.find(">Bélgica").expect("Belgium in Spanish");
    let germany = spanish.find(">Alemania").expect("Germany in Spanish");
    assert!(germany < belgium, "Alemania before Bélgica");
}

#[tokio::test]
async fn unknown_initiatives_get_a_readable_404_page() {
    let server = start(Some(&dataset())).await;
    for (path, lang) in [
        ("/initiatives/no-such-thing", "en"),
        ("/initiatives/no-such-thing?lang=it", "it"),
        ("/initiatives/%FF%FE", "en"),
        ("/initiatives/a%2Fb", "en"),
    ] {
        let (status, headers, body) = get(&format!("{}{path}", server.base), &[]).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&headers, "content-language"), lang, "{path}");
        assert!(body.contains(&format!("<html lang=\"{lang}\">")), "{path}");
        assert!(body.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert!(body.contains("<a href=\"/initiatives"), "{path}");
    }
    let (_, _, italian) = get(&format!("{}/initiatives/nothing?lang=it", server.base), &[]).await;
    assert!(italian.contains("<h1>Pagina non trovata</h1>"));
    // The page takes no parameter but `lang`.
    let (status, _, _) = get(&format!("{}/initiatives/de-kurs?x=1", server.base), &[]).await;
    assert_eq!(status, 400);
}

/// The `<loc>` and `<lastmod>` of each `<url>` of a sitemap, checking that the document is
/// well-formed XML of the sitemap schema's shape (the subset of XML a sitemap uses).
fn parse_sitemap(xml: &str) -> Vec<(String, String)> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("an XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut urls = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut rest = body;
    let mut root_seen = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').expect("a closed tag");
            let tag = &after[..end];
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "balanced tags");
                if name == "url" {
                    urls.push((current["loc"].clone(), current["lastmod"].clone()));
                    current.clear();
                }
            } else {
                let name = tag.split_whitespace().next().unwrap();
                assert!(!tag.ends_with('/'), "no empty elements expected: {tag}");
                if stack.is_empty() {
                    assert!(!root_seen, "one root element");
                    root_seen = true;
                    assert_eq!(
                        tag,
                        "urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\""
                    );
                }
                let parent = stack.last().map(String::as_str);
                let allowed = match name {
                    "urlset" => parent.is_none(),
                    "url" => parent == Some("urlset"),
                    "loc" | "lastmod" => parent == Some("url"),
                    _ => false,
                };
                assert!(allowed, "<{name}> inside {parent:?}");
                stack.push(name.to_string());
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            rest = &rest[end..];
            match stack.last().map(String::as_str) {
                Some(field @ ("loc" | "lastmod")) => {
                    // Only the five predefined entities, each complete.
                    for (i, _) in text.match_indices('&') {
                        assert!(
                            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                                .iter()
                                .any(|e| text[i..].starts_with(e)),
                            "{text}"
                        );
                    }
                    current.insert(field.to_string(), unescape(text));
                }
                _ => assert!(text.trim().is_empty(), "stray text {text:?}"),
            }
        }
    }
    assert!(stack.is_empty() && root_seen, "a complete document");
    urls
}

#[tokio::test]
async fn the_sitemap_lists_every_page_and_each_answers() {
    let data = dataset();
    let server = start(Some(&data)).await;
    let (status, headers, xml) = get(&format!("{}/sitemap.xml", server.base), &[]).await;
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("application/xml"));
    let urls = parse_sitemap(&xml);
    let features = data["features"].as_array().unwrap();
    assert_eq!(urls.len(), features.len() + 1);
    assert_eq!(urls[0].0, format!("{}{LIST}", server.base));
    let updated: BTreeMap<String, &str> = features
        .iter()
        .map(|f| {
            (
                format!("{}{LIST}/{}", server.base, f["id"].as_str().unwrap()),
                f["properties"]["updated_at"].as_str().unwrap(),
            )
        })
        .collect();
    for (loc, lastmod) in &urls[1..] {
        let expected: jiff::Timestamp = updated[loc].parse().unwrap();
        assert_eq!(
            lastmod.parse::<jiff::Timestamp>().unwrap(),
            expected,
            "{loc}"
        );
    }
    for (loc, _) in &urls {
        let (status, _, _) = get(loc, &[]).await;
        assert_eq!(status, 200, "{loc}");
    }
    let (status, _, robots) = get(&format!("{}/robots.txt", server.base), &[]).await;
    assert_eq!(status, 200);
    assert!(
        robots
            .lines()
            .any(|l| l == format!("Sitemap: {}/sitemap.xml", server.base)),
        "{robots}"
    );
}

#[tokio::test]
async fn pages_revalidate_per_language() {
    let server = start(Some(&dataset())).await;
    for path in [
        LIST,
        "/initiatives?kind=hub&offset=50",
        "/initiatives/de-kurs",
    ] {
        let url = format!("{}{path}", server.base);
        let (status, headers, _) = get(&url, &[("accept-language", "de")]).await;
        assert_eq!(status, 200, "{path}");
        let etag = header(&headers, "etag").to_string();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        assert_eq!(header(&headers, "content-language"), "de");
        assert!(header(&headers, "vary").contains("Accept-Language"));
        let (status, again, body) =
            get(&url, &[("accept-language", "de"), ("if-none-match", &etag)]).await;
        assert_eq!(status, 304, "{path}");
        assert!(body.is_empty());
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(header(&again, "content-language"), "de");
        // The same address in another language is another representation.
        let (status, other, body) =
            get(&url, &[("accept-language", "es"), ("if-none-match", &etag)]).await;
        assert_eq!(status, 200, "{path}");
        assert_ne!(header(&other, "etag"), etag);
        assert!(body.contains("<html lang=\"es\">"));
    }
}

#[tokio::test]
async fn every_page_text_exists_in_every_language() {
    let server = start(Some(&dataset())).await;
    for lang in ["en", "fr", "de", "es", "it", "pl"] {
        for path in [
            format!("{LIST}?lang={lang}"),
            format!("{LIST}?offset=50&lang={lang}"),
            format!("{LIST}/de-kurs?lang={lang}"),
            format!("{LIST}/nothing?lang={lang}"),
            format!("{LIST}?country=ZZ&lang={lang}"),
        ] {
            let (_, headers, page) = get(&format!("{}{path}", server.base), &[]).await;
            assert_eq!(header(&headers, "content-language"), lang);
            // A missing text would show as its key.
            let page = page.replace("/pages.css", "");
            for prefix in [
                "pages.",
                "popup.",
                "filter.",
                "filters.",
                "language.",
                "kinds.",
            ] {
                assert!(!page.contains(prefix), "{path}: {prefix}");
            }
        }
    }
}

#[tokio::test]
async fn vocabulary_labels_follow_the_visitors_language() {
    let server = start(None).await;
    let url = format!("{}/vocabularies", server.base);
    let (status, headers, body) = get(&url, &[("accept-language", "pl-PL, en;q=0.3")]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-language"), "pl");
    assert!(header(&headers, "vary").contains("Accept-Language"));
    let polish: Value = serde_json::from_str(&body).unwrap();
    let label = |v: &Value, list: &str, slug: &str| {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == slug)
            .unwrap()["label"]
            .clone()
    };
    assert_eq!(label(&polish, "kinds", "training"), "Szkolenia");
    let (_, headers, body) = get(&format!("{url}?lang=it"), &[("accept-language", "pl")]).await;
    assert_eq!(header(&headers, "content-language"), "it");
    let italian: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(label(&italian, "statuses", "closed"), "Conclusa");
    let (_, headers, body) = get(&url, &[]).await;
    assert_eq!(header(&headers, "content-language"), "en");
    let english: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(label(&english, "kinds", "hub"), "Digital innovation hub");
    common::assert_bad_parameter(&format!("{url}?lang=tlh"), "lang").await;
}
