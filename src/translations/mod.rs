//! The interface's texts in each of its languages: the front-end's message catalogues
//! (`web/i18n/*.json`, the one source of translations) compiled in, plural rules, numbers, and
//! the labels of vocabulary terms, and the names of languages and countries, for the server's own
//! pages and the API's labels.

mod country_names;
mod language_names;

use std::collections::HashMap;

use serde_json::Value;

use crate::model::Vocabulary;
pub use country_names::{country_name, sort_key};
pub use language_names::language_name;

/// A language the interface is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    Fr,
    De,
    Es,
    It,
    Pl,
}

impl Locale {
    /// Every interface language; English, first, is the default and fills any gap.
    pub const ALL: [Locale; 6] = [
        Locale::En,
        Locale::Fr,
        Locale::De,
        Locale::Es,
        Locale::It,
        Locale::Pl,
    ];

    /// The ISO 639-1 code, as in `lang` attributes and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::De => "de",
            Locale::Es => "es",
            Locale::It => "it",
            Locale::Pl => "pl",
        }
    }

    /// The language's name in itself, for a language switch.
    pub fn autonym(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
            Locale::De => "Deutsch",
            Locale::Es => "Español",
            Locale::It => "Italiano",
            Locale::Pl => "Polski",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The CLDR plural category of a whole number.
    fn plural(self, n: u64) -> &'static str {
        let millions = n != 0 && n.is_multiple_of(1_000_000);
        match self {
            Locale::En | Locale::De => {
                if n == 1 {
                    "one"
                } else {
                    "other"
                }
            }
            Locale::Fr if n <= 1 => "one",
            Locale::Es | Locale::It if n == 1 => "one",
            Locale::Fr | Locale::Es | Locale::It if millions => "many",
            Locale::Fr | Locale::Es | Locale::It => "other",
            Locale::Pl => match (n % 10, n % 100) {
                _ if n == 1 => "one",
                (2..=4, tens) if !(12..=14).contains(&tens) => "few",
                _ => "many",
            },
        }
    }

    /// A whole number with the language's digit grouping.
    pub fn number(self, n: usize) -> String {
        let (separator, from) = match self {
            Locale::En => (",", 1_000),
            // A narrow no-break space, as French and Polish typography group digits.
            Locale::Fr => ("\u{202f}", 1_000),
            Locale::Pl => ("\u{a0}", 10_000),
            Locale::De | Locale::It => (".", 1_000),
            Locale::Es => (".", 10_000),
        };
        let digits = n.to_string();
        if n < from {
            return digits;
        }
        let mut out = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(digit);
        }
        out
    }
}

/// The message catalogues, one per [`Locale`], parsed once at start-up.
pub struct Translations {
    catalogues: HashMap<Locale, HashMap<String, Value>>,
}

/// The catalogues as the front-end serves them, compiled into the binary so that the server
/// and the page can never disagree about which texts exist.
const CATALOGUES: [(Locale, &str); 6] = [
    (Locale::En, include_str!("../../web/i18n/en.json")),
    (Locale::Fr, include_str!("../../web/i18n/fr.json")),
    (Locale::De, include_str!("../../web/i18n/de.json")),
    (Locale::Es, include_str!("../../web/i18n/es.json")),
    (Locale::It, include_str!("../../web/i18n/it.json")),
    (Locale::Pl, include_str!("../../web/i18n/pl.json")),
];

impl Translations {
    /// Parses the compiled-in catalogues; one that is not a JSON object counts as empty (the
    /// English texts, then the keys, stand in), and the tests make sure none is.
    pub fn load() -> Translations {
        let catalogues = CATALOGUES
            .iter()
            .map(|(locale, text)| {
                let messages = serde_json::from_str::<HashMap<String, Value>>(text)
                    .unwrap_or_else(|e| {
                        tracing::error!(language = locale.code(), error = %e, "unreadable message catalogue");
                        HashMap::new()
                    });
                (*locale, messages)
            })
            .collect();
        Translations { catalogues }
    }

    fn message(&self, locale: Locale, key: &str) -> Option<&Value> {
        self.catalogues
            .get(&locale)
            .and_then(|c| c.get(key))
            .or_else(|| self.catalogues.get(&Locale::En)?.get(key))
    }

    /// The text of `key`, English when `locale` lacks it, the key itself when both do.
    pub fn text<'a>(&'a self, locale: Locale, key: &'a str) -> &'a str {
        match self.message(locale, key) {
            Some(Value::String(text)) => text,
            _ => key,
        }
    }

    /// The text of `key` with each `{name}` replaced by its value.
    pub fn fill(&self, locale: Locale, key: &str, values: &[(&str, &str)]) -> String {
        fill(self.text(locale, key), values)
    }

    /// The plural message `key` for `count`, `{count}` and the other values filled in.
    pub fn count(
        &self,
        locale: Locale,
        key: &str,
        count: usize,
        values: &[(&str, &str)],
    ) -> String {
        let form = locale.plural(count as u64);
        let template = match self.message(locale, key) {
            Some(Value::Object(forms)) => forms
                .get(form)
                .or_else(|| forms.get("other"))
                .and_then(Value::as_str)
                .unwrap_or(key),
            Some(Value::String(text)) => text,
            _ => key,
        };
        let number = locale.number(count);
        let mut all = vec![("count", number.as_str())];
        all.extend_from_slice(values);
        fill(template, &all)
    }

    /// A vocabulary term's label: the catalogue's (`kinds.hub`…), else the model's English one.
    pub fn term<T: Vocabulary>(&self, locale: Locale, term: T) -> &str {
        let prefix = match T::NAME {
            "SkillArea" => "skill_areas",
            "TargetGroup" => "target_groups",
            "Kind" => "kinds",
            "Status" => "statuses",
            _ => return term.label(),
        };
        match self.message(locale, &format!("{prefix}.{}", term.slug())) {
            Some(Value::String(text)) => text,
            _ => term.label(),
        }
    }

    /// The keys of a locale's catalogue (for the completeness tests).
    pub fn keys(&self, locale: Locale) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .catalogues
            .get(&locale)
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, SkillArea, Status, TargetGroup};

    #[test]
    fn every_catalogue_parses_and_has_every_english_key() {
        let translations = Translations::load();
        let english = translations.keys(Locale::En);
        assert!(english.len() > 100);
        for locale in Locale::ALL {
            assert_eq!(translations.keys(locale), english, "{locale:?}");
        }
    }

    #[test]
    fn every_term_has_a_label_in_every_language() {
        let translations = Translations::load();
        for locale in Locale::ALL {
            for kind in Kind::ALL {
                assert!(!translations.term(locale, *kind).is_empty());
            }
            for area in SkillArea::ALL {
                assert_ne!(translations.term(locale, *area), area.slug());
            }
            for group in TargetGroup::ALL {
                assert_ne!(translations.term(locale, *group), group.slug());
            }
        }
        assert_eq!(translations.term(Locale::De, Status::Closed), "Beendet");
        assert_eq!(
            translations.term(Locale::Fr, Kind::Hub),
            translations.text(Locale::Fr, "kinds.hub")
        );
    }

    #[test]
    fn plurals_and_numbers_follow_each_language() {
        let translations = Translations::load();
        let count = |locale, n| translations.count(locale, "pages.list.count", n, &[]);
        assert_eq!(count(Locale::En, 1), "1 initiative matches");
        assert_eq!(count(Locale::En, 1234), "1,234 initiatives match");
        assert_eq!(count(Locale::Pl, 3), "Pasują 3 inicjatywy");
        assert_eq!(count(Locale::Pl, 12), "Pasuje 12 inicjatyw");
        assert_eq!(count(Locale::Pl, 22), "Pasują 22 inicjatywy");
        assert_eq!(count(Locale::Fr, 0), "0 initiative correspond");
        assert_eq!(count(Locale::De, 1011), "1.011 Initiativen passen");
        assert_eq!(Locale::Es.number(1011), "1011");
        assert_eq!(Locale::Es.number(12345), "12.345");
        assert_eq!(Locale::Fr.number(1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(
            translations.fill(
                Locale::En,
                "pages.list.range",
                &[("from", "1"), ("to", "50")]
            ),
            "Showing 1 to 50"
        );
        assert_eq!(translations.text(Locale::It, "no.such.key"), "no.such.key");
    }
}
