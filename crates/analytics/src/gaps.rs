//! Durations in ms kept whole, so that medians and percentiles are exact.
//!
//! A journey map at 100M events holds about 100M gaps. Three things make
//! that cheap:
//! * values that fit 32 bits (under 49 days: nearly all) take 4 bytes, the
//!   rest (negative or longer) are kept apart as `i64`;
//! * the 32-bit values live in blocks of a fixed size, so growing never
//!   copies them (past the first block) and merging two threads' gaps
//!   moves blocks, not values;
//! * a rank is found by radix selection: a pass finds the greatest value,
//!   one counts the values by their top 16 significant bits, a last one
//!   gathers the one bucket that holds the rank, and only that bucket is
//!   searched.

use crate::summary::Durations;

/// Values per block.
const BLOCK: usize = 1 << 16;
/// Up to this many 32-bit values, ranks come from a plain sort.
const SORT_UP_TO: usize = 1 << 16;
/// Bits of the bucket number in radix selection.
const RADIX_BITS: u32 = 16;

#[derive(Debug, Clone, Default)]
pub struct Gaps {
    /// Full blocks (and blocks taken from merged gaps).
    blocks: Vec<Vec<u32>>,
    /// The block being filled.
    tail: Vec<u32>,
    /// Values below 0 or above `u32::MAX`: every value in `blocks` lies
    /// between the negative ones and the large ones.
    other: Vec<i64>,
    negative: usize,
    sum: i128,
}

impl Gaps {
    #[inline]
    pub fn push(&mut self, ms: i64) {
        self.sum += i128::from(ms);
        match u32::try_from(ms) {
            Ok(value) => {
                if self.tail.len() == self.tail.capacity() {
                    self.make_room();
                }
                self.tail.push(value);
            }
            Err(_) => {
                self.negative += usize::from(ms < 0);
                self.other.push(ms);
            }
        }
    }

    /// Grows the first block from small, for the many short lists; later
    /// blocks are allocated whole and set aside when full.
    #[cold]
    fn make_room(&mut self) {
        if self.tail.len() >= BLOCK {
            let full = std::mem::replace(&mut self.tail, Vec::with_capacity(BLOCK));
            self.blocks.push(full);
        } else {
            self.tail.reserve(self.tail.len().max(8));
        }
    }

    /// The 32-bit values, block by block.
    fn small_values(&self) -> impl Iterator<Item = &[u32]> {
        self.blocks
            .iter()
            .map(Vec::as_slice)
            .chain([self.tail.as_slice()])
    }

    fn small_len(&self) -> usize {
        self.small_values().map(<[u32]>::len).sum()
    }

    pub fn len(&self) -> usize {
        self.small_len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn extend(&mut self, more: Gaps) {
        self.blocks.extend(more.blocks);
        if !more.tail.is_empty() {
            self.blocks.push(more.tail);
        }
        self.other.extend(more.other);
        self.negative += more.negative;
        self.sum += more.sum;
    }

    /// The values of the given ranks (0-based, ascending order).
    fn at_ranks(&mut self, ranks: &[usize]) -> Vec<i64> {
        self.other.sort_unstable();
        let small = self.small_len();
        let in_blocks: Vec<usize> = ranks
            .iter()
            .filter(|&&r| (self.negative..self.negative + small).contains(&r))
            .map(|r| r - self.negative)
            .collect();
        let blocks: Vec<&[u32]> = self.small_values().collect();
        let found = small_at_ranks(&blocks, small, &in_blocks);
        ranks
            .iter()
            .map(|&r| {
                if r < self.negative {
                    self.other[r]
                } else if r < self.negative + small {
                    let i = in_blocks.iter().position(|&b| b == r - self.negative);
                    i64::from(found[i.expect("a rank asked of the blocks")])
                } else {
                    self.other[r - small]
                }
            })
            .collect()
    }

    /// Mean, and the median and 90th percentile interpolated linearly
    /// between the two nearest ranks (the definition numpy, pandas and
    /// pm4py use).
    pub fn durations(mut self) -> Durations {
        let count = self.len();
        if count == 0 {
            return Durations::default();
        }
        let positions = [0.5, 0.9].map(|q| q * (count - 1) as f64);
        let mut ranks: Vec<usize> = positions
            .iter()
            .flat_map(|p| [p.floor() as usize, p.ceil() as usize])
            .collect();
        ranks.sort_unstable();
        ranks.dedup();
        let values = self.at_ranks(&ranks);
        let value = |rank: usize| values[ranks.iter().position(|&r| r == rank).unwrap()] as f64;
        let [median, p90] = positions.map(|p| {
            let (low, high) = (value(p.floor() as usize), value(p.ceil() as usize));
            low + (high - low) * (p - p.floor())
        });
        Durations {
            count: count as u64,
            mean_ms: Some(self.sum as f64 / count as f64),
            median_ms: Some(median),
            p90_ms: Some(p90),
        }
    }
}

/// The values of `ranks` among the `count` values in `blocks`.
fn small_at_ranks(blocks: &[&[u32]], count: usize, ranks: &[usize]) -> Vec<u32> {
    if ranks.is_empty() {
        return Vec::new();
    }
    if count <= SORT_UP_TO {
        let mut all = blocks.concat();
        all.sort_unstable();
        return ranks.iter().map(|&r| all[r]).collect();
    }
    // Buckets by the top significant bits: the spread of the values, not
    // of the type, decides the width.
    let largest = blocks
        .iter()
        .map(|b| b.iter().copied().max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let shift = (32 - largest.leading_zeros()).saturating_sub(RADIX_BITS);
    let mut per_bucket = vec![0usize; 1 << RADIX_BITS];
    for &value in blocks.iter().copied().flatten() {
        per_bucket[(value >> shift) as usize] += 1;
    }
    // Each rank's bucket, and its rank within the bucket.
    let place = |rank: usize| -> (usize, usize) {
        let mut below = 0;
        for (bucket, &n) in per_bucket.iter().enumerate() {
            if rank < below + n {
                return (bucket, rank - below);
            }
            below += n;
        }
        unreachable!("rank {rank} of {count} values")
    };
    let places: Vec<(usize, usize)> = ranks.iter().map(|&r| place(r)).collect();
    // By bucket, one plus its slot among the gathered buckets (0: not wanted).
    let mut slot_of = vec![0u8; 1 << RADIX_BITS];
    let mut gathered: Vec<Vec<u32>> = Vec::new();
    for &(bucket, _) in &places {
        if slot_of[bucket] == 0 {
            gathered.push(Vec::with_capacity(per_bucket[bucket]));
            slot_of[bucket] = gathered.len() as u8;
        }
    }
    for &value in blocks.iter().copied().flatten() {
        let slot = slot_of[(value >> shift) as usize];
        if slot != 0 {
            gathered[slot as usize - 1].push(value);
        }
    }
    places
        .iter()
        .map(|&(bucket, within)| {
            let values = &mut gathered[slot_of[bucket] as usize - 1];
            *values.select_nth_unstable(within).1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's linear quantile, from a full sort.
    fn sorted_quantile(values: &[i64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let position = q * (sorted.len() - 1) as f64;
        let (low, high) = (position.floor() as usize, position.ceil() as usize);
        sorted[low] as f64 + (sorted[high] - sorted[low]) as f64 * (position - low as f64)
    }

    fn check(values: &[i64]) {
        let d = Durations::of(values.to_vec());
        assert_eq!(d.count, values.len() as u64);
        assert_eq!(d.median_ms, Some(sorted_quantile(values, 0.5)));
        assert_eq!(d.p90_ms, Some(sorted_quantile(values, 0.9)));
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        assert!((d.mean_ms.unwrap() - mean).abs() < 1e-6 * mean.abs().max(1.0));
    }

    fn random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.5, 0.9]) == [2.5, 3.7]
        let d = Durations::of(vec![4, 1, 3, 2]);
        assert_eq!(d.median_ms, Some(2.5));
        assert!((d.p90_ms.unwrap() - 3.7).abs() < 1e-9);
        assert_eq!(d.mean_ms, Some(2.5));
        assert_eq!(Durations::of(vec![]).median_ms, None);
    }

    #[test]
    fn ranks_across_negative_small_and_large_values_equal_a_sort() {
        // Medians whose two ranks lie within or across the three kinds.
        let crossings: [&[i64]; 4] = [
            &[-5, -4, -3, -2, -1, -7, -8, -9, 3, 1 << 33],
            &[-3, -2, 5, 6],
            &[1, 2, 1 << 33, 1 << 34],
            &[-1, 1 << 33],
        ];
        for values in crossings {
            check(values);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for len in [1, 2, 3, 10, 101, 1000] {
            let values: Vec<i64> = (0..len)
                .map(|_| {
                    let r = random(&mut state);
                    match r % 5 {
                        0 => -((r >> 20) as i64 % 1000),
                        1 => (1 << 32) + (r >> 20) as i64 % 1000,
                        _ => (r >> 20) as i64 % 5000,
                    }
                })
                .collect();
            check(&values);
        }
    }

    #[test]
    fn radix_selection_over_many_blocks_equals_a_sort() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let n = 3 * BLOCK + 17;
        // Spread wide, skewed like real gaps, crowded into one bucket, all
        // equal, and with the rank of the p90 among values above 2^32.
        let shapes: [&dyn Fn(u64) -> i64; 5] = [
            &|r| (r >> 33) as i64,
            &|r| (1i64 << ((r >> 58) % 31)) | ((r >> 40) as i64 % 1000),
            &|r| 1_000_000 + (r >> 60) as i64,
            &|_| 42,
            &|r| {
                if r % 10 < 2 {
                    (1 << 33) + (r >> 40) as i64
                } else {
                    (r >> 45) as i64 - 100
                }
            },
        ];
        for shape in shapes {
            let values: Vec<i64> = (0..n).map(|_| shape(random(&mut state))).collect();
            check(&values);
            // The same values pushed by two threads and merged.
            let (a, b) = values.split_at(n / 3);
            let (mut left, mut right) = (Gaps::default(), Gaps::default());
            a.iter().for_each(|&v| left.push(v));
            b.iter().for_each(|&v| right.push(v));
            left.extend(right);
            left.push(7);
            let mut all = values.clone();
            all.push(7);
            let merged = left.durations();
            assert_eq!(merged.median_ms, Some(sorted_quantile(&all, 0.5)));
            assert_eq!(merged.p90_ms, Some(sorted_quantile(&all, 0.9)));
        }
    }
}
