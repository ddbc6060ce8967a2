//! Summaries of durations: mean, median and 90th percentile, exact.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub mean_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub p90_ms: Option<f64>,
}

/// The `q` quantile of sorted values, interpolated linearly between the
/// two nearest ranks (the definition numpy, pandas and pm4py use).
pub fn quantile(sorted: &[i64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let fraction = position - low as f64;
    Some(sorted[low] as f64 + (sorted[high] - sorted[low]) as f64 * fraction)
}

impl Durations {
    pub fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let count = values.len() as u64;
        let mean_ms =
            (count > 0).then(|| values.iter().map(|&v| v as f64).sum::<f64>() / count as f64);
        Durations {
            count,
            mean_ms,
            median_ms: quantile(&values, 0.5),
            p90_ms: quantile(&values, 0.9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.5, 0.9]) == [2.5, 3.7]
        let d = Durations::of(vec![4, 1, 3, 2]);
        assert_eq!(d.median_ms, Some(2.5));
        assert!((d.p90_ms.unwrap() - 3.7).abs() < 1e-9);
        assert_eq!(d.mean_ms, Some(2.5));
        assert_eq!(Durations::of(vec![]).median_ms, None);
    }
}
