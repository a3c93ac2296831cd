//! CQL2 filters (OGC API – Features Part 3, OGC 21-065r2): the text and JSON encodings
//! parsed into one syntax tree, checked against the queryables and planned into a
//! [`Predicate`], split into the conjuncts the read model's term bitmaps answer and a
//! residual the snapshot evaluates per record on their candidates only.
//!
//! Written here rather than taken from the `cql2` crate: that crate pulls a SQL parser, a
//! JSON Schema validator, a second major version of `geojson` and `jiff`, and turns on
//! `serde_json`'s `preserve_order` for the whole service; what the service needs is a
//! parser with positions in its errors and a plan against its own columns.

mod ast;
pub mod eval;
mod fields;
mod geometry;
mod json;
mod lexer;
mod like;
mod plan;
mod text;

use std::fmt;
use std::sync::Arc;

pub use ast::{ArrayOp, At};
pub use eval::{Row, term_bits};
pub use fields::{Field, schemas as queryable_schemas};
pub use plan::Predicate;

use crate::geodesy::LonLatBox;

/// Deepest nesting of parentheses, operators and functions accepted.
pub const MAX_DEPTH: usize = 48;
/// Longest filter accepted, in characters (the `maxLength` of the OpenAPI document's
/// `filter`). A filter travels in the URI, which the HTTP server refuses (414) beyond 65,534
/// bytes; percent-encoded, a character takes at most 12 bytes, so 4,096 of them fit with room
/// for the other parameters. It also bounds a filter's geometries (about 1,000 coordinates),
/// and with them the cost of testing every candidate record against a polygon.
pub const MAX_FILTER_CHARS: usize = 4096;

/// Why a filter was refused; every variant says where.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CqlError {
    #[error("{at}: {message}")]
    Syntax { at: At, message: String },
    #[error("{at}: unknown property \"{name}\" (the queryables are {known})")]
    UnknownProperty { at: At, name: String, known: String },
    #[error("{at}: {message}")]
    Type { at: At, message: String },
    #[error("longer than {MAX_FILTER_CHARS} characters")]
    TooLong,
}

impl CqlError {
    pub fn syntax(at: At, message: String) -> CqlError {
        CqlError::Syntax { at, message }
    }

    pub fn typing(at: At, message: String) -> CqlError {
        CqlError::Type { at, message }
    }
}

/// The encodings of `filter-lang`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Text,
    Json,
}

impl Lang {
    pub fn named(name: &str) -> Option<Lang> {
        match name {
            "cql2-text" => Some(Lang::Text),
            "cql2-json" => Some(Lang::Json),
            _ => None,
        }
    }
}

/// A parsed and planned filter. Two filters with the same text and encoding are equal (their
/// key names them in the caches of filtered cluster leaves and coverage trees).
#[derive(Clone)]
pub struct Expression {
    plan: Arc<Predicate>,
    /// The conjuncts of `plan` the term bitmaps answer, and the rest.
    indexed: Arc<[Predicate]>,
    residual: Option<Arc<Predicate>>,
    key: String,
}

impl Expression {
    pub fn parse(text: &str, lang: Lang) -> Result<Expression, CqlError> {
        if text.chars().count() > MAX_FILTER_CHARS {
            return Err(CqlError::TooLong);
        }
        let expr = match lang {
            Lang::Text => text::parse(text)?,
            Lang::Json => json::parse(text)?,
        };
        let plan = plan::plan(expr)?;
        let (indexed, residual) = plan.clone().split();
        let tag = if lang == Lang::Text { "text" } else { "json" };
        let key = crate::snapshot::content_version(format!("{tag}:{text}").as_bytes());
        Ok(Expression {
            plan: Arc::new(plan),
            indexed: indexed.into(),
            residual: residual.map(Arc::new),
            key,
        })
    }

    /// True when the record passes the whole filter.
    pub fn matches(&self, row: Row<'_>) -> bool {
        self.plan.matches(row)
    }

    /// The conjuncts the term bitmaps answer (see [`Predicate::is_indexed`]).
    pub fn indexed(&self) -> &[Predicate] {
        &self.indexed
    }

    /// What the indexed conjuncts leave to test per record (`None`: nothing).
    pub fn residual(&self) -> Option<&Predicate> {
        self.residual.as_deref()
    }

    /// True when the filter names `field` (a filter on `status` lifts the default of
    /// showing only active initiatives).
    pub fn mentions(&self, field: Field) -> bool {
        self.plan.mentions(field)
    }

    /// The box every match lies in, when the filter confines them to one.
    pub fn bound(&self) -> Option<LonLatBox> {
        self.plan.bound()
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cql2({})", self.key)
    }
}

impl PartialEq for Expression {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

#[cfg(test)]
mod tests;
