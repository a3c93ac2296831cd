//! Bitmap: a fixed-length set of positions, one bit each, with range counts for cluster sizes
//! and the set algebra a filter plan combines term bitmaps with.

use rayon::prelude::*;

/// A fixed-length set of positions, one bit each.
#[derive(Clone, Debug, PartialEq)]
pub struct Bitmap {
    pub(crate) words: Vec<u64>,
}

impl Bitmap {
    pub fn from_fn(len: usize, f: impl Fn(usize) -> bool + Sync) -> Bitmap {
        let words = (0..len.div_ceil(64))
            .into_par_iter()
            .map(|w| {
                let base = w * 64;
                (0..64.min(len - base))
                    .fold(0u64, |word, bit| word | (u64::from(f(base + bit)) << bit))
            })
            .collect();
        Bitmap { words }
    }

    /// `count` bitmaps in one pass: bit `i` of `f(pos)` is position `pos` of bitmap `i`.
    pub fn per_bit(len: usize, count: usize, f: impl Fn(usize) -> u32 + Sync) -> Vec<Bitmap> {
        let blocks: Vec<Vec<u64>> = (0..len.div_ceil(64))
            .into_par_iter()
            .map(|w| {
                let base = w * 64;
                let mut words = vec![0u64; count];
                for bit in 0..64.min(len - base) {
                    let flags = f(base + bit);
                    for (i, word) in words.iter_mut().enumerate() {
                        *word |= u64::from((flags >> i) & 1) << bit;
                    }
                }
                words
            })
            .collect();
        (0..count)
            .map(|i| Bitmap {
                words: blocks.iter().map(|block| block[i]).collect(),
            })
            .collect()
    }

    pub fn get(&self, pos: u32) -> bool {
        self.words[pos as usize / 64] & (1 << (pos % 64)) != 0
    }

    /// Set bits in `start..end`.
    pub fn count(&self, start: u32, end: u32) -> u32 {
        self.fold_range(start, end, |w, _| w)
    }

    /// Positions in `start..end` set in both bitmaps.
    pub fn count_and(&self, other: &Bitmap, start: u32, end: u32) -> u32 {
        self.fold_range(start, end, |w, i| w & other.words[i])
    }

    pub fn first_set(&self, start: u32, end: u32) -> Option<u32> {
        let (start, end) = (start as usize, end as usize);
        let mut pos = start;
        while pos < end {
            let word = self.words[pos / 64] >> (pos % 64);
            if word != 0 {
                let found = pos + word.trailing_zeros() as usize;
                return (found < end).then_some(found as u32);
            }
            pos = (pos / 64 + 1) * 64;
        }
        None
    }

    fn fold_range(&self, start: u32, end: u32, word_at: impl Fn(u64, usize) -> u64) -> u32 {
        let (start, end) = (start as usize, end as usize);
        if start >= end {
            return 0;
        }
        let (first, last) = (start / 64, (end - 1) / 64);
        let mut total = 0;
        for i in first..=last {
            let mut word = word_at(self.words[i], i);
            if i == first {
                word &= u64::MAX << (start % 64);
            }
            if i == last && end % 64 != 0 {
                word &= u64::MAX >> (64 - end % 64);
            }
            total += word.count_ones();
        }
        total
    }
}

impl Bitmap {
    /// A bitmap of `len` positions, none set.
    pub fn empty(len: usize) -> Bitmap {
        Bitmap {
            words: vec![0; len.div_ceil(64)],
        }
    }

    pub fn set(&mut self, pos: u32) {
        self.words[pos as usize / 64] |= 1 << (pos % 64);
    }

    /// How many positions are set.
    pub fn count_all(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The positions set here and not in `other` (of the same length); `None` for `self`
    /// means every position of `len`.
    pub fn minus(this: Option<&Bitmap>, other: &Bitmap, len: usize) -> Bitmap {
        let words = match this {
            Some(bits) => bits
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & !b)
                .collect(),
            None => {
                let mut words: Vec<u64> = other.words.iter().map(|b| !b).collect();
                if !len.is_multiple_of(64)
                    && let Some(last) = words.last_mut()
                {
                    *last &= u64::MAX >> (64 - len % 64);
                }
                words
            }
        };
        Bitmap { words }
    }
}

impl Bitmap {
    /// A bitmap of `len` positions, all set.
    pub fn full(len: usize) -> Bitmap {
        Bitmap::minus(None, &Bitmap::empty(len), len)
    }

    /// Keeps the positions also set in `other` (of the same length).
    pub fn and_with(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// Adds the positions set in `other` (of the same length).
    pub fn or_with(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// The positions of `len` not set here.
    pub fn complement(&self, len: usize) -> Bitmap {
        Bitmap::minus(None, self, len)
    }

    /// The set positions, in increasing order.
    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros();
                    rest &= rest - 1;
                    (i * 64) as u32 + bit
                })
            })
        })
    }
}

/// Words a rank block covers: a count in a block reads at most this many words.
const RANK_BLOCK_WORDS: usize = 8;

/// A rank directory over one bitmap: how many positions are set before each block of
/// [`RANK_BLOCK_WORDS`] words, so that a range count reads at most two blocks' words however
/// long the range (a zoom-0 cluster spans most of a million leaves).
#[derive(Clone, Debug)]
pub struct Ranks {
    before: Vec<u32>,
}

impl Ranks {
    pub fn of(bits: &Bitmap) -> Ranks {
        let mut total = 0u32;
        let before = bits
            .words
            .chunks(RANK_BLOCK_WORDS)
            .map(|block| {
                let at = total;
                total += block.iter().map(|w| w.count_ones()).sum::<u32>();
                at
            })
            .collect();
        Ranks { before }
    }

    /// Set positions of `bits` (the bitmap these ranks were made of) before `pos`.
    fn rank(&self, bits: &Bitmap, pos: u32) -> u32 {
        let pos = pos as usize;
        let word = pos / 64;
        let block = word / RANK_BLOCK_WORDS;
        let Some(&before) = self.before.get(block) else {
            // `pos` is the end of a bitmap of whole blocks: everything is before it.
            return bits.words.iter().map(|w| w.count_ones()).sum();
        };
        let whole: u32 = bits.words[block * RANK_BLOCK_WORDS..word]
            .iter()
            .map(|w| w.count_ones())
            .sum();
        let partial = if pos.is_multiple_of(64) {
            0
        } else {
            (bits.words[word] & (u64::MAX >> (64 - pos % 64))).count_ones()
        };
        before + whole + partial
    }

    /// Set positions of `bits` in `start..end`, as [`Bitmap::count`] finds them.
    pub fn count(&self, bits: &Bitmap, start: u32, end: u32) -> u32 {
        if start >= end {
            return 0;
        }
        self.rank(bits, end) - self.rank(bits, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_counts_match_plain_counts() {
        for len in [0usize, 1, 63, 64, 65, 511, 512, 513, 2000, 4099] {
            let bits = Bitmap::from_fn(len, |i| (i * 7919) % 5 < 2 || i % 97 == 0);
            let ranks = Ranks::of(&bits);
            let len = len as u32;
            let mut cuts = vec![0, len, len / 2, len / 3, 64.min(len), 512.min(len)];
            cuts.extend((0..len).step_by(37));
            for &s in &cuts {
                for &e in &cuts {
                    assert_eq!(
                        ranks.count(&bits, s, e),
                        bits.count(s, e),
                        "{len}: {s}..{e}"
                    );
                }
            }
        }
    }

    #[test]
    fn ranges_match_a_scan() {
        let bits = Bitmap::from_fn(200, |i| i % 3 == 0);
        let split = Bitmap::per_bit(200, 2, |i| {
            u32::from(i % 3 == 0) | (u32::from(i % 2 == 0) << 1)
        });
        assert_eq!(split[0].words, bits.words);
        assert_eq!(split[1].count(0, 200), 100);
        let naive = |s: u32, e: u32| (s..e).filter(|i| i % 3 == 0).count() as u32;
        for (s, e) in [
            (0, 200),
            (1, 64),
            (63, 65),
            (64, 128),
            (5, 6),
            (6, 7),
            (190, 200),
            (10, 10),
        ] {
            assert_eq!(bits.count(s, e), naive(s, e), "{s}..{e}");
        }
        assert_eq!(bits.first_set(1, 200), Some(3));
        assert_eq!(bits.first_set(4, 6), None);
        assert_eq!(bits.first_set(190, 200), Some(192));
    }

    #[test]
    fn minus_removes_the_other_set() {
        let threes = Bitmap::from_fn(130, |i| i % 3 == 0);
        let mut hidden = Bitmap::empty(130);
        hidden.set(3);
        hidden.set(129);
        let kept = Bitmap::minus(Some(&threes), &hidden, 130);
        assert_eq!(kept.count_all(), threes.count_all() - 2);
        let all_but = Bitmap::minus(None, &hidden, 130);
        assert_eq!(all_but.count_all(), 128);
        assert!(!all_but.get(3) && all_but.get(4));
    }

    #[test]
    fn set_algebra_matches_the_positions() {
        let len = 200;
        let threes = Bitmap::from_fn(len, |i| i % 3 == 0);
        let fives = Bitmap::from_fn(len, |i| i % 5 == 0);
        let mut both = threes.clone();
        both.and_with(&fives);
        let mut either = threes.clone();
        either.or_with(&fives);
        let ones = |b: &Bitmap| b.ones().collect::<Vec<_>>();
        let want = |f: &dyn Fn(u32) -> bool| (0..len as u32).filter(|i| f(*i)).collect::<Vec<_>>();
        assert_eq!(ones(&both), want(&|i| i % 15 == 0));
        assert_eq!(ones(&either), want(&|i| i % 3 == 0 || i % 5 == 0));
        assert_eq!(ones(&threes.complement(len)), want(&|i| i % 3 != 0));
        assert_eq!(Bitmap::full(len).count_all(), len);
        assert_eq!(Bitmap::full(130).ones().last(), Some(129));
    }
}
