//! Events the engine states about a profile: segment membership changes.

use std::fmt::Write;

use crate::input::Record;
use crate::profile::ProfileState;

pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";
/// The source derived events are stored under.
pub const ENGINE_SOURCE: &str = "percorso";

/// The event recording that `profile` entered or left `segment`. Its
/// `messageId` is numbered by the profile's recorded changes, so stating
/// the same change twice (say after a crash) stores it once.
///
/// Written as JSON text directly: the engine states these at the rate
/// events arrive, and building a `Value` only to print it cost more than
/// the rest of stating the change.
pub fn membership_event(
    profile_id: &str,
    state: &ProfileState,
    segment: &str,
    entered: bool,
    transition: u32,
    now: i64,
) -> String {
    let name = if entered {
        SEGMENT_ENTERED
    } else {
        SEGMENT_EXITED
    };
    let message_id = quoted(&format!("segment:{segment}:{profile_id}:{transition}"));
    // The Segment spec wants a userId or an anonymousId on every message.
    let anonymous = quoted(state.anonymous_id.as_deref().unwrap_or(profile_id));
    let mut text = String::with_capacity(256 + segment.len());
    let _ = write!(
        text,
        r#"{{"type":"track","event":"{name}","messageId":{message_id},"timestamp":"{}","properties":{{"segment":{},"profile_id":{}}},"context":{{"library":{{"name":"percorso-engine"}}}},"anonymousId":{anonymous}"#,
        percorso_core::format_millis(now),
        quoted(segment),
        quoted(profile_id),
    );
    if let Some(user) = &state.user_id {
        let _ = write!(text, r#","userId":{}"#, quoted(user));
    }
    text.push('}');
    text
}

/// A JSON string literal.
fn quoted(text: &str) -> String {
    // Serialising a `str` cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// `(segment, entered)` when the record is a membership change the engine
/// stated.
pub fn as_membership_change(record: &Record) -> Option<(&str, bool)> {
    if record.source_id != ENGINE_SOURCE {
        return None;
    }
    let entered = match record.event_name()? {
        SEGMENT_ENTERED => true,
        SEGMENT_EXITED => false,
        _ => return None,
    };
    let segment = record.event.pointer("/properties/segment")?.as_str()?;
    Some((segment, entered))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn membership_events_are_valid_json_whatever_the_names_hold() {
        let state = ProfileState {
            user_id: Some("u \"1\"".into()),
            ..ProfileState::default()
        };
        let text = membership_event("prof_1", &state, "vip\\\"s", true, 3, 0);
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["event"], SEGMENT_ENTERED);
        assert_eq!(event["messageId"], "segment:vip\\\"s:prof_1:3");
        assert_eq!(event["properties"]["segment"], "vip\\\"s");
        assert_eq!(event["userId"], "u \"1\"");
        assert_eq!(event["anonymousId"], "prof_1");
        assert_eq!(event["timestamp"], "1970-01-01T00:00:00.000Z");
    }
}
