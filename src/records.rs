//! Initiatives held column-wise: fixed-size attributes in arrays, texts in one arena, repeated values interned.
//!
//! A million initiatives as `Initiative` structs cost about 500 bytes each in allocations
//! and pointers; here the attributes queries test sit in dense arrays, the four free texts of
//! a record are one run of an arena, and organisations, cities, sources and language lists
//! (which repeat across records) are stored once. The folded search text of name and
//! description is built once, when a record is added.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::country::Country;
use crate::filter::fold;
use crate::model::{
    Initiative, Kind, Language, Location, LocationPrecision, SkillArea, Status, TargetGroup,
    TermSet,
};

/// The attributes every filter tests, packed together so a scan touches one array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attributes {
    pub country: Country,
    pub kind: Kind,
    pub skill_areas: TermSet<SkillArea>,
    pub target_groups: TermSet<TargetGroup>,
    pub updated_at: Timestamp,
    pub status: Status,
    pub location_precision: LocationPrecision,
}

/// One record, borrowed from wherever it is stored (an `Initiative` or a [`Records`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InitiativeRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub organisation: &'a str,
    pub url: &'a str,
    pub country: Country,
    pub city: &'a str,
    pub location: Location,
    pub skill_areas: TermSet<SkillArea>,
    pub target_groups: TermSet<TargetGroup>,
    pub kind: Kind,
    pub languages: &'a [Language],
    pub start: Option<Date>,
    pub end: Option<Date>,
    pub updated_at: Timestamp,
    pub source: &'a str,
    pub evidence_url: Option<&'a str>,
    pub verified_at: Option<Date>,
    pub status: Status,
    pub location_precision: LocationPrecision,
}

impl Initiative {
    pub fn as_ref(&self) -> InitiativeRef<'_> {
        InitiativeRef {
            id: &self.id,
            name: &self.name,
            description: &self.description,
            organisation: &self.organisation,
            url: &self.url,
            country: self.country,
            city: &self.city,
            location: self.location,
            skill_areas: self.skill_areas,
            target_groups: self.target_groups,
            kind: self.kind,
            languages: &self.languages,
            start: self.start,
            end: self.end,
            updated_at: self.updated_at,
            source: &self.source,
            evidence_url: self.evidence_url.as_deref(),
            verified_at: self.verified_at,
            status: self.status,
            location_precision: self.location_precision,
        }
    }

    pub fn attributes(&self) -> Attributes {
        self.as_ref().attributes()
    }
}

impl InitiativeRef<'_> {
    /// What the filters test.
    pub fn attributes(&self) -> Attributes {
        Attributes {
            country: self.country,
            kind: self.kind,
            skill_areas: self.skill_areas,
            target_groups: self.target_groups,
            updated_at: self.updated_at,
            status: self.status,
            location_precision: self.location_precision,
        }
    }

    pub fn to_owned(&self) -> Initiative {
        Initiative {
            id: self.id.into(),
            name: self.name.into(),
            description: self.description.into(),
            organisation: self.organisation.into(),
            url: self.url.into(),
            country: self.country,
            city: self.city.into(),
            location: self.location,
            skill_areas: self.skill_areas,
            target_groups: self.target_groups,
            kind: self.kind,
            languages: self.languages.into(),
            start: self.start,
            end: self.end,
            updated_at: self.updated_at,
            source: self.source.into(),
            evidence_url: self.evidence_url.map(Into::into),
            verified_at: self.verified_at,
            status: self.status,
            location_precision: self.location_precision,
        }
    }
}

/// Strings that repeat across records (organisations, cities, sources), each kept once with
/// its folded form for the free-text search.
#[derive(Default, Clone)]
pub(crate) struct Interned {
    pub(crate) values: Vec<Box<str>>,
    pub(crate) folded: Vec<Box<str>>,
    positions: HashMap<Box<str>, u32>,
}

impl Interned {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(id) = self.positions.get(value) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct strings");
        self.values.push(value.into());
        self.folded.push(fold(value).into());
        self.positions.insert(value.into(), id);
        id
    }

    pub(crate) fn from_values(values: Vec<Box<str>>) -> Interned {
        let folded = values.iter().map(|v| fold(v).into()).collect();
        let positions = values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i as u32))
            .collect();
        Interned {
            values,
            folded,
            positions,
        }
    }
}

/// Which interned values a record uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shared {
    pub(crate) organisation: u32,
    pub(crate) city: u32,
    pub(crate) source: u32,
    pub(crate) languages: u32,
}

/// Lengths of a record's id, name, description and URL in the arena; its evidence URL is the
/// rest of its run (none when empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TextLengths {
    pub(crate) id: u16,
    pub(crate) name: u16,
    pub(crate) description: u16,
    pub(crate) url: u16,
}

/// A set of initiatives in columns; position `i` is one record across every column.
#[derive(Default, Clone)]
pub struct Records {
    pub(crate) locations: Vec<Location>,
    pub(crate) attributes: Vec<Attributes>,
    /// Start, end and verification date of each record.
    pub(crate) dates: Vec<[Option<Date>; 3]>,
    pub(crate) shared: Vec<Shared>,
    /// End of each record's run of `texts` (it starts where the previous one ends).
    pub(crate) text_ends: Vec<usize>,
    pub(crate) text_lengths: Vec<TextLengths>,
    /// Each record's id, name, description, URL and evidence URL, one after the other.
    pub(crate) texts: String,
    /// End of each record's run of `search`.
    pub(crate) search_ends: Vec<usize>,
    /// Each record's folded name and description, separated by a newline; empty when both
    /// are ASCII, whose folded form is the text itself compared without case (most records,
    /// so the folded copy costs little).
    pub(crate) search: String,
    pub(crate) strings: Interned,
    pub(crate) language_lists: Vec<Box<[Language]>>,
    pub(crate) language_positions: HashMap<Box<[Language]>, u32>,
}

impl Records {
    pub fn with_capacity(n: usize) -> Records {
        Records {
            locations: Vec::with_capacity(n),
            attributes: Vec::with_capacity(n),
            dates: Vec::with_capacity(n),
            shared: Vec::with_capacity(n),
            text_ends: Vec::with_capacity(n),
            text_lengths: Vec::with_capacity(n),
            search_ends: Vec::with_capacity(n),
            ..Records::default()
        }
    }

    pub fn len(&self) -> usize {
        self.locations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// Appends a record.
    pub fn push(&mut self, record: InitiativeRef<'_>) {
        let search = fold_search(record.name, record.description);
        self.push_with_search(record, &search);
    }

    /// Appends a record whose folded search text is already known.
    fn push_with_search(&mut self, record: InitiativeRef<'_>, search: &str) {
        let length = |text: &str| u16::try_from(text.len()).expect("validated lengths fit");
        self.text_lengths.push(TextLengths {
            id: length(record.id),
            name: length(record.name),
            description: length(record.description),
            url: length(record.url),
        });
        for text in [
            record.id,
            record.name,
            record.description,
            record.url,
            record.evidence_url.unwrap_or_default(),
        ] {
            self.texts.push_str(text);
        }
        self.text_ends.push(self.texts.len());
        self.search.push_str(search);
        self.search_ends.push(self.search.len());
        let languages = match self.language_positions.get(record.languages) {
            Some(id) => *id,
            None => {
                let id = self.language_lists.len() as u32;
                self.language_lists.push(record.languages.into());
                self.language_positions.insert(record.languages.into(), id);
                id
            }
        };
        self.shared.push(Shared {
            organisation: self.strings.id(record.organisation),
            city: self.strings.id(record.city),
            source: self.strings.id(record.source),
            languages,
        });
        self.locations.push(record.location);
        self.attributes.push(record.attributes());
        self.dates
            .push([record.start, record.end, record.verified_at]);
    }

    /// Builds the records of `initiatives` in their order; the folding is spread over the cores.
    pub fn from_initiatives(initiatives: &[Initiative]) -> Records {
        use rayon::prelude::*;
        let searches: Vec<String> = initiatives
            .par_iter()
            .map(|i| fold_search(&i.name, &i.description))
            .collect();
        let mut records = Records::with_capacity(initiatives.len());
        for (initiative, search) in initiatives.iter().zip(&searches) {
            records.push_with_search(initiative.as_ref(), search);
        }
        records
    }

    /// Appends record `i` of `other` (its folded text is copied, not recomputed).
    pub fn push_from(&mut self, other: &Records, i: usize) {
        self.push_with_search(other.get(i), other.search_text(i));
    }

    pub fn get(&self, i: usize) -> InitiativeRef<'_> {
        let start = if i == 0 { 0 } else { self.text_ends[i - 1] };
        let run = &self.texts[start..self.text_ends[i]];
        let lengths = self.text_lengths[i];
        let (id, rest) = run.split_at(usize::from(lengths.id));
        let (name, rest) = rest.split_at(usize::from(lengths.name));
        let (description, rest) = rest.split_at(usize::from(lengths.description));
        let (url, evidence_url) = rest.split_at(usize::from(lengths.url));
        let shared = self.shared[i];
        let attributes = self.attributes[i];
        let [start, end, verified_at] = self.dates[i];
        InitiativeRef {
            id,
            name,
            description,
            organisation: &self.strings.values[shared.organisation as usize],
            url,
            country: attributes.country,
            city: &self.strings.values[shared.city as usize],
            location: self.locations[i],
            skill_areas: attributes.skill_areas,
            target_groups: attributes.target_groups,
            kind: attributes.kind,
            languages: &self.language_lists[shared.languages as usize],
            start,
            end,
            updated_at: attributes.updated_at,
            source: &self.strings.values[shared.source as usize],
            evidence_url: (!evidence_url.is_empty()).then_some(evidence_url),
            verified_at,
            status: attributes.status,
            location_precision: attributes.location_precision,
        }
    }

    pub fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.text_ends[i - 1] };
        &self.texts[start..start + usize::from(self.text_lengths[i].id)]
    }

    pub fn location(&self, i: usize) -> Location {
        self.locations[i]
    }

    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    pub fn attributes(&self, i: usize) -> &Attributes {
        &self.attributes[i]
    }

    /// The folded name and description of record `i`, or "" when they are ASCII.
    pub fn search_text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.search_ends[i - 1] };
        &self.search[start..self.search_ends[i]]
    }

    /// True when every folded word occurs in the record's name, description, organisation
    /// or city (each searched alone, so a word never spans two of them).
    pub fn contains_words(&self, i: usize, words: &[String]) -> bool {
        if words.is_empty() {
            return true;
        }
        let folded = self.search_text(i);
        let own = |word: &str| {
            if folded.is_empty() {
                let record = self.get(i);
                contains_ignoring_case(record.name, word)
                    || contains_ignoring_case(record.description, word)
            } else {
                folded.contains(word)
            }
        };
        let shared = self.shared[i];
        let organisation = &self.strings.folded[shared.organisation as usize];
        let city = &self.strings.folded[shared.city as usize];
        words.iter().all(|word| {
            own(word) || organisation.contains(word.as_str()) || city.contains(word.as_str())
        })
    }

    /// Position of `id` when the records are in id order (as every snapshot keeps them).
    pub fn position_of(&self, id: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            match self.id(mid).cmp(id) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Bytes held, for the start-up log and the benchmark (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.locations.capacity() * size_of::<Location>()
            + self.attributes.capacity() * size_of::<Attributes>()
            + self.dates.capacity() * size_of::<[Option<Date>; 3]>()
            + self.shared.capacity() * size_of::<Shared>()
            + self.text_ends.capacity() * size_of::<usize>()
            + self.text_lengths.capacity() * size_of::<TextLengths>()
            + self.texts.capacity()
            + self.search_ends.capacity() * size_of::<usize>()
            + self.search.capacity()
            + self
                .strings
                .values
                .iter()
                .chain(&self.strings.folded)
                .map(|s| s.len() * 2 + 48)
                .sum::<usize>()
    }

    /// Frees the spare capacity left by pushing.
    pub fn shrink_to_fit(&mut self) {
        self.locations.shrink_to_fit();
        self.attributes.shrink_to_fit();
        self.dates.shrink_to_fit();
        self.shared.shrink_to_fit();
        self.text_ends.shrink_to_fit();
        self.text_lengths.shrink_to_fit();
        self.texts.shrink_to_fit();
        self.search_ends.shrink_to_fit();
        self.search.shrink_to_fit();
    }

    /// Rebuilds the lookup from language list to position after the lists were read back.
    pub(crate) fn set_language_lists(&mut self, lists: Vec<Box<[Language]>>) {
        self.language_positions = lists
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i as u32))
            .collect();
        self.language_lists = lists;
    }
}

/// What the free-text search looks in besides organisation and city: name and description,
/// folded; nothing when both are ASCII (searched as they are, without case).
fn fold_search(name: &str, description: &str) -> String {
    if name.is_ascii() && description.is_ascii() {
        return String::new();
    }
    let mut text = fold(name);
    text.push('\n');
    text.push_str(&fold(description));
    text
}

/// True when `word` (lower-case, as [`fold`] makes it) occurs in the ASCII `text` with any
/// case: what `fold(text).contains(word)` answers, without the copy.
fn contains_ignoring_case(text: &str, word: &str) -> bool {
    let (text, word) = (text.as_bytes(), word.as_bytes());
    let Some((&first, rest)) = word.split_first() else {
        return true;
    };
    text.len() >= word.len()
        && (0..=text.len() - word.len()).any(|at| {
            text[at].to_ascii_lowercase() == first
                && text[at + 1..at + word.len()]
                    .iter()
                    .zip(rest)
                    .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use proptest::prelude::*;

    proptest! {
        /// The search answers as a search in the folded text would, ASCII or not.
        #[test]
        fn words_match_as_in_the_folded_text(
            name in "[A-Za-zÉéßŁł0-9 -]{1,20}",
            description in "[A-Za-zÄäÖö .]{0,30}",
            word in "[a-z0-9e-]{1,4}",
        ) {
            let mut it = initiative("x", 1.0, 1.0);
            it.name = name.clone().into();
            it.description = description.clone().into();
            let records = Records::from_initiatives(&[it]);
            let folded = format!("{}\n{}", fold(&name), fold(&description));
            let in_shared = fold("Org").contains(&word) || fold("Berlin").contains(&word);
            prop_assert_eq!(
                records.contains_words(0, std::slice::from_ref(&word)),
                folded.contains(&word) || in_shared
            );
        }
    }

    #[test]
    fn records_give_back_what_was_stored() {
        let mut a = initiative("a-1", 13.4, 52.5);
        a.description = "Kraków ÉCOLE".into();
        a.start = Some(jiff::civil::date(2020, 1, 2));
        let mut b = initiative("b-2", 2.35, 48.85);
        b.url = "https://example.org/b".into();
        b.city = "Łódź".into();
        b.evidence_url = None;
        b.verified_at = Some(jiff::civil::date(2026, 11, 30));
        b.status = Status::Closed;
        b.location_precision = LocationPrecision::Address;
        let records = Records::from_initiatives(&[a.clone(), b.clone()]);
        assert_eq!(records.get(0).to_owned(), a);
        assert_eq!(records.get(1).to_owned(), b);
        assert_eq!(records.id(1), "b-2");
        assert_eq!(records.position_of("b-2"), Some(1));
        assert_eq!(records.position_of("c"), None);
        assert!(records.contains_words(0, &["krakow".into(), "ecole".into()]));
        assert!(records.contains_words(1, &["lodz".into()]));
        assert!(!records.contains_words(1, &["krakow".into()]));
        // ASCII texts keep no folded copy and are searched without case.
        assert_eq!(records.search_text(1), "");
        assert!(records.contains_words(1, &["initiative".into(), "b-2".into()]));
        assert!(records.contains_words(1, &["a test init".split(' ').next().unwrap().into()]));
        assert!(!records.contains_words(1, &["testx".into()]));
        let mut copy = Records::default();
        copy.push_from(&records, 1);
        assert_eq!(copy.get(0).to_owned(), b);
        assert_eq!(copy.search_text(0), records.search_text(1));
    }
}
