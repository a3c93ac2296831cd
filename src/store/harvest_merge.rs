//! What a harvest does to a record, decided once for both back-ends: a record a curator has
//! edited is merged three ways, per field, from the stored record, the feed's last state
//! (the base) and the feed's new state; and a run's staged changes become its one audit entry.

use serde_json::{Map, Value, json};

use super::{Origin, StoreError, Upserted, same_content};
use crate::feature::canonical_json as feature_text;
use crate::model::Initiative;

/// An initiative's row as a harvest sees it.
pub(super) struct HarvestRow {
    pub feature: String,
    pub deleted: bool,
    pub source: Option<String>,
    pub source_id: Option<String>,
    /// What the feed last gave for this record (`None` for rows harvested before bases were kept).
    pub base: Option<String>,
    /// The last run that listed the record.
    pub run: Option<i64>,
}

/// The columns of [`HarvestRow`], in its order, for both back-ends' queries.
pub(super) const HARVEST_ROW: &str =
    "feature, deleted_at IS NOT NULL, source, source_id, harvest_base, harvest_run";

/// What to do with one record of a feed.
pub(super) enum Plan {
    /// Store it as it came (new, or back from its tombstone).
    Add,
    /// Store the merged record; `diff` is the staged audit detail.
    Update {
        record: Box<Initiative>,
        diff: String,
    },
    /// Store nothing but the run's mark, and the new base if the feed changed (only fields
    /// a curator had changed first: `diff` names those whose curated value is kept).
    Keep {
        base_changed: bool,
        diff: Option<String>,
    },
    /// The feed lists the same record twice in one run.
    Repeated,
}

/// What a plan writes, besides the run's mark on the row.
pub(super) struct Writes<'a> {
    /// The record to store, if it changes.
    pub record: Option<&'a Initiative>,
    /// The change (`added`, `updated`, `curated`) and its fields, staged for the run's audit.
    pub staged: Option<(&'static str, Option<&'a str>)>,
    /// The feed's new base, if it moved.
    pub base: Option<String>,
}

impl Plan {
    pub fn writes<'a>(&'a self, new: &'a Initiative) -> Writes<'a> {
        let base = || Some(feature_text(new));
        match self {
            Plan::Repeated => Writes {
                record: None,
                staged: None,
                base: None,
            },
            Plan::Add => Writes {
                record: Some(new),
                staged: Some(("added", None)),
                base: base(),
            },
            Plan::Update { record, diff } => Writes {
                record: Some(record),
                staged: Some(("updated", Some(diff))),
                base: base(),
            },
            Plan::Keep { base_changed, diff } => Writes {
                record: None,
                staged: diff.as_deref().map(|diff| ("curated", Some(diff))),
                base: if *base_changed { base() } else { None },
            },
        }
    }

    pub fn outcome(&self) -> Upserted {
        match self {
            Plan::Add => Upserted::Added,
            Plan::Update { .. } => Upserted::Updated,
            Plan::Keep { .. } => Upserted::Unchanged,
            Plan::Repeated => Upserted::Repeated,
        }
    }
}

/// Decides what run `run` does with `new` from `origin`, given the row holding its id. A
/// record whose id belongs to another source's (or a curator's own) initiative is refused.
pub(super) fn plan(
    existing: Option<&HarvestRow>,
    new: &Initiative,
    origin: Origin<'_>,
    run: i64,
) -> Result<Plan, StoreError> {
    let Some(row) = existing else {
        return Ok(Plan::Add);
    };
    if row.source.as_deref() != Some(origin.source)
        || row.source_id.as_deref() != Some(origin.source_id)
    {
        return Err(StoreError::AlreadyExists(new.id.to_string()));
    }
    if row.run == Some(run) {
        return Ok(Plan::Repeated);
    }
    if row.deleted {
        return Ok(Plan::Add);
    }
    // The common case, an unchanged record, without the merge's three parses.
    if same_content(&row.feature, new) {
        return Ok(Plan::Keep {
            base_changed: row
                .base
                .as_deref()
                .is_none_or(|base| !same_content(base, new)),
            diff: None,
        });
    }
    // A row harvested before bases were kept: the feed's last state is taken to be the
    // stored one, so the feed wins as it used to.
    let base = row.base.as_deref().unwrap_or(&row.feature);
    let merged = merge(&new.id, &row.feature, base, new)?;
    if let Some(record) = merged.record {
        return Ok(Plan::Update {
            record: Box::new(record),
            diff: json!({ "updated": merged.updated, "curated": merged.curated }).to_string(),
        });
    }
    let base_changed = !same_content(base, new) || row.base.is_none();
    Ok(Plan::Keep {
        base_changed,
        diff: (base_changed && !merged.curated.is_empty())
            .then(|| json!({ "curated": merged.curated }).to_string()),
    })
}

/// The three-way merge of one record.
struct Merged {
    /// The record to store, when it differs from the stored one (apart from `updated_at`).
    record: Option<Initiative>,
    /// Each field the merge changes, with its value before and after.
    updated: Map<String, Value>,
    /// Fields the feed changed whose curated value is kept.
    curated: Vec<String>,
}

/// Per field (the geometry and each property but `updated_at`): where the stored value
/// differs from the base, a curator changed it and it stays; elsewhere the feed's new value
/// is taken.
fn merge(
    id: &str,
    stored_text: &str,
    base_text: &str,
    new: &Initiative,
) -> Result<Merged, StoreError> {
    let corrupt =
        |what: &str| StoreError::Corrupt(id.to_string(), format!("{what} is not a feature"));
    let stored = fields(stored_text).ok_or_else(|| corrupt("the stored record"))?;
    let base = fields(base_text).ok_or_else(|| corrupt("the feed's last record"))?;
    let incoming = fields(&feature_text(new)).ok_or_else(|| corrupt("the feed's record"))?;
    let mut names: Vec<&String> = stored
        .keys()
        .chain(base.keys())
        .chain(incoming.keys())
        .collect();
    names.sort();
    names.dedup();
    let (mut merged, mut updated, mut curated) = (Map::new(), Map::new(), Vec::new());
    for name in names {
        let (was, last, now) = (stored.get(name), base.get(name), incoming.get(name));
        let value = if was != last {
            if now != last && now != was {
                curated.push(name.clone());
            }
            was
        } else {
            now
        };
        if value != was {
            updated.insert(
                name.clone(),
                json!({ "before": was.unwrap_or(&Value::Null), "after": value.unwrap_or(&Value::Null) }),
            );
        }
        if let Some(value) = value {
            merged.insert(name.clone(), value.clone());
        }
    }
    if updated.is_empty() {
        return Ok(Merged {
            record: None,
            updated,
            curated,
        });
    }
    let geometry = merged.remove("geometry").unwrap_or(Value::Null);
    merged.insert(
        "updated_at".into(),
        Value::String(new.updated_at.to_string()),
    );
    let feature =
        json!({ "type": "Feature", "id": id, "geometry": geometry, "properties": merged });
    let record = crate::dataset::parse_feature(&feature.to_string())
        .map(|(record, _)| record)
        .map_err(StoreError::Invalid)?;
    Ok(Merged {
        record: Some(record),
        updated,
        curated,
    })
}

/// A stored feature's fields: `geometry` and its properties but `updated_at`.
fn fields(text: &str) -> Option<Map<String, Value>> {
    let Value::Object(mut feature) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let mut fields = match feature.remove("properties") {
        Some(Value::Object(properties)) => properties,
        _ => Map::new(),
    };
    fields.remove("updated_at");
    fields.insert(
        "geometry".into(),
        feature.remove("geometry").unwrap_or(Value::Null),
    );
    Some(fields)
}

/// A harvest run's one audit entry, from its staged changes `(id, change, diff)` in order:
/// a summary line, and `{added, updated, curated, retired}` (the updated and curated records
/// with their fields). `None` if the run changed nothing.
pub(super) fn run_entry(staged: Vec<(String, String, Option<String>)>) -> Option<(String, String)> {
    if staged.is_empty() {
        return None;
    }
    let (mut added, mut retired) = (Vec::new(), Vec::new());
    let (mut updated, mut curated) = (Map::new(), Map::new());
    for (id, change, diff) in staged {
        let diff: Value = diff
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(Value::Null);
        let kept = diff
            .get("curated")
            .filter(|c| c.as_array().is_some_and(|c| !c.is_empty()));
        if let Some(kept) = kept {
            curated.insert(id.clone(), kept.clone());
        }
        match change.as_str() {
            "added" => added.push(id),
            "retired" => retired.push(id),
            "updated" => {
                updated.insert(id, diff.get("updated").cloned().unwrap_or(Value::Null));
            }
            _ => {}
        }
    }
    let detail = format!(
        "{} added, {} updated, {} kept curated fields, {} retired",
        added.len(),
        updated.len(),
        curated.len(),
        retired.len()
    );
    let after =
        json!({ "added": added, "updated": updated, "curated": curated, "retired": retired });
    Some((detail, after.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(city: &str, name: &str) -> Initiative {
        let text = json!({
            "type": "Feature", "id": "f-1",
            "geometry": {"type": "Point", "coordinates": [4.35, 50.85]},
            "properties": {
                "name": name, "description": "A course.", "organisation": "Org",
                "url": "https://example.org/", "country": "BE", "city": city,
                "skill_areas": ["cybersecurity"], "target_groups": ["smes"], "kind": "training",
                "languages": ["fr"], "updated_at": "2026-01-01T00:00:00Z", "source": "feed"
            }
        });
        crate::dataset::parse_feature(&text.to_string()).unwrap().0
    }

    #[test]
    fn a_curated_field_stays_while_the_feed_updates_the_others() {
        let base = feature_text(&record("Brussels", "Course"));
        let stored = feature_text(&record("Brussels", "Course (curated)"));
        let new = record("Leuven", "Course v2");
        let merged = merge("f-1", &stored, &base, &new).unwrap();
        let result = merged.record.unwrap();
        assert_eq!(&*result.name, "Course (curated)");
        assert_eq!(&*result.city, "Leuven");
        assert_eq!(merged.curated, ["name"]);
        assert_eq!(merged.updated.keys().collect::<Vec<_>>(), ["city"]);
        // Nothing new from the feed: nothing to store.
        let again = merge("f-1", &feature_text(&result), &feature_text(&new), &new).unwrap();
        assert!(again.record.is_none());
    }
}
