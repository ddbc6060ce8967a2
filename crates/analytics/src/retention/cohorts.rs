//! The retention kernel: each person's cohorts, and the periods after each
//! in which they came back.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::retention::calendar::Interval;
use crate::runs::{Kernel, Visit};

/// Mask bit of rows meeting the start condition.
pub const START: u64 = 1;
/// Mask bit of rows meeting the return condition.
pub const RETURN: u64 = 2;

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct RetentionPlan {
    pub interval: Interval,
    /// Only the interval of a person's first start event is their cohort.
    pub first_time: bool,
    pub cumulative: bool,
    pub periods: usize,
    /// Cohorts kept (ordinals).
    pub cohorts: RangeInclusive<i64>,
}

#[derive(Debug)]
pub struct RetentionKernel<'a> {
    plan: &'a RetentionPlan,
    /// Per cohort ordinal, people per period; period 0 is the cohort size.
    pub counts: HashMap<i64, Vec<u64>>,
    /// Time of the newest event seen, of any kind.
    pub newest: Option<i64>,
    starts: Vec<i64>,
    returns: Vec<i64>,
}

impl<'a> RetentionKernel<'a> {
    pub fn new(plan: &'a RetentionPlan) -> Self {
        RetentionKernel {
            plan,
            counts: HashMap::new(),
            newest: None,
            starts: Vec::new(),
            returns: Vec::new(),
        }
    }
}

impl Kernel for RetentionKernel<'_> {
    fn person(&mut self, _key: u64, visits: &[Visit]) {
        let plan = self.plan;
        if let Some(last) = visits.last() {
            self.newest = self.newest.max(Some(last.time));
        }
        plan.interval.active(visits, START, &mut self.starts);
        if self.starts.is_empty() {
            return;
        }
        plan.interval.active(visits, RETURN, &mut self.returns);
        let cohorts = if plan.first_time {
            &self.starts[..1]
        } else {
            &self.starts[..]
        };
        let periods = plan.periods as i64;
        for &cohort in cohorts.iter().filter(|c| plan.cohorts.contains(c)) {
            let row = self
                .counts
                .entry(cohort)
                .or_insert_with(|| vec![0; plan.periods]);
            row[0] += 1;
            // Period 0 is the cohort itself; returns count from period 1.
            let after = self.returns.partition_point(|&r| r <= cohort);
            let returned = self.returns[after..]
                .iter()
                .map(|&r| r - cohort)
                .take_while(|&k| k < periods);
            if plan.cumulative {
                // Coming back in period k counts in every period up to k.
                if let Some(latest) = returned.last() {
                    for count in &mut row[1..=latest as usize] {
                        *count += 1;
                    }
                }
            } else {
                for k in returned {
                    row[k as usize] += 1;
                }
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for (cohort, counts) in other.counts {
            match self.counts.get_mut(&cohort) {
                Some(mine) => mine.iter_mut().zip(counts).for_each(|(m, c)| *m += c),
                None => {
                    self.counts.insert(cohort, counts);
                }
            }
        }
        self.newest = self.newest.max(other.newest);
    }
}
