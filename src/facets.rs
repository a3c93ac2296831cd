//! Counts of matching initiatives per vocabulary term, for multi-select filters with live counts.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::filter::Filter;
use crate::geodesy::LonLatBox;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, Vocabulary};
use crate::snapshot::Snapshot;
use crate::translations::{Locale, Translations};

/// For each filterable attribute, how many initiatives would match per term. Each attribute's
/// counts apply every filter except that attribute's own, so that ticking another term of the
/// same attribute adds exactly its count.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Facets {
    /// Initiatives matching every filter.
    pub total: usize,
    pub skill_area: BTreeMap<&'static str, usize>,
    pub target_group: BTreeMap<&'static str, usize>,
    pub kind: BTreeMap<&'static str, usize>,
    pub country: BTreeMap<&'static str, usize>,
    pub status: BTreeMap<&'static str, usize>,
}

pub fn count(index: &Snapshot, area: Option<&LonLatBox>, filter: &Filter) -> Facets {
    let open = |mut f: Filter, clear: fn(&mut Filter)| {
        clear(&mut f);
        f
    };
    let common = Filter {
        words: filter.words.clone(),
        updated: filter.updated,
        nuts: filter.nuts.clone(),
        expression: filter.expression.clone(),
        statuses: Filter::all_statuses(),
        ..Filter::default()
    };
    let candidates = index.matching(area, &common);
    let without_skill = open(filter.clone(), |f| f.skill_areas = None);
    let without_group = open(filter.clone(), |f| f.target_groups = None);
    let without_kind = open(filter.clone(), |f| f.kinds = None);
    let without_country = open(filter.clone(), |f| f.countries = None);
    let without_status = open(filter.clone(), |f| f.statuses = Filter::all_statuses());
    let mut facets = Facets::default();
    for slot in candidates {
        let initiative = index.attributes(slot);
        if filter.matches_attributes(initiative) {
            facets.total += 1;
        }
        if without_skill.matches_attributes(initiative) {
            tally(&mut facets.skill_area, initiative.skill_areas.iter());
        }
        if without_group.matches_attributes(initiative) {
            tally(&mut facets.target_group, initiative.target_groups.iter());
        }
        if without_kind.matches_attributes(initiative) {
            tally(&mut facets.kind, std::iter::once(initiative.kind));
        }
        if without_country.matches_attributes(initiative) {
            *facets.country.entry(initiative.country.code()).or_default() += 1;
        }
        if without_status.matches_attributes(initiative) {
            tally(&mut facets.status, std::iter::once(initiative.status));
        }
    }
    facets
}

fn tally<T: Vocabulary>(
    counts: &mut BTreeMap<&'static str, usize>,
    terms: impl Iterator<Item = T>,
) {
    for term in terms {
        *counts.entry(term.slug()).or_default() += 1;
    }
}

/// Every vocabulary with its labels, for building filter controls.
#[derive(Serialize)]
pub struct Vocabularies<'a> {
    skill_areas: Vec<Term<'a>>,
    target_groups: Vec<Term<'a>>,
    kinds: Vec<Term<'a>>,
    statuses: Vec<Term<'a>>,
    location_precisions: Vec<Term<'a>>,
    countries: Vec<CountryTerm>,
}

#[derive(Serialize)]
struct Term<'a> {
    slug: &'static str,
    label: &'a str,
}

#[derive(Serialize)]
struct CountryTerm {
    code: &'static str,
    name: &'static str,
    group: crate::country::CountryGroup,
}

fn terms<T: Vocabulary>(translations: &Translations, locale: Locale) -> Vec<Term<'_>> {
    T::all()
        .iter()
        .map(|t| Term {
            slug: t.slug(),
            label: translations.term(locale, *t),
        })
        .collect()
}

impl<'a> Vocabularies<'a> {
    /// The vocabularies with their labels in `locale` (English where it has none).
    pub fn new(translations: &'a Translations, locale: Locale) -> Self {
        Vocabularies {
            skill_areas: terms::<SkillArea>(translations, locale),
            target_groups: terms::<TargetGroup>(translations, locale),
            kinds: terms::<Kind>(translations, locale),
            statuses: terms::<Status>(translations, locale),
            location_precisions: terms::<LocationPrecision>(translations, locale),
            countries: crate::country::Country::all()
                .map(|c| CountryTerm {
                    code: c.code(),
                    name: c.name(),
                    group: c.group(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use crate::model::TermSet;

    #[test]
    fn each_facet_ignores_its_own_filter() {
        let mut a = initiative("a", 1.0, 1.0);
        a.kind = Kind::Training;
        let b = initiative("b", 2.0, 2.0);
        let mut c = initiative("c", 3.0, 3.0);
        c.skill_areas = [SkillArea::Iot].into_iter().collect();
        let mut closed = initiative("d", 4.0, 4.0);
        closed.status = Status::Closed;
        let index = Snapshot::of(vec![a, b, c, closed]);
        let filter = Filter {
            kinds: Some([Kind::Hub].into_iter().collect::<TermSet<Kind>>()),
            ..Filter::default()
        };
        let facets = count(&index, None, &filter);
        assert_eq!(facets.total, 2);
        assert_eq!(facets.kind.get("training"), Some(&1));
        assert_eq!(facets.kind.get("hub"), Some(&2));
        assert_eq!(facets.skill_area.get("data_ai"), Some(&1));
        assert_eq!(facets.skill_area.get("iot"), Some(&1));
        assert_eq!(facets.country.get("DE"), Some(&2));
        // Closed ones count only in their own facet, which ignores the status filter.
        assert_eq!(facets.status.get("active"), Some(&2));
        assert_eq!(facets.status.get("closed"), Some(&1));
    }
}
