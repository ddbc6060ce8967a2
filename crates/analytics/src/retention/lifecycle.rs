//! The lifecycle kernel: per interval, how many active people are new,
//! returning or resurrecting, and how many went dormant.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::retention::calendar::Interval;
use crate::runs::{Kernel, Visit};

/// Mask bit of rows meeting the lifecycle's event condition.
pub const ACTIVE: u64 = 1;

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct LifecyclePlan {
    pub interval: Interval,
    /// Intervals kept (ordinals).
    pub intervals: RangeInclusive<i64>,
}

/// People per status in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub new: u64,
    pub returning: u64,
    pub resurrecting: u64,
    pub dormant: u64,
}

#[derive(Debug)]
pub struct LifecycleKernel<'a> {
    plan: &'a LifecyclePlan,
    pub statuses: HashMap<i64, StatusCounts>,
    /// The earliest interval anyone was active in.
    pub earliest: Option<i64>,
    /// Time of the newest event seen, of any kind.
    pub newest: Option<i64>,
    active: Vec<i64>,
}

impl<'a> LifecycleKernel<'a> {
    pub fn new(plan: &'a LifecyclePlan) -> Self {
        LifecycleKernel {
            plan,
            statuses: HashMap::new(),
            earliest: None,
            newest: None,
            active: Vec::new(),
        }
    }
}

impl Kernel for LifecycleKernel<'_> {
    fn person(&mut self, _key: u64, visits: &[Visit]) {
        let plan = self.plan;
        if let Some(last) = visits.last() {
            self.newest = self.newest.max(Some(last.time));
        }
        plan.interval.active(visits, ACTIVE, &mut self.active);
        let Some(&first) = self.active.first() else {
            return;
        };
        self.earliest = Some(self.earliest.map_or(first, |e| e.min(first)));
        for (i, &now) in self.active.iter().enumerate() {
            if plan.intervals.contains(&now) {
                let counts = self.statuses.entry(now).or_default();
                if i == 0 {
                    counts.new += 1;
                } else if self.active[i - 1] == now - 1 {
                    counts.returning += 1;
                } else {
                    counts.resurrecting += 1;
                }
            }
            let next = now + 1;
            if self.active.get(i + 1) != Some(&next) && plan.intervals.contains(&next) {
                self.statuses.entry(next).or_default().dormant += 1;
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for (interval, theirs) in other.statuses {
            let mine = self.statuses.entry(interval).or_default();
            mine.new += theirs.new;
            mine.returning += theirs.returning;
            mine.resurrecting += theirs.resurrecting;
            mine.dormant += theirs.dormant;
        }
        self.earliest = match (self.earliest, other.earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.newest = self.newest.max(other.newest);
    }
}
