//! Journey discovery: the journey map people actually walk, as a
//! directly-follows graph (process mining's DFG, each person one case).
//!
//! A person's events, in (time, arrival) order, are their journey. Each
//! two consecutive events give an edge from the first one's node to the
//! second one's, with the time between them. A node is an activity, or
//! with `by_channel` a channel and an activity (`web · Product Viewed`; an
//! event without a channel is its activity alone). Nodes count their
//! events, the people who had one, and the journeys starting and ending
//! there; whole journeys are counted as variants.
//!
//! * `events` keeps only those activities: the others are dropped before
//!   the graph is built, so an edge may join two events that had others
//!   between them, as on a log filtered the same way. People left with no
//!   event are not counted.
//! * `min_count` leaves rarer edges out of the report, not out of the
//!   counts of nodes and variants.
//! * `from` / `to`: only events in `[from, to)` are considered.
//!
//! Edge counts, start and end counts and the mean and median time along
//! each edge are pm4py's `discover_dfg` and `discover_performance_dfg` on
//! the same files (`tests/python/reference_dfg.py`). Events of one person
//! at the same millisecond are taken in arrival order here; pm4py's order
//! for them is its sort's, so the cross-check avoids equal times.

mod arena;
mod kernel;
mod report;

use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::error::AnalyticsError;
use crate::query::Scope;
use crate::scan::scan;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use crate::summary::Durations;
use crate::tagger::NoTags;
use kernel::{DiscoveryKernel, DiscoveryPlan};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryQuery {
    /// Nodes are channel · activity rather than activity.
    #[serde(default)]
    pub by_channel: bool,
    /// Only these activities (every one when absent).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Edges seen fewer times than this are left out of the report.
    #[serde(default)]
    pub min_count: u64,
    /// How many of the most common journeys to list.
    #[serde(default = "default_top_variants")]
    pub top_variants: usize,
    #[serde(default, flatten)]
    pub range: Scope,
}

fn default_top_variants() -> usize {
    10
}

impl Default for DiscoveryQuery {
    fn default() -> Self {
        DiscoveryQuery {
            by_channel: false,
            events: None,
            min_count: 0,
            top_variants: default_top_variants(),
            range: Scope::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReport {
    pub name: String,
    /// Events at this node.
    pub occurrences: u64,
    pub people: u64,
    /// People whose journey starts here.
    pub starts: u64,
    /// People whose journey ends here.
    pub ends: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeReport {
    pub from: String,
    pub to: String,
    /// Times an event at `from` was directly followed by one at `to`.
    pub count: u64,
    /// Time from the `from` event to the `to` event.
    pub duration: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    /// The nodes of the journey, in order.
    pub activities: Vec<String>,
    pub people: u64,
    /// Share of all people in the report.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveryReport {
    /// People with at least one (kept) event.
    pub people: u64,
    /// Most frequent first, then by name.
    pub nodes: Vec<NodeReport>,
    /// Most frequent first, then by `from` and `to`.
    pub edges: Vec<EdgeReport>,
    /// The `top_variants` most common journeys, most common first.
    pub variants: Vec<VariantReport>,
    /// Distinct journeys in all.
    pub distinct_variants: u64,
}

impl DiscoveryQuery {
    /// `activities` is the scan's codebook: the kept names get their codes
    /// before the scan, so an activity first met during it is not kept.
    fn plan(&self, activities: &Codebook) -> Result<DiscoveryPlan, AnalyticsError> {
        let kept = match &self.events {
            None => None,
            Some(names) if names.is_empty() => {
                return Err(AnalyticsError::Invalid(
                    "events: name at least one event, or leave the list out".into(),
                ))
            }
            Some(names) => {
                let codes: Vec<usize> = names.iter().map(|n| activities.code(n) as usize).collect();
                let mut kept = vec![false; codes.iter().max().map_or(0, |&c| c + 1)];
                for code in codes {
                    kept[code] = true;
                }
                Some(kept)
            }
        };
        Ok(DiscoveryPlan {
            by_channel: self.by_channel,
            kept,
            nodes: Default::default(),
        })
    }

    /// Discovers the journey map of a snapshot.
    pub fn run(&self, snapshot: &Snapshot) -> Result<DiscoveryReport, AnalyticsError> {
        let (activities, channels) = (Codebook::default(), Codebook::default());
        let plan = self.plan(&activities)?;
        let scope = self.range.resolve(snapshot)?;
        let context = ScanContext {
            activities: &activities,
            channels: &channels,
            tagger: &NoTags,
            needs: Needs {
                channel: plan.by_channel,
                ..Needs::default()
            },
            time: scope.time.clone(),
            people: scope.people.as_ref(),
        };
        let kernel = scan(snapshot, &context, || DiscoveryKernel::new(&plan))?;
        Ok(report::assemble(kernel, &activities, &channels, self))
    }
}
