//! Paths: the most common ways through a session, from a start event, to
//! an end event, or from the session's first event, `steps` deep — as
//! nodes and weighted links ready for a Sankey chart.
//!
//! A person's events (after `include` / `exclude`) are cut into sessions
//! wherever two events are more than `session_gap` apart (30 minutes by
//! default). With `collapse_repeats` (the default) an event repeated
//! straight after itself counts once. Each session gives at most one path:
//! * with `start`: from its first `start` event, `steps` events long;
//! * with `end`: the `steps` events up to its last `end` event;
//! * with both: from the first `start` to the first `end` after it, when
//!   that is at most `steps` events long;
//! * with neither: its first `steps` events.
//!
//! Sessions without the anchor give no path. Node ids are `{step}_{event}`
//! with steps counted from 1 at the path's first event.

mod kernel;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::conditions::{ConditionTagger, EventCondition};
use crate::error::AnalyticsError;
use crate::funnel::parse_window;
use crate::query::Scope;
use crate::scan::scan;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use crate::summary::Durations;
use kernel::{PathKernel, PathPlan};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsQuery {
    #[serde(default)]
    pub start: Option<EventCondition>,
    #[serde(default)]
    pub end: Option<EventCondition>,
    #[serde(default = "default_steps")]
    pub steps: usize,
    #[serde(default = "default_gap")]
    pub session_gap: String,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default = "yes")]
    pub collapse_repeats: bool,
    /// How many whole paths to list.
    #[serde(default = "default_top")]
    pub top_paths: usize,
    #[serde(default, flatten)]
    pub range: Scope,
}

fn default_steps() -> usize {
    5
}

fn default_gap() -> String {
    "30m".into()
}

fn yes() -> bool {
    true
}

fn default_top() -> usize {
    20
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathNode {
    pub id: String,
    pub step: usize,
    pub event: String,
    pub sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathLink {
    pub source: String,
    pub target: String,
    pub sessions: u64,
    /// Time from the source event to the target event.
    pub duration: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommonPath {
    pub events: Vec<String>,
    pub sessions: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsReport {
    /// Sessions that gave a path.
    pub sessions: u64,
    pub nodes: Vec<PathNode>,
    pub links: Vec<PathLink>,
    pub paths: Vec<CommonPath>,
}

fn node_id(step: u8, name: &str) -> String {
    format!("{}_{name}", step as usize + 1)
}

impl PathsQuery {
    fn plan(&self) -> Result<PathPlan, AnalyticsError> {
        if !(2..=20).contains(&self.steps) {
            return Err(AnalyticsError::Invalid(format!(
                "steps: a path is 2 to 20 events deep, not {}",
                self.steps
            )));
        }
        let gap = parse_window(&self.session_gap)
            .map_err(|e| AnalyticsError::Invalid(format!("session_gap: {e}")))?;
        Ok(PathPlan {
            steps: self.steps,
            session_gap: gap,
            collapse_repeats: self.collapse_repeats,
            has_start: self.start.is_some(),
            has_end: self.end.is_some(),
            include: self.include.clone(),
            exclude: self.exclude.clone(),
        })
    }

    pub fn run(&self, snapshot: &Snapshot) -> Result<PathsReport, AnalyticsError> {
        let plan = self.plan()?;
        // Bit 0 marks start events, bit 1 end events; a missing anchor
        // matches nothing.
        let never = EventCondition::named("\u{0}");
        let conditions = vec![
            self.start.clone().unwrap_or_else(|| never.clone()),
            self.end.clone().unwrap_or(never),
        ];
        let tagger = ConditionTagger::new(conditions, None).map_err(AnalyticsError::Invalid)?;
        let (activities, channels) = (Codebook::default(), Codebook::default());
        let scope = self.range.resolve(snapshot)?;
        let context = ScanContext {
            activities: &activities,
            channels: &channels,
            tagger: &tagger,
            needs: Needs::default(),
            time: scope.time.clone(),
            people: scope.people.as_ref(),
        };
        let kernel = scan(snapshot, &context, || PathKernel::new(&plan, &activities))?;
        let name = |code: u32| activities.name(code);
        let mut nodes: Vec<PathNode> = kernel
            .nodes
            .iter()
            .map(|(&(step, code), &sessions)| PathNode {
                id: node_id(step, &name(code)),
                step: step as usize + 1,
                event: name(code),
                sessions,
            })
            .collect();
        nodes.sort_by(|a, b| {
            a.step
                .cmp(&b.step)
                .then(b.sessions.cmp(&a.sessions))
                .then(a.event.cmp(&b.event))
        });
        let mut links: Vec<PathLink> = kernel
            .links
            .into_iter()
            .map(|((step, from, to), gaps)| PathLink {
                source: node_id(step, &name(from)),
                target: node_id(step + 1, &name(to)),
                sessions: gaps.len() as u64,
                duration: Durations::of(gaps),
            })
            .collect();
        links.sort_by(|a, b| {
            b.sessions
                .cmp(&a.sessions)
                .then(a.source.cmp(&b.source))
                .then(a.target.cmp(&b.target))
        });
        let mut paths: Vec<CommonPath> = kernel
            .paths
            .into_iter()
            .map(|(codes, sessions)| CommonPath {
                events: codes.into_iter().map(name).collect(),
                sessions,
                share: sessions as f64 / kernel.sessions.max(1) as f64,
            })
            .collect();
        paths.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.events.cmp(&b.events)));
        paths.truncate(self.top_paths);
        Ok(PathsReport {
            sessions: kernel.sessions,
            nodes,
            links,
            paths,
        })
    }
}
