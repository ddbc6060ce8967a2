//! Each person's sessions cut into paths, counted as Sankey nodes and links.

use std::collections::HashMap;

use crate::codebook::Codebook;
use crate::runs::{Kernel, Visit};

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct PathPlan {
    pub steps: usize,
    pub session_gap: i64,
    pub collapse_repeats: bool,
    pub has_start: bool,
    pub has_end: bool,
    /// Activity names kept (all when empty).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

const START: u64 = 1;
const END: u64 = 2;

/// (step, activity) → (step + 1, activity): times counted and gaps (ms).
pub type LinkKey = (u8, u32, u32);

#[derive(Debug)]
pub struct PathKernel<'a> {
    plan: &'a PathPlan,
    activities: &'a Codebook,
    /// Per activity code: 0 not yet decided, 1 kept, 2 left out.
    kept: Vec<u8>,
    pub nodes: HashMap<(u8, u32), u64>,
    pub links: HashMap<LinkKey, Vec<i64>>,
    pub paths: HashMap<Vec<u32>, u64>,
    pub sessions: u64,
    scratch: Vec<Visit>,
}

impl<'a> PathKernel<'a> {
    pub fn new(plan: &'a PathPlan, activities: &'a Codebook) -> Self {
        PathKernel {
            plan,
            activities,
            kept: Vec::new(),
            nodes: HashMap::new(),
            links: HashMap::new(),
            paths: HashMap::new(),
            sessions: 0,
            scratch: Vec::new(),
        }
    }

    fn keeps(&mut self, activity: u32) -> bool {
        let i = activity as usize;
        if self.kept.len() <= i {
            self.kept.resize(i + 1, 0);
        }
        if self.kept[i] == 0 {
            let name = self.activities.name(activity);
            let plan = self.plan;
            let keep = (plan.include.is_empty() || plan.include.contains(&name))
                && !plan.exclude.contains(&name);
            self.kept[i] = if keep { 1 } else { 2 };
        }
        self.kept[i] == 1
    }

    /// The part of one session the query asks for, or none.
    fn anchored<'s>(&self, session: &'s [Visit]) -> Option<&'s [Visit]> {
        let plan = self.plan;
        let steps = plan.steps;
        let first_start = || session.iter().position(|v| v.mask & START != 0);
        match (plan.has_start, plan.has_end) {
            (false, false) => Some(&session[..steps.min(session.len())]),
            (true, false) => {
                let i = first_start()?;
                Some(&session[i..(i + steps).min(session.len())])
            }
            (false, true) => {
                let j = session.iter().rposition(|v| v.mask & END != 0)?;
                Some(&session[(j + 1).saturating_sub(steps)..=j])
            }
            (true, true) => {
                let i = first_start()?;
                let j = i + session[i..].iter().position(|v| v.mask & END != 0)?;
                (j - i < steps).then(|| &session[i..=j])
            }
        }
    }

    fn count(&mut self, path: &[Visit]) {
        self.sessions += 1;
        for (k, visit) in path.iter().enumerate() {
            *self.nodes.entry((k as u8, visit.activity)).or_default() += 1;
            if let Some(next) = path.get(k + 1) {
                self.links
                    .entry((k as u8, visit.activity, next.activity))
                    .or_default()
                    .push(next.time - visit.time);
            }
        }
        let names: Vec<u32> = path.iter().map(|v| v.activity).collect();
        *self.paths.entry(names).or_default() += 1;
    }
}

impl Kernel for PathKernel<'_> {
    fn person(&mut self, _key: u64, visits: &[Visit]) {
        let mut kept = std::mem::take(&mut self.scratch);
        kept.clear();
        for visit in visits {
            if self.keeps(visit.activity) {
                kept.push(*visit);
            }
        }
        let mut start = 0;
        while start < kept.len() {
            let mut end = start + 1;
            while end < kept.len() && kept[end].time - kept[end - 1].time <= self.plan.session_gap {
                end += 1;
            }
            let mut session: Vec<Visit> = kept[start..end].to_vec();
            if self.plan.collapse_repeats {
                session.dedup_by(|b, a| a.activity == b.activity);
            }
            if let Some(path) = self.anchored(&session) {
                let path = path.to_vec();
                self.count(&path);
            }
            start = end;
        }
        self.scratch = kept;
    }

    fn merge(&mut self, other: Self) {
        for (k, v) in other.nodes {
            *self.nodes.entry(k).or_default() += v;
        }
        for (k, v) in other.links {
            self.links.entry(k).or_default().extend(v);
        }
        for (k, v) in other.paths {
            *self.paths.entry(k).or_default() += v;
        }
        self.sessions += other.sessions;
    }
}
