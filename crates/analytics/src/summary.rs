//! Summaries of durations: mean, median and 90th percentile, exact.
//!
//! Quantiles are found by selection, not by sorting: a journey map at 100M
//! events holds about 100M gaps, and sorting them was most of its time.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

impl Durations {
    pub fn of(values: Vec<i64>) -> Self {
        let mut gaps = Gaps::default();
        for v in values {
            gaps.push(v);
        }
        gaps.durations()
    }
}

/// One bar of a histogram: values in `[from_ms, to_ms)`, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bin {
    pub from_ms: i64,
    pub to_ms: i64,
    pub count: u64,
}

/// At most `bins` bars of one width from the least value to the greatest,
/// as PostHog draws time to convert; fewer when the values span fewer ms.
pub fn histogram(values: &[i64], bins: usize) -> Vec<Bin> {
    let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    let bins = bins.max(1) as i64;
    // The smallest whole width that puts `max` inside the last bar.
    let width = (max - min) / bins + 1;
    let used = ((max - min) / width + 1) as usize;
    let mut out: Vec<Bin> = (0..used as i64)
        .map(|i| Bin {
            from_ms: min + i * width,
            to_ms: min + (i + 1) * width,
            count: 0,
        })
        .collect();
    for v in values {
        out[((v - min) / width) as usize].count += 1;
    }
    out
}

/// Durations in ms, held in half the memory when they fit in 32 bits (under
/// 49 days, nearly all of them). Every value in `small` lies between the
/// negative and the large values of `other`, so a rank is found in one of
/// the two without merging them.
#[derive(Debug, Clone, Default)]
pub struct Gaps {
    small: Vec<u32>,
    other: Vec<i64>,
    negative: usize,
    sum: i128,
}

impl Gaps {
    pub fn push(&mut self, ms: i64) {
        self.sum += i128::from(ms);
        match u32::try_from(ms) {
            Ok(small) => self.small.push(small),
            Err(_) => {
                self.negative += usize::from(ms < 0);
                self.other.push(ms);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.small.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn extend(&mut self, more: Gaps) {
        self.small.extend(more.small);
        self.other.extend(more.other);
        self.negative += more.negative;
        self.sum += more.sum;
    }

    /// The value of rank `k` (0-based) in ascending order; reorders the
    /// values but keeps them all.
    fn at_rank(&mut self, k: usize) -> i64 {
        if k < self.negative {
            *self.other.select_nth_unstable(k).1
        } else if k < self.negative + self.small.len() {
            i64::from(*self.small.select_nth_unstable(k - self.negative).1)
        } else {
            *self.other.select_nth_unstable(k - self.small.len()).1
        }
    }

    /// The values of ranks `k` and `k + 1` (which must exist) with one
    /// selection: the next one is the least of those ranked after `k`.
    fn at_rank_and_next(&mut self, k: usize) -> (i64, i64) {
        let least = |values: &[i64]| values.iter().copied().min();
        let (value, next) = if k < self.negative {
            let (_, value, after) = self.other.select_nth_unstable(k);
            let small = self.small.iter().copied().min().map(i64::from);
            (*value, least(after).into_iter().chain(small).min())
        } else if k < self.negative + self.small.len() {
            let (_, value, after) = self.small.select_nth_unstable(k - self.negative);
            let next = match after.iter().copied().min() {
                Some(next) => Some(i64::from(next)),
                None => self.other.iter().copied().filter(|&v| v >= 0).min(),
            };
            (i64::from(*value), next)
        } else {
            let (_, value, after) = self.other.select_nth_unstable(k - self.small.len());
            (*value, least(after))
        };
        (value, next.expect("a value ranked after k"))
    }

    /// The `q` quantile, interpolated linearly between the two nearest
    /// ranks (the definition numpy, pandas and pm4py use).
    fn quantile(&mut self, q: f64) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let position = q * (self.len() - 1) as f64;
        let low = position.floor() as usize;
        let fraction = position - low as f64;
        if fraction == 0.0 {
            return Some(self.at_rank(low) as f64);
        }
        let (at_low, at_high) = self.at_rank_and_next(low);
        Some(at_low as f64 + (at_high - at_low) as f64 * fraction)
    }

    pub fn durations(mut self) -> Durations {
        let count = self.len() as u64;
        Durations {
            count,
            mean_ms: (count > 0).then(|| self.sum as f64 / count as f64),
            median_ms: self.quantile(0.5),
            p90_ms: self.quantile(0.9),
        }
    }
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

    #[test]
    fn histograms_cover_every_value_in_equal_bars() {
        let bars = histogram(&[0, 5, 9, 10, 29], 3);
        // Width 29 / 3 + 1 = 10: [0, 10) [10, 20) [20, 30).
        let counts: Vec<(i64, u64)> = bars.iter().map(|b| (b.from_ms, b.count)).collect();
        assert_eq!(counts, [(0, 3), (10, 1), (20, 1)]);
        assert_eq!(bars[2].to_ms, 30);
        let same = histogram(&[7, 7], 10);
        assert_eq!(
            same,
            [Bin {
                from_ms: 7,
                to_ms: 8,
                count: 2
            }]
        );
        assert!(histogram(&[], 5).is_empty());
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
    fn selection_across_negative_small_and_large_values_equals_a_sort() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        // Medians whose two ranks lie within or across the three kinds.
        let crossings: [&[i64]; 4] = [
            &[-5, -4, -3, -2, -1, -7, -8, -9, 3, 1 << 33],
            &[-3, -2, 5, 6],
            &[1, 2, 1 << 33, 1 << 34],
            &[-1, 1 << 33],
        ];
        for values in crossings {
            let d = Durations::of(values.to_vec());
            assert_eq!(
                d.median_ms,
                Some(sorted_quantile(values, 0.5)),
                "{values:?}"
            );
            assert_eq!(d.p90_ms, Some(sorted_quantile(values, 0.9)), "{values:?}");
        }
        for len in [1, 2, 3, 10, 101, 1000] {
            let values: Vec<i64> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    match state % 5 {
                        0 => -((state >> 20) as i64 % 1000),
                        1 => (1 << 32) + (state >> 20) as i64 % 1000,
                        _ => (state >> 20) as i64 % 5000,
                    }
                })
                .collect();
            let d = Durations::of(values.clone());
            assert_eq!(d.median_ms, Some(sorted_quantile(&values, 0.5)), "{len}");
            assert_eq!(d.p90_ms, Some(sorted_quantile(&values, 0.9)), "{len}");
            let mean = values.iter().sum::<i64>() as f64 / len as f64;
            assert!((d.mean_ms.unwrap() - mean).abs() < 1e-6);
        }
    }
}
