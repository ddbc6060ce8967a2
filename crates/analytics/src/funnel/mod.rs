//! Funnels: ordered steps within a conversion window, ClickHouse
//! `windowFunnel` semantics (see [`chain`]), with exclusions, breakdowns,
//! times between steps and the people who dropped at a step.

pub mod chain;
mod kernel;
pub mod sql_function;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::conditions::{ConditionTagger, EventCondition};
use crate::error::AnalyticsError;
use crate::lookup::profile_ids;
use crate::query::{Breakdown, Scope};
use crate::scan::scan;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use crate::summary::{histogram, Bin, Durations};
use chain::{FunnelMode, MAX_STEPS};
use kernel::{ExclusionBits, FunnelKernel, FunnelPlan};

/// A funnel as asked for by the API or the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    pub steps: Vec<EventCondition>,
    /// Conversion window from the first step, e.g. `14d`, `1h`, `30m`.
    #[serde(default = "default_window")]
    pub window: String,
    #[serde(default)]
    pub mode: FunnelMode,
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
    #[serde(default)]
    pub breakdown: Option<Breakdown>,
    #[serde(default, flatten)]
    pub range: Scope,
    /// List the people who stopped at this step (1-based).
    #[serde(default)]
    pub dropped_at: Option<usize>,
    #[serde(default = "default_people_limit")]
    pub people_limit: usize,
    /// Bars of the time-to-convert histogram (1 to 100).
    #[serde(default = "default_convert_bins")]
    pub convert_bins: usize,
}

fn default_convert_bins() -> usize {
    10
}

fn default_window() -> String {
    "14d".into()
}

fn default_people_limit() -> usize {
    100
}

/// People who did `event` between step `from_step` and step `to_step` of
/// their chain (or after `from_step` within the window, when they never
/// reached `to_step`) are left out of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    #[serde(flatten)]
    pub condition: EventCondition,
    pub from_step: usize,
    pub to_step: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub step: usize,
    pub event: String,
    pub people: u64,
    /// Share of the people who did step 1.
    pub conversion_from_start: f64,
    /// Share of the people who did the previous step.
    pub conversion_from_previous: f64,
    /// People who did this step and not the next.
    pub dropped: u64,
    /// Time from the previous step (none for step 1).
    pub time_from_previous: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    pub value: String,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    pub mode: FunnelMode,
    pub window_ms: i64,
    pub steps: Vec<StepReport>,
    pub breakdown: Vec<GroupReport>,
    /// From step 1 to the last step, for people who completed the funnel.
    pub time_to_convert: Durations,
    /// The same times as a histogram of `convert_bins` bars at most.
    pub time_to_convert_bins: Vec<Bin>,
    pub excluded: u64,
    /// People who stopped at `dropped_at`, by profile id.
    pub dropped_people: Vec<String>,
}

/// Parses a duration like `14d`, `36h`, `90s`, `500ms`, or milliseconds.
pub fn parse_window(text: &str) -> Result<i64, String> {
    if let Ok(ms) = text.trim().parse::<i64>() {
        return Ok(ms);
    }
    humantime::parse_duration(text.trim())
        .map(|d| d.as_millis() as i64)
        .map_err(|e| format!("window '{text}': {e} (expected e.g. 14d, 1h, 30m)"))
}

impl FunnelQuery {
    fn plan(&self) -> Result<FunnelPlan, AnalyticsError> {
        let invalid = |m: String| AnalyticsError::Invalid(m);
        let steps = self.steps.len();
        if steps == 0 || steps > MAX_STEPS {
            return Err(invalid(format!(
                "a funnel has 1 to {MAX_STEPS} steps, not {steps}"
            )));
        }
        let window = parse_window(&self.window).map_err(invalid)?;
        if !(1..=100).contains(&self.convert_bins) {
            return Err(invalid(format!(
                "convert_bins: 1 to 100 bars, not {}",
                self.convert_bins
            )));
        }
        let mut exclusions = Vec::new();
        for (i, x) in self.exclusions.iter().enumerate() {
            if x.from_step < 1 || x.to_step > steps || x.from_step >= x.to_step {
                return Err(invalid(format!(
                    "exclusions[{i}]: from_step {} and to_step {} must satisfy 1 <= from_step < to_step <= {steps}",
                    x.from_step, x.to_step
                )));
            }
            exclusions.push(ExclusionBits {
                bit: (steps + i) as u32,
                from: x.from_step,
                to: x.to_step,
            });
        }
        if let Some(step) = self.dropped_at {
            if step < 1 || step > steps {
                return Err(invalid(format!(
                    "dropped_at {step} is not a step (1 to {steps})"
                )));
            }
        }
        Ok(FunnelPlan {
            steps,
            window,
            mode: self.mode,
            exclusions,
            group_by_channel: self.breakdown == Some(Breakdown::Channel),
            segment_split: None,
            dropped_at: self.dropped_at,
            dropped_limit: self.people_limit,
        })
    }

    /// Runs the funnel over a snapshot.
    pub fn run(&self, snapshot: &Snapshot) -> Result<FunnelReport, AnalyticsError> {
        let mut plan = self.plan()?;
        let groups = Codebook::default();
        plan.segment_split = Breakdown::segment_split(self.breakdown.as_ref(), snapshot, &groups)?;
        let property = match &self.breakdown {
            Some(Breakdown::Property(p)) => Some(p.as_str()),
            _ => None,
        };
        let conditions = self
            .steps
            .iter()
            .cloned()
            .chain(self.exclusions.iter().map(|x| x.condition.clone()))
            .collect();
        let tagger = ConditionTagger::new(conditions, property.map(|p| (p, &groups)))
            .map_err(AnalyticsError::Invalid)?;
        let (activities, channels) = (Codebook::default(), Codebook::default());
        let scope = self.range.resolve(snapshot)?;
        let context = ScanContext {
            activities: &activities,
            channels: &channels,
            tagger: &tagger,
            needs: Needs {
                channel: plan.group_by_channel,
                properties: false,
                // Strict order needs the events that match no step: they
                // break a chain.
                only_tagged: plan.mode != FunnelMode::StrictOrder,
            },
            time: scope.time.clone(),
            people: scope.people.as_ref(),
        };
        let kernel = scan(snapshot, &context, || FunnelKernel::new(&plan))?;
        let names: Vec<String> = self.steps.iter().map(|s| s.event.clone()).collect();
        let mut total = vec![0u64; plan.steps + 1];
        for counts in kernel.levels.values() {
            for (t, c) in total.iter_mut().zip(counts) {
                *t += c;
            }
        }
        let step_times: Vec<Durations> = kernel
            .step_times
            .iter()
            .cloned()
            .map(Durations::of)
            .collect();
        let steps = step_reports(&names, &total, Some(&step_times));
        let book = if plan.group_by_channel {
            &channels
        } else {
            &groups
        };
        let mut breakdown: Vec<GroupReport> = if self.breakdown.is_some() {
            kernel
                .levels
                .iter()
                .map(|(&code, counts)| GroupReport {
                    value: book.name(code),
                    steps: step_reports(&names, counts, None),
                })
                .collect()
        } else {
            Vec::new()
        };
        breakdown.sort_by(|a, b| {
            b.steps[0]
                .people
                .cmp(&a.steps[0].people)
                .then(a.value.cmp(&b.value))
        });
        let ids: HashMap<u64, String> = profile_ids(snapshot, &kernel.dropped)?;
        let mut dropped_people: Vec<String> = kernel
            .dropped
            .iter()
            .map(|k| ids.get(k).cloned().unwrap_or_else(|| format!("{k:016x}")))
            .collect();
        dropped_people.sort();
        Ok(FunnelReport {
            mode: plan.mode,
            window_ms: plan.window,
            steps,
            breakdown,
            time_to_convert_bins: histogram(&kernel.convert_times, self.convert_bins),
            time_to_convert: Durations::of(kernel.convert_times),
            excluded: kernel.excluded,
            dropped_people,
        })
    }
}

/// Per-step counts from people per level reached (`levels[l]`: people whose
/// furthest step is `l`).
fn step_reports(names: &[String], levels: &[u64], times: Option<&[Durations]>) -> Vec<StepReport> {
    let reached = |k: usize| levels[k..].iter().sum::<u64>();
    let start = reached(1);
    let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (1..levels.len())
        .map(|k| StepReport {
            step: k,
            event: names[k - 1].clone(),
            people: reached(k),
            conversion_from_start: share(reached(k), start),
            conversion_from_previous: if k == 1 {
                1.0
            } else {
                share(reached(k), reached(k - 1))
            },
            dropped: levels[k],
            time_from_previous: times.map(|t| t[k]).unwrap_or_default(),
        })
        .collect()
}
