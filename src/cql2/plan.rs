//! Checking a parsed expression against the queryables and planning it: property names
//! resolved to fields, literals typed, terms of the vocabularies turned into bit sets (the
//! same tests as the simple filters), geometries prepared, and the box a spatial predicate
//! confines matches to, for the R-tree.

use jiff::Timestamp;
use jiff::civil::Date;

use super::CqlError;
use super::ast::{ArrayOp, At, Comparison, Expr, Operand, SpatialOp, TemporalOp, Value};
use super::fields::{Field, Type};
use super::geometry::{Shape, converse};
use super::like::Pattern;
use crate::country::Country;
use crate::geodesy::LonLatBox;
use crate::model::{Kind, LocationPrecision, SkillArea, Status, TargetGroup, Vocabulary};

/// A planned filter, evaluated per record by [`super::eval`].
#[derive(Clone, Debug)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    Const(bool),
    /// A single-valued vocabulary property (country, kind, status, precision) is one of
    /// the terms of `bits`.
    OneOf(Field, u64),
    /// A skill-area or target-group list relates to the terms of `bits` as `op` says.
    Terms(Field, ArrayOp, u32),
    Compare(Comparison, Term, Term),
    Like(Term, Pattern),
    Between(Term, Term, Term),
    In(Term, Vec<Term>),
    IsNull(Term),
    /// The initiative's point relates to the shape as the operator says.
    Spatial(SpatialOp, Box<Shape>),
    Temporal(TemporalOp, Span, Span),
    Array(ArrayOp, Term, Term),
}

/// A scalar or array operand: a property, a literal, or a folding of one.
#[derive(Clone, Debug)]
pub enum Term {
    Field(Field),
    Literal(Literal),
    Casei(Box<Term>),
    Accenti(Box<Term>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(Date),
    Timestamp(Timestamp),
    List(Vec<String>),
}

/// A time interval operand: each bound fixed (nanoseconds since the epoch), open, or a
/// property's value (an instant property is an interval whose bounds are equal).
#[derive(Clone, Debug)]
pub struct Span {
    pub start: Bound,
    pub end: Bound,
}

#[derive(Clone, Copy, Debug)]
pub enum Bound {
    Open,
    At(i128),
    Field(Field),
}

impl Predicate {
    /// The box every match lies in, when a spatial predicate that all matches pass says so.
    pub fn bound(&self) -> Option<LonLatBox> {
        match self {
            Predicate::Spatial(op, shape) => shape.bound(*op),
            Predicate::All(parts) => parts
                .iter()
                .filter_map(Predicate::bound)
                .min_by(|a, b| area(a).total_cmp(&area(b))),
            _ => None,
        }
    }
}

impl Predicate {
    /// True when the term bitmaps answer the predicate alone: vocabulary terms, constants,
    /// and AND, OR and NOT of them. Such a predicate is never unknown (every record has its
    /// vocabulary terms), so its NOT is the complement of its matches.
    pub fn is_indexed(&self) -> bool {
        match self {
            Predicate::OneOf(..) | Predicate::Terms(..) | Predicate::Const(_) => true,
            Predicate::All(parts) | Predicate::Any(parts) => parts.iter().all(Self::is_indexed),
            Predicate::Not(inner) => inner.is_indexed(),
            _ => false,
        }
    }

    /// The predicate as conjuncts, nested ANDs flattened: a record matches when every one is
    /// true.
    fn conjuncts(self) -> Vec<Predicate> {
        match self {
            Predicate::All(parts) => parts.into_iter().flat_map(Self::conjuncts).collect(),
            other => vec![other],
        }
    }

    /// The conjuncts the term bitmaps answer, and the rest (`None` when nothing is left),
    /// which is evaluated per record on the candidates only. Exact in three-valued logic: the
    /// whole is true exactly when every conjunct is.
    pub fn split(self) -> (Vec<Predicate>, Option<Predicate>) {
        let (indexed, rest): (Vec<_>, Vec<_>) =
            self.conjuncts().into_iter().partition(Self::is_indexed);
        let residual = match rest.len() {
            0 => None,
            1 => rest.into_iter().next(),
            _ => Some(Predicate::All(rest)),
        };
        (indexed, residual)
    }
}

impl Predicate {
    /// True when the filter names `field` anywhere.
    pub fn mentions(&self, field: Field) -> bool {
        let in_term = |t: &Term| t.mentions(field);
        match self {
            Predicate::All(parts) | Predicate::Any(parts) => {
                parts.iter().any(|p| p.mentions(field))
            }
            Predicate::Not(inner) => inner.mentions(field),
            Predicate::Const(_) => false,
            Predicate::Spatial(..) => field == Field::Geometry,
            Predicate::OneOf(f, _) | Predicate::Terms(f, _, _) => *f == field,
            Predicate::Compare(_, a, b) | Predicate::Array(_, a, b) => in_term(a) || in_term(b),
            Predicate::Like(a, _) | Predicate::IsNull(a) => in_term(a),
            Predicate::Between(a, b, c) => in_term(a) || in_term(b) || in_term(c),
            Predicate::In(a, list) => in_term(a) || list.iter().any(in_term),
            Predicate::Temporal(_, a, b) => [a.start, a.end, b.start, b.end]
                .iter()
                .any(|bound| matches!(bound, Bound::Field(f) if *f == field)),
        }
    }
}

impl Term {
    fn mentions(&self, field: Field) -> bool {
        match self {
            Term::Field(f) => *f == field,
            Term::Literal(_) => false,
            Term::Casei(inner) | Term::Accenti(inner) => inner.mentions(field),
        }
    }
}

fn area(b: &LonLatBox) -> f64 {
    (b.east - b.west) * (b.north - b.south)
}

/// Plans `expr`.
pub fn plan(expr: Expr) -> Result<Predicate, CqlError> {
    Ok(match expr {
        Expr::And(parts) => Predicate::All(parts.into_iter().map(plan).collect::<Result<_, _>>()?),
        Expr::Or(parts) => Predicate::Any(parts.into_iter().map(plan).collect::<Result<_, _>>()?),
        Expr::Not(inner) => Predicate::Not(Box::new(plan(*inner)?)),
        Expr::Literal(b) => Predicate::Const(b),
        Expr::Compare(op, left, right) => compare(op, left, right)?,
        Expr::Like(value, pattern) => like(value, pattern)?,
        Expr::Between(value, low, high) => {
            let (value, kind) = term(value)?;
            let low = typed(low, kind)?;
            let high = typed(high, kind)?;
            if !matches!(
                kind,
                Type::Number | Type::Text | Type::Date | Type::Timestamp
            ) {
                return Err(CqlError::typing(
                    low.1,
                    format!(
                        "BETWEEN compares numbers, text or times, not {}",
                        kind.name()
                    ),
                ));
            }
            Predicate::Between(value, low.0, high.0)
        }
        Expr::In(value, list) => in_list(value, list)?,
        Expr::IsNull(value) => Predicate::IsNull(term(value)?.0),
        Expr::Spatial(op, left, right) => spatial(op, left, right)?,
        Expr::Temporal(op, left, right) => Predicate::Temporal(op, span(left)?, span(right)?),
        Expr::Array(op, left, right) => array(op, left, right)?,
    })
}

/// A term and its type.
fn term(operand: Operand) -> Result<(Term, Type), CqlError> {
    let at = operand.at;
    Ok(match operand.value {
        Value::Property(name) => {
            let field = field(&name, &at)?;
            if field == Field::Geometry {
                return Err(CqlError::typing(
                    at,
                    "geometry is compared only by the spatial functions (S_INTERSECTS, ...)".into(),
                ));
            }
            (Term::Field(field), field.kind())
        }
        Value::Text(t) => (Term::Literal(Literal::Text(t)), Type::Text),
        Value::Number(n) => (Term::Literal(Literal::Number(n)), Type::Number),
        Value::Bool(b) => (Term::Literal(Literal::Bool(b)), Type::Bool),
        Value::Date(d) => (Term::Literal(Literal::Date(date(&d, &at)?)), Type::Date),
        Value::Timestamp(t) => (
            Term::Literal(Literal::Timestamp(timestamp(&t, &at)?)),
            Type::Timestamp,
        ),
        Value::Casei(inner) | Value::Accenti(inner)
            if !matches!(term_kind(&inner), Some(Type::Text | Type::TextArray) | None) =>
        {
            return Err(CqlError::typing(
                at,
                "CASEI and ACCENTI apply to text".into(),
            ));
        }
        Value::Casei(inner) => {
            let (t, kind) = term(*inner)?;
            (Term::Casei(Box::new(t)), kind)
        }
        Value::Accenti(inner) => {
            let (t, kind) = term(*inner)?;
            (Term::Accenti(Box::new(t)), kind)
        }
        Value::Array(items) => {
            let texts = items
                .into_iter()
                .map(|item| match item.value {
                    Value::Text(t) => Ok(t),
                    _ => Err(CqlError::typing(
                        item.at,
                        "array literals hold strings".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            (Term::Literal(Literal::List(texts)), Type::TextArray)
        }
        Value::Interval(..) => {
            return Err(CqlError::typing(
                at,
                "an INTERVAL is compared only by the temporal functions (T_DURING, ...)".into(),
            ));
        }
        Value::Geometry(_) => {
            return Err(CqlError::typing(
                at,
                "a geometry is compared only by the spatial functions (S_INTERSECTS, ...)".into(),
            ));
        }
    })
}

/// The type of a plain operand without planning it (None: not known without planning).
fn term_kind(operand: &Operand) -> Option<Type> {
    match &operand.value {
        Value::Property(name) => Field::named(name).map(Field::kind),
        Value::Text(_) => Some(Type::Text),
        Value::Array(_) => Some(Type::TextArray),
        Value::Number(_) => Some(Type::Number),
        Value::Bool(_) => Some(Type::Bool),
        _ => None,
    }
}

/// A term that must have type `kind`; a text literal compared with a date or timestamp is
/// read as one (`updated_at > '2026-01-01T00:00:00Z'`).
fn typed(operand: Operand, kind: Type) -> Result<(Term, At), CqlError> {
    let at = operand.at.clone();
    if let Value::Text(text) = &operand.value {
        match kind {
            Type::Date => return Ok((Term::Literal(Literal::Date(date(text, &at)?)), at)),
            Type::Timestamp => {
                return Ok((Term::Literal(Literal::Timestamp(timestamp(text, &at)?)), at));
            }
            _ => {}
        }
    }
    let (t, found) = term(operand)?;
    let compatible = found == kind || (found.is_temporal() && kind.is_temporal());
    if !compatible {
        return Err(CqlError::typing(
            at,
            format!("expected {}, found {}", kind.name(), found.name()),
        ));
    }
    Ok((t, at))
}

fn field(name: &str, at: &At) -> Result<Field, CqlError> {
    Field::named(name).ok_or_else(|| CqlError::UnknownProperty {
        at: at.clone(),
        name: name.to_owned(),
        known: Field::names().collect::<Vec<_>>().join(", "),
    })
}

fn date(text: &str, at: &At) -> Result<Date, CqlError> {
    text.parse()
        .map_err(|_| CqlError::typing(at.clone(), format!("\"{text}\" is not a date (2026-01-31)")))
}

fn timestamp(text: &str, at: &At) -> Result<Timestamp, CqlError> {
    // RFC 3339 with its offset; jiff refuses a local time without one.
    text.parse::<Timestamp>()
        .ok()
        .filter(|_| text.len() > 10)
        .ok_or_else(|| {
            CqlError::typing(
                at.clone(),
                format!("\"{text}\" is not an RFC 3339 timestamp (2026-01-31T09:30:00Z)"),
            )
        })
}

fn compare(op: Comparison, left: Operand, right: Operand) -> Result<Predicate, CqlError> {
    // A literal on the left is turned around so the vocabulary fast path sees the property.
    let (op, left, right) = match (&left.value, &right.value) {
        (Value::Property(_), _) => (op, left, right),
        (_, Value::Property(_)) => (flip(op), right, left),
        _ => (op, left, right),
    };
    if let (Value::Property(name), Value::Text(text), Comparison::Eq | Comparison::Ne) =
        (&left.value, &right.value, op)
        && let Some(field) = Field::named(name)
        && let Some(bits) = vocabulary_bits(field, std::slice::from_ref(text), &right.at)?
    {
        let one = Predicate::OneOf(field, bits);
        return Ok(if op == Comparison::Eq {
            one
        } else {
            Predicate::Not(Box::new(one))
        });
    }
    let (left, kind) = term(left)?;
    if kind == Type::TextArray && !matches!(op, Comparison::Eq | Comparison::Ne) {
        return Err(CqlError::typing(
            right.at,
            "arrays compare only with = and <> (or the A_ functions)".into(),
        ));
    }
    let (right, _) = typed(right, kind)?;
    Ok(Predicate::Compare(op, left, right))
}

fn flip(op: Comparison) -> Comparison {
    match op {
        Comparison::Lt => Comparison::Gt,
        Comparison::Le => Comparison::Ge,
        Comparison::Gt => Comparison::Lt,
        Comparison::Ge => Comparison::Le,
        same => same,
    }
}

/// The bits of `terms` when `field` is a single-valued vocabulary; an unknown term is an error.
fn vocabulary_bits(field: Field, terms: &[String], at: &At) -> Result<Option<u64>, CqlError> {
    fn bits<T: Vocabulary>(
        terms: &[String],
        at: &At,
        index: fn(T) -> usize,
    ) -> Result<u64, CqlError> {
        terms.iter().try_fold(0u64, |acc, term| {
            let found = T::from_slug(term).ok_or_else(|| {
                CqlError::typing(
                    at.clone(),
                    format!(
                        "unknown value \"{term}\" (expected one of {})",
                        T::expected()
                    ),
                )
            })?;
            Ok(acc | 1 << index(found))
        })
    }
    Ok(Some(match field {
        Field::Country => terms.iter().try_fold(0u64, |acc, code| {
            let country = Country::parse(code).map_err(|e| CqlError::typing(at.clone(), e))?;
            Ok::<_, CqlError>(acc | 1 << country.index())
        })?,
        Field::Kind => bits::<Kind>(terms, at, Kind::index)?,
        Field::Status => bits::<Status>(terms, at, Status::index)?,
        Field::LocationPrecision => bits::<LocationPrecision>(terms, at, LocationPrecision::index)?,
        _ => return Ok(None),
    }))
}

fn in_list(value: Operand, list: Vec<Operand>) -> Result<Predicate, CqlError> {
    if let Value::Property(name) = &value.value
        && let Some(field) = Field::named(name)
        && list.iter().all(|o| matches!(o.value, Value::Text(_)))
    {
        let texts: Vec<String> = list
            .iter()
            .filter_map(|o| match &o.value {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let at = list.first().map_or(value.at.clone(), |o| o.at.clone());
        if let Some(bits) = vocabulary_bits(field, &texts, &at)? {
            return Ok(Predicate::OneOf(field, bits));
        }
    }
    let (value, kind) = term(value)?;
    let list = list
        .into_iter()
        .map(|item| typed(item, kind).map(|(t, _)| t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Predicate::In(value, list))
}

fn like(value: Operand, pattern: Operand) -> Result<Predicate, CqlError> {
    let at = pattern.at.clone();
    let (value, kind) = term(value)?;
    if kind != Type::Text {
        return Err(CqlError::typing(
            at,
            format!("LIKE matches text, not {}", kind.name()),
        ));
    }
    // The pattern is a literal, folded as its CASEI/ACCENTI say.
    let mut folds = Vec::new();
    let mut pattern = pattern;
    let text = loop {
        match pattern.value {
            Value::Text(t) => break t,
            Value::Casei(inner) => {
                folds.push(true);
                pattern = *inner;
            }
            Value::Accenti(inner) => {
                folds.push(false);
                pattern = *inner;
            }
            _ => return Err(CqlError::typing(at, "a LIKE pattern is a string".into())),
        }
    };
    let text = folds.iter().rev().fold(text, |t, casei| {
        if *casei {
            super::eval::casei(&t)
        } else {
            super::eval::accenti(&t)
        }
    });
    Ok(Predicate::Like(value, Pattern::new(&text)))
}

fn spatial(op: SpatialOp, left: Operand, right: Operand) -> Result<Predicate, CqlError> {
    let is_geometry = |o: &Operand| matches!(&o.value, Value::Property(n) if n == "geometry");
    let (op, literal) = if is_geometry(&left) {
        (op, right)
    } else if is_geometry(&right) {
        (converse(op), left)
    } else {
        for o in [&left, &right] {
            if let Value::Property(name) = &o.value {
                field(name, &o.at)?;
            }
        }
        return Err(CqlError::typing(
            left.at,
            "one argument of a spatial function must be the property geometry".into(),
        ));
    };
    match literal.value {
        Value::Geometry(g) => Ok(Predicate::Spatial(op, Box::new(Shape::new(g)))),
        _ => Err(CqlError::typing(
            literal.at,
            "expected a geometry (POINT, POLYGON, BBOX, ...)".into(),
        )),
    }
}

fn span(operand: Operand) -> Result<Span, CqlError> {
    let at = operand.at.clone();
    let bound_of = |o: Operand, end: bool| -> Result<Bound, CqlError> {
        let at = o.at.clone();
        Ok(match o.value {
            Value::Text(t) if t == ".." => Bound::Open,
            Value::Text(t) if t.len() == 10 => Bound::At(day_bound(date(&t, &at)?, end)),
            Value::Text(t) | Value::Timestamp(t) => Bound::At(timestamp(&t, &at)?.as_nanosecond()),
            Value::Date(d) => Bound::At(day_bound(date(&d, &at)?, end)),
            Value::Property(name) => match field(&name, &at)? {
                f if f.kind().is_temporal() => Bound::Field(f),
                f => {
                    return Err(CqlError::typing(
                        at,
                        format!("{} is not a date or timestamp", f.name()),
                    ));
                }
            },
            _ => {
                return Err(CqlError::typing(
                    at,
                    "expected a date, a timestamp or '..'".into(),
                ));
            }
        })
    };
    Ok(match operand.value {
        Value::Interval(start, end) => Span {
            start: bound_of(*start, false)?,
            end: bound_of(*end, true)?,
        },
        Value::Text(ref t) if t == ".." => {
            return Err(CqlError::typing(
                at,
                "'..' is an open end of an INTERVAL, not an instant".into(),
            ));
        }
        _ => {
            let start = bound_of(operand.clone(), false)?;
            let end = bound_of(operand, true)?;
            Span { start, end }
        }
    })
}

/// The first or last nanosecond of a day (UTC).
pub fn day_bound(day: Date, end: bool) -> i128 {
    let midnight = jiff::tz::TimeZone::UTC
        .to_timestamp(day.to_datetime(jiff::civil::Time::MIN))
        .map_or(0, |t| t.as_nanosecond());
    if end {
        midnight + 86_400_000_000_000 - 1
    } else {
        midnight
    }
}

fn array(op: ArrayOp, left: Operand, right: Operand) -> Result<Predicate, CqlError> {
    // A literal first is turned around (`A_CONTAINS(lit, p)` is `A_CONTAINEDBY(p, lit)`).
    let (op, left, right) = match (&left.value, &right.value) {
        (Value::Array(_), Value::Property(_)) => (mirror(op), right, left),
        _ => (op, left, right),
    };
    if let (Value::Property(name), Value::Array(items)) = (&left.value, &right.value)
        && let Some(field @ (Field::SkillAreas | Field::TargetGroups)) = Field::named(name)
    {
        let mut bits = 0u32;
        for item in items {
            let Value::Text(term) = &item.value else {
                return Err(CqlError::typing(
                    item.at.clone(),
                    "array literals hold strings".into(),
                ));
            };
            let index = match field {
                Field::SkillAreas => SkillArea::from_slug(term).map(SkillArea::index),
                _ => TargetGroup::from_slug(term).map(TargetGroup::index),
            };
            let expected = if field == Field::SkillAreas {
                SkillArea::expected()
            } else {
                TargetGroup::expected()
            };
            let index = index.ok_or_else(|| {
                CqlError::typing(
                    item.at.clone(),
                    format!("unknown value \"{term}\" (expected one of {expected})"),
                )
            })?;
            bits |= 1 << index;
        }
        return Ok(Predicate::Terms(field, op, bits));
    }
    let left_at = left.at.clone();
    let (l, lk) = term(left)?;
    let (r, rk) = term(right)?;
    if lk != Type::TextArray || rk != Type::TextArray {
        return Err(CqlError::typing(
            left_at,
            "the A_ functions compare arrays".into(),
        ));
    }
    Ok(Predicate::Array(op, l, r))
}

fn mirror(op: ArrayOp) -> ArrayOp {
    match op {
        ArrayOp::Contains => ArrayOp::ContainedBy,
        ArrayOp::ContainedBy => ArrayOp::Contains,
        symmetric => symmetric,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bounds_cover_the_whole_day() {
        let d = jiff::civil::date(2026, 1, 31);
        assert_eq!(
            day_bound(d, true) - day_bound(d, false),
            86_400_000_000_000 - 1
        );
    }
}
