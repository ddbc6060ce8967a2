//! The events the engine states for journeys, and reading them back.
//!
//! Journey state moves only on what the log holds, so replaying the log
//! gives the same state, messages and keys: a timer that comes due is
//! stated as `Journey Timer Fired` and acted on when read back; an API
//! entry is stated as `Journey Entry Requested`; a delivery's end is
//! stated as `Message Sent` or `Message Failed` (which takes the message
//! out of the outbox); a dead letter is sent again by `Message Retry
//! Requested`. All are stored under Percorso's own source, on the profile.

use percorso_collect::{normalize, BatchDefaults, NormalizedEvent};
use serde::Deserialize;
use serde_json::{json, Value};

pub const TIMER_FIRED: &str = "Journey Timer Fired";
pub const ENTRY_REQUESTED: &str = "Journey Entry Requested";
pub const MESSAGE_SENT: &str = "Message Sent";
pub const MESSAGE_FAILED: &str = "Message Failed";
pub const RETRY_REQUESTED: &str = "Message Retry Requested";

/// A journey record read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub enum JourneyInput {
    TimerFired {
        journey: String,
        entry: u32,
        /// The wait's own time (what the pass is waiting for).
        due: i64,
        /// The timer row this fired: when it was set to fire, and for whom.
        fire_at: i64,
        timer_profile: String,
    },
    EntryRequested {
        journey: String,
        context: Value,
    },
    MessageSent {
        key: String,
        journey: String,
        step: String,
    },
    MessageFailed {
        key: String,
        journey: String,
        step: String,
        reason: String,
        attempts: u32,
    },
    RetryRequested {
        key: String,
    },
}

#[derive(Deserialize)]
struct View {
    #[serde(rename = "type")]
    kind: Option<String>,
    event: Option<String>,
    #[serde(default)]
    properties: Value,
}

/// The journey record an event stored under the engine's source is, if any.
pub fn stated_journey(json: &[u8]) -> Option<JourneyInput> {
    let view: View = serde_json::from_slice(json).ok()?;
    if view.kind.as_deref() != Some("track") {
        return None;
    }
    let p = &view.properties;
    let text = |name: &str| p.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| p.get(name).and_then(Value::as_i64);
    Some(match view.event.as_deref()? {
        TIMER_FIRED => JourneyInput::TimerFired {
            journey: text("journey")?,
            entry: u32::try_from(number("entry")?).ok()?,
            due: number("due")?,
            fire_at: number("fire_at")?,
            timer_profile: text("timer_profile")?,
        },
        ENTRY_REQUESTED => JourneyInput::EntryRequested {
            journey: text("journey")?,
            context: p.get("context").cloned().unwrap_or(Value::Null),
        },
        MESSAGE_SENT => JourneyInput::MessageSent {
            key: text("key")?,
            journey: text("journey").unwrap_or_default(),
            step: text("step").unwrap_or_default(),
        },
        MESSAGE_FAILED => JourneyInput::MessageFailed {
            key: text("key")?,
            journey: text("journey").unwrap_or_default(),
            step: text("step").unwrap_or_default(),
            reason: text("reason").unwrap_or_default(),
            attempts: number("attempts")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        },
        RETRY_REQUESTED => JourneyInput::RetryRequested { key: text("key")? },
        _ => return None,
    })
}

/// Who a stated event is addressed to: the Segment spec wants a user or
/// anonymous id on every message.
#[derive(Debug, Clone)]
pub struct Addressee<'a> {
    pub profile: &'a str,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
}

/// A track event stated now, in stored form.
pub fn stated_track(
    to: &Addressee<'_>,
    event: &str,
    message_id: &str,
    properties: Value,
    now: i64,
) -> NormalizedEvent {
    stated(
        to,
        json!({ "type": "track", "event": event, "properties": properties }),
        message_id,
        now,
    )
}

/// An identify setting `traits`, stated now.
pub fn stated_identify(
    to: &Addressee<'_>,
    message_id: &str,
    traits: Value,
    now: i64,
) -> NormalizedEvent {
    stated(
        to,
        json!({ "type": "identify", "traits": traits }),
        message_id,
        now,
    )
}

fn stated(to: &Addressee<'_>, mut body: Value, message_id: &str, now: i64) -> NormalizedEvent {
    let time = percorso_core::format_millis(now);
    body["messageId"] = json!(message_id);
    body["timestamp"] = json!(time);
    body["anonymousId"] = json!(to.anonymous_id.unwrap_or(to.profile));
    if let Some(user) = to.user_id {
        body["userId"] = json!(user);
    }
    body["context"] = json!({ "library": { "name": "percorso-journeys" } });
    let text = body.to_string();
    // Built here from valid parts: normalizing cannot refuse it.
    normalize(&text, None, None, &BatchDefaults::default(), now).unwrap_or_else(|rejection| {
        tracing::error!(?rejection, "a stated journey event was refused");
        NormalizedEvent {
            message_id: message_id.to_owned(),
            user_id: String::new(),
            anonymous_id: to.profile.to_owned(),
            timestamp: now,
            received_at: now,
            json: text.into_bytes(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_records_read_back_as_what_they_state() {
        let to = Addressee {
            profile: "prof_1",
            user_id: Some("u1"),
            anonymous_id: None,
        };
        let cases = [
            (
                stated_track(
                    &to,
                    TIMER_FIRED,
                    "t",
                    json!({ "journey": "j", "entry": 2, "due": 1_000, "fire_at": 61_000, "timer_profile": "prof_0" }),
                    5,
                ),
                JourneyInput::TimerFired {
                    journey: "j".into(),
                    entry: 2,
                    due: 1_000,
                    fire_at: 61_000,
                    timer_profile: "prof_0".into(),
                },
            ),
            (
                stated_track(
                    &to,
                    ENTRY_REQUESTED,
                    "e",
                    json!({ "journey": "j", "context": { "a": 1 } }),
                    5,
                ),
                JourneyInput::EntryRequested {
                    journey: "j".into(),
                    context: json!({ "a": 1 }),
                },
            ),
            (
                stated_track(
                    &to,
                    MESSAGE_FAILED,
                    "f",
                    json!({ "key": "k", "journey": "j", "step": "s", "reason": "503", "attempts": 8 }),
                    5,
                ),
                JourneyInput::MessageFailed {
                    key: "k".into(),
                    journey: "j".into(),
                    step: "s".into(),
                    reason: "503".into(),
                    attempts: 8,
                },
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(stated_journey(&event.json), Some(expected));
            let value: Value = serde_json::from_slice(&event.json).unwrap();
            assert_eq!(value["userId"], "u1");
            assert_eq!(value["anonymousId"], "prof_1");
        }
        let other = stated_track(&to, "Segment Entered", "s", json!({ "segment": "x" }), 5);
        assert_eq!(stated_journey(&other.json), None);
    }
}
