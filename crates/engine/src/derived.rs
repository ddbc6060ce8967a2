//! Events the engine states about a profile: segment membership changes.

use std::borrow::Cow;

use percorso_collect::NormalizedEvent;
use serde::Deserialize;

use crate::definitions::SegmentEntry;
use crate::profile::ProfileState;

pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";
/// The source derived events are stored under.
pub const ENGINE_SOURCE: &str = "percorso";

/// The event recording that `profile` entered or left `segment`. Its
/// `messageId` is numbered by the profile's recorded changes, so stating
/// the same change twice (say after a crash) stores it once.
///
/// Written directly in its stored form (normalizing it would change
/// nothing, as a test checks): the engine states these at the rate events
/// arrive, and parsing them again on the way in cost a tenth of ingest.
/// Its time, and its `receivedAt`, is `now`: when the engine stated it.
pub fn membership_event(
    profile_id: &str,
    state: &ProfileState,
    segment: &SegmentEntry,
    entered: bool,
    transition: u32,
    now: i64,
) -> NormalizedEvent {
    let name = if entered {
        SEGMENT_ENTERED
    } else {
        SEGMENT_EXITED
    };
    let generation = segment.generation;
    let segment = segment.name.as_str();
    let message_id = format!("segment:{segment}:{generation}:{profile_id}:{transition}");
    // The Segment spec wants a userId or an anonymousId on every message.
    let anonymous = state.anonymous_id.as_deref().unwrap_or(profile_id);
    let time = percorso_core::format_millis(now);
    // Written straight into one buffer: a string per quoted member cost
    // the engine a few allocations per change.
    let mut text = Vec::with_capacity(360 + 2 * segment.len() + 3 * profile_id.len());
    let mut put = |raw: &str, quote: Option<&str>| {
        text.extend_from_slice(raw.as_bytes());
        if let Some(member) = quote {
            // Writing a `str` into a vector cannot fail.
            let _ = serde_json::to_writer(&mut text, member);
        }
    };
    put(r#"{"type":"track","event":""#, None);
    put(name, None);
    put(r#"","messageId":"#, Some(&message_id));
    put(r#","timestamp":""#, None);
    put(&time, None);
    put(r#"","properties":{"segment":"#, Some(segment));
    put(
        &format!(r#","generation":{generation},"profile_id":"#),
        Some(profile_id),
    );
    put(
        r#"},"context":{"library":{"name":"percorso-engine"}},"anonymousId":"#,
        Some(anonymous),
    );
    if let Some(user) = &state.user_id {
        put(r#","userId":"#, Some(user));
    }
    put(r#","originalTimestamp":""#, None);
    put(&time, None);
    put(r#"","receivedAt":""#, None);
    put(&time, None);
    put(r#""}"#, None);
    NormalizedEvent {
        message_id,
        user_id: state.user_id.clone().unwrap_or_default(),
        anonymous_id: anonymous.to_owned(),
        timestamp: now,
        received_at: now,
        json: text,
    }
}

/// A membership change the engine stated, as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatedChange {
    pub segment: String,
    /// Absent on events stated before segments had generations.
    pub generation: Option<u64>,
    pub entered: bool,
}

/// The members of a stored event that say whether it is a stated change.
#[derive(Deserialize)]
struct StatedView<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<StatedProperties<'a>>,
}

#[derive(Deserialize)]
struct StatedProperties<'a> {
    #[serde(borrow)]
    segment: Option<Cow<'a, str>>,
    generation: Option<u64>,
}

/// The change an event stored under the engine's source states, if it is
/// one. Read into a few typed members rather than a whole `Value`: these
/// come back at the rate the engine states them, often a third of all
/// records.
pub fn stated_change(json: &[u8]) -> Option<StatedChange> {
    // Read from text checked once (see `Projection::decode`); stored
    // events are always text.
    let view: StatedView<'_> = serde_json::from_str(std::str::from_utf8(json).ok()?).ok()?;
    if view.kind.as_deref() != Some("track") {
        return None;
    }
    let entered = match view.event.as_deref()? {
        SEGMENT_ENTERED => true,
        SEGMENT_EXITED => false,
        _ => return None,
    };
    let properties = view.properties?;
    Some(StatedChange {
        segment: properties.segment?.into_owned(),
        generation: properties.generation,
        entered,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::definitions::Definitions;

    #[test]
    fn membership_events_are_valid_json_whatever_the_names_hold() {
        let state = ProfileState {
            user_id: Some("u \"1\"".into()),
            ..ProfileState::default()
        };
        let segment = Definitions::default()
            .parse_segment("name: vips\nrule: { trait: vip, equals: true }\n", 0)
            .map(|mut s| {
                s.name = "vip\\\"s".into();
                s.generation = 7;
                s
            })
            .unwrap();
        let stated = membership_event("prof_1", &state, &segment, true, 3, 0);
        let event: Value = serde_json::from_slice(&stated.json).unwrap();
        assert_eq!(event["event"], SEGMENT_ENTERED);
        assert_eq!(event["messageId"], "segment:vip\\\"s:7:prof_1:3");
        assert_eq!(event["properties"]["generation"], 7);
        assert_eq!(event["properties"]["segment"], "vip\\\"s");
        assert_eq!(event["userId"], "u \"1\"");
        assert_eq!(event["anonymousId"], "prof_1");
        assert_eq!(event["timestamp"], "1970-01-01T00:00:00.000Z");
    }

    /// The engine skips normalizing its own events; this is why it may.
    #[test]
    fn membership_events_are_stored_as_normalizing_them_would_store_them() {
        let segment = Definitions::default()
            .parse_segment("name: vips\nrule: { trait: vip, equals: true }\n", 0)
            .unwrap();
        let now = 1_767_225_600_123;
        for (user, anonymous) in [
            (None, None),
            (Some("u-1"), Some("a-1")),
            (None, Some("a \"2\"")),
        ] {
            let state = ProfileState {
                user_id: user.map(str::to_owned),
                anonymous_id: anonymous.map(str::to_owned),
                ..ProfileState::default()
            };
            for entered in [true, false] {
                let stated = membership_event("prof_9", &state, &segment, entered, 2, now);
                let text = std::str::from_utf8(&stated.json).unwrap();
                let defaults = percorso_collect::BatchDefaults::default();
                let normalized = percorso_collect::normalize(text, None, None, &defaults, now)
                    .expect("a valid event");
                assert_eq!(String::from_utf8_lossy(&normalized.json), text);
                assert_eq!(normalized, stated);
            }
        }
    }
}
