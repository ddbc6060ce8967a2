//! Small sampling helpers over the per-profile PRNG.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

pub(crate) type ProfileRng = Pcg64Mcg;

pub(crate) fn chance(rng: &mut ProfileRng, probability: f64) -> bool {
    rng.random::<f64>() < probability
}

/// Uniform in `[lo, hi)`, or `lo` when the range is empty.
pub(crate) fn uniform(rng: &mut ProfileRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

pub(crate) fn pick<T: Copy>(rng: &mut ProfileRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

pub(crate) fn pick_index(rng: &mut ProfileRng, len: usize) -> usize {
    rng.random_range(0..len)
}

pub(crate) fn weighted<T: Copy>(rng: &mut ProfileRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, w)| w).sum();
    let mut ticket = rng.random_range(0..total);
    for &(item, weight) in items {
        if ticket < weight {
            return item;
        }
        ticket -= weight;
    }
    items[items.len() - 1].0
}

/// An item of `items` picked with probability proportional to `weight`.
pub(crate) fn weighted_by<'a, T>(
    rng: &mut ProfileRng,
    items: &'a [T],
    weight: impl Fn(&T) -> u32,
) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut ticket = rng.random_range(0..total);
    for item in items {
        let w = weight(item);
        if ticket < w {
            return item;
        }
        ticket -= w;
    }
    &items[items.len() - 1]
}

/// Knuth's multiplication method; the means used here stay small.
pub(crate) fn poisson(rng: &mut ProfileRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        // Split large means so `exp(-mean)` does not underflow.
        let half = mean / 2.0;
        return poisson(rng, half) + poisson(rng, mean - half);
    }
    let limit = (-mean).exp();
    let mut product = rng.random::<f64>();
    let mut count = 0;
    while product > limit {
        product *= rng.random::<f64>();
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = ProfileRng::seed_from_u64(3);
        for mean in [0.5, 4.0, 75.0] {
            let n = 20_000;
            let total: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, mean))).sum();
            let observed = total as f64 / f64::from(n);
            assert!(
                (observed - mean).abs() < mean * 0.05 + 0.02,
                "{mean}: {observed}"
            );
        }
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut rng = ProfileRng::seed_from_u64(4);
        for _ in 0..1000 {
            assert_eq!(weighted(&mut rng, &[(1, 0), (2, 5), (3, 0)]), 2);
        }
    }
}
