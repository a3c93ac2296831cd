//! The syntax tree both CQL2 encodings (text and JSON) parse into, before it is checked
//! against the queryables and planned.

use std::fmt;

/// Where a piece of an expression was written, for error messages: a character position
/// of the text encoding (1-based) or a JSON pointer into the JSON encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum At {
    Char(usize),
    Pointer(String),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Char(n) => write!(f, "at character {n}"),
            At::Pointer(p) if p.is_empty() => write!(f, "at the top of the JSON"),
            At::Pointer(p) => write!(f, "at JSON pointer {p}"),
        }
    }
}

/// A boolean expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Literal(bool),
    Compare(Comparison, Operand, Operand),
    Like(Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    IsNull(Operand),
    Spatial(SpatialOp, Operand, Operand),
    Temporal(TemporalOp, Operand, Operand),
    Array(ArrayOp, Operand, Operand),
}

/// A value an expression compares, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    pub at: At,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Property(String),
    Text(String),
    Number(f64),
    Bool(bool),
    /// `DATE('2026-01-31')`.
    Date(String),
    /// `TIMESTAMP('2026-01-31T10:00:00Z')`.
    Timestamp(String),
    /// `INTERVAL(start, end)`: each bound a date, a timestamp, `'..'` or a property.
    Interval(Box<Operand>, Box<Operand>),
    Geometry(geo::Geometry<f64>),
    Array(Vec<Operand>),
    Casei(Box<Operand>),
    Accenti(Box<Operand>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The spatial relations of CQL2's spatial-functions class (DE-9IM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpatialOp {
    Intersects,
    Disjoint,
    Within,
    Contains,
    Equals,
    Touches,
    Crosses,
    Overlaps,
}

/// The temporal relations of CQL2's temporal-functions class (Allen's interval algebra).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalOp {
    After,
    Before,
    Contains,
    Disjoint,
    During,
    Equals,
    FinishedBy,
    Finishes,
    Intersects,
    Meets,
    MetBy,
    OverlappedBy,
    Overlaps,
    StartedBy,
    Starts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayOp {
    Equals,
    Contains,
    ContainedBy,
    Overlaps,
}

/// The function names of both encodings (case-insensitive), and what they stand for.
pub enum Function {
    Spatial(SpatialOp),
    Temporal(TemporalOp),
    Array(ArrayOp),
}

impl Function {
    pub fn named(name: &str) -> Option<Function> {
        use {ArrayOp as A, SpatialOp as S, TemporalOp as T};
        let upper = name.to_ascii_uppercase();
        Some(match upper.as_str() {
            "S_INTERSECTS" => Function::Spatial(S::Intersects),
            "S_DISJOINT" => Function::Spatial(S::Disjoint),
            "S_WITHIN" => Function::Spatial(S::Within),
            "S_CONTAINS" => Function::Spatial(S::Contains),
            "S_EQUALS" => Function::Spatial(S::Equals),
            "S_TOUCHES" => Function::Spatial(S::Touches),
            "S_CROSSES" => Function::Spatial(S::Crosses),
            "S_OVERLAPS" => Function::Spatial(S::Overlaps),
            "T_AFTER" => Function::Temporal(T::After),
            "T_BEFORE" => Function::Temporal(T::Before),
            "T_CONTAINS" => Function::Temporal(T::Contains),
            "T_DISJOINT" => Function::Temporal(T::Disjoint),
            "T_DURING" => Function::Temporal(T::During),
            "T_EQUALS" => Function::Temporal(T::Equals),
            "T_FINISHEDBY" => Function::Temporal(T::FinishedBy),
            "T_FINISHES" => Function::Temporal(T::Finishes),
            "T_INTERSECTS" => Function::Temporal(T::Intersects),
            "T_MEETS" => Function::Temporal(T::Meets),
            "T_METBY" => Function::Temporal(T::MetBy),
            "T_OVERLAPPEDBY" => Function::Temporal(T::OverlappedBy),
            "T_OVERLAPS" => Function::Temporal(T::Overlaps),
            "T_STARTEDBY" => Function::Temporal(T::StartedBy),
            "T_STARTS" => Function::Temporal(T::Starts),
            "A_EQUALS" => Function::Array(A::Equals),
            "A_CONTAINS" => Function::Array(A::Contains),
            "A_CONTAINEDBY" => Function::Array(A::ContainedBy),
            "A_OVERLAPS" => Function::Array(A::Overlaps),
            _ => return None,
        })
    }

    /// The expression of this function applied to two arguments.
    pub fn apply(self, left: Operand, right: Operand) -> Expr {
        match self {
            Function::Spatial(op) => Expr::Spatial(op, left, right),
            Function::Temporal(op) => Expr::Temporal(op, left, right),
            Function::Array(op) => Expr::Array(op, left, right),
        }
    }
}
