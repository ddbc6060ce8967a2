//! What the state machine asks the world to do, and what it records of a
//! customer's path. Nothing here has happened yet when it is returned: the
//! engine writes these to its outbox and timer table with the state change
//! that caused them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::definition::Channel;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A step of the customer's path, for their profile and the counters.
    Record(PathEntry),
    Send(Message),
    /// Call `on_timer(journey, entry, due)` once `due` has come.
    ArmTimer {
        journey: String,
        entry: u32,
        due: i64,
    },
    /// Set these profile traits (stated as an identify with this id).
    SetTraits {
        message_id: String,
        traits: Map<String, Value>,
    },
    /// Append this event to the customer's timeline.
    Emit {
        message_id: String,
        event: String,
        properties: Value,
    },
}

/// One thing that happened to a customer in a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathEntry {
    pub journey: String,
    pub version: u32,
    pub entry: u32,
    /// The step it happened at (none for entering and some exits).
    pub step: Option<String>,
    pub at: i64,
    #[serde(flatten)]
    pub what: PathEvent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum PathEvent {
    Entered {
        control: bool,
    },
    /// Arrived at a step that decides or acts (branch arm, split variant,
    /// holdout, profile update, emitted event).
    Took {
        detail: String,
    },
    Waiting {
        until: i64,
    },
    Sent {
        key: String,
        channel: Channel,
    },
    Suppressed {
        channel: Channel,
        reason: Suppression,
    },
    /// A message could not be made (its template failed to render).
    Failed {
        reason: String,
    },
    /// The journey is paused: the customer stays where they are.
    Held,
    /// Moved to a newer version of the journey.
    Migrated {
        to_version: u32,
    },
    Exited {
        reason: ExitReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// In a control group (journey or global holdout).
    HeldOut,
    Unsubscribed,
    FrequencyCap,
    QuietHours,
    /// No address to send to (no `email` / `phone` trait).
    NoAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Reached an exit step.
    Completed,
    /// Reached the goal.
    Converted,
    /// Met an exit criterion.
    ExitCriterion,
    /// The journey was archived.
    Archived,
    /// A step led nowhere it could go (a loop past the per-input limit).
    Stuck,
}

/// A message to deliver, rendered. Its key is stable across retries,
/// restarts and replays: the webhook's `Idempotency-Key`, the email's
/// `Message-ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub key: String,
    pub journey: String,
    pub version: u32,
    pub step: String,
    pub profile: String,
    pub at: i64,
    pub content: Content,
}

impl Message {
    pub fn channel(&self) -> Channel {
        match self.content {
            Content::Email { .. } => Channel::Email,
            Content::Sms { .. } => Channel::Sms,
            Content::Push { .. } => Channel::Push,
            Content::Webhook { .. } => Channel::Webhook,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Content {
    Email {
        to: String,
        subject: String,
        html: Option<String>,
        text: Option<String>,
    },
    Sms {
        to: String,
        text: String,
    },
    Push {
        to: String,
        title: Option<String>,
        text: String,
    },
    Webhook {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<Value>,
    },
}
