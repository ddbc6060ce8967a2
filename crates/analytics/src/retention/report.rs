//! What retention and lifecycle queries answer, built from kernel counts.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::retention::calendar::Interval;
use crate::retention::lifecycle::StatusCounts;

/// Which start events make cohorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionType {
    /// Only the interval of a person's first start event ever.
    FirstTime,
    /// Every interval with a start event (PostHog's default).
    Recurring,
}

impl RetentionType {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "first_time" => Ok(RetentionType::FirstTime),
            "recurring" => Ok(RetentionType::Recurring),
            _ => Err(format!(
                "retention_type: expected 'first_time' or 'recurring', not '{text}'"
            )),
        }
    }
}

/// One cohort: the people whose cohort interval starts on `start`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortRow {
    /// First day of the cohort's interval (ISO date, UTC).
    pub start: String,
    pub size: u64,
    /// People per period, from period 0 (the size) to the last period that
    /// has begun: later cohorts have fewer.
    pub values: Vec<u64>,
    /// `values` over `size`.
    pub rates: Vec<f64>,
}

/// Every cohort together, weighted by size.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AggregateRow {
    /// People of every cohort (a person is counted once per cohort).
    pub size: u64,
    /// Per period: people who came back, over the cohorts that reached it.
    pub values: Vec<u64>,
    /// Per period: people of the cohorts that reached it.
    pub sizes: Vec<u64>,
    /// `values` over `sizes`.
    pub rates: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionReport {
    pub interval: Interval,
    pub retention_type: RetentionType,
    pub cumulative: bool,
    pub periods: usize,
    /// First day of the interval holding the newest event: no period or
    /// cohort after it is reported. `None` when there are no events.
    pub horizon: Option<String>,
    pub cohorts: Vec<CohortRow>,
    pub aggregate: AggregateRow,
}

/// One interval's people by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleRow {
    /// First day of the interval (ISO date, UTC).
    pub start: String,
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    /// People active in the previous interval and not in this one, as a
    /// negative number (PostHog's convention).
    pub dormant: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifecycleReport {
    pub interval: Interval,
    /// As in [`RetentionReport::horizon`].
    pub horizon: Option<String>,
    pub intervals: Vec<LifecycleRow>,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A row per cohort in `cohorts` (all at or before `horizon`), each cut
/// after the horizon's period.
pub fn cohort_rows(
    counts: &HashMap<i64, Vec<u64>>,
    cohorts: RangeInclusive<i64>,
    horizon: i64,
    periods: usize,
    interval: Interval,
) -> Vec<CohortRow> {
    cohorts
        .map(|cohort| {
            let begun = (horizon - cohort + 1).clamp(1, periods as i64) as usize;
            let values = counts
                .get(&cohort)
                .map_or_else(|| vec![0; begun], |v| v[..begun].to_vec());
            let size = values[0];
            CohortRow {
                start: interval.start(cohort).to_string(),
                size,
                rates: values.iter().map(|&v| share(v, size)).collect(),
                values,
            }
        })
        .collect()
}

/// The cohorts added up period by period, each period over the cohorts
/// that reached it, so that cohorts too recent for a period do not pull
/// its rate down.
pub fn aggregate(rows: &[CohortRow]) -> AggregateRow {
    let longest = rows.iter().map(|r| r.values.len()).max().unwrap_or(0);
    let mut total = AggregateRow {
        size: rows.iter().map(|r| r.size).sum(),
        values: vec![0; longest],
        sizes: vec![0; longest],
        rates: Vec::new(),
    };
    for row in rows {
        for (k, &value) in row.values.iter().enumerate() {
            total.values[k] += value;
            total.sizes[k] += row.size;
        }
    }
    total.rates = total
        .values
        .iter()
        .zip(&total.sizes)
        .map(|(&v, &s)| share(v, s))
        .collect();
    total
}

/// A row per interval in `intervals`.
pub fn lifecycle_rows(
    statuses: &HashMap<i64, StatusCounts>,
    intervals: RangeInclusive<i64>,
    interval: Interval,
) -> Vec<LifecycleRow> {
    intervals
        .map(|ordinal| {
            let counts = statuses.get(&ordinal).copied().unwrap_or_default();
            LifecycleRow {
                start: interval.start(ordinal).to_string(),
                new: counts.new,
                returning: counts.returning,
                resurrecting: counts.resurrecting,
                dormant: -i64::try_from(counts.dormant).unwrap_or(i64::MAX),
            }
        })
        .collect()
}
