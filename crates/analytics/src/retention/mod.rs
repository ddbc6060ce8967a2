//! Retention and lifecycle, as PostHog defines them, over UTC calendar
//! intervals: days from 00:00 UTC, weeks from Monday, calendar months
//! (`interval`: `day`, the default, `week` or `month`).
//! People are profiles, with merges applied as every kernel sees them.
//!
//! # Retention
//!
//! A person's **cohorts** are intervals in which they did the `start`
//! event (a name plus property filters):
//! * `retention_type: "recurring"` (the default, as in PostHog): every
//!   interval in which they did it — one person may be in many cohorts;
//! * `"first_time"`: only the interval of their first start event ever.
//!   Events before `from` count in finding it: people whose first start
//!   event came before the range are in no cohort.
//!
//! For a cohort in interval c, the value of period k (0 ≤ k < `periods`,
//! default 8, at most 400) is the number of its people who did the
//! `return` event (the start event when absent) in interval c + k.
//! Period 0 is the cohort's size whatever the return event (PostHog's
//! convention: 100%). With `cumulative: true` a person counts in period k
//! when they came back in period k or any later one up to `periods − 1`
//! (PostHog's "on or after"); otherwise only in the periods they came back in.
//!
//! Each cohort row gives its `size`, `values` per period and `rates`
//! (values over size). The `aggregate` row adds the cohorts up: for each
//! period, the people who came back over the people of the cohorts that
//! reached that period (a mean weighted by cohort size).
//!
//! # Lifecycle
//!
//! For each interval, every person who did the `event` in it is
//! * `new` if it holds their first such event ever (events before `from`
//!   count; PostHog goes by when the person was created instead, which
//!   Percorso does not record apart from events),
//! * `returning` if they did it in the previous interval too,
//! * `resurrecting` otherwise (they did it at some earlier time, not in
//!   the previous interval);
//!
//! and every person who did it in the previous interval but not in this
//! one is `dormant`, reported as a negative count as PostHog does.
//!
//! # Which intervals are reported
//!
//! Cohorts (and lifecycle intervals) run from the interval holding `from`
//! to the one holding the last instant before `to`. The range picks
//! cohorts: returns after `to` count. An open `from` starts at the
//! earliest cohort (earliest active interval) the data has. Nothing is
//! reported after the **horizon**, the interval holding the newest event
//! stored (of any name), since later intervals have not begun: an open
//! `to` ends there, and a cohort near it has only the periods that began
//! (the triangle PostHog shows).

mod calendar;
mod cohorts;
mod lifecycle;
mod report;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::conditions::{ConditionTagger, EventCondition};
use crate::error::AnalyticsError;
use crate::query::Scope;
use crate::runs::Kernel;
use crate::scan::scan;
use crate::segments::Members;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use calendar::Bounds;
use cohorts::{RetentionKernel, RetentionPlan};
use lifecycle::{LifecycleKernel, LifecyclePlan};

pub use calendar::{Interval, MAX_INTERVALS};
pub use report::{
    AggregateRow, CohortRow, LifecycleReport, LifecycleRow, RetentionReport, RetentionType,
};

/// At most this many periods per cohort.
pub const MAX_PERIODS: usize = 400;

/// A retention table as asked for by the API or the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionQuery {
    pub start: EventCondition,
    /// The event that counts as coming back; the start event when absent.
    #[serde(default, rename = "return", skip_serializing_if = "Option::is_none")]
    pub return_event: Option<EventCondition>,
    /// `day`, `week` or `month`.
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default = "default_periods")]
    pub periods: usize,
    /// `recurring` or `first_time`.
    #[serde(default = "default_retention_type")]
    pub retention_type: String,
    #[serde(default)]
    pub cumulative: bool,
    #[serde(default, flatten)]
    pub range: Scope,
}

/// A lifecycle chart as asked for by the API or the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleQuery {
    pub event: EventCondition,
    /// `day`, `week` or `month`.
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default, flatten)]
    pub range: Scope,
}

fn default_interval() -> String {
    "day".into()
}

fn default_periods() -> usize {
    8
}

fn default_retention_type() -> String {
    "recurring".into()
}

fn parse_interval(text: &str) -> Result<Interval, AnalyticsError> {
    Interval::parse(text).map_err(AnalyticsError::Invalid)
}

/// Runs a kernel over rows tagged by `conditions` (bit k: condition k),
/// from `from` (ms) on, of `people` only when given.
fn scan_conditions<K: Kernel>(
    snapshot: &Snapshot,
    conditions: Vec<EventCondition>,
    from: i64,
    people: Option<&Members>,
    make: impl Fn() -> K + Sync,
) -> Result<K, AnalyticsError> {
    let tagger = ConditionTagger::new(conditions, None).map_err(AnalyticsError::Invalid)?;
    let (activities, channels) = (Codebook::default(), Codebook::default());
    let context = ScanContext {
        activities: &activities,
        channels: &channels,
        tagger: &tagger,
        needs: Needs::default(),
        time: from..i64::MAX,
        people,
    };
    scan(snapshot, &context, make)
}

impl RetentionQuery {
    fn plan(&self) -> Result<(RetentionPlan, RetentionType, Bounds), AnalyticsError> {
        let interval = parse_interval(&self.interval)?;
        if !(1..=MAX_PERIODS).contains(&self.periods) {
            return Err(AnalyticsError::Invalid(format!(
                "periods: 1 to {MAX_PERIODS}, not {}",
                self.periods
            )));
        }
        let retention_type =
            RetentionType::parse(&self.retention_type).map_err(AnalyticsError::Invalid)?;
        let bounds = Bounds::of(&self.range, interval)?;
        let plan = RetentionPlan {
            interval,
            first_time: retention_type == RetentionType::FirstTime,
            cumulative: self.cumulative,
            periods: self.periods,
            cohorts: bounds.span(),
        };
        Ok((plan, retention_type, bounds))
    }

    /// Runs the retention query over a snapshot.
    pub fn run(&self, snapshot: &Snapshot) -> Result<RetentionReport, AnalyticsError> {
        let (plan, retention_type, bounds) = self.plan()?;
        let returning = self.return_event.as_ref().unwrap_or(&self.start);
        // First-time cohorts need each person's whole history; recurring
        // ones nothing before the first cohort.
        let from = match bounds.first {
            Some(first) if !plan.first_time => plan.interval.start_millis(first),
            _ => i64::MIN,
        };
        let conditions = vec![self.start.clone(), returning.clone()];
        let people = self.range.resolve(snapshot)?.people;
        let kernel = scan_conditions(snapshot, conditions, from, people.as_ref(), || {
            RetentionKernel::new(&plan)
        })?;
        let horizon = kernel.newest.map(|t| plan.interval.ordinal(t));
        let earliest = kernel.counts.keys().min().copied();
        let cohorts = match (bounds.resolve(earliest, horizon)?, horizon) {
            (Some(cohorts), Some(horizon)) => report::cohort_rows(
                &kernel.counts,
                cohorts,
                horizon,
                plan.periods,
                plan.interval,
            ),
            _ => Vec::new(),
        };
        Ok(RetentionReport {
            interval: plan.interval,
            retention_type,
            cumulative: plan.cumulative,
            periods: plan.periods,
            horizon: horizon.map(|h| plan.interval.start(h).to_string()),
            aggregate: report::aggregate(&cohorts),
            cohorts,
        })
    }
}

impl LifecycleQuery {
    /// Runs the lifecycle query over a snapshot.
    pub fn run(&self, snapshot: &Snapshot) -> Result<LifecycleReport, AnalyticsError> {
        let interval = parse_interval(&self.interval)?;
        let bounds = Bounds::of(&self.range, interval)?;
        let plan = LifecyclePlan {
            interval,
            intervals: bounds.span(),
        };
        // Whether a person is new depends on their events before `from`,
        // and who is dormant at `from` on the interval before it: the whole
        // history is read, the range applied by the kernel.
        let conditions = vec![self.event.clone()];
        let people = self.range.resolve(snapshot)?.people;
        let kernel = scan_conditions(snapshot, conditions, i64::MIN, people.as_ref(), || {
            LifecycleKernel::new(&plan)
        })?;
        let horizon = kernel.newest.map(|t| interval.ordinal(t));
        let intervals = match bounds.resolve(kernel.earliest, horizon)? {
            Some(intervals) => report::lifecycle_rows(&kernel.statuses, intervals, interval),
            None => Vec::new(),
        };
        Ok(LifecycleReport {
            interval,
            horizon: horizon.map(|h| interval.start(h).to_string()),
            intervals,
        })
    }
}
