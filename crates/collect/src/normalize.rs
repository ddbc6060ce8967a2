//! Turns one Segment spec message into the event Percorso stores: checks
//! required fields, merges batch-level defaults, stamps `receivedAt` and
//! corrects `timestamp` for the sender's clock skew.

use percorso_core::{format_millis, parse_timestamp_millis};
use serde_json::{Map, Value};

use crate::rejection::Rejection;

/// The Segment message types.
pub const MESSAGE_TYPES: [&str; 6] = ["track", "identify", "page", "screen", "group", "alias"];

/// Fields a batch envelope may give for all of its items.
#[derive(Debug, Clone, Default)]
pub struct BatchDefaults {
    pub context: Option<Map<String, Value>>,
    pub integrations: Option<Map<String, Value>>,
    pub sent_at: Option<Value>,
}

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

/// What validation learned about a message before anything is changed.
struct Checked {
    kind: String,
    user_id: String,
    anonymous_id: String,
    message_id: String,
    /// The field holding the client's clock reading, and its value.
    original: Option<(&'static str, i64)>,
    sent_at: Option<i64>,
}

/// Normalises `item`. `route_type` is the type implied by the endpoint
/// (`/v1/track` → `track`); batch items and imports must carry their own.
/// A refused item is handed back untouched, to be quarantined as it came.
pub fn normalize(
    mut item: Map<String, Value>,
    route_type: Option<&str>,
    defaults: &BatchDefaults,
    received_at: i64,
) -> Result<NormalizedEvent, (Rejection, Map<String, Value>)> {
    let checked = match check(&item, route_type, defaults) {
        Ok(checked) => checked,
        Err(rejection) => return Err((rejection, item)),
    };
    item.insert("type".into(), Value::String(checked.kind));
    for (field, value) in [
        ("userId", &checked.user_id),
        ("anonymousId", &checked.anonymous_id),
    ] {
        if !value.is_empty() {
            item.insert(field.into(), Value::String(value.clone()));
        }
    }
    let message_id = if checked.message_id.is_empty() {
        format!("percorso-{}", uuid::Uuid::new_v4())
    } else {
        checked.message_id
    };
    item.insert("messageId".into(), Value::String(message_id.clone()));
    merge_defaults(&mut item, "context", defaults.context.as_ref());
    merge_defaults(&mut item, "integrations", defaults.integrations.as_ref());

    // Segment's rule: the client's clock may be wrong, but the gap between
    // when it recorded the event and when it sent it is right; so the event
    // happened that long before the server received it.
    let timestamp = match (checked.original, checked.sent_at) {
        (Some((_, original)), Some(sent_at)) => received_at - (sent_at - original),
        (Some((_, original)), None) => original,
        (None, _) => received_at,
    };
    if let Some((field, _)) = checked.original {
        if let Some(value) = item.get(field).cloned() {
            item.insert("originalTimestamp".into(), value);
        }
    }
    if item.get("sentAt").is_none_or(Value::is_null) {
        if let Some(sent_at) = &defaults.sent_at {
            item.insert("sentAt".into(), sent_at.clone());
        }
    }
    item.insert("timestamp".into(), Value::String(format_millis(timestamp)));
    item.insert(
        "receivedAt".into(),
        Value::String(format_millis(received_at)),
    );
    let json = serde_json::to_vec(&item).unwrap_or_default();
    Ok(NormalizedEvent {
        message_id,
        user_id: checked.user_id,
        anonymous_id: checked.anonymous_id,
        timestamp,
        received_at,
        json,
    })
}

fn check(
    item: &Map<String, Value>,
    route_type: Option<&str>,
    defaults: &BatchDefaults,
) -> Result<Checked, Rejection> {
    let kind = match route_type {
        Some(kind) => kind.to_owned(),
        None => message_type(item)?,
    };
    let user_id = identifier(item, "userId")?;
    let anonymous_id = identifier(item, "anonymousId")?;
    if user_id.is_empty() && anonymous_id.is_empty() {
        return Err(Rejection::new(
            "missing_user_id",
            "either userId or anonymousId is required",
        ));
    }
    match kind.as_str() {
        "track" => require_string(item, "event", "missing_event")?,
        "group" => require_identifier(item, "groupId", "missing_group_id")?,
        "alias" => require_identifier(item, "previousId", "missing_previous_id")?,
        _ => {}
    }
    for field in ["context", "integrations", "traits", "properties"] {
        if !matches!(
            item.get(field),
            None | Some(Value::Object(_)) | Some(Value::Null)
        ) {
            return Err(Rejection::invalid_field(field, "must be a JSON object"));
        }
    }
    // analytics.js and Segment's libraries send `timestamp`; RudderStack's
    // send `originalTimestamp`. Either is the client's clock reading.
    let original_field = if item.get("timestamp").is_some_and(|v| !v.is_null()) {
        "timestamp"
    } else {
        "originalTimestamp"
    };
    let original = parse_time_field(item.get(original_field), original_field)?;
    let sent_at = match item.get("sentAt").filter(|v| !v.is_null()) {
        Some(value) => parse_time_field(Some(value), "sentAt")?,
        None => parse_time_field(defaults.sent_at.as_ref(), "sentAt")?,
    };
    Ok(Checked {
        kind,
        user_id,
        anonymous_id,
        message_id: identifier(item, "messageId")?,
        original: original.map(|ms| (original_field, ms)),
        sent_at,
    })
}

fn message_type(item: &Map<String, Value>) -> Result<String, Rejection> {
    match item.get("type") {
        None | Some(Value::Null) => Err(Rejection::new("missing_type", "type is required")),
        Some(Value::String(t)) if MESSAGE_TYPES.contains(&t.as_str()) => Ok(t.clone()),
        Some(other) => Err(Rejection::new(
            "invalid_type",
            format!("type {other} is not one of {}", MESSAGE_TYPES.join(", ")),
        )),
    }
}

/// Reads an identifier field; Segment libraries may send numbers, which are
/// kept as their decimal text so they match the same id sent as a string.
fn identifier(item: &Map<String, Value>, field: &str) -> Result<String, Rejection> {
    match item.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(Rejection::invalid_field(
            field,
            "must be a string or a number",
        )),
    }
}

fn require_identifier(
    item: &Map<String, Value>,
    field: &str,
    code: &'static str,
) -> Result<(), Rejection> {
    if identifier(item, field)?.is_empty() {
        return Err(Rejection::new(code, format!("{field} is required")));
    }
    Ok(())
}

fn require_string(
    item: &Map<String, Value>,
    field: &str,
    code: &'static str,
) -> Result<(), Rejection> {
    match item.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        None | Some(Value::Null) => Err(Rejection::new(code, format!("{field} is required"))),
        Some(Value::String(_)) => Err(Rejection::new(code, format!("{field} must not be empty"))),
        Some(_) => Err(Rejection::invalid_field(field, "must be a string")),
    }
}

/// Item-level keys win over batch-level ones, key by key.
fn merge_defaults(
    item: &mut Map<String, Value>,
    field: &str,
    defaults: Option<&Map<String, Value>>,
) {
    let Some(defaults) = defaults.filter(|d| !d.is_empty()) else {
        return;
    };
    let entry = item
        .entry(field.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(target) = entry {
        for (key, value) in defaults {
            target.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
}

fn parse_time_field(value: Option<&Value>, field: &str) -> Result<Option<i64>, Rejection> {
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
