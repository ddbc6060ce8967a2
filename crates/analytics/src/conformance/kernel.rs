//! Each person's events mapped onto the designed stages and checked
//! against the moves the design allows.

use std::collections::{HashMap, HashSet};

use crate::runs::{Kernel, Visit};

/// The design, compiled: condition bit → stage, allowed moves, stall limit.
#[derive(Debug, Clone)]
pub struct Design {
    pub stages: usize,
    /// For each condition bit, the stage it belongs to.
    pub stage_of_bit: Vec<usize>,
    /// Moves allowed beside "to the next stage".
    pub extra_moves: HashSet<(usize, usize)>,
    pub stall_after: i64,
    /// Time the stall is measured at (end of the range or of the data).
    pub now: i64,
    pub only: Option<u64>,
    pub examples: usize,
}

impl Design {
    pub fn allows(&self, from: usize, to: usize) -> bool {
        to == from + 1 || self.extra_moves.contains(&(from, to))
    }
}

/// One person's path through the stages: (stage, time entered).
pub type StagePath = Vec<(usize, i64)>;

#[derive(Debug)]
pub struct ConformanceKernel<'a> {
    design: &'a Design,
    pub people: u64,
    pub conforming: u64,
    pub completed: u64,
    pub conforming_completed: u64,
    /// Per stage: people who reached it, people stalled there.
    pub reached: Vec<u64>,
    pub stalled: Vec<u64>,
    /// Per stage: time from entering it to entering the next stage.
    pub time_in_stage: Vec<Vec<i64>>,
    /// Moves the design does not allow: (from, to) → people making them.
    pub deviations: HashMap<(usize, usize), u64>,
    /// Where people first left the design: (from, to) → people.
    pub first_deviations: HashMap<(usize, usize), u64>,
    pub loops: u64,
    pub skips: u64,
    /// People who did not start at the first stage, by the stage they started at.
    pub late_starts: HashMap<usize, u64>,
    pub examples: Vec<(u64, StagePath)>,
}

impl<'a> ConformanceKernel<'a> {
    pub fn new(design: &'a Design) -> Self {
        ConformanceKernel {
            design,
            people: 0,
            conforming: 0,
            completed: 0,
            conforming_completed: 0,
            reached: vec![0; design.stages],
            stalled: vec![0; design.stages],
            time_in_stage: vec![Vec::new(); design.stages],
            deviations: HashMap::new(),
            first_deviations: HashMap::new(),
            loops: 0,
            skips: 0,
            late_starts: HashMap::new(),
            examples: Vec::new(),
        }
    }

    /// The stages a person went through, repeats of a stage merged.
    fn path(&self, visits: &[Visit]) -> StagePath {
        let mut path: StagePath = Vec::new();
        for visit in visits {
            if visit.mask == 0 {
                continue;
            }
            let bit = visit.mask.trailing_zeros() as usize;
            let stage = self.design.stage_of_bit[bit];
            if path.last().is_none_or(|&(s, _)| s != stage) {
                path.push((stage, visit.time));
            }
        }
        path
    }
}

impl Kernel for ConformanceKernel<'_> {
    fn person(&mut self, key: u64, visits: &[Visit]) {
        let design = self.design;
        if design.only.is_some_and(|only| only != key) {
            return;
        }
        let path = self.path(visits);
        let Some(&(first, _)) = path.first() else {
            return;
        };
        self.people += 1;
        let mut seen = vec![false; design.stages];
        for &(stage, _) in &path {
            seen[stage] = true;
        }
        for (stage, was) in seen.iter().enumerate() {
            self.reached[stage] += u64::from(*was);
        }
        let mut conforming = first == 0;
        if first != 0 {
            *self.late_starts.entry(first).or_default() += 1;
        }
        let mut deviated: HashSet<(usize, usize)> = HashSet::new();
        for pair in path.windows(2) {
            let ((from, entered), (to, next)) = (pair[0], pair[1]);
            self.time_in_stage[from].push(next - entered);
            if design.allows(from, to) {
                continue;
            }
            if conforming {
                *self.first_deviations.entry((from, to)).or_default() += 1;
            }
            conforming = false;
            if to < from {
                self.loops += 1;
            } else {
                self.skips += 1;
            }
            deviated.insert((from, to));
        }
        for d in deviated {
            *self.deviations.entry(d).or_default() += 1;
        }
        let last = design.stages - 1;
        let completed = seen[last];
        let &(at, since) = path.last().unwrap_or(&(first, 0));
        if !completed && design.now - since > design.stall_after {
            self.stalled[at] += 1;
        }
        self.conforming += u64::from(conforming);
        self.completed += u64::from(completed);
        self.conforming_completed += u64::from(conforming && completed);
        if !conforming && self.examples.len() < design.examples {
            self.examples.push((key, path));
        }
    }

    fn merge(&mut self, other: Self) {
        self.people += other.people;
        self.conforming += other.conforming;
        self.completed += other.completed;
        self.conforming_completed += other.conforming_completed;
        for (a, b) in self.reached.iter_mut().zip(other.reached) {
            *a += b;
        }
        for (a, b) in self.stalled.iter_mut().zip(other.stalled) {
            *a += b;
        }
        for (a, b) in self.time_in_stage.iter_mut().zip(other.time_in_stage) {
            a.extend(b);
        }
        for (k, v) in other.deviations {
            *self.deviations.entry(k).or_default() += v;
        }
        for (k, v) in other.first_deviations {
            *self.first_deviations.entry(k).or_default() += v;
        }
        for (k, v) in other.late_starts {
            *self.late_starts.entry(k).or_default() += v;
        }
        self.loops += other.loops;
        self.skips += other.skips;
        let room = self.design.examples.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}
