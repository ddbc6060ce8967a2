//! Scores from the kernel's tallies, and the drill-down decomposition.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::codebook::Codebook;
use crate::scores::kernel::Tally;
use crate::scores::steps::{stage_reach, step_changes, StageReach, StepChange};
use crate::summary::Durations;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodScores {
    pub instances: u64,
    pub completed: u64,
    pub completion_rate: f64,
    pub time_to_complete: Durations,
    pub contacts_per_instance: f64,
    /// Share of contacts that repeat one within `repeat_within`.
    pub repeat_contact_share: f64,
    pub channel_switches_per_instance: f64,
    /// None when no instance had a contact.
    pub first_contact_resolution: Option<f64>,
    pub cost: f64,
    pub cost_per_instance: f64,
    pub cost_per_completed: Option<f64>,
    pub nps: Option<f64>,
    pub nps_responses: u64,
    pub csat: Option<f64>,
    pub csat_responses: u64,
    /// The journey's stages, start to complete; empty without `stages`.
    pub stages: Vec<StageReach>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChange {
    pub value: String,
    /// Comparison period first, then the period.
    pub instances: [u64; 2],
    pub completion_rate: [f64; 2],
    pub contribution: f64,
    pub mix_effect: f64,
    pub rate_effect: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillDown {
    pub metric: &'static str,
    /// Period minus comparison period.
    pub change: f64,
    /// The group or step (`from → to`) with the largest contribution.
    pub explained_by: Option<String>,
    /// Largest contributions first (group drill-downs).
    pub groups: Vec<GroupChange>,
    /// In the journey's order (the step drill-down).
    pub steps: Vec<StepChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScores {
    pub value: String,
    pub scores: PeriodScores,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoresReport {
    pub period: PeriodScores,
    pub compare: Option<PeriodScores>,
    pub by_group: Vec<GroupScores>,
    pub drill_down: Option<DrillDown>,
}

fn share(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// How the report is laid out.
#[derive(Debug)]
pub struct Layout<'a> {
    /// Tallies of period 1 are the comparison period's.
    pub compare: bool,
    /// Group codes' names, when instances were grouped.
    pub groups: Option<&'a Codebook>,
    /// Stage names, start to complete; empty without stages.
    pub stages: &'a [String],
    /// Drill down by step rather than by group.
    pub by_step: bool,
}

fn scores(t: &Tally, stages: &[String]) -> PeriodScores {
    let nps_responses: u64 = t.nps.iter().sum();
    let promoters: u64 = t.nps[9..].iter().sum();
    let detractors: u64 = t.nps[..7].iter().sum();
    let csat_responses: u64 = t.csat[1..].iter().sum();
    let satisfied: u64 = t.csat[4..].iter().sum();
    PeriodScores {
        instances: t.instances,
        completed: t.completed,
        completion_rate: share(t.completed, t.instances),
        time_to_complete: Durations::of(t.complete_times.clone()),
        contacts_per_instance: share(t.contacts, t.instances),
        repeat_contact_share: share(t.repeat_contacts, t.contacts),
        channel_switches_per_instance: share(t.channel_switches, t.instances),
        first_contact_resolution: (t.with_contact > 0)
            .then(|| share(t.resolved_first_contact, t.with_contact)),
        cost: t.cost,
        cost_per_instance: if t.instances == 0 {
            0.0
        } else {
            t.cost / t.instances as f64
        },
        cost_per_completed: (t.completed > 0).then(|| t.cost / t.completed as f64),
        nps: (nps_responses > 0)
            .then(|| 100.0 * (promoters as f64 - detractors as f64) / nps_responses as f64),
        nps_responses,
        csat: (csat_responses > 0).then(|| 100.0 * share(satisfied, csat_responses)),
        csat_responses,
        stages: if stages.is_empty() {
            Vec::new()
        } else {
            stage_reach(stages, &t.reached)
        },
    }
}

/// `tallies`: (period, group) → tally; period 0 is measured, 1 compared.
pub fn build(tallies: &HashMap<(usize, u32), Tally>, layout: &Layout) -> ScoresReport {
    let total = |period: usize| {
        let mut sum = Tally::default();
        for ((p, _), t) in tallies {
            if *p == period {
                sum.add(t);
            }
        }
        sum
    };
    let (now, before) = (total(0), total(1));
    let codes: BTreeSet<u32> = tallies.keys().map(|(_, g)| *g).collect();
    let by_group = match layout.groups {
        Some(book) => {
            let mut list: Vec<GroupScores> = codes
                .iter()
                .filter_map(|g| {
                    tallies.get(&(0, *g)).map(|t| GroupScores {
                        value: book.name(*g),
                        scores: scores(t, layout.stages),
                    })
                })
                .collect();
            list.sort_by(|a, b| {
                b.scores
                    .instances
                    .cmp(&a.scores.instances)
                    .then(a.value.cmp(&b.value))
            });
            list
        }
        None => Vec::new(),
    };
    let change = share(now.completed, now.instances) - share(before.completed, before.instances);
    let drill_down = match (layout.compare, layout.groups) {
        (false, _) => None,
        (true, Some(book)) => Some(group_drill_down(
            tallies, &codes, book, &now, &before, change,
        )),
        (true, None) if layout.by_step => {
            let steps = step_changes(layout.stages, &before.reached, &now.reached);
            let explained_by = steps
                .iter()
                .max_by(|a, b| a.contribution.abs().total_cmp(&b.contribution.abs()))
                .map(|s| format!("{} → {}", s.from, s.to));
            Some(DrillDown {
                metric: "completion_rate",
                change,
                explained_by,
                groups: Vec::new(),
                steps,
            })
        }
        (true, None) => None,
    };
    ScoresReport {
        period: scores(&now, layout.stages),
        compare: layout.compare.then(|| scores(&before, layout.stages)),
        by_group,
        drill_down,
    }
}

/// Each group's contribution to the change, split into mix and rate.
fn group_drill_down(
    tallies: &HashMap<(usize, u32), Tally>,
    codes: &BTreeSet<u32>,
    book: &Codebook,
    now: &Tally,
    before: &Tally,
    change: f64,
) -> DrillDown {
    let empty = Tally::default();
    let mut groups: Vec<GroupChange> = codes
        .iter()
        .map(|g| {
            let t1 = tallies.get(&(0, *g)).unwrap_or(&empty);
            let t0 = tallies.get(&(1, *g)).unwrap_or(&empty);
            let (w1, w0) = (
                share(t1.instances, now.instances),
                share(t0.instances, before.instances),
            );
            let (r1, r0) = (
                share(t1.completed, t1.instances),
                share(t0.completed, t0.instances),
            );
            GroupChange {
                value: book.name(*g),
                instances: [t0.instances, t1.instances],
                completion_rate: [r0, r1],
                contribution: w1 * r1 - w0 * r0,
                mix_effect: (w1 - w0) * r0,
                rate_effect: w1 * (r1 - r0),
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.contribution
            .abs()
            .total_cmp(&a.contribution.abs())
            .then(a.value.cmp(&b.value))
    });
    DrillDown {
        metric: "completion_rate",
        change,
        explained_by: groups.first().map(|g| g.value.clone()),
        groups,
        steps: Vec::new(),
    }
}
