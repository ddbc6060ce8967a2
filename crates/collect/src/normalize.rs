//! Turns one Segment spec message into the event Percorso stores: checks
//! required fields, merges batch-level defaults, stamps `receivedAt` and
//! corrects `timestamp` for the sender's clock skew.
//!
//! Only top-level fields are read; every other member is copied to the
//! stored event as the exact text that was sent, in the order it was sent.

use percorso_core::{format_millis, millis_in_range, parse_timestamp_millis};
use serde_json::{Map, Value};

use crate::raw_object::{is_object, write_key, RawObject};
use crate::rejection::Rejection;

/// The Segment message types.
pub const MESSAGE_TYPES: [&str; 6] = ["track", "identify", "page", "screen", "group", "alias"];

/// Fields a batch envelope may give for all of its items, and how to read
/// their times.
#[derive(Debug, Clone, Default)]
pub struct BatchDefaults {
    pub context: Option<Map<String, Value>>,
    pub integrations: Option<Map<String, Value>>,
    pub sent_at: Option<Value>,
    /// The items are history being imported: `timestamp` is kept as given
    /// (an export's is already corrected), not corrected for clock skew
    /// against the time of import.
    pub historical: bool,
}

/// Longest identifier (`userId`, `messageId`, ...) accepted; ids are keys,
/// not documents, and the stored header keeps them in 16-bit lengths.
pub const MAX_ID_BYTES: usize = 1024;

/// A message ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedEvent {
    pub message_id: String,
    pub user_id: String,
    pub anonymous_id: String,
    pub timestamp: i64,
    pub received_at: i64,
    pub json: Vec<u8>,
}

/// What validation learned about a message.
struct Checked {
    kind: String,
    user_id: String,
    anonymous_id: String,
    message_id: String,
    /// The field holding the client's clock reading, and its value.
    original: Option<(&'static str, i64)>,
    /// The `timestamp` member as sent.
    timestamp: Option<i64>,
    sent_at: Option<i64>,
}

/// The top-level fields the server sets or rewrites, in the order they are
/// appended when the message did not have them.
const MANAGED: [&str; 10] = [
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "context",
    "integrations",
];

/// Normalises the message in `text` (a JSON object). `route_type` is the
/// type implied by the endpoint (`/v1/track` → `track`); batch items and
/// imports carry their own. `fallback_message_id` is used when the message
/// has none (imports derive one from the line, so re-imports deduplicate);
/// without either, a random one is made.
pub fn normalize(
    text: &str,
    fallback_message_id: Option<&str>,
    route_type: Option<&str>,
    defaults: &BatchDefaults,
    received_at: i64,
) -> Result<NormalizedEvent, Rejection> {
    let not_an_object = Rejection::new("invalid_item", "an event must be a JSON object");
    let object = RawObject::parse_message(text, not_an_object)?;
    let mut checked = check(&object, route_type, defaults)?;
    if checked.message_id.is_empty() {
        checked.message_id = match fallback_message_id {
            Some(id) => id.to_owned(),
            None => format!("percorso-{}", uuid::Uuid::new_v4()),
        };
    }
    let timestamp = event_time(&checked, defaults.historical, received_at);
    if !millis_in_range(timestamp) {
        return Err(Rejection::new(
            "invalid_timestamp",
            "timestamp, corrected for clock skew with sentAt, is outside the range of ISO 8601 timestamps",
        ));
    }
    let managed = managed_values(&object, &checked, defaults, timestamp, received_at);
    let json = write_event(&object, &managed, text.len());
    Ok(NormalizedEvent {
        message_id: checked.message_id,
        user_id: checked.user_id,
        anonymous_id: checked.anonymous_id,
        timestamp,
        received_at,
        json,
    })
}

/// When the event happened.
fn event_time(checked: &Checked, historical: bool, received_at: i64) -> i64 {
    if historical {
        return checked
            .timestamp
            .or(checked.original.map(|(_, ms)| ms))
            .unwrap_or(received_at);
    }
    // Segment's rule: the client's clock may be wrong, but the gap between
    // when it recorded the event and when it sent it is right; so the event
    // happened that long before the server received it.
    match (checked.original, checked.sent_at) {
        (Some((_, original)), Some(sent_at)) => {
            received_at.saturating_sub(sent_at.saturating_sub(original))
        }
        (Some((_, original)), None) => original,
        (None, _) => received_at,
    }
}

fn check(
    object: &RawObject<'_>,
    route_type: Option<&str>,
    defaults: &BatchDefaults,
) -> Result<Checked, Rejection> {
    let kind = match route_type {
        Some(kind) => kind.to_owned(),
        None => message_type(object)?,
    };
    let user_id = identifier(object, "userId")?;
    let anonymous_id = identifier(object, "anonymousId")?;
    if user_id.is_empty() && anonymous_id.is_empty() {
        return Err(Rejection::new(
            "missing_user_id",
            "either userId or anonymousId is required",
        ));
    }
    match kind.as_str() {
        "track" => require_string(object, "event", "missing_event")?,
        "group" => require_identifier(object, "groupId", "missing_group_id")?,
        "alias" => require_identifier(object, "previousId", "missing_previous_id")?,
        _ => {}
    }
    for field in ["context", "integrations", "traits", "properties"] {
        if object.present(field).is_some_and(|raw| !is_object(raw)) {
            return Err(Rejection::invalid_field(field, "must be a JSON object"));
        }
    }
    // The client's clock reading: RudderStack's libraries send it as
    // `originalTimestamp`, Segment's as `timestamp`; a message carrying both
    // (an export, say) has it in `originalTimestamp`.
    let original_field = if object.present("originalTimestamp").is_some() {
        "originalTimestamp"
    } else {
        "timestamp"
    };
    let original = parse_time(
        small_value(object, original_field)?.as_ref(),
        original_field,
    )?;
    let timestamp = parse_time(small_value(object, "timestamp")?.as_ref(), "timestamp")?;
    let sent_at = match small_value(object, "sentAt")? {
        Some(value) => parse_time(Some(&value), "sentAt")?,
        None => parse_time(defaults.sent_at.as_ref(), "sentAt")?,
    };
    Ok(Checked {
        kind,
        user_id,
        anonymous_id,
        message_id: identifier(object, "messageId")?,
        original: original.map(|ms| (original_field, ms)),
        timestamp,
        sent_at,
    })
}

/// Parses a small top-level member (an id, a name, a time); `None` if absent or null.
fn small_value(object: &RawObject<'_>, field: &str) -> Result<Option<Value>, Rejection> {
    object
        .present(field)
        .map(|raw| {
            serde_json::from_str(raw).map_err(|e| Rejection::invalid_field(field, &e.to_string()))
        })
        .transpose()
}

fn message_type(object: &RawObject<'_>) -> Result<String, Rejection> {
    match small_value(object, "type")? {
        None => Err(Rejection::new("missing_type", "type is required")),
        Some(Value::String(t)) if MESSAGE_TYPES.contains(&t.as_str()) => Ok(t),
        Some(other) => Err(Rejection::new(
            "invalid_type",
            format!("type {other} is not one of {}", MESSAGE_TYPES.join(", ")),
        )),
    }
}

/// Reads an identifier; Segment libraries may send numbers, which are kept
/// as their decimal text so they match the same id sent as a string.
fn identifier(object: &RawObject<'_>, field: &str) -> Result<String, Rejection> {
    match small_value(object, field)? {
        None => Ok(String::new()),
        Some(Value::String(s)) if s.len() > MAX_ID_BYTES => Err(Rejection::invalid_field(
            field,
            &format!("is {} bytes long; the limit is {MAX_ID_BYTES}", s.len()),
        )),
        Some(Value::String(s)) => Ok(s),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(Rejection::invalid_field(
            field,
            "must be a string or a number",
        )),
    }
}

fn require_identifier(
    object: &RawObject<'_>,
    field: &str,
    code: &'static str,
) -> Result<(), Rejection> {
    if identifier(object, field)?.is_empty() {
        return Err(Rejection::new(code, format!("{field} is required")));
    }
    Ok(())
}

fn require_string(
    object: &RawObject<'_>,
    field: &str,
    code: &'static str,
) -> Result<(), Rejection> {
    match small_value(object, field)? {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        None => Err(Rejection::new(code, format!("{field} is required"))),
        Some(Value::String(_)) => Err(Rejection::new(code, format!("{field} must not be empty"))),
        Some(_) => Err(Rejection::invalid_field(field, "must be a string")),
    }
}

fn parse_time(value: Option<&Value>, field: &str) -> Result<Option<i64>, Rejection> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_timestamp_millis(s)
            .map(Some)
            .map_err(|e| Rejection::new("invalid_timestamp", format!("{field}: {e}"))),
        Some(_) => Err(Rejection::invalid_field(
            field,
            "must be an ISO 8601 string",
        )),
    }
}

/// The JSON text of each managed field in the stored event; `None` keeps
/// what was sent (or leaves the field out when nothing was sent).
fn managed_values(
    object: &RawObject<'_>,
    checked: &Checked,
    defaults: &BatchDefaults,
    timestamp: i64,
    received_at: i64,
) -> [Option<String>; MANAGED.len()] {
    let quoted = |text: &str| serde_json::to_string(text).ok();
    let id = |text: &str| if text.is_empty() { None } else { quoted(text) };
    let original = checked
        .original
        .and_then(|(field, _)| object.present(field))
        .map(str::to_owned);
    let sent_at = match object.present("sentAt") {
        Some(_) => None,
        None => defaults
            .sent_at
            .as_ref()
            .filter(|v| !v.is_null())
            .map(Value::to_string),
    };
    [
        quoted(&checked.kind),
        quoted(&checked.message_id),
        id(&checked.user_id),
        id(&checked.anonymous_id),
        quoted(&format_millis(timestamp)),
        original,
        sent_at,
        quoted(&format_millis(received_at)),
        merged(object.present("context"), defaults.context.as_ref()),
        merged(
            object.present("integrations"),
            defaults.integrations.as_ref(),
        ),
    ]
}

/// An object field with the batch's defaults filled in (the item's keys
/// win); `None` when there is nothing to merge. The item's members are kept
/// as the text that was sent, so nothing in them is reinterpreted.
fn merged(raw: Option<&str>, defaults: Option<&Map<String, Value>>) -> Option<String> {
    let defaults = defaults.filter(|d| !d.is_empty())?;
    // `check` made sure a present field is an object within valid JSON.
    let item = raw.map(RawObject::parse).transpose().ok()?;
    let mut out = Vec::with_capacity(raw.map_or(0, str::len) + 64);
    let mut first = true;
    out.push(b'{');
    for (key, value) in item.iter().flat_map(|o| &o.members) {
        write_key(&mut out, &mut first, key);
        out.extend_from_slice(value.get().as_bytes());
    }
    for (key, value) in defaults {
        if item.as_ref().is_none_or(|o| o.get(key).is_none()) {
            write_key(&mut out, &mut first, key);
            serde_json::to_writer(&mut out, value).ok()?;
        }
    }
    out.push(b'}');
    String::from_utf8(out).ok()
}

/// Writes the stored event: the message's members in their order, managed
/// ones replaced in place, missing managed ones appended, `writeKey` left out.
fn write_event(
    object: &RawObject<'_>,
    managed: &[Option<String>; MANAGED.len()],
    size_hint: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 192);
    let mut first = true;
    let mut written = [false; MANAGED.len()];
    out.push(b'{');
    for (key, raw) in &object.members {
        if key == "writeKey" {
            continue; // a credential, not event data
        }
        write_key(&mut out, &mut first, key);
        match MANAGED.iter().position(|m| m == key) {
            Some(slot) => {
                written[slot] = true;
                let text = managed[slot].as_deref().unwrap_or(raw.get());
                out.extend_from_slice(text.as_bytes());
            }
            None => out.extend_from_slice(raw.get().as_bytes()),
        }
    }
    for (slot, key) in MANAGED.iter().enumerate() {
        if let (false, Some(text)) = (written[slot], &managed[slot]) {
            write_key(&mut out, &mut first, key);
            out.extend_from_slice(text.as_bytes());
        }
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_unmanaged_members_verbatim_and_rewrites_managed_ones_in_place() {
        let text = r#"{"event":"Bought","properties":{"b": 1,  "a":[2]},"userId":42,"writeKey":"k","x":null}"#;
        let event = normalize(
            text,
            Some("fallback"),
            Some("track"),
            &BatchDefaults::default(),
            0,
        )
        .unwrap();
        let json = String::from_utf8(event.json).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"event":"Bought","properties":{"b": 1,  "a":[2]},"userId":"42","x":null,"#,
                r#""type":"track","messageId":"fallback","timestamp":"1970-01-01T00:00:00.000Z","#,
                r#""receivedAt":"1970-01-01T00:00:00.000Z"}"#
            )
        );
        assert_eq!(
            (event.user_id.as_str(), event.message_id.as_str()),
            ("42", "fallback")
        );
    }
}
