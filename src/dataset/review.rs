//! The evidence review `skillsmap check` adds to validation: warnings about records that are
//! valid but doubtful as data — stale checks, descriptions shared between records, and
//! address-precise points that several records claim.

use std::collections::HashMap;

use jiff::ToSpan;
use jiff::civil::Date;

use super::Problem;
use crate::filter::fold;
use crate::model::{Initiative, LocationPrecision};

/// How many `address`-precision records may share one point before it looks like a city
/// centre labelled as an address (two bodies in one building is common; more is not).
pub const MAX_ADDRESS_SHARE: usize = 2;

/// Warnings about `initiatives` (in file order, `lines` the first line of each feature) as of
/// `today`.
pub fn review(initiatives: &[Initiative], lines: &[usize], today: Date) -> Vec<Problem> {
    let warn = |index: usize, field: &str, message: String| Problem {
        feature: Some(index),
        id: Some(initiatives[index].id.to_string()),
        line: lines.get(index).copied(),
        column: None,
        field: Some(field.into()),
        message,
    };
    let mut warnings = Vec::new();
    let a_year_ago = today.saturating_sub(1.year());
    for (index, initiative) in initiatives.iter().enumerate() {
        let Some(verified) = initiative.verified_at else {
            continue;
        };
        if verified < a_year_ago {
            warnings.push(warn(
                index,
                "properties.verified_at",
                format!("{verified} is more than a year before today ({today}): check it again"),
            ));
        } else if verified > today {
            warnings.push(warn(
                index,
                "properties.verified_at",
                format!("{verified} is after today ({today})"),
            ));
        }
    }
    for group in shared_descriptions(initiatives) {
        let first = group[0];
        for &index in &group[1..] {
            warnings.push(warn(
                index,
                "properties.description",
                format!(
                    "the same description as feature {first} (id \"{}\"){}; write one for this record",
                    initiatives[first].id,
                    others(group.len() - 2)
                ),
            ));
        }
    }
    for group in stacked_addresses(initiatives) {
        let ids: Vec<&str> = group.iter().map(|i| &*initiatives[*i].id).collect();
        for &index in &group {
            let location = initiatives[index].location;
            warnings.push(warn(
                index,
                "properties.location_precision",
                format!(
                    "\"address\", but {} records share the point [{}, {}] ({}): is it a city centre?",
                    group.len(),
                    location.lon,
                    location.lat,
                    ids.join(", ")
                ),
            ));
        }
    }
    warnings.sort_by_key(|p| p.feature);
    warnings
}

fn others(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => " and 1 other".into(),
        n => format!(" and {n} others"),
    }
}

/// Groups (in file order, two or more each) of records with the same description, compared
/// without case, accents, spacing, and each record's own city name, so that a template with
/// only the city swapped counts as the same text.
fn shared_descriptions(initiatives: &[Initiative]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, initiative) in initiatives.iter().enumerate() {
        let text = fold(&initiative.description);
        let city = fold(&initiative.city);
        let text = if city.trim().is_empty() {
            text
        } else {
            text.replace(city.trim(), "\u{0}")
        };
        let key = text.split_whitespace().collect::<Vec<_>>().join(" ");
        groups.entry(key).or_default().push(index);
    }
    sorted_groups(groups, 2)
}

/// Groups of more than [`MAX_ADDRESS_SHARE`] `address`-precision records on exactly one point.
fn stacked_addresses(initiatives: &[Initiative]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (index, initiative) in initiatives.iter().enumerate() {
        if initiative.location_precision == LocationPrecision::Address {
            let key = (
                initiative.location.lon.to_bits(),
                initiative.location.lat.to_bits(),
            );
            groups.entry(key).or_default().push(index);
        }
    }
    sorted_groups(groups, MAX_ADDRESS_SHARE + 1)
}

/// The groups of at least `min` members, in the order of their first member.
fn sorted_groups<K>(groups: HashMap<K, Vec<usize>>, min: usize) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= min).collect();
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::tests::initiative;
    use crate::model::Location;

    fn today() -> Date {
        "2026-11-30".parse().unwrap()
    }

    fn fields(warnings: &[Problem]) -> Vec<(usize, &str)> {
        warnings
            .iter()
            .map(|w| (w.feature.unwrap(), w.field.as_deref().unwrap()))
            .collect()
    }

    fn distinct(n: usize) -> Vec<Initiative> {
        (0..n)
            .map(|i| {
                let mut it = initiative(&format!("de-{i}"), 13.0 + i as f64 / 10.0, 52.5);
                it.description = format!("Record number {i} does its own thing.").into();
                it.verified_at = Some(today());
                it
            })
            .collect()
    }

    #[test]
    fn a_clean_set_has_no_warnings() {
        assert!(review(&distinct(5), &[1, 2, 3, 4, 5], today()).is_empty());
    }

    #[test]
    fn checks_older_than_a_year_or_in_the_future_are_flagged() {
        let mut records = distinct(4);
        records[0].verified_at = Some("2025-11-29".parse().unwrap());
        records[1].verified_at = Some("2025-11-30".parse().unwrap());
        records[2].verified_at = Some("2026-12-01".parse().unwrap());
        records[3].verified_at = None;
        let warnings = review(&records, &[2, 3, 4, 5], today());
        assert_eq!(
            fields(&warnings),
            [(0, "properties.verified_at"), (2, "properties.verified_at")]
        );
        assert!(warnings[0].message.contains("more than a year"));
        assert_eq!(warnings[0].line, Some(2));
        assert_eq!(warnings[0].id.as_deref(), Some("de-0"));
        assert!(warnings[1].message.contains("after today"));
    }

    #[test]
    fn shared_descriptions_are_flagged_even_with_the_city_swapped() {
        let mut records = distinct(5);
        records[0].city = "Kraków".into();
        records[0].description = "A coding school in Kraków for adults.".into();
        records[2].city = "Lyon".into();
        records[2].description = "A  coding school in LYON for adults.".into();
        records[4].description = records[1].description.clone();
        let warnings = review(&records, &[], today());
        assert_eq!(
            fields(&warnings),
            [(2, "properties.description"), (4, "properties.description")]
        );
        assert!(warnings[0].message.contains("feature 0 (id \"de-0\")"));
        assert!(warnings[1].message.contains("feature 1 (id \"de-1\")"));
    }

    #[test]
    fn many_address_records_on_one_point_are_flagged() {
        let mut records = distinct(6);
        let point = Location {
            lon: 4.3517,
            lat: 50.8503,
        };
        for record in &mut records[..4] {
            record.location = point;
            record.location_precision = LocationPrecision::Address;
        }
        // City-precision records may share a point: they say they are only in that city.
        records[4].location = point;
        let warnings = review(&records, &[], today());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(
            warnings
                .iter()
                .all(|w| w.field.as_deref() == Some("properties.location_precision"))
        );
        assert!(warnings[0].message.contains("4 records share the point"));
        // Two in one building is ordinary.
        records[2].location_precision = LocationPrecision::City;
        records[3].location_precision = LocationPrecision::City;
        assert!(review(&records, &[], today()).is_empty());
    }
}
