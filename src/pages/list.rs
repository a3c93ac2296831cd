//! `/initiatives`: the initiatives a page at a time, with the filters as plain links (each
//! with its count), the number of matches and links to the previous and next pages.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::html::{Head, country_name, document, escape, lang_of, segment};
use super::{PageError, Visit, serve};
use crate::api::AppState;
use crate::api::params::FILTER_PARAMS;
use crate::country::Country;
use crate::facets::{self, Facets};
use crate::model::{Kind, SkillArea, Status, TargetGroup, Vocabulary};
use crate::snapshot::Snapshot;
use crate::translations::{self, sort_key};

pub const LIST_PATH: &str = "/initiatives";
/// Initiatives per page: enough to scan, few enough for a phone.
pub const PAGE_SIZE: usize = 50;

pub async fn page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let allowed = [FILTER_PARAMS, &["offset"]].concat();
    serve(&state, &headers, &uri, &allowed, |visit| {
        respond(&state, visit, &headers, &uri)
    })
}

fn respond(
    state: &AppState,
    visit: &Visit,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response, PageError> {
    let filter = visit.params.filter()?;
    let offset = visit.params.offset()?;
    let snapshot = state.snapshot.load_full();
    Ok(visit.respond(
        &[snapshot.version.as_bytes()],
        snapshot.last_modified,
        headers,
        uri,
        || {
            let slots = snapshot.matching(None, &filter);
            let counts = facets::count(&snapshot, None, &filter);
            write(visit, &snapshot, &slots, &counts, offset)
        },
    ))
}

/// The query of this page without `lang` (added back by [`Visit::href`]) and `offset`.
fn current_filters(visit: &Visit) -> Vec<(&str, &str)> {
    visit
        .params
        .pairs()
        .iter()
        .filter(|(name, _)| name != "lang" && name != "offset")
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// This list with `name` set to `value` (or removed), from the first page.
fn with_filter(visit: &Visit, name: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = current_filters(visit)
        .into_iter()
        .filter(|(n, _)| *n != name)
        .collect();
    if let Some(value) = value {
        pairs.push((name, value));
    }
    visit.href(LIST_PATH, &pairs)
}

fn write(
    visit: &Visit,
    snapshot: &Snapshot,
    slots: &[crate::index::Slot],
    counts: &Facets,
    offset: usize,
) -> String {
    let translations = visit.translations();
    let locale = visit.locale;
    let total = slots.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_number = offset / PAGE_SIZE + 1;
    let title = visit.t("pages.list.title");
    let page_of = translations.fill(
        locale,
        "pages.list.page",
        &[
            ("page", &locale.number(page_number)),
            ("pages", &locale.number(pages)),
        ],
    );
    let mut head = Head {
        title: if page_number > 1 {
            format!("{title} – {page_of}")
        } else {
            title.to_string()
        },
        description: visit.t("panel.tagline").to_string(),
        ..Head::default()
    };
    let filters = current_filters(visit);
    let page_link = |start: usize| {
        let mut pairs = filters.clone();
        let start = start.to_string();
        if start != "0" {
            pairs.push(("offset", &start));
        }
        visit.href(LIST_PATH, &pairs)
    };
    let previous = (offset > 0).then(|| page_link(offset.saturating_sub(PAGE_SIZE)));
    let next = (offset + PAGE_SIZE < total).then(|| page_link(offset + PAGE_SIZE));
    if filters.is_empty() && offset == 0 {
        head.canonical = Some(format!("{}{LIST_PATH}", visit.base));
    }
    for (rel, link) in [("prev", &previous), ("next", &next)] {
        if let Some(link) = link {
            let _ = writeln!(head.extra, "<link rel=\"{rel}\" href=\"{}\">", escape(link));
        }
    }

    let mut main = format!("<h1>{}</h1>\n", escape(title));
    let shown = slots.iter().skip(offset).take(PAGE_SIZE);
    let _ = write!(
        main,
        "<p class=\"count\">{}",
        escape(&translations.count(locale, "pages.list.count", total, &[]))
    );
    if total > 0 && offset < total {
        let range = translations.fill(
            locale,
            "pages.list.range",
            &[
                ("from", &locale.number(offset + 1)),
                ("to", &locale.number((offset + PAGE_SIZE).min(total))),
            ],
        );
        let _ = write!(main, ". {} ({})", escape(&range), escape(&page_of));
    }
    main.push_str("</p>\n");
    main.push_str(&filter_links(visit, counts));

    if total == 0 || offset >= total {
        let _ = writeln!(
            main,
            "<p class=\"empty\">{}</p>",
            escape(visit.t("pages.list.none"))
        );
    } else {
        let _ = writeln!(main, "<ol class=\"initiatives\" start=\"{}\">", offset + 1);
        for slot in shown {
            let initiative = snapshot.get(*slot);
            let mut facts = vec![
                escape(initiative.organisation),
                format!(
                    "{}, {}",
                    escape(initiative.city),
                    country_name(visit, initiative.country)
                ),
                escape(translations.term(locale, initiative.kind)),
            ];
            if initiative.status == Status::Closed {
                facts.push(escape(translations.term(locale, Status::Closed)));
            }
            let _ = writeln!(
                main,
                "<li><a href=\"{href}\"{lang} dir=\"auto\">{name}</a>\
                 <span class=\"facts\" dir=\"auto\">{facts}</span></li>",
                href = escape(&visit.href(&format!("{LIST_PATH}/{}", segment(initiative.id)), &[])),
                lang = lang_of(initiative.languages),
                name = escape(initiative.name),
                facts = facts.join(" · "),
            );
        }
        main.push_str("</ol>\n");
    }

    if previous.is_some() || next.is_some() {
        let _ = write!(
            main,
            "<nav aria-label=\"{}\" class=\"paging\"><ul>",
            escape(visit.t("pages.paging.label"))
        );
        if let Some(link) = &previous {
            let _ = write!(
                main,
                "<li><a href=\"{}\" rel=\"prev\">{}</a></li>",
                escape(link),
                escape(visit.t("pages.paging.previous"))
            );
        }
        if let Some(link) = &next {
            let _ = write!(
                main,
                "<li><a href=\"{}\" rel=\"next\">{}</a></li>",
                escape(link),
                escape(visit.t("pages.paging.next"))
            );
        }
        main.push_str("</ul></nav>\n");
    }
    document(visit, &head, &main)
}

/// The filters: for each attribute, "all" and each term with its count, as links (terms are
/// given as HTML, their labels escaped).
fn filter_links(visit: &Visit, counts: &Facets) -> String {
    let locale = visit.locale;
    let mut out = format!(
        "<nav aria-label=\"{label}\" class=\"filters\">\n<h2>{label}</h2>\n",
        label = escape(visit.t("filters.heading"))
    );
    let mut countries: Vec<(Country, usize)> = counts
        .country
        .iter()
        .filter_map(|(code, count)| Some((Country::parse(code).ok()?, *count)))
        .collect();
    countries
        .sort_by_cached_key(|(country, _)| sort_key(translations::country_name(locale, *country)));
    let countries = countries
        .into_iter()
        .map(|(country, count)| (country_name(visit, country), country.code(), count))
        .collect();
    let group = |name: &str, terms: Vec<(String, &str, usize)>, with_all: bool| {
        // Without `status` the list shows the running ones.
        let default = (name == "status").then_some(Status::Active.slug());
        let chosen = visit.params.get(name).ok().flatten().or(default);
        let mut out = format!(
            "<h3>{}</h3>\n<ul>",
            escape(visit.t(&format!("filter.{name}")))
        );
        let mut item = |text: &str, value: Option<&str>, count: Option<usize>| {
            let current = if chosen == value {
                " aria-current=\"true\""
            } else {
                ""
            };
            let count = count.map_or(String::new(), |n| {
                format!(" <span class=\"n\">({})</span>", locale.number(n))
            });
            let _ = write!(
                out,
                "<li><a href=\"{}\"{current}>{}</a>{count}</li>",
                escape(&with_filter(visit, name, value)),
                text
            );
        };
        if with_all {
            item(&escape(visit.t("pages.filters.all")), None, None);
        }
        for (label, slug, count) in &terms {
            // A term nothing matches is left out unless it is the one chosen.
            if *count > 0 || chosen == Some(*slug) {
                item(label, Some(slug), Some(*count));
            }
        }
        out.push_str("</ul>\n");
        out
    };
    out.push_str(&group("country", countries, true));
    out.push_str(&group(
        "skill_area",
        terms::<SkillArea>(visit, &counts.skill_area),
        true,
    ));
    out.push_str(&group(
        "target_group",
        terms::<TargetGroup>(visit, &counts.target_group),
        true,
    ));
    out.push_str(&group("kind", terms::<Kind>(visit, &counts.kind), true));
    // "All" would mislead for statuses: without the parameter only running ones are listed.
    out.push_str(&group(
        "status",
        terms::<Status>(visit, &counts.status),
        false,
    ));
    out.push_str("</nav>\n");
    out
}

fn terms<'a, T: Vocabulary>(
    visit: &Visit,
    counts: &'a BTreeMap<&'static str, usize>,
) -> Vec<(String, &'a str, usize)> {
    T::all()
        .iter()
        .map(|term| {
            (
                escape(visit.translations().term(visit.locale, *term)),
                term.slug(),
                counts.get(term.slug()).copied().unwrap_or(0),
            )
        })
        .collect()
}
