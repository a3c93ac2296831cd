//! Where the next initiative should open: the towns where one more matching initiative would
//! bring the most uncovered people within the gap distance, by the greedy maximum-coverage
//! rule (each pick counts only the people the picks before it left uncovered).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::coverage::{Nearby, chord_squared};
use super::people::{Demand, Town};

/// Most picks one request may ask for.
pub const MAX_PICKS: usize = 20;

/// One pick of the greedy: a candidate, the weight it adds, and the total so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub candidate: usize,
    pub added: u64,
    pub total: u64,
}

/// Greedy maximum coverage, evaluated lazily: `reach(c, visit)` calls `visit` with every
/// demand index candidate `c` covers; `weights` are the demands' weights. Up to `k` picks,
/// each the candidate adding the most weight not yet covered (the smaller index on a tie),
/// stopping early when none adds anything. Gains only fall as picks are made, so a
/// candidate whose recomputed gain still tops the heap is the best one (the "lazy greedy").
pub fn greedy<F>(weights: &[u64], candidates: usize, k: usize, reach: F) -> Vec<Pick>
where
    F: Fn(usize, &mut dyn FnMut(usize)) + Sync,
{
    let gain = |c: usize, covered: &[bool]| {
        let mut sum = 0;
        reach(c, &mut |d| {
            if !covered[d] {
                sum += weights[d];
            }
        });
        sum
    };
    let mut covered = vec![false; weights.len()];
    let mut heap: BinaryHeap<(u64, Reverse<usize>)> = (0..candidates)
        .into_par_iter()
        .map(|c| (gain(c, &covered), Reverse(c)))
        .filter(|(g, _)| *g > 0)
        .collect::<Vec<_>>()
        .into();
    let mut picks = Vec::new();
    let mut total = 0;
    while picks.len() < k {
        let Some((stale, Reverse(c))) = heap.pop() else {
            break;
        };
        let fresh = gain(c, &covered);
        if fresh < stale {
            if fresh > 0 {
                heap.push((fresh, Reverse(c)));
            }
            continue;
        }
        reach(c, &mut |d| covered[d] = true);
        total += fresh;
        picks.push(Pick {
            candidate: c,
            added: fresh,
            total,
        });
    }
    picks
}

/// The suggestions for some towns.
pub struct Suggestion<'a> {
    /// Inhabitants of the towns considered.
    pub people: u64,
    /// Those farther than the gap distance from every matching initiative today.
    pub people_far: u64,
    /// The towns picked, in order, with their picks.
    pub picks: Vec<(&'a Town, Pick)>,
}

/// The `k` towns among `towns` (indices into `demand`) where a new initiative would bring
/// the most of their uncovered people within `gap_m`; `nearby` holds today's matching
/// initiatives. Every town is a candidate; the demand is the towns `nearby` does not reach.
pub fn suggest<'a>(
    demand: &'a Demand,
    towns: &[u32],
    nearby: &Nearby,
    gap_m: f64,
    k: usize,
) -> Suggestion<'a> {
    let reach = chord_squared(gap_m);
    let far: Vec<u32> = towns
        .par_iter()
        .copied()
        .filter(|t| !nearby.reaches(demand.town(*t).unit, reach))
        .collect();
    let weights: Vec<u64> = far
        .iter()
        .map(|t| u64::from(demand.town(*t).population))
        .collect();
    let tree = RTree::bulk_load(
        far.iter()
            .enumerate()
            .map(|(at, t)| GeomWithData::new(demand.town(*t).unit, at))
            .collect(),
    );
    let picks = greedy(&weights, towns.len(), k, |c, visit| {
        let from = demand.town(towns[c]).unit;
        for found in tree.locate_within_distance(from, reach) {
            visit(found.data);
        }
    });
    Suggestion {
        people: towns
            .iter()
            .map(|t| u64::from(demand.town(*t).population))
            .sum(),
        people_far: weights.iter().sum(),
        picks: picks
            .into_iter()
            .map(|p| (demand.town(towns[p.candidate]), p))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The best total of any `k` candidates, by trying every combination.
    fn exhaustive(weights: &[u64], sets: &[Vec<usize>], k: usize) -> u64 {
        fn go(
            weights: &[u64],
            sets: &[Vec<usize>],
            from: usize,
            left: usize,
            chosen: &mut Vec<usize>,
        ) -> u64 {
            let covered: u64 = {
                let mut seen = vec![false; weights.len()];
                chosen
                    .iter()
                    .flat_map(|c| &sets[*c])
                    .for_each(|d| seen[*d] = true);
                seen.iter()
                    .zip(weights)
                    .filter(|(s, _)| **s)
                    .map(|(_, w)| w)
                    .sum()
            };
            if left == 0 || from == sets.len() {
                return covered;
            }
            let mut best = covered;
            for c in from..sets.len() {
                chosen.push(c);
                best = best.max(go(weights, sets, c + 1, left - 1, chosen));
                chosen.pop();
            }
            best
        }
        go(weights, sets, 0, k, &mut Vec::new())
    }

    fn run(weights: &[u64], sets: &[Vec<usize>], k: usize) -> Vec<Pick> {
        greedy(weights, sets.len(), k, |c, visit| {
            sets[c].iter().for_each(|d| visit(*d))
        })
    }

    #[test]
    fn equals_exhaustive_search_where_greedy_is_optimal() {
        // Disjoint sets, and nested ones: the greedy is optimal for both.
        let weights = [5, 3, 8, 1, 4, 2, 7];
        let disjoint = vec![vec![0, 1], vec![2], vec![3, 4], vec![5, 6]];
        let nested = vec![
            vec![0],
            vec![0, 1],
            vec![0, 1, 2],
            vec![0, 1, 2, 3, 4, 5, 6],
        ];
        for sets in [disjoint, nested] {
            for k in 1..=4 {
                let picks = run(&weights, &sets, k);
                assert_eq!(
                    picks.last().map_or(0, |p| p.total),
                    exhaustive(&weights, &sets, k)
                );
                let added: u64 = picks.iter().map(|p| p.added).sum();
                assert_eq!(Some(added), picks.last().map(|p| p.total), "running total");
            }
        }
        // The first pick of the disjoint case is the heaviest set (8 beats 5 + 3 = 8 on the
        // tie by the smaller index: set 0).
        assert_eq!(run(&weights, &[vec![0, 1], vec![2]], 1)[0].candidate, 0);
    }

    #[test]
    fn greedy_can_lose_but_never_below_one_minus_one_over_e() {
        // The classic trap: the middle set is biggest, yet the two halves together are best.
        let weights = [1; 8];
        let sets = vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![2, 3, 4, 5, 6]];
        let picks = run(&weights, &sets, 2);
        assert_eq!(picks[0].candidate, 2);
        assert_eq!((picks[1].total, exhaustive(&weights, &sets, 2)), (7, 8));
        // Pseudo-random small cases.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let bound = 1.0 - (-1.0f64).exp();
        for _ in 0..300 {
            let demands = 3 + next(8) as usize;
            let weights: Vec<u64> = (0..demands).map(|_| 1 + next(20)).collect();
            let sets: Vec<Vec<usize>> = (0..2 + next(6))
                .map(|_| (0..demands).filter(|_| next(3) == 0).collect())
                .collect();
            for k in 1..=3 {
                let got = run(&weights, &sets, k).last().map_or(0, |p| p.total);
                let best = exhaustive(&weights, &sets, k);
                assert!(
                    got <= best && got as f64 >= bound * best as f64,
                    "{got} of {best}"
                );
            }
        }
    }

    #[test]
    fn stops_when_nothing_more_is_covered() {
        let picks = run(&[4, 4], &[vec![0, 1], vec![0], vec![]], 3);
        assert_eq!(
            picks,
            [Pick {
                candidate: 0,
                added: 8,
                total: 8
            }]
        );
    }
}
