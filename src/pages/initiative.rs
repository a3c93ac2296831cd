//! `/initiatives/{id}`: one initiative's page, its details in the visitor's language around
//! its own texts (its name marked with its language), a canonical URL and schema.org JSON-LD.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::html::{Head, country_name, document, escape, lang_of, segment, web_address};
use super::list::LIST_PATH;
use super::{PageError, Visit, serve};
use crate::api::AppState;
use crate::api::caching;
use crate::model::{Kind, Status};
use crate::records::InitiativeRef;
use crate::translations::{self, language_name};

pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    serve(&state, &headers, &uri, &[], |visit| {
        respond(&state, visit, &headers, &uri)
    })
}

fn respond(
    state: &AppState,
    visit: &Visit,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response, PageError> {
    // The id as the path carries it, percent-decoded; one that is not UTF-8 names nothing.
    let raw = uri
        .path()
        .strip_prefix(LIST_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or(PageError::NotFound)?;
    let id: String = form_urlencoded::parse(format!("id={}", raw.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .filter(|id| !id.contains('\u{fffd}'))
        .ok_or(PageError::NotFound)?;
    let snapshot = state.snapshot.load_full();
    let slot = snapshot.slot_of(&id).ok_or(PageError::NotFound)?;
    let initiative = snapshot.get(slot);
    let etag = caching::item_etag(initiative);
    Ok(visit.respond(
        &[etag.as_bytes()],
        Some(initiative.updated_at),
        headers,
        uri,
        || write(visit, initiative),
    ))
}

/// A definition-list entry whose value is already HTML.
fn entry(out: &mut String, term: &str, value: &str) {
    let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", escape(term));
}

fn write(visit: &Visit, initiative: InitiativeRef<'_>) -> String {
    let translations = visit.translations();
    let locale = visit.locale;
    let canonical = format!("{}{LIST_PATH}/{}", visit.base, segment(initiative.id));
    // Only the name is the initiative's own words; descriptions are the curators' (as on the map).
    let own = lang_of(initiative.languages);
    let mut head = Head {
        title: initiative.name.to_string(),
        description: initiative.description.chars().take(300).collect(),
        canonical: Some(canonical.clone()),
        ..Head::default()
    };
    let _ = writeln!(
        head.extra,
        "<script type=\"application/ld+json\">{}</script>",
        json_ld(visit, initiative, &canonical)
    );

    let mut main = format!(
        "<article>\n<h1{own} dir=\"auto\">{}</h1>\n<p class=\"kind\">{}",
        escape(initiative.name),
        escape(translations.term(locale, initiative.kind)),
    );
    if initiative.status == Status::Closed {
        let _ = write!(
            main,
            " · <strong>{}</strong>",
            escape(translations.term(locale, Status::Closed))
        );
    }
    main.push_str("</p>\n");
    if !initiative.description.is_empty() {
        let _ = writeln!(
            main,
            "<p class=\"description\" dir=\"auto\">{}</p>",
            escape(initiative.description)
        );
    }
    if let Some(url) = web_address(initiative.url) {
        let _ = writeln!(
            main,
            "<p><a class=\"website\" href=\"{}\">{}</a></p>",
            escape(url),
            escape(visit.t("popup.visit"))
        );
    }
    main.push_str("<dl>\n");
    entry(
        &mut main,
        visit.t("pages.initiative.organisation"),
        &format!(
            "<span dir=\"auto\">{}</span>",
            escape(initiative.organisation)
        ),
    );
    entry(
        &mut main,
        visit.t("pages.initiative.place"),
        &format!(
            "<span dir=\"auto\">{}</span>, {}",
            escape(initiative.city),
            country_name(visit, initiative.country)
        ),
    );
    let labels = |items: Vec<&str>| {
        let items: String = items
            .iter()
            .map(|label| format!("<li>{}</li>", escape(label)))
            .collect();
        format!("<ul class=\"labels\">{items}</ul>")
    };
    if !initiative.skill_areas.is_empty() {
        entry(
            &mut main,
            visit.t("popup.skillAreas"),
            &labels(
                initiative
                    .skill_areas
                    .iter()
                    .map(|a| translations.term(locale, a))
                    .collect(),
            ),
        );
    }
    if !initiative.target_groups.is_empty() {
        entry(
            &mut main,
            visit.t("popup.for"),
            &labels(
                initiative
                    .target_groups
                    .iter()
                    .map(|g| translations.term(locale, g))
                    .collect(),
            ),
        );
    }
    if !initiative.languages.is_empty() {
        let names: Vec<String> = initiative
            .languages
            .iter()
            .map(|l| {
                language_name(locale, l.as_str())
                    .map_or_else(|| l.as_str().to_uppercase(), str::to_string)
            })
            .collect();
        entry(
            &mut main,
            visit.t("popup.languages"),
            &escape(&names.join(", ")),
        );
    }
    if let Some(start) = initiative.start {
        let end = initiative.end.map_or_else(
            || escape(visit.t("popup.ongoing")),
            |end| format!("<time datetime=\"{end}\">{end}</time>"),
        );
        entry(
            &mut main,
            visit.t("popup.runs"),
            &format!("<time datetime=\"{start}\">{start}</time> – {end}"),
        );
    }
    entry(
        &mut main,
        visit.t("filter.status"),
        &escape(translations.term(locale, initiative.status)),
    );
    let evidence = initiative.evidence_url.and_then(web_address);
    if evidence.is_some() || initiative.verified_at.is_some() {
        let mut value = String::new();
        if let Some(url) = evidence {
            let _ = write!(
                value,
                "<a href=\"{}\">{}</a>",
                escape(url),
                escape(visit.t("popup.evidence"))
            );
        }
        if let Some(day) = initiative.verified_at {
            if !value.is_empty() {
                value.push_str("; ");
            }
            let _ = write!(
                value,
                "{} <time datetime=\"{day}\">{day}</time>",
                escape(visit.t("popup.verifiedOn"))
            );
        }
        entry(&mut main, visit.t("popup.Evidence"), &value);
    }
    let updated = initiative.updated_at.strftime("%Y-%m-%d").to_string();
    entry(
        &mut main,
        visit.t("pages.initiative.updated"),
        &format!(
            "<time datetime=\"{}\">{updated}</time>",
            initiative.updated_at
        ),
    );
    main.push_str("</dl>\n");
    let map = format!(
        "/#c={:.4},{:.4}&z=12&sel={}&lang={}",
        initiative.location.lat,
        initiative.location.lon,
        segment(initiative.id),
        locale.code()
    );
    let _ = writeln!(
        main,
        "<p><a href=\"{}\">{}</a></p>\n</article>",
        escape(&map),
        escape(visit.t("pages.initiative.onMap"))
    );
    document(visit, &head, &main)
}

/// schema.org JSON-LD for the initiative, safe inside a `<script>` element: `<`, `>` and `&`
/// are written as JSON escapes, so no text can close the element or start a comment.
fn json_ld(visit: &Visit, initiative: InitiativeRef<'_>, canonical: &str) -> String {
    let translations = visit.translations();
    let kind = match initiative.kind {
        Kind::Training => "EducationalOrganization",
        _ => "Organization",
    };
    let mut data = json!({
        "@context": "https://schema.org",
        "@type": kind,
        "@id": canonical,
        "name": initiative.name,
        "description": initiative.description,
        "address": {
            "@type": "PostalAddress",
            "addressLocality": initiative.city,
            "addressCountry": initiative.country.code(),
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": initiative.location.lat,
            "longitude": initiative.location.lon,
        },
        // Named in the page's language, as `knowsAbout` is.
        "areaServed": {
            "@type": "Country",
            "name": translations::country_name(visit.locale, initiative.country),
        },
        "knowsAbout": initiative
            .skill_areas
            .iter()
            .map(|a| translations.term(visit.locale, a))
            .collect::<Vec<_>>(),
        "knowsLanguage": initiative.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "parentOrganization": { "@type": "Organization", "name": initiative.organisation },
    });
    if let Some(url) = web_address(initiative.url) {
        data["url"] = Value::String(url.to_string());
    }
    serde_json::to_string(&data)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
