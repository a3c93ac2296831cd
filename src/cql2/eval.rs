//! Evaluating a planned filter on one record, in CQL2's three-valued logic: a comparison
//! with an absent value (`NULL`) is unknown, `NOT` unknown is unknown, and a record matches
//! only when the whole filter is true.

use std::borrow::Cow;
use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization;

use super::ast::{ArrayOp, Comparison, TemporalOp};
use super::fields::Field;
use super::plan::{Bound, Literal, Predicate, Span, Term, day_bound};
use crate::records::{Attributes, Records};
use crate::regions::code::NutsCode;

/// One record as a filter sees it.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub records: &'a Records,
    pub at: usize,
    pub nuts: NutsCode,
}

/// A value during evaluation.
#[derive(Clone, Debug, PartialEq)]
enum Val<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
    /// Dates and timestamps alike, as nanoseconds: a date is its first instant.
    Time(i128),
    List(Vec<Cow<'a, str>>),
}

/// Lower case, for CASEI.
pub fn casei(text: &str) -> String {
    text.to_lowercase()
}

/// Without accents (decomposed, combining marks dropped), for ACCENTI.
pub fn accenti(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .nfc()
        .collect()
}

impl Predicate {
    /// True when the record passes.
    pub fn matches(&self, row: Row<'_>) -> bool {
        self.eval(row) == Some(true)
    }

    fn eval(&self, row: Row<'_>) -> Option<bool> {
        match self {
            Predicate::All(parts) => {
                let mut result = Some(true);
                for part in parts {
                    match part.eval(row) {
                        Some(false) => return Some(false),
                        None => result = None,
                        Some(true) => {}
                    }
                }
                result
            }
            Predicate::Any(parts) => {
                let mut result = Some(false);
                for part in parts {
                    match part.eval(row) {
                        Some(true) => return Some(true),
                        None => result = None,
                        Some(false) => {}
                    }
                }
                result
            }
            Predicate::Not(inner) => inner.eval(row).map(|b| !b),
            Predicate::Const(b) => Some(*b),
            Predicate::OneOf(field, bits) => {
                Some(term_bits(*field, row.records.attributes(row.at)) & bits != 0)
            }
            Predicate::Terms(field, op, bits) => {
                let have = term_bits(*field, row.records.attributes(row.at)) as u32;
                Some(match op {
                    ArrayOp::Equals => have == *bits,
                    ArrayOp::Contains => have & bits == *bits,
                    ArrayOp::ContainedBy => have & !bits == 0,
                    ArrayOp::Overlaps => have & bits != 0,
                })
            }
            Predicate::Compare(op, left, right) => {
                let order = compare(&value(left, row), &value(right, row))?;
                Some(match op {
                    Comparison::Eq => order == Ordering::Equal,
                    Comparison::Ne => order != Ordering::Equal,
                    Comparison::Lt => order == Ordering::Less,
                    Comparison::Le => order != Ordering::Greater,
                    Comparison::Gt => order == Ordering::Greater,
                    Comparison::Ge => order != Ordering::Less,
                })
            }
            Predicate::Like(value_term, pattern) => match value(value_term, row) {
                Val::Text(text) => Some(pattern.matches(&text)),
                _ => None,
            },
            Predicate::Between(v, low, high) => {
                let v = value(v, row);
                let above = compare(&v, &value(low, row))? != Ordering::Less;
                let below = compare(&v, &value(high, row))? != Ordering::Greater;
                Some(above && below)
            }
            Predicate::In(v, list) => {
                let v = value(v, row);
                let mut result = Some(false);
                for item in list {
                    match compare(&v, &value(item, row)) {
                        Some(Ordering::Equal) => return Some(true),
                        None => result = None,
                        Some(_) => {}
                    }
                }
                result
            }
            Predicate::IsNull(term) => Some(value(term, row) == Val::Null),
            Predicate::Spatial(op, shape) => {
                let l = row.records.location(row.at);
                Some(shape.relates(geo::Point::new(l.lon, l.lat), *op))
            }
            Predicate::Temporal(op, left, right) => {
                Some(relate(*op, interval(left, row)?, interval(right, row)?))
            }
            Predicate::Array(op, left, right) => {
                let (Val::List(a), Val::List(b)) = (value(left, row), value(right, row)) else {
                    return None;
                };
                let has = |list: &[Cow<str>], x: &Cow<str>| list.contains(x);
                Some(match op {
                    ArrayOp::Equals => a.iter().all(|x| has(&b, x)) && b.iter().all(|x| has(&a, x)),
                    ArrayOp::Contains => b.iter().all(|x| has(&a, x)),
                    ArrayOp::ContainedBy => a.iter().all(|x| has(&b, x)),
                    ArrayOp::Overlaps => a.iter().any(|x| has(&b, x)),
                })
            }
        }
    }
}

/// The terms a record has of a vocabulary property, one bit per term's index (a
/// single-valued property has one): what `OneOf` and `Terms` test, and what the term bitmaps
/// of the read model index. Other properties have none.
pub fn term_bits(field: Field, a: &Attributes) -> u64 {
    match field {
        Field::Country => 1 << a.country.index(),
        Field::Kind => 1 << a.kind.index(),
        Field::Status => 1 << a.status.index(),
        Field::LocationPrecision => 1 << a.location_precision.index(),
        Field::SkillAreas => u64::from(a.skill_areas.bits()),
        Field::TargetGroups => u64::from(a.target_groups.bits()),
        _ => 0,
    }
}

fn value<'a>(term: &'a Term, row: Row<'a>) -> Val<'a> {
    match term {
        Term::Field(field) => field_value(*field, row),
        Term::Literal(literal) => match literal {
            Literal::Text(t) => Val::Text(Cow::Borrowed(t)),
            Literal::Number(n) => Val::Number(*n),
            Literal::Bool(b) => Val::Bool(*b),
            Literal::Date(d) => Val::Time(day_bound(*d, false)),
            Literal::Timestamp(t) => Val::Time(t.as_nanosecond()),
            Literal::List(items) => {
                Val::List(items.iter().map(|s| Cow::Borrowed(s.as_str())).collect())
            }
        },
        Term::Casei(inner) => fold(value(inner, row), casei),
        Term::Accenti(inner) => fold(value(inner, row), accenti),
    }
}

fn fold<'a>(v: Val<'a>, f: fn(&str) -> String) -> Val<'a> {
    match v {
        Val::Text(t) => Val::Text(Cow::Owned(f(&t))),
        Val::List(items) => Val::List(items.iter().map(|t| Cow::Owned(f(t))).collect()),
        other => other,
    }
}

fn field_value(field: Field, row: Row<'_>) -> Val<'_> {
    let records = row.records;
    let a = records.attributes(row.at);
    let text = |s: &'static str| Val::Text(Cow::Borrowed(s));
    let optional_date =
        |d: Option<jiff::civil::Date>| d.map_or(Val::Null, |d| Val::Time(day_bound(d, false)));
    let nuts = |level: usize| {
        row.nuts
            .at_level(level)
            .map_or(Val::Null, |code| Val::Text(Cow::Owned(code.to_owned())))
    };
    match field {
        Field::Country => text(a.country.code()),
        Field::Kind => text(a.kind.slug()),
        Field::Status => text(a.status.slug()),
        Field::LocationPrecision => text(a.location_precision.slug()),
        Field::SkillAreas => Val::List(
            a.skill_areas
                .iter()
                .map(|t| Cow::Borrowed(t.slug()))
                .collect(),
        ),
        Field::TargetGroups => Val::List(
            a.target_groups
                .iter()
                .map(|t| Cow::Borrowed(t.slug()))
                .collect(),
        ),
        Field::UpdatedAt => Val::Time(a.updated_at.as_nanosecond()),
        Field::Nuts1 => nuts(1),
        Field::Nuts2 => nuts(2),
        Field::Nuts3 => nuts(3),
        Field::Geometry => Val::Null,
        _ => {
            let r = records.get(row.at);
            match field {
                Field::Id => Val::Text(Cow::Borrowed(r.id)),
                Field::Name => Val::Text(Cow::Borrowed(r.name)),
                Field::Description => Val::Text(Cow::Borrowed(r.description)),
                Field::Organisation => Val::Text(Cow::Borrowed(r.organisation)),
                Field::Url => Val::Text(Cow::Borrowed(r.url)),
                Field::City => Val::Text(Cow::Borrowed(r.city)),
                Field::Source => Val::Text(Cow::Borrowed(r.source)),
                Field::EvidenceUrl => r
                    .evidence_url
                    .map_or(Val::Null, |u| Val::Text(Cow::Borrowed(u))),
                Field::Languages => Val::List(
                    r.languages
                        .iter()
                        .map(|l| Cow::Borrowed(l.as_str()))
                        .collect(),
                ),
                Field::Start => optional_date(r.start),
                Field::End => optional_date(r.end),
                Field::VerifiedAt => optional_date(r.verified_at),
                _ => Val::Null,
            }
        }
    }
}

/// The order of two values of one type; `None` when either is absent (unknown).
fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Text(x), Val::Text(y)) => Some(x.cmp(y)),
        (Val::Number(x), Val::Number(y)) => x.partial_cmp(y),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Some(x.cmp(y)),
        (Val::List(x), Val::List(y)) => {
            let same = x.iter().all(|i| y.contains(i)) && y.iter().all(|i| x.contains(i));
            Some(if same {
                Ordering::Equal
            } else {
                Ordering::Less
            })
        }
        _ => None,
    }
}

/// A span's bounds as nanoseconds (open ends at the extremes), or `None` when an instant
/// property is absent. An absent property bounding an INTERVAL leaves that end open.
fn interval(span: &Span, row: Row<'_>) -> Option<(i128, i128)> {
    let instant = matches!((span.start, span.end), (Bound::Field(a), Bound::Field(b)) if a == b);
    let bound = |b: Bound, end: bool| -> Option<i128> {
        let open = if end { i128::MAX } else { i128::MIN };
        match b {
            Bound::Open => Some(open),
            Bound::At(t) => Some(t),
            Bound::Field(f) => {
                let r = row.records.get(row.at);
                let date = match f {
                    Field::UpdatedAt => return Some(r.updated_at.as_nanosecond()),
                    Field::Start => r.start,
                    Field::End => r.end,
                    _ => r.verified_at,
                };
                match date {
                    Some(d) => Some(day_bound(d, end)),
                    None if instant => None,
                    None => Some(open),
                }
            }
        }
    };
    Some((bound(span.start, false)?, bound(span.end, true)?))
}

/// Allen's relations as CQL2 defines them, on closed intervals `a` and `b`.
pub fn relate(op: TemporalOp, (a1, a2): (i128, i128), (b1, b2): (i128, i128)) -> bool {
    match op {
        TemporalOp::After => a1 > b2,
        TemporalOp::Before => a2 < b1,
        TemporalOp::Contains => a1 < b1 && a2 > b2,
        TemporalOp::Disjoint => a2 < b1 || a1 > b2,
        TemporalOp::During => a1 > b1 && a2 < b2,
        TemporalOp::Equals => a1 == b1 && a2 == b2,
        TemporalOp::FinishedBy => a1 < b1 && a2 == b2,
        TemporalOp::Finishes => a1 > b1 && a2 == b2,
        TemporalOp::Intersects => a1 <= b2 && a2 >= b1,
        TemporalOp::Meets => a2 == b1,
        TemporalOp::MetBy => a1 == b2,
        TemporalOp::OverlappedBy => a1 > b1 && a1 < b2 && a2 > b2,
        TemporalOp::Overlaps => a1 < b1 && a2 > b1 && a2 < b2,
        TemporalOp::StartedBy => a1 == b1 && a2 > b2,
        TemporalOp::Starts => a1 == b1 && a2 < b2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_for_casei_and_accenti() {
        assert_eq!(casei("KRAKÓW"), "kraków");
        assert_eq!(accenti("Kraków Łódź Zürich"), "Krakow Łodz Zurich");
    }

    #[test]
    fn allen_relations_of_an_instant() {
        let i = |t: i128| (t, t);
        assert!(relate(TemporalOp::During, i(5), (0, 10)));
        assert!(!relate(TemporalOp::During, i(0), (0, 10)));
        assert!(relate(TemporalOp::Intersects, i(0), (0, 10)));
        assert!(
            relate(TemporalOp::Before, i(-1), (0, 10)) && relate(TemporalOp::After, i(11), (0, 10))
        );
        assert!(relate(TemporalOp::Equals, i(3), i(3)));
    }
}
