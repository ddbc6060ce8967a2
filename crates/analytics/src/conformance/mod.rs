//! Actual against designed: how people's real journeys follow a designed
//! sequence of stages.
//!
//! Each stage is matched by one or more events. A person's events are
//! mapped to stages (an event matching several stages counts for the
//! first), repeats of a stage are merged, and each move from one stage to
//! another is checked against the design: the next stage is always
//! allowed, `transitions` adds more. A person **conforms** when they
//! started at the first stage and made no move the design does not allow;
//! a move back is a **loop**, a move forward past the next stage a
//! **skip**. A person **stalls** at a stage when they entered it more than
//! `stall_after` before the end of the range (or of the data) and never
//! reached the last stage. Time in a stage runs from entering it to
//! entering the next stage.

mod kernel;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::conditions::{ConditionTagger, EventCondition};
use crate::error::AnalyticsError;
use crate::funnel::parse_window;
use crate::lookup::profile_ids;
use crate::query::Scope;
use crate::scan::scan;
use crate::schema::profile_key;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use crate::summary::Durations;
use kernel::{ConformanceKernel, Design};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub events: Vec<EventCondition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConformanceQuery {
    pub stages: Vec<Stage>,
    /// Moves allowed beside "to the next stage", as stage names.
    #[serde(default)]
    pub transitions: Vec<(String, String)>,
    #[serde(default = "default_stall")]
    pub stall_after: String,
    /// Only this person (their own verdict).
    #[serde(default)]
    pub profile_id: Option<String>,
    #[serde(default = "default_examples")]
    pub examples: usize,
    #[serde(default, flatten)]
    pub range: Scope,
}

fn default_stall() -> String {
    "7d".into()
}

fn default_examples() -> usize {
    10
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    pub stage: String,
    pub reached: u64,
    pub stalled: u64,
    pub time_in_stage: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deviation {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub people: u64,
    /// People for whom this was the first move off the design.
    pub first_for: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub profile_id: String,
    pub stages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConformanceReport {
    /// People who reached any stage.
    pub people: u64,
    pub conforming: u64,
    pub conformance: f64,
    pub completed: u64,
    pub conforming_completed: u64,
    pub loops: u64,
    pub skips: u64,
    /// People who entered at a later stage than the first, by stage.
    pub late_starts: Vec<(String, u64)>,
    pub stages: Vec<StageReport>,
    pub deviations: Vec<Deviation>,
    /// Non-conforming people, with the stages they went through.
    pub examples: Vec<Example>,
}

impl ConformanceQuery {
    fn design(&self, snapshot: &Snapshot) -> Result<(Design, Vec<EventCondition>), AnalyticsError> {
        let invalid = |m: String| AnalyticsError::Invalid(m);
        if self.stages.len() < 2 {
            return Err(invalid("stages: a design has at least 2 stages".into()));
        }
        let index = |name: &str, field: &str| {
            self.stages
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| invalid(format!("{field}: no stage named '{name}'")))
        };
        let mut conditions = Vec::new();
        let mut stage_of_bit = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if stage.events.is_empty() {
                return Err(invalid(format!(
                    "stages[{i}].events: a stage needs an event"
                )));
            }
            for event in &stage.events {
                conditions.push(event.clone());
                stage_of_bit.push(i);
            }
        }
        let mut extra_moves = HashSet::new();
        for (i, (from, to)) in self.transitions.iter().enumerate() {
            let field = format!("transitions[{i}]");
            extra_moves.insert((index(from, &field)?, index(to, &field)?));
        }
        let range = self.range.millis()?;
        let data_end = snapshot
            .files
            .iter()
            .map(|f| f.stats.max_timestamp)
            .max()
            .unwrap_or(0);
        Ok((
            Design {
                stages: self.stages.len(),
                stage_of_bit,
                extra_moves,
                stall_after: parse_window(&self.stall_after)
                    .map_err(|e| invalid(format!("stall_after: {e}")))?,
                now: if range.end == i64::MAX {
                    data_end
                } else {
                    range.end
                },
                only: self.profile_id.as_deref().map(profile_key),
                examples: self.examples,
            },
            conditions,
        ))
    }

    pub fn run(&self, snapshot: &Snapshot) -> Result<ConformanceReport, AnalyticsError> {
        let (design, conditions) = self.design(snapshot)?;
        let tagger = ConditionTagger::new(conditions, None).map_err(AnalyticsError::Invalid)?;
        let (activities, channels) = (Codebook::default(), Codebook::default());
        let scope = self.range.resolve(snapshot)?;
        let context = ScanContext {
            activities: &activities,
            channels: &channels,
            tagger: &tagger,
            needs: Needs {
                only_tagged: true,
                ..Needs::default()
            },
            time: scope.time.clone(),
            people: scope.people.as_ref(),
        };
        let kernel = scan(snapshot, &context, || ConformanceKernel::new(&design))?;
        let name = |i: usize| self.stages[i].name.clone();
        let stages = (0..design.stages)
            .map(|i| StageReport {
                stage: name(i),
                reached: kernel.reached[i],
                stalled: kernel.stalled[i],
                time_in_stage: Durations::of(kernel.time_in_stage[i].clone()),
            })
            .collect();
        let mut deviations: Vec<Deviation> = kernel
            .deviations
            .iter()
            .map(|(&(from, to), &people)| Deviation {
                from: name(from),
                to: name(to),
                kind: if to < from { "loop" } else { "skip" },
                people,
                first_for: kernel
                    .first_deviations
                    .get(&(from, to))
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        deviations.sort_by(|a, b| {
            b.people
                .cmp(&a.people)
                .then(a.from.cmp(&b.from))
                .then(a.to.cmp(&b.to))
        });
        let keys: Vec<u64> = kernel.examples.iter().map(|(k, _)| *k).collect();
        let ids = profile_ids(snapshot, &keys)?;
        let examples = kernel
            .examples
            .iter()
            .map(|(key, path)| Example {
                profile_id: ids
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| format!("{key:016x}")),
                stages: path.iter().map(|&(s, _)| name(s)).collect(),
            })
            .collect();
        let mut late_starts: Vec<(String, u64)> = kernel
            .late_starts
            .iter()
            .map(|(&s, &n)| (name(s), n))
            .collect();
        late_starts.sort();
        Ok(ConformanceReport {
            people: kernel.people,
            conforming: kernel.conforming,
            conformance: kernel.conforming as f64 / kernel.people.max(1) as f64,
            completed: kernel.completed,
            conforming_completed: kernel.conforming_completed,
            loops: kernel.loops,
            skips: kernel.skips,
            late_starts,
            stages,
            deviations,
            examples,
        })
    }
}
