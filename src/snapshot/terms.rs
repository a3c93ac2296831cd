//! TermBitmaps: for each vocabulary term, the slots of a part holding it (built on first use),
//! and the set algebra that turns indexed filter conjuncts into one candidate bitmap.
//!
//! The attributes a simple filter tests sit in one dense array, so a filter scanning them
//! costs a pass over the part; a term's bitmap answers it in a pass over one bit per record,
//! and conjuncts combine with a word-wise AND. A bitmap is built the first time a query names
//! its term and kept with the part (a base part is shared by every snapshot until a merge),
//! so only the terms queries use cost memory: 125 KB each at a million records.

use std::sync::OnceLock;

use crate::bitmap::Bitmap;
use crate::cql2::{ArrayOp, Field, Predicate, term_bits};
use crate::records::Records;

/// The vocabulary properties indexed, in the order of [`TermBitmaps::columns`].
const FIELDS: [Field; 6] = [
    Field::Country,
    Field::Kind,
    Field::Status,
    Field::LocationPrecision,
    Field::SkillAreas,
    Field::TargetGroups,
];

/// One lazily built bitmap per term of each vocabulary property.
pub struct TermBitmaps {
    len: usize,
    columns: Vec<Vec<OnceLock<Bitmap>>>,
}

impl TermBitmaps {
    /// Bitmaps over `len` slots; none is built yet.
    pub fn new(len: usize) -> TermBitmaps {
        let columns = FIELDS
            .iter()
            .map(|f| (0..f.term_count()).map(|_| OnceLock::new()).collect())
            .collect();
        TermBitmaps { len, columns }
    }

    /// The slots whose `field` holds term `index`.
    fn term(&self, records: &Records, field: Field, index: usize) -> &Bitmap {
        let column = FIELDS
            .iter()
            .position(|f| *f == field)
            .expect("a vocabulary property");
        self.columns[column][index].get_or_init(|| {
            Bitmap::from_fn(self.len, |slot| {
                term_bits(field, records.attributes(slot)) & (1 << index) != 0
            })
        })
    }

    /// The slots holding any term of `bits` (a union of term bitmaps).
    fn any_of(&self, records: &Records, field: Field, bits: u64) -> Bitmap {
        let mut union = Bitmap::empty(self.len);
        for index in (0..field.term_count()).filter(|i| bits & (1 << i) != 0) {
            union.or_with(self.term(records, field, index));
        }
        union
    }

    /// The slots holding every term of `bits` (an intersection of term bitmaps).
    fn all_of(&self, records: &Records, field: Field, bits: u64) -> Bitmap {
        let mut both = Bitmap::full(self.len);
        for index in (0..field.term_count()).filter(|i| bits & (1 << i) != 0) {
            both.and_with(self.term(records, field, index));
        }
        both
    }

    /// The slots where `predicate` (one that [`Predicate::is_indexed`]) is true.
    pub fn select(&self, records: &Records, predicate: &Predicate) -> Bitmap {
        let len = self.len;
        match predicate {
            Predicate::OneOf(field, bits) => self.any_of(records, *field, *bits),
            Predicate::Terms(field, op, bits) => {
                let bits = u64::from(*bits);
                let others = !bits & ((1u64 << field.term_count()) - 1);
                // A list is contained by `bits` when it holds none of the other terms.
                let within = || self.any_of(records, *field, others).complement(len);
                match op {
                    ArrayOp::Overlaps => self.any_of(records, *field, bits),
                    ArrayOp::Contains => self.all_of(records, *field, bits),
                    ArrayOp::ContainedBy => within(),
                    ArrayOp::Equals => {
                        let mut equal = self.all_of(records, *field, bits);
                        equal.and_with(&within());
                        equal
                    }
                }
            }
            Predicate::Const(true) => Bitmap::full(len),
            Predicate::Const(false) => Bitmap::empty(len),
            Predicate::Not(inner) => self.select(records, inner).complement(len),
            Predicate::All(parts) => self.intersection(records, parts),
            Predicate::Any(parts) => {
                let mut union = Bitmap::empty(len);
                for part in parts {
                    union.or_with(&self.select(records, part));
                }
                union
            }
            other => unreachable!("not an indexed predicate: {other:?}"),
        }
    }

    /// The slots where every one of `predicates` is true (`Bitmap::full` for none).
    pub fn intersection(&self, records: &Records, predicates: &[Predicate]) -> Bitmap {
        let mut both = Bitmap::full(self.len);
        for part in predicates {
            both.and_with(&self.select(records, part));
        }
        both
    }

    /// Bytes held by the bitmaps built so far.
    pub fn heap_bytes(&self) -> usize {
        let built = self.columns.iter().flatten().filter_map(OnceLock::get);
        built.map(|b| b.words.capacity() * 8).sum()
    }
}
