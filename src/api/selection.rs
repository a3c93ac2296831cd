//! `sortby`, `properties` and `skipGeometry` on items and exports: the order of a listing
//! and which members each feature carries (OGC API – Features Part 8 sorting and Part 6
//! property selection, drafts).

use std::cmp::Ordering;

use serde_json::Value;

use crate::api::params::QueryParams;
use crate::api::problem::ApiError;
use crate::feature::Feature;
use crate::index::Slot;
use crate::records::InitiativeRef;
use crate::snapshot::Snapshot;

/// The parameters this module reads.
pub const SELECTION_PARAMS: &[&str] = &["sortby", "properties", "skipGeometry"];

/// The properties a listing can be sorted by.
pub const SORTABLE: &[&str] = &[
    "id",
    "name",
    "organisation",
    "city",
    "country",
    "kind",
    "status",
    "location_precision",
    "source",
    "start",
    "end",
    "updated_at",
    "verified_at",
];

/// The members of a feature's `properties` that `properties=` may name.
pub const PROPERTIES: &[&str] = &[
    "name",
    "description",
    "organisation",
    "url",
    "country",
    "city",
    "skill_areas",
    "target_groups",
    "kind",
    "languages",
    "start",
    "end",
    "updated_at",
    "source",
    "evidence_url",
    "verified_at",
    "status",
    "location_precision",
    "nuts1",
    "nuts2",
    "nuts3",
];

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub property: &'static str,
    pub descending: bool,
}

/// What a listing asks of its order and members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    pub sort: Vec<SortKey>,
    /// The properties kept (`None`: all of them).
    pub properties: Option<Vec<&'static str>>,
    pub skip_geometry: bool,
}

impl Selection {
    pub fn from_params(params: &QueryParams) -> Result<Selection, ApiError> {
        let mut sort = Vec::new();
        for item in params.get("sortby")?.into_iter().flat_map(|v| v.split(',')) {
            let item = item.trim();
            let (descending, name) = match item.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, item.strip_prefix('+').unwrap_or(item)),
            };
            let property = SORTABLE.iter().find(|p| **p == name).ok_or_else(|| {
                ApiError::invalid(
                    "sortby",
                    format!("cannot sort by \"{name}\" (expected one of {}, each optionally prefixed by - for descending)", SORTABLE.join(", ")),
                )
            })?;
            if sort.iter().any(|k: &SortKey| k.property == *property) {
                return Err(ApiError::invalid(
                    "sortby",
                    format!("\"{name}\" given twice"),
                ));
            }
            sort.push(SortKey {
                property,
                descending,
            });
        }
        let properties = params
            .get("properties")?
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|name| {
                        PROPERTIES
                            .iter()
                            .copied()
                            .find(|p| *p == name)
                            .ok_or_else(|| {
                                ApiError::invalid(
                                    "properties",
                                    format!(
                                        "unknown property \"{name}\" (expected some of {})",
                                        PROPERTIES.join(", ")
                                    ),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let skip_geometry = match params.get("skipGeometry")? {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::invalid(
                    "skipGeometry",
                    format!("\"{other}\" is not true or false"),
                ));
            }
        };
        Ok(Selection {
            sort,
            properties,
            skip_geometry,
        })
    }

    /// Puts `slots` (in id order) in the order asked for; ties keep id order, so pages
    /// are stable.
    pub fn sort(&self, snapshot: &Snapshot, slots: &mut [Slot]) {
        if self.sort.is_empty() {
            return;
        }
        slots.sort_by(|a, b| {
            let (a, b) = (snapshot.get(*a), snapshot.get(*b));
            self.sort
                .iter()
                .map(|key| {
                    let order = compare(&a, &b, key.property);
                    if key.descending {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }

    /// True when every feature is written whole.
    pub fn is_whole(&self) -> bool {
        self.properties.is_none() && !self.skip_geometry
    }

    /// True when the member `name` of a feature (a property, `geometry`, or a CSV column:
    /// `lon` and `lat` stand for the geometry) is written. The one rule of selection, for
    /// GeoJSON and CSV alike: the id always, the geometry unless skipped, `distance_m` (the
    /// answer of a distance query, not a property) always, and the properties selected.
    pub fn keeps(&self, name: &str) -> bool {
        match name {
            "id" | "distance_m" => true,
            "geometry" | "lon" | "lat" => !self.skip_geometry,
            _ => self
                .properties
                .as_ref()
                .is_none_or(|keep| keep.contains(&name)),
        }
    }

    /// A feature with only the selected members (`geometry` null when skipped).
    pub fn shape(&self, feature: &Feature<'_>) -> Value {
        let mut value = serde_json::to_value(feature).unwrap_or(Value::Null);
        if !self.keeps("geometry") {
            value["geometry"] = Value::Null;
        }
        if let Some(properties) = value["properties"].as_object_mut() {
            properties.retain(|name, _| self.keeps(name));
        }
        value
    }
}

/// The order of two records by one property; an absent date sorts after every date.
fn compare(a: &InitiativeRef<'_>, b: &InitiativeRef<'_>, property: &str) -> Ordering {
    let dates = |x: Option<jiff::civil::Date>, y: Option<jiff::civil::Date>| match (x, y) {
        (Some(x), Some(y)) => x.cmp(&y),
        (x, y) => y.is_some().cmp(&x.is_some()),
    };
    match property {
        "name" => a.name.cmp(b.name),
        "organisation" => a.organisation.cmp(b.organisation),
        "city" => a.city.cmp(b.city),
        "country" => a.country.code().cmp(b.country.code()),
        "kind" => a.kind.slug().cmp(b.kind.slug()),
        "status" => a.status.slug().cmp(b.status.slug()),
        "location_precision" => a.location_precision.slug().cmp(b.location_precision.slug()),
        "source" => a.source.cmp(b.source),
        "start" => dates(a.start, b.start),
        "end" => dates(a.end, b.end),
        "verified_at" => dates(a.verified_at, b.verified_at),
        "updated_at" => a.updated_at.cmp(&b.updated_at),
        _ => a.id.cmp(b.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(q: &str) -> Result<Selection, ApiError> {
        Selection::from_params(&QueryParams::parse(Some(q)))
    }

    #[test]
    fn parameters_parse_and_refuse_unknown_names() {
        let s =
            selection("sortby=-updated_at,%2Bname&properties=name,url&skipGeometry=true").unwrap();
        assert_eq!(
            s.sort,
            vec![
                SortKey {
                    property: "updated_at",
                    descending: true
                },
                SortKey {
                    property: "name",
                    descending: false
                },
            ]
        );
        assert_eq!(s.properties, Some(vec!["name", "url"]));
        assert!(s.skip_geometry && !s.is_whole());
        for bad in [
            "sortby=colour",
            "sortby=name,-name",
            "properties=secret",
            "skipGeometry=yes",
            "sortby=skill_areas",
        ] {
            assert!(selection(bad).is_err(), "{bad}");
        }
        assert!(selection("").unwrap().is_whole());
    }

    #[test]
    fn sorting_orders_by_each_key_then_by_id() {
        use crate::index::tests::initiative;
        let mut items = Vec::new();
        for (id, name, day) in [
            ("a", "Zeta", 3),
            ("b", "Alpha", 1),
            ("c", "Alpha", 3),
            ("d", "Mu", 2),
        ] {
            let mut it = initiative(id, 1.0, 1.0);
            it.name = name.into();
            it.updated_at = jiff::Timestamp::from_second(day * 86_400).unwrap();
            items.push(it);
        }
        let snapshot = Snapshot::of(items);
        let order = |q: &str| {
            let mut slots = snapshot.all();
            selection(q).unwrap().sort(&snapshot, &mut slots);
            slots
                .iter()
                .map(|s| snapshot.id(*s).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(order("sortby=-updated_at,name"), ["c", "a", "d", "b"]);
        assert_eq!(order("sortby=name"), ["b", "c", "d", "a"]);
        assert_eq!(order("sortby=-name"), ["a", "d", "b", "c"]);
    }
}
