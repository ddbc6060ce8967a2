//! The checked form of a journey: what the state machine runs. Built only
//! by `parse_journey`, so every reference in it is known to resolve.

use std::collections::BTreeMap;
use std::sync::Arc;

use percorso_profiles::PropertyFilter;
use serde_json::Value;

use crate::condition::Condition;
use crate::template::{MessageTemplate, ValueTemplate};

/// A step's position in [`Journey::steps`].
pub type StepId = usize;

/// One journey version, checked and compiled.
#[derive(Debug)]
pub struct Journey {
    pub name: String,
    pub description: Option<String>,
    pub trigger: Trigger,
    /// Profiles that do not meet this when triggered do not enter.
    pub entry_when: Option<Condition>,
    pub re_entry: ReEntry,
    /// Share of entrants kept as a control group, in basis points (1/100 %).
    pub holdout_basis_points: u32,
    /// Reaching it ends the journey as converted.
    pub goal: Option<EventMatch>,
    /// Any of these ends the journey early.
    pub exit_when: Vec<ExitCriterion>,
    /// For customers whose profile names no time zone (`timezone` trait).
    pub time_zone: Option<TimeZoneName>,
    /// Whether customers still on an older version move to this one when it
    /// is published (at the step of the same name; else they stay pinned).
    pub migrate_running: bool,
    pub start: StepId,
    pub steps: Vec<Step>,
    pub templates: BTreeMap<String, Arc<MessageTemplate>>,
}

impl Journey {
    pub fn step_named(&self, name: &str) -> Option<StepId> {
        self.steps.iter().position(|s| s.name == name)
    }
}

/// An IANA time zone name with its rules.
#[derive(Debug, Clone)]
pub struct TimeZoneName {
    pub name: String,
    pub zone: jiff::tz::TimeZone,
}

/// An event by name, passing every filter.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMatch {
    pub event: String,
    pub filters: Vec<PropertyFilter>,
}

impl EventMatch {
    pub fn matches(&self, event: &Value) -> bool {
        event.get("event").and_then(Value::as_str) == Some(self.event.as_str())
            && self.filters.iter().all(|f| f.matches(event))
    }
}

/// The engine's membership events, which segment triggers and exits read.
pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";

/// Whether `event` is the engine's record of `segment` being entered
/// (`entered`) or exited.
pub fn is_segment_change(event: &Value, segment: &str, entered: bool) -> bool {
    let name = if entered {
        SEGMENT_ENTERED
    } else {
        SEGMENT_EXITED
    };
    event.get("event").and_then(Value::as_str) == Some(name)
        && event.pointer("/properties/segment").and_then(Value::as_str) == Some(segment)
}

/// What starts a journey for a customer.
#[derive(Debug, Clone)]
pub enum Trigger {
    Event(EventMatch),
    SegmentEntered(String),
    SegmentExited(String),
    /// Only `POST /api/v1/journeys/{name}/enter` (or the CLI) enters people.
    Api,
    /// At each occurrence of `cron` (on the customer's clock, or a fixed
    /// zone's), the members of `segment` enter.
    Schedule {
        cron: crate::cron::Cron,
        zone: ZoneChoice,
        segment: String,
    },
}

impl Trigger {
    /// Whether this event starts the journey (an API trigger never does).
    pub fn fired_by(&self, event: &Value) -> bool {
        match self {
            Trigger::Event(m) => m.matches(event),
            Trigger::SegmentEntered(s) => is_segment_change(event, s, true),
            Trigger::SegmentExited(s) => is_segment_change(event, s, false),
            Trigger::Api | Trigger::Schedule { .. } => false,
        }
    }
}

/// What ends a journey early.
#[derive(Debug, Clone)]
pub enum ExitCriterion {
    Event(EventMatch),
    SegmentEntered(String),
    SegmentExited(String),
}

impl ExitCriterion {
    pub fn met_by(&self, event: &Value) -> bool {
        match self {
            ExitCriterion::Event(m) => m.matches(event),
            ExitCriterion::SegmentEntered(s) => is_segment_change(event, s, true),
            ExitCriterion::SegmentExited(s) => is_segment_change(event, s, false),
        }
    }
}

/// Whether someone who was in the journey may enter it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReEntry {
    /// Never again after a first entry.
    Once,
    /// Again once the previous pass has ended.
    OneAtATime,
    /// Again once the previous pass has ended and this long has passed
    /// since the previous entry (milliseconds).
    After(i64),
}

/// One named step.
#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
}

/// Whose clock a time of day is read on.
#[derive(Debug, Clone)]
pub enum ZoneChoice {
    /// The profile's `timezone` trait, else the journey's, else UTC.
    Customer,
    Fixed(TimeZoneName),
}

#[derive(Debug)]
pub enum StepKind {
    /// Wait a fixed time (milliseconds).
    Wait {
        millis: i64,
        next: StepId,
    },
    /// Wait until the next time the clock shows this time of day.
    WaitUntil {
        time: jiff::civil::Time,
        zone: ZoneChoice,
        next: StepId,
    },
    /// Wait for an event, at most `timeout` milliseconds.
    WaitFor {
        event: EventMatch,
        timeout: i64,
        on_event: StepId,
        on_timeout: StepId,
    },
    /// The first arm whose condition holds, else `otherwise`.
    Branch {
        arms: Vec<(Condition, StepId)>,
        otherwise: StepId,
    },
    /// A weighted random choice, sticky per customer and journey.
    Split {
        arms: Vec<SplitArm>,
    },
    /// From here on, this share of customers gets no messages (tracked).
    Holdout {
        basis_points: u32,
        next: StepId,
    },
    Send {
        channel: Channel,
        template: String,
        next: StepId,
    },
    /// Set profile traits (values may be Liquid templates).
    UpdateProfile {
        set: BTreeMap<String, ValueTemplate>,
        next: StepId,
    },
    /// Append an event to the customer's timeline.
    Emit {
        event: String,
        properties: ValueTemplate,
        next: StepId,
    },
    Exit,
}

impl StepKind {
    /// The steps this one can lead to.
    pub fn successors(&self) -> Vec<StepId> {
        match self {
            StepKind::Wait { next, .. }
            | StepKind::WaitUntil { next, .. }
            | StepKind::Holdout { next, .. }
            | StepKind::Send { next, .. }
            | StepKind::UpdateProfile { next, .. }
            | StepKind::Emit { next, .. } => vec![*next],
            StepKind::WaitFor {
                on_event,
                on_timeout,
                ..
            } => vec![*on_event, *on_timeout],
            StepKind::Branch { arms, otherwise } => {
                arms.iter().map(|a| a.1).chain([*otherwise]).collect()
            }
            StepKind::Split { arms } => arms.iter().map(|a| a.next).collect(),
            StepKind::Exit => Vec::new(),
        }
    }

    /// Whether a customer can stop here until time passes.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            StepKind::Wait { .. } | StepKind::WaitUntil { .. } | StepKind::WaitFor { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct SplitArm {
    /// The variant's name, recorded on the customer's path.
    pub variant: String,
    pub weight: u32,
    pub next: StepId,
}

/// Where a message goes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Push,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::Webhook,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::Webhook => "webhook",
        }
    }

    pub fn from_name(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == name)
    }
}
