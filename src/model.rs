//! The initiative record and the controlled vocabularies it uses, each defined once with labels.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Serialize, Serializer};

use crate::country::Country;

/// Declares a controlled vocabulary: an enum whose variants carry a stable slug (used in data
/// and URLs) and a human label (used by the front-end and in reports).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($slug:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn slug(self) -> &'static str {
                match self { $($name::$variant => $slug),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn from_slug(slug: &str) -> Option<Self> {
                match slug { $($slug => Some($name::$variant),)+ _ => None }
            }

            /// Position of the term in `ALL`, used as its bit in a [`TermSet`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl Vocabulary for $name {
            const NAME: &'static str = stringify!($name);
            fn all() -> &'static [Self] { Self::ALL }
            fn slug(self) -> &'static str { $name::slug(self) }
            fn label(self) -> &'static str { $name::label(self) }
            fn from_slug(slug: &str) -> Option<Self> { $name::from_slug(slug) }
            fn index(self) -> usize { $name::index(self) }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.slug())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.slug())
            }
        }
    };
}

/// What every controlled vocabulary offers, so filters and validation handle them alike.
pub trait Vocabulary: Copy + Eq + 'static {
    const NAME: &'static str;
    fn all() -> &'static [Self];
    fn slug(self) -> &'static str;
    fn label(self) -> &'static str;
    fn from_slug(slug: &str) -> Option<Self>;
    fn index(self) -> usize;

    /// The accepted slugs, comma-separated, for error messages.
    fn expected() -> String {
        Self::all()
            .iter()
            .map(|t| t.slug())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

vocabulary! {
    /// The digital skill an initiative builds.
    SkillArea {
        BasicDigitalSkills => ("basic_digital_skills", "Basic digital skills"),
        DigitalBusiness => ("digital_business", "Digital for business / e-leadership"),
        DataAi => ("data_ai", "Data & AI"),
        Iot => ("iot", "Internet of Things"),
        Cybersecurity => ("cybersecurity", "Cybersecurity"),
        Cloud => ("cloud", "Cloud"),
        SoftwareDevelopment => ("software_development", "Software development"),
        AdvancedManufacturing => ("advanced_manufacturing", "Advanced manufacturing"),
    }
}

vocabulary! {
    /// Who an initiative is for.
    TargetGroup {
        Smes => ("smes", "SMEs"),
        Employees => ("employees", "Employees"),
        IctProfessionals => ("ict_professionals", "ICT professionals"),
        JobSeekers => ("job_seekers", "Job seekers"),
        YoungPeople => ("young_people", "Young people"),
        Educators => ("educators", "Educators"),
        WomenInTech => ("women_in_tech", "Women in tech"),
        GeneralPublic => ("general_public", "General public"),
        PublicSector => ("public_sector", "Public sector"),
    }
}

vocabulary! {
    /// What sort of initiative it is.
    Kind {
        Training => ("training", "Training"),
        Hub => ("hub", "Digital innovation hub"),
        Coalition => ("coalition", "Coalition"),
        CompetenceCentre => ("competence_centre", "Competence centre"),
        Funding => ("funding", "Funding"),
        Awareness => ("awareness", "Awareness"),
        Network => ("network", "Network"),
    }
}

vocabulary! {
    /// Whether an initiative still runs. Closed ones are kept for history and left off the
    /// map, the lists and the coverage figures unless asked for.
    Status {
        Active => ("active", "Active"),
        Closed => ("closed", "Closed"),
    }
}

vocabulary! {
    /// What the coordinates of an initiative stand for.
    LocationPrecision {
        Address => ("address", "Its address"),
        City => ("city", "Its city's centre"),
    }
}

impl Default for Status {
    /// Records that say nothing (older files, partners' feeds) are taken as running.
    fn default() -> Self {
        Status::Active
    }
}

impl Default for LocationPrecision {
    /// Records that say nothing are taken as placed on their city, the coarser claim.
    fn default() -> Self {
        LocationPrecision::City
    }
}

/// A set of terms of one vocabulary, stored as bits so filters are a single AND.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TermSet<T> {
    bits: u32,
    _term: std::marker::PhantomData<T>,
}

impl<T: Vocabulary> TermSet<T> {
    pub const EMPTY: Self = TermSet {
        bits: 0,
        _term: std::marker::PhantomData,
    };

    /// The set of one term.
    pub fn of(term: T) -> Self {
        let mut set = Self::EMPTY;
        set.insert(term);
        set
    }

    pub fn insert(&mut self, term: T) {
        self.bits |= 1 << term.index();
    }

    pub fn contains(self, term: T) -> bool {
        self.bits & (1 << term.index()) != 0
    }

    pub fn intersects(self, other: Self) -> bool {
        self.bits & other.bits != 0
    }

    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// True if every term of `self` is in `other`.
    pub fn is_subset(self, other: Self) -> bool {
        self.bits & !other.bits == 0
    }

    /// The set as bits, one per term in vocabulary order.
    pub fn bits(self) -> u32 {
        self.bits
    }

    /// The set of the given bits; bits beyond the vocabulary are dropped.
    pub fn from_bits(bits: u32) -> Self {
        let known = if T::all().len() >= 32 {
            u32::MAX
        } else {
            (1u32 << T::all().len()) - 1
        };
        TermSet {
            bits: bits & known,
            _term: std::marker::PhantomData,
        }
    }

    pub fn iter(self) -> impl Iterator<Item = T> {
        T::all().iter().copied().filter(move |t| self.contains(*t))
    }
}

impl<T: Vocabulary> FromIterator<T> for TermSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for term in iter {
            set.insert(term);
        }
        set
    }
}

impl<T: Vocabulary> fmt::Debug for TermSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|t| t.slug()))
            .finish()
    }
}

impl<T: Vocabulary> Serialize for TermSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|t| t.slug()))
    }
}

/// An ISO 639-1 language code, two lowercase letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Language([u8; 2]);

impl Language {
    pub fn parse(code: &str) -> Option<Self> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_lowercase() && b.is_ascii_lowercase() => Some(Language([*a, *b])),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII lowercase letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A WGS84 position in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Location {
    pub lon: f64,
    pub lat: f64,
}

/// One digital-skills initiative as the service knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Initiative {
    pub id: Box<str>,
    pub name: Box<str>,
    pub description: Box<str>,
    pub organisation: Box<str>,
    pub url: Box<str>,
    pub country: Country,
    pub city: Box<str>,
    pub location: Location,
    pub skill_areas: TermSet<SkillArea>,
    pub target_groups: TermSet<TargetGroup>,
    pub kind: Kind,
    pub languages: Box<[Language]>,
    pub start: Option<Date>,
    pub end: Option<Date>,
    pub updated_at: Timestamp,
    pub source: Box<str>,
    /// The page that states the initiative's name, place and activity.
    pub evidence_url: Option<Box<str>>,
    /// The day someone last checked the record against its evidence.
    pub verified_at: Option<Date>,
    pub status: Status,
    pub location_precision: LocationPrecision,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_for_every_term() {
        for area in SkillArea::ALL {
            assert_eq!(SkillArea::from_slug(area.slug()), Some(*area));
        }
        for group in TargetGroup::ALL {
            assert_eq!(TargetGroup::from_slug(group.slug()), Some(*group));
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::from_slug(kind.slug()), Some(*kind));
        }
        assert_eq!(Kind::from_slug("Hub"), None);
        assert_eq!(Status::from_slug("closed"), Some(Status::Closed));
        assert_eq!(
            LocationPrecision::from_slug("address"),
            Some(LocationPrecision::Address)
        );
        assert_eq!(Status::default(), Status::Active);
        assert_eq!(LocationPrecision::default(), LocationPrecision::City);
    }

    #[test]
    fn term_sets_intersect_and_iterate_in_vocabulary_order() {
        let a: TermSet<SkillArea> = [SkillArea::Cloud, SkillArea::DataAi].into_iter().collect();
        let b: TermSet<SkillArea> = [SkillArea::Cloud].into_iter().collect();
        let c: TermSet<SkillArea> = [SkillArea::Iot].into_iter().collect();
        assert!(a.intersects(b));
        assert!(!a.intersects(c));
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![SkillArea::DataAi, SkillArea::Cloud]
        );
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"["data_ai","cloud"]"#);
    }

    #[test]
    fn languages_are_two_lowercase_letters() {
        assert_eq!(Language::parse("de").unwrap().as_str(), "de");
        assert!(Language::parse("DE").is_none());
        assert!(Language::parse("deu").is_none());
        assert!(Language::parse("é").is_none());
    }
}
