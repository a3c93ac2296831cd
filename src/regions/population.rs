//! Inhabitants per region: the built-in tables (`data/population.csv` for countries,
//! `data/population-nuts.csv` for NUTS regions) and an optional operator file with figures for
//! any region code.

use std::collections::HashMap;
use std::path::Path;

/// Population on 1 January 2024 of the EU and EFTA countries (see `data/README.md`).
const COUNTRY_TABLE: &str = include_str!("../../data/population.csv");

/// Population on 1 January of the NUTS regions whose figure was found (see `data/README.md`).
const NUTS_TABLE: &str = include_str!("../../data/population-nuts.csv");

/// What the per-capita figures are computed from.
#[derive(Clone, Debug, Default)]
pub struct Population {
    /// ISO country codes and NUTS codes to inhabitants; a file's figures override the table's.
    by_code: HashMap<Box<str>, u64>,
}

impl Population {
    /// The built-in tables.
    pub fn builtin() -> Population {
        let mut population = Population::default();
        for table in [COUNTRY_TABLE, NUTS_TABLE] {
            population
                .add_csv(table)
                .unwrap_or_else(|e| unreachable!("the built-in tables are valid: {e}"));
        }
        population
    }

    /// The built-in table plus a `code,population` CSV file.
    pub fn with_file(path: &Path) -> Result<Population, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let mut population = Population::builtin();
        population.add_csv(&text)?;
        Ok(population)
    }

    /// Reads `code,population` rows (a header row is optional, further columns are notes);
    /// the error names the line.
    fn add_csv(&mut self, text: &str) -> Result<(), String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (at, record) in reader.records().enumerate() {
            let line = at + 1;
            let record = record.map_err(|e| format!("line {line}: {e}"))?;
            let (Some(code), Some(count)) = (record.get(0), record.get(1)) else {
                return Err(format!(
                    "line {line}: expected two columns, code,population"
                ));
            };
            if line == 1 && code.eq_ignore_ascii_case("code") {
                continue;
            }
            let count: u64 = count.replace('_', "").parse().map_err(|_| {
                format!("line {line}: \"{count}\" is not a whole number of inhabitants")
            })?;
            if code.is_empty() || count == 0 {
                return Err(format!(
                    "line {line}: a code and a positive number are needed"
                ));
            }
            self.by_code.insert(code.to_ascii_uppercase().into(), count);
        }
        Ok(())
    }

    /// Inhabitants of a region: its own figure, else its country's when it is its country's
    /// only region at its level (Cyprus's one NUTS 2 region is Cyprus).
    pub fn of_region(&self, code: &str, country: &str, alone_in_country: bool) -> Option<u64> {
        self.of(code)
            .or_else(|| alone_in_country.then(|| self.of(country)).flatten())
    }

    /// Inhabitants of the region with `code`, trying its ISO form too (`EL` → `GR`).
    pub fn of(&self, code: &str) -> Option<u64> {
        self.by_code
            .get(code)
            .or_else(|| self.by_code.get(super::iso_country(code)))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_the_eu_and_efta() {
        let population = Population::builtin();
        let eu_efta: Vec<_> = crate::country::Country::all()
            .filter(|c| {
                matches!(
                    c.group(),
                    crate::country::CountryGroup::Eu | crate::country::CountryGroup::Efta
                )
            })
            .collect();
        assert_eq!(eu_efta.len(), 31);
        for country in eu_efta {
            assert!(population.of(country.code()).is_some(), "{country}");
        }
        assert_eq!(population.of("EL"), population.of("GR"));
        let total: u64 = ["DE", "FR", "IT"]
            .iter()
            .filter_map(|c| population.of(c))
            .sum();
        assert!(total > 200_000_000 && total < 220_000_000);
    }

    #[test]
    fn the_nuts_table_holds_regions_and_single_region_countries_take_the_country() {
        let population = Population::builtin();
        assert_eq!(population.of("FR10"), Some(12_329_432));
        assert_eq!(population.of("DE21"), Some(4_729_243));
        // Every figure of a region is below its country's.
        for line in NUTS_TABLE.lines().skip(1) {
            let code = line.split(',').next().unwrap();
            let region = population.of(code).unwrap();
            let country = population
                .of(super::super::iso_country(&code[..2]))
                .unwrap();
            assert!(region < country, "{code}");
        }
        assert_eq!(
            population.of_region("CY00", "CY", true),
            population.of("CY")
        );
        assert_eq!(population.of_region("DE11", "DE", false), Some(4_150_949));
        assert_eq!(population.of_region("DE12", "DE", false), None);
    }

    #[test]
    fn files_add_regions_and_explain_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        std::fs::write(&good, "code,population\nDE21, 4_719_716\nmt,1\n").unwrap();
        let population = Population::with_file(&good).unwrap();
        assert_eq!(population.of("DE21"), Some(4_719_716));
        assert_eq!(population.of("MT"), Some(1));
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "DE21,many\n").unwrap();
        let e = Population::with_file(&bad).unwrap_err();
        assert!(e.contains("line 1") && e.contains("many"), "{e}");
        assert!(Population::with_file(&dir.path().join("missing.csv")).is_err());
    }
}
