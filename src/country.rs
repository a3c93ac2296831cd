//! The European countries the service knows, with names and rough extents for sanity checks.

use std::fmt;

use serde::{Serialize, Serializer};

/// An ISO 3166-1 alpha-2 code of a country in the table below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(u8);

/// One row: code, English name, group, and extent (min lon, min lat, max lon, max lat) of the
/// main territory with its nearby islands. Extents are coarse on purpose: they only catch
/// swapped or wildly wrong coordinates, not border cases.
struct CountryInfo {
    code: &'static str,
    name: &'static str,
    group: CountryGroup,
    extent: [f64; 4],
}

/// Why a country is in the table; lets the front-end and reports group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountryGroup {
    Eu,
    Efta,
    Candidate,
    OtherEurope,
}

use CountryGroup::*;

const COUNTRIES: &[CountryInfo] = &[
    c("AT", "Austria", Eu, [9.5, 46.3, 17.2, 49.1]),
    c("BE", "Belgium", Eu, [2.5, 49.4, 6.5, 51.6]),
    c("BG", "Bulgaria", Eu, [22.3, 41.2, 28.7, 44.3]),
    c("HR", "Croatia", Eu, [13.4, 42.3, 19.5, 46.6]),
    c("CY", "Cyprus", Eu, [32.2, 34.5, 34.7, 35.8]),
    c("CZ", "Czechia", Eu, [12.0, 48.5, 18.9, 51.1]),
    c("DK", "Denmark", Eu, [8.0, 54.5, 15.3, 57.8]),
    c("EE", "Estonia", Eu, [21.7, 57.5, 28.3, 59.8]),
    c("FI", "Finland", Eu, [19.4, 59.7, 31.6, 70.1]),
    c("FR", "France", Eu, [-5.2, 41.3, 9.6, 51.1]),
    c("DE", "Germany", Eu, [5.8, 47.2, 15.1, 55.1]),
    c("GR", "Greece", Eu, [19.3, 34.8, 29.7, 41.8]),
    c("HU", "Hungary", Eu, [16.1, 45.7, 22.9, 48.6]),
    c("IE", "Ireland", Eu, [-10.7, 51.4, -5.9, 55.4]),
    c("IT", "Italy", Eu, [6.6, 35.4, 18.6, 47.1]),
    c("LV", "Latvia", Eu, [20.9, 55.6, 28.3, 58.1]),
    c("LT", "Lithuania", Eu, [20.9, 53.9, 26.9, 56.5]),
    c("LU", "Luxembourg", Eu, [5.7, 49.4, 6.6, 50.2]),
    c("MT", "Malta", Eu, [14.1, 35.8, 14.6, 36.1]),
    c("NL", "Netherlands", Eu, [3.3, 50.7, 7.3, 53.6]),
    c("PL", "Poland", Eu, [14.1, 49.0, 24.2, 54.9]),
    c("PT", "Portugal", Eu, [-31.3, 32.6, -6.2, 42.2]),
    c("RO", "Romania", Eu, [20.2, 43.6, 29.8, 48.3]),
    c("SK", "Slovakia", Eu, [16.8, 47.7, 22.6, 49.7]),
    c("SI", "Slovenia", Eu, [13.3, 45.4, 16.7, 46.9]),
    c("ES", "Spain", Eu, [-18.2, 27.6, 4.4, 43.8]),
    c("SE", "Sweden", Eu, [10.9, 55.3, 24.2, 69.1]),
    c("IS", "Iceland", Efta, [-24.6, 63.3, -13.4, 66.6]),
    c("LI", "Liechtenstein", Efta, [9.4, 47.0, 9.7, 47.3]),
    c("NO", "Norway", Efta, [4.5, 57.9, 31.2, 71.2]),
    c("CH", "Switzerland", Efta, [5.9, 45.8, 10.5, 47.9]),
    c("AL", "Albania", Candidate, [19.2, 39.6, 21.1, 42.7]),
    c(
        "BA",
        "Bosnia and Herzegovina",
        Candidate,
        [15.7, 42.5, 19.7, 45.3],
    ),
    c("GE", "Georgia", Candidate, [40.0, 41.0, 46.8, 43.6]),
    c("MD", "Moldova", Candidate, [26.6, 45.4, 30.2, 48.5]),
    c("ME", "Montenegro", Candidate, [18.4, 41.8, 20.4, 43.6]),
    c("MK", "North Macedonia", Candidate, [20.4, 40.8, 23.1, 42.4]),
    c("RS", "Serbia", Candidate, [18.8, 42.2, 23.1, 46.2]),
    c("TR", "Türkiye", Candidate, [25.6, 35.8, 44.9, 42.2]),
    c("UA", "Ukraine", Candidate, [22.1, 44.3, 40.3, 52.4]),
    c("XK", "Kosovo", Candidate, [20.0, 41.8, 21.8, 43.3]),
    c("AD", "Andorra", OtherEurope, [1.4, 42.4, 1.8, 42.7]),
    c("AM", "Armenia", OtherEurope, [43.4, 38.8, 46.7, 41.4]),
    c("AZ", "Azerbaijan", OtherEurope, [44.7, 38.3, 50.4, 42.0]),
    c("BY", "Belarus", OtherEurope, [23.1, 51.2, 32.8, 56.2]),
    c("FO", "Faroe Islands", OtherEurope, [-7.7, 61.3, -6.2, 62.5]),
    c("GB", "United Kingdom", OtherEurope, [-8.7, 49.8, 1.8, 60.9]),
    c("GI", "Gibraltar", OtherEurope, [-5.4, 36.1, -5.3, 36.2]),
    c("MC", "Monaco", OtherEurope, [7.4, 43.7, 7.5, 43.8]),
    c("SM", "San Marino", OtherEurope, [12.4, 43.9, 12.5, 44.0]),
    c("VA", "Vatican City", OtherEurope, [12.4, 41.9, 12.5, 41.95]),
];

const fn c(
    code: &'static str,
    name: &'static str,
    group: CountryGroup,
    extent: [f64; 4],
) -> CountryInfo {
    CountryInfo {
        code,
        name,
        group,
        extent,
    }
}

/// How far outside its extent a point may lie before it counts as outside, in degrees.
const EXTENT_MARGIN: f64 = 0.5;

/// Codes people commonly use that are not ISO 3166-1, with the one they mean.
const NOT_ISO: &[(&str, &str)] = &[("EL", "GR"), ("UK", "GB")];

impl Country {
    /// Parses a known code; the error says what was expected.
    pub fn parse(code: &str) -> Result<Self, String> {
        if let Some((_, iso)) = NOT_ISO.iter().find(|(alias, _)| *alias == code) {
            return Err(format!(
                "\"{code}\" is not an ISO 3166-1 code; use \"{iso}\""
            ));
        }
        COUNTRIES
            .iter()
            .position(|info| info.code == code)
            .map(|i| Country(i as u8))
            .ok_or_else(|| {
                format!("unknown country code \"{code}\" (expected an ISO 3166-1 alpha-2 code of a European country, upper case)")
            })
    }

    /// The country's position in the table (stable within one build of the service).
    pub fn index(&self) -> u8 {
        self.0
    }

    pub fn from_index(index: u8) -> Option<Country> {
        (usize::from(index) < COUNTRIES.len()).then_some(Country(index))
    }

    pub fn all() -> impl Iterator<Item = Country> {
        (0..COUNTRIES.len()).map(|i| Country(i as u8))
    }

    pub fn code(&self) -> &'static str {
        self.info().code
    }

    pub fn name(&self) -> &'static str {
        self.info().name
    }

    pub fn group(&self) -> CountryGroup {
        self.info().group
    }

    /// True when `lon`/`lat` fall within the country's coarse extent.
    pub fn roughly_contains(&self, lon: f64, lat: f64) -> bool {
        let [w, s, e, n] = self.info().extent;
        lon >= w - EXTENT_MARGIN
            && lon <= e + EXTENT_MARGIN
            && lat >= s - EXTENT_MARGIN
            && lat <= n + EXTENT_MARGIN
    }

    fn info(&self) -> &'static CountryInfo {
        &COUNTRIES[usize::from(self.0)]
    }
}

/// A set of countries, one bit each (the table has fewer than 64 rows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountrySet(u64);

impl CountrySet {
    pub fn insert(&mut self, country: Country) {
        self.0 |= 1 << country.0;
    }

    pub fn contains(&self, country: Country) -> bool {
        self.0 & (1 << country.0) != 0
    }

    /// The set as bits, one per country's index.
    pub fn bits(&self) -> u64 {
        self.0
    }
}

impl FromIterator<Country> for CountrySet {
    fn from_iter<I: IntoIterator<Item = Country>>(iter: I) -> Self {
        let mut set = CountrySet::default();
        for country in iter {
            set.insert(country);
        }
        set
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greece_is_gr_and_aliases_are_explained() {
        assert_eq!(Country::parse("GR").unwrap().name(), "Greece");
        assert!(Country::parse("EL").unwrap_err().contains("\"GR\""));
        assert!(Country::parse("UK").unwrap_err().contains("\"GB\""));
        assert!(Country::parse("de").is_err());
        assert!(Country::parse("ZZ").is_err());
    }

    #[test]
    fn every_eu_member_is_known_with_a_sane_extent() {
        let eu: Vec<_> = Country::all().filter(|c| c.group() == Eu).collect();
        assert_eq!(eu.len(), 27);
        for info in COUNTRIES {
            let [w, s, e, n] = info.extent;
            assert!(w < e && s < n, "{}", info.code);
        }
    }

    #[test]
    fn country_sets_hold_every_country() {
        assert!(COUNTRIES.len() <= 64);
        let all: CountrySet = Country::all().collect();
        assert!(Country::all().all(|c| all.contains(c)));
        let one: CountrySet = [Country::parse("MT").unwrap()].into_iter().collect();
        assert!(one.contains(Country::parse("MT").unwrap()));
        assert!(!one.contains(Country::parse("CY").unwrap()));
    }

    #[test]
    fn extents_catch_swapped_coordinates() {
        let berlin = (13.40, 52.52);
        let de = Country::parse("DE").unwrap();
        assert!(de.roughly_contains(berlin.0, berlin.1));
        assert!(!de.roughly_contains(berlin.1, berlin.0));
    }
}
