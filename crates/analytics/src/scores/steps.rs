//! The step drill-down: how much each move between a designed journey's
//! stages explains the change of the completion rate.
//!
//! An instance **reaches** a stage when that stage or any later one
//! happened in it (so skipping a stage does not count as dropping there);
//! a completed instance reached them all. The completion rate is then the
//! product of the step conversions `reached[j] / reached[j-1]`, and its
//! change between two periods is split between the steps by the Shapley
//! value of each factor of that product: exact (the parts add up to the
//! change), independent of the steps' order, and defined when a
//! conversion is zero, which the log-based split is not.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::query::Breakdown;

/// What the scores drill-down splits the change by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillDownBy {
    /// Groups of instances (channel, property or segment).
    Group(Breakdown),
    /// The steps between the stages of the journey.
    Step,
}

impl DrillDownBy {
    /// `step`, or a breakdown (`channel`, `property:<name>`,
    /// `segment:<name>`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "step" {
            return Ok(DrillDownBy::Step);
        }
        Breakdown::parse(text)
            .map(DrillDownBy::Group)
            .map_err(|e| format!("{e}, or 'step'"))
    }

    pub fn breakdown(&self) -> Option<&Breakdown> {
        match self {
            DrillDownBy::Group(b) => Some(b),
            DrillDownBy::Step => None,
        }
    }
}

impl Serialize for DrillDownBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DrillDownBy::Group(b) => b.serialize(s),
            DrillDownBy::Step => s.serialize_str("step"),
        }
    }
}

impl<'de> Deserialize<'de> for DrillDownBy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DrillDownBy::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A stage of the journey in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReach {
    pub stage: String,
    /// Instances that reached it.
    pub reached: u64,
    /// Share of those that reached the stage before (1 for the start).
    pub conversion: f64,
}

/// One step's part in the change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepChange {
    pub from: String,
    pub to: String,
    /// Instances at `from`, comparison period first.
    pub entered: [u64; 2],
    /// Of them, instances that reached `to`.
    pub moved_on: [u64; 2],
    pub conversion: [f64; 2],
    /// This step's part of the completion-rate change.
    pub contribution: f64,
}

/// Each stage's reach, from `reached` (instances per stage, start first).
pub fn stage_reach(names: &[String], reached: &[u64]) -> Vec<StageReach> {
    names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let count = reached.get(j).copied().unwrap_or(0);
            StageReach {
                stage: name.clone(),
                reached: count,
                conversion: if j == 0 {
                    1.0
                } else {
                    conversion(reached.get(j - 1).copied().unwrap_or(0), count)
                },
            }
        })
        .collect()
}

fn conversion(entered: u64, moved_on: u64) -> f64 {
    if entered == 0 {
        0.0
    } else {
        moved_on as f64 / entered as f64
    }
}

/// The steps between consecutive stages with their parts of the change;
/// `before` and `after` are the stages' reach in the comparison period and
/// in the period.
pub fn step_changes(names: &[String], before: &[u64], after: &[u64]) -> Vec<StepChange> {
    let count = |reached: &[u64], j: usize| reached.get(j).copied().unwrap_or(0);
    let steps = 1..names.len();
    let rates = |reached: &[u64]| -> Vec<f64> {
        steps
            .clone()
            .map(|j| conversion(count(reached, j - 1), count(reached, j)))
            .collect()
    };
    let (r0, r1) = (rates(before), rates(after));
    let shares = product_change_shares(&r0, &r1);
    steps
        .map(|j| StepChange {
            from: names[j - 1].clone(),
            to: names[j].clone(),
            entered: [count(before, j - 1), count(after, j - 1)],
            moved_on: [count(before, j), count(after, j)],
            conversion: [r0[j - 1], r1[j - 1]],
            contribution: shares[j - 1],
        })
        .collect()
}

/// The Shapley value of each factor in the change of a product from
/// `before` to `after`: factor `j`'s marginal change, averaged over every
/// order in which the factors could switch from their value before to
/// their value after.
///
/// Over the coalitions `S` of the other factors, the marginal of `j` is
/// `(after_j − before_j) · Π_{S} after · Π_{others ∖ S} before`, weighted
/// by `|S|!(n−1−|S|)!/n!`. The sum over coalitions of one size is a
/// coefficient of `Π_{i≠j} (before_i + after_i·x)`, so each value costs
/// O(n²) rather than 2ⁿ.
pub fn product_change_shares(before: &[f64], after: &[f64]) -> Vec<f64> {
    let n = before.len();
    (0..n)
        .map(|j| {
            let mut poly = vec![1.0];
            for i in (0..n).filter(|&i| i != j) {
                let mut next = vec![0.0; poly.len() + 1];
                for (k, c) in poly.iter().enumerate() {
                    next[k] += c * before[i];
                    next[k + 1] += c * after[i];
                }
                poly = next;
            }
            let weighted: f64 = poly
                .iter()
                .enumerate()
                .map(|(k, c)| c / (n as f64 * binomial(n - 1, k)))
                .sum();
            (after[j] - before[j]) * weighted
        })
        .collect()
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every coalition of the other factors, weighted.
    fn shapley_by_coalitions(before: &[f64], after: &[f64]) -> Vec<f64> {
        let n = before.len();
        let value = |set: u32| -> f64 {
            (0..n)
                .map(|i| {
                    if set & (1 << i) != 0 {
                        after[i]
                    } else {
                        before[i]
                    }
                })
                .product()
        };
        let factorial = |m: usize| (1..=m).map(|x| x as f64).product::<f64>();
        (0..n)
            .map(|j| {
                (0..1u32 << n)
                    .filter(|s| s & (1 << j) == 0)
                    .map(|s| {
                        let size = s.count_ones() as usize;
                        let weight = factorial(size) * factorial(n - 1 - size) / factorial(n);
                        weight * (value(s | 1 << j) - value(s))
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn shares_match_the_coalition_definition_and_add_up() {
        let cases: [(&[f64], &[f64]); 4] = [
            (&[0.5], &[0.25]),
            (&[0.9, 0.5], &[0.6, 0.5]),
            (&[0.8, 0.0, 0.7, 0.3], &[0.6, 0.4, 0.7, 0.9]),
            (&[0.3, 0.6, 0.9, 0.2, 0.5], &[0.4, 0.1, 0.95, 0.25, 0.5]),
        ];
        for (before, after) in cases {
            let shares = product_change_shares(before, after);
            let reference = shapley_by_coalitions(before, after);
            for (a, b) in shares.iter().zip(&reference) {
                assert!((a - b).abs() < 1e-12, "{shares:?} vs {reference:?}");
            }
            let change = after.iter().product::<f64>() - before.iter().product::<f64>();
            assert!((shares.iter().sum::<f64>() - change).abs() < 1e-12);
        }
    }

    #[test]
    fn an_unchanged_step_explains_nothing() {
        let shares = product_change_shares(&[0.9, 0.5, 0.8], &[0.6, 0.5, 0.8]);
        assert_eq!(shares[1], 0.0);
        assert_eq!(shares[2], 0.0);
        assert!((shares[0] - (0.6 - 0.9) * 0.5 * 0.8).abs() < 1e-12);
    }

    #[test]
    fn drill_down_text_is_a_breakdown_or_step() {
        assert_eq!(DrillDownBy::parse("step"), Ok(DrillDownBy::Step));
        assert_eq!(
            DrillDownBy::parse("channel"),
            Ok(DrillDownBy::Group(Breakdown::Channel))
        );
        assert!(DrillDownBy::parse("stage").unwrap_err().contains("'step'"));
    }
}
