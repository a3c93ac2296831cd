//! The names of the countries the service knows (`crate::country`) in each interface language,
//! for pages and labels written by the server (the browser has `Intl.DisplayNames` for its own).

use super::Locale;
use crate::country::Country;

/// One row per country code, its names in [`Locale::ALL`]'s order (en, fr, de, es, it, pl): the
/// short names each language uses in running text (as the EU's style guides give them).
const NAMES: &[(&str, [&str; 6])] = &[
    (
        "AT",
        [
            "Austria",
            "Autriche",
            "Österreich",
            "Austria",
            "Austria",
            "Austria",
        ],
    ),
    (
        "BE",
        [
            "Belgium", "Belgique", "Belgien", "Bélgica", "Belgio", "Belgia",
        ],
    ),
    (
        "BG",
        [
            "Bulgaria",
            "Bulgarie",
            "Bulgarien",
            "Bulgaria",
            "Bulgaria",
            "Bułgaria",
        ],
    ),
    (
        "HR",
        [
            "Croatia",
            "Croatie",
            "Kroatien",
            "Croacia",
            "Croazia",
            "Chorwacja",
        ],
    ),
    (
        "CY",
        ["Cyprus", "Chypre", "Zypern", "Chipre", "Cipro", "Cypr"],
    ),
    (
        "CZ",
        [
            "Czechia",
            "Tchéquie",
            "Tschechien",
            "Chequia",
            "Cechia",
            "Czechy",
        ],
    ),
    (
        "DK",
        [
            "Denmark",
            "Danemark",
            "Dänemark",
            "Dinamarca",
            "Danimarca",
            "Dania",
        ],
    ),
    (
        "EE",
        [
            "Estonia", "Estonie", "Estland", "Estonia", "Estonia", "Estonia",
        ],
    ),
    (
        "FI",
        [
            "Finland",
            "Finlande",
            "Finnland",
            "Finlandia",
            "Finlandia",
            "Finlandia",
        ],
    ),
    (
        "FR",
        [
            "France",
            "France",
            "Frankreich",
            "Francia",
            "Francia",
            "Francja",
        ],
    ),
    (
        "DE",
        [
            "Germany",
            "Allemagne",
            "Deutschland",
            "Alemania",
            "Germania",
            "Niemcy",
        ],
    ),
    (
        "GR",
        [
            "Greece",
            "Grèce",
            "Griechenland",
            "Grecia",
            "Grecia",
            "Grecja",
        ],
    ),
    (
        "HU",
        [
            "Hungary", "Hongrie", "Ungarn", "Hungría", "Ungheria", "Węgry",
        ],
    ),
    (
        "IE",
        [
            "Ireland", "Irlande", "Irland", "Irlanda", "Irlanda", "Irlandia",
        ],
    ),
    (
        "IT",
        ["Italy", "Italie", "Italien", "Italia", "Italia", "Włochy"],
    ),
    (
        "LV",
        [
            "Latvia", "Lettonie", "Lettland", "Letonia", "Lettonia", "Łotwa",
        ],
    ),
    (
        "LT",
        [
            "Lithuania",
            "Lituanie",
            "Litauen",
            "Lituania",
            "Lituania",
            "Litwa",
        ],
    ),
    (
        "LU",
        [
            "Luxembourg",
            "Luxembourg",
            "Luxemburg",
            "Luxemburgo",
            "Lussemburgo",
            "Luksemburg",
        ],
    ),
    ("MT", ["Malta", "Malte", "Malta", "Malta", "Malta", "Malta"]),
    (
        "NL",
        [
            "Netherlands",
            "Pays-Bas",
            "Niederlande",
            "Países Bajos",
            "Paesi Bassi",
            "Niderlandy",
        ],
    ),
    (
        "PL",
        ["Poland", "Pologne", "Polen", "Polonia", "Polonia", "Polska"],
    ),
    (
        "PT",
        [
            "Portugal",
            "Portugal",
            "Portugal",
            "Portugal",
            "Portogallo",
            "Portugalia",
        ],
    ),
    (
        "RO",
        [
            "Romania",
            "Roumanie",
            "Rumänien",
            "Rumanía",
            "Romania",
            "Rumunia",
        ],
    ),
    (
        "SK",
        [
            "Slovakia",
            "Slovaquie",
            "Slowakei",
            "Eslovaquia",
            "Slovacchia",
            "Słowacja",
        ],
    ),
    (
        "SI",
        [
            "Slovenia",
            "Slovénie",
            "Slowenien",
            "Eslovenia",
            "Slovenia",
            "Słowenia",
        ],
    ),
    (
        "ES",
        [
            "Spain",
            "Espagne",
            "Spanien",
            "España",
            "Spagna",
            "Hiszpania",
        ],
    ),
    (
        "SE",
        ["Sweden", "Suède", "Schweden", "Suecia", "Svezia", "Szwecja"],
    ),
    (
        "IS",
        [
            "Iceland", "Islande", "Island", "Islandia", "Islanda", "Islandia",
        ],
    ),
    (
        "LI",
        [
            "Liechtenstein",
            "Liechtenstein",
            "Liechtenstein",
            "Liechtenstein",
            "Liechtenstein",
            "Liechtenstein",
        ],
    ),
    (
        "NO",
        [
            "Norway", "Norvège", "Norwegen", "Noruega", "Norvegia", "Norwegia",
        ],
    ),
    (
        "CH",
        [
            "Switzerland",
            "Suisse",
            "Schweiz",
            "Suiza",
            "Svizzera",
            "Szwajcaria",
        ],
    ),
    (
        "AL",
        [
            "Albania", "Albanie", "Albanien", "Albania", "Albania", "Albania",
        ],
    ),
    (
        "BA",
        [
            "Bosnia and Herzegovina",
            "Bosnie-Herzégovine",
            "Bosnien und Herzegowina",
            "Bosnia y Herzegovina",
            "Bosnia ed Erzegovina",
            "Bośnia i Hercegowina",
        ],
    ),
    (
        "GE",
        [
            "Georgia", "Géorgie", "Georgien", "Georgia", "Georgia", "Gruzja",
        ],
    ),
    (
        "MD",
        [
            "Moldova",
            "Moldavie",
            "Moldau",
            "Moldavia",
            "Moldavia",
            "Mołdawia",
        ],
    ),
    (
        "ME",
        [
            "Montenegro",
            "Monténégro",
            "Montenegro",
            "Montenegro",
            "Montenegro",
            "Czarnogóra",
        ],
    ),
    (
        "MK",
        [
            "North Macedonia",
            "Macédoine du Nord",
            "Nordmazedonien",
            "Macedonia del Norte",
            "Macedonia del Nord",
            "Macedonia Północna",
        ],
    ),
    (
        "RS",
        ["Serbia", "Serbie", "Serbien", "Serbia", "Serbia", "Serbia"],
    ),
    (
        "TR",
        [
            "Türkiye", "Turquie", "Türkei", "Turquía", "Turchia", "Turcja",
        ],
    ),
    (
        "UA",
        [
            "Ukraine", "Ukraine", "Ukraine", "Ucrania", "Ucraina", "Ukraina",
        ],
    ),
    (
        "XK",
        ["Kosovo", "Kosovo", "Kosovo", "Kosovo", "Kosovo", "Kosowo"],
    ),
    (
        "AD",
        [
            "Andorra", "Andorre", "Andorra", "Andorra", "Andorra", "Andora",
        ],
    ),
    (
        "AM",
        [
            "Armenia", "Arménie", "Armenien", "Armenia", "Armenia", "Armenia",
        ],
    ),
    (
        "AZ",
        [
            "Azerbaijan",
            "Azerbaïdjan",
            "Aserbaidschan",
            "Azerbaiyán",
            "Azerbaigian",
            "Azerbejdżan",
        ],
    ),
    (
        "BY",
        [
            "Belarus",
            "Biélorussie",
            "Belarus",
            "Bielorrusia",
            "Bielorussia",
            "Białoruś",
        ],
    ),
    (
        "FO",
        [
            "Faroe Islands",
            "Îles Féroé",
            "Färöer",
            "Islas Feroe",
            "Isole Fær Øer",
            "Wyspy Owcze",
        ],
    ),
    (
        "GB",
        [
            "United Kingdom",
            "Royaume-Uni",
            "Vereinigtes Königreich",
            "Reino Unido",
            "Regno Unito",
            "Zjednoczone Królestwo",
        ],
    ),
    (
        "GI",
        [
            "Gibraltar",
            "Gibraltar",
            "Gibraltar",
            "Gibraltar",
            "Gibilterra",
            "Gibraltar",
        ],
    ),
    (
        "MC",
        ["Monaco", "Monaco", "Monaco", "Mónaco", "Monaco", "Monako"],
    ),
    (
        "SM",
        [
            "San Marino",
            "Saint-Marin",
            "San Marino",
            "San Marino",
            "San Marino",
            "San Marino",
        ],
    ),
    (
        "VA",
        [
            "Vatican City",
            "Vatican",
            "Vatikanstadt",
            "Ciudad del Vaticano",
            "Città del Vaticano",
            "Watykan",
        ],
    ),
];

/// `country`'s name in `locale`; the English name of the country table should a row be missing
/// (the tests make sure none is).
pub fn country_name(locale: Locale, country: Country) -> &'static str {
    let column = Locale::ALL.iter().position(|l| *l == locale).unwrap_or(0);
    NAMES
        .iter()
        .find(|(code, _)| *code == country.code())
        .map_or(country.name(), |(_, names)| names[column])
}

/// A key that sorts names as a reader of these languages expects: letters with diacritics
/// beside their base letter ("Österreich" among the O, "Łotwa" among the L).
pub fn sort_key(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ą' | 'å' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ł' => 'l',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' => 'o',
            'ś' | 'š' => 's',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ź' | 'ż' | 'ž' => 'z',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_has_a_name_in_every_interface_language() {
        for country in Country::all() {
            let row = NAMES.iter().find(|(code, _)| *code == country.code());
            let (_, names) = row.unwrap_or_else(|| panic!("{} has no names", country.code()));
            assert_eq!(names[0], country.name(), "English is the table's name");
            for (locale, name) in Locale::ALL.iter().zip(names) {
                assert!(!name.trim().is_empty(), "{} in {locale:?}", country.code());
            }
        }
        assert_eq!(
            NAMES.len(),
            Country::all().count(),
            "no row for an unknown code"
        );
        let de = Country::parse("DE").unwrap();
        assert_eq!(country_name(Locale::De, de), "Deutschland");
        assert_eq!(country_name(Locale::Pl, de), "Niemcy");
        assert_eq!(country_name(Locale::Fr, de), "Allemagne");
        assert_eq!(
            country_name(Locale::Es, Country::parse("NL").unwrap()),
            "Países Bajos"
        );
    }

    #[test]
    fn names_sort_with_their_base_letters() {
        let mut names = vec!["Polen", "Österreich", "Niederlande", "Ungarn"];
        names.sort_by_key(|n| sort_key(n));
        assert_eq!(names, ["Niederlande", "Österreich", "Polen", "Ungarn"]);
        assert!(sort_key("Łotwa") < sort_key("Malta"));
    }
}
