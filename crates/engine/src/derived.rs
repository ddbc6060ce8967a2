//! Events the engine states about a profile: segment membership changes.

use serde_json::{json, Value};

use crate::input::Record;
use crate::profile::ProfileState;

pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";
/// The source derived events are stored under.
pub const ENGINE_SOURCE: &str = "percorso";

/// The event recording that `profile` entered or left `segment`. Its
/// `messageId` is numbered by the profile's recorded changes, so stating
/// the same change twice (say after a crash) stores it once.
pub fn membership_event(
    profile_id: &str,
    state: &ProfileState,
    segment: &str,
    entered: bool,
    transition: u32,
    now: i64,
) -> Value {
    let mut event = json!({
        "type": "track",
        "event": if entered { SEGMENT_ENTERED } else { SEGMENT_EXITED },
        "messageId": format!("segment:{segment}:{profile_id}:{transition}"),
        "timestamp": percorso_core::format_millis(now),
        "properties": { "segment": segment, "profile_id": profile_id },
        "context": { "library": { "name": "percorso-engine" } },
    });
    if let Some(user) = &state.user_id {
        event["userId"] = json!(user);
    }
    // The Segment spec wants a userId or an anonymousId on every message.
    let anonymous = state
        .anonymous_id
        .clone()
        .unwrap_or_else(|| profile_id.to_owned());
    event["anonymousId"] = json!(anonymous);
    event
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
