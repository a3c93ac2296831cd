//! How a part finds a filter's matches: every condition the term bitmaps answer (the simple
//! filters' vocabularies and a CQL2 filter's indexed conjuncts) intersected into one candidate
//! bitmap when many slots are tested (a listing without a box, tiles' leaf bitmaps, a box
//! holding many records), the R-tree over a box (the query's `bbox`, or the box a CQL2 spatial
//! predicate confines matches to) or a radius testing those conditions on the few slots it
//! finds, and the rest tested per record on the candidates only.
//!
//! The simple filters and CQL2 go through the same plan, so a CQL2 filter of vocabulary terms
//! and a box costs what the same simple filters cost. `updated_at` has no index: its interval
//! is tested on the dense attribute array beside the residual.

use std::borrow::Cow;

use crate::bitmap::Bitmap;
use crate::cql2::{ArrayOp, Field, Predicate, Row};
use crate::filter::Filter;
use crate::geodesy::LonLatBox;
use crate::index::Slot;

use super::part::Part;

/// A box holding at most this many slots has the conditions tested on each slot, whatever
/// the part's size.
pub(crate) const TESTED_ONE_BY_ONE: usize = 64;

/// One filter planned against one part.
pub(super) struct PartPlan<'a> {
    part: &'a Part,
    filter: &'a Filter,
    /// Slots to leave out whatever the filter says (base records superseded or deleted).
    hidden: Option<&'a Bitmap>,
    /// The conditions the term bitmaps answer.
    conditions: Vec<Predicate>,
    /// The slots passing every condition, once made (see [`PartPlan::scanning`]).
    candidates: Option<Bitmap>,
}

impl<'a> PartPlan<'a> {
    pub(super) fn new(part: &'a Part, filter: &'a Filter, hidden: Option<&'a Bitmap>) -> Self {
        PartPlan {
            part,
            filter,
            hidden,
            conditions: indexed_conditions(part, filter),
            candidates: None,
        }
    }

    /// The plan for testing most of the part's slots (tiles' leaf bitmaps): the conditions
    /// made into one candidate bitmap first. A walk of a box or a radius touches few slots,
    /// and tests the conditions on their attributes instead, not paying for whole bitmaps.
    pub(super) fn scanning(mut self) -> Self {
        self.candidates = self.candidate_bitmap();
        self
    }

    /// The candidate bitmap made by [`PartPlan::scanning`], else one made now if `many` slots
    /// are to be tested; `None` when the conditions are to be tested slot by slot (or there
    /// are none).
    fn candidates_for(&self, many: bool) -> Option<Cow<'_, Bitmap>> {
        match &self.candidates {
            Some(made) => Some(Cow::Borrowed(made)),
            None if many => self.candidate_bitmap().map(Cow::Owned),
            None => None,
        }
    }

    fn candidate_bitmap(&self) -> Option<Bitmap> {
        (!self.conditions.is_empty()).then(|| {
            self.part
                .terms
                .intersection(&self.part.records, &self.conditions)
        })
    }

    /// True when `slot` is visible and passes the filter.
    pub(super) fn keeps(&self, slot: Slot) -> bool {
        self.keeps_among(self.candidates.as_ref(), slot)
    }

    /// [`PartPlan::keeps`] with the conditions answered by `candidates` when there are some.
    fn keeps_among(&self, candidates: Option<&Bitmap>, slot: Slot) -> bool {
        self.visible(slot)
            && match candidates {
                Some(candidates) => candidates.get(slot),
                None => self.passes_conditions(slot as usize),
            }
            && self.residual(slot as usize)
    }

    fn visible(&self, slot: Slot) -> bool {
        self.hidden.is_none_or(|h| !h.get(slot))
    }

    fn passes_conditions(&self, at: usize) -> bool {
        self.conditions.iter().all(|p| p.matches(self.row(at)))
    }

    fn row(&self, at: usize) -> Row<'a> {
        Row {
            records: &self.part.records,
            at,
            nuts: self.part.nuts[at],
        }
    }

    /// What the bitmaps do not answer: the update interval, the regions, the free text and
    /// the CQL2 residual.
    fn residual(&self, at: usize) -> bool {
        let (part, filter) = (self.part, self.filter);
        filter
            .updated
            .is_none_or(|i| i.contains(part.records.attributes(at).updated_at))
            && filter
                .nuts
                .as_ref()
                .is_none_or(|nuts| nuts.matches(part.nuts[at]))
            && part.records.contains_words(at, &filter.words)
            && filter
                .expression
                .as_ref()
                .and_then(|e| e.residual())
                .is_none_or(|p| p.matches(self.row(at)))
    }

    /// The matching slots inside `area` (everywhere when `None`), in slot (= id) order.
    pub(super) fn matching(&self, area: Option<&LonLatBox>) -> Vec<Slot> {
        let part = self.part;
        // A CQL2 spatial predicate confines the matches to a box the R-tree can search when
        // the query gives none; the predicate itself stays in the residual.
        let bound = self.filter.expression.as_ref().and_then(|e| e.bound());
        let area = area
            .or(bound.as_ref())
            .filter(|a| !part.index.covered_by(a));
        match area {
            Some(area) => {
                let mut slots = Vec::new();
                part.index.for_each_in(area, |slot| slots.push(slot));
                // Testing the conditions on a slot's attributes costs about what a bitmap pass
                // costs for a thousand slots, so a box holding more than a thousandth of the
                // part (and more than a few slots) is answered from the candidate bitmap: a 1°
                // box round Berlin at a million holds 36,000 slots, and testing them took four
                // fifths of the query's time.
                let candidates =
                    self.candidates_for(slots.len() > TESTED_ONE_BY_ONE.max(part.len() / 1024));
                slots.retain(|slot| self.keeps_among(candidates.as_deref(), *slot));
                slots.sort_unstable();
                slots.dedup();
                slots
            }
            None => {
                // Without a box most slots are tested: the conditions become one candidate
                // bitmap, whose set bits are walked.
                match self.candidates_for(true) {
                    Some(candidates) => candidates
                        .ones()
                        .filter(|s| self.visible(*s) && self.residual(*s as usize))
                        .collect(),
                    None => (0..part.len() as Slot).filter(|s| self.keeps(*s)).collect(),
                }
            }
        }
    }
}

/// The filter's conditions the term bitmaps answer: the simple vocabulary filters as CQL2
/// predicates of the same meaning, and the CQL2 filter's indexed conjuncts. A status filter
/// hiding no status the part holds is left out (it passes every record).
fn indexed_conditions(part: &Part, filter: &Filter) -> Vec<Predicate> {
    let mut conditions = Vec::new();
    if let Some(set) = filter.countries {
        conditions.push(Predicate::OneOf(Field::Country, set.bits()));
    }
    if let Some(set) = filter.skill_areas {
        conditions.push(Predicate::Terms(
            Field::SkillAreas,
            ArrayOp::Overlaps,
            set.bits(),
        ));
    }
    if let Some(set) = filter.target_groups {
        conditions.push(Predicate::Terms(
            Field::TargetGroups,
            ArrayOp::Overlaps,
            set.bits(),
        ));
    }
    if let Some(set) = filter.kinds {
        conditions.push(Predicate::OneOf(Field::Kind, set.bits().into()));
    }
    if let Some(set) = filter.precisions {
        conditions.push(Predicate::OneOf(
            Field::LocationPrecision,
            set.bits().into(),
        ));
    }
    if !part.statuses.is_subset(filter.statuses) {
        conditions.push(Predicate::OneOf(
            Field::Status,
            filter.statuses.bits().into(),
        ));
    }
    if let Some(e) = &filter.expression {
        conditions.extend(e.indexed().iter().cloned());
    }
    conditions
}
