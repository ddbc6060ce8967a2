//! Summaries of durations: mean, median and 90th percentile (exact, see
//! `gaps`), and histograms.

use serde::Serialize;

use crate::gaps::Gaps;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
