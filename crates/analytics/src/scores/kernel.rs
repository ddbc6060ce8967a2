//! Each person's journey instance in a period, measured.

use std::collections::HashMap;
use std::ops::Range;

use crate::runs::{Kernel, Visit};
use crate::segments::SegmentSplit;

pub const START: u64 = 1;
pub const COMPLETE: u64 = 1 << 1;
pub const NPS: u64 = 1 << 2;
pub const CSAT: u64 = 1 << 3;
/// Contact conditions take the bits from here up.
pub const FIRST_CONTACT_BIT: u32 = 4;

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct ScorePlan {
    /// The periods compared: instances start in one of them.
    pub periods: Vec<Range<i64>>,
    pub window: i64,
    pub repeat_within: i64,
    pub contact_bits: u64,
    /// Cost of one contact, by channel code (index); unknown channels cost 0.
    pub cost_by_channel: Vec<f64>,
    pub group_by_channel: bool,
    /// Groups people by a segment instead of by their start event.
    pub segment_split: Option<SegmentSplit>,
    /// The tag bits of each stage between start and complete, in order.
    pub stage_bits: Vec<u64>,
}

/// Sums over the instances of one period and one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub instances: u64,
    pub completed: u64,
    pub complete_times: Vec<i64>,
    pub contacts: u64,
    pub repeat_contacts: u64,
    pub channel_switches: u64,
    pub with_contact: u64,
    pub resolved_first_contact: u64,
    pub cost: f64,
    /// Answers 0–10 and 1–5, counted by score.
    pub nps: [u64; 11],
    pub csat: [u64; 6],
    /// Instances that reached each stage: start, the plan's stages,
    /// complete. Empty when the plan has no stages.
    pub reached: Vec<u64>,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.instances += other.instances;
        self.completed += other.completed;
        self.complete_times.extend_from_slice(&other.complete_times);
        self.contacts += other.contacts;
        self.repeat_contacts += other.repeat_contacts;
        self.channel_switches += other.channel_switches;
        self.with_contact += other.with_contact;
        self.resolved_first_contact += other.resolved_first_contact;
        self.cost += other.cost;
        for (a, b) in self.nps.iter_mut().zip(other.nps) {
            *a += b;
        }
        for (a, b) in self.csat.iter_mut().zip(other.csat) {
            *a += b;
        }
        if self.reached.len() < other.reached.len() {
            self.reached.resize(other.reached.len(), 0);
        }
        for (a, b) in self.reached.iter_mut().zip(&other.reached) {
            *a += b;
        }
    }
}

#[derive(Debug)]
pub struct ScoreKernel<'a> {
    plan: &'a ScorePlan,
    /// (period, group) → tally.
    pub tallies: HashMap<(usize, u32), Tally>,
}

impl<'a> ScoreKernel<'a> {
    pub fn new(plan: &'a ScorePlan) -> Self {
        ScoreKernel {
            plan,
            tallies: HashMap::new(),
        }
    }

    fn measure(&mut self, key: u64, period: usize, visits: &[Visit], start: usize) {
        let plan = self.plan;
        let opened = visits[start];
        let deadline = opened.time.saturating_add(plan.window);
        let mut tally = Tally {
            instances: 1,
            ..Tally::default()
        };
        let mut last_contact: Option<i64> = None;
        let mut last_channel = 0;
        // The furthest stage seen: 0 is the start, `j + 1` the plan's j-th.
        let mut furthest = 0;
        for visit in visits[start..].iter().take_while(|v| v.time <= deadline) {
            // Survey answers often come after the journey completed: they
            // count until the window closes.
            if visit.mask & NPS != 0 && (1..=11).contains(&visit.group) {
                tally.nps[visit.group as usize - 1] += 1;
            }
            if visit.mask & CSAT != 0 && (2..=6).contains(&visit.group) {
                tally.csat[visit.group as usize - 1] += 1;
            }
            if tally.completed == 1 {
                continue;
            }
            if visit.channel != 0 {
                if last_channel != 0 && visit.channel != last_channel {
                    tally.channel_switches += 1;
                }
                last_channel = visit.channel;
            }
            if let Some(j) = plan.stage_bits.iter().rposition(|b| visit.mask & b != 0) {
                furthest = furthest.max(j + 1);
            }
            if visit.mask & plan.contact_bits != 0 {
                tally.contacts += 1;
                if last_contact.is_some_and(|t| visit.time - t <= plan.repeat_within) {
                    tally.repeat_contacts += 1;
                }
                last_contact = Some(visit.time);
                tally.cost += plan
                    .cost_by_channel
                    .get(visit.channel as usize)
                    .copied()
                    .unwrap_or(0.0);
            }
            if visit.mask & COMPLETE != 0 {
                tally.completed = 1;
                tally.complete_times.push(visit.time - opened.time);
            }
        }
        if tally.contacts > 0 {
            tally.with_contact = 1;
            tally.resolved_first_contact = u64::from(tally.completed == 1 && tally.contacts == 1);
        }
        let group = if let Some(split) = &plan.segment_split {
            split.group(key)
        } else if plan.group_by_channel {
            opened.channel
        } else {
            opened.group
        };
        let entry = self.tallies.entry((period, group)).or_default();
        entry.add(&tally);
        if !plan.stage_bits.is_empty() {
            // Counted into the group's tally directly: no list per instance.
            let stages = plan.stage_bits.len() + 2;
            let last = if tally.completed == 1 {
                stages - 1
            } else {
                furthest
            };
            entry.reached.resize(stages, 0);
            for reached in &mut entry.reached[..=last] {
                *reached += 1;
            }
        }
    }
}

impl Kernel for ScoreKernel<'_> {
    fn person(&mut self, key: u64, visits: &[Visit]) {
        for period in 0..self.plan.periods.len() {
            let range = &self.plan.periods[period];
            // The person's first start in the period opens their instance.
            let start = visits
                .iter()
                .position(|v| v.mask & START != 0 && range.contains(&v.time));
            if let Some(start) = start {
                self.measure(key, period, visits, start);
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for (key, tally) in other.tallies {
            self.tallies.entry(key).or_default().add(&tally);
        }
    }
}
