//! End-to-end tests of the language of `/coverage` and `/regions/{level}.geojson`: countries
//! named by `lang` or `Accept-Language`, `Content-Language` and `Vary`, one entity tag per
//! language, and NUTS regions keeping their official names.

mod common;

use common::*;
use serde_json::Value;

/// A GET with optional `Accept-Language` and `If-None-Match` headers.
async fn ask(
    url: &str,
    accept_language: Option<&str>,
    if_none_match: Option<&str>,
) -> reqwest::Response {
    let mut request = client().get(url);
    if let Some(languages) = accept_language {
        request = request.header("accept-language", languages);
    }
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    request.send().await.unwrap()
}

/// A response header's value, empty when absent.
fn header_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map_or(String::new(), |v| v.to_str().unwrap().to_string())
}

/// A coverage answer (table or choropleth), with its language and entity tag.
async fn countries(url: &str, accept_language: Option<&str>) -> (Value, String, String) {
    let response = ask(url, accept_language, None).await;
    assert_eq!(response.status(), 200, "{url}");
    assert!(
        header_of(&response, "vary").contains("Accept-Language"),
        "{url}: shared caches keep one copy per language"
    );
    let language = header_of(&response, "content-language");
    let etag = header_of(&response, "etag");
    (response.json().await.unwrap(), language, etag)
}

fn name_of(table: &Value, code: &str) -> String {
    region_row(table, code)["name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The name of the region `code` of a choropleth.
fn feature_name(collection: &Value, code: &str) -> String {
    let features = collection["features"].as_array().unwrap();
    let feature = features.iter().find(|f| f["id"] == code).unwrap();
    feature["properties"]["name"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn countries_are_named_in_the_language_asked_for() {
    let server = start(None).await;
    let url = format!("{}/coverage?level=country", server.base);

    let (english, language, english_tag) = countries(&url, None).await;
    assert_eq!(language, "en");
    assert_eq!(name_of(&english, "DE"), "Germany");

    let (german, language, german_tag) = countries(&url, Some("de-AT, en;q=0.5")).await;
    assert_eq!(language, "de");
    assert_eq!(name_of(&german, "DE"), "Deutschland");
    assert_eq!(name_of(&german, "AT"), "Österreich");
    assert_eq!(name_of(&german, "NL"), "Niederlande");
    assert_ne!(german_tag, english_tag, "one entity tag per language");
    // The figures are the same; only the names differ.
    assert_eq!(german["matched"], english["matched"]);
    assert_eq!(
        region_row(&german, "DE")["count"],
        region_row(&english, "DE")["count"]
    );

    // `lang` wins over the header.
    let (french, language, _) = countries(&format!("{url}&lang=fr"), Some("de")).await;
    assert_eq!(language, "fr");
    assert_eq!(name_of(&french, "DE"), "Allemagne");
    assert_eq!(name_of(&french, "ES"), "Espagne");
    // Links repeat a `lang` that was given.
    let links = french["links"].as_array().unwrap();
    assert!(
        links
            .iter()
            .all(|l| l["href"].as_str().unwrap().contains("lang=fr")),
        "{links:?}"
    );

    // A language the interface does not speak falls back to English.
    let (swedish, language, tag) = countries(&url, Some("sv-SE, sv;q=0.9")).await;
    assert_eq!(language, "en");
    assert_eq!(name_of(&swedish, "DE"), "Germany");
    assert_eq!(tag, english_tag);
    // Named by `lang`, it is refused: the parameter only takes the interface's languages.
    assert_bad_parameter(&format!("{url}&lang=sv"), "lang").await;
    assert_bad_parameter(&format!("{url}&lang=DE"), "lang").await;
}

#[tokio::test]
async fn a_cached_answer_in_one_language_is_never_served_in_another() {
    let server = start(None).await;
    let url = format!("{}/regions/country.geojson?gap_km=40", server.base);
    let english = ask(&url, Some("en"), None).await;
    assert_eq!(header_of(&english, "content-language"), "en");
    let english_tag = header_of(&english, "etag");
    // The English copy's tag, sent by a German client, does not match: the German body comes.
    let german = ask(&url, Some("de"), Some(&english_tag)).await;
    assert_eq!(german.status(), 200);
    assert_eq!(header_of(&german, "content-language"), "de");
    let german_tag = header_of(&german, "etag");
    assert_ne!(german_tag, english_tag);
    let collection: Value = german.json().await.unwrap();
    assert_eq!(feature_name(&collection, "PL"), "Polen");
    // Its own tag gives a 304 that still says the language.
    let again = ask(&url, Some("de"), Some(&german_tag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header_of(&again, "content-language"), "de");
    assert!(header_of(&again, "vary").contains("Accept-Language"));
    // The server's cache of computed figures keeps the languages apart too: English again.
    let (collection, language, _) = countries(&url, Some("en")).await;
    assert_eq!(language, "en");
    assert_eq!(feature_name(&collection, "PL"), "Poland");
}

#[tokio::test]
async fn the_csv_names_countries_in_the_language_too() {
    let server = start(None).await;
    let response = ask(
        &format!("{}/coverage?level=country&f=csv&lang=pl", server.base),
        None,
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header_of(&response, "content-language"), "pl");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<(String, String)> = reader
        .records()
        .map(Result::unwrap)
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    let name = |code: &str| {
        names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap()
    };
    assert_eq!(name("DE"), "Niemcy");
    assert_eq!(name("IT"), "Włochy");
}

#[tokio::test]
async fn nuts_regions_keep_their_official_names_in_every_language() {
    let server = start(None).await;
    for level in ["nuts0", "nuts2"] {
        let url = format!("{}/coverage?level={level}", server.base);
        let (english, _, _) = countries(&url, None).await;
        for lang in ["de", "fr", "pl"] {
            let (other, language, _) = countries(&format!("{url}&lang={lang}"), None).await;
            assert_eq!(language, lang);
            let names = |table: &Value| -> Vec<(String, String)> {
                table["regions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| (r["code"].to_string(), r["name"].to_string()))
                    .collect()
            };
            assert_eq!(names(&other), names(&english), "{level} in {lang}");
        }
    }
    // A NUTS 0 region is a country by its own official name, not the English or French one.
    let (nuts0, _, _) = countries(
        &format!("{}/coverage?level=nuts0&lang=fr", server.base),
        None,
    )
    .await;
    assert_eq!(name_of(&nuts0, "DE"), "Deutschland");
}
