//! What the state machine keeps per customer: each journey's entries and
//! the pass in progress, and recent sends for frequency caps. Plain data,
//! serialisable, so the engine stores it beside the profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::Channel;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerJourneys {
    /// By journey name.
    pub journeys: BTreeMap<String, JourneyRecord>,
    /// Messages sent (time, channel), oldest first, kept as long as the
    /// longest frequency cap looks back.
    pub sent: Vec<(i64, Channel)>,
}

impl CustomerJourneys {
    /// The pass in progress through `journey`, if any.
    pub fn active(&self, journey: &str) -> Option<&Instance> {
        self.journeys.get(journey)?.active.as_ref()
    }
}

/// One customer's history with one journey.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JourneyRecord {
    /// Passes begun (the current one included).
    pub entries: u32,
    /// When the latest pass began.
    pub last_entered: Option<i64>,
    pub active: Option<Instance>,
}

/// A pass through a journey in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// The version entered (customers stay on it unless a newer one migrates them).
    pub version: u32,
    /// Which pass this is (1 for the first).
    pub entry: u32,
    /// The current step's name.
    pub step: String,
    pub entered_at: i64,
    /// In a control group: moves through the steps, sends nothing.
    pub control: bool,
    /// Steps arrived at so far; numbers each effect's idempotency key.
    pub moves: u32,
    /// The event (or API context) that began this pass.
    pub trigger: Value,
    pub waiting: Option<Waiting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub due: i64,
    pub kind: WaitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// A `wait` or `wait_until`: when due, go on to `next`.
    Timer,
    /// A `wait_for`: an event goes on to `on_event`, the timeout to `on_timeout`.
    EventOrTimeout,
    /// A send put off by quiet hours: when due, try the send again.
    QuietHours,
}
