//! Journey scores for a period, and the drill-down that says which group
//! explains a change against a comparison period.
//!
//! A person's **journey instance** opens at their first `start` event in
//! the period and runs until their first `complete` event at most `window`
//! later (completed), or for `window` (not completed). Over the instance:
//! * **effort**: contacts (events matching `contacts`), repeated contacts
//!   (a contact within `repeat_within` of the previous one), and channel
//!   switches (consecutive events on different channels);
//! * **first-contact resolution**: of the instances with a contact, the
//!   share completed after exactly one;
//! * **cost to serve**: the sum over contacts of `costs[channel]`;
//! * **NPS**: % of answers 9–10 minus % 0–6; **CSAT**: % of answers 4–5 of
//!   1–5 — from survey events (`score` property) between the instance's
//!   start and the end of its window, also after it completed (surveys
//!   usually follow the resolution).
//!
//! The drill-down splits instances by the channel (or a property) of their
//! start event and decomposes the change of the completion rate between
//! the comparison period (0) and the period (1): a group's contribution
//! `w1·r1 − w0·r0` (w: its share of instances, r: its completion rate) is
//! the sum of a mix effect `(w1 − w0)·r0` and a rate effect `w1·(r1 − r0)`;
//! the contributions add up to the total change.
//!
//! Given the designed journey's `stages` between start and complete, the
//! report also counts the instances reaching each stage, and the `step`
//! drill-down splits the change between the steps (see `steps`).

mod kernel;
mod report;
mod steps;
mod tagger;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::conditions::EventCondition;
use crate::conformance::Stage;
use crate::error::AnalyticsError;
use crate::funnel::parse_window;
use crate::query::{Breakdown, Scope};
use crate::scan::scan;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use kernel::{ScoreKernel, ScorePlan, FIRST_CONTACT_BIT};
use report::Layout;
pub use report::{DrillDown, GroupChange, PeriodScores, ScoresReport};
pub use steps::{product_change_shares, DrillDownBy, StageReach, StepChange};
use tagger::ScoreTagger;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresQuery {
    pub start: EventCondition,
    pub complete: EventCondition,
    #[serde(default = "default_window")]
    pub window: String,
    #[serde(default = "default_contacts")]
    pub contacts: Vec<EventCondition>,
    #[serde(default = "default_repeat")]
    pub repeat_within: String,
    /// Cost of one contact, by channel.
    #[serde(default)]
    pub costs: BTreeMap<String, f64>,
    #[serde(default = "default_nps")]
    pub nps_event: String,
    #[serde(default = "default_csat")]
    pub csat_event: String,
    #[serde(default = "default_score")]
    pub score_property: String,
    /// The designed journey's stages between start and complete, in order.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// The period measured.
    #[serde(default, flatten)]
    pub range: Scope,
    /// A period to compare with (drill-down).
    #[serde(default)]
    pub compare: Option<Scope>,
    #[serde(default)]
    pub drill_down: Option<DrillDownBy>,
}

fn default_window() -> String {
    "30d".into()
}

fn default_contacts() -> Vec<EventCondition> {
    ["Call Started", "Ticket Opened"]
        .map(EventCondition::named)
        .to_vec()
}

fn default_repeat() -> String {
    "7d".into()
}

fn default_nps() -> String {
    "NPS Survey Answered".into()
}

fn default_csat() -> String {
    "CSAT Survey Answered".into()
}

fn default_score() -> String {
    "score".into()
}

impl ScoresQuery {
    pub fn run(&self, snapshot: &Snapshot) -> Result<ScoresReport, AnalyticsError> {
        let invalid = |field: &str, e: String| AnalyticsError::Invalid(format!("{field}: {e}"));
        let window = parse_window(&self.window).map_err(|e| invalid("window", e))?;
        let repeat_within =
            parse_window(&self.repeat_within).map_err(|e| invalid("repeat_within", e))?;
        let mut periods = vec![self.range.millis()?];
        if let Some(compare) = &self.compare {
            if compare.segment.is_some() {
                return Err(invalid(
                    "compare.segment",
                    "both periods are of the segment given beside from and to".into(),
                ));
            }
            periods.push(compare.millis()?);
        }
        let scope = self.range.resolve(snapshot)?;
        let contacts = self.contacts.len() as u32;
        let stage_events: usize = self.stages.iter().map(|s| s.events.len()).sum();
        if FIRST_CONTACT_BIT as usize + contacts as usize + stage_events > 64 {
            return Err(invalid(
                "contacts",
                "at most 60 contact and stage events together".into(),
            ));
        }
        if let Some(i) = self.stages.iter().position(|s| s.events.is_empty()) {
            return Err(invalid(
                &format!("stages[{i}].events"),
                "a stage needs an event".into(),
            ));
        }
        if self.drill_down == Some(DrillDownBy::Step) && self.stages.is_empty() {
            return Err(invalid(
                "drill_down",
                "'step' needs stages: the journey's stages between start and complete (--stage on the command line)".into(),
            ));
        }
        let mut conditions = vec![
            self.start.clone(),
            self.complete.clone(),
            EventCondition::named(&self.nps_event),
            EventCondition::named(&self.csat_event),
        ];
        conditions.extend(self.contacts.iter().cloned());
        let mut stage_bits = Vec::new();
        for stage in &self.stages {
            let first = conditions.len();
            conditions.extend(stage.events.iter().cloned());
            stage_bits.push(((1u64 << stage.events.len()) - 1) << first);
        }
        let groups = Codebook::default();
        let breakdown = self.drill_down.as_ref().and_then(DrillDownBy::breakdown);
        let property = match breakdown {
            Some(Breakdown::Property(p)) => Some((p.as_str(), &groups)),
            _ => None,
        };
        let tagger = ScoreTagger::new(conditions, &self.score_property, property)
            .map_err(AnalyticsError::Invalid)?;
        let (activities, channels) = (Codebook::default(), Codebook::default());
        // Channels get codes up front so the cost table can index them.
        let mut cost_by_channel = Vec::new();
        for (channel, cost) in &self.costs {
            let code = channels.code(channel) as usize;
            cost_by_channel.resize(cost_by_channel.len().max(code + 1), 0.0);
            cost_by_channel[code] = *cost;
        }
        let plan = ScorePlan {
            periods: periods.clone(),
            window,
            repeat_within,
            contact_bits: ((1u64 << contacts) - 1) << FIRST_CONTACT_BIT,
            cost_by_channel,
            group_by_channel: breakdown == Some(&Breakdown::Channel),
            segment_split: Breakdown::segment_split(breakdown, snapshot, &groups)?,
            stage_bits,
        };
        let from = periods.iter().map(|p| p.start).min().unwrap_or(i64::MIN);
        let to = periods.iter().map(|p| p.end).max().unwrap_or(i64::MAX);
        let context = ScanContext {
            activities: &activities,
            channels: &channels,
            tagger: &tagger,
            needs: Needs {
                channel: true,
                properties: true,
                only_tagged: false,
            },
            time: from..to.saturating_add(window).saturating_add(1),
            people: scope.people.as_ref(),
        };
        let kernel = scan(snapshot, &context, || ScoreKernel::new(&plan))?;
        let book = if plan.group_by_channel {
            &channels
        } else {
            &groups
        };
        let stage_names: Vec<String> = if self.stages.is_empty() {
            Vec::new()
        } else {
            std::iter::once(self.start.event.clone())
                .chain(self.stages.iter().map(|s| s.name.clone()))
                .chain([self.complete.event.clone()])
                .collect()
        };
        let layout = Layout {
            compare: self.compare.is_some(),
            groups: breakdown.map(|_| book),
            stages: &stage_names,
            by_step: self.drill_down == Some(DrillDownBy::Step),
        };
        Ok(report::build(&kernel.tallies, &layout))
    }
}
