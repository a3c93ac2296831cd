//! The names of the EU's 24 official languages in each interface language, for showing an
//! initiative's languages as words rather than codes.

use super::Locale;

/// The codes, in the order of each row of [`NAMES`].
const CODES: [&str; 24] = [
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
    "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
];

/// One row per interface language, in [`Locale::ALL`]'s order; names as they stand inside a
/// sentence (lower case where the language writes them so).
const NAMES: [[&str; 24]; 6] = [
    [
        "Bulgarian",
        "Czech",
        "Danish",
        "German",
        "Greek",
        "English",
        "Spanish",
        "Estonian",
        "Finnish",
        "French",
        "Irish",
        "Croatian",
        "Hungarian",
        "Italian",
        "Lithuanian",
        "Latvian",
        "Maltese",
        "Dutch",
        "Polish",
        "Portuguese",
        "Romanian",
        "Slovak",
        "Slovenian",
        "Swedish",
    ],
    [
        "bulgare",
        "tchèque",
        "danois",
        "allemand",
        "grec",
        "anglais",
        "espagnol",
        "estonien",
        "finnois",
        "français",
        "irlandais",
        "croate",
        "hongrois",
        "italien",
        "lituanien",
        "letton",
        "maltais",
        "néerlandais",
        "polonais",
        "portugais",
        "roumain",
        "slovaque",
        "slovène",
        "suédois",
    ],
    [
        "Bulgarisch",
        "Tschechisch",
        "Dänisch",
        "Deutsch",
        "Griechisch",
        "Englisch",
        "Spanisch",
        "Estnisch",
        "Finnisch",
        "Französisch",
        "Irisch",
        "Kroatisch",
        "Ungarisch",
        "Italienisch",
        "Litauisch",
        "Lettisch",
        "Maltesisch",
        "Niederländisch",
        "Polnisch",
        "Portugiesisch",
        "Rumänisch",
        "Slowakisch",
        "Slowenisch",
        "Schwedisch",
    ],
    [
        "búlgaro",
        "checo",
        "danés",
        "alemán",
        "griego",
        "inglés",
        "español",
        "estonio",
        "finés",
        "francés",
        "irlandés",
        "croata",
        "húngaro",
        "italiano",
        "lituano",
        "letón",
        "maltés",
        "neerlandés",
        "polaco",
        "portugués",
        "rumano",
        "eslovaco",
        "esloveno",
        "sueco",
    ],
    [
        "bulgaro",
        "ceco",
        "danese",
        "tedesco",
        "greco",
        "inglese",
        "spagnolo",
        "estone",
        "finlandese",
        "francese",
        "irlandese",
        "croato",
        "ungherese",
        "italiano",
        "lituano",
        "lettone",
        "maltese",
        "nederlandese",
        "polacco",
        "portoghese",
        "rumeno",
        "slovacco",
        "sloveno",
        "svedese",
    ],
    [
        "bułgarski",
        "czeski",
        "duński",
        "niemiecki",
        "grecki",
        "angielski",
        "hiszpański",
        "estoński",
        "fiński",
        "francuski",
        "irlandzki",
        "chorwacki",
        "węgierski",
        "włoski",
        "litewski",
        "łotewski",
        "maltański",
        "niderlandzki",
        "polski",
        "portugalski",
        "rumuński",
        "słowacki",
        "słoweński",
        "szwedzki",
    ],
];

/// `code`'s name in `locale`, or `None` for a language outside the 24.
pub fn language_name(locale: Locale, code: &str) -> Option<&'static str> {
    let column = CODES.iter().position(|c| *c == code)?;
    Some(NAMES[locale as usize][column])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_eu_language_has_a_name_in_every_interface_language() {
        assert_eq!(language_name(Locale::De, "fr"), Some("Französisch"));
        assert_eq!(language_name(Locale::Pl, "de"), Some("niemiecki"));
        assert_eq!(language_name(Locale::Fr, "nl"), Some("néerlandais"));
        assert_eq!(language_name(Locale::En, "ja"), None);
        for locale in Locale::ALL {
            // A language names itself with its own autonym's word.
            assert_eq!(
                language_name(locale, locale.code()).map(str::to_lowercase),
                Some(locale.autonym().to_lowercase()),
                "{locale:?}"
            );
        }
        let mut codes = CODES.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 24);
    }
}
