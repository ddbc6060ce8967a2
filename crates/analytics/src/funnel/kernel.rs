//! The funnel over every person: levels reached, by group, with times.

use std::collections::HashMap;

use crate::funnel::chain::{entries_of, reach, Chain, Entry, FunnelMode};
use crate::runs::{Kernel, Visit};
use crate::segments::SegmentSplit;

/// An exclusion compiled: its condition bit and the steps it sits between
/// (1-based, `from < to`).
#[derive(Debug, Clone, Copy)]
pub struct ExclusionBits {
    pub bit: u32,
    pub from: usize,
    pub to: usize,
}

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct FunnelPlan {
    pub steps: usize,
    pub window: i64,
    pub mode: FunnelMode,
    pub exclusions: Vec<ExclusionBits>,
    pub group_by_channel: bool,
    /// Groups people by a segment instead of by their first step's event.
    pub segment_split: Option<SegmentSplit>,
    /// Keep the keys of people who stopped at this step (1-based).
    pub dropped_at: Option<usize>,
    pub dropped_limit: usize,
}

#[derive(Debug)]
pub struct FunnelKernel<'a> {
    plan: &'a FunnelPlan,
    /// People per level reached (index 0: entered no step), per group.
    pub levels: HashMap<u32, Vec<u64>>,
    /// Per step k (1-based, k ≥ 2): milliseconds from step k-1 to step k.
    pub step_times: Vec<Vec<i64>>,
    /// Milliseconds from step 1 to the last step, for people who completed.
    pub convert_times: Vec<i64>,
    pub excluded: u64,
    pub dropped: Vec<u64>,
    entries: Vec<Entry>,
}

impl<'a> FunnelKernel<'a> {
    pub fn new(plan: &'a FunnelPlan) -> Self {
        FunnelKernel {
            plan,
            levels: HashMap::new(),
            step_times: vec![Vec::new(); plan.steps + 1],
            convert_times: Vec::new(),
            excluded: 0,
            dropped: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn excluded(&self, chain: &Chain, visits: &[Visit]) -> bool {
        self.plan.exclusions.iter().any(|x| {
            if chain.level < x.from {
                return false;
            }
            let after = chain.times[x.from - 1];
            let before = if chain.level >= x.to {
                chain.times[x.to - 1]
            } else {
                chain.times[0]
                    .saturating_add(self.plan.window)
                    .saturating_add(1)
            };
            visits
                .iter()
                .any(|v| v.mask & (1 << x.bit) != 0 && v.time > after && v.time < before)
        })
    }
}

impl Kernel for FunnelKernel<'_> {
    fn person(&mut self, key: u64, visits: &[Visit]) {
        let plan = self.plan;
        let strict_order = plan.mode == FunnelMode::StrictOrder;
        let events = visits.iter().map(|v| (v.time, v.mask));
        entries_of(events, plan.steps, strict_order, &mut self.entries);
        let chain = reach(&self.entries, plan.steps, plan.window, plan.mode);
        // People who never did step 1 are not in the funnel.
        let Some(chain) = chain.filter(|c| c.level > 0) else {
            return;
        };
        let level = chain.level;
        let group;
        {
            if self.excluded(&chain, visits) {
                self.excluded += 1;
                return;
            }
            let origin = visits[chain.origin as usize];
            group = if let Some(split) = &plan.segment_split {
                split.group(key)
            } else if plan.group_by_channel {
                origin.channel
            } else {
                origin.group
            };
            for k in 1..chain.level {
                self.step_times[k + 1].push(chain.times[k] - chain.times[k - 1]);
            }
            if chain.level == plan.steps && plan.mode != FunnelMode::Unordered {
                self.convert_times
                    .push(chain.times[plan.steps - 1] - chain.times[0]);
            }
        }
        let counts = self
            .levels
            .entry(group)
            .or_insert_with(|| vec![0; plan.steps + 1]);
        counts[level] += 1;
        if plan.dropped_at == Some(level) && self.dropped.len() < plan.dropped_limit {
            self.dropped.push(key);
        }
    }

    fn merge(&mut self, other: Self) {
        for (group, counts) in other.levels {
            let mine = self
                .levels
                .entry(group)
                .or_insert_with(|| vec![0; counts.len()]);
            for (m, c) in mine.iter_mut().zip(counts) {
                *m += c;
            }
        }
        for (mine, theirs) in self.step_times.iter_mut().zip(other.step_times) {
            mine.extend(theirs);
        }
        self.convert_times.extend(other.convert_times);
        self.excluded += other.excluded;
        let room = self.plan.dropped_limit.saturating_sub(self.dropped.len());
        self.dropped.extend(other.dropped.into_iter().take(room));
    }
}
