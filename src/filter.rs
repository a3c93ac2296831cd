//! Attribute filters (country, skill area, target group, kind, status, free text) shared by
//! every query.

use crate::country::CountrySet;
use crate::cql2::Expression;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, TermSet, Vocabulary};
use crate::records::Attributes;
use crate::regions::code::NutsFilter;

/// What an initiative must match. Within one attribute any listed value matches; across
/// attributes all must match. `None` means the attribute is not filtered.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub countries: Option<CountrySet>,
    pub skill_areas: Option<TermSet<SkillArea>>,
    pub target_groups: Option<TermSet<TargetGroup>>,
    pub kinds: Option<TermSet<Kind>>,
    /// What the coordinates stand for (`address` or `city`).
    pub precisions: Option<TermSet<LocationPrecision>>,
    /// Folded words of the free-text query; every one must occur in the searchable text.
    pub words: Vec<String>,
    /// Only initiatives whose `updated_at` lies in this interval (either end may be open).
    pub updated: Option<TimeInterval>,
    /// NUTS codes (prefixes) of the regions the initiative must lie in; the index checks it,
    /// since the regions of an initiative belong to the snapshot, not to the record.
    pub nuts: Option<NutsFilter>,
    /// The statuses shown. Unlike the other attributes it is always set: by default only
    /// active initiatives, since closed ones are kept for history, not to be found.
    pub statuses: TermSet<Status>,
    /// A CQL2 filter (`filter=`), all of whose conditions must hold as well; the snapshot
    /// evaluates it per record beside the conditions above.
    pub expression: Option<Expression>,
}

impl Default for Filter {
    /// No condition but the default statuses.
    fn default() -> Self {
        Filter {
            countries: None,
            skill_areas: None,
            target_groups: None,
            kinds: None,
            precisions: None,
            words: Vec::new(),
            updated: None,
            nuts: None,
            statuses: Filter::default_statuses(),
            expression: None,
        }
    }
}

/// An interval of time, inclusive at both ends; `None` is an open end.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimeInterval {
    pub start: Option<jiff::Timestamp>,
    pub end: Option<jiff::Timestamp>,
}

impl TimeInterval {
    pub fn contains(&self, t: jiff::Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }
}

impl Filter {
    /// What is shown unless a query asks for other statuses.
    pub fn default_statuses() -> TermSet<Status> {
        TermSet::of(Status::Active)
    }

    /// Every status, for `status=all`.
    pub fn all_statuses() -> TermSet<Status> {
        Status::all().iter().copied().collect()
    }

    /// True when no condition is set, the default statuses included.
    pub fn is_empty(&self) -> bool {
        self.passes_all(Filter::default_statuses())
    }

    /// True when every initiative whose status is among `present` passes: nothing but the
    /// status is filtered, and no present status is hidden.
    pub fn passes_all(&self, present: TermSet<Status>) -> bool {
        self.countries.is_none()
            && self.skill_areas.is_none()
            && self.target_groups.is_none()
            && self.kinds.is_none()
            && self.precisions.is_none()
            && self.words.is_empty()
            && self.updated.is_none()
            && self.nuts.is_none()
            && self.expression.is_none()
            && present.is_subset(self.statuses)
    }

    /// Sets the free-text query from what a user typed.
    pub fn with_text(mut self, query: &str) -> Self {
        self.words = fold(query).split_whitespace().map(str::to_owned).collect();
        self
    }

    /// Sets already-folded words (see [`fold`]).
    pub fn with_words(mut self, words: Vec<String>) -> Self {
        self.words = words;
        self
    }

    /// Every condition except the free text and the regions (which the snapshot checks).
    pub fn matches_attributes(&self, initiative: &Attributes) -> bool {
        self.countries
            .is_none_or(|set| set.contains(initiative.country))
            && self
                .skill_areas
                .is_none_or(|set| set.intersects(initiative.skill_areas))
            && self
                .target_groups
                .is_none_or(|set| set.intersects(initiative.target_groups))
            && self.kinds.is_none_or(|set| set.contains(initiative.kind))
            && self
                .precisions
                .is_none_or(|set| set.contains(initiative.location_precision))
            && self.statuses.contains(initiative.status)
            && self
                .updated
                .is_none_or(|i| i.contains(initiative.updated_at))
    }
}

/// Lower-case ASCII transliteration, so that "Kraków", "KRAKOW" and "krakow" compare equal.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Kraków ÉCOLE Straße"), "krakow ecole strasse");
        assert_eq!(fold("Łódź"), "lodz");
    }

    #[test]
    fn every_word_must_occur() {
        let filter = Filter::default().with_text("  Cyber  KRAKÓW ");
        assert_eq!(filter.words, vec!["cyber", "krakow"]);
        let text = "cybersecurity hub\nkrakow";
        assert!(filter.words.iter().all(|w| text.contains(w.as_str())));
        assert!(Filter::default().with_text("   ").is_empty());
    }

    #[test]
    fn closed_initiatives_are_hidden_unless_asked_for() {
        let mut closed = crate::index::tests::initiative("de-closed", 13.4, 52.5);
        closed.status = Status::Closed;
        let active = crate::index::tests::initiative("de-open", 13.4, 52.5);
        let default = Filter::default();
        let (closed, active) = (closed.attributes(), active.attributes());
        assert!(default.matches_attributes(&active));
        assert!(!default.matches_attributes(&closed));
        let only_closed = Filter {
            statuses: TermSet::of(Status::Closed),
            ..Filter::default()
        };
        assert!(
            only_closed.matches_attributes(&closed) && !only_closed.matches_attributes(&active)
        );
        // The default hides nothing from data without closed initiatives, but does hide
        // from data with them.
        let only_active = TermSet::of(Status::Active);
        assert!(default.passes_all(only_active));
        assert!(!default.passes_all(Filter::all_statuses()));
        let all = Filter {
            statuses: Filter::all_statuses(),
            ..Filter::default()
        };
        assert!(all.passes_all(Filter::all_statuses()));
        assert!(!only_closed.passes_all(only_active));
    }
}
