//! Attribute filters (country, skill area, target group, kind, free text) shared by every query.

use crate::country::CountrySet;
use crate::model::{Kind, SkillArea, TargetGroup, TermSet};
use crate::records::Attributes;
use crate::regions::code::NutsFilter;

/// What an initiative must match. Within one attribute any listed value matches; across
/// attributes all must match. `None` means the attribute is not filtered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub countries: Option<CountrySet>,
    pub skill_areas: Option<TermSet<SkillArea>>,
    pub target_groups: Option<TermSet<TargetGroup>>,
    pub kinds: Option<TermSet<Kind>>,
    /// Folded words of the free-text query; every one must occur in the searchable text.
    pub words: Vec<String>,
    /// Only initiatives whose `updated_at` lies in this interval (either end may be open).
    pub updated: Option<TimeInterval>,
    /// NUTS codes (prefixes) of the regions the initiative must lie in; the index checks it,
    /// since the regions of an initiative belong to the snapshot, not to the record.
    pub nuts: Option<NutsFilter>,
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
    pub fn is_empty(&self) -> bool {
        self.countries.is_none()
            && self.skill_areas.is_none()
            && self.target_groups.is_none()
            && self.kinds.is_none()
            && self.words.is_empty()
            && self.updated.is_none()
            && self.nuts.is_none()
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
}
