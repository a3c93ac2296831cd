//! The name index: every spelling of every place, folded, in one sorted array searched by prefix.

use std::cmp::Reverse;
use std::collections::HashMap;

use rayon::prelude::*;

use crate::filter::fold;

/// Index of a place in its gazetteer.
pub type PlaceId = u32;

/// Most results one search returns.
pub const MAX_RESULTS: usize = 50;

/// Prefixes up to this many bytes have their answers computed in advance when their range
/// of the index is large: a one- or two-letter query would otherwise rank thousands of names.
const PRECOMPUTED_PREFIX: usize = 3;
/// A prefix matching more names than this is answered from the precomputed table.
const LARGE_RANGE: usize = 256;

/// How well a name matched a query; the lower, the better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchQuality {
    /// The query is the whole of the place's own name.
    Exact,
    /// The query is the whole of another name of the place (an exonym, an ASCII form).
    ExactOther,
    /// The place's own name starts with the query.
    Prefix,
    /// Another name of the place starts with the query.
    PrefixOther,
    /// A later word of one of its names starts with the query ("haag" in "Den Haag").
    Word,
}

/// One spelling of a place, as the gazetteer's builder gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub text: String,
    /// The place's own name (its shown name, or its ASCII form), not an alternative.
    pub own: bool,
}

impl Name {
    pub fn own(text: impl Into<String>) -> Name {
        Name {
            text: text.into(),
            own: true,
        }
    }

    pub fn other(text: impl Into<String>) -> Name {
        Name {
            text: text.into(),
            own: false,
        }
    }
}

/// A name folded for matching: case, accents and script removed (`deunicode`), every run of
/// other characters a single space. "Łódź" and "LODZ" both become "lodz".
pub fn search_key(text: &str) -> String {
    let folded = fold(text);
    let mut key = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with(' ') {
            key.push(' ');
        }
    }
    if key.ends_with(' ') {
        key.pop();
    }
    key
}

/// One key of the index: a folded name (or its tail from a later word on) and its place.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The key's bytes in `NameIndex::keys`.
    key: (u32, u32),
    /// The original spelling, in `NameIndex::forms`.
    form: (u32, u32),
    place: PlaceId,
    own: bool,
    /// The key starts at a later word of the name.
    word: bool,
}

/// A match: the place, how well it matched, and the spelling that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub place: PlaceId,
    pub quality: MatchQuality,
    pub form: &'a str,
    /// The place's ranking weight.
    pub weight: Weight,
}

/// What ranks places: larger first (population), then the order given.
pub type Weight = u64;

/// The order of results: names that start with the query before those with a later word that
/// does; then by weight, boosted for an exact match and for the place's own name, so that
/// "par" finds Paris before the village of Par, and Parma before Napoli (once Parthenope).
pub fn rank_key(quality: MatchQuality, weight: Weight) -> (bool, Reverse<Weight>) {
    let boost = match quality {
        MatchQuality::Exact => 32,
        MatchQuality::ExactOther => 16,
        MatchQuality::Prefix => 8,
        MatchQuality::PrefixOther | MatchQuality::Word => 1,
    };
    (
        quality == MatchQuality::Word,
        Reverse(weight.saturating_mul(boost)),
    )
}

/// Every name of every place, sorted by folded key; searched by binary search on the prefix.
pub struct NameIndex {
    keys: String,
    forms: String,
    entries: Vec<Entry>,
    /// The ranking weight of each place.
    weights: Vec<Weight>,
    /// The best answers of short prefixes whose range is large.
    precomputed: HashMap<Box<str>, Vec<(PlaceId, MatchQuality, u32)>>,
}

/// A candidate: its rank, the place (ties go to the order given), its quality and entry.
type Ranked = ((bool, Reverse<Weight>), PlaceId, MatchQuality, u32);

impl NameIndex {
    /// Indexes `names[i]` as the names of place `i`, ranked by `weights[i]`.
    pub fn new(names: Vec<Vec<Name>>, weights: Vec<Weight>) -> NameIndex {
        assert_eq!(names.len(), weights.len(), "one weight per place");
        let mut keys = String::new();
        let mut forms = String::new();
        let mut entries = Vec::new();
        let keyed: Vec<Vec<(String, Name)>> = names.into_par_iter().map(distinct_keys).collect();
        for (place, chosen) in keyed.into_iter().enumerate() {
            for (key, name) in chosen {
                let form = push(&mut forms, &name.text);
                let start = keys.len() as u32;
                keys.push_str(&key);
                let whole = (start, key.len() as u32);
                entries.push(Entry {
                    key: whole,
                    form,
                    place: place as PlaceId,
                    own: name.own,
                    word: false,
                });
                // Each later word starts a key of its own, sharing the bytes of the whole.
                for (at, _) in key.match_indices(' ') {
                    let offset = at as u32 + 1;
                    entries.push(Entry {
                        key: (start + offset, whole.1 - offset),
                        form,
                        place: place as PlaceId,
                        own: name.own,
                        word: true,
                    });
                }
            }
        }
        let mut index = NameIndex {
            keys,
            forms,
            entries,
            weights,
            precomputed: HashMap::new(),
        };
        let mut entries = std::mem::take(&mut index.entries);
        entries.sort_unstable_by(|a, b| {
            index
                .key(a)
                .cmp(index.key(b))
                .then(a.place.cmp(&b.place))
                .then(a.word.cmp(&b.word))
        });
        index.entries = entries;
        index.precompute();
        index
    }

    fn key(&self, entry: &Entry) -> &str {
        &self.keys[entry.key.0 as usize..(entry.key.0 + entry.key.1) as usize]
    }

    fn form(&self, entry: &Entry) -> &str {
        &self.forms[entry.form.0 as usize..(entry.form.0 + entry.form.1) as usize]
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries whose key starts with `prefix`.
    fn range(&self, prefix: &str) -> std::ops::Range<usize> {
        let start = self.entries.partition_point(|e| self.key(e) < prefix);
        let len = self.entries[start..]
            .partition_point(|e| self.key(e).as_bytes().starts_with(prefix.as_bytes()));
        start..start + len
    }

    fn quality(&self, entry: &Entry, needle: &str) -> MatchQuality {
        let exact = self.key(entry).len() == needle.len();
        match (entry.word, entry.own, exact) {
            (true, _, _) => MatchQuality::Word,
            (false, true, true) => MatchQuality::Exact,
            (false, false, true) => MatchQuality::ExactOther,
            (false, true, false) => MatchQuality::Prefix,
            (false, false, false) => MatchQuality::PrefixOther,
        }
    }

    /// The best `limit` places for the entries in `range`, one result per place.
    fn rank(&self, range: std::ops::Range<usize>, needle: &str, limit: usize) -> Vec<Ranked> {
        let mut candidates: Vec<Ranked> = range
            .map(|i| {
                let entry = &self.entries[i];
                let quality = self.quality(entry, needle);
                (
                    rank_key(quality, self.weights[entry.place as usize]),
                    entry.place,
                    quality,
                    i as u32,
                )
            })
            .collect();
        candidates.sort_unstable();
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|c| seen.insert(c.1));
        candidates.truncate(limit);
        candidates
    }

    fn precompute(&mut self) {
        let mut prefixes: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for entry in &self.entries {
            let key = self.key(entry);
            for len in 1..=PRECOMPUTED_PREFIX.min(key.len()) {
                prefixes.insert(&key[..len]);
            }
        }
        let table = prefixes
            .into_iter()
            .filter_map(|prefix| {
                let range = self.range(prefix);
                (range.len() > LARGE_RANGE).then(|| {
                    let best = self
                        .rank(range, prefix, MAX_RESULTS)
                        .into_iter()
                        .map(|(_, place, quality, entry)| (place, quality, entry))
                        .collect();
                    (Box::from(prefix), best)
                })
            })
            .collect();
        self.precomputed = table;
    }

    /// The best `limit` places (at most [`MAX_RESULTS`]) whose names start with `query`
    /// (folded), or have a later word that does; best match first, then the heaviest.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Found<'_>> {
        let needle = search_key(query);
        if needle.is_empty() {
            return Vec::new();
        }
        let limit = limit.min(MAX_RESULTS);
        let found = |place: PlaceId, quality, entry: u32| Found {
            place,
            quality,
            form: self.form(&self.entries[entry as usize]),
            weight: self.weights[place as usize],
        };
        if let Some(best) = self.precomputed.get(needle.as_str()) {
            return best
                .iter()
                .take(limit)
                .map(|&(place, quality, entry)| found(place, quality, entry))
                .collect();
        }
        self.rank(self.range(&needle), &needle, limit)
            .into_iter()
            .map(|(_, place, quality, entry)| found(place, quality, entry))
            .collect()
    }
}

/// One name per distinct key of a place: its own name wins, then the first in a Latin script
/// (GeoNames lists alternatives alphabetically), then the first.
fn distinct_keys(names: Vec<Name>) -> Vec<(String, Name)> {
    let latin = |text: &str| text.chars().filter(|c| c.is_alphabetic()).all(is_latin);
    let mut best: HashMap<String, Name> = HashMap::new();
    for name in names {
        let key = search_key(&name.text);
        if key.is_empty() {
            continue;
        }
        let better = |old: &Name| {
            (name.own && !old.own)
                || (name.own == old.own && latin(&name.text) && !latin(&old.text))
        };
        match best.get(&key) {
            Some(old) if !better(old) => {}
            _ => {
                best.insert(key, name);
            }
        }
    }
    let mut chosen: Vec<(String, Name)> = best.into_iter().collect();
    chosen.sort_by(|a, b| a.0.cmp(&b.0));
    chosen
}

/// A letter of the Latin script (ASCII, Latin-1, Latin Extended-A and B and Additional).
pub fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{C0}'..='\u{24F}').contains(&c)
        || ('\u{1E00}'..='\u{1EFF}').contains(&c)
}

/// Appends `text` to an arena and returns its (start, length).
fn push(arena: &mut String, text: &str) -> (u32, u32) {
    let start = arena.len() as u32;
    arena.push_str(text);
    (start, text.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(places: &[(&[&str], &[&str], Weight)]) -> NameIndex {
        let names = places
            .iter()
            .map(|(own, other, _)| {
                own.iter()
                    .map(|n| Name::own(*n))
                    .chain(other.iter().map(|n| Name::other(*n)))
                    .collect()
            })
            .collect();
        NameIndex::new(names, places.iter().map(|p| p.2).collect())
    }

    fn places(found: &[Found]) -> Vec<PlaceId> {
        found.iter().map(|f| f.place).collect()
    }

    #[test]
    fn keys_ignore_case_accents_script_and_punctuation() {
        assert_eq!(search_key("Łódź"), "lodz");
        assert_eq!(search_key("  MÜNCHEN "), "munchen");
        assert_eq!(search_key("Saint-Étienne"), "saint etienne");
        assert_eq!(search_key("'s-Gravenhage"), "s gravenhage");
        assert_eq!(search_key("Αθήνα"), "athena");
        assert_eq!(search_key("?!"), "");
    }

    #[test]
    fn prefixes_rank_by_quality_then_weight() {
        let idx = index(&[
            (&["Tartu"], &["Dorpat"], 100_000),
            (&["Tarragona"], &[], 130_000),
            (&["Tartus"], &[], 5_000),
            (&["Stuttgart"], &[], 600_000),
        ]);
        assert_eq!(places(&idx.search("tart", 10)), vec![0, 2]);
        assert_eq!(places(&idx.search("Tar", 10)), vec![1, 0, 2]);
        assert_eq!(idx.search("TARTU", 1)[0].quality, MatchQuality::Exact);
        assert_eq!(places(&idx.search("tartu", 10)), vec![0, 2]);
        // An exact match counts four times more than a prefix of the own name, which counts
        // eight times more than a prefix of another name.
        let paris = index(&[
            (&["Paris"], &[], 2_100_000),
            (&["Par"], &[], 9_000),
            (&["Napoli"], &["Parthenope"], 960_000),
            (&["Parma"], &[], 146_000),
        ]);
        assert_eq!(places(&paris.search("par", 10)), vec![0, 3, 2, 1]);
        let par = index(&[(&["Paris"], &[], 2_100_000), (&["Par"], &[], 600_000)]);
        assert_eq!(places(&par.search("par", 10)), vec![1, 0]);
        let dorpat = idx.search("dorp", 10);
        assert_eq!(places(&dorpat), vec![0]);
        assert_eq!(dorpat[0].form, "Dorpat");
        assert_eq!(dorpat[0].quality, MatchQuality::PrefixOther);
        assert!(idx.search("", 10).is_empty());
        assert!(idx.search("xyz", 10).is_empty());
        assert_eq!(idx.search("t", 1).len(), 1);
    }

    #[test]
    fn later_words_match_after_whole_names() {
        let idx = index(&[
            (&["Den Haag"], &["The Hague"], 500_000),
            (&["Haaksbergen"], &[], 20_000),
        ]);
        let found = idx.search("haag", 10);
        assert_eq!(places(&found), vec![0]);
        assert_eq!(found[0].quality, MatchQuality::Word);
        assert_eq!(places(&idx.search("haa", 10)), vec![1, 0]);
        assert_eq!(places(&idx.search("hague", 10)), vec![0]);
    }

    #[test]
    fn one_result_per_place_with_its_best_spelling() {
        let idx = index(&[(&["München"], &["Munich", "Munchen", "Muenchen"], 1_400_000)]);
        let found = idx.search("mu", 10);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].form, "München");
        assert_eq!(idx.search("munchen", 10)[0].quality, MatchQuality::Exact);
        assert_eq!(idx.search("muen", 10)[0].form, "Muenchen");
    }

    #[test]
    fn large_ranges_are_answered_from_the_table_like_the_scan() {
        // 600 places starting with "s": the table answers "s" and "sa"; "san" too.
        let names: Vec<String> = (0..600).map(|i| format!("San {i:03}")).collect();
        let idx = NameIndex::new(
            names.iter().map(|n| vec![Name::own(n.clone())]).collect(),
            (0..600).map(|i| (i * 7 % 600) as Weight).collect(),
        );
        assert!(idx.precomputed.contains_key("s"));
        for query in ["s", "sa", "san"] {
            let table = idx.search(query, 20);
            let scanned = idx.rank(idx.range(query), query, 20);
            assert_eq!(
                places(&table),
                scanned.iter().map(|c| c.1).collect::<Vec<_>>()
            );
            assert_eq!(table.len(), 20);
        }
    }
}
